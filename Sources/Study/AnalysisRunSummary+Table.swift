import Foundation
import Units

extension AnalysisRunSummary {
    /// A number with `digits` decimals, or "—" when missing or not finite.
    static func number(_ v: Double?, _ digits: Int = 3) -> String {
        guard let v, v.isFinite else { return "—" }
        return String(format: "%.\(digits)f", v)
    }

    /// A p-value: 4 decimals, or 3 significant digits in scientific notation below 0.001; "—" when missing.
    static func pValue(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "—" }
        return v < 1e-3 ? String(format: "%.2e", v) : String(format: "%.4f", v)
    }

    /// The summary as `semprog analyze` prints it: an aligned two-column table (a multi-line value continues
    /// under its first line).
    public var table: String {
        let c = sparsityVsRobustness
        let number = Self.number, pValue = Self.pValue
        var rows: [(String, String)] = [
            ("sweep", sweep),
            ("features × prompts", "\(featureCount) × \(promptCount) (\(generationCount) generations)"),
            ("degraded share", number(degradedShare, 3)),
            ("RQ1 mean stage count", number(meanStageCount, 2) + " (penalty \(number(stagePenalty, 3)))"),
            ("RQ1 penalty rule", stagePenaltyRule ?? "—"),
            ("RQ1 penalty sensitivity", penaltySensitivity.map { "\(number($0.penalty, 2))→\(number($0.meanStageCount, 2))" }
                .joined(separator: " ")),
            ("mean explanation similarity", number(meanExplanationSimilarity, 3) + " (\(similarityBasis)s"
                + (describer.map { ", describer \($0)" } ?? "") + ")"),
            ("RQ2 consistency (vs baseline)", number(meanConsistency, 3)),
            ("RQ2 stage agreement (ARI)", number(meanStageAgreement, 3)),
            ("RQ3 n", "\(c.n)"),
            ("RQ3 Spearman ρ", number(c.rho, 3) + (c.undefinedReason.map { " (\($0))" } ?? "")),
            ("RQ3 p (t)", pValue(c.pValue)),
            ("RQ3 p (permutation)", pValue(c.pPermutation) + (c.permutationIsExact == true ? " exact" : "")),
            ("RQ3 \(Int((c.confidenceLevel * 100).rounded())) % CI", "[\(number(c.ciLow, 3)), \(number(c.ciHigh, 3))]"),
            ("RQ3 Kendall τ-b", number(c.kendallTau, 3) + " (p \(pValue(c.kendallPValue)))"),
            ("robustness units", MagnitudeUnit(parsing: robustnessUnits)?.axisLabel ?? robustnessUnits),
            ("embeddings", "\(embeddingsComputed) computed, \(embeddingsCached) cached (\(embeddingModel))"),
        ]
        if !skippedFeatures.isEmpty {
            rows.append(("skipped (partly)", skippedFeatures.map { "\($0.feature): \($0.reason)" }.joined(separator: "\n")))
        }
        for note in notes { rows.append(("note", note)) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { key, value in
            let pad = String(repeating: " ", count: width - key.count)
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            return ([key + pad + "  " + (lines.first.map(String.init) ?? "")]
                    + lines.dropFirst().map { String(repeating: " ", count: width + 2) + $0 }).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
