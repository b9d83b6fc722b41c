import Foundation

/// The published decoder architectures semprog runs in its one decoder core (`LlamaForward.swift`); each has a
/// file under `Families/` reading its GGUF metadata and Hugging Face config.json.
public enum ModelFamily: String, Codable, Sendable, CaseIterable {
    /// Llama 2 / SmolLM2 (GGUF `general.architecture` "llama", config.json `model_type` "llama").
    case llama
    /// Gemma (1) (config.json "gemma"): GeGLU, (1 + w) RMSNorm, √d_model embedding scale.
    case gemma
    /// Gemma 2 (config.json "gemma2"): Gemma plus sandwich norms, soft-capping, alternating sliding window.
    case gemma2
    /// Gemma 3 text models (GGUF "gemma3", config.json "gemma3_text").
    case gemma3
    /// Qwen 3 dense models (GGUF and config.json "qwen3"): llama plus per-head q/k RMSNorm.
    case qwen3

    /// Gemma, Gemma 2 or Gemma 3: √d_model embedding scale, (1 + w) norms, GeGLU.
    public var isGemma: Bool { self == .gemma || self == .gemma2 || self == .gemma3 }
}

/// Llama 3.1's RoPE frequency scaling (config.json `rope_scaling` with `rope_type` "llama3"; transformers'
/// `_compute_llama3_parameters`): with wavelength λ = 2π/f of frequency f, L = `original_max_position_embeddings`,
/// λ_low = L / `low_freq_factor`, λ_high = L / `high_freq_factor`: f stays for λ < λ_high, becomes f / `factor` for
/// λ > λ_low, and in between (1 − s)·f/factor + s·f with s = (L/λ − low_freq_factor) / (high_freq_factor − low_freq_factor).
public struct Llama3RoPEScaling: Codable, Sendable, Equatable {
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalMaxPositionEmbeddings: Double

    public init(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositionEmbeddings: Double) {
        self.factor = factor; self.lowFreqFactor = lowFreqFactor; self.highFreqFactor = highFreqFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }

