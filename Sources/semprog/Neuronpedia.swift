import ArgumentParser

extension Semprog {
    struct Neuronpedia: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "neuronpedia", abstract: "Import or fetch Neuronpedia explanations (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog neuronpedia'") }
    }
}
