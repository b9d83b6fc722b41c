import ArgumentParser
import Foundation
import Randomness
import Tensor
import TextEmbedding

extension Semprog {
    /// `semprog bench embed`: sentence-embedding throughput on short texts.
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
        var threads: Int { threadOptions.count }

        /// Repetitions; the best is reported.
        @Option(name: .long, help: "Timed repetitions (the fastest is reported).")
        var repeats: Int = 3

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1 (got \(count))") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1 (got \(repeats))") }
        }

        /// Lines of 20–80 characters from `path` (tabs and surrounding spaces trimmed), or seeded synthetic text.
        static func shortTexts(count: Int, corpus path: String) -> (texts: [String], source: String) {
            if let data = FileManager.default.contents(atPath: path) {
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { $0.count >= 20 && $0.count <= 80 && $0 != "%" }
                if lines.count >= count { return (Array(lines.prefix(count)), path) }
            }
            var rng = SplitMix64(seed: 2008)
            let words = ["the", "dog", "runs", "quickly", "over", "a", "green", "hill", "while", "music", "plays",
                         "softly", "in", "old", "house", "near", "river", "people", "talk", "about", "weather"]
            let texts = (0..<count).map { _ in
                (0..<(5 + Int(rng.next() % 10))).map { _ in words[Int(rng.next() % UInt64(words.count))] }
                    .joined(separator: " ") + "."
            }
            return (texts, "synthetic (seed 2008)")
        }

        /// CPU seconds of this process (all threads), from clock_gettime(CLOCK_PROCESS_CPUTIME_ID).
        static func processCPUSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }

        func run() async throws {
            BLAS.setThreads(threads)
            let embedder: SentenceEmbedder
            do { embedder = try SentenceEmbedder.load(directory: model) } catch {
                Terminal.error("semprog bench embed: \(error.localizedDescription)")
                throw ExitCode.failure
            }
            let (texts, source) = Self.shortTexts(count: count, corpus: corpus)
            let tokenizeStart = DispatchTime.now().uptimeNanoseconds
            let tokens = texts.reduce(0) { $0 + embedder.tokenize($1).count }
            let tokenizeSeconds = Double(DispatchTime.now().uptimeNanoseconds - tokenizeStart) / 1e9
            _ = try embedder.embed(Array(texts.prefix(batchSize)), batchSize: batchSize)  // warm-up
            var best = Double.infinity, bestCPU = Double.infinity
            for _ in 0..<repeats {
                let cpuStart = Self.processCPUSeconds()
                let start = DispatchTime.now().uptimeNanoseconds
                let out = try embedder.embed(texts, batchSize: batchSize)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                precondition(out.count == texts.count)
                best = min(best, seconds)
                bestCPU = min(bestCPU, Self.processCPUSeconds() - cpuStart)
            }
            print("bench embed: \(texts.count) texts from \(source), mean \(String(format: "%.1f", Double(tokens) / Double(texts.count))) tokens, batch \(batchSize)")
            print("threads: \(BLAS.threads) (OpenBLAS), cores: \(ProcessInfo.processInfo.activeProcessorCount)")
            print(String(format: "best of %d: %.3f s, %.1f sentences/s, %.0f tokens/s", repeats, best,
                         Double(texts.count) / best, Double(tokens) / best))
            print(String(format: "CPU time (user+sys, all threads): %.3f s; %.1f sentences per CPU-second", bestCPU,
                         Double(texts.count) / bestCPU))
            // Dense-layer arithmetic: 2 FLOP per weight per token (Q, K, V, output, two feed-forward matrices).
            let c = embedder.configuration
            let flopPerToken = 2.0 * Double(c.layerCount)
                * Double(4 * c.hiddenSize * c.hiddenSize + 2 * c.hiddenSize * c.intermediateSize)
            print(String(format: "dense-layer arithmetic: %.1f MFLOP/token, %.1f GFLOP/s wall, %.1f GFLOP per CPU-second",
                         flopPerToken / 1e6, flopPerToken * Double(tokens) / best / 1e9,
                         flopPerToken * Double(tokens) / bestCPU / 1e9))
            print(String(format: "tokenization alone: %.3f s", tokenizeSeconds))
        }
    }
}
