import ArgumentParser

extension Semprog {
    struct Activations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "activations", abstract: "Top SAE feature activations of a text (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog activations'") }
    }
}
