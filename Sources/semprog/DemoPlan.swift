import Foundation
import Store
import Sweep

/// The sizes of the demo study (full, or `--quick` for tests).
struct DemoPlan {
    var quick: Bool

    /// Six varied prompts of the demo's own (asked in the chat template of the instruct model).
    static let prompts = [
        "Tell me a short story about a journey.",
        "Describe your ideal weekend.",
        "What do you think the future of technology looks like?",
        "Explain how to cook a simple dinner.",
        "Write a few sentences about the ocean.",
        "Give me advice for a job interview.",
    ]

    var saeDirectoryName: String { quick ? "demo-sae-quick" : "demo-sae" }
    var featureCount: Int { quick ? 3 : 12 }
    var promptList: [String] { quick ? Array(Self.prompts.prefix(2)) : Self.prompts }
    var magnitudes: String { quick ? "0,2,8,30" : SweepDefaults.magnitudes }
    var maxTokens: Int { quick ? 8 : 32 }

    /// `train-sae` settings: block 12 of 30 (the middle of the network, as the study steered a middle layer).
    var trainArguments: [String] {
        quick ? ["--layer", "12", "--latents", "256", "--k", "16", "--tokens", "6000", "--seed", "0"]
              : ["--layer", "12", "--latents", "4096", "--k", "32", "--tokens", "80000", "--seed", "0"]
    }
    var explainArguments: [String] { quick ? ["--tokens", "3000"] : ["--tokens", "50000"] }
    var analyzeArguments: [String] { [] }

    /// Writes the prompt file (JSONL) next to the database and returns its path.
    func writePrompts(beside database: String) throws -> String {
        let path = database + ".prompts.jsonl"
        let lines = try promptList.map { prompt -> String in
            String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": prompt], options: [.sortedKeys]), as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// How the demo picks its features: live ones with an explanation, spread over the range of densities.
enum DemoFeatureChoice {
    static let rule = "explained features with density between 1e-4 and 0.2, one per log-density stratum, the one with the highest max activation in each"

    static func choose(statistics: [FeatureRecord], explanations: [Int: ExplanationRecord], count: Int) -> [Int] {
        let candidates = statistics.filter { f in
            guard let density = f.fractionNonzero, let maxAct = f.maxActivation else { return false }
            return density >= 1e-4 && density <= 0.2 && maxAct > 0 && !(explanations[f.featureIndex]?.text.isEmpty ?? true)
        }.sorted { ($0.fractionNonzero!, $0.featureIndex) < ($1.fractionNonzero!, $1.featureIndex) }
        guard !candidates.isEmpty else { return [] }
        let strata = min(count, candidates.count)
        var chosen: [Int] = []
        for s in 0..<strata {
            let lo = s * candidates.count / strata, hi = (s + 1) * candidates.count / strata
            let stratum = candidates[lo..<max(hi, lo + 1)]
            if let best = stratum.max(by: { ($0.maxActivation!, -$0.featureIndex) < ($1.maxActivation!, -$1.featureIndex) }) {
                chosen.append(best.featureIndex)
            }
        }
        return chosen.sorted()
    }
}
