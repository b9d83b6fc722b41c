import Testing
import Foundation
import TestSupport
@testable import LanguageModel
import ModelFormats
import Tokenization

/// Reference outputs of Hugging Face transformers (float32, eager attention) for Gemma 3: the tiny random checkpoint
/// in Tests/Fixtures/reference/tiny-models/gemma3 and the real Gemma 3 270M (gemma3-270m.json, transformers on the
/// GGUF dequantized to float32). Tolerances as the references' READMEs state them.
enum Gemma3Fixtures {
    static var tinyDirectory: String { Fixtures.referenceDirectory.appendingPathComponent("tiny-models/gemma3").path }
    static var realPath: String { Fixtures.root.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path }

    struct Tiny: Decodable {
        struct Prompt: Decodable {
            var prompt: String
            var prompt_ids: [Int]
            var generated_ids: [Int]
            var margins: [Double]
            var last_logits: [Float]
            var resid_post_last: [[Float]]
        }
        var add_bos: Bool
        var prompts: [Prompt]
    }

    struct Real: Decodable {
        struct Tokenized: Decodable { var text: String; var ids: [Int] }
        struct Greedy: Decodable {
            var prompt: String
            var prompt_ids: [Int]
            var generated_ids: [Int]
            var margins: [Double]
            var top20_ids: [Int]
            var top20_logits: [Float]
            var resid_post_last: [[Float]]
        }
        var tokenize: [Tokenized]
        var greedy: [Greedy]
    }

    static func tiny() throws -> Tiny {
        try JSONDecoder().decode(Tiny.self, from: Data(contentsOf: URL(fileURLWithPath: tinyDirectory + "/reference.json")))
    }
    static func real() throws -> Real {
        try JSONDecoder().decode(Real.self, from: Data(contentsOf: Fixtures.referenceDirectory.appendingPathComponent("gemma3-270m.json")))
    }

    nonisolated(unsafe) static var cachedReal: LlamaModel?
    static let lock = NSLock()
    static func realModel() throws -> LlamaModel {
        lock.lock(); defer { lock.unlock() }
        if let cachedReal { return cachedReal }
        let m = try LlamaModel.load(path: realPath)
        cachedReal = m
        return m
    }
}

/// The residual as Hugging Face reports it in hidden_states[L+1]: for the last block, transformers appends the
/// state after the final norm (TransformerLens' blocks.{last}.hook_resid_post is before it, as semprog's is).
func huggingFaceHiddenState(_ model: LlamaModel, _ residual: [Float], layer: Int) -> [Float] {
    guard layer == model.configuration.layerCount - 1 else { return residual }
    var out = [Float](repeating: 0, count: residual.count)
    residual.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { y in model.rmsNorm(x.baseAddress!, rows: 1, weight: model.weights.outputNorm, into: y.baseAddress!) }
    }
    return out
}

/// max |a − b| / max |b|.
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    let scale = b.map(abs).max() ?? 1
    return zip(a, b).map { abs($0 - $1) }.max()! / max(scale, 1e-30)
}

/// Whether `ids` equal `expected` up to the first step whose reference margin is below `margin` (from there on
/// a Float32 engine may legitimately pick the runner-up).
func equalUntilNearTie(_ ids: [Int], _ expected: [Int], margins: [Double], margin: Double) -> Bool {
    for (i, e) in expected.enumerated() {
        if margins[i] < margin { return true }
        guard i < ids.count, ids[i] == e else { return false }
    }
    return ids.count == expected.count
}

@Suite(.serialized) struct Gemma3TinyTests {
    @Test func configurationFollowsConfigJSON() throws {
        let model = try LlamaModel.load(path: Gemma3Fixtures.tinyDirectory)
        let c = model.configuration
        #expect(c.family == .gemma3 && c.layerCount == 4 && c.dModel == 64 && c.headDim == 16 && c.kvHeadCount == 2)
        #expect(c.slidingLayers == [true, true, true, false] && c.slidingWindow == 8)
        #expect(c.ropeBase == 1_000_000 && c.ropeLocalBase == 10_000)
        #expect(c.attentionScale == 0.25 && c.embeddingScale == Float(64).squareRoot())
        #expect(model.tokenizer.addsBOS && model.tokenizer.bosID == 2 && model.tokenizer.eosID == 1)
    }

