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
extension LlamaConfiguration {
    /// Sets the Gemma 3 departures from llama (see the type comment above; config.json keys in `GemmaTextConfig`).
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
    /// Gemma 3 size except 27B, where it is d_model / heads). A token embedding of a type the compact kernels know
    /// (270M: Q8_0) is kept in block form only (262,144 × 640 × 4 bytes = 671 MB in Float32 for 270M).
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
        if QuantizedMatrix.supportedTypes.contains(embedding.type) {
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
            var b = try LlamaModel.ggufBlock(prefix: p, c, matrix: matrix, vector: vector)
            b.postAttentionNorm = try vector(p + "post_attention_norm.weight", c.dModel)
            b.postFFNNorm = try vector(p + "post_ffw_norm.weight", c.dModel)
            b.queryNorm = try vector(p + "attn_q_norm.weight", c.headDim)
            b.keyNorm = try vector(p + "attn_k_norm.weight", c.headDim)
            blocks.append(b)
        }
        let weights = LlamaWeights(tokenEmbedding: tokenEmbedding, blocks: blocks,
                                   outputNorm: try vector("output_norm.weight", c.dModel), output: nil)
        // Compact copies for decode steps where every tensor of a stacked matrix has a type the block kernels know
        // (270M Q4_K_M: attn_q/k in Q5_0 with attn_v in Q5_0 or Q8_0, ffn_gate + ffn_up in Q5_0, attn_output in Q4_K,
        // ffn_down in Q4_K or Q6_K); the packed Float32 copy serves steps of more rows (prefill, large batches).
        func compact(_ names: [String], into w: WeightMatrix) throws {
            guard compactWeights else { return }
            let infos = try names.map { try file.info($0) }
            guard infos.allSatisfy({ QuantizedMatrix.supportedTypes.contains($0.type) }) else { return }
            w.compact = QuantizedMatrix(cols: w.cols, parts: try zip(names, infos).map { name, info in (info.type, try file.withRawBytes(name) { Array($0) }) })
            names.forEach(file.releasePages)
        }
        for (l, b) in weights.blocks.enumerated() {
            let p = "blk.\(l)."
            try compact([p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"], into: b.qkv)
            try compact([p + "attn_output.weight"], into: b.output)
            try compact([p + "ffn_gate.weight", p + "ffn_up.weight"], into: b.gateUp)
            try compact([p + "ffn_down.weight"], into: b.down)
        }
        return (config, tokenizer, weights)
    }

}
