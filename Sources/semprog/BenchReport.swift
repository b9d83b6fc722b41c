import ArgumentParser

extension Semprog {
    struct BenchReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "report", abstract: "Benchmark: report (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog report'") }
    }
}
