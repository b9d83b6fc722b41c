import Foundation

/// The output and input scores of a feature (Arad, Mueller & Belinkov, "SAEs Are Good for Steering – If You
/// Select the Right Features", EMNLP 2025; definitions from technion-cs-nlp/saes-are-good-for-steering,
/// `src/output_score.py` and `src/input_score.py`). Both compare something with the feature's *logit-lens
/// tokens*: the k tokens (k = 20 in the paper) with the largest logits of U · RMSNorm(W_dec[f]).
public enum FeatureScores {
    /// The `k` token ids with the largest logits (ties: lower id first), best first.
    public static func topTokens(_ logits: [Float], k: Int) -> [Int] {
        precondition(k >= 1, "topTokens: k must be at least 1")
        return logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            .prefix(k).map { $0 }
    }

    /// What the output score is made of.
    public struct Output: Sendable, Equatable, Codable {
        /// rank · probability, in [0, 1].
        public var score: Double
        /// 1 − r / V, where r is the best 0-based rank of a logit-lens token in the amplified next-token
        /// distribution (r = number of tokens with a strictly larger probability) and V the vocabulary size.
        public var rankScore: Double
        /// The largest probability of a logit-lens token in that distribution.
        public var topProbability: Double
        /// The logit-lens token that reached the best rank.
        public var bestToken: Int
    }

    /// The output score of one feature from the next-token logits after amplifying it (see
    /// `FeatureAmplificationHook`): `(1 − minᵢ rankᵢ / V) · maxᵢ p(tᵢ)` over the logit-lens tokens tᵢ, with p the
    /// softmax of `logits` (computed in Float64, shifted by the maximum).
    public static func output(logits: [Float], logitLensTokens: [Int]) throws -> Output {
        guard !logits.isEmpty else { throw AnalysisError.tooFewPoints(what: "next-token logits", count: 0, minimum: 1) }
        guard !logitLensTokens.isEmpty else { throw AnalysisError.tooFewPoints(what: "logit-lens tokens", count: 0, minimum: 1) }
        for (i, t) in logitLensTokens.enumerated() where t < 0 || t >= logits.count {
            throw AnalysisError.invalidSetting(name: "logit-lens token \(i)", value: "\(t)", expected: "an id below \(logits.count)")
        }
        for (i, l) in logits.enumerated() where !l.isFinite { throw AnalysisError.nonFinite(field: "logits", index: i) }
        // Rank and probability both grow with the logit, so the logit-lens token with the largest logit has both
        // the best rank and the largest probability: one pass over the vocabulary suffices.
        var bestToken = logitLensTokens[0]
        for t in logitLensTokens where logits[t] > logits[bestToken] || (logits[t] == logits[bestToken] && t < bestToken) {
            bestToken = t
        }
        let top = Double(logits.max()!)
        var total = 0.0
        var bestRank = 0
        let threshold = logits[bestToken]
        for l in logits {
            total += Foundation.exp(Double(l) - top)
            if l > threshold { bestRank += 1 }
        }
        let topProbability = Foundation.exp(Double(threshold) - top) / total
        let rankScore = 1 - Double(bestRank) / Double(logits.count)
        return Output(score: rankScore * topProbability, rankScore: rankScore, topProbability: topProbability, bestToken: bestToken)
    }

    /// The input score: the share of the feature's top activating contexts whose most-activating token is one of
    /// its logit-lens tokens (an "output" feature promotes the token it fires on). nil without contexts. The paper
    /// uses up to 100 contexts and skips features with fewer than 10; semprog uses the contexts `explain` kept
    /// (`--contexts`, default 5), so its input score is coarser.
    public static func input(peakTokens: [Int], logitLensTokens: [Int]) -> Double? {
        guard !peakTokens.isEmpty else { return nil }
        let lens = Set(logitLensTokens)
        return Double(peakTokens.filter { lens.contains($0) }.count) / Double(peakTokens.count)
    }
}
