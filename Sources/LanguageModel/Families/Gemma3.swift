import Foundation
import ModelFormats
import Tokenization

/// Gemma 3 text models (Gemma Team 2025; transformers' `modeling_gemma3.py`, llama.cpp's `gemma3-iswa`):
///   x₀ = √d_model · E[token]
///   h = x + n_post_attn(Wo · Attention(RoPE(n_q(Wq·n₁(x))), RoPE(n_k(Wk·n₁(x))), Wv·n₁(x)))
///   x' = h + n_post_ffn(W_down · (gelu_tanh(W_gate·n₂(h)) ⊙ W_up·n₂(h)))
/// with RMSNorms n(x) = x / √(mean(x²) + ε) · (1 + w) (per head for n_q, n_k), scores q·k / √query_pre_attn_scalar,
/// sliding-window attention (window `sliding_window`, RoPE base `rope_local_base_freq`) on the layers `layer_types`
/// marks "sliding_attention" (5 of every 6), global attention with base `rope_theta` (and linear `rope_scaling`)
/// on the others, RoPE on pairs (i, i + headDim/2), tied embeddings, no soft-capping.
/// GGUF files store (1 + w) for every norm already; Hugging Face safetensors store w.
struct Gemma3TextConfig: Codable {
    var modelType: String
    var hiddenSize: Int
    var numHiddenLayers: Int
    var numAttentionHeads: Int
    var numKeyValueHeads: Int
    var headDim: Int
    var intermediateSize: Int
    var vocabSize: Int
    var rmsNormEps: Float
    var ropeTheta: Float
    var ropeLocalBaseFreq: Float
    var ropeScaling: RopeScaling?
    var slidingWindow: Int
    var layerTypes: [String]?
    var slidingWindowPattern: Int?
    var queryPreAttnScalar: Float
    var maxPositionEmbeddings: Int
    var tieWordEmbeddings: Bool?
    var hiddenActivation: String?
    var attnLogitSoftcapping: Float?
    var finalLogitSoftcapping: Float?
    var bosTokenId: Int?
    var eosTokenId: IntOrList?

    struct RopeScaling: Codable {
        var ropeType: String?
        var type: String?
        var factor: Float?
        enum CodingKeys: String, CodingKey { case ropeType = "rope_type", type, factor }
    }

