import Randomness
import Testing
import Foundation
import TestSupport
import Tensor
import ModelFormats
import Tokenization
@testable import LanguageModel

/// A tiny random llama (d 32, 2 blocks, 4 query / 2 key-value heads of 8, SwiGLU 64) with a byte-level
/// tokenizer, written as GGUF and as a Hugging Face safetensors directory.
struct TinyLlama {
    static let d = 32, layers = 2, heads = 4, kvHeads = 2, headDim = 8, ffn = 64
    var tokens: [String]
    var merges = ["Ġ t", "h e", "Ġt he"]
    var tensors: [(gguf: String, hf: String, shape: [Int], values: [Float])] = []
    var vocab: Int { tokens.count }

    init(seed: UInt64 = 3) {
        tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + ByteLevel.byteToCharacter.map { String($0) } + ["Ġt", "he", "Ġthe"]
        var rng = SplitMix64(seed: seed)
        func random(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian()) * scale } }
        let d = Self.d, qd = Self.heads * Self.headDim, kv = Self.kvHeads * Self.headDim
        tensors.append(("token_embd.weight", "model.embed_tokens.weight", [vocab, d], random(vocab * d, scale: 1)))
        for l in 0..<Self.layers {
            let g = "blk.\(l).", h = "model.layers.\(l)."
            tensors.append((g + "attn_norm.weight", h + "input_layernorm.weight", [d], random(d, scale: 0.1).map { $0 + 1 }))
            tensors.append((g + "attn_q.weight", h + "self_attn.q_proj.weight", [qd, d], random(qd * d, scale: 0.3)))
            tensors.append((g + "attn_k.weight", h + "self_attn.k_proj.weight", [kv, d], random(kv * d, scale: 0.3)))
            tensors.append((g + "attn_v.weight", h + "self_attn.v_proj.weight", [kv, d], random(kv * d, scale: 0.3)))
            tensors.append((g + "attn_output.weight", h + "self_attn.o_proj.weight", [d, qd], random(d * qd, scale: 0.2)))
            tensors.append((g + "ffn_norm.weight", h + "post_attention_layernorm.weight", [d], random(d, scale: 0.1).map { $0 + 1 }))
            tensors.append((g + "ffn_gate.weight", h + "mlp.gate_proj.weight", [Self.ffn, d], random(Self.ffn * d, scale: 0.2)))
            tensors.append((g + "ffn_up.weight", h + "mlp.up_proj.weight", [Self.ffn, d], random(Self.ffn * d, scale: 0.2)))
            tensors.append((g + "ffn_down.weight", h + "mlp.down_proj.weight", [d, Self.ffn], random(Self.ffn * d, scale: 0.2)))
        }
        tensors.append(("output_norm.weight", "model.norm.weight", [d], random(d, scale: 0.1).map { $0 + 1 }))
    }

    /// With `quantized`, matrices are stored as Q4_1 and the token embedding as Q8_0 (like the SmolLM2 file).
    func gguf(architecture: String = "llama", omit: String? = nil, quantized: Bool = false) -> Data {
        var w = GGUFWriter()
        w.set("general.architecture", .string(architecture))
        w.set("llama.embedding_length", .uint32(UInt32(Self.d)))
        w.set("llama.block_count", .uint32(UInt32(Self.layers)))
        w.set("llama.attention.head_count", .uint32(UInt32(Self.heads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(Self.kvHeads)))
        w.set("llama.feed_forward_length", .uint32(UInt32(Self.ffn)))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("llama.rope.freq_base", .float32(10000))
        w.set("llama.context_length", .uint32(64))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("smollm"))
        w.set("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        w.set("tokenizer.ggml.merges", .array(merges.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(tokens.indices.map { .int32($0 < 3 ? 3 : 1) }))
        w.set("tokenizer.ggml.eos_token_id", .uint32(2))
        w.tensors = tensors.filter { $0.gguf != omit }.map { t in
            let type: GGMLType = !quantized || t.shape.count == 1 ? .f32 : t.gguf == "token_embd.weight" ? .q8_0 : .q4_1
            return GGUFWriter.Tensor(name: t.gguf, shape: t.shape, values: t.values, type: type)
        }
        return w.encode()
    }

    /// Writes the GGUF file into a fresh temporary directory and returns its path.
    func writeGGUF(_ data: Data? = nil) throws -> String {
        let dir = TestScratch.root.appendingPathComponent("semprog-tiny-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("tiny.gguf").path
        try (data ?? gguf()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The same model as a Hugging Face directory (Q/K rows in HF's half-split RoPE order).
    func writeSafetensorsDirectory() throws -> String {
        let dir = TestScratch.root.appendingPathComponent("semprog-tiny-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func unpermute(_ w: [Float], heads: Int) -> [Float] {
            var out = w
            let half = Self.headDim / 2, cols = Self.d
            for h in 0..<heads { for j in 0..<2 { for i in 0..<half {
                let hf = (h * Self.headDim + j * half + i) * cols, gg = (h * Self.headDim + 2 * i + j) * cols
                for c in 0..<cols { out[hf + c] = w[gg + c] }
            } } }
            return out
        }
        let st = tensors.map { t -> SafetensorsWriter.Tensor in
            var v = t.values
            if t.gguf.hasSuffix("attn_q.weight") { v = unpermute(v, heads: Self.heads) }
            if t.gguf.hasSuffix("attn_k.weight") { v = unpermute(v, heads: Self.kvHeads) }
            return .init(name: t.hf, shape: t.shape, values: v)
        }
        try SafetensorsWriter.write(st, to: dir.appendingPathComponent("model.safetensors").path)
        let config: [String: Any] = ["model_type": "llama", "hidden_size": Self.d, "num_hidden_layers": Self.layers,
                                     "num_attention_heads": Self.heads, "num_key_value_heads": Self.kvHeads,
                                     "intermediate_size": Self.ffn, "vocab_size": vocab, "rms_norm_eps": 1e-5,
                                     "rope_theta": 10000, "max_position_embeddings": 64, "tie_word_embeddings": true]
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        var vocabulary: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where i >= 3 { vocabulary[t] = i }
        let tokenizer: [String: Any] = [
            "added_tokens": (0..<3).map { ["id": $0, "content": tokens[$0], "special": true] as [String: Any] },
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true]]],
            "model": ["type": "BPE", "vocab": vocabulary, "merges": merges],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: dir.appendingPathComponent("tokenizer.json"))
        return dir.path
    }

    static func load() throws -> LlamaModel { try LlamaModel.load(path: TinyLlama().writeGGUF(), threads: 1) }
}

/// Records every row the hook sees.
final class RecordingHook: ResidualHook {
    let layer: Int
    var rows: [(sequence: Int, position: Int, isPrompt: Bool, values: [Float])] = []
    init(layer: Int) { self.layer = layer }
    func apply(_ r: ResidualRows) {
        for i in 0..<r.count { rows.append((r.sequence[i], r.position[i], r.isPrompt[i], Array(r.row(i)))) }
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

@Suite struct TinyLlamaTests {
    @Test func configurationFromGGUF() throws {
        let m = try TinyLlama.load()
        let c = m.configuration
        #expect(c.dModel == 32 && c.layerCount == 2 && c.headCount == 4 && c.kvHeadCount == 2 && c.headDim == 8)
        #expect(c.ffnDim == 64 && c.vocabularySize == TinyLlama().vocab && c.contextLength == 64 && c.tiedEmbeddings)
        #expect(m.tokenizer.encode(" the") == [m.tokenizer.id(for: "Ġthe")!])
        let json = try JSONEncoder().encode(c)
        #expect(String(decoding: json, as: UTF8.self).contains("\"d_model\":32"))
        #expect(try JSONDecoder().decode(LlamaConfiguration.self, from: json) == c)
    }

    @Test func safetensorsDirectoryGivesSameLogitsAsGGUF() throws {
        let tiny = TinyLlama()
        let a = try LlamaModel.load(path: tiny.writeGGUF(), threads: 1)
        let b = try LlamaModel.load(path: tiny.writeSafetensorsDirectory(), threads: 1)
        let tokens = a.tokenizer.encode("<|im_start|>the cat 42 sat")
        #expect(b.tokenizer.encode("<|im_start|>the cat 42 sat") == tokens)
        #expect(maxDifference(try a.nextTokenLogits(tokens: tokens), try b.nextTokenLogits(tokens: tokens)) < 1e-4)
    }

    @Test func compactQuantizedPathMatchesFloat32Path() throws {
        let tiny = TinyLlama()
        let m = try LlamaModel.load(path: tiny.writeGGUF(tiny.gguf(quantized: true)), threads: 2, compactWeights: true)
        #expect(m.weights.blocks[0].qkv.compact?.type == .q4_1)
        #expect(m.weights.tokenEmbedding.compact?.type == .q8_0)
        try expectCompactMatchesDense(m, tolerance: 1e-5, floor: 1, sumsInAnotherOrder: false,
                                      generating: [5, 9, 200, 31, 32, 33], maxTokens: 6)
    }

    @Test func kvCacheDecodingMatchesFullRecomputation() throws {
        let m = try TinyLlama.load()
        let prompt = m.tokenizer.encode("the quick brown")
        let out = try m.generate(prompts: [prompt], parameters: GenerateParameters(maxTokens: 8, stopAtEOS: false), seeds: [0])[0]
        #expect(out.generatedIDs.count == 8)
        #expect(out.finishReason == .maxTokens)
        for k in 0..<8 {
            let logits = try m.nextTokenLogits(tokens: prompt + out.generatedIDs.prefix(k))
            let argmax = logits.indices.max { logits[$0] < logits[$1] }!
            #expect(argmax == out.generatedIDs[k], "step \(k)")
        }
    }

    @Test func batchedSamplingMatchesSingleWithSameSeeds() throws {
        let m = try TinyLlama.load()
        let prompts = ["the", "a much longer prompt here", "x"].map { m.tokenizer.encode($0) }
        let p = GenerateParameters(maxTokens: 10, temperature: 0.9, topK: 50, topP: 0.95, repetitionPenalty: 1.1, frequencyPenalty: 0.1, stopAtEOS: false)
        let batch = try m.generate(prompts: prompts, parameters: p, seeds: [7, 8, 9])
        for i in prompts.indices {
            let single = try m.generate(prompts: [prompts[i]], parameters: p, seeds: [UInt64(7 + i)])[0]
            #expect(single.generatedIDs == batch[i].generatedIDs)
            #expect(single.promptIDs == prompts[i])
        }
        let other = try m.generate(prompts: [prompts[1]], parameters: p, seeds: [12345])[0]
        let again = try m.generate(prompts: [prompts[1]], parameters: p, seeds: [12345])[0]
        #expect(other == again)
    }

    @Test func residualStreamMatchesHookAndChunking() throws {
        let m = try TinyLlama.load()
        let texts = ["the cat sat on the mat", "hello", "<|im_start|>user\nhi<|im_end|>"].map { m.tokenizer.encode($0) }
        let single = try texts.map { try m.residualStream(tokens: $0, layer: 0) }
        m.maxPrefillRows = 5
        let batched = try m.residualStreams(batch: texts, layer: 0)
        m.maxPrefillRows = 512
        for (a, b) in zip(single, batched) {
            #expect(a.rows == b.rows && a.cols == 32)
            #expect(maxDifference(a.values, b.values) < 1e-5)
        }
        let hook = RecordingHook(layer: 0)
        _ = try m.generate(prompts: [texts[0]], parameters: GenerateParameters(maxTokens: 3, stopAtEOS: false), seeds: [0], hook: hook)
        let promptRows = hook.rows.filter(\.isPrompt)
        #expect(promptRows.count == texts[0].count)
        #expect(hook.rows.filter { !$0.isPrompt }.count == 2)  // the 3rd token is sampled without another step
        for r in promptRows { #expect(maxDifference(r.values, single[0].row(r.position)) < 1e-5) }
        #expect(throws: LanguageModelError.layerOutOfRange(argument: "layer", layer: 2, layerCount: 2)) {
            _ = try m.residualStream(tokens: texts[0], layer: 2)
        }
    }

    /// Repeated prompts share the prefill of blocks 0…hook layer: with the hook after block 0 or after the last
    /// block, the hook sees the same rows and values and the generated ids are the same as without sharing.
    /// Bit for bit when whole prompts fit a prefill chunk; when chunks split prompts differently in the two runs,
    /// attention runs over other query blocks, so values agree to Float32 rounding (1e-5).
    @Test(arguments: [0, 1]) func sharedPromptPrefillMatchesUnshared(layer: Int) throws {
        let m = try TinyLlama.load()
        let a = m.tokenizer.encode("the quick brown fox"), b = m.tokenizer.encode("a cat")
        let prompts = [a, b, a, a, b]
        var vectorRNG = SplitMix64(seed: 7)
        let v = (0..<32).map { _ in Float(vectorRNG.nextGaussian()) }
        func run(shared: Bool, chunk: Int) throws -> ([[Int]], [(Int, Int, Bool, [Float])]) {
            m.sharesPromptPrefill = shared
            m.maxPrefillRows = chunk
            let recorder = RecordingHook(layer: layer)
            let hook = CompositeHook([SteeringVectorHook(layer: layer, vector: v, coefficient: 3), recorder])
            let out = try m.generate(prompts: prompts, parameters: GenerateParameters(maxTokens: 5, stopAtEOS: false),
                                     seeds: [0, 0, 0, 0, 0], hook: hook)
            return (out.map(\.generatedIDs), recorder.rows.map { ($0.sequence, $0.position, $0.isPrompt, $0.values) })
        }
        for chunk in [512, 3] {
            let (sharedIDs, sharedRows) = try run(shared: true, chunk: chunk)
            let (plainIDs, plainRows) = try run(shared: false, chunk: chunk)
            #expect(sharedIDs == plainIDs, "chunk \(chunk)")
            #expect(sharedRows.count == plainRows.count)
            for (x, y) in zip(sharedRows, plainRows) {
                #expect(x.0 == y.0 && x.1 == y.1 && x.2 == y.2)
                #expect(maxDifference(x.3, y.3) <= (chunk == 512 ? 0 : 1e-5), "chunk \(chunk)")
            }
        }
    }

    @Test func steeringHookAddsScaledVector() throws {
        let m = try TinyLlama.load()
        let tokens = m.tokenizer.encode("the cat")
        let v = (0..<32).map { Float($0 % 5) - 2 }
        let base = try m.nextTokenLogits(tokens: tokens)
        #expect(maxDifference(try m.nextTokenLogits(tokens: tokens, hook: SteeringVectorHook(layer: 1, vector: v, coefficient: 0)), base) == 0)
        #expect(maxDifference(try m.nextTokenLogits(tokens: tokens, hook: SteeringVectorHook(layer: 0, vector: v, coefficient: 4)), base) > 1e-3)
        // After the last block the edit is x + c·v before the final norm: check against the unembedding by hand.
        var x = try m.residualStream(tokens: tokens, layer: 1).row(tokens.count - 1)
        for j in 0..<32 { x[j] += 3 * v[j] }
        let ss = x.reduce(0) { $0 + Double($1) * Double($1) } / 32
        let normed = x.indices.map { x[$0] / Float((ss + 1e-5).squareRoot()) * m.weights.outputNorm[$0] }
        let expected = m.unembedDirection(normed)
        let steered = try m.nextTokenLogits(tokens: tokens, hook: SteeringVectorHook(layer: 1, vector: v, coefficient: 3))
        #expect(maxDifference(expected, steered) < 1e-3)
        // Prompt-only steering leaves generated positions alone.
        let rec = RecordingHook(layer: 1)
        let hooks = CompositeHook([SteeringVectorHook(layer: 1, vector: v, coefficient: 1, positions: .prompt), rec])
        _ = try m.generate(prompts: [tokens], parameters: GenerateParameters(maxTokens: 3, stopAtEOS: false), seeds: [0], hook: hooks)
        #expect(rec.rows.count == tokens.count + 2)
        let unsteered = try m.residualStream(tokens: tokens, layer: 1)
        for r in rec.rows where r.isPrompt {
            let expectedRow = zip(unsteered.row(r.position), v).map { $0 + $1 }
            #expect(maxDifference(r.values, expectedRow) < 1e-4)
        }
    }

    @Test func unembedDirectionIsEmbeddingTimesVector() throws {
        let m = try TinyLlama.load()
        let v = (0..<32).map { Float($0) / 32 }
        let u = m.unembedDirection(v)
        #expect(u.count == m.configuration.vocabularySize)
        for id in [0, 5, 100, 260] {
            let e = m.tokenEmbedding(id)
            #expect(abs(u[id] - zip(e, v).reduce(0) { $0 + $1.0 * $1.1 }) < 1e-4)
        }
    }

    @Test func perplexityIsExpMeanNLL() throws {
        let m = try TinyLlama.load()
        let context = m.tokenizer.encode("the cat"), continuation = m.tokenizer.encode(" sat down")
        var nll = 0.0
        for k in 0..<continuation.count {
            let logits = try m.nextTokenLogits(tokens: context + continuation.prefix(k)).map(Double.init)
            let mx = logits.max()!
            let lse = mx + log(logits.reduce(0) { $0 + exp($1 - mx) })
            nll += lse - logits[continuation[k]]
        }
        let expected = exp(nll / Double(continuation.count))
        #expect(abs(try m.perplexity(context: context, continuation: continuation) - expected) / expected < 1e-4)
        #expect(throws: LanguageModelError.self) { _ = try m.perplexity(context: [], continuation: continuation) }
    }

    @Test func samplerBehaviour() {
        var logits: [Float] = [1, 3, 2, 3]
        var greedy = TokenSampler(parameters: GenerateParameters(), seed: 0, prompt: [])
        #expect(logits.withUnsafeMutableBufferPointer { greedy.sample($0) } == 1)  // lowest id on ties
        var penalised = TokenSampler(parameters: GenerateParameters(repetitionPenalty: 2), seed: 0, prompt: [1])
        logits = [1, 3, 2, 2.5]
        #expect(logits.withUnsafeMutableBufferPointer { penalised.sample($0) } == 3)
        var topK1 = TokenSampler(parameters: GenerateParameters(temperature: 5, topK: 1), seed: 9, prompt: [])
        for _ in 0..<20 {
            var l: [Float] = [0, 1, 0.5]
            #expect(l.withUnsafeMutableBufferPointer { topK1.sample($0) } == 1)
        }
        // Temperature sampling follows softmax(logits / T): frequencies within 3σ of 1000·p.
        var s = TokenSampler(parameters: GenerateParameters(temperature: 1), seed: 11, prompt: [])
        var counts = [0, 0]
        for _ in 0..<1000 { var l: [Float] = [0, log(3)]; counts[l.withUnsafeMutableBufferPointer { s.sample($0) }] += 1 }
        #expect(abs(Double(counts[1]) - 750) < 3 * (1000 * 0.75 * 0.25).squareRoot())
    }

    @Test func badInputsThrowClearErrors() throws {
        let tiny = TinyLlama()
        let m = try TinyLlama.load()
        let wrongArch = try tiny.writeGGUF(tiny.gguf(architecture: "bert"))
        #expect(throws: LanguageModelError.wrongArchitecture(path: wrongArch, found: "bert")) { _ = try LlamaModel.load(path: wrongArch) }
        let missing = try tiny.writeGGUF(tiny.gguf(omit: "blk.1.ffn_up.weight"))
        #expect(throws: ModelFormatError.missingTensor(path: missing, tensor: "blk.1.ffn_up.weight")) { _ = try LlamaModel.load(path: missing) }
        #expect(throws: LanguageModelError.cannotLoad(path: "/nonexistent.gguf", reason: "no such file or directory")) {
            _ = try LlamaModel.load(path: "/nonexistent.gguf")
        }
        #expect(throws: LanguageModelError.tokenOutOfRange(argument: "prompts[0]", id: 9999, vocabularySize: tiny.vocab)) {
            _ = try m.generate(prompts: [[9999]], parameters: GenerateParameters(), seeds: [0])
        }
        #expect(throws: LanguageModelError.layerOutOfRange(argument: "hook layer", layer: 5, layerCount: 2)) {
            _ = try m.generate(prompts: [[5]], parameters: GenerateParameters(), seeds: [0], hook: SteeringVectorHook(layer: 5, vector: [], coefficient: 1))
        }
        #expect(throws: LanguageModelError.self) { _ = try m.generate(prompts: [[5]], parameters: GenerateParameters(), seeds: []) }
        #expect(throws: LanguageModelError.contextTooLong(tokens: 70, contextLength: 64)) {
            _ = try m.generate(prompts: [[5, 6]], parameters: GenerateParameters(maxTokens: 68), seeds: [0])
        }
        #expect(throws: LanguageModelError.invalidArgument(argument: "top_p", reason: "must be in (0, 1], got 0.0")) {
            _ = try m.generate(prompts: [[5]], parameters: GenerateParameters(topP: 0), seeds: [0])
        }
        let dir = TestScratch.root
        let short = dir.appendingPathComponent("semprog-short-\(UUID().uuidString).json").path
        try Data("[1, 2, 3]".utf8).write(to: URL(fileURLWithPath: short))
        #expect(throws: LanguageModelError.vectorLength(source: short, found: 3, expected: 32)) { _ = try SteeringVectorHook.loadVector(path: short, expectedLength: 32) }
        let garbage = dir.appendingPathComponent("semprog-garbage-\(UUID().uuidString).json").path
        try Data("[1, \"x\"]".utf8).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: LanguageModelError.steeringVector(path: garbage, reason: "not a JSON array of numbers")) { _ = try SteeringVectorHook.loadVector(path: garbage, expectedLength: 32) }
        let st = dir.appendingPathComponent("semprog-vec-\(UUID().uuidString).safetensors").path
        try SafetensorsWriter.write([.init(name: "v", shape: [32], values: (0..<32).map(Float.init))], to: st)
        #expect(try SteeringVectorHook.loadVector(path: st, expectedLength: 32) == (0..<32).map(Float.init))
    }

    @Test func fuzzedModelFilesNeverCrash() throws {
        let original = TinyLlama().gguf()
        var rng = SplitMix64(seed: 99)
        let dir = TestScratch.root.appendingPathComponent("semprog-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var failures = 0
        for i in 0..<60 {
            var d = original
            if i % 3 == 0 { d = d.prefix(Int(rng.next() % UInt64(d.count))) } else {
                for _ in 0..<4 { let k = Int(rng.next() % UInt64(min(d.count, 8000))); d[k] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            let path = dir.appendingPathComponent("f\(i).gguf").path
            try d.write(to: URL(fileURLWithPath: path))
            do { _ = try LlamaModel.load(path: path, threads: 1) } catch {
                #expect(error.localizedDescription.contains(path))
                failures += 1
            }
        }
        #expect(failures > 20)
    }
}

/// Runs several hooks at the same layer in order.
final class CompositeHook: ResidualHook {
    let hooks: [ResidualHook]
    var layer: Int { hooks[0].layer }
    init(_ hooks: [ResidualHook]) { self.hooks = hooks }
    func apply(_ rows: ResidualRows) { for h in hooks { h.apply(rows) } }
}
