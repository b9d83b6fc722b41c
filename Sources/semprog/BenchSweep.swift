import ArgumentParser

extension Semprog {
    struct BenchSweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sweep", abstract: "Benchmark: sweep (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog sweep'") }
    }
}