    /// config.json writes `eos_token_id` as a number or a list of numbers.
    enum IntOrList: Codable {
        case one(Int), many([Int])
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .one(i) } else { self = .many(try c.decode([Int].self)) }
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self { case let .one(i): try c.encode(i); case let .many(a): try c.encode(a) }
        }
        var first: Int? { switch self { case let .one(i): i; case let .many(a): a.first } }
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
        case intermediateSize = "intermediate_size", vocabSize = "vocab_size", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", ropeLocalBaseFreq = "rope_local_base_freq", ropeScaling = "rope_scaling"
        case slidingWindow = "sliding_window", layerTypes = "layer_types", slidingWindowPattern = "sliding_window_pattern"
        case queryPreAttnScalar = "query_pre_attn_scalar", maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings", hiddenActivation = "hidden_activation"
        case attnLogitSoftcapping = "attn_logit_softcapping", finalLogitSoftcapping = "final_logit_softcapping"
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
    }

    /// The decoder configuration, or an error naming the key at fault.
    func configuration(path: String) throws -> LlamaConfiguration {
        func bad(_ reason: String) -> LanguageModelError { .invalidConfiguration(path: path, reason: reason) }
        if let a = hiddenActivation, a != "gelu_pytorch_tanh" { throw bad("hidden_activation '\(a)' (Gemma 3 uses gelu_pytorch_tanh)") }
        if attnLogitSoftcapping != nil || finalLogitSoftcapping != nil {
            throw bad("attn_logit_softcapping / final_logit_softcapping are set, but Gemma 3 has no soft-capping")
        }
        if tieWordEmbeddings == false { throw bad("tie_word_embeddings is false (Gemma 3 ties them)") }
        let sliding: [Bool]
        if let layerTypes {
            guard layerTypes.count == numHiddenLayers else { throw bad("layer_types has \(layerTypes.count) entries for num_hidden_layers \(numHiddenLayers)") }
            sliding = try layerTypes.map {
                switch $0 {
                case "sliding_attention": return true
                case "full_attention": return false
                default: throw bad("layer_types entry '\($0)'")
                }
            }
            if let p = slidingWindowPattern, p > 0, sliding != (0..<numHiddenLayers).map({ ($0 + 1) % p != 0 }) {
                throw bad("layer_types contradicts sliding_window_pattern \(p)")
            }
        } else {
            guard let p = slidingWindowPattern, p > 0 else { throw bad("neither layer_types nor sliding_window_pattern is given") }
            sliding = (0..<numHiddenLayers).map { ($0 + 1) % p != 0 }
        }
        var factor: Float?
        if let s = ropeScaling {
            let kind = s.ropeType ?? s.type ?? "<missing>"
            guard kind == "linear" || kind == "default" else { throw bad("rope_scaling type '\(kind)' (Gemma 3 uses linear)") }
            if kind == "linear" {
                guard let f = s.factor else { throw bad("rope_scaling without factor") }
                factor = f
            }
        }
        guard queryPreAttnScalar > 0 else { throw bad("query_pre_attn_scalar \(queryPreAttnScalar)") }
        var c = LlamaConfiguration(dModel: hiddenSize, layerCount: numHiddenLayers, headCount: numAttentionHeads,
                                   kvHeadCount: numKeyValueHeads, headDim: headDim, ffnDim: intermediateSize,
                                   vocabularySize: vocabSize, rmsNormEps: rmsNormEps, ropeBase: ropeTheta,
                                   contextLength: maxPositionEmbeddings, tiedEmbeddings: true)
        c.applyGemma3(slidingWindow: slidingWindow, sliding: sliding, localBase: ropeLocalBaseFreq,
                      queryPreAttnScalar: queryPreAttnScalar, ropeScalingFactor: factor)
        try c.validate(path: path)
        return c
    }
}

extension LlamaConfiguration {
    /// Sets the Gemma 3 departures from llama (see `Gemma3TextConfig`).
    mutating func applyGemma3(slidingWindow: Int, sliding: [Bool], localBase: Float, queryPreAttnScalar: Float,
                              ropeScalingFactor: Float?) {
        family = .gemma3
        activation = .geluTanh
        ropeLayout = .halfSplit
        embeddingScale = Float(dModel).squareRoot()
        attentionScale = 1 / queryPreAttnScalar.squareRoot()
        sandwichNorms = true
        queryKeyNorm = true
        self.slidingWindow = slidingWindow
        slidingLayers = sliding
        ropeLocalBase = localBase
        self.ropeScalingFactor = ropeScalingFactor
    }
}

