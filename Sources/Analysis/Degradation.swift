import CZlib
import Foundation

/// What the repetition measures of `DegradationMetrics` count.
public enum RepetitionUnit: String, Codable, Sendable, Equatable {
    /// The model's token ids, as generated (stored with the sweep).
    case tokens
    /// No ids are known (imported sweeps): the text's characters, with runs of letters or digits of a
    /// space-separated script counted as one unit (see `DegradationMetrics.characterUnits(of:)`).
    case characters
}

/// Surface measures of how degenerate one generated text is. All ratios are unitless in [0, 1] unless noted.
///
/// The repetition measures (distinct-n, longest repeat share) are computed over the model's **token ids** when
/// they are known and over **character units** otherwise, never over whitespace words alone: a loop without
/// spaces (`please}}}}}}}}`, ` thus//////`) is one "word" but many repeated tokens. The whitespace-word distinct-2
/// is kept as one more signal (`wordDistinct2`).
public struct DegradationMetrics: Codable, Sendable, Equatable {
    /// What `tokenCount`, `distinct1…3` and `longestRepeatShare` count: token ids or character units.
    public var unit: RepetitionUnit
    /// Number of units (token ids, or character units).
    public var tokenCount: Int
    /// distinct-n = unique n-grams / total n-grams of units, for n = 1, 2, 3 (Li et al. 2016, NAACL, "A
    /// Diversity-Promoting Objective Function for Neural Conversation Models"); 1 when there are fewer than n units.
    public var distinct1: Double
    public var distinct2: Double
    public var distinct3: Double
    /// L / N, where L is the length in units of the longest unit sequence that occurs at least twice
    /// (occurrences may overlap) and N the unit count; 0 for an empty text. "a b a b a b" → 4/6.
    public var longestRepeatShare: Double
    /// Number of whitespace-separated, lower-cased words (see `DegradationMetrics.words(of:)`).
    public var wordCount: Int
    /// distinct-2 over whitespace words (1 when fewer than 2 words): the older, word-level repetition signal.
    public var wordDistinct2: Double
    /// zlib compression ratio = bytes after `compress2` at level 9 / UTF-8 bytes (the Store's convention: lower =
    /// more repetitive; fluent English of a few hundred bytes ≈ 0.6–0.9, loops < 0.3; short texts can exceed 1
    /// because of zlib's fixed overhead). 1 for an empty text. Reference: Shaib et al. (2024), "Standardizing the
    /// Measurement of Text Diversity", arXiv:2403.00553 (who report the inverse, raw / compressed).
    public var compressionRatio: Double
    /// Share of whitespace words that are not words (see `isWord`/`isNeutral`): symbol runs of 3 or more
    /// characters, malformed letter–digit mixtures, letter runs over 25 characters in a space-separated script,
    /// or words carrying more symbols than letters and digits + 2. Single or double punctuation marks and
    /// operators (`-`, `=`, `+`, `//`, `**`) are neutral (left out of numerator and denominator), so code, lists
    /// and formulas are not non-words; 0 when every word is neutral.
    public var nonWordShare: Double
    /// Perplexity of the generated tokens under the unsteered model given the prompt (exp of the mean negative
    /// log-likelihood per token, in nats), computed outside this module; nil when not available.
    public var perplexity: Double?

    enum CodingKeys: String, CodingKey {
        case unit, tokenCount = "token_count", distinct1 = "distinct_1", distinct2 = "distinct_2", distinct3 = "distinct_3"
        case longestRepeatShare = "longest_repeat_share", wordCount = "word_count", wordDistinct2 = "word_distinct_2"
        case compressionRatio = "compression_ratio", nonWordShare = "non_word_share", perplexity
    }

