import Foundation

/// Every setting of a sweep. Two runs of the same sweep name must agree on all of them (a resumed or sharded
/// sweep with a changed setting would mix incomparable generations), so the store keeps their canonical JSON
/// (`canonicalJSON`: sorted keys) and `StoreDatabase.createOrValidateSweep` names the first setting that differs.
public struct SweepSettings: Codable, Sendable, Equatable {
    /// Steering magnitudes, in `units`, as the user wrote them (Double: `0.1` is stored and exported as `0.1`;
    /// settings written by earlier versions held Float32 values, whose JSON reads back as the same short decimals).
    public var magnitudes: [Double]
    /// Unit of the magnitudes, e.g. "max_activation" (multiples of the feature's max activation) or "absolute".
    public var units: String
    /// Edit method, e.g. "add" (add m·decoder direction) or "clamp".
    public var method: String
    /// Which positions are edited, e.g. "all" or "generated".
    public var positions: String
    public var maxTokens: Int
    public var temperature: Double
    public var topK: Int
    public var topP: Double
    public var repetitionPenalty: Double
    public var seed: UInt64
    /// Whether prompts are wrapped in the model's chat template.
    public var chat: Bool
    /// Identifier of the model (path or sha256), part of the identity of the sweep.
    public var model: String?
    /// Identifier of the SAE (path or sha256).
    public var sae: String?
    /// Any further settings (string-valued), compared like the others.
    public var extra: [String: String]

    public init(magnitudes: [Double], units: String, method: String, positions: String, maxTokens: Int,
                temperature: Double, topK: Int, topP: Double, repetitionPenalty: Double, seed: UInt64, chat: Bool,
                model: String? = nil, sae: String? = nil, extra: [String: String] = [:]) {
        self.magnitudes = magnitudes; self.units = units; self.method = method; self.positions = positions
        self.maxTokens = maxTokens; self.temperature = temperature; self.topK = topK; self.topP = topP
        self.repetitionPenalty = repetitionPenalty; self.seed = seed; self.chat = chat; self.model = model
        self.sae = sae; self.extra = extra
    }

    /// Settings recorded for a sweep imported from the flat format (generated elsewhere, decoding unknown).
    public static func imported(magnitudes: [Double], model: String?, sae: String?) -> SweepSettings {
        SweepSettings(magnitudes: magnitudes, units: "imported", method: "imported", positions: "imported",
                      maxTokens: 0, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0, chat: false,
                      model: model, sae: sae)
    }

    enum CodingKeys: String, CodingKey {
        case magnitudes, units, method, positions, maxTokens = "max_tokens", temperature, topK = "top_k"
        case topP = "top_p", repetitionPenalty = "repetition_penalty", seed, chat, model, sae, extra
    }

    /// JSON with sorted keys: equal settings give byte-identical text.
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// (name, value) of every setting, in a fixed order, for naming the one that differs.
    public var namedValues: [(String, String)] {
        var list: [(String, String)] = [
            ("magnitudes", "[" + magnitudes.map { "\($0)" }.joined(separator: ", ") + "]"),
            ("units", units), ("method", method), ("positions", positions), ("max_tokens", "\(maxTokens)"),
            ("temperature", "\(temperature)"), ("top_k", "\(topK)"), ("top_p", "\(topP)"),
            ("repetition_penalty", "\(repetitionPenalty)"), ("seed", "\(seed)"), ("chat", "\(chat)"),
            ("model", model ?? "none"), ("sae", sae ?? "none"),
        ]
        for key in Set(extra.keys).sorted() { list.append(("extra.\(key)", extra[key] ?? "none")) }
        return list
    }

    /// The first setting whose value differs: (name, self's value, other's value), or nil when equal.
    public func firstDifference(from other: SweepSettings) -> (setting: String, mine: String, theirs: String)? {
        let mine = Dictionary(namedValues, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(other.namedValues, uniquingKeysWith: { a, _ in a })
        let order = namedValues.map(\.0) + other.namedValues.map(\.0).filter { mine[$0] == nil }
        for key in order where mine[key] != theirs[key] {
            return (key, mine[key] ?? "none", theirs[key] ?? "none")
        }
        return nil
    }
}
