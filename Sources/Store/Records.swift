import Foundation
import GRDB
import Units

// Plain Codable records, one per table; GRDB conformances are in the extensions below.
// Types carry a `Record` suffix so they cannot clash with the domain types of other modules
// (`Sweep` is also a module name, `Feature` a SparseAutoencoder concept) at the CLI, which imports both.

/// A language model file (`models`).
public struct ModelRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var path: String
    public var sha256: String
    public var architecture: String
    public var createdAt: Date
    public init(id: Int64? = nil, path: String, sha256: String = "", architecture: String = "", createdAt: Date = Date()) {
        self.id = id; self.path = path; self.sha256 = sha256; self.architecture = architecture; self.createdAt = createdAt
    }
    enum CodingKeys: String, CodingKey { case id, path, sha256, architecture, createdAt = "created_at" }
}

/// A sparse autoencoder (`saes`); `neuronpediaId` is "modelId/layer", e.g. "gpt2-small/12-res-jb".
public struct SAERecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var path: String
    public var sha256: String
    public var hook: String
    public var dIn: Int
    public var dSAE: Int
    public var architecture: String
    public var neuronpediaId: String?
    /// The release format the files were read as (`SAEFormat` raw value: "saelens", "saelens-pre6", "gemma-scope",
    /// "gemma-scope-2", "sparsify"; empty
    /// when unknown, as for SAEs registered before the "v3-sae-source" migration or imported sweeps).
    public var format: String
    /// The release the folder names give (e.g. "gemma-scope-2b-pt-res"), when known.
    public var release: String?
    public init(id: Int64? = nil, path: String, sha256: String = "", hook: String = "", dIn: Int = 0, dSAE: Int = 0,
                architecture: String = "", neuronpediaId: String? = nil, format: String = "", release: String? = nil) {
        self.id = id; self.path = path; self.sha256 = sha256; self.hook = hook; self.dIn = dIn; self.dSAE = dSAE
        self.architecture = architecture; self.neuronpediaId = neuronpediaId; self.format = format; self.release = release
    }
    enum CodingKeys: String, CodingKey {
        case id, path, sha256, hook, dIn = "d_in", dSAE = "d_sae", architecture, neuronpediaId = "neuronpedia_id"
        case format, release
    }
}

/// One SAE latent (`features`). `maxActivation` is in the SAE's activation units; `fractionNonzero` is the share
/// of tokens (0…1) on which it fires. `topContexts`/`promotedTokens` are JSON text as imported (not vectors).
public struct FeatureRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var saeId: Int64
    public var featureIndex: Int
    public var maxActivation: Double?
    public var fractionNonzero: Double?
    public var topContexts: String?
    public var promotedTokens: String?
    public init(id: Int64? = nil, saeId: Int64, featureIndex: Int, maxActivation: Double? = nil,
                fractionNonzero: Double? = nil, topContexts: String? = nil, promotedTokens: String? = nil) {
        self.id = id; self.saeId = saeId; self.featureIndex = featureIndex; self.maxActivation = maxActivation
        self.fractionNonzero = fractionNonzero; self.topContexts = topContexts; self.promotedTokens = promotedTokens
    }
    enum CodingKeys: String, CodingKey {
        case id, saeId = "sae_id", featureIndex = "feature_index", maxActivation = "max_activation"
        case fractionNonzero = "fraction_nonzero", topContexts = "top_contexts", promotedTokens = "promoted_tokens"
    }
}

/// A natural-language explanation of a feature (`explanations`). `source` is "neuronpedia", "semprog" or
/// "import". Exactly one explanation per feature should have `isPreferred` (the one the analysis uses).
public struct ExplanationRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var featureId: Int64
    public var source: String
    public var typeName: String?
    public var modelName: String?
    public var text: String
    public var isPreferred: Bool
    public init(id: Int64? = nil, featureId: Int64, source: String, typeName: String? = nil, modelName: String? = nil,
                text: String, isPreferred: Bool = false) {
        self.id = id; self.featureId = featureId; self.source = source; self.typeName = typeName
        self.modelName = modelName; self.text = text; self.isPreferred = isPreferred
    }
    enum CodingKeys: String, CodingKey {
        case id, featureId = "feature_id", source, typeName = "type_name", modelName = "model_name", text
        case isPreferred = "is_preferred"
    }
}

/// A prompt text (`prompts`), shared by all sweeps.
public struct PromptRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var text: String
    public init(id: Int64? = nil, text: String) { self.id = id; self.text = text }
}

/// A sweep (`sweeps`): the columns mirror `SweepSettings`; `settingsJSON` is its canonical JSON.
public struct SweepRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var name: String
    public var modelId: Int64?
    public var saeId: Int64?
    /// Little-endian Float32 BLOB; see `magnitudeValues`.
    public var magnitudes: Data
    public var units: String
    public var method: String
    public var positions: String
    public var maxTokens: Int
    public var temperature: Double
    public var topK: Int
    public var topP: Double
    public var repetitionPenalty: Double
    public var seed: Int64
    public var chat: Bool
    public var settingsJSON: String
    public var createdAt: Date

    /// The unit of the sweep's magnitudes (`units` parsed; `imported` reads as absolute), nil if unknown.
    public var magnitudeUnit: MagnitudeUnit? { MagnitudeUnit(parsing: units) }

    /// The decoded magnitudes.
    public var magnitudeValues: [Float] { BlobCoding.decodeFloats(magnitudes) ?? [] }

    /// The settings as stored (decoded from `settingsJSON`).
    public func settings() throws -> SweepSettings {
        try JSONDecoder().decode(SweepSettings.self, from: Data(settingsJSON.utf8))
    }

    enum CodingKeys: String, CodingKey {
        case id, name, modelId = "model_id", saeId = "sae_id", magnitudes, units, method, positions
        case maxTokens = "max_tokens", temperature, topK = "top_k", topP = "top_p"
        case repetitionPenalty = "repetition_penalty", seed, chat, settingsJSON = "settings_json"
        case createdAt = "created_at"
    }
}

