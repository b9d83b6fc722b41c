import ArgumentParser

extension Semprog {
    struct TrainSAE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "train-sae", abstract: "Train a sparse autoencoder on residual activations (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog train-sae'") }
    }
}
