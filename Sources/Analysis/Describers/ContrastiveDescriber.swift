import Foundation

/// The informative Dirichlet prior of the log-odds ratio (Monroe, Colaresi & Quinn 2008, §3.5).
///
/// Each term w gets the pseudo-count αw = α0 · bw / Σb + 0.01, where b are background counts and α0 the prior's
/// total mass; the uniform 0.01 keeps terms missing from the background finite.
///
/// Default: b = the pooled counts of target and reference and α0 = 0.2 · (nᵗ + nʳ). For a term seen k times on one
/// side only, z ≈ log(1 + 1/f) / √((1/(1+f) + 1/f) / k) with f = α0 / (nᵗ + nʳ); f = 0.2 is close to the maximum
/// of that curve (z ≈ 0.74 √k), so short texts still yield usable terms, while a larger background shrinks terms
/// that are merely rare.
public struct LogOddsPrior: Sendable, Equatable {
    /// Background term counts; nil uses the pooled counts of target and reference.
    public var background: [String: Double]?
    /// α0, the prior's total pseudo-count mass; nil uses `relativeStrength` · (nᵗ + nʳ).
    public var strength: Double?
    /// α0 relative to the number of terms in target and reference, when `strength` is nil.
    public var relativeStrength: Double

    public init(background: [String: Double]? = nil, strength: Double? = nil, relativeStrength: Double = 0.2) {
        self.background = background
        self.strength = strength
        self.relativeStrength = relativeStrength
    }

    /// Pooled counts of both corpora, α0 = 0.2 · (nᵗ + nʳ).
    public static let pooled = LogOddsPrior()
}

/// Words and bigrams of a text, lower-cased: words are runs of letters, digits and inner apostrophes; bigrams are
/// adjacent words not separated by punctuation (joined by one space).
public func contrastiveTermCounts(_ texts: [String]) -> [String: Double] {
    var counts: [String: Double] = [:]
    for text in texts {
        var previous: String?
        var current = ""
        func flushWord() {
            var word = current
            while word.hasSuffix("'") { word.removeLast() }
            while word.hasPrefix("'") { word.removeFirst() }
            current = ""
            guard !word.isEmpty else { return }
            counts[word, default: 0] += 1
            if let previous { counts[previous + " " + word, default: 0] += 1 }
            previous = word
        }
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber || ((ch == "'" || ch == "’") && !current.isEmpty) {
                current.append(ch == "’" ? "'" : ch)
            } else {
                flushWord()
                if !ch.isWhitespace { previous = nil }  // punctuation ends a bigram run
            }
        }
        flushWord()
    }
    return counts
}

/// Terms (words and bigrams) scored by the log-odds ratio with an informative Dirichlet prior
/// (Monroe, Colaresi & Quinn 2008, "Fightin' Words", eqs. 16, 18–20).
///
/// With yᵢ_w the count of term w in corpus i (target t or reference r), nᵢ = Σ_w yᵢ_w and prior αw, α0 = Σ αw:
///   δw = log[(yᵗw + αw) / (nᵗ + α0 − yᵗw − αw)] − log[(yʳw + αw) / (nʳ + α0 − yʳw − αw)]
///   σ²(δw) ≈ 1 / (yᵗw + αw) + 1 / (yʳw + αw),   zw = δw / σ(δw).
/// zw > 1.96 marks w as over-represented in the target (≈ 5 % two-sided, under the paper's normal approximation,
/// which treats words and bigrams as one multinomial and is rough for very short texts).
///
/// - Parameters:
///   - target: texts whose characteristic terms are wanted (e.g. the steered generations).
///   - reference: texts to contrast with (e.g. the baseline generations of the same prompts).
///   - prior: the Dirichlet prior; default pooled counts.
///   - excludingStopwords: drop English stopwords and bigrams made only of stopwords.
/// - Returns: every term seen in either corpus with its z-score, highest z first (ties by term).
public func contrastiveTerms(target: [String], reference: [String], prior: LogOddsPrior = .pooled,
                             excludingStopwords: Bool = false) -> [(term: String, z: Double)] {
    let t = contrastiveTermCounts(target), r = contrastiveTermCounts(reference)
    let nT = t.values.reduce(0, +), nR = r.values.reduce(0, +)
    guard nT + nR > 0 else { return [] }
    var background = prior.background ?? [:]
    if prior.background == nil {
        background = t
        for (w, c) in r { background[w, default: 0] += c }
    }
    let backgroundTotal = max(background.values.reduce(0, +), 1e-12)
    let mass = prior.strength ?? prior.relativeStrength * (nT + nR)
    var terms = Set(t.keys)
    terms.formUnion(r.keys)
    let uniform = 0.01
    // α0 = Σ αw: the background mass plus the uniform part of every term scored.
    var alpha: [String: Double] = [:]
    for w in terms { alpha[w] = mass * (background[w] ?? 0) / backgroundTotal + uniform }
    let alpha0 = mass + uniform * Double(terms.count)
    var out: [(term: String, z: Double)] = []
    out.reserveCapacity(terms.count)
    for w in terms {
        if excludingStopwords && isStopwordTerm(w) { continue }
        let a = alpha[w]!, yT = t[w] ?? 0, yR = r[w] ?? 0
        let delta = log((yT + a) / (nT + alpha0 - yT - a)) - log((yR + a) / (nR + alpha0 - yR - a))
        let variance = 1 / (yT + a) + 1 / (yR + a)
        out.append((w, delta / variance.squareRoot()))
    }
    out.sort { $0.z != $1.z ? $0.z > $1.z : $0.term < $1.term }
    return out
}

