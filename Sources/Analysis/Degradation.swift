import CZlib
import Foundation

/// Surface measures of how degenerate one generated text is. All ratios are unitless in [0, 1] unless noted.
public struct DegradationMetrics: Codable, Sendable, Equatable {
    /// Number of whitespace-separated, lower-cased tokens (see `DegradationMetrics.tokens(of:)`).
    public var tokenCount: Int
    /// distinct-n = unique n-grams / total n-grams for n = 1, 2, 3 (Li et al. 2016, NAACL, "A Diversity-Promoting
    /// Objective Function for Neural Conversation Models"); 1 when the text has fewer than n tokens.
    public var distinct1: Double
    public var distinct2: Double
    public var distinct3: Double
    /// L / N, where L is the length in tokens of the longest token sequence that occurs at least twice in the text
    /// (occurrences may overlap) and N the token count; 0 for an empty text. "a b a b a b" → 4/6.
    public var longestRepeatShare: Double
    /// zlib compression ratio = bytes after `compress2` at level 9 / UTF-8 bytes (the Store's convention: lower =
    /// more repetitive; fluent English of a few hundred bytes ≈ 0.6–0.9, loops < 0.3; short texts can exceed 1
    /// because of zlib's fixed overhead). 1 for an empty text. Reference: Shaib et al. (2024), "Standardizing the
    /// Measurement of Text Diversity", arXiv:2403.00553 (who report the inverse, raw / compressed).
    public var compressionRatio: Double
    /// Share of tokens that are not words: after trimming surrounding punctuation a token is a word when it is
    /// letters (with inner apostrophes or hyphens, at most 25 characters) or a number; everything else
    /// (symbol runs, mixed letters and digits or symbols, bare punctuation, over-long strings) is a non-word.
    public var nonWordShare: Double
    /// Perplexity of the text under the unsteered model, when it was computed elsewhere (exp of the mean
    /// negative log-likelihood per token, in nats); nil when not available.
    public var perplexity: Double?

    enum CodingKeys: String, CodingKey {
        case tokenCount = "token_count", distinct1 = "distinct_1", distinct2 = "distinct_2", distinct3 = "distinct_3"
        case longestRepeatShare = "longest_repeat_share", compressionRatio = "compression_ratio"
        case nonWordShare = "non_word_share", perplexity
    }

    /// Computes every measure of `text`; `perplexity` is passed through (it needs the language model).
    public init(text: String, perplexity: Double? = nil) {
        let tokens = Self.tokens(of: text)
        tokenCount = tokens.count
        let ids = Self.integerIDs(tokens)
        distinct1 = Self.distinct(ids, n: 1)
        distinct2 = Self.distinct(ids, n: 2)
        distinct3 = Self.distinct(ids, n: 3)
        longestRepeatShare = ids.isEmpty ? 0 : Double(Self.longestRepeatLength(ids)) / Double(ids.count)
        compressionRatio = Self.compressionRatio(text)
        nonWordShare = tokens.isEmpty ? 0 : Double(tokens.count { !Self.isWord($0) }) / Double(tokens.count)
        self.perplexity = perplexity
    }

    public init(tokenCount: Int, distinct1: Double, distinct2: Double, distinct3: Double, longestRepeatShare: Double,
                compressionRatio: Double, nonWordShare: Double, perplexity: Double?) {
        self.tokenCount = tokenCount; self.distinct1 = distinct1; self.distinct2 = distinct2; self.distinct3 = distinct3
        self.longestRepeatShare = longestRepeatShare; self.compressionRatio = compressionRatio
        self.nonWordShare = nonWordShare; self.perplexity = perplexity
    }

    /// Tokens for the surface measures: the text lower-cased and split on whitespace.
    public static func tokens(of text: String) -> [Substring] {
        let lower = text.lowercased()
        return lower.split(whereSeparator: { $0.isWhitespace })
    }

    static func integerIDs(_ tokens: [Substring]) -> [Int] {
        var table: [Substring: Int] = [:]
        return tokens.map { token in
            if let id = table[token] { return id }
            let id = table.count
            table[token] = id
            return id
        }
    }

    /// distinct-n over integer token ids.
    static func distinct(_ ids: [Int], n: Int) -> Double {
        guard ids.count >= n else { return 1 }
        let total = ids.count - n + 1
        // Pack an n-gram (n ≤ 3) of ids < 2²¹ into one Int key; fall back to arrays otherwise.
        if n <= 3 && ids.count < 1 << 21 {
            var seen = Set<Int>(minimumCapacity: total)
            for start in 0..<total {
                var key = 0
                for k in 0..<n { key = key << 21 | ids[start + k] }
                seen.insert(key)
            }
            return Double(seen.count) / Double(total)
        }
        var seen = Set<[Int]>()
        for start in 0..<total { seen.insert(Array(ids[start..<(start + n)])) }
        return Double(seen.count) / Double(total)
    }