    /// Computes every measure of `text`; the repetition measures run over `tokenIDs` when given (and non-empty for
    /// a non-empty text), else over `characterUnits(of: text)`. `perplexity` is passed through (it needs the model).
    public init(text: String, tokenIDs: [Int]? = nil, perplexity: Double? = nil) {
        let units: [Int]
        if let tokenIDs, !tokenIDs.isEmpty || text.isEmpty {
            unit = .tokens
            units = Self.integerIDs(tokenIDs)
        } else {
            unit = .characters
            units = Self.integerIDs(Self.characterUnits(of: text))
        }
        tokenCount = units.count
        distinct1 = Self.distinct(units, n: 1)
        distinct2 = Self.distinct(units, n: 2)
        distinct3 = Self.distinct(units, n: 3)
        longestRepeatShare = units.isEmpty ? 0 : Double(Self.longestRepeatLength(units)) / Double(units.count)
        let words = Self.words(of: text)
        wordCount = words.count
        wordDistinct2 = Self.distinct(Self.integerIDs(words), n: 2)
        compressionRatio = Self.compressionRatio(text)
        let judged = words.filter { !Self.isNeutral($0) }
        nonWordShare = judged.isEmpty ? 0 : Double(judged.count { !Self.isWord($0) }) / Double(judged.count)
        self.perplexity = perplexity
    }

    public init(unit: RepetitionUnit = .tokens, tokenCount: Int, distinct1: Double, distinct2: Double, distinct3: Double,
                longestRepeatShare: Double, wordCount: Int? = nil, wordDistinct2: Double? = nil,
                compressionRatio: Double, nonWordShare: Double, perplexity: Double?) {
        self.unit = unit; self.tokenCount = tokenCount; self.distinct1 = distinct1; self.distinct2 = distinct2
        self.distinct3 = distinct3; self.longestRepeatShare = longestRepeatShare
        self.wordCount = wordCount ?? tokenCount; self.wordDistinct2 = wordDistinct2 ?? distinct2
        self.compressionRatio = compressionRatio; self.nonWordShare = nonWordShare; self.perplexity = perplexity
    }

    /// Whitespace words: the text lower-cased and split on whitespace.
    public static func words(of text: String) -> [Substring] {
        text.lowercased().split(whereSeparator: { $0.isWhitespace })
    }

