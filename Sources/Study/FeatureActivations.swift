import Foundation
import LanguageModel
import SparseAutoencoder
import Tensor

/// What `semprog activations` shows: the top SAE features of each token of a text and, for the whole text, the
/// features with the largest activation over its tokens (position 0 left out unless asked: its residual norm is
/// ~100× the others). JSON: `{"tokens": [{token, id, features: [{index, activation}]}], "top": [{index, max_activation}]}`.
public struct FeatureActivations: Codable, Equatable, Sendable {
    public struct FeatureValue: Codable, Equatable, Sendable { public var index: Int; public var activation: Float }
    public struct TokenEntry: Codable, Equatable, Sendable { public var token: String; public var id: Int; public var features: [FeatureValue] }
    public struct TopEntry: Codable, Equatable, Sendable {
        public var index: Int
        public var maxActivation: Float
        enum CodingKeys: String, CodingKey { case index, maxActivation = "max_activation" }
    }

    public var tokens: [TokenEntry]
    public var top: [TopEntry]
    /// Whether position 0 counted for `top` (not encoded).
    var includesFirstToken = false

    enum CodingKeys: String, CodingKey { case tokens, top }

    /// Per token: the `top` non-zero features by activation (descending, ties by index); whole text: the `top`
    /// features by their maximum over the tokens (position 0 excluded unless `includeFirstToken`, when there are
    /// others). `a` is tokens × latents; `token` decodes one id.
    public init(activations a: Matrix, ids: [Int], top: Int, includeFirstToken: Bool, token: (Int) -> String) {
        let m = a.cols
        var maxima = [Float](repeating: 0, count: m)
        var tokens: [TokenEntry] = []
        for r in 0..<a.rows {
            let row = a.row(r)
            let ranked = row.indices.filter { row[$0] > 0 }
                .sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(top)
            tokens.append(TokenEntry(token: token(ids[r]), id: ids[r],
                                     features: ranked.map { FeatureValue(index: $0, activation: row[$0]) }))
            if r == 0 && !includeFirstToken && a.rows > 1 { continue }
            for j in 0..<m where row[j] > maxima[j] { maxima[j] = row[j] }
        }
        let best = maxima.indices.filter { maxima[$0] > 0 }
            .sorted { maxima[$0] > maxima[$1] || (maxima[$0] == maxima[$1] && $0 < $1) }.prefix(top)
        self.tokens = tokens
        self.top = best.map { TopEntry(index: $0, maxActivation: maxima[$0]) }
        self.includesFirstToken = includeFirstToken
    }

    /// Encodes `text` (as `generate --prompt` does) and the model's activations at the SAE's hook.
    public static func compute(model: String, sae: String, hook: String?, text: String, top: Int, includeFirstToken: Bool,
                               threads: Int) throws -> FeatureActivations {
        let autoencoder = try SparseAutoencoder.load(directory: sae, hook: hook)
        let lm = try LlamaModel.load(path: model, threads: threads)
        try autoencoder.check(modelWidth: lm.configuration.dModel, layerCount: lm.configuration.layerCount)
        let ids = lm.tokenizer.promptIDs(text)
        guard !ids.isEmpty else { throw StudyError.invalidArgument("--text: the text is empty") }
        let residual = try autoencoder.hookActivations(model: lm, batch: [ids])[0]
        return FeatureActivations(activations: autoencoder.encode(residual), ids: ids, top: top,
                                  includeFirstToken: includeFirstToken) { lm.tokenizer.decode([$0]) }
    }

    /// One JSON line.
    public var json: String {
        get throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }

    /// One line per token (position, quoted token, `#index activation` pairs), then the whole text's top features.
    public var text: String {
        var lines: [String] = []
        for (p, t) in tokens.enumerated() {
            let features = t.features.map { String(format: "#%d %.3f", $0.index, $0.activation) }.joined(separator: "  ")
            let q = Self.quoted(t.token)
            lines.append(String(format: "%4d ", p) + q + String(repeating: " ", count: max(1, 17 - q.count)) + features)
        }
        lines.append("whole text" + (includesFirstToken ? "" : " (position 0 excluded)") + ": "
                     + top.map { String(format: "#%d %.3f", $0.index, $0.maxActivation) }.joined(separator: "  "))
        return lines.joined(separator: "\n")
    }

    /// The token in double quotes, newlines written as `\n`.
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
