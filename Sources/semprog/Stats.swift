import ArgumentParser

extension Semprog {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Statistics on any table (spearman) (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog stats'") }
    }
}
