import Foundation
import Tensor

/// A window of tokens around a position where a feature fired strongly.
public struct FeatureContext: Codable, Sendable, Equatable {
    /// Token ids of the window.
    public var tokenIDs: [Int]
    /// Token strings of the window (filled in by `FeatureStatisticsAccumulator.finish`).
    public var tokens: [String]
    /// Index inside the window of the token with the maximum activation.
    public var maxIndex: Int
    /// The feature's activation at each window token.
    public var activations: [Float]
    /// The maximum activation (at `maxIndex`).
    public var activation: Float

    enum CodingKeys: String, CodingKey {
        case tokens, activations, activation
        case tokenIDs = "token_ids", maxIndex = "max_index"
    }

    public init(tokenIDs: [Int], tokens: [String], maxIndex: Int, activations: [Float], activation: Float) {
        self.tokenIDs = tokenIDs; self.tokens = tokens; self.maxIndex = maxIndex
        self.activations = activations; self.activation = activation
    }

    /// The window's text with the max token marked as `[[token]]`.
    public var markedText: String {
        tokens.enumerated().map { $0.offset == maxIndex ? "[[\($0.element)]]" : $0.element }.joined()
    }
}

/// A vocabulary token with the logit a feature's decoder direction gives it.
public struct TokenLogit: Codable, Sendable, Equatable {
    public var id: Int
    public var token: String
    public var logit: Float
    public init(id: Int, token: String, logit: Float) { self.id = id; self.token = token; self.logit = logit }
}

/// Corpus statistics of one feature (stored in the `features` table).
public struct FeatureStatistics: Codable, Sendable, Equatable {
    public var feature: Int
    /// Fraction of corpus tokens on which the feature is non-zero (its density), in [0, 1].
    public var fractionNonzero: Double
    /// Largest activation over the corpus (0 when it never fires).
    public var maxActivation: Float
    /// Mean activation over the tokens where it fires (0 when it never fires).
    public var meanActiveActivation: Float
    /// Strongest contexts, at most one per document, by decreasing activation.
    public var topContexts: [FeatureContext]
    /// Tokens whose logit W_U·norm(W_dec[i]) is highest (decreasing).
    public var promotedTokens: [TokenLogit]
    /// Tokens whose logit is lowest (increasing).
    public var suppressedTokens: [TokenLogit]

    enum CodingKeys: String, CodingKey {
        case feature
        case fractionNonzero = "fraction_nonzero", maxActivation = "max_activation"
        case meanActiveActivation = "mean_active_activation", topContexts = "top_contexts"
        case promotedTokens = "promoted_tokens", suppressedTokens = "suppressed_tokens"
    }

    /// The `count` highest and lowest entries of a vocabulary-sized logit vector (ties: lower id first).
    public static func promotedAndSuppressed(logits: [Float], count: Int, token: (Int) -> String)
        -> (promoted: [TokenLogit], suppressed: [TokenLogit]) {
        let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        let n = min(count, order.count)
        let promoted = order.prefix(n).map { TokenLogit(id: $0, token: token($0), logit: logits[$0]) }
        let suppressed = order.reversed().prefix(n).map { TokenLogit(id: $0, token: token($0), logit: logits[$0]) }
        return (promoted, Array(suppressed))
    }
}

/// Accumulates `FeatureStatistics` over documents: feed each document's token ids and its activation matrix
/// (one row per scored token), then call `finish`.
public struct FeatureStatisticsAccumulator: Sendable {
    public let dSae: Int
    public let contextCount: Int
    public let tokensBefore: Int
    public let tokensAfter: Int
    public private(set) var tokens = 0
    private var fires: [Int]
    private var sums: [Double]
    private var maxima: [Float]
    private var contexts: [[FeatureContext]]

    public init(dSae: Int, contextCount: Int = 5, tokensBefore: Int = 8, tokensAfter: Int = 3) {
        self.dSae = dSae
        self.contextCount = contextCount
        self.tokensBefore = tokensBefore
        self.tokensAfter = tokensAfter
        fires = [Int](repeating: 0, count: dSae)
        sums = [Double](repeating: 0, count: dSae)
        maxima = [Float](repeating: 0, count: dSae)
        contexts = [[FeatureContext]](repeating: [], count: dSae)
    }

