import ArgumentParser
import Study
import Sweep

extension Semprog {
    /// `semprog bench screen`: output-score screening throughput (features per second) on a real model and SAE,
    /// printed with the thread count and the CPU. Scores are computed, not stored (see `Study.ScreenBenchmark`).
    struct BenchScreen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "screen", abstract: "Benchmark output-score screening (features/s).")

        @OptionGroup var models: ModelOptions
        @Option(help: "Features to score (the first N of the SAE).")
        var features: Int = 512
        @Option(name: .customLong("batch-size"), help: "Features per forward pass.")
        var batchSize: Int = FeatureScreenSettings().batchSize
        @OptionGroup var threadOptions: ThreadOptions

        func validate() throws {
            guard features >= 1, batchSize >= 1 else {
                throw ValidationError("--features, --batch-size and --threads must be ≥ 1")
            }
        }

        func run() async throws {
            try ScreenBenchmark(model: models.modelPath, sae: models.sae, hook: models.hook, features: features,
                                batchSize: batchSize, threads: threadOptions.count).run()
        }
    }
}
