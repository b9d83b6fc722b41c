import CKernels
import Foundation
import Tensor
import ModelFormats
import Tokenization

/// A Float32 weight matrix (rows outputs × cols inputs) owned outside Swift arrays: row-major until `pack()`
/// moves it into the panel layout of the AVX2/FMA GEMM kernel (`PackedMatrix`), which is then its only copy.
public final class WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// Row-major values; nil once `pack()` has replaced them by `packed`.
    private(set) var rowMajor: UnsafeMutablePointer<Float>?
    /// The panel copy used by `multiply` on AVX2/FMA machines.
    private(set) var packed: PackedMatrix?
    /// The same matrix in its compact GGUF block formats, when its tensors came in types the compact kernels know
    /// (`QuantizedMatrix.supportedTypes`: Q4_1, Q5_0, Q5_1, Q8_0, Q2_K … Q6_K; few-row steps).
    var compact: QuantizedMatrix?

    public init(rows: Int, cols: Int, values source: [Float]) {
        precondition(source.count == rows * cols, "WeightMatrix: \(source.count) values for \(rows)×\(cols)")
        self.rows = rows; self.cols = cols; tilesFromRows = Self.tiledMinimumRows
        let values = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * cols))
        source.withUnsafeBufferPointer { values.initialize(from: $0.baseAddress!, count: source.count) }
        rowMajor = values
    }

    /// Stacks matrices of equal width vertically.
    public convenience init(stacking parts: [[Float]], rows: [Int], cols: Int) {
        var all: [Float] = []
        all.reserveCapacity(rows.reduce(0, +) * cols)
        for p in parts { all.append(contentsOf: p) }
        self.init(rows: rows.reduce(0, +), cols: cols, values: all)
    }

    /// A matrix held only in its compact block form (no Float32 copy): rows are dequantized on demand, and products
    /// of at least `tilesFromRows` rows run through dequantized tiles (`QuantizedMatrix.multiplyTiles`, the bits of
    /// the packed Float32 matrix), fewer on the block kernel. Gemma's 262,144-row embedding (671 MB in Float32) uses
    /// `tiledMinimumRows`; GGUF layer matrices whose types unpack straight into panels use 1, so every product the
    /// packed Float32 GEMM computed before gets the same bits from the tiles (Gemma 3 270M: 382 MiB less).
    init(compactOnly q: QuantizedMatrix, tilesFromRows: Int = WeightMatrix.tiledMinimumRows) {
        rows = q.rows; cols = q.cols; rowMajor = nil; packed = nil; compact = q
        self.tilesFromRows = tilesFromRows
    }

    /// Products of at least this many rows of a compact-only matrix run through dequantized tiles.
    let tilesFromRows: Int

    deinit { rowMajor?.deallocate() }

    /// Moves the values into the packed panel layout (no-op on CPUs without AVX2/FMA, where OpenBLAS is used).
    func pack() {
        guard PackedMatrix.isAccelerated, packed == nil, let values = rowMajor else { return }
        packed = PackedMatrix(rowMajor: values, rows: rows, cols: cols)
        values.deallocate()
        rowMajor = nil
    }

    /// Copies row `r` (cols floats) to `out`.
    func copyRow(_ r: Int, to out: UnsafeMutablePointer<Float>) {
        if let rowMajor { out.update(from: rowMajor + r * cols, count: cols) } else if let packed { packed.copyRow(r, to: out) } else {
            compact!.dequantizeRow(r, into: out)
        }
    }

    /// out (+)= x · Wᵀ for `count` rows (x: count × cols, out: count × rows): the packed kernel, or OpenBLAS
    /// sgemv for one row (y = W·x streams W once; sgemm would first pack all of W) and sgemm otherwise.
    func multiply(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>,
                  accumulate: Bool = false, threads: Int) {
        if let packed {
            packed.multiply(x, count: count, into: out, accumulate: accumulate, threads: threads)
            return
        }
        guard let values = rowMajor else {
            let q = compact!
            if count >= tilesFromRows, PackedMatrix.isAccelerated {
                q.multiplyTiles(x, rows: count, into: out, accumulate: accumulate, threads: threads)
            } else {
                q.multiply(x, rows: count, into: out, accumulate: accumulate, threads: threads)
            }
            return
        }
        let beta: Float = accumulate ? 1 : 0
        if count == 1 {
            BLAS.gemv(m: rows, n: cols, a: values, lda: cols, x: x, beta: beta, y: out)
        } else {
            BLAS.gemm(transposeB: true, m: count, n: rows, k: cols, a: x, lda: cols, b: values, ldb: cols,
                      beta: beta, c: out, ldc: rows)
        }
    }
}

