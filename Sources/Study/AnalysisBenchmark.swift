import Analysis
import Foundation
import Store
import Tensor
import TextEmbedding

/// What `semprog bench analyze` measures: a synthetic sweep of the study's size (`Analysis.SyntheticSweep`) end to
/// end — its texts (baselines, outputs, explanations) embedded with all-MiniLM-L6-v2 (unless
/// `syntheticEmbeddings`: the planted random unit vectors are used), then `SweepAnalysis.analyze` — timed per
/// step. Not a test: the numbers depend on the machine (stage recovery is asserted by SegmentationRecoveryTests).
public struct AnalysisBenchmark {
    public var features: Int
    public var prompts: Int
    public var magnitudes: Int
    /// Dimension of the planted embeddings (MiniLM's is 384).
    public var dimension: Int
    public var threads: Int
    public var seed: UInt64
    public var embeddingModel: String
    public var batchSize: Int
    public var syntheticEmbeddings: Bool

    public init(features: Int, prompts: Int, magnitudes: Int, dimension: Int, threads: Int, seed: UInt64,
                embeddingModel: String, batchSize: Int, syntheticEmbeddings: Bool) {
        self.features = features; self.prompts = prompts; self.magnitudes = magnitudes; self.dimension = dimension
        self.threads = threads; self.seed = seed; self.embeddingModel = embeddingModel; self.batchSize = batchSize
        self.syntheticEmbeddings = syntheticEmbeddings
    }

    /// The sweep's input with every text's vector replaced by `vectors` (prompts, then generations, then
    /// explanations, in order); generations lose their description embeddings (synthetic sweeps have no
    /// description texts).
    static func embedded(_ input: SweepAnalysisInput, vectors: [[Float]]) -> SweepAnalysisInput {
        var input = input
        var i = 0
        for p in input.prompts.indices { input.prompts[p].embedding = vectors[i]; i += 1 }
        for g in input.generations.indices {
            input.generations[g].embedding = vectors[i]; i += 1
            input.generations[g].descriptionEmbedding = nil
        }
        for f in input.features.indices { input.features[f].explanationEmbedding = vectors[i]; i += 1 }
        return input
    }

    /// The texts `embedded` expects vectors for, in its order.
    static func texts(of input: SweepAnalysisInput) -> [String] {
        input.prompts.map(\.text) + input.generations.map(\.text) + input.features.map { $0.explanation ?? "" }
    }

    /// Builds, embeds, analyses and prints the timings; returns the analysis.
    @discardableResult
    public func run(console: StudyConsole = .standard) throws -> SweepAnalysis {
        let clock = ContinuousClock()
        var synthetic: SyntheticSweep!
        let synthesis = clock.measure {
            synthetic = SyntheticSweep(features: features, prompts: prompts, magnitudes: magnitudes, dimension: dimension, seed: seed)
        }
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        var embedding: Duration?, loading: Duration?
        var embeddedTexts = 0, computedTexts = 0
        if !syntheticEmbeddings {
            // The real embedding step, as `semprog analyze` runs it: every text of the sweep through
            // all-MiniLM-L6-v2 by the EmbeddingCache (duplicates computed once), on an empty in-memory database so
            // nothing was cached before.
            BLAS.setThreads(threads)
            let cache = try EmbeddingCache(store: try StoreDatabase.inMemory(), modelDirectory: embeddingModel,
                                           batchSize: batchSize)
            loading = try clock.measure { _ = try cache.loadedEmbedder() }
            let input = synthetic.input
            embedding = try clock.measure {
                let texts = Self.texts(of: input)
                embeddedTexts = texts.count
                synthetic.input = Self.embedded(input, vectors: try cache.embed(texts))
            }
            computedTexts = cache.computedCount
        }
        var analysis: SweepAnalysis!
        let cpuBefore = EmbeddingBenchmark.processCPUSeconds()
        let analyse = try clock.measure { analysis = try SweepAnalysis.analyze(synthetic.input, threads: threads) }
        let cpu = EmbeddingBenchmark.processCPUSeconds() - cpuBefore
        var encoded = Data()
        let encode = try clock.measure { encoded = try JSONEncoder().encode(analysis) }
        let count = synthetic.input.generations.count
        console.output("bench analyze: \(count) generations (\(features) features × \(prompts) prompts × \(magnitudes) magnitudes, embedding dim \(synthetic.input.prompts.first?.embedding.count ?? dimension))")
        console.output("  threads: \(threads) (machine has \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        console.output(String(format: "  synthetic sweep:  %.3f s", seconds(synthesis)))
        if let loading, let embedding {
            console.output(String(format: "  model load:       %.3f s", seconds(loading)))
            console.output(String(format: "  embedding:        %.3f s  (%d texts, %d distinct and not blank, so computed; %.0f computed/s, MiniLM, batch %d)",
                                  seconds(embedding), embeddedTexts, computedTexts,
                                  Double(computedTexts) / seconds(embedding), batchSize))
        } else {
            console.output("  embedding:        skipped (--synthetic-embeddings)")
        }
        console.output(String(format: "  analysis:         %.3f s wall, %.3f s CPU  (%.0f generations/s)", seconds(analyse), cpu,
                              Double(count) / seconds(analyse)))
        let total = seconds(analyse) + (embedding.map(seconds) ?? 0) + (loading.map(seconds) ?? 0)
        console.output(String(format: "  end to end:       %.3f s (model load + embedding + analysis; goal < 60 s on 2 threads)", total))
        console.output(String(format: "  JSON encoding:    %.3f s  (%.1f MB)", seconds(encode), Double(encoded.count) / 1e6))
        let h = analysis.headline
        console.output(String(format: "  check: mean stage count %.2f (planted %.2f%@), penalty %.3f, degraded share %.2f, RQ3 rho %@",
                              h.meanStageCount, Double(synthetic.plantedStageCounts.reduce(0, +)) / Double(features),
                              syntheticEmbeddings ? "" : "; planted in the synthetic vectors only, the embedded texts carry no stages",
                              analysis.penaltySelection.penalty,
                              h.degradedShare, h.sparsityVsRobustness.rho.map { String(format: "%.3f", $0) } ?? "undefined"))
        console.output("  (timing only: stage recovery is asserted by SegmentationRecoveryTests)")
        return analysis
    }
}
