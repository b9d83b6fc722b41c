import Foundation

/// Hyper-parameters of a llama-architecture decoder (Touvron et al. 2023): pre-RMSNorm blocks of grouped-query
/// attention with rotary position embeddings and a SwiGLU feed-forward layer.
public struct LlamaConfiguration: Codable, Sendable, Equatable {
    /// Width of the residual stream (d_model).
    public var dModel: Int
    public var layerCount: Int
    /// Query heads.
    public var headCount: Int
    /// Key/value heads (grouped-query attention: `headCount / kvHeadCount` queries share one).
    public var kvHeadCount: Int
    public var headDim: Int
    /// Hidden width of the SwiGLU feed-forward layer.
    public var ffnDim: Int
    public var vocabularySize: Int
    /// ε in RMSNorm: x / √(mean(x²) + ε) · w.
    public var rmsNormEps: Float
    /// RoPE base θ: pair i of a head rotates by position · θ^(−2i/headDim).
    public var ropeBase: Float
    /// Longest sequence (prompt + generated) the model was trained for.
    public var contextLength: Int
    /// Whether logits use the token embedding (no separate output matrix).
    public var tiedEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", layerCount = "layer_count", headCount = "head_count", kvHeadCount = "kv_head_count"
        case headDim = "head_dim", ffnDim = "ffn_dim", vocabularySize = "vocabulary_size", rmsNormEps = "rms_norm_eps"
        case ropeBase = "rope_base", contextLength = "context_length", tiedEmbeddings = "tied_embeddings"
    }

    public init(dModel: Int, layerCount: Int, headCount: Int, kvHeadCount: Int, headDim: Int? = nil, ffnDim: Int,
                vocabularySize: Int, rmsNormEps: Float = 1e-5, ropeBase: Float = 10000, contextLength: Int = 2048,
                tiedEmbeddings: Bool = true) {
        self.dModel = dModel; self.layerCount = layerCount; self.headCount = headCount; self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? (headCount > 0 ? dModel / headCount : 0); self.ffnDim = ffnDim
        self.vocabularySize = vocabularySize; self.rmsNormEps = rmsNormEps; self.ropeBase = ropeBase
        self.contextLength = contextLength; self.tiedEmbeddings = tiedEmbeddings
    }

    /// Query width, headCount · headDim.
    public var queryDim: Int { headCount * headDim }
    /// Key (and value) width, kvHeadCount · headDim.
    public var kvDim: Int { kvHeadCount * headDim }
    /// Query heads per key/value head.
    public var groupSize: Int { headCount / kvHeadCount }

    /// Throws `invalidConfiguration` naming `path` when the numbers are inconsistent.
    public func validate(path: String) throws {
        func bad(_ reason: String) -> LanguageModelError { .invalidConfiguration(path: path, reason: reason) }
        guard dModel > 0, layerCount > 0, headCount > 0, kvHeadCount > 0, headDim > 0, ffnDim > 0, vocabularySize > 0 else {
            throw bad("non-positive dimension in \(self)")
        }
        guard headCount % kvHeadCount == 0 else { throw bad("\(headCount) query heads are not a multiple of \(kvHeadCount) key/value heads") }
        guard headDim % 2 == 0 else { throw bad("head dimension \(headDim) is odd (RoPE rotates pairs)") }
        guard rmsNormEps > 0, rmsNormEps.isFinite, ropeBase > 1, ropeBase.isFinite else { throw bad("rms_norm_eps \(rmsNormEps) / rope_base \(ropeBase)") }
        guard contextLength > 0 else { throw bad("context length \(contextLength)") }
    }
}