    @Test func promptIDsLogitsAndResidualsMatchTransformers() throws {
        let model = try LlamaModel.load(path: Gemma3Fixtures.tinyDirectory)
        let reference = try Gemma3Fixtures.tiny()
        #expect(reference.add_bos == model.tokenizer.addsBOS)
        for p in reference.prompts {
            let ids = model.tokenizer.promptIDs(p.prompt)
            #expect(ids == p.prompt_ids, "prompt ids of \(p.prompt.debugDescription)")
            let logits = try model.nextTokenLogits(tokens: p.prompt_ids)
            #expect(relativeError(logits, p.last_logits) < 1e-3, "last logits of \(p.prompt.debugDescription)")
            #expect(p.resid_post_last.count == model.configuration.layerCount)
            for (l, expected) in p.resid_post_last.enumerated() {
                let r = try model.residualStream(tokens: p.prompt_ids, layer: l)
                let last = huggingFaceHiddenState(model, Array(r.values[((p.prompt_ids.count - 1) * r.cols)...]), layer: l)
                #expect(relativeError(last, expected) < 1e-3, "resid_post of layer \(l), \(p.prompt.debugDescription)")
            }
        }
    }

    /// 24 greedy tokens (prompt + generation runs past the sliding window of 8), exact up to a margin < 1e-3.
    @Test func greedyIDsMatchTransformers() throws {
        let model = try LlamaModel.load(path: Gemma3Fixtures.tinyDirectory)
        let reference = try Gemma3Fixtures.tiny()
        var parameters = GenerateParameters(maxTokens: 24)
        parameters.stopAtEOS = false
        let prompts = reference.prompts.map(\.prompt_ids)
        let out = try model.generate(prompts: prompts, parameters: parameters, seeds: prompts.map { _ in 0 }, hook: nil)
        for (p, o) in zip(reference.prompts, out) {
            #expect(equalUntilNearTie(o.generatedIDs, p.generated_ids, margins: p.margins, margin: 1e-3),
                    "generated \(o.generatedIDs) vs \(p.generated_ids)")
        }
        #expect(reference.prompts.contains { $0.prompt_ids.count + 24 > 8 })
    }

    /// Steering at blocks.1.hook_resid_post: a zero coefficient changes nothing, a large one changes the
    /// continuation; a batch whose sequences share a prompt (prefill of blocks 0…1 run once, the rest resumed from
    /// the captured residual, sliding window included) gives the same bits as the unshared prefill.
    @Test func steeringAndSharedPrefill() throws {
        let model = try LlamaModel.load(path: Gemma3Fixtures.tinyDirectory)
        let reference = try Gemma3Fixtures.tiny()
        let prompt = reference.prompts[1].prompt_ids
        var parameters = GenerateParameters(maxTokens: 12)
        parameters.stopAtEOS = false
        let d = model.configuration.dModel
        let direction = (0..<d).map { Float(($0 * 7919) % 13) - 6 }
        let plain = try model.generate(prompts: [prompt], parameters: parameters, seeds: [0], hook: nil)[0].generatedIDs
        let zero = try model.generate(prompts: [prompt], parameters: parameters, seeds: [0],
                                      hook: SteeringVectorHook(layer: 1, vector: direction, coefficient: 0))[0].generatedIDs
        #expect(zero == plain)
        let hook = SteeringVectorHook(layer: 1, vector: direction, coefficient: 40)
        let steered = try model.generate(prompts: [prompt, prompt], parameters: parameters, seeds: [0, 0], hook: hook)
        #expect(steered[0].generatedIDs != plain)
        model.sharesPromptPrefill = false
        defer { model.sharesPromptPrefill = true }
        let unshared = try model.generate(prompts: [prompt, prompt], parameters: parameters, seeds: [0, 0], hook: hook)
        #expect(steered.map(\.generatedIDs) == unshared.map(\.generatedIDs))
        #expect(steered[0].generatedIDs == steered[1].generatedIDs)
    }

    @Test func contradictoryConfigurationNamesTheKey() throws {
        let dir = TestScratch.root.appendingPathComponent("gemma3-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: Gemma3Fixtures.tinyDirectory + "/" + f, toPath: dir.appendingPathComponent(f).path)
        }
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Gemma3Fixtures.tinyDirectory + "/config.json"))) as! [String: Any]
        func attempt(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var json = original
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
            do { _ = try LlamaModel.load(path: dir.path); return "<loaded>" } catch { return error.localizedDescription }
        }
        #expect(try attempt { $0["rope_local_base_freq"] = nil }.contains("rope_local_base_freq"))
        #expect(try attempt { $0["layer_types"] = ["sliding_attention"] }.contains("layer_types"))
        #expect(try attempt { $0["sliding_window_pattern"] = 2 }.contains("sliding_window_pattern"))
        #expect(try attempt { $0["final_logit_softcapping"] = 30.0 }.contains("softcapping"))
        #expect(try attempt { $0["model_type"] = "gemma7" }.contains("gemma7"))
    }
}

