import Foundation
import Store

/// How the demo picks its features: live, explained ones spread over the range of densities, and in each density
/// stratum the one that steers best by the output score.
///
/// 1. Live and not dense: density (fraction of tokens with the feature non-zero) between 1e-4 and 0.2, with an
///    explanation.
/// 2. Not a massive-activation feature: max activation at most 10× the median max activation of all features.
///    A few features fire only on the residual stream's outlier tokens (norms ~100× the others, like position 0);
///    their max activation is in the thousands, so magnitudes in units of it are meaningless.
/// 3. Spread over densities: the candidates, sorted by density, are cut into `count` equal strata.
/// 4. Steers: in each stratum, the feature with the highest output score (Arad, Mueller & Belinkov 2025: most SAE
///    features are input features that barely change the output when steered; `semprog screen`), ties broken by
///    how often its top contexts peak on the same token, then the larger max activation, then the smaller index.
///    Without scores, the concentration of the top contexts decides (the choice of earlier versions).
public enum DemoFeatureChoice {
    public static let rule = "live explained features (density 1e-4…0.2, max activation ≤ 10× the median), one per density stratum, the one with the highest output score (Arad et al. 2025)"

    /// Share of the top contexts whose marked (max) token is the most common marked token; 0 without contexts.
    public static func concentration(topContextsJSON: String?) -> Double {
        guard let json = topContextsJSON, let data = json.data(using: .utf8),
              let contexts = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], !contexts.isEmpty
        else { return 0 }
        var counts: [String: Int] = [:]
        for c in contexts {
            guard let tokens = c["tokens"] as? [String], let i = c["max_index"] as? Int, tokens.indices.contains(i) else { continue }
            counts[tokens[i].trimmingCharacters(in: .whitespaces).lowercased(), default: 0] += 1
        }
        return Double(counts.values.max() ?? 0) / Double(contexts.count)
    }

    public static func choose(statistics: [FeatureRecord], explanations: [Int: ExplanationRecord], outputScores: [Int: Double] = [:],
                       count: Int) -> [Int] {
        let maxima = statistics.compactMap(\.maxActivation).filter { $0 > 0 }.sorted()
        guard !maxima.isEmpty else { return [] }
        let median = maxima[maxima.count / 2]
        let candidates = statistics.filter { f in
            guard let density = f.fractionNonzero, let maxAct = f.maxActivation else { return false }
            return density >= 1e-4 && density <= 0.2 && maxAct > 0 && maxAct <= 10 * median
                && !(explanations[f.featureIndex]?.text.isEmpty ?? true)
        }.sorted { ($0.fractionNonzero!, $0.featureIndex) < ($1.fractionNonzero!, $1.featureIndex) }
        guard !candidates.isEmpty else { return [] }
        let strata = min(count, candidates.count)
        var chosen: [Int] = []
        for s in 0..<strata {
            let lo = s * candidates.count / strata, hi = (s + 1) * candidates.count / strata
            let stratum = candidates[lo..<max(hi, lo + 1)]
            let best = stratum.max { a, b in
                let sa = outputScores[a.featureIndex] ?? 0, sb = outputScores[b.featureIndex] ?? 0
                if sa != sb { return sa < sb }
                let ca = concentration(topContextsJSON: a.topContexts), cb = concentration(topContextsJSON: b.topContexts)
                return (ca, a.maxActivation!, -a.featureIndex) < (cb, b.maxActivation!, -b.featureIndex)
            }
            if let best { chosen.append(best.featureIndex) }
        }
        return chosen.sorted()
    }
}
