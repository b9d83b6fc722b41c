import ArgumentParser

extension Semprog {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "import", abstract: "Import a sweep made elsewhere (CSV or JSONL) (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog import'") }
    }
}
