import Analysis
import Foundation

/// Stage labels: "(like the baseline)" when the stage's outputs are close to the prompt's baseline by embedding
/// (mean cosine ≥ `baselineCosineThreshold`); otherwise the terms most over-represented in the stage's outputs
/// relative to the baseline, by the describers' `contrastiveTerms` (log-odds ratio with an informative Dirichlet
/// prior, Monroe, Colaresi & Quinn 2008), stopwords left out: the `count` terms with the largest positive z, or
/// "(no distinctive terms)" when none stands out although the outputs differ from the baseline.
public enum StageLabel {
    /// all-MiniLM-L6-v2 cosine above which an output reads as the baseline (near-paraphrases score ≈ 0.85–1;
    /// outputs on the same topic but saying something else, ≈ 0.5–0.8).
    public static let baselineCosineThreshold = 0.85

    /// Mean cosine of `vectors` with `baseline` (0 when either is empty or zero).
    public static func meanCosine(_ vectors: [[Float]], _ baseline: [Float]) -> Double {
        guard !vectors.isEmpty, !baseline.isEmpty else { return 0 }
        return vectors.reduce(0) { $0 + cosineSimilarity($1, baseline) } / Double(vectors.count)
    }

    public static func label(stageTexts: [String], baseline: String, baselineCosine: Double, count: Int = 3) -> String {
        if baselineCosine >= baselineCosineThreshold { return "(like the baseline)" }
        let terms = contrastiveTerms(target: stageTexts, reference: [baseline], excludingStopwords: true)
        let top = terms.filter { $0.z > 0 }.prefix(count).map(\.term)
        return top.isEmpty ? "(no distinctive terms)" : top.joined(separator: ", ")
    }
}
