import Analysis
import ArgumentParser
import Foundation
import Tensor
import TextEmbedding

extension Semprog {
    /// `semprog bench analyze`: a synthetic sweep of the study's size end to end — its texts embedded with the real
    /// all-MiniLM-L6-v2 (unless --synthetic-embeddings), then `SweepAnalysis.analyze` — timed per step.
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
        var threads: Int { threadOptions.count }
        @Option(help: "Seed of the synthetic sweep.") var seed: UInt64 = 7
        @Option(name: .customLong("embedding-model"), help: "all-MiniLM-L6-v2 directory (default: models/all-MiniLM-L6-v2).")
        var embeddingModel: String?
        @Option(name: .customLong("batch-size"), help: "Texts per embedding batch.") var batchSize = 32
        @Flag(name: .customLong("synthetic-embeddings"), help: "Skip the embedding model: use the planted random vectors.")
        var syntheticEmbeddings = false

        /// CPU seconds used by this process so far (all threads).
        static func processCPUSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
        }

        func validate() throws {
            guard features >= 3 else { throw ValidationError("--features must be at least 3 (RQ3 correlates features)") }
            guard prompts >= 1, magnitudes >= 1, dimension >= 1 else {
                throw ValidationError("--prompts, --magnitudes and --dimension must be positive")
            }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        }

        func run() async throws {
            let clock = ContinuousClock()
            var synthetic: SyntheticSweep!
            let synthesis = clock.measure {
                synthetic = SyntheticSweep(features: features, prompts: prompts, magnitudes: magnitudes,
                                           dimension: dimension, seed: seed)
            }
            func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
            var embedding: Duration?, loading: Duration?
            var embeddedTexts = 0
            if !syntheticEmbeddings {
                // The real embedding step: every text of the sweep through all-MiniLM-L6-v2.
                BLAS.setThreads(threads)
                var embedder: SentenceEmbedder!
                let directory = embeddingModel ?? DefaultPaths.embeddingModel
                loading = try clock.measure { embedder = try SentenceEmbedder.load(directory: directory) }
                var input = synthetic.input
                embedding = try clock.measure {
                    let texts = input.prompts.map(\.text) + input.generations.map(\.text) + input.features.map { $0.explanation ?? "" }
                    embeddedTexts = texts.count
                    let vectors = try embedder.embed(texts, batchSize: batchSize)
                    var i = 0
                    for p in input.prompts.indices { input.prompts[p].embedding = vectors[i]; i += 1 }
                    for g in input.generations.indices {
                        input.generations[g].embedding = vectors[i]; i += 1
                        input.generations[g].descriptionEmbedding = nil  // synthetic sweeps have no description texts
                    }
                    for f in input.features.indices { input.features[f].explanationEmbedding = vectors[i]; i += 1 }
                }
                synthetic.input = input
            }
            var analysis: SweepAnalysis!
            let cpuBefore = Self.processCPUSeconds()
            let analyse = try clock.measure { analysis = try SweepAnalysis.analyze(synthetic.input, threads: threads) }
            let cpu = Self.processCPUSeconds() - cpuBefore
            var encoded = Data()
            let encode = try clock.measure { encoded = try JSONEncoder().encode(analysis) }
            let count = synthetic.input.generations.count
            print("bench analyze: \(count) generations (\(features) features × \(prompts) prompts × \(magnitudes) magnitudes, embedding dim \(synthetic.input.prompts.first?.embedding.count ?? dimension))")
            print("  threads: \(threads) (machine has \(ProcessInfo.processInfo.activeProcessorCount) cores)")
            print(String(format: "  synthetic sweep:  %.3f s", seconds(synthesis)))
            if let loading, let embedding {
                print(String(format: "  model load:       %.3f s", seconds(loading)))
                print(String(format: "  embedding:        %.3f s  (%d texts, %.0f texts/s, MiniLM, batch %d)", seconds(embedding), embeddedTexts,
                             Double(embeddedTexts) / seconds(embedding), batchSize))
            } else {
                print("  embedding:        skipped (--synthetic-embeddings)")
            }
            print(String(format: "  analysis:         %.3f s wall, %.3f s CPU  (%.0f generations/s)", seconds(analyse), cpu,
                         Double(count) / seconds(analyse)))
            let total = seconds(analyse) + (embedding.map(seconds) ?? 0) + (loading.map(seconds) ?? 0)
            print(String(format: "  end to end:       %.3f s (model load + embedding + analysis; goal < 60 s on 2 threads)", total))
            print(String(format: "  JSON encoding:    %.3f s  (%.1f MB)", seconds(encode), Double(encoded.count) / 1e6))
            let h = analysis.headline
            print(String(format: "  check: mean stage count %.2f (planted %.2f%@), penalty %.3f, degraded share %.2f, RQ3 rho %@",
                         h.meanStageCount, Double(synthetic.plantedStageCounts.reduce(0, +)) / Double(features),
                         syntheticEmbeddings ? "" : "; planted in the synthetic vectors only, the embedded texts carry no stages",
                         analysis.penaltySelection.penalty,
                         h.degradedShare, h.sparsityVsRobustness.rho.map { String(format: "%.3f", $0) } ?? "undefined"))
            print("  (timing only: stage recovery is asserted by SegmentationRecoveryTests)")
        }
    }
}
