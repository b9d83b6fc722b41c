import ArgumentParser

extension Semprog {
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "explain", abstract: "Write built-in explanations for an SAE's features (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog explain'") }
    }
}
