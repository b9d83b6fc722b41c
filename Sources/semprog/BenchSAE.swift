import ArgumentParser

extension Semprog {
    struct BenchSAE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sae", abstract: "Benchmark: sae (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog sae'") }
    }
}