/// Whether `term` is an English stopword, or a bigram made only of stopwords.
public func isStopwordTerm(_ term: String) -> Bool {
    term.split(separator: " ").allSatisfy { englishStopwords.contains(String($0)) }
}

/// A short English stopword list (function words, auxiliaries, pronouns).
let englishStopwords: Set<String> = [
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
    "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "it's",
    "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on",
    "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
    "yourselves", "i'm", "you're", "don't", "can't", "won't", "isn't", "it's", "that's", "there's", "s", "t",
]

/// The offline describer: the terms most over- and under-represented in the steered text relative to the
/// baseline, by `contrastiveTerms` (log-odds ratio with an informative Dirichlet prior), as
/// "more about: w₁, w₂, …; less about: w₃, …".
///
/// Terms need |z| ≥ `minimumZ` (default 0.5 — a description wants the most characteristic words of one short pair
/// of texts, not a significance test: with the pooled prior a word seen once on one side only scores ≈ 0.74, so a
/// threshold of 1 would leave most 32-token pairs undescribed; use 1.96 for ≈ 5 % two-sided);
/// stopwords are left out; a bigram is left out when both its words are already listed. With nothing distinctive
/// the description is "no distinctive words".
public struct ContrastiveDescriber: Describer {
    public var name: String { "contrastive" }
    /// Most terms listed on each side.
    public var maxTerms: Int
    /// Smallest |z| for a term to be listed.
    public var minimumZ: Double
    public var prior: LogOddsPrior

    public init(maxTerms: Int = 4, minimumZ: Double = 0.5, prior: LogOddsPrior = .pooled) {
        self.maxTerms = maxTerms
        self.minimumZ = minimumZ
        self.prior = prior
    }

    public func describe(baseline: String, steered: String) async throws -> String {
        describe(baselines: [baseline], steered: [steered])
    }

    /// The description for several generations at once (e.g. all prompts of one feature at one magnitude).
    public func describe(baselines: [String], steered: [String]) -> String {
        let scored = contrastiveTerms(target: steered, reference: baselines, prior: prior, excludingStopwords: true)
        let more = Self.select(scored.filter { $0.z >= minimumZ }.map(\.term), limit: maxTerms)
        let less = Self.select(scored.reversed().filter { $0.z <= -minimumZ }.map(\.term), limit: maxTerms)
        var parts: [String] = []
        if !more.isEmpty { parts.append("more about: " + more.joined(separator: ", ")) }
        if !less.isEmpty { parts.append("less about: " + less.joined(separator: ", ")) }
        return parts.isEmpty ? "no distinctive words" : parts.joined(separator: "; ")
    }

    /// The first `limit` terms, skipping bigrams whose words are both already chosen.
    static func select(_ ranked: [String], limit: Int) -> [String] {
        var chosen: [String] = []
        var words = Set<String>()
        for term in ranked where chosen.count < limit {
            let parts = term.split(separator: " ").map(String.init)
            if parts.count > 1 && parts.allSatisfy(words.contains) { continue }
            chosen.append(term)
            if parts.count == 1 { words.insert(term) }
        }
        return chosen
    }
}