extension WeightMatrix {
    /// Steps of at least this many rows multiply a compact-only matrix by dequantized tiles (`multiplyTiles`);
    /// fewer rows use the block kernel, which reads each weight once per 8 rows instead of unpacking it (measured on
    /// Gemma 3 270M's Q8_0 embedding, 2-core Zen 3: block kernel faster at 16 rows, tiles at 24). A constant, so
    /// which rows get which bits never depends on the CPU.
    static let tiledMinimumRows = 20

}

/// The weights of one llama block, with Q/K/V and gate/up stacked so each needs one GEMM.
struct LlamaBlockWeights {
    /// RMSNorm weight before attention, dModel.
    var attentionNorm: [Float]
    /// [Wq; Wk; Wv], (queryDim + 2·kvDim) × dModel; Wq/Wk rows in the interleaved-pair RoPE order of GGUF.
    var qkv: WeightMatrix
    /// Wo, dModel × queryDim.
    var output: WeightMatrix
    var ffnNorm: [Float]
    /// [W_gate; W_up], 2·ffnDim × dModel.
    var gateUp: WeightMatrix
    /// W_down, dModel × ffnDim.
    var down: WeightMatrix
    /// Sandwich norms (Gemma 2/3): RMSNorm weights applied to the attention output and the feed-forward output.
    var postAttentionNorm: [Float]? = nil
    var postFFNNorm: [Float]? = nil
    /// Per-head RMSNorm weights of queries and keys (headDim each; Gemma 3, Qwen 3).
    var queryNorm: [Float]? = nil
    var keyNorm: [Float]? = nil
}

struct LlamaWeights {
    var tokenEmbedding: WeightMatrix
    var blocks: [LlamaBlockWeights]
    var outputNorm: [Float]
    /// Separate unembedding, or nil when tied to `tokenEmbedding`.
    var output: WeightMatrix?
}

