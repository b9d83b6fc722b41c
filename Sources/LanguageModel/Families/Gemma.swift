import Foundation
import ModelFormats
import Tokenization

/// The Gemma lineage from Hugging Face checkpoints (Gemma Team 2024, 2024b, 2025; transformers'
/// `modeling_gemma.py`, `modeling_gemma2.py`, `modeling_gemma3.py`). Common to all: x₀ = √d_model · E[token],
/// RMSNorm x / √(mean(x²) + ε) · (1 + w), GeGLU with the tanh GELU, RoPE on pairs (i, i + headDim/2), tied
/// embeddings. Gemma 2 adds norms after attention and feed-forward, scores q·k / √query_pre_attn_scalar soft-capped
/// as 50·tanh(s/50) and logits as 30·tanh(z/30), and a sliding window on alternate layers. Gemma 3: see Gemma3.swift.
struct GemmaTextConfig: Codable {
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
    var ropeLocalBaseFreq: Float?
    var ropeScaling: RopeScaling?
    var slidingWindow: Int?
    var layerTypes: [String]?
    var slidingWindowPattern: Int?
    var queryPreAttnScalar: Float?
    var hiddenAct: String?
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
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", hiddenAct = "hidden_act"
    }

    /// The decoder configuration of `model_type` gemma, gemma2 or gemma3_text, or an error naming the key at fault.
    func configuration(path: String) throws -> LlamaConfiguration {
        func bad(_ reason: String) -> LanguageModelError { .invalidConfiguration(path: path, reason: reason) }
        func required<T>(_ v: T?, _ key: String) throws -> T {
            guard let v else { throw bad("missing key '\(key)' (needed by \(modelType))") }
            return v
        }
        if let a = hiddenActivation ?? hiddenAct, a != "gelu_pytorch_tanh", !(modelType == "gemma" && a == "gelu") {
            throw bad("hidden_activation '\(a)' (Gemma uses gelu_pytorch_tanh)")
        }
        if tieWordEmbeddings == false { throw bad("tie_word_embeddings is false (Gemma ties them)") }
        var c = LlamaConfiguration(dModel: hiddenSize, layerCount: numHiddenLayers, headCount: numAttentionHeads,
                                   kvHeadCount: numKeyValueHeads, headDim: headDim, ffnDim: intermediateSize,
                                   vocabularySize: vocabSize, rmsNormEps: rmsNormEps, ropeBase: ropeTheta,
                                   contextLength: maxPositionEmbeddings, tiedEmbeddings: true)
        switch modelType {
        case "gemma":
            if attnLogitSoftcapping != nil || finalLogitSoftcapping != nil { throw bad("soft-capping keys are set, but Gemma (1) has none") }
            if ropeScaling != nil { throw bad("rope_scaling is set, but Gemma (1) has none") }
            c.applyGemma(family: .gemma)
        case "gemma2":
            let scalar = try required(queryPreAttnScalar, "query_pre_attn_scalar")
            guard scalar > 0 else { throw bad("query_pre_attn_scalar \(scalar)") }
            if let s = attnLogitSoftcapping, !(s > 0) { throw bad("attn_logit_softcapping \(s)") }
            if let s = finalLogitSoftcapping, !(s > 0) { throw bad("final_logit_softcapping \(s)") }
            if ropeScaling != nil { throw bad("rope_scaling is set, but Gemma 2 has none") }
            c.applyGemma2(attentionScale: 1 / scalar.squareRoot(), slidingWindow: try required(slidingWindow, "sliding_window"),
                          sliding: try slidingLayers(defaultPattern: 2, path: path),
                          attentionSoftcap: attnLogitSoftcapping, finalSoftcap: finalLogitSoftcapping)
        case "gemma3_text":
            if attnLogitSoftcapping != nil || finalLogitSoftcapping != nil {
                throw bad("attn_logit_softcapping / final_logit_softcapping are set, but Gemma 3 has no soft-capping")
            }
            let sliding = try slidingLayers(defaultPattern: nil, path: path)
            var factor: Float?
            if let s = ropeScaling {
                let kind = s.ropeType ?? s.type ?? "<missing>"
                guard kind == "linear" || kind == "default" else { throw bad("rope_scaling type '\(kind)' (Gemma 3 uses linear)") }
                if kind == "linear" {
                    guard let f = s.factor else { throw bad("rope_scaling without factor") }
                    factor = f
                }
            }
            let scalar = try required(queryPreAttnScalar, "query_pre_attn_scalar")
            guard scalar > 0 else { throw bad("query_pre_attn_scalar \(scalar)") }
            c.applyGemma3(attentionScale: 1 / scalar.squareRoot(), slidingWindow: try required(slidingWindow, "sliding_window"),
                          sliding: sliding, localBase: try required(ropeLocalBaseFreq, "rope_local_base_freq"),
                          ropeScalingFactor: factor)
        default:
            throw LanguageModelError.wrongArchitecture(path: path, found: modelType)
        }
        try c.validate(path: path)
        return c
    }

    /// Per layer, whether it is a sliding-window layer: `layer_types`, checked against `sliding_window_pattern`
    /// when both are given; else the pattern (layer i slides unless (i + 1) is a multiple of it), or
    /// `defaultPattern` (Gemma 2: 2, every even layer).
    func slidingLayers(defaultPattern: Int?, path: String) throws -> [Bool] {
        func bad(_ reason: String) -> LanguageModelError { .invalidConfiguration(path: path, reason: reason) }
        if let layerTypes {
            guard layerTypes.count == numHiddenLayers else { throw bad("layer_types has \(layerTypes.count) entries for num_hidden_layers \(numHiddenLayers)") }
            let sliding = try layerTypes.map {
                switch $0 {
                case "sliding_attention": return true
                case "full_attention": return false
                default: throw bad("layer_types entry '\($0)'")
                }
            }
            if let p = slidingWindowPattern, p > 0, sliding != (0..<numHiddenLayers).map({ ($0 + 1) % p != 0 }) {
                throw bad("layer_types contradicts sliding_window_pattern \(p)")
            }
            return sliding
        }
        guard let p = slidingWindowPattern ?? defaultPattern, p > 0 else { throw bad("neither layer_types nor sliding_window_pattern is given") }
        return (0..<numHiddenLayers).map { ($0 + 1) % p != 0 }
    }
}