@Suite(.serialized) struct Gemma3RealTests {
    /// The 270M file mixes Q8_0 (embedding, attn_v), Q5_0, Q4_K and Q6_K: its configuration follows llama.cpp's
    /// reading of the metadata, and the embedding stays in block form (no 671 MB Float32 copy).
    @Test func configurationAndCompactEmbedding() throws {
        let model = try Gemma3Fixtures.realModel()
        let c = model.configuration
        #expect(c.family == .gemma3 && c.layerCount == 18 && c.dModel == 640 && c.headCount == 4 && c.kvHeadCount == 1)
        #expect(c.headDim == 256 && c.ffnDim == 2048 && c.vocabularySize == 262_144 && c.slidingWindow == 512)
        #expect(c.slidingLayers == (0..<18).map { ($0 + 1) % 6 != 0 })
        #expect(model.weights.tokenEmbedding.compact != nil && model.weights.tokenEmbedding.packed == nil)
        #expect(model.weights.tokenEmbedding.rowMajor == nil)
        #expect(model.tokenizer.addsBOS && model.tokenizer.bosID == 2 && model.tokenizer.eosID == 1)
    }

    @Test func tokenizerIDsMatchTransformers() throws {
        let model = try Gemma3Fixtures.realModel()
        for t in try Gemma3Fixtures.real().tokenize {
            #expect(model.tokenizer.promptIDs(t.text) == t.ids, "ids of \(t.text.debugDescription)")
        }
        #expect(model.tokenizer.encode("<start_of_turn>user\n").first == model.tokenizer.id(for: "<start_of_turn>"))
        #expect(model.tokenizer.encode("<start_of_turn>").count == 1)
    }

    /// Greedy ids exact up to a step with stored margin < 0.05; top-20 logits of the last prompt position within
    /// 2e-3 of the largest |logit|; every layer's resid_post there within 1e-3 of the vector's largest |value|.
    @Test func greedyLogitsAndResidualsMatchTransformers() throws {
        let model = try Gemma3Fixtures.realModel()
        let reference = try Gemma3Fixtures.real()
        let prompts = reference.greedy.map(\.prompt_ids)
        var parameters = GenerateParameters(maxTokens: 24)
        parameters.stopAtEOS = false
        let out = try model.generate(prompts: prompts, parameters: parameters, seeds: prompts.map { _ in 0 }, hook: nil)
        for (g, o) in zip(reference.greedy, out) {
            #expect(model.tokenizer.promptIDs(g.prompt) == g.prompt_ids)
            #expect(equalUntilNearTie(o.generatedIDs, g.generated_ids, margins: g.margins, margin: 0.05),
                    "\(g.prompt.debugDescription): generated \(o.generatedIDs) vs \(g.generated_ids)")
            let logits = try model.nextTokenLogits(tokens: g.prompt_ids)
            let scale = g.top20_logits.map(abs).max()!
            let err = zip(g.top20_ids, g.top20_logits).map { abs(logits[$0] - $1) }.max()! / scale
            #expect(err < 2e-3, "\(g.prompt.debugDescription): top-20 logits off by \(err) relative")
            #expect(logits.indices.max { logits[$0] < logits[$1] } == g.top20_ids[0] || g.margins[0] < 0.05)
            for (l, expected) in g.resid_post_last.enumerated() {
                let r = try model.residualStream(tokens: g.prompt_ids, layer: l)
                let last = huggingFaceHiddenState(model, Array(r.values[((g.prompt_ids.count - 1) * r.cols)...]), layer: l)
                #expect(relativeError(last, expected) < 1e-3, "resid_post of layer \(l), \(g.prompt.debugDescription)")
            }
        }
    }
}