extension LlamaModel {
    /// Reads a Gemma 3 GGUF file (`general.architecture` "gemma3", SentencePiece tokenizer "llama"). Metadata:
    /// `gemma3.embedding_length`, `.block_count`, `.feed_forward_length`, `.attention.head_count(_kv)`,
    /// `.attention.key_length` (head_dim), `.attention.layer_norm_rms_epsilon`, `.rope.freq_base` (global layers),
    /// `.attention.sliding_window`, `.rope.scaling.type/factor`. As llama.cpp does, sliding layers are 5 of every 6
    /// with RoPE base 10,000, and the query scale is key_length^−½ (query_pre_attn_scalar = head_dim for every
    /// Gemma 3 size except 27B, where it is d_model / heads). A Q8_0 or Q4_1 token embedding is kept in block form
    /// only (262,144 × 640 × 4 bytes = 671 MB in Float32 for 270M).
    static func loadGemma3GGUF(file: GGUFFile, compactWeights: Bool) throws -> (LlamaConfiguration, BPETokenizer, LlamaWeights) {
        let path = file.path
        let tokenizer = try BPETokenizer(gguf: file)
        func meta(_ key: String) throws -> Int {
            do { return try file.int("gemma3." + key) } catch { throw LanguageModelError.invalidConfiguration(path: path, reason: "missing or non-integer metadata 'gemma3.\(key)'") }
        }
        func real(_ key: String) throws -> Double {
            do { return try file.double("gemma3." + key) } catch { throw LanguageModelError.invalidConfiguration(path: path, reason: "missing or non-numeric metadata 'gemma3.\(key)'") }
        }
        let d = try meta("embedding_length"), layers = try meta("block_count"), heads = try meta("attention.head_count")
        let headDim = try meta("attention.key_length")
        if let v = file.metadata["gemma3.attention.value_length"]?.int, v != headDim {
            throw LanguageModelError.invalidConfiguration(path: path, reason: "gemma3.attention.value_length \(v) differs from key_length \(headDim)")
        }
        let embedding = try file.info("token_embd.weight")
        var config = LlamaConfiguration(
            dModel: d, layerCount: layers, headCount: heads, kvHeadCount: try meta("attention.head_count_kv"),
            headDim: headDim, ffnDim: try meta("feed_forward_length"), vocabularySize: embedding.shape.first ?? 0,
            rmsNormEps: Float(try real("attention.layer_norm_rms_epsilon")), ropeBase: Float(try real("rope.freq_base")),
            contextLength: (try? meta("context_length")) ?? 32768, tiedEmbeddings: true)
        var factor: Float?
        if let kind = file.metadata["gemma3.rope.scaling.type"]?.string, kind != "none" {
            guard kind == "linear", let f = file.metadata["gemma3.rope.scaling.factor"]?.double else {
                throw LanguageModelError.invalidConfiguration(path: path, reason: "gemma3.rope.scaling.type '\(kind)' (only linear, with gemma3.rope.scaling.factor)")
            }
            factor = Float(f)
        }
        let scalar = layers == 62 ? Float(d / heads) : Float(headDim)
        config.applyGemma3(slidingWindow: try meta("attention.sliding_window"), sliding: (0..<layers).map { ($0 + 1) % 6 != 0 },
                           localBase: 10000, queryPreAttnScalar: scalar, ropeScalingFactor: factor)
        try config.validate(path: path)
        guard config.vocabularySize == tokenizer.vocabularySize else {
            throw LanguageModelError.invalidConfiguration(path: path, reason: "token_embd has \(config.vocabularySize) rows but the tokenizer \(tokenizer.vocabularySize) tokens")
        }
        if file.tensors["output.weight"] != nil {
            throw LanguageModelError.invalidConfiguration(path: path, reason: "tensor 'output.weight' is present, but Gemma 3 ties its embeddings")
        }
        // Check every tensor's type before reading any, so an unsupported one fails before anything loads.
        for name in file.tensorNames where !(file.tensors[name]!.type.isDequantizable) {
            throw ModelFormatError.unsupportedType(path: path, tensor: name, type: file.tensors[name]!.type.name)
        }
        let c = config
        let tokenEmbedding: WeightMatrix
        if embedding.type == .q8_0 || embedding.type == .q4_1 {
            guard embedding.shape == [c.vocabularySize, c.dModel] else {
                throw ModelFormatError.shapeMismatch(path: path, tensor: "token_embd.weight", expected: [c.vocabularySize, c.dModel], found: embedding.shape)
            }
            tokenEmbedding = WeightMatrix(compactOnly: try file.withRawBytes("token_embd.weight") {
                QuantizedMatrix(type: embedding.type, cols: c.dModel, raw: $0)
            })
            file.releasePages("token_embd.weight")
        } else {
            tokenEmbedding = WeightMatrix(rows: c.vocabularySize, cols: c.dModel, values: try file.floats("token_embd.weight", shape: [c.vocabularySize, c.dModel]))
        }
        // Each tensor's mapped pages are released once it is converted (peak memory: mapped file + Float32 copy).
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> [Float] {
            defer { file.releasePages(name) }
            return try file.floats(name, shape: [rows, cols])
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] { try file.floats(name, shape: [n]) }
        var blocks: [LlamaBlockWeights] = []
        for l in 0..<c.layerCount {
            let p = "blk.\(l)."
            var b = LlamaBlockWeights(
                attentionNorm: try vector(p + "attn_norm.weight", c.dModel),
                qkv: WeightMatrix(stacking: [try matrix(p + "attn_q.weight", c.queryDim, c.dModel),
                                             try matrix(p + "attn_k.weight", c.kvDim, c.dModel),
                                             try matrix(p + "attn_v.weight", c.kvDim, c.dModel)],
                                  rows: [c.queryDim, c.kvDim, c.kvDim], cols: c.dModel),
                output: WeightMatrix(rows: c.dModel, cols: c.queryDim, values: try matrix(p + "attn_output.weight", c.dModel, c.queryDim)),
                ffnNorm: try vector(p + "ffn_norm.weight", c.dModel),
                gateUp: WeightMatrix(stacking: [try matrix(p + "ffn_gate.weight", c.ffnDim, c.dModel),
                                                try matrix(p + "ffn_up.weight", c.ffnDim, c.dModel)],
                                     rows: [c.ffnDim, c.ffnDim], cols: c.dModel),
                down: WeightMatrix(rows: c.dModel, cols: c.ffnDim, values: try matrix(p + "ffn_down.weight", c.dModel, c.ffnDim)))
            b.postAttentionNorm = try vector(p + "post_attention_norm.weight", c.dModel)
            b.postFFNNorm = try vector(p + "post_ffw_norm.weight", c.dModel)
            b.queryNorm = try vector(p + "attn_q_norm.weight", c.headDim)
            b.keyNorm = try vector(p + "attn_k_norm.weight", c.headDim)
            blocks.append(b)
        }
        let weights = LlamaWeights(tokenEmbedding: tokenEmbedding, blocks: blocks,
                                   outputNorm: try vector("output_norm.weight", c.dModel), output: nil)
        _ = compactWeights   // block matrices of K-quant / Q5_0 files use the packed Float32 GEMM only
        return (config, tokenizer, weights)
    }

