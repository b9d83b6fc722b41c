import ArgumentParser

extension Semprog {
    struct BenchEmbed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "embed", abstract: "Benchmark: embed (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog embed'") }
    }
}
