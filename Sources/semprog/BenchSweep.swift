import ArgumentParser
import Study

extension Semprog {
    /// `semprog bench sweep`: a sweep of 8 features × 4 prompts × 16 magnitudes × 32 new tokens through the real
    /// sweep engine (in-memory database), against plain batched generation of the same batch size (see
    /// `Study.SweepBenchmark`).
    struct BenchSweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep", abstract: "Benchmark: a sweep of 8 features × 4 prompts × 16 magnitudes × 32 tokens.")

        @OptionGroup var modelOptions: LanguageModelOptions
        @Option(help: "SAE directory (default: the demo SAE, models/demo-sae).")
        var sae: String?
        @Option(name: .customLong("batch-size"), help: "Sequences decoded together.")
        var batchSize: Int = 64
        @Option(name: .customLong("max-tokens"), help: "New tokens per generation.")
        var maxTokens: Int = 32

        func run() async throws {
            try SweepBenchmark(model: modelOptions.modelPath, sae: sae ?? DefaultPaths.modelsDirectory + "/demo-sae",
                               batchSize: batchSize, maxTokens: maxTokens).run()
        }
    }
}