    /// Whether a scalar belongs to a script written without spaces between words (Han, kana, Hangul, Thai,
    /// Lao, Khmer, Myanmar): such characters are one unit each and never make an over-long word.
    static func isUnspacedScript(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0E00...0x0EFF, 0x1000...0x109F, 0x1780...0x17FF, 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FA1F: true
        default: false
        }
    }

    static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || s.properties.numericType != nil || s.properties.generalCategory == .nonspacingMark
            || s.properties.generalCategory == .spacingMark
    }

    /// Character units, for texts without token ids: the lower-cased text with whitespace dropped, where a run of
    /// letters or digits (of a space-separated script) is one unit and every other character — each punctuation
    /// mark, symbol, or character of an unspaced script — is a unit of its own. "please}}}}" → please } } } }
    /// (a loop), "Hello, world" → hello , world. Roughly the granularity of a subword tokenizer's pre-tokenizer.
    public static func characterUnits(of text: String) -> [Substring] {
        let lower = text.lowercased()
        var out: [Substring] = []
        var runStart: String.Index?
        var index = lower.startIndex
        while index < lower.endIndex {
            let character = lower[index]
            let next = lower.index(after: index)
            let scalar = character.unicodeScalars.first!
            if isAlphanumeric(scalar) && !isUnspacedScript(scalar) {
                if runStart == nil { runStart = index }
            } else {
                if let start = runStart { out.append(lower[start..<index]); runStart = nil }
                if !character.isWhitespace { out.append(lower[index..<next]) }
            }
            index = next
        }
        if let start = runStart { out.append(lower[start..<lower.endIndex]) }
        return out
    }

    static func integerIDs<T: Hashable>(_ tokens: [T]) -> [Int] {
        var table: [T: Int] = [:]
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
    /// suffix of two prefixes ending at i < j.
    static func longestRepeatLength(_ ids: [Int]) -> Int {
        // The longest L such that some window of L units occurs at two different starts (overlap allowed).
        // "L repeats" implies "L − 1 repeats", so L is found by binary search, each step one pass of a rolling
        // hash (mod 2⁶⁴) whose matches are confirmed by comparing the windows: O(n log n) instead of the O(n²)
        // dynamic programme, which took minutes on a 1 MB output.
        let n = ids.count
        guard n > 1 else { return 0 }
        func repeats(_ length: Int) -> Bool {
            let base: UInt64 = 1_000_003
            var power: UInt64 = 1
            for _ in 0..<length { power &*= base }
            var hash: UInt64 = 0
            var starts: [UInt64: [Int]] = [:]
            starts.reserveCapacity(n)
            for i in 0..<n {
                hash = hash &* base &+ UInt64(bitPattern: Int64(ids[i])) &+ 1
                if i >= length { hash = hash &- power &* (UInt64(bitPattern: Int64(ids[i - length])) &+ 1) }
                guard i >= length - 1 else { continue }
                let start = i - length + 1
                if let earlier = starts[hash] {
                    for s in earlier where ids[s..<(s + length)].elementsEqual(ids[start..<(start + length)]) { return true }
                    starts[hash]!.append(start)
                } else {
                    starts[hash] = [start]
                }
            }
            return false
        }
        var low = 0, high = n - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if repeats(mid) { low = mid } else { high = mid - 1 }
        }
        return low
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

    /// A whitespace word without letters or digits of at most 2 characters (`-`, `=`, `//`, `**`, `…`): neutral,
    /// neither word nor non-word (punctuation and operators of prose, lists, code and formulas).
    static func isNeutral(_ token: Substring) -> Bool {
        token.count <= 2 && !token.unicodeScalars.contains(where: isAlphanumeric)
    }

    /// Whether a whitespace word is a word (see `nonWordShare`). Its letter–digit pieces (maximal runs of
    /// letters, marks and digits) must each be letters only, digits only, letters then digits (`utf8`, `x1`) or
    /// digits then at most 3 letters (`1st`, `5pm`), at most 25 characters long unless in an unspaced script; and
    /// the word may carry at most (letters and digits + 2) other characters (`print(i)`, `(1999).`, `don't`).
    static func isWord(_ token: Substring) -> Bool {
        var pieces: [[Unicode.Scalar]] = [[]]
        var symbols = 0, alphanumerics = 0
        for s in token.unicodeScalars {
            if isAlphanumeric(s) { pieces[pieces.count - 1].append(s); alphanumerics += 1 }
            else { symbols += 1; if !pieces[pieces.count - 1].isEmpty { pieces.append([]) } }
        }
        pieces.removeAll { $0.isEmpty }
        guard !pieces.isEmpty, symbols <= alphanumerics + 2 else { return false }
        for piece in pieces {
            if piece.count > 25 && !piece.contains(where: isUnspacedScript) { return false }
            let isDigit = piece.map { $0.properties.numericType != nil }
            guard let firstDigit = isDigit.firstIndex(of: true) else { continue }  // letters only
            if firstDigit == 0 {
                // digits, then at most 3 letters
                guard let firstLetter = isDigit.firstIndex(of: false) else { continue }
                if isDigit[firstLetter...].contains(true) || piece.count - firstLetter > 3 { return false }
            } else if isDigit[firstDigit...].contains(false) {
                return false  // letters, digits, letters again
            }
        }
        return true
    }
}

