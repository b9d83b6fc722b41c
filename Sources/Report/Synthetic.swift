import Foundation
import Randomness

extension ReportData {
    /// Plausible, seeded report data for benchmarks and tests: `featureCount` features, `promptCount` prompts,
    /// `magnitudeCount` magnitudes from 0 to 20 × max activation. Stages grow with magnitude, degradation sets in
    /// late, similarity rises then falls.
    public static func synthetic(featureCount: Int, promptCount: Int = 12, magnitudeCount: Int = 16,
                                 seed: UInt64 = 42) -> ReportData {
        var rng = SplitMix64(seed: seed)
        let magnitudes = (0..<magnitudeCount).map { 20 * Double($0) / Double(max(magnitudeCount - 1, 1)) }
        let topics = ["weddings", "the ocean", "legal contracts", "cats", "baking bread", "space travel", "poetry",
                      "football", "medicine", "money"]
        var features: [FeatureReport] = []
        var points: [SparsityRobustnessPoint] = []
        for f in 0..<featureCount {
            let index = 1000 + f * 37
            let topic = topics[f % topics.count]
            let stageCount = 2 + Int(rng.next() % UInt64(4))
            let density = -4 + 3 * rng.nextUnit()
            let robustness = 6 + 4 * (density + 4) / 3 + 3 * rng.nextUnit()
            var stages: [StageReport] = []
            let bounds = (0...stageCount).map { magnitudes[min(magnitudeCount - 1, $0 * (magnitudeCount - 1) / stageCount)] }
            for s in 0..<stageCount {
                stages.append(StageReport(magnitudeLow: bounds[s], magnitudeHigh: bounds[s + 1],
                                          label: ["baseline", "mentions \(topic)", "obsessed with \(topic)",
                                                  "repeats \(topic) words", "degenerate"][min(s, 4)],
                                          exampleOutput: "At magnitude \(String(format: "%.1f", bounds[s])) the model wrote about \(topic): "
                                              + String(repeating: "\(topic) ", count: s + 1) + "and so on."))
            }
            var stageIds: [[Int]] = [], degraded: [[Bool]] = [], onsets: [Int?] = []
            var outputs: [[String?]] = []
            for p in 0..<promptCount {
                let shift = Int(rng.next() % UInt64(3)) - 1
                let onsetMagnitude = robustness + 4 * (rng.nextUnit() - 0.5)
                var row: [Int] = [], deg: [Bool] = []
                var onset: Int?
                for (mi, mag) in magnitudes.enumerated() {
                    row.append(min(stageCount - 1, max(0, mi * stageCount / magnitudeCount + (mi > 2 ? shift : 0))))
                    let d = mag >= onsetMagnitude
                    if d && onset == nil { onset = mi }
                    deg.append(d)
                }
                stageIds.append(row); degraded.append(deg); onsets.append(onset)
                outputs.append(magnitudes.indices.map { mi in
                    syntheticOutput(prompt: p, topic: topic, share: Double(mi) / Double(max(magnitudeCount - 1, 1)),
                                    degraded: deg[mi], rng: &rng)
                })
            }
            let similarity = magnitudes.map { m -> IntervalPoint in
                let mean = 0.15 + 0.5 * sin(min(m / 14, 1) * .pi * 0.9) + 0.03 * (rng.nextUnit() - 0.5)
                let half = 0.04 + 0.04 * rng.nextUnit()
                return IntervalPoint(magnitude: m, mean: mean, ciLow: mean - half, ciHigh: mean + half)
            }
            let degradation = [
                MetricSeries(name: "perplexity", values: magnitudes.map { 8 + exp($0 / robustness * 2) + rng.nextUnit() }),
                MetricSeries(name: "repetition rate", values: magnitudes.map { min(1, max(0, ($0 - robustness * 0.6) / 12 + 0.05 * rng.nextUnit())) }),
                MetricSeries(name: "distinct-2", values: magnitudes.map { max(0, 0.9 - $0 / 25 + 0.05 * rng.nextUnit()) }),
            ]
            features.append(FeatureReport(
                index: index, explanation: "Text about \(topic), especially when \(topic) are described in detail.",
                maxActivation: 5 + 20 * rng.nextUnit(), log10Density: density, robustness: robustness, stageCount: stageCount,
                stages: stages,
                progression: ProgressionStrip(prompts: (0..<promptCount).map { "prompt \($0 + 1)" }, stageIds: stageIds,
                                              degraded: degraded, onsetMagnitudeIndex: onsets),
                similarity: similarity, degradation: degradation, outputs: outputs))
            points.append(SparsityRobustnessPoint(featureIndex: index, log10Density: density, robustness: robustness))
        }
        let meanStages = features.isEmpty ? 0 : Double(features.map(\.stageCount).reduce(0, +)) / Double(features.count)
        let run = RunMetadata(sweepName: "synthetic", model: "SmolLM2-135M-Instruct (Q4_1)", sae: "synthetic SAE 16k",
                              hook: "blocks.9.hook_resid_post", magnitudes: magnitudes, magnitudeUnit: "× max activation",
                              method: "PELT segmentation of MiniLM embeddings", positions: "all",
                              seeds: [seed, seed + 1], promptCount: promptCount, semprogVersion: "0.1.0",
                              runDate: "2026-01-31T12:00:00Z", neuronpediaId: "gpt2-small/12-res-jb",
                              promptTexts: (0..<promptCount).map { "Prompt \($0 + 1): tell me about your day, please." },
                              baselines: (0..<promptCount).map { syntheticBaseline(prompt: $0) })
        let summary = StudySummary(
            rq1: StageCountSummary(meanStageCount: meanStages, penalty: 3,
                                   penaltySensitivity: [0.5, 1, 2, 3, 5, 8, 13].map {
                                       PenaltyPoint(penalty: $0, meanStageCount: meanStages * 3 / (1 + $0 * 0.7)) }),
            meanExplanationSimilarity: 0.41,
            rq2: ConsistencySummary(consistency: magnitudes.map { m in
                let v = 0.3 + 0.5 * min(m / 12, 1) - 0.2 * max(0, (m - 14) / 6)
                return IntervalPoint(magnitude: m, mean: v, ciLow: v - 0.07, ciHigh: v + 0.07) }),
            rq3: SparsityRobustnessSummary(spearmanRho: 0.62, pValue: 1.2e-5, permutationPValue: 0.0002, ciLow: 0.45,
                                           ciHigh: 0.75, n: points.count, kendallTau: 0.44, points: points))
        return ReportData(run: run, summary: summary, features: features)
    }

    static let fillerWords = ["the", "morning", "was", "quiet", "and", "we", "walked", "to", "a", "small", "cafe",
                              "near", "river", "where", "people", "talked", "about", "weather", "news", "plans"]

    static func syntheticBaseline(prompt: Int) -> String {
        (0..<45).map { fillerWords[($0 * 7 + prompt * 3) % fillerWords.count] }.joined(separator: " ") + "."
    }

    /// About 45 words (≈ 250 characters, a 48-token generation): filler words of the prompt's baseline, a
    /// growing `share` of them replaced by the topic; a loop of the topic once `degraded`.
    static func syntheticOutput(prompt: Int, topic: String, share: Double, degraded: Bool,
                                rng: inout SplitMix64) -> String {
        if degraded { return Array(repeating: topic, count: 20 + Int(rng.next() % 10)).joined(separator: " ") }
        return (0..<45).map { w in
            rng.nextUnit() < share ? topic : fillerWords[(w * 7 + prompt * 3) % fillerWords.count]
        }.joined(separator: " ") + "."
    }
}
