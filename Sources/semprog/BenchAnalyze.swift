import ArgumentParser
import Study

extension Semprog {
    /// `semprog bench analyze`: a synthetic sweep of the study's size end to end — its texts embedded with the real
    /// all-MiniLM-L6-v2 (unless --synthetic-embeddings), then `SweepAnalysis.analyze` — timed per step (see `Study.AnalysisBenchmark`).
    struct BenchAnalyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Benchmark: analyse a synthetic sweep (default 82 features × 8 prompts × 16 magnitudes).",
            discussion: """
                The synthetic sweep's texts (baselines, outputs, explanations) are embedded with all-MiniLM-L6-v2 \
                (--embedding-model, default models/all-MiniLM-L6-v2) on --threads threads, then analysed. With \
                --synthetic-embeddings the planted random unit vectors are used instead (no model is run).
                """
        )

        @Option(help: "Features in the synthetic sweep.") var features = 82
        @Option(help: "Prompts per feature.") var prompts = 8
        @Option(help: "Magnitudes per (feature, prompt).") var magnitudes = 16
        @Option(help: "Dimension of the planted embeddings (--synthetic-embeddings only; MiniLM's is 384).") var dimension = 384
        @OptionGroup var threadOptions: ThreadOptions
        @Option(help: "Seed of the synthetic sweep.") var seed: UInt64 = 7
        @Option(name: .customLong("embedding-model"), help: "all-MiniLM-L6-v2 directory (default: models/all-MiniLM-L6-v2).")
        var embeddingModel: String?
        @Option(name: .customLong("batch-size"), help: "Texts per embedding batch.") var batchSize = 32
        @Flag(name: .customLong("synthetic-embeddings"), help: "Skip the embedding model: use the planted random vectors.")
        var syntheticEmbeddings = false

        func validate() throws {
            guard features >= 3 else { throw ValidationError("--features must be at least 3 (RQ3 correlates features)") }
            guard prompts >= 1, magnitudes >= 1, dimension >= 1 else {
                throw ValidationError("--prompts, --magnitudes and --dimension must be positive")
            }
        }

        func run() async throws {
            try AnalysisBenchmark(features: features, prompts: prompts, magnitudes: magnitudes, dimension: dimension,
                                  threads: threadOptions.count, seed: seed, embeddingModel: embeddingModel ?? DefaultPaths.embeddingModel,
                                  batchSize: batchSize, syntheticEmbeddings: syntheticEmbeddings).run()
        }
    }
}