/// The rule that turns `DegradationMetrics` into a degradation score and a degraded / not-degraded verdict.
///
/// Each measure gets a severity in [0, 1] by linear interpolation between a fluent anchor (severity 0) and a
/// degenerate anchor (severity 1), clipped: severity(x) = clamp((x − fluent) / (degenerate − fluent), 0, 1).
///   repetition        1 − distinct-2 of units (tokens)  fluent 0.10, degenerate 0.50
///   loop              longest repeat share of units      fluent 0.15, degenerate 0.50
///   word repetition   1 − distinct-2 of whitespace words fluent 0.10, degenerate 0.70
///   compression       compression ratio                  fluent 0.50, degenerate 0.30 (compressed / raw bytes)
///   gibberish         non-word share                     fluent 0.10, degenerate 0.50
///   perplexity        log10(perplexity)                  fluent log10 50, degenerate log10 1000 (when given)
/// The repetition and loop severities need at least `minimumTokens` units, word repetition at least
/// `minimumTokens` words (short texts cannot show them); an empty text has severity 1.
/// **score = the maximum severity**, so one clear sign of breakdown is enough; **degraded ⇔ score ≥ `threshold`**
/// (default 0.5: at least halfway from fluent to degenerate on some measure).
///
/// Validation: the labelled set `Tests/AnalysisTests/Fixtures/degradation_labels.json` (real demo outputs with
/// their token ids and perplexities, labelled by the rule written in its README) — accuracy, false-positive and
/// false-negative rates are in the README and asserted by `DegradationLabelledSetTests`.
public struct DegradationRule: Codable, Sendable, Equatable {
    public var repetitionFluent = 0.10, repetitionDegenerate = 0.50
    public var loopFluent = 0.15, loopDegenerate = 0.50
    public var wordRepetitionFluent = 0.10, wordRepetitionDegenerate = 0.70
    public var compressionFluent = 0.50, compressionDegenerate = 0.30
    public var nonWordFluent = 0.10, nonWordDegenerate = 0.50
    public var perplexityFluent = 50.0, perplexityDegenerate = 1000.0
    public var minimumTokens = 8
    public var threshold = 0.5

    public init() {}

    enum CodingKeys: String, CodingKey {
        case repetitionFluent = "repetition_fluent", repetitionDegenerate = "repetition_degenerate"
        case loopFluent = "loop_fluent", loopDegenerate = "loop_degenerate"
        case wordRepetitionFluent = "word_repetition_fluent", wordRepetitionDegenerate = "word_repetition_degenerate"
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
        wordRepetitionFluent = try value(.wordRepetitionFluent, d.wordRepetitionFluent)
        wordRepetitionDegenerate = try value(.wordRepetitionDegenerate, d.wordRepetitionDegenerate)
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
            ("word_repetition", wordRepetitionFluent, wordRepetitionDegenerate),
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

    /// The severity of each measure, by name (repetition, loop, word_repetition, compression, gibberish,
    /// perplexity); a measure that does not apply (too short, no perplexity) is absent.
    public func severities(_ m: DegradationMetrics) -> [String: Double] {
        var s: [String: Double] = [:]
        s["compression"] = Self.severity(m.compressionRatio, fluent: compressionFluent, degenerate: compressionDegenerate)
        s["gibberish"] = Self.severity(m.nonWordShare, fluent: nonWordFluent, degenerate: nonWordDegenerate)
        if m.tokenCount >= minimumTokens {
            s["repetition"] = Self.severity(1 - m.distinct2, fluent: repetitionFluent, degenerate: repetitionDegenerate)
            s["loop"] = Self.severity(m.longestRepeatShare, fluent: loopFluent, degenerate: loopDegenerate)
        }
        if m.wordCount >= minimumTokens {
            s["word_repetition"] = Self.severity(1 - m.wordDistinct2, fluent: wordRepetitionFluent, degenerate: wordRepetitionDegenerate)
        }
        if let p = m.perplexity, p.isFinite, p > 0 {
            s["perplexity"] = Self.severity(log10(p), fluent: log10(perplexityFluent), degenerate: log10(perplexityDegenerate))
        }
        return s
    }

    /// Degradation score in [0, 1]: the largest severity (see the type's documentation); 1 for an empty text.
    public func score(_ m: DegradationMetrics) -> Double {
        if m.tokenCount == 0 { return 1 }
        return severities(m).values.max() ?? 0
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
