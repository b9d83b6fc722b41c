import Foundation
import Randomness
import Tensor
import TextEmbedding

/// What `semprog bench embed` measures: all-MiniLM-L6-v2 sentences per second on short texts — COUNT lines of
/// 20–80 characters from a corpus, in file order (seeded synthetic sentences when the corpus has too few), embedded
/// in batches after one warm-up batch; the fastest of `repeats` runs, wall and CPU time, and the dense layers'
/// arithmetic rate. Not a test: the numbers depend on the machine.
public struct EmbeddingBenchmark {
    public var model: String
    public var corpus: String
    public var count: Int
    public var batchSize: Int
    public var threads: Int
    public var repeats: Int

    public init(model: String, corpus: String, count: Int, batchSize: Int, threads: Int, repeats: Int) {
        self.model = model; self.corpus = corpus; self.count = count; self.batchSize = batchSize
        self.threads = threads; self.repeats = repeats
    }

    /// `count` lines of 20–80 characters from `path` (tabs and surrounding spaces trimmed, fortune separators
    /// `%` left out), or, when the file is missing or has fewer, `count` seeded synthetic sentences (SplitMix64
    /// seed 2008: 5–14 words of a 21-word vocabulary and a full stop). Returns the texts and where they came from.
    public static func shortTexts(count: Int, corpus path: String) -> (texts: [String], source: String) {
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
    public static func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Dense-layer arithmetic of a BERT-style encoder: 2 FLOP per weight per token over the Q, K, V, output and
    /// two feed-forward matrices of every layer, 2 · L · (4 h² + 2 h · i).
    public static func flopPerToken(layers: Int, hidden: Int, intermediate: Int) -> Double {
        2.0 * Double(layers) * Double(4 * hidden * hidden + 2 * hidden * intermediate)
    }

    /// Loads the model (an error is thrown before anything is printed), measures and prints.
    public func run(console: StudyConsole = .standard) throws {
        BLAS.setThreads(threads)
        let embedder = try SentenceEmbedder.load(directory: model)
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
        console.output("bench embed: \(texts.count) texts from \(source), mean \(String(format: "%.1f", Double(tokens) / Double(texts.count))) tokens, batch \(batchSize)")
        console.output("threads: \(BLAS.threads) (OpenBLAS), cores: \(ProcessInfo.processInfo.activeProcessorCount)")
        console.output(String(format: "best of %d: %.3f s, %.1f sentences/s, %.0f tokens/s", repeats, best,
                              Double(texts.count) / best, Double(tokens) / best))
        console.output(String(format: "CPU time (user+sys, all threads): %.3f s; %.1f sentences per CPU-second", bestCPU,
                              Double(texts.count) / bestCPU))
        let c = embedder.configuration
        let flopPerToken = Self.flopPerToken(layers: c.layerCount, hidden: c.hiddenSize, intermediate: c.intermediateSize)
        console.output(String(format: "dense-layer arithmetic: %.1f MFLOP/token, %.1f GFLOP/s wall, %.1f GFLOP per CPU-second",
                              flopPerToken / 1e6, flopPerToken * Double(tokens) / best / 1e9,
                              flopPerToken * Double(tokens) / bestCPU / 1e9))
        console.output(String(format: "tokenization alone: %.3f s", tokenizeSeconds))
    }
}