    /// Reads a Hugging Face Gemma 3 checkpoint directory (config.json `model_type` "gemma3_text",
    /// model.safetensors, tokenizer.json); norm weights w become 1 + w. BOS/EOS come from config.json
    /// (`bos_token_id`, `eos_token_id`), and prompts start with BOS unless tokenizer_config.json says
    /// `add_bos_token: false`.
    static func loadGemma3Safetensors(directory: String, configData: Data) throws -> (LlamaConfiguration, BPETokenizer, LlamaWeights) {
        let configPath = directory + "/config.json"
        let hf: Gemma3TextConfig
        do { hf = try JSONDecoder().decode(Gemma3TextConfig.self, from: configData) } catch let DecodingError.keyNotFound(key, _) {
            throw LanguageModelError.invalidConfiguration(path: configPath, reason: "missing key '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw LanguageModelError.invalidConfiguration(path: configPath, reason: "key '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type or is null")
        } catch {
            throw LanguageModelError.invalidConfiguration(path: configPath, reason: "\(error)")
        }
        let config = try hf.configuration(path: configPath)
        guard let bos = hf.bosTokenId, let eos = hf.eosTokenId?.first else {
            throw LanguageModelError.invalidConfiguration(path: configPath, reason: "missing key 'bos_token_id' or 'eos_token_id'")
        }
        var addsBOS = true
        if let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json"),
           let tc = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let a = tc["add_bos_token"] as? Bool {
            addsBOS = a
        }
        let tokenizerPath = directory + "/tokenizer.json"
        // Resolve the ids' token strings from the vocabulary, then build the SentencePiece tokenizer.
        let probe = try TokenizerVocabulary(path: tokenizerPath)
        let tokenizer = try BPETokenizer(tokenizerJSON: tokenizerPath, eosToken: try probe.token(eos, key: "eos_token_id", config: configPath),
                                         bosToken: try probe.token(bos, key: "bos_token_id", config: configPath), addsBOS: addsBOS)
        guard tokenizer.isSentencePiece else {
            throw LanguageModelError.invalidConfiguration(path: tokenizerPath, reason: "Gemma 3 needs a byte_fallback (SentencePiece) BPE tokenizer")
        }
        guard tokenizer.vocabularySize == config.vocabularySize else {
            throw LanguageModelError.invalidConfiguration(path: configPath, reason: "vocab_size \(config.vocabularySize) but tokenizer.json has \(tokenizer.vocabularySize) tokens")
        }
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        let c = config
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> [Float] { try file.floats(name, shape: [rows, cols]) }
        func norm(_ name: String, _ n: Int) throws -> [Float] { try file.floats(name, shape: [n]).map { 1 + $0 } }
        var blocks: [LlamaBlockWeights] = []
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            var b = LlamaBlockWeights(
                attentionNorm: try norm(p + "input_layernorm.weight", c.dModel),
                qkv: WeightMatrix(stacking: [try matrix(p + "self_attn.q_proj.weight", c.queryDim, c.dModel),
                                             try matrix(p + "self_attn.k_proj.weight", c.kvDim, c.dModel),
                                             try matrix(p + "self_attn.v_proj.weight", c.kvDim, c.dModel)],
                                  rows: [c.queryDim, c.kvDim, c.kvDim], cols: c.dModel),
                output: WeightMatrix(rows: c.dModel, cols: c.queryDim, values: try matrix(p + "self_attn.o_proj.weight", c.dModel, c.queryDim)),
                ffnNorm: try norm(p + "pre_feedforward_layernorm.weight", c.dModel),
                gateUp: WeightMatrix(stacking: [try matrix(p + "mlp.gate_proj.weight", c.ffnDim, c.dModel),
                                                try matrix(p + "mlp.up_proj.weight", c.ffnDim, c.dModel)],
                                     rows: [c.ffnDim, c.ffnDim], cols: c.dModel),
                down: WeightMatrix(rows: c.dModel, cols: c.ffnDim, values: try matrix(p + "mlp.down_proj.weight", c.dModel, c.ffnDim)))
            b.postAttentionNorm = try norm(p + "post_attention_layernorm.weight", c.dModel)
            b.postFFNNorm = try norm(p + "post_feedforward_layernorm.weight", c.dModel)
            b.queryNorm = try norm(p + "self_attn.q_norm.weight", c.headDim)
            b.keyNorm = try norm(p + "self_attn.k_norm.weight", c.headDim)
            blocks.append(b)
        }
        let weights = LlamaWeights(
            tokenEmbedding: WeightMatrix(rows: c.vocabularySize, cols: c.dModel, values: try matrix("model.embed_tokens.weight", c.vocabularySize, c.dModel)),
            blocks: blocks, outputNorm: try norm("model.norm.weight", c.dModel), output: nil)
        return (config, tokenizer, weights)
    }
}

/// The id → token map of a tokenizer.json (model.vocab and added_tokens), to name BOS/EOS given by id.
struct TokenizerVocabulary {
    let tokens: [Int: String]
    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path),
              let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LanguageModelError.cannotLoad(path: path, reason: "missing or not a JSON object")
        }
        var t: [Int: String] = [:]
        for (k, v) in (root["model"] as? [String: Any])?["vocab"] as? [String: Any] ?? [:] { if let i = (v as? NSNumber)?.intValue { t[i] = k } }
        for e in root["added_tokens"] as? [[String: Any]] ?? [] {
            if let i = (e["id"] as? NSNumber)?.intValue, let s = e["content"] as? String { t[i] = s }
        }
        tokens = t
    }
    func token(_ id: Int, key: String, config: String) throws -> String {
        guard let s = tokens[id] else { throw LanguageModelError.invalidConfiguration(path: config, reason: "\(key) \(id) is not in tokenizer.json") }
        return s
    }
}
