import Foundation

/// The fields of a Hugging Face BERT `config.json` that the encoder needs (all-MiniLM-L6-v2: 6 layers,
/// hidden size 384, 12 heads, intermediate size 1536, erf-GELU, LayerNorm ε = 1e-12, 512 positions).
public struct BertConfiguration: Codable, Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var attentionHeadCount: Int
    public var intermediateSize: Int
    /// Activation of the feed-forward layer; only "gelu" (the exact, erf-based GELU) is supported.
    public var hiddenActivation: String
    public var maxPositionEmbeddings: Int
    public var typeVocabularySize: Int
    /// ε added to the variance in every LayerNorm.
    public var layerNormEpsilon: Float
    public var positionEmbeddingType: String

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case layerCount = "num_hidden_layers"
        case attentionHeadCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenActivation = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    public init(vocabularySize: Int = 30522, hiddenSize: Int = 384, layerCount: Int = 6, attentionHeadCount: Int = 12,
                intermediateSize: Int = 1536, hiddenActivation: String = "gelu", maxPositionEmbeddings: Int = 512,
                typeVocabularySize: Int = 2, layerNormEpsilon: Float = 1e-12, positionEmbeddingType: String = "absolute") {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.attentionHeadCount = attentionHeadCount
        self.intermediateSize = intermediateSize
        self.hiddenActivation = hiddenActivation
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
        self.positionEmbeddingType = positionEmbeddingType
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BertConfiguration()
        vocabularySize = try c.decodeIfPresent(Int.self, forKey: .vocabularySize) ?? d.vocabularySize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        layerCount = try c.decodeIfPresent(Int.self, forKey: .layerCount) ?? d.layerCount
        attentionHeadCount = try c.decodeIfPresent(Int.self, forKey: .attentionHeadCount) ?? d.attentionHeadCount
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenActivation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation) ?? d.hiddenActivation
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        typeVocabularySize = try c.decodeIfPresent(Int.self, forKey: .typeVocabularySize) ?? d.typeVocabularySize
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? d.layerNormEpsilon
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType)
            ?? d.positionEmbeddingType
    }

    /// Width of one attention head: hiddenSize / attentionHeadCount.
    public var headSize: Int { hiddenSize / attentionHeadCount }

    /// Reads and validates `config.json`.
    public static func load(path: String) throws -> BertConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextEmbeddingError.missingFile(path: path)
        }
        let config: BertConfiguration
        do { config = try JSONDecoder().decode(BertConfiguration.self, from: data) } catch let DecodingError.typeMismatch(_, context) {
            throw TextEmbeddingError.invalidConfiguration(
                path: path, field: context.codingPath.map(\.stringValue).joined(separator: "."), reason: "wrong type")
        } catch {
            throw TextEmbeddingError.invalidConfiguration(path: path, field: "(file)", reason: "not a JSON object")
        }
        try config.validate(path: path)
        return config
    }

    /// Throws `invalidConfiguration` naming the first field that the encoder cannot run with.
    public func validate(path: String) throws {
        func fail(_ field: CodingKeys, _ reason: String) -> TextEmbeddingError {
            .invalidConfiguration(path: path, field: field.rawValue, reason: reason)
        }
        for (value, key) in [(vocabularySize, CodingKeys.vocabularySize), (hiddenSize, .hiddenSize),
                             (layerCount, .layerCount), (attentionHeadCount, .attentionHeadCount),
                             (intermediateSize, .intermediateSize), (maxPositionEmbeddings, .maxPositionEmbeddings),
                             (typeVocabularySize, .typeVocabularySize)] where value < 1 {
            throw fail(key, "must be at least 1 (got \(value))")
        }
        guard hiddenSize % attentionHeadCount == 0 else {
            throw fail(.attentionHeadCount, "\(attentionHeadCount) heads do not divide hidden_size \(hiddenSize)")
        }
        guard hiddenActivation == "gelu" else {
            throw fail(.hiddenActivation, "unsupported activation '\(hiddenActivation)' (only 'gelu')")
        }
        guard positionEmbeddingType == "absolute" else {
            throw fail(.positionEmbeddingType, "unsupported '\(positionEmbeddingType)' (only 'absolute')")
        }
        guard layerNormEpsilon > 0, layerNormEpsilon.isFinite else {
            throw fail(.layerNormEpsilon, "must be a positive number (got \(layerNormEpsilon))")
        }
    }
}
