import ArgumentParser

extension Semprog {
    struct BenchAnalyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "analyze", abstract: "Benchmark: analyze (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog analyze'") }
    }
}
