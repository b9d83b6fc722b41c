import Analysis
import ArgumentParser
import Foundation

extension Semprog {
    /// `semprog bench analyze`: a synthetic sweep of the study's size through `SweepAnalysis.analyze`, timed.
    struct BenchAnalyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Benchmark: analyse a synthetic sweep (default 82 features × 8 prompts × 16 magnitudes).",
            discussion: "Embeddings are synthetic random unit vectors with planted stages (no embedding model is run)."
        )

        @Option(help: "Features in the synthetic sweep.") var features = 82
        @Option(help: "Prompts per feature.") var prompts = 8
        @Option(help: "Magnitudes per (feature, prompt).") var magnitudes = 16
        @Option(help: "Embedding dimension.") var dimension = 384
        @Option(help: "Worker threads for the analysis.") var threads = 2
        @Option(help: "Seed of the synthetic sweep.") var seed: UInt64 = 7

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
            var analysis: SweepAnalysis!
            let analyse = try clock.measure { analysis = try SweepAnalysis.analyze(synthetic.input, threads: threads) }
            var encoded = Data()
            let encode = try clock.measure { encoded = try JSONEncoder().encode(analysis) }
            let count = synthetic.input.generations.count
            func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
            print("bench analyze: \(count) generations (\(features) features × \(prompts) prompts × \(magnitudes) magnitudes, embedding dim \(dimension))")
            print("  threads: \(threads) (machine has \(ProcessInfo.processInfo.activeProcessorCount) cores)")
            print(String(format: "  synthetic sweep:  %.3f s", seconds(synthesis)))
            print(String(format: "  analysis:         %.3f s  (%.0f generations/s)", seconds(analyse), Double(count) / seconds(analyse)))
            print(String(format: "  JSON encoding:    %.3f s  (%.1f MB)", seconds(encode), Double(encoded.count) / 1e6))
            let h = analysis.headline
            print(String(format: "  check: mean stage count %.2f (planted %.2f), degraded share %.2f, RQ3 rho %@",
                         h.meanStageCount, Double(synthetic.plantedStageCounts.reduce(0, +)) / Double(features),
                         h.degradedShare, h.sparsityVsRobustness.rho.map { String(format: "%.3f", $0) } ?? "undefined"))
        }
    }
}
