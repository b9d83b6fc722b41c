import ArgumentParser

extension Semprog {
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "merge", abstract: "Merge shard databases of one sweep (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog merge'") }
    }
}