/// Bad Gemma 3 GGUF files: each error names the key or the tensor and its type, before any weight is converted.
@Suite struct Gemma3BadInputTests {
    static func write(_ edit: (inout GGUFWriter) -> Void) throws -> String {
        var w = GGUFWriter()
        w.set("general.architecture", .string("gemma3"))
        let tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "a", "b", "ab", "\u{2581}"]
        w.set("tokenizer.ggml.model", .string("llama"))
        w.set("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        w.set("tokenizer.ggml.scores", .array(tokens.indices.map { .float32(-Float($0)) }))
        w.set("tokenizer.ggml.token_type", .array(tokens.indices.map { .int32($0 < 4 ? 3 : 1) }))
        w.set("tokenizer.ggml.eos_token_id", .uint32(1))
        w.set("tokenizer.ggml.bos_token_id", .uint32(2))
        w.set("tokenizer.ggml.unknown_token_id", .uint32(3))
        w.set("tokenizer.ggml.add_space_prefix", .bool(false))
        for (k, v) in [("embedding_length", 32), ("block_count", 1), ("feed_forward_length", 32), ("attention.head_count", 1),
                       ("attention.head_count_kv", 1), ("attention.key_length", 32), ("attention.sliding_window", 4), ("context_length", 64)] {
            w.set("gemma3." + k, .uint32(UInt32(v)))
        }
        w.set("gemma3.attention.layer_norm_rms_epsilon", .float32(1e-6))
        w.set("gemma3.rope.freq_base", .float32(1e6))
        w.tensors = [.init(name: "token_embd.weight", shape: [8, 32], values: [Float](repeating: 0.5, count: 256)),
                     .init(name: "blk.0.attn_q.weight", dimensions: [32, 32], type: .q8_1, bytes: [UInt8](repeating: 0, count: 32 * 36))]
        edit(&w)
        let path = TestScratch.root.appendingPathComponent("gemma3-bad-\(UUID().uuidString).gguf").path
        try w.encode().write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func unsupportedTensorTypeNamesTensorAndType() throws {
        let path = try Self.write { _ in }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ModelFormatError.unsupportedType(path: path, tensor: "blk.0.attn_q.weight", type: "Q8_1")) {
            _ = try LlamaModel.load(path: path)
        }
    }

    /// (key_length has a default in llama.cpp, d_model / heads; the RMSNorm ε has none.)
    @Test func missingMetadataNamesTheKey() throws {
        let path = try Self.write { $0.metadata.removeAll { $0.0 == "gemma3.attention.layer_norm_rms_epsilon" } }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: LanguageModelError.missingMetadata(path: path, key: "gemma3.attention.layer_norm_rms_epsilon")) {
            _ = try LlamaModel.load(path: path)
        }
    }

    @Test func unknownTokenizerModelIsNamed() throws {
        let path = try Self.write { $0.set("tokenizer.ggml.model", .string("rwkv")) }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do { _ = try LlamaModel.load(path: path); Issue.record("loaded") } catch {
            #expect(error.localizedDescription.contains("tokenizer.ggml.model 'rwkv'"))
        }
    }

    /// The SentencePiece merge order on a toy vocabulary: by score, highest first; "▁" for spaces; byte fallback
    /// absent here, so an unknown character becomes <unk> (GGUF `tokenizer.ggml.unknown_token_id`).
    @Test func sentencePieceMergesByScore() throws {
        let path = try Self.write { _ in }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let t = try BPETokenizer(gguf: GGUFFile(path: path))
        #expect(t.addsBOS && t.promptIDs("ab") == [2, 6])
        #expect(t.encode("ab a") == [6, 7, 4])
        #expect(t.encode("x") == [3])
        #expect(t.decode([6, 7, 4]) == "ab a")
    }
}
