import Foundation
import ModelFormats

/// The decoder configuration of a GGUF file, read as llama.cpp 0c1e570 reads it: the keys of
/// `llama_model_base::load_hparams` (src/llama-model.cpp) and of each architecture's `load_arch_hparams`
/// (src/models/llama.cpp, qwen3.cpp, gemma.cpp, gemma2.cpp, gemma3.cpp), named as in src/llama-arch.cpp, with the
/// defaults llama.cpp applies when a key is absent. `A` is `general.architecture`:
///
/// | key | needed | default |
/// |---|---|---|
/// | `A.context_length`, `A.embedding_length`, `A.block_count`, `A.attention.layer_norm_rms_epsilon` | yes | — |
/// | `A.feed_forward_length`, `A.attention.head_count` | yes (llama.cpp: 0, then fails on the tensors) | — |
/// | `A.attention.head_count_kv` | no | head_count |
/// | `A.attention.key_length`, `A.attention.value_length` | no | embedding_length / head_count |
/// | `A.rope.dimension_count` | no | key_length (must equal it: no partial RoPE) |
/// | `A.rope.freq_base` | no | 10,000 |
/// | `A.rope.scaling.type` | no | "linear"; "none" disables the factor; "yarn", "longrope" and others are refused |
/// | `A.rope.scaling.factor` (else the old `A.rope.scale_linear`) | no | none (positions ÷ factor when linear) |
/// | `rope_freqs.weight` (tensor, llama) | no | Llama 3 RoPE: pair i's frequency is divided by value i |
/// | gemma2 `A.attention.sliding_window` | no | 4096 |
/// | gemma2/gemma3 `A.attention.sliding_window_pattern` (per-layer array, or n: layer il slides when il mod n < n − 1) | no | 2 / 6 |
/// | gemma2 `A.attn_logit_softcapping`, `A.final_logit_softcapping` | no | 50, 30 |
/// | gemma3 `A.attention.sliding_window` | no | none (every layer global) |
/// | gemma3 `A.final_logit_softcapping` | no | none |
/// | gemma2/gemma3 `A.rope.freq_base_swa` | no | gemma2: freq_base; gemma3: 10,000 |
///
/// The query scale of Gemma 2 and Gemma 3 is key_length^−½, except for the 27B models (46 and 62 layers), where it is
/// (embedding_length / head_count)^−½ (llama.cpp follows gemma_pytorch's config there; it equals transformers'
/// query_pre_attn_scalar^−½ for every published size). Gemma 2's linear RoPE factor would apply to its sliding layers
/// too, which the forward does not do: a factor other than 1 is refused for gemma2.
extension LlamaConfiguration {
    /// The architectures `init(gguf:)` reads (`general.architecture`).
    public static let ggufArchitectures = ["llama", "qwen3", "gemma", "gemma2", "gemma3"]

