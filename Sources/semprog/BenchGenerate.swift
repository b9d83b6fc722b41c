import ArgumentParser

extension Semprog {
    struct BenchGenerate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "generate", abstract: "Benchmark: generate (not implemented yet)")
        func run() async throws { throw CLIError.notYetAvailable("'semprog generate'") }
    }
}