    /// Length of the longest token sequence occurring at least twice (overlap allowed): the longest common
    /// suffix of two prefixes ending at i < j, by dynamic programming in O(N²) time and O(N) memory.
    static func longestRepeatLength(_ ids: [Int]) -> Int {
        let n = ids.count
        guard n > 1 else { return 0 }
        var previous = [Int](repeating: 0, count: n + 1), current = previous
        var best = 0
        for i in 1...n {
            for j in (i + 1)..<(n + 1) where j <= n {
                current[j] = ids[i - 1] == ids[j - 1] ? previous[j - 1] + 1 : 0
                if current[j] > best { best = current[j] }
            }
            swap(&previous, &current)
            for j in 0...n { current[j] = 0 }
        }
        return best
    }

    /// zlib (`compress2`, level 9) bytes / UTF-8 bytes; 1 for empty text.
    public static func compressionRatio(_ text: String) -> Double {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return 1 }
        var destinationLength = compressBound(uLong(bytes.count))
        var destination = [UInt8](repeating: 0, count: Int(destinationLength))
        let status = compress2(&destination, &destinationLength, bytes, uLong(bytes.count), 9)
        // compress2 cannot fail with a destination of compressBound bytes; keep the text's own size if it ever does.
        guard status == Z_OK, destinationLength > 0 else { return 1 }
        return Double(destinationLength) / Double(bytes.count)
    }

    static let trimmed = CharacterSet.punctuationCharacters.union(.symbols).union(CharacterSet(charactersIn: "\"'`"))

    /// Whether a token is a word or a number (see `nonWordShare`).
    static func isWord(_ token: Substring) -> Bool {
        let core = String(token).trimmingCharacters(in: trimmed)
        guard !core.isEmpty, core.count <= 25 else { return false }
        let scalars = core.unicodeScalars
        if scalars.allSatisfy({ CharacterSet.decimalDigits.contains($0) || $0 == "." || $0 == "," || $0 == "%" }) {
            return scalars.contains { CharacterSet.decimalDigits.contains($0) }
        }
        var previousWasJoiner = true
        for s in scalars {
            if CharacterSet.letters.contains(s) || CharacterSet.nonBaseCharacters.contains(s) {
                previousWasJoiner = false
            } else if s == "'" || s == "’" || s == "-" {
                if previousWasJoiner { return false }
                previousWasJoiner = true
            } else {
                return false
            }
        }
        return !previousWasJoiner
    }
}

/// The rule that turns `DegradationMetrics` into a degradation score and a degraded / not-degraded verdict.
///
/// Each measure gets a severity in [0, 1] by linear interpolation between a fluent anchor (severity 0) and a
/// degenerate anchor (severity 1), clipped (an anchor pair may run either way):
///   repetition       1 − distinct-2          fluent 0.10, degenerate 0.70
///   loop             longest repeat share    fluent 0.10, degenerate 0.50
///   compression      compression ratio       fluent 0.50, degenerate 0.30 (compressed / raw bytes)
///   gibberish        non-word share          fluent 0.05, degenerate 0.45
///   perplexity       log10(perplexity)       fluent log10 50, degenerate log10 1000 (only when given)
/// Repetition and loop are evaluated only for texts of at least `minimumTokens` tokens (short texts cannot show
/// them); an empty text has severity 1. **score = the maximum severity**, so one clear sign of breakdown is
/// enough; **degraded ⇔ score ≥ `threshold`** (default 0.5, i.e. at least halfway from fluent to degenerate on
/// some measure). Anchors were set on hand-made fluent and degenerate texts (see DegradationTests); the sweep's
/// degradation onset is robust to them because degraded outputs sit far past the midpoints.
public struct DegradationRule: Codable, Sendable, Equatable {
    public var repetitionFluent = 0.10, repetitionDegenerate = 0.70
    public var loopFluent = 0.10, loopDegenerate = 0.50
    public var compressionFluent = 0.50, compressionDegenerate = 0.30
    public var nonWordFluent = 0.05, nonWordDegenerate = 0.45
    public var perplexityFluent = 50.0, perplexityDegenerate = 1000.0
    public var minimumTokens = 8
    public var threshold = 0.5

    public init() {}

    enum CodingKeys: String, CodingKey {
        case repetitionFluent = "repetition_fluent", repetitionDegenerate = "repetition_degenerate"
        case loopFluent = "loop_fluent", loopDegenerate = "loop_degenerate"
        case compressionFluent = "compression_fluent", compressionDegenerate = "compression_degenerate"
        case nonWordFluent = "non_word_fluent", nonWordDegenerate = "non_word_degenerate"
        case perplexityFluent = "perplexity_fluent", perplexityDegenerate = "perplexity_degenerate"
        case minimumTokens = "minimum_tokens", threshold
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DegradationRule()
        func value(_ key: CodingKeys, _ fallback: Double) throws -> Double { try c.decodeIfPresent(Double.self, forKey: key) ?? fallback }
        repetitionFluent = try value(.repetitionFluent, d.repetitionFluent)
        repetitionDegenerate = try value(.repetitionDegenerate, d.repetitionDegenerate)
        loopFluent = try value(.loopFluent, d.loopFluent)
        loopDegenerate = try value(.loopDegenerate, d.loopDegenerate)
        compressionFluent = try value(.compressionFluent, d.compressionFluent)
        compressionDegenerate = try value(.compressionDegenerate, d.compressionDegenerate)
        nonWordFluent = try value(.nonWordFluent, d.nonWordFluent)
        nonWordDegenerate = try value(.nonWordDegenerate, d.nonWordDegenerate)
        perplexityFluent = try value(.perplexityFluent, d.perplexityFluent)
        perplexityDegenerate = try value(.perplexityDegenerate, d.perplexityDegenerate)
        minimumTokens = try c.decodeIfPresent(Int.self, forKey: .minimumTokens) ?? d.minimumTokens
        threshold = try value(.threshold, d.threshold)
        try validate()
    }