extension LlamaModel {
    /// The tensors every GGUF decoder block has (llama.cpp's names `blk.L.attn_q.weight` …), q/k/v and gate/up
    /// stacked (`weight(names, rows, cols)` builds one matrix of the named tensors, stacked in order); a family adds
    /// its extra norms to the result.
    static func ggufBlock(prefix p: String, _ c: LlamaConfiguration,
                          weight: ([String], [Int], Int) throws -> WeightMatrix,
                          vector: (String, Int) throws -> [Float]) throws -> LlamaBlockWeights {
        LlamaBlockWeights(
            attentionNorm: try vector(p + "attn_norm.weight", c.dModel),
            qkv: try weight([p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"], [c.queryDim, c.kvDim, c.kvDim], c.dModel),
            output: try weight([p + "attn_output.weight"], [c.dModel], c.queryDim),
            ffnNorm: try vector(p + "ffn_norm.weight", c.dModel),
            gateUp: try weight([p + "ffn_gate.weight", p + "ffn_up.weight"], [c.ffnDim, c.ffnDim], c.dModel),
            down: try weight([p + "ffn_down.weight"], [c.dModel], c.ffnDim))
    }

    /// The types of a Gemma token embedding kept in block form only whatever `compactWeights` says
    /// (`WeightMatrix(compactOnly:)`, the block kernel below `tiledMinimumRows` rows per step, tiles from there). A
    /// Gemma embedding of another type follows the rule of every other matrix (`loadGGUF`): Q5_0, Q4_K and Q6_K in
    /// blocks only with tiles beyond `compactRowLimit` rows, Q5_K in Float32 with a block copy, which gives the bits
    /// they had before Q5_1, Q2_K and Q3_K got compact kernels.
    static let compactOnlyEmbeddingTypes: Set<GGMLType> = [.q8_0, .q4_1, .q5_1, .q2_K, .q3_K]

    /// Reads configuration, tokenizer and weights from a GGUF file of any architecture in
    /// `LlamaConfiguration.ggufArchitectures` (metadata as llama.cpp reads it: GGUFConfiguration.swift; tensor names
    /// as convert_hf_to_gguf.py writes them: `ggufTensorShapes`). Everything is checked before any weight is read:
    /// the configuration, the tokenizer, and every tensor's presence, shape and type, and that the file holds no
    /// tensor the forward would ignore. Gemma norms are stored as 1 + w already and the embedding is not pre-scaled.
    /// A Gemma token embedding in Q8_0, Q4_1, Q5_1, Q2_K or Q3_K is kept in block form only (Gemma 3 270M: 262,144 ×
    /// 640 × 4 bytes = 671 MB in Float32); each tensor's mapped pages are released once it is read.
    /// With `compactWeights` (on AVX2 machines):
    /// - a matrix whose tensors all have types that unpack straight into GEMM panels (Q8_0, Q5_0, Q4_1, Q4_K, Q6_K,
    ///   mixed within a stack) is kept in its blocks only, never as Float32: few-row steps use the block kernels,
    ///   larger ones dequantized tiles with the packed GEMM's bits (Gemma 3 270M Q4_K_M's layers: 60 MiB instead of
    ///   382 MiB of panels; SmolLM2's Q8_0 embedding: 30 MiB instead of 113 MiB);
    /// - other matrices whose tensors all have types the block kernels know (`QuantizedMatrix.supportedTypes`: also
    ///   Q5_1, Q2_K, Q3_K, Q5_K) keep a block copy for few-row steps beside their packed Float32 panels.
    static func loadGGUF(path: String, compactWeights: Bool = false) throws -> (LlamaConfiguration, BPETokenizer, LlamaWeights) {
        let file = try GGUFFile(path: path)
        let config = try LlamaConfiguration(gguf: file)
        let tokenizer = try BPETokenizer(gguf: file)
        guard config.vocabularySize == tokenizer.vocabularySize else {
            throw LanguageModelError.invalidConfiguration(path: path, reason: "token_embd.weight has \(config.vocabularySize) rows but the tokenizer \(tokenizer.vocabularySize) tokens")
        }
        let shapes = config.ggufTensorShapes()
        for name in file.tensorNames where shapes[name] == nil {
            throw ModelFormatError.unexpectedTensor(path: path, tensor: name)
        }
        for name in file.tensorNames where !file.tensors[name]!.type.isDequantizable {
            throw ModelFormatError.unsupportedType(path: path, tensor: name, type: file.tensors[name]!.type.name)
        }
        for name in shapes.keys.sorted() {
            let info = try file.info(name)
            guard info.shape == shapes[name] else {
                throw ModelFormatError.shapeMismatch(path: path, tensor: name, expected: shapes[name]!, found: info.shape)
            }
        }
        let c = config
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> [Float] {
            defer { file.releasePages(name) }
            return try file.floats(name, shape: [rows, cols])
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] { try file.floats(name, shape: [n]) }
        // A matrix whose tensors all unpack straight into GEMM panels (`QuantizedMatrix.unpacksToPanels`) is kept in
        // its blocks only and multiplied through dequantized tiles, with the bits of the packed Float32 copy it
        // replaces; others are read as Float32 (and packed by LlamaModel.init).
        func weight(_ names: [String], _ rows: [Int], _ cols: Int) throws -> WeightMatrix {
            let infos = try names.map { try file.info($0) }
            if compactWeights, PackedMatrix.isAccelerated, infos.allSatisfy({ QuantizedMatrix.unpacksToPanels($0.type) }) {
                let q = QuantizedMatrix(cols: cols, parts: try zip(names, infos).map { name, info in (info.type, try file.withRawBytes(name) { Array($0) }) })
                names.forEach(file.releasePages)
                return WeightMatrix(compactOnly: q, tilesFromRows: 1)
            }
            let parts = try zip(names, rows).map { try matrix($0, $1, cols) }
            return parts.count == 1 ? WeightMatrix(rows: rows[0], cols: cols, values: parts[0])
                : WeightMatrix(stacking: parts, rows: rows, cols: cols)
        }
        let embedding = try file.info("token_embd.weight")
        let tokenEmbedding: WeightMatrix
        if c.family.isGemma, Self.compactOnlyEmbeddingTypes.contains(embedding.type) {
            tokenEmbedding = WeightMatrix(compactOnly: try file.withRawBytes("token_embd.weight") {
                QuantizedMatrix(type: embedding.type, cols: c.dModel, raw: $0)
            })
            file.releasePages("token_embd.weight")
        } else {
            tokenEmbedding = try weight(["token_embd.weight"], [c.vocabularySize], c.dModel)
        }
        var blocks: [LlamaBlockWeights] = []
        for l in 0..<c.layerCount {
            let p = "blk.\(l)."
            var b = try ggufBlock(prefix: p, c, weight: weight, vector: vector)
            if c.sandwichNorms {
                b.postAttentionNorm = try vector(p + "post_attention_norm.weight", c.dModel)
                b.postFFNNorm = try vector(p + "post_ffw_norm.weight", c.dModel)
            }
            if c.queryKeyNorm {
                b.queryNorm = try vector(p + "attn_q_norm.weight", c.headDim)
                b.keyNorm = try vector(p + "attn_k_norm.weight", c.headDim)
            }
            blocks.append(b)
        }
        let weights = LlamaWeights(
            tokenEmbedding: tokenEmbedding, blocks: blocks, outputNorm: try vector("output_norm.weight", c.dModel),
            output: c.tiedEmbeddings ? nil : try weight(["output.weight"], [c.vocabularySize], c.dModel))
        // Keep compact copies of the matrices whose tensors all have types the compact kernels know
        // (`QuantizedMatrix.supportedTypes`; mixed within a stack) for decode steps.
        func compact(_ names: [String], into w: WeightMatrix) throws {
            guard compactWeights, w.compact == nil else { return }
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
        try compact(["token_embd.weight"], into: weights.tokenEmbedding)
        if let output = weights.output { try compact(["output.weight"], into: output) }
        return (config, tokenizer, weights)
    }

    /// Reads a Hugging Face llama (Llama 2/3, SmolLM2) or Qwen 3 checkpoint directory: `config.json`,
    /// `model.safetensors`, `tokenizer.json`. Llama Q/K rows are permuted from HF's half-split RoPE layout to the
    /// interleaved-pair layout used here (the `permute` of llama.cpp's convert_hf_to_gguf.py); Qwen 3 keeps the
    /// half-split layout (its per-head q_norm/k_norm weights are in that order). `rope_scaling` may be absent,
    /// "default" or "llama3". EOS/BOS are config.json's `eos_token_id` / `bos_token_id` when given (else SmolLM2's
    /// token names); prompts start with BOS when tokenizer_config.json says `add_bos_token`, or, without that key,
    /// when BOS is Llama 3's `<|begin_of_text|>`.
    static func loadSafetensors(directory: String) throws -> (LlamaConfiguration, BPETokenizer, LlamaWeights) {
        let configPath = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LanguageModelError.cannotLoad(path: configPath, reason: "missing or not a JSON object")
        }
        let arch = (json["model_type"] as? String) ?? "<missing model_type>"
        if ["gemma", "gemma2", "gemma3_text"].contains(arch) { return try loadGemmaSafetensors(directory: directory, configData: data) }
        guard arch == "llama" || arch == "qwen3" else { throw LanguageModelError.wrongArchitecture(path: configPath, found: arch) }
        let qwen3 = arch == "qwen3"
        func int(_ key: String) throws -> Int {
            guard let v = (json[key] as? NSNumber)?.intValue else {
                throw LanguageModelError.invalidConfiguration(path: configPath, reason: "missing integer '\(key)'")
            }
            return v
        }
        let d = try int("hidden_size"), heads = try int("num_attention_heads")
        var config = LlamaConfiguration(
            dModel: d, layerCount: try int("num_hidden_layers"), headCount: heads,
            kvHeadCount: (json["num_key_value_heads"] as? NSNumber)?.intValue ?? heads,
            headDim: (json["head_dim"] as? NSNumber)?.intValue ?? d / max(1, heads),
            ffnDim: try int("intermediate_size"), vocabularySize: try int("vocab_size"),
            rmsNormEps: (json["rms_norm_eps"] as? NSNumber)?.floatValue ?? 1e-5,
            ropeBase: (json["rope_theta"] as? NSNumber)?.floatValue ?? 10000,
            contextLength: (json["max_position_embeddings"] as? NSNumber)?.intValue ?? 2048,
            tiedEmbeddings: (json["tie_word_embeddings"] as? Bool) ?? true)
        if qwen3 {
            config.applyQwen3()
            if (json["use_sliding_window"] as? Bool) == true {
                throw LanguageModelError.invalidConfiguration(path: configPath, reason: "use_sliding_window is true (not supported for qwen3)")
            }
        }
        if let scaling = json["rope_scaling"], !(scaling is NSNull) {
            guard let dict = scaling as? [String: Any] else {
                throw LanguageModelError.invalidConfiguration(path: configPath, reason: "rope_scaling is not an object")
            }
            let kind = (dict["rope_type"] as? String) ?? (dict["type"] as? String) ?? "<missing rope_type>"
            switch kind {
            case "default": break
            case "llama3":
                do {
                    config.llama3RoPE = try JSONDecoder().decode(Llama3RoPEScaling.self, from: JSONSerialization.data(withJSONObject: dict))
                } catch let DecodingError.keyNotFound(key, _) {
                    throw LanguageModelError.invalidConfiguration(path: configPath, reason: "rope_scaling misses '\(key.stringValue)'")
                } catch {
                    throw LanguageModelError.invalidConfiguration(path: configPath, reason: "rope_scaling: \(error)")
                }
                guard let l3 = config.llama3RoPE, l3.factor >= 1, l3.highFreqFactor > l3.lowFreqFactor, l3.lowFreqFactor > 0,
                      l3.originalMaxPositionEmbeddings > 0 else {
                    throw LanguageModelError.invalidConfiguration(path: configPath, reason: "rope_scaling llama3 factors are inconsistent")
                }
            default:
                throw LanguageModelError.invalidConfiguration(path: configPath, reason: "rope_scaling type '\(kind)' (supported: default, llama3)")
            }
        }
        try config.validate(path: configPath)
        let tokenizerPath = directory + "/tokenizer.json"
        let tokenizer: BPETokenizer
        if let eosValue = json["eos_token_id"], !(eosValue is NSNull) {
            let vocabulary = try TokenizerVocabulary(path: tokenizerPath)
            guard let eosID = (eosValue as? NSNumber)?.intValue ?? (eosValue as? [NSNumber])?.first?.intValue else {
                throw LanguageModelError.invalidConfiguration(path: configPath, reason: "eos_token_id is neither a number nor a list")
            }
            let eos = try vocabulary.token(eosID, key: "eos_token_id", config: configPath)
            let bos = try (json["bos_token_id"] as? NSNumber).map { try vocabulary.token($0.intValue, key: "bos_token_id", config: configPath) }
            var addsBOS = bos == "<|begin_of_text|>"
            if let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json"),
               let tc = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let a = tc["add_bos_token"] as? Bool {
                addsBOS = a && bos != nil
            }
            tokenizer = try BPETokenizer(tokenizerJSON: tokenizerPath, eosToken: eos, bosToken: bos, addsBOS: addsBOS)
        } else {
            tokenizer = try BPETokenizer(tokenizerJSON: tokenizerPath)
        }
        tokenizer.chatTemplate = try ChatTemplate.fromCheckpoint(directory: directory)
        let file = try SafetensorsFile(path: directory + "/model.safetensors")
        let c = config
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> [Float] { try file.floats(name, shape: [rows, cols]) }
        func vector(_ name: String, _ n: Int) throws -> [Float] { try file.floats(name, shape: [n]) }
        var blocks: [LlamaBlockWeights] = []
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)."
            var q = try matrix(p + "self_attn.q_proj.weight", c.queryDim, c.dModel)
            var k = try matrix(p + "self_attn.k_proj.weight", c.kvDim, c.dModel)
            if c.ropeLayout == .interleaved {
                q = Self.interleaveRoPERows(q, heads: c.headCount, headDim: c.headDim, cols: c.dModel)
                k = Self.interleaveRoPERows(k, heads: c.kvHeadCount, headDim: c.headDim, cols: c.dModel)
            }
            var block = LlamaBlockWeights(
                attentionNorm: try vector(p + "input_layernorm.weight", c.dModel),
                qkv: WeightMatrix(stacking: [q, k, try matrix(p + "self_attn.v_proj.weight", c.kvDim, c.dModel)],
                                  rows: [c.queryDim, c.kvDim, c.kvDim], cols: c.dModel),
                output: WeightMatrix(rows: c.dModel, cols: c.queryDim, values: try matrix(p + "self_attn.o_proj.weight", c.dModel, c.queryDim)),
                ffnNorm: try vector(p + "post_attention_layernorm.weight", c.dModel),
                gateUp: WeightMatrix(stacking: [try matrix(p + "mlp.gate_proj.weight", c.ffnDim, c.dModel),
                                                try matrix(p + "mlp.up_proj.weight", c.ffnDim, c.dModel)],
                                     rows: [c.ffnDim, c.ffnDim], cols: c.dModel),
                down: WeightMatrix(rows: c.dModel, cols: c.ffnDim, values: try matrix(p + "mlp.down_proj.weight", c.dModel, c.ffnDim)))
            if c.queryKeyNorm {
                block.queryNorm = try vector(p + "self_attn.q_norm.weight", c.headDim)
                block.keyNorm = try vector(p + "self_attn.k_norm.weight", c.headDim)
            }
            blocks.append(block)
        }
        let output: WeightMatrix? = c.tiedEmbeddings || file.tensors["lm_head.weight"] == nil ? nil
            : WeightMatrix(rows: c.vocabularySize, cols: c.dModel, values: try matrix("lm_head.weight", c.vocabularySize, c.dModel))
        var cfg = config
        cfg.tiedEmbeddings = output == nil
        let weights = LlamaWeights(
            tokenEmbedding: WeightMatrix(rows: c.vocabularySize, cols: c.dModel, values: try matrix("model.embed_tokens.weight", c.vocabularySize, c.dModel)),
            blocks: blocks, outputNorm: try vector("model.norm.weight", c.dModel), output: output)
        return (cfg, tokenizer, weights)
    }

