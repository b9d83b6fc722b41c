import ArgumentParser

extension Semprog {
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "generate", abstract: "Generate text with a language model, optionally steered (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog generate'") }
    }
}