    /// Reads and validates the configuration of `file`; throws `wrongArchitecture` for another architecture and
    /// `missingMetadata` / `invalidConfiguration` naming the key at fault. `vocabularySize` comes from
    /// `token_embd.weight`; `tiedEmbeddings` is whether `output.weight` is absent.
    init(gguf file: GGUFFile) throws {
        let path = file.path
        guard let archValue = file.metadata["general.architecture"] else {
            throw LanguageModelError.missingMetadata(path: path, key: "general.architecture")
        }
        guard let arch = archValue.string else {
            throw LanguageModelError.invalidConfiguration(path: path, reason: "metadata 'general.architecture' is not a string")
        }
        guard Self.ggufArchitectures.contains(arch) else { throw LanguageModelError.wrongArchitecture(path: path, found: arch) }
        let m = GGUFHyperparameters(file: file, arch: arch)
        let d = try m.requiredInt("embedding_length"), layers = try m.requiredInt("block_count")
        let heads = try m.requiredPerLayerInt("attention.head_count", layers: layers)
        guard heads > 0 else { throw m.bad("attention.head_count", "\(heads)") }
        let kvHeads = try m.perLayerInt("attention.head_count_kv", layers: layers) ?? heads
        let keyLength = try m.int("attention.key_length") ?? d / heads
        let valueLength = try m.int("attention.value_length") ?? d / heads
        guard valueLength == keyLength else {
            throw m.bad("attention.value_length", "\(valueLength) differs from \(arch).attention.key_length \(keyLength) (one head size is supported)")
        }
        if let rot = try m.int("rope.dimension_count"), rot != keyLength {
            throw m.bad("rope.dimension_count", "\(rot) differs from the head size \(keyLength) (partial RoPE is not supported)")
        }
        let embedding = try file.info("token_embd.weight")
        guard embedding.shape.count == 2, embedding.shape[1] == d else {
            throw ModelFormatError.shapeMismatch(path: path, tensor: "token_embd.weight", expected: [-1, d], found: embedding.shape)
        }
        self.init(dModel: d, layerCount: layers, headCount: heads, kvHeadCount: kvHeads, headDim: keyLength,
                  ffnDim: try m.requiredPerLayerInt("feed_forward_length", layers: layers),
                  vocabularySize: embedding.shape[0],
                  rmsNormEps: Float(try m.requiredReal("attention.layer_norm_rms_epsilon")),
                  ropeBase: Float(try m.real("rope.freq_base") ?? 10000),
                  contextLength: try m.requiredInt("context_length"),
                  tiedEmbeddings: file.tensors["output.weight"] == nil)
        if let v = try m.int("vocab_size"), v != vocabularySize {
            throw m.bad("vocab_size", "\(v) but token_embd.weight has \(vocabularySize) rows")
        }
        let linearFactor = try m.linearRoPEFactor()
        switch arch {
        case "llama":
            ropeScalingFactor = linearFactor
            if let info = file.tensors["rope_freqs.weight"] {
                guard info.shape == [keyLength / 2] else {
                    throw ModelFormatError.shapeMismatch(path: path, tensor: "rope_freqs.weight", expected: [keyLength / 2], found: info.shape)
                }
                let factors = try file.floats("rope_freqs.weight")
                guard factors.allSatisfy({ $0 > 0 }) else {
                    throw LanguageModelError.invalidConfiguration(path: path, reason: "tensor 'rope_freqs.weight' has a factor ≤ 0")
                }
                ropeFrequencyFactors = factors
            }
        case "qwen3":
            ropeScalingFactor = linearFactor
            applyQwen3()
        case "gemma":
            if linearFactor != nil { throw m.bad("rope.scaling.factor", "set, but Gemma has no RoPE scaling") }
            applyGemma(family: .gemma)
            tiedEmbeddings = true   // llama.cpp's gemma graph uses token_embd as the output; an output.weight is refused
        case "gemma2":
            if linearFactor != nil { throw m.bad("rope.scaling.factor", "linear RoPE scaling of Gemma 2's sliding layers is not supported") }
            let attnCap = try m.real("attn_logit_softcapping") ?? 50, finalCap = try m.real("final_logit_softcapping") ?? 30
            guard attnCap > 0 else { throw m.bad("attn_logit_softcapping", "\(attnCap)") }
            guard finalCap > 0 else { throw m.bad("final_logit_softcapping", "\(finalCap)") }
            let localBase = try m.real("rope.freq_base_swa").map(Float.init)
            tiedEmbeddings = true   // as gemma
            applyGemma2(attentionScale: gemmaAttentionScale(layers: layers, twentySevenB: 46),
                        slidingWindow: try m.int("attention.sliding_window") ?? 4096,
                        sliding: try m.slidingPattern(layers: layers, defaultPattern: 2),
                        attentionSoftcap: Float(attnCap), finalSoftcap: Float(finalCap))
            if let localBase, localBase != ropeBase { ropeLocalBase = localBase }
        default: // gemma3
            let window = try m.int("attention.sliding_window") ?? 0
            let scale = gemmaAttentionScale(layers: layers, twentySevenB: 62)
            if window > 0 {
                applyGemma3(attentionScale: scale, slidingWindow: window,
                            sliding: try m.slidingPattern(layers: layers, defaultPattern: 6),
                            localBase: Float(try m.real("rope.freq_base_swa") ?? 10000), ropeScalingFactor: linearFactor)
            } else {
                applyGemma3(attentionScale: scale, slidingWindow: nil, sliding: nil, localBase: nil, ropeScalingFactor: linearFactor)
            }
            if let cap = try m.real("final_logit_softcapping"), cap != 0 {
                guard cap > 0 else { throw m.bad("final_logit_softcapping", "\(cap)") }
                finalSoftcap = Float(cap)
            }
        }
        try validate(path: path, keys: .gguf(arch: arch))
    }

    /// llama.cpp's Gemma 2/3 query scale: key_length^−½, or (d_model / heads)^−½ for the 27B model (its layer count).
    private func gemmaAttentionScale(layers: Int, twentySevenB: Int) -> Float {
        layers == twentySevenB ? 1 / Float(dModel / headCount).squareRoot() : 1 / Float(headDim).squareRoot()
    }
}

/// Typed reads of `<arch>.<key>` metadata; a key that is present with the wrong type is an error naming it, never
/// silently replaced by the default.
struct GGUFHyperparameters {
    let file: GGUFFile
    let arch: String

    func name(_ key: String) -> String { "\(arch).\(key)" }
    func bad(_ key: String, _ reason: String) -> LanguageModelError {
        .invalidConfiguration(path: file.path, reason: "metadata '\(name(key))' \(reason)")
    }