    /// HF → GGUF row order for Q/K: within each head, row j·(headDim/2) + i moves to 2i + j, so RoPE pairs
    /// (i, i + headDim/2) become adjacent pairs (2i, 2i+1).
    static func interleaveRoPERows(_ w: [Float], heads: Int, headDim: Int, cols: Int) -> [Float] {
        var out = w
        let half = headDim / 2
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<half {
                    let from = (h * headDim + j * half + i) * cols
                    let to = (h * headDim + 2 * i + j) * cols
                    for c in 0..<cols { out[to + c] = w[from + c] }
                }
            }
        }
        return out
    }
}

extension BPETokenizer {
    /// The tokenizer stored in GGUF metadata, read as llama.cpp's llama-vocab.cpp reads it: `tokenizer.ggml.model`
    /// "gpt2" (byte-level BPE: `.tokens`, `.merges`, `.pre` "smollm", "gpt2"/"default", "llama-bpe", "qwen2") or
    /// "llama" (SentencePiece BPE: `.tokens`, `.scores`); `.token_type` 3 (control) and 4 (user-defined) are special
    /// tokens, matched whole in text; `.eos_token_id`, `.bos_token_id`, and `.add_bos_token` (default: true for
    /// SentencePiece and llama-bpe, false otherwise).
    public convenience init(gguf file: GGUFFile) throws {
        let path = file.path
        let model = (try? file.string("tokenizer.ggml.model")) ?? "<missing>"
        guard model == "gpt2" || model == "llama" else {
            throw BPETokenizerError.unsupported(source: path, what: "tokenizer.ggml.model '\(model)' (supported: byte-level BPE 'gpt2', SentencePiece 'llama')")
        }
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.strings else {
            throw BPETokenizerError.missingField(source: path, field: "tokenizer.ggml.tokens")
        }
        if model == "llama" {
            // SentencePiece BPE with scores (Gemma): token types 3 (control) and 4 (user-defined) are special.
            guard let scoreValues = file.metadata["tokenizer.ggml.scores"]?.array else {
                throw BPETokenizerError.missingField(source: path, field: "tokenizer.ggml.scores")
            }
            var scores: [Float] = []
            scores.reserveCapacity(scoreValues.count)
            for v in scoreValues {
                guard let d = v.double else { throw BPETokenizerError.malformedField(source: path, field: "tokenizer.ggml.scores", reason: "non-numeric score") }
                scores.append(Float(d))
            }
            guard let types = file.metadata["tokenizer.ggml.token_type"]?.ints, types.count == tokens.count else {
                throw BPETokenizerError.malformedField(source: path, field: "tokenizer.ggml.token_type", reason: "missing or not one type per token")
            }
            guard let eos = file.metadata["tokenizer.ggml.eos_token_id"]?.int else {
                throw BPETokenizerError.missingField(source: path, field: "tokenizer.ggml.eos_token_id")
            }
            let specials = Set(types.indices.filter { types[$0] == 3 || types[$0] == 4 })
            try self.init(sentencePieceTokens: tokens, merges: nil, scores: scores, specialIDs: specials, eosID: eos,
                          bosID: file.metadata["tokenizer.ggml.bos_token_id"]?.int,
                          addsBOS: file.metadata["tokenizer.ggml.add_bos_token"]?.int.map { $0 != 0 } ?? true,
                          unknownID: file.metadata["tokenizer.ggml.unknown_token_id"]?.int,
                          addSpacePrefix: file.metadata["tokenizer.ggml.add_space_prefix"]?.int.map { $0 != 0 } ?? true,
                          source: path)
            installChatTemplate(file.metadata["tokenizer.chat_template"]?.string, origin: "tokenizer.chat_template in \(path)")
            return
        }
        guard let merges = file.metadata["tokenizer.ggml.merges"]?.strings else {
            throw BPETokenizerError.missingField(source: path, field: "tokenizer.ggml.merges")
        }
        var specials = Set<Int>()
        if let types = file.metadata["tokenizer.ggml.token_type"]?.ints {
            guard types.count == tokens.count else {
                throw BPETokenizerError.malformedField(source: path, field: "tokenizer.ggml.token_type", reason: "\(types.count) types for \(tokens.count) tokens")
            }
            for (i, t) in types.enumerated() where t == 3 || t == 4 { specials.insert(i) }
        }
        let preName = (try? file.string("tokenizer.ggml.pre")) ?? "default"
        let pre: BPEPreTokenizer
        switch preName {
        case "smollm": pre = .smollm
        case "gpt2", "default", "gpt-2": pre = .gpt2
        case "llama-bpe", "llama3", "llama-v3": pre = .llama3
        case "qwen2", "deepseek-r1-qwen": pre = .qwen2
        default: throw BPETokenizerError.unsupported(source: path, what: "tokenizer.ggml.pre '\(preName)' (supported: smollm, gpt2, llama-bpe, qwen2)")
        }
        guard let eos = file.metadata["tokenizer.ggml.eos_token_id"]?.int else {
            throw BPETokenizerError.missingField(source: path, field: "tokenizer.ggml.eos_token_id")
        }
        // As llama.cpp (llama-vocab.cpp): the Llama 3 pre-tokenizer adds BOS by default and takes a piece that is a
        // token whole before applying merges (ignore_merges); tokenizer.ggml.add_bos_token overrides the default.
        let llama3 = pre == .llama3
        let addsBOS = file.metadata["tokenizer.ggml.add_bos_token"]?.int.map { $0 != 0 } ?? llama3
        let bos = file.metadata["tokenizer.ggml.bos_token_id"]?.int
        if addsBOS, bos == nil { throw BPETokenizerError.missingField(source: path, field: "tokenizer.ggml.bos_token_id (the file adds BOS)") }
        try self.init(tokens: tokens, merges: merges, specialIDs: specials, eosID: eos, bosID: bos, addsBOS: addsBOS,
                      ignoresMerges: llama3, preTokenizer: pre, source: path)
        installChatTemplate(file.metadata["tokenizer.chat_template"]?.string, origin: "tokenizer.chat_template in \(path)")
    }
}
