import ArgumentParser

extension Semprog {
    /// Benchmarks, printed with the machine's thread count. Not part of the test suite.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure throughput of each pipeline stage.",
            subcommands: [BenchGemm.self, BenchGenerate.self, BenchSAE.self, BenchEmbed.self, BenchSweep.self,
                          BenchAnalyze.self, BenchReport.self, BenchScreen.self]
        )
    }
}