/// The unsteered output of a prompt in a sweep (`baselines`).
public struct BaselineRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var sweepId: Int64
    public var promptId: Int64
    public var text: String
    /// Little-endian Int32 BLOB; see `tokens`.
    public var tokenIds: Data?
    public var finishReason: String?
    public init(id: Int64? = nil, sweepId: Int64, promptId: Int64, text: String, tokens: [Int32]? = nil,
                finishReason: String? = nil) {
        self.id = id; self.sweepId = sweepId; self.promptId = promptId; self.text = text
        self.tokenIds = tokens.map { BlobCoding.encode(int32s: $0) }; self.finishReason = finishReason
    }
    public var tokens: [Int32]? { tokenIds.flatMap(BlobCoding.decodeInt32s) }
    enum CodingKeys: String, CodingKey {
        case id, sweepId = "sweep_id", promptId = "prompt_id", text, tokenIds = "token_ids", finishReason = "finish_reason"
    }
}

/// One steered output: one cell (feature, prompt, magnitude) of a sweep (`generations`).
/// `activationBefore`/`activationAfter` are the feature's SAE activation at the edited positions before and
/// after the edit (SAE activation units). The requested magnitude is `magnitude` in `magnitudeUnit` (see
/// `requested`); `absoluteTarget` is the activation the edit applied: clamp's target a′ or add's increment, in SAE
/// activation units (value, or value × max activation), nil for scale (a′ = factor · aᵢ depends on aᵢ) and for
/// rows stored before it was recorded (migration `v4-generation-magnitudes`).
public struct GenerationRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var sweepId: Int64
    public var featureIndex: Int
    public var promptId: Int64
    public var magnitude: Double
    /// The unit of `magnitude`; nil only for rows of older databases whose sweep named no known unit.
    public var magnitudeUnit: MagnitudeUnit?
    public var absoluteTarget: Double?
    public var text: String
    public var tokenIds: Data?
    public var finishReason: String?
    public var activationBefore: Double?
    public var activationAfter: Double?
    public var batchKey: String?
    public init(id: Int64? = nil, sweepId: Int64, featureIndex: Int, promptId: Int64, magnitude: Double,
                magnitudeUnit: MagnitudeUnit? = nil, absoluteTarget: Double? = nil, text: String,
                tokens: [Int32]? = nil, finishReason: String? = nil, activationBefore: Double? = nil,
                activationAfter: Double? = nil, batchKey: String? = nil) {
        self.id = id; self.sweepId = sweepId; self.featureIndex = featureIndex; self.promptId = promptId
        self.magnitude = magnitude; self.magnitudeUnit = magnitudeUnit; self.absoluteTarget = absoluteTarget; self.text = text; self.tokenIds = tokens.map { BlobCoding.encode(int32s: $0) }
        self.finishReason = finishReason; self.activationBefore = activationBefore
        self.activationAfter = activationAfter; self.batchKey = batchKey
    }
    public var tokens: [Int32]? { tokenIds.flatMap(BlobCoding.decodeInt32s) }
    public var cell: SweepCell { SweepCell(featureIndex: featureIndex, promptId: promptId, magnitude: magnitude) }
    /// The requested magnitude with its unit (nil when the unit is unknown).
    public var requested: Magnitude? { magnitudeUnit.map { Magnitude(magnitude, $0) } }
    enum CodingKeys: String, CodingKey {
        case id, sweepId = "sweep_id", featureIndex = "feature_index", promptId = "prompt_id", magnitude
        case magnitudeUnit = "magnitude_unit", absoluteTarget = "absolute_target", text
        case tokenIds = "token_ids", finishReason = "finish_reason", activationBefore = "activation_before"
        case activationAfter = "activation_after", batchKey = "batch_key"
    }
}

/// A description of a generation by a describer (`descriptions`); `cacheKey` identifies the describer's inputs.
public struct DescriptionRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var generationId: Int64
    public var describer: String
    public var cacheKey: String
    public var text: String
    public init(id: Int64? = nil, generationId: Int64, describer: String, cacheKey: String, text: String) {
        self.id = id; self.generationId = generationId; self.describer = describer; self.cacheKey = cacheKey; self.text = text
    }
    enum CodingKeys: String, CodingKey {
        case id, generationId = "generation_id", describer, cacheKey = "cache_key", text
    }
}

/// One cell of a sweep grid.
public struct SweepCell: Hashable, Sendable {
    public var featureIndex: Int
    public var promptId: Int64
    public var magnitude: Double
    public init(featureIndex: Int, promptId: Int64, magnitude: Double) {
        self.featureIndex = featureIndex; self.promptId = promptId; self.magnitude = magnitude
    }
}

// MARK: - GRDB conformances

/// Stored as its raw value (`absolute`, `max-activation`, `factor`).
extension MagnitudeUnit: DatabaseValueConvertible {}

extension ModelRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "models"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension SAERecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "saes"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension FeatureRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "features"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension ExplanationRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "explanations"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension PromptRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "prompts"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension SweepRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "sweeps"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension BaselineRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "baselines"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension GenerationRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "generations"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
extension DescriptionRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "descriptions"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