    enum CodingKeys: String, CodingKey {
        case factor, lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    /// The scaled frequency.
    public func scale(_ f: Double) -> Double {
        let wavelength = 2 * Double.pi / f
        let low = originalMaxPositionEmbeddings / lowFreqFactor, high = originalMaxPositionEmbeddings / highFreqFactor
        if wavelength < high { return f }
        if wavelength > low { return f / factor }
        let s = (originalMaxPositionEmbeddings / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
        return (1 - s) * f / factor + s * f
    }
}

/// The feed-forward non-linearity g in W_down · (g(W_gate·x) ⊙ W_up·x).
public enum FeedForwardActivation: String, Codable, Sendable {
    /// SwiGLU: silu(a) = a / (1 + e^(−a)) (llama, Qwen).
    case silu
    /// GeGLU with the tanh GELU: ½·a·(1 + tanh(√(2/π)·(a + 0.044715·a³))) (Gemma's gelu_pytorch_tanh).
    case geluTanh = "gelu_tanh"
}

/// Which elements of a head RoPE rotates together.
public enum RoPELayout: String, Codable, Sendable {
    /// Adjacent pairs (2i, 2i+1): GGUF llama files (llama.cpp's permuted Q/K rows, rope type NORM).
    case interleaved
    /// Pairs (i, i + headDim/2): Hugging Face's rotate_half, and GGUF Gemma/Qwen files (rope type NEOX).
    case halfSplit = "half_split"
}

/// Hyper-parameters of a decoder of the llama lineage (Touvron et al. 2023): pre-RMSNorm blocks of grouped-query
/// attention with rotary position embeddings and a gated feed-forward layer. The fields after `tiedEmbeddings`
/// describe how a family departs from llama (Gemma 3: Gemma Team 2025, transformers' `modeling_gemma3.py`):
/// embedding scale √d_model, GeGLU, norms after attention and feed-forward too, per-head q/k RMSNorm, query scale
/// query_pre_attn_scalar^−½, sliding-window attention on some layers with their own RoPE base.
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
    public var family: ModelFamily = .llama
    public var activation: FeedForwardActivation = .silu
    public var ropeLayout: RoPELayout = .interleaved
    /// The token embedding is multiplied by this (Gemma: √d_model, rounded to Float32); nil = 1.
    public var embeddingScale: Float?
    /// Attention scores are q·k times this; nil = 1/√headDim (Gemma: query_pre_attn_scalar^−½).
    public var attentionScale: Float?
    /// RMSNorm of the attention output and of the feed-forward output before each is added to the residual
    /// (Gemma 2/3 post_attention_layernorm, post_feedforward_layernorm).
    public var sandwichNorms = false
    /// Per-head RMSNorm of queries and keys before RoPE (Gemma 3, Qwen 3 q_norm / k_norm).
    public var queryKeyNorm = false
    /// Positions a sliding-window layer attends to: the current one and the `slidingWindow − 1` before it
    /// (transformers' sliding mask kv > q − window; llama.cpp masks p1 − p0 ≥ n_swa).
    public var slidingWindow: Int?
    /// Per layer, whether it is a sliding-window layer (config.json `layer_types`); nil = none.
    public var slidingLayers: [Bool]?
    /// RoPE base of the sliding-window layers (Gemma 3 `rope_local_base_freq`); nil = `ropeBase`.
    public var ropeLocalBase: Float?
    /// Linear RoPE scaling of the global layers: positions are divided by this (`rope_scaling` type "linear").
    public var ropeScalingFactor: Float?
    /// Llama 3 frequency scaling of RoPE (all layers).
    public var llama3RoPE: Llama3RoPEScaling?
    /// Per-pair divisors of the RoPE frequencies, headDim/2 of them: pair i turns by position·θ^(−2i/headDim) / factor[i]
    /// (GGUF `rope_freqs.weight`, where convert_hf_to_gguf.py stores Llama 3's scaling as f / scaled f, and llama.cpp
    /// passes it to ggml_rope_ext as freq_factors).
    public var ropeFrequencyFactors: [Float]?
    /// Gemma 2 soft-capping: attention scores s ← cap·tanh(s/cap) before the softmax, and logits likewise.
    public var attentionSoftcap: Float?
    public var finalSoftcap: Float?

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", layerCount = "layer_count", headCount = "head_count", kvHeadCount = "kv_head_count"
        case headDim = "head_dim", ffnDim = "ffn_dim", vocabularySize = "vocabulary_size", rmsNormEps = "rms_norm_eps"
        case ropeBase = "rope_base", contextLength = "context_length", tiedEmbeddings = "tied_embeddings"
        case family, activation, ropeLayout = "rope_layout", embeddingScale = "embedding_scale"
        case attentionScale = "attention_scale", sandwichNorms = "sandwich_norms", queryKeyNorm = "query_key_norm"
        case slidingWindow = "sliding_window", slidingLayers = "sliding_layers", ropeLocalBase = "rope_local_base"
        case ropeScalingFactor = "rope_scaling_factor", llama3RoPE = "llama3_rope", ropeFrequencyFactors = "rope_frequency_factors"
        case attentionSoftcap = "attn_logit_softcapping", finalSoftcap = "final_logit_softcapping"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(dModel: try c.decode(Int.self, forKey: .dModel), layerCount: try c.decode(Int.self, forKey: .layerCount),
                  headCount: try c.decode(Int.self, forKey: .headCount), kvHeadCount: try c.decode(Int.self, forKey: .kvHeadCount),
                  headDim: try c.decode(Int.self, forKey: .headDim), ffnDim: try c.decode(Int.self, forKey: .ffnDim),
                  vocabularySize: try c.decode(Int.self, forKey: .vocabularySize), rmsNormEps: try c.decode(Float.self, forKey: .rmsNormEps),
                  ropeBase: try c.decode(Float.self, forKey: .ropeBase), contextLength: try c.decode(Int.self, forKey: .contextLength),
                  tiedEmbeddings: try c.decode(Bool.self, forKey: .tiedEmbeddings))
        family = try c.decodeIfPresent(ModelFamily.self, forKey: .family) ?? .llama
        activation = try c.decodeIfPresent(FeedForwardActivation.self, forKey: .activation) ?? .silu
        ropeLayout = try c.decodeIfPresent(RoPELayout.self, forKey: .ropeLayout) ?? .interleaved
        embeddingScale = try c.decodeIfPresent(Float.self, forKey: .embeddingScale)
        attentionScale = try c.decodeIfPresent(Float.self, forKey: .attentionScale)
        sandwichNorms = try c.decodeIfPresent(Bool.self, forKey: .sandwichNorms) ?? false
        queryKeyNorm = try c.decodeIfPresent(Bool.self, forKey: .queryKeyNorm) ?? false
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        slidingLayers = try c.decodeIfPresent([Bool].self, forKey: .slidingLayers)
        ropeLocalBase = try c.decodeIfPresent(Float.self, forKey: .ropeLocalBase)
        ropeScalingFactor = try c.decodeIfPresent(Float.self, forKey: .ropeScalingFactor)
        llama3RoPE = try c.decodeIfPresent(Llama3RoPEScaling.self, forKey: .llama3RoPE)
        ropeFrequencyFactors = try c.decodeIfPresent([Float].self, forKey: .ropeFrequencyFactors)
        attentionSoftcap = try c.decodeIfPresent(Float.self, forKey: .attentionSoftcap)
        finalSoftcap = try c.decodeIfPresent(Float.self, forKey: .finalSoftcap)
    }

    /// Whether block `layer` attends through the sliding window.
    public func isSliding(_ layer: Int) -> Bool { slidingWindow != nil && (slidingLayers?[layer] ?? false) }
    /// The scale of attention scores, q·k · s.
    public var scoreScale: Float { attentionScale ?? 1 / Float(headDim).squareRoot() }

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

