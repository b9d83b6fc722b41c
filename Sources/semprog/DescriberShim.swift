import Foundation

// TEMPORARY stand-in for the describers of branch `embed` (Sources/Analysis/Describers/), with the API its brief
// names, so that `semprog describe` and the stage labels build and can be tested before that branch lands.
// Delete this file when merging `embed`.

protocol Describer: Sendable {
    var name: String { get }
    func describe(baseline: String, steered: String) async throws -> String
}

/// Words over-represented in `target` relative to `reference`: log-odds ratio with an informative Dirichlet prior
/// (Monroe, Colaresi & Quinn 2008, §3.5), z-scored; prior = both corpora pooled, scaled to `priorSize` counts.
func contrastiveTerms(target: [String], reference: [String], priorSize: Double = 500) -> [(term: String, z: Double)] {
    func counts(_ texts: [String]) -> [String: Double] {
        var c: [String: Double] = [:]
        for t in texts { for w in t.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }) { c[String(w), default: 0] += 1 } }
        return c
    }
    let a = counts(target), b = counts(reference)
    let na = a.values.reduce(0, +), nb = b.values.reduce(0, +)
    var pooled = a
    for (w, c) in b { pooled[w, default: 0] += c }
    let total = pooled.values.reduce(0, +)
    guard total > 0 else { return [] }
    let a0 = priorSize
    var out: [(String, Double)] = []
    for (w, c) in pooled {
        let alpha = a0 * c / total
        let ya = a[w] ?? 0, yb = b[w] ?? 0
        let delta = log((ya + alpha) / (na + a0 - ya - alpha)) - log((yb + alpha) / (nb + a0 - yb - alpha))
        let variance = 1 / (ya + alpha) + 1 / (yb + alpha)
        out.append((w, delta / variance.squareRoot()))
    }
    return out.sorted { ($0.1, $1.0) > ($1.1, $0.0) }.map { (term: $0.0, z: $0.1) }
}

struct ContrastiveDescriber: Describer {
    var name: String { "contrastive" }
    func describe(baseline: String, steered: String) async throws -> String {
        let terms = contrastiveTerms(target: [steered], reference: [baseline])
        let more = terms.filter { $0.z > 0 }.prefix(5).map(\.term)
        let less = terms.reversed().filter { $0.z < 0 }.prefix(5).map(\.term)
        return "more about: " + (more.isEmpty ? "nothing" : more.joined(separator: ", "))
            + "; less about: " + (less.isEmpty ? "nothing" : less.joined(separator: ", "))
    }
}

func describerPrompt(baseline: String, steered: String) -> String {
    """
    Here are two texts written in reply to the same prompt.
    Baseline text: \(baseline)
    Steered text: \(steered)
    In a few words, how does the steered text differ from the baseline?
    """
}