    /// Throws when an anchor pair runs the wrong way (degenerate texts have less diversity, longer loops, smaller
    /// compression ratios, more non-words, higher perplexity) or the threshold is outside (0, 1].
    public func validate() throws {
        let pairs: [(String, Double, Double)] = [
            ("repetition", repetitionFluent, repetitionDegenerate), ("loop", loopFluent, loopDegenerate),
            ("compression", compressionDegenerate, compressionFluent), ("non_word", nonWordFluent, nonWordDegenerate),
            ("perplexity", perplexityFluent, perplexityDegenerate),
        ]
        for (name, low, high) in pairs where !(low < high) || !low.isFinite || !high.isFinite {
            let (fluent, degenerate) = name == "compression" ? (high, low) : (low, high)
            throw AnalysisError.invalidSetting(name: "\(name)_fluent/\(name)_degenerate", value: "\(fluent)/\(degenerate)",
                                               expected: name == "compression" ? "finite anchors with fluent > degenerate"
                                                   : "finite anchors with fluent < degenerate")
        }
        if perplexityFluent <= 0 {
            throw AnalysisError.invalidSetting(name: "perplexity_fluent", value: "\(perplexityFluent)", expected: "a positive perplexity")
        }
        guard threshold > 0 && threshold <= 1 else {
            throw AnalysisError.invalidSetting(name: "threshold", value: "\(threshold)", expected: "a number in (0, 1]")
        }
    }


    static func severity(_ value: Double, fluent: Double, degenerate: Double) -> Double {
        max(0, min(1, (value - fluent) / (degenerate - fluent)))
    }

    /// Degradation score in [0, 1]: the largest severity (see the type's documentation).
    public func score(_ m: DegradationMetrics) -> Double {
        if m.tokenCount == 0 { return 1 }
        var s = Self.severity(m.compressionRatio, fluent: compressionFluent, degenerate: compressionDegenerate)
        s = max(s, Self.severity(m.nonWordShare, fluent: nonWordFluent, degenerate: nonWordDegenerate))
        if m.tokenCount >= minimumTokens {
            s = max(s, Self.severity(1 - m.distinct2, fluent: repetitionFluent, degenerate: repetitionDegenerate))
            s = max(s, Self.severity(m.longestRepeatShare, fluent: loopFluent, degenerate: loopDegenerate))
        }
        if let p = m.perplexity, p.isFinite, p > 0 {
            s = max(s, Self.severity(log10(p), fluent: log10(perplexityFluent), degenerate: log10(perplexityDegenerate)))
        }
        return s
    }

    /// degraded ⇔ score ≥ threshold.
    public func isDegraded(_ m: DegradationMetrics) -> Bool { score(m) >= threshold }
}

/// The degradation onset of one (feature, prompt): the first magnitude from which every output stays degraded.
public struct DegradationOnset: Codable, Sendable, Equatable {
    /// Position of the onset in the magnitude-sorted sequence.
    public var index: Int
    /// The onset magnitude (same units as the magnitudes given).
    public var magnitude: Double
}

/// The first magnitude from which the output stays degraded: the smallest m_i (magnitudes sorted ascending) with
/// degraded(m_j) for every j ≥ i. nil when the output at the largest magnitude is not degraded (no onset within
/// the sweep). An isolated degraded output followed by a fluent one is not an onset.
/// - Throws: `AnalysisError.lengthMismatch` when the arrays differ in length, `.nonFinite` for a NaN magnitude.
public func degradationOnset(magnitudes: [Double], degraded: [Bool]) throws -> Double? {
    try degradationOnsetPosition(magnitudes: magnitudes, degraded: degraded)?.magnitude
}

/// As `degradationOnset(magnitudes:degraded:)`, also giving the onset's position among the sorted magnitudes.
public func degradationOnsetPosition(magnitudes: [Double], degraded: [Bool]) throws -> DegradationOnset? {
    guard magnitudes.count == degraded.count else {
        throw AnalysisError.lengthMismatch(field: "degraded", expected: magnitudes.count, got: degraded.count)
    }
    if let i = magnitudes.firstIndex(where: { !$0.isFinite }) { throw AnalysisError.nonFinite(field: "magnitudes", index: i) }
    let order = magnitudes.indices.sorted { magnitudes[$0] < magnitudes[$1] }
    var position = order.count
    while position > 0 && degraded[order[position - 1]] { position -= 1 }
    guard position < order.count else { return nil }
    return DegradationOnset(index: position, magnitude: magnitudes[order[position]])
}
