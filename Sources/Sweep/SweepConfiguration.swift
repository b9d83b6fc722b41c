import Foundation
import SparseAutoencoder
import Store
import Units

/// Everything that determines a sweep's outputs (the full configuration of a run). It is mapped onto the
/// Store's `SweepSettings` (see `storeSettings`), which the database keeps with the sweep and compares on every
/// rerun: a rerun with any different setting is refused (or must use a new sweep name).
public struct SweepConfiguration: Codable, Sendable, Equatable {
    /// The unit of the sweep's magnitudes (see `Units.MagnitudeUnit`; the one value type from CLI to report).
    public typealias Units = MagnitudeUnit

    public var modelPath: String
    public var modelSHA256: String
    public var saePath: String
    public var saeSHA256: String
    public var hookName: String
    public var features: [Int]
    public var prompts: [String]
    /// Ascending magnitudes, in `units`.
    public var magnitudes: [Double]
    public var units: Units
    /// `clamp`, `add` or `scale` (see SparseAutoencoder.EditMethod).
    public var method: String
    /// `all`, `prompt` or `generated`.
    public var positions: String
    public var maxTokens: Int
    public var temperature: Double
    public var topK: Int
    public var topP: Double
    public var repetitionPenalty: Double
    public var frequencyPenalty: Double
    public var seed: UInt64
    public var chat: Bool
    /// The chat template's text when `chat` (the model's own or `--chat-template`'s), stored with the sweep so
    /// analysis re-encodes prompts with the same template; filled by `SweepRunner` from the model when nil.
    public var chatTemplate: String?
    /// Sequences decoded together. Part of the settings because BLAS results may differ in the last bits with
    /// the batch's size: keeping batches fixed makes reruns and resumed runs identical.
    public var batchSize: Int

    enum CodingKeys: String, CodingKey {
        case modelPath = "model_path", modelSHA256 = "model_sha256", saePath = "sae_path", saeSHA256 = "sae_sha256"
        case hookName = "hook_name", features, prompts, magnitudes, units, method, positions
        case maxTokens = "max_tokens", temperature, topK = "top_k", topP = "top_p"
        case repetitionPenalty = "repetition_penalty", frequencyPenalty = "frequency_penalty", seed, chat
        case chatTemplate = "chat_template", batchSize = "batch_size"
    }

    public init(modelPath: String, modelSHA256: String, saePath: String, saeSHA256: String, hookName: String,
                features: [Int], prompts: [String], magnitudes: [Double], units: Units, method: String,
                positions: String, maxTokens: Int, temperature: Double, topK: Int, topP: Double,
                repetitionPenalty: Double, frequencyPenalty: Double, seed: UInt64, chat: Bool, batchSize: Int) {
        self.modelPath = modelPath; self.modelSHA256 = modelSHA256; self.saePath = saePath; self.saeSHA256 = saeSHA256
        self.hookName = hookName; self.features = features; self.prompts = prompts; self.magnitudes = magnitudes
        self.units = units; self.method = method; self.positions = positions; self.maxTokens = maxTokens
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.repetitionPenalty = repetitionPenalty
        self.frequencyPenalty = frequencyPenalty; self.seed = seed; self.chat = chat; self.batchSize = batchSize
    }

    /// The settings as the Store keeps and compares them. Everything not in the Store's fixed columns goes into
    /// `extra`, so any change of features, prompts, hook, batch size or model/SAE content is refused on rerun.
    public var storeSettings: SweepSettings {
        SweepSettings(magnitudes: magnitudes, units: units.rawValue, method: method, positions: positions,
                      maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
                      repetitionPenalty: repetitionPenalty, seed: seed, chat: chat,
                      model: modelSHA256, sae: saeSHA256,
                      extra: ["features": features.map(String.init).joined(separator: ","),
                              "prompts": prompts.joined(separator: "\u{1F}"),
                              "hook": hookName, "batch_size": String(batchSize),
                              "frequency_penalty": String(frequencyPenalty)]
                          .merging(chat ? chatTemplate.map { ["chat_template": $0] } ?? [:] : [:]) { a, _ in a })
    }

    /// The requested magnitude of `magnitudes[index]`, with the sweep's unit.
    public func magnitude(_ index: Int) -> Magnitude { Magnitude(magnitudes[index], units) }
}

extension MagnitudeUnit {
    /// The unit a method's magnitudes are in when the user names none (see `defaultUnit(forMethod:)`).
    public static func defaultUnits(for method: EditMethod) -> MagnitudeUnit { defaultUnit(forMethod: method.rawValue) }

    /// Whether magnitudes in this unit make sense for `method` (see `applies(toMethod:)`).
    public func applies(to method: EditMethod) -> Bool { applies(toMethod: method.rawValue) }
}
