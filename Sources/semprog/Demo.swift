import ArgumentParser

extension Semprog {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run the whole study on SmolLM2 and the demo SAE (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog demo'") }
    }
}