extension LlamaConfiguration {
    /// Sets what every Gemma departs from llama by: x₀ = √d_model · E[token] (rounded to Float32, as transformers'
    /// normalizer and llama.cpp's sqrtf(n_embd)), GeGLU with the tanh GELU, RoPE on pairs (i, i + headDim/2). The
    /// (1 + w) of the norms is in the weights (GGUF stores 1 + w; the safetensors loader adds 1).
    mutating func applyGemma(family: ModelFamily) {
        self.family = family
        activation = .geluTanh
        ropeLayout = .halfSplit
        embeddingScale = Float(dModel).squareRoot()
    }

    /// Gemma 2: Gemma plus norms after attention and feed-forward, scores q·k · `attentionScale`
    /// (query_pre_attn_scalar^−½) soft-capped as cap·tanh(s/cap), logits likewise, and the sliding window on the
    /// layers `sliding` marks (every even one).
    mutating func applyGemma2(attentionScale: Float, slidingWindow: Int, sliding: [Bool], attentionSoftcap: Float?,
                              finalSoftcap: Float?) {
        applyGemma(family: .gemma2)
        self.attentionScale = attentionScale
        sandwichNorms = true
        self.slidingWindow = slidingWindow
        slidingLayers = sliding
        self.attentionSoftcap = attentionSoftcap
        self.finalSoftcap = finalSoftcap
    }
}

extension LlamaModel {
    /// Reads a Hugging Face Gemma, Gemma 2 or Gemma 3 checkpoint directory (config.json `model_type` "gemma",
    /// "gemma2", "gemma3_text"; model.safetensors, tokenizer.json); norm weights w become 1 + w. Gemma (1) has
    /// input_layernorm and post_attention_layernorm (before the feed-forward); Gemma 2/3 have input_layernorm,
    /// post_attention_layernorm (after attention), pre_feedforward_layernorm and post_feedforward_layernorm; Gemma 3
    /// adds self_attn.q_norm / k_norm. BOS/EOS come from config.json
    /// (`bos_token_id`, `eos_token_id`), and prompts start with BOS unless tokenizer_config.json says
    /// `add_bos_token: false`.
    static func loadGemmaSafetensors(directory: String, configData: Data) throws -> (LlamaConfiguration, BPETokenizer, LlamaWeights) {
        let configPath = directory + "/config.json"
        let hf: GemmaTextConfig
        do { hf = try JSONDecoder().decode(GemmaTextConfig.self, from: configData) } catch let DecodingError.keyNotFound(key, _) {
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
        tokenizer.chatTemplate = try ChatTemplate.fromCheckpoint(directory: directory)
        guard tokenizer.isSentencePiece else {
            throw LanguageModelError.invalidConfiguration(path: tokenizerPath, reason: "Gemma needs a byte_fallback (SentencePiece) BPE tokenizer")
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
                ffnNorm: try norm(p + (c.sandwichNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), c.dModel),
                gateUp: WeightMatrix(stacking: [try matrix(p + "mlp.gate_proj.weight", c.ffnDim, c.dModel),
                                                try matrix(p + "mlp.up_proj.weight", c.ffnDim, c.dModel)],
                                     rows: [c.ffnDim, c.ffnDim], cols: c.dModel),
                down: WeightMatrix(rows: c.dModel, cols: c.ffnDim, values: try matrix(p + "mlp.down_proj.weight", c.dModel, c.ffnDim)))
            if c.sandwichNorms {
                b.postAttentionNorm = try norm(p + "post_attention_layernorm.weight", c.dModel)
                b.postFFNNorm = try norm(p + "post_feedforward_layernorm.weight", c.dModel)
            }
            if c.queryKeyNorm {
                b.queryNorm = try norm(p + "self_attn.q_norm.weight", c.headDim)
                b.keyNorm = try norm(p + "self_attn.k_norm.weight", c.headDim)
            }
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