    /// Adds one document. Row r of `activations` (rows × d_sae) belongs to token `tokenIDs[firstPosition + r]`
    /// (position 0 is usually skipped: its residual norm is ~100× the others).
    public mutating func add(activations a: Matrix, tokenIDs: [Int], firstPosition: Int = 0) {
        precondition(a.cols == dSae && firstPosition + a.rows <= tokenIDs.count, "FeatureStatisticsAccumulator: shapes")
        let m = dSae
        tokens += a.rows
        var bestRow = [Int](repeating: -1, count: m)
        var bestValue = [Float](repeating: 0, count: m)
        for r in 0..<a.rows {
            for j in 0..<m {
                let v = a.values[r * m + j]
                guard v != 0 else { continue }
                fires[j] += 1
                sums[j] += Double(v)
                if v > maxima[j] { maxima[j] = v }
                if v > bestValue[j] { bestValue[j] = v; bestRow[j] = r }
            }
        }
        for j in 0..<m where bestRow[j] >= 0 {
            let list = contexts[j]
            if list.count >= contextCount, let weakest = list.last, weakest.activation >= bestValue[j] { continue }
            let r = bestRow[j]
            let lo = max(0, r - tokensBefore), hi = min(a.rows - 1, r + tokensAfter)
            let ids = Array(tokenIDs[(firstPosition + lo)...(firstPosition + hi)])
            let acts = (lo...hi).map { a.values[$0 * m + j] }
            let context = FeatureContext(tokenIDs: ids, tokens: [], maxIndex: r - lo, activations: acts, activation: bestValue[j])
            var updated = list
            let at = updated.firstIndex { $0.activation < context.activation } ?? updated.count
            updated.insert(context, at: at)
            if updated.count > contextCount { updated.removeLast() }
            contexts[j] = updated
        }
    }

    /// The statistics of every feature. `token` renders a token id; `logits(i)`, when given, returns the
    /// vocabulary logits of feature i's decoder direction (for promoted/suppressed tokens).
    public func finish(token: (Int) -> String, logits: ((Int) -> [Float])? = nil, tokenCount: Int = 10,
                       features: [Int]? = nil) -> [FeatureStatistics] {
        (features ?? Array(0..<dSae)).map { j in
            var promoted: [TokenLogit] = [], suppressed: [TokenLogit] = []
            if let logits {
                (promoted, suppressed) = FeatureStatistics.promotedAndSuppressed(logits: logits(j), count: tokenCount, token: token)
            }
            let ctx = contexts[j].map { c -> FeatureContext in
                var c = c
                c.tokens = c.tokenIDs.map(token)
                return c
            }
            return FeatureStatistics(
                feature: j, fractionNonzero: tokens > 0 ? Double(fires[j]) / Double(tokens) : 0,
                maxActivation: maxima[j], meanActiveActivation: fires[j] > 0 ? Float(sums[j] / Double(fires[j])) : 0,
                topContexts: ctx, promotedTokens: promoted, suppressedTokens: suppressed)
        }
    }
}

/// semprog's built-in explanation of a self-trained SAE's feature: a short text from the tokens it fires on
/// most, one marked top context and the tokens its decoder direction promotes. Source name: `semprog`.
public enum BuiltInExplainer {
    public static let source = "semprog"

    /// E.g. `fires on "dog", " dogs", " puppy" (as in "…walked the [[dog]] home…"); promotes " bark", " wag"`.
    /// Returns nil for a feature that never fired.
    public static func explain(_ s: FeatureStatistics, maxTokens: Int = 4) -> String? {
        guard !s.topContexts.isEmpty else { return nil }
        func clean(_ t: String) -> String {
            let visible = t.replacingOccurrences(of: "\n", with: "\\n")
            return "\"" + visible + "\""
        }
        // Distinct max tokens, ordered by how many top contexts peak on them, then by activation.
        var counts: [String: (Int, Float)] = [:]
        var order: [String] = []
        for c in s.topContexts where c.maxIndex < c.tokens.count {
            let t = c.tokens[c.maxIndex]
            if counts[t] == nil { order.append(t) }
            let old = counts[t] ?? (0, 0)
            counts[t] = (old.0 + 1, max(old.1, c.activation))
        }
        let top = order.sorted { (counts[$0]!.0, counts[$0]!.1) > (counts[$1]!.0, counts[$1]!.1) }.prefix(maxTokens)
        var text = "fires on " + top.map(clean).joined(separator: ", ")
        if let best = s.topContexts.first {
            let snippet = best.markedText.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
            text += " (as in \"…\(snippet)…\")"
        }
        let promoted = s.promotedTokens.map(\.token)
            .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            .prefix(maxTokens)
        if !promoted.isEmpty { text += "; promotes " + promoted.map(clean).joined(separator: ", ") }
        return text
    }
}
