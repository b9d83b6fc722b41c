import ArgumentParser

extension Semprog {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a sweep (CSV or JSONL) (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog export'") }
    }
}