    /// Throws `invalidConfiguration` naming `path` and the keys (as `keys` names them) when the numbers are
    /// inconsistent.
    public func validate(path: String, keys: ConfigurationKeys = .huggingFace) throws {
        func bad(_ reason: String) -> LanguageModelError { .invalidConfiguration(path: path, reason: reason) }
        func k(_ field: ConfigurationKeys.Field) -> String { "'\(keys.name(field))'" }
        for (field, value) in [(ConfigurationKeys.Field.dModel, dModel), (.layerCount, layerCount), (.headCount, headCount),
                               (.kvHeadCount, kvHeadCount), (.headDim, headDim), (.ffnDim, ffnDim), (.vocabularySize, vocabularySize)] where value <= 0 {
            throw bad("\(k(field)) is \(value), not positive")
        }
        guard headCount % kvHeadCount == 0 else {
            throw bad("\(k(.headCount)) \(headCount) is not a multiple of \(k(.kvHeadCount)) \(kvHeadCount)")
        }
        guard headDim % 2 == 0 else { throw bad("\(k(.headDim)) \(headDim) is odd (RoPE rotates pairs)") }
        guard rmsNormEps > 0, rmsNormEps.isFinite else { throw bad("\(k(.rmsNormEps)) \(rmsNormEps)") }
        guard ropeBase > 1, ropeBase.isFinite else { throw bad("\(k(.ropeBase)) \(ropeBase)") }
        guard contextLength > 0 else { throw bad("\(k(.contextLength)) \(contextLength)") }
        if let slidingLayers, slidingLayers.count != layerCount {
            throw bad("\(k(.slidingLayers)) has \(slidingLayers.count) entries for \(k(.layerCount)) \(layerCount)")
        }
        if let w = slidingWindow, w < 1 { throw bad("\(k(.slidingWindow)) \(w)") }
        if slidingLayers?.contains(true) == true, slidingWindow == nil { throw bad("sliding-attention layers without a \(k(.slidingWindow))") }
        if let b = ropeLocalBase, !(b > 1 && b.isFinite) { throw bad("\(k(.ropeLocalBase)) \(b)") }
        if let f = ropeScalingFactor, !(f >= 1 && f.isFinite) { throw bad("\(k(.ropeScalingFactor)) \(f)") }
        if let f = ropeFrequencyFactors, f.count != headDim / 2 || !f.allSatisfy({ $0 > 0 && $0.isFinite }) {
            throw bad("rope_freqs.weight has \(f.count) factors for head dimension \(headDim), or one that is not positive")
        }
    }
}

/// How the keys of a configuration are called in the file it came from, so that an error names the key the user
/// can find: config.json's (`num_attention_heads`) or a GGUF file's (`llama.attention.head_count`).
public enum ConfigurationKeys: Sendable, Equatable {
    case huggingFace
    case gguf(arch: String)

    /// The fields `LlamaConfiguration.validate` checks.
    public enum Field: Sendable {
        case dModel, layerCount, headCount, kvHeadCount, headDim, ffnDim, vocabularySize, rmsNormEps, ropeBase
        case contextLength, slidingWindow, slidingLayers, ropeLocalBase, ropeScalingFactor
    }

    public func name(_ field: Field) -> String {
        switch self {
        case .huggingFace:
            switch field {
            case .dModel: "hidden_size"
            case .layerCount: "num_hidden_layers"
            case .headCount: "num_attention_heads"
            case .kvHeadCount: "num_key_value_heads"
            case .headDim: "head_dim"
            case .ffnDim: "intermediate_size"
            case .vocabularySize: "vocab_size"
            case .rmsNormEps: "rms_norm_eps"
            case .ropeBase: "rope_theta"
            case .contextLength: "max_position_embeddings"
            case .slidingWindow: "sliding_window"
            case .slidingLayers: "layer_types"
            case .ropeLocalBase: "rope_local_base_freq"
            case .ropeScalingFactor: "rope_scaling.factor"
            }
        case let .gguf(arch):
            switch field {
            case .dModel: "\(arch).embedding_length"
            case .layerCount: "\(arch).block_count"
            case .headCount: "\(arch).attention.head_count"
            case .kvHeadCount: "\(arch).attention.head_count_kv"
            case .headDim: "\(arch).attention.key_length"
            case .ffnDim: "\(arch).feed_forward_length"
            case .vocabularySize: "token_embd.weight"
            case .rmsNormEps: "\(arch).attention.layer_norm_rms_epsilon"
            case .ropeBase: "\(arch).rope.freq_base"
            case .contextLength: "\(arch).context_length"
            case .slidingWindow: "\(arch).attention.sliding_window"
            case .slidingLayers: "\(arch).attention.sliding_window_pattern"
            case .ropeLocalBase: "\(arch).rope.freq_base_swa"
            case .ropeScalingFactor: "\(arch).rope.scaling.factor"
            }
        }
    }
}