    func int(_ key: String) throws -> Int? {
        guard let v = file.metadata[name(key)] else { return nil }
        guard let i = v.int else { throw bad(key, "is not an integer") }
        return i
    }
    func requiredInt(_ key: String) throws -> Int {
        guard let v = try int(key) else { throw LanguageModelError.missingMetadata(path: file.path, key: name(key)) }
        return v
    }
    func real(_ key: String) throws -> Double? {
        guard let v = file.metadata[name(key)] else { return nil }
        guard let d = v.double else { throw bad(key, "is not a number") }
        return d
    }
    func requiredReal(_ key: String) throws -> Double {
        guard let v = try real(key) else { throw LanguageModelError.missingMetadata(path: file.path, key: name(key)) }
        return v
    }
    /// llama.cpp's `get_key_or_arr`: one number, or one per layer (accepted when all layers agree).
    func perLayerInt(_ key: String, layers: Int) throws -> Int? {
        guard let v = file.metadata[name(key)] else { return nil }
        if let a = v.array {
            guard a.count == layers, let ints = v.ints, let first = ints.first else { throw bad(key, "is an array of \(a.count) values for \(layers) layers") }
            guard ints.allSatisfy({ $0 == first }) else { throw bad(key, "differs between layers \(ints) (not supported)") }
            return first
        }
        return try int(key)
    }
    func requiredPerLayerInt(_ key: String, layers: Int) throws -> Int {
        guard let v = try perLayerInt(key, layers: layers) else { throw LanguageModelError.missingMetadata(path: file.path, key: name(key)) }
        return v
    }
    /// `attention.sliding_window_pattern` as llama.cpp's `load_swa_pattern`: a per-layer array of booleans, or n
    /// (layer il slides when il mod n < n − 1; n = 0: every layer), else `defaultPattern`.
    func slidingPattern(layers: Int, defaultPattern: Int) throws -> [Bool] {
        let key = "attention.sliding_window_pattern"
        if let a = file.metadata[name(key)]?.array {
            guard a.count == layers, let ints = file.metadata[name(key)]?.ints else { throw bad(key, "is an array of \(a.count) values for \(layers) layers") }
            return ints.map { $0 != 0 }
        }
        let n = try int(key) ?? defaultPattern
        guard n >= 0 else { throw bad(key, "\(n)") }
        return (0..<layers).map { n == 0 || $0 % n < n - 1 }
    }
    /// The linear RoPE factor: `rope.scaling.factor` (or `rope.scale_linear`) when `rope.scaling.type` is linear (the
    /// default) and the factor is not 0 or 1; nil for type "none". Yarn, longrope and unknown types are refused by name.
    func linearRoPEFactor() throws -> Float? {
        let key = "rope.scaling.type"
        var kind = "linear"
        if let v = file.metadata[name(key)] {
            guard let s = v.string else { throw bad(key, "is not a string") }
            kind = s
        }
        switch kind {
        case "none": return nil
        case "linear":
            let factor = try real("rope.scaling.factor") ?? real("rope.scale_linear") ?? 0
            if factor == 0 || factor == 1 { return nil }
            guard factor > 1, factor.isFinite else { throw bad("rope.scaling.factor", "\(factor)") }
            return Float(factor)
        case "yarn", "longrope": throw bad(key, "'\(kind)' is not supported (supported: none, linear; Llama 3 scaling comes as rope_freqs.weight)")
        default: throw bad(key, "'\(kind)' is not a RoPE scaling type llama.cpp knows (none, linear, yarn, longrope)")
        }
    }
}

extension LlamaConfiguration {
    /// The tensors a GGUF file of this configuration holds, by llama.cpp's names (convert_hf_to_gguf.py), with their
    /// row-major shapes: `token_embd`, `output_norm`, `output` (untied only), `rope_freqs` (Llama 3 factors), and per
    /// block `attn_norm`, `attn_q`/`_k`/`_v`, `attn_output`, `ffn_norm`, `ffn_gate`/`_up`/`_down`, plus
    /// `post_attention_norm`/`post_ffw_norm` (Gemma 2/3) and `attn_q_norm`/`attn_k_norm` (Qwen 3, Gemma 3).
    func ggufTensorShapes() -> [String: [Int]] {
        var s: [String: [Int]] = ["token_embd.weight": [vocabularySize, dModel], "output_norm.weight": [dModel]]
        if !tiedEmbeddings { s["output.weight"] = [vocabularySize, dModel] }
        if let f = ropeFrequencyFactors { s["rope_freqs.weight"] = [f.count] }
        for l in 0..<layerCount {
            let p = "blk.\(l)."
            s[p + "attn_norm.weight"] = [dModel]
            s[p + "attn_q.weight"] = [queryDim, dModel]
            s[p + "attn_k.weight"] = [kvDim, dModel]
            s[p + "attn_v.weight"] = [kvDim, dModel]
            s[p + "attn_output.weight"] = [dModel, queryDim]
            s[p + "ffn_norm.weight"] = [dModel]
            s[p + "ffn_gate.weight"] = [ffnDim, dModel]
            s[p + "ffn_up.weight"] = [ffnDim, dModel]
            s[p + "ffn_down.weight"] = [dModel, ffnDim]
            if sandwichNorms {
                s[p + "post_attention_norm.weight"] = [dModel]
                s[p + "post_ffw_norm.weight"] = [dModel]
            }
            if queryKeyNorm {
                s[p + "attn_q_norm.weight"] = [headDim]
                s[p + "attn_k_norm.weight"] = [headDim]
            }
        }
        return s
    }
}
