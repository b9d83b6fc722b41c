import ArgumentParser
import Study

extension Semprog {
    /// `semprog bench embed`: sentence-embedding throughput on short texts (see `Study.EmbeddingBenchmark`).
    struct BenchEmbed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "embed",
            abstract: "Benchmark: all-MiniLM-L6-v2 sentences per second on short texts (goal ≥ 200/s on 2 threads).",
            discussion: """
            Embeds COUNT short texts (lines of 20–80 characters from the corpus, in file order; seeded synthetic \
            sentences when the corpus is missing) in batches, after one warm-up batch, and prints sentences/s, \
            tokens/s and the thread count.
            """)

        /// Model directory.
        @Option(name: .long, help: ArgumentHelp("Model directory.", valueName: "DIR"))
        var model: String = DefaultPaths.embeddingModel

        /// Text source.
        @Option(name: .long, help: ArgumentHelp("Text file to take short lines from.", valueName: "FILE"))
        var corpus: String = DefaultPaths.corpus

        /// Number of texts.
        @Option(name: .long, help: "Number of texts to embed.")
        var count: Int = 1000

        /// Texts per batch.
        @Option(name: .long, help: "Texts per batch.")
        var batchSize: Int = 32

        /// OpenBLAS threads.
        @OptionGroup var threadOptions: ThreadOptions

        /// Repetitions; the best is reported.
        @Option(name: .long, help: "Timed repetitions (the fastest is reported).")
        var repeats: Int = 3

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1 (got \(count))") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1 (got \(repeats))") }
        }

        func run() async throws {
            try await Terminal.reportingErrors(prefix: "semprog bench embed: ") {
                try EmbeddingBenchmark(model: model, corpus: corpus, count: count, batchSize: batchSize,
                                       threads: threadOptions.count, repeats: repeats).run()
            }
        }
    }
}
