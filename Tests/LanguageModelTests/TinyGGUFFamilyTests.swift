import Testing
import Foundation
import TestSupport
@testable import LanguageModel
import ModelFormats
import Tokenization

/// The tiny GGUF files of Tests/Fixtures/gguf-families/ (llama.cpp 0c1e570's convert_hf_to_gguf.py, F32) against
/// the transformers references of the tiny checkpoints they were converted from (Tests/Fixtures/reference/tiny-models/,
/// transformers float32 eager; for llama3 the corrected copy gguf-families/llama3-reference.json, whose greedy ids
/// continue the prompt with BOS): prompt ids exact, last-position logits and every layer's resid_post within 1e-3 of
/// the vector's largest |value| (Gemma 1: 3e-3, the binary16 KV cache, as in TinyFamilyTests), 24 greedy ids exact
/// up to a step with reference margin < 1e-3.
@Suite(.serialized) struct TinyGGUFFamilyTests {
    static let families = ["gemma", "gemma2", "gemma3", "qwen3", "llama3"]
    static var folder: URL { Fixtures.root.appendingPathComponent("Tests/Fixtures/gguf-families") }
    static func path(_ family: String) -> String { folder.appendingPathComponent("\(family).gguf").path }
    static func checkpoint(_ family: String) -> String { TinyFamilyTests.directory(family) }
    static func reference(_ family: String) throws -> Gemma3Fixtures.Tiny {
        let url = family == "llama3" ? folder.appendingPathComponent("llama3-reference.json")
            : URL(fileURLWithPath: checkpoint(family) + "/reference.json")
        return try JSONDecoder().decode(Gemma3Fixtures.Tiny.self, from: Data(contentsOf: url))
    }

    @Test(arguments: families) func matchesTransformers(family: String) throws {
        let model = try LlamaModel.load(path: Self.path(family))
        let reference = try Self.reference(family)
        #expect(model.tokenizer.addsBOS == reference.add_bos)
        let tolerance: Float = family == "gemma" ? 3e-3 : 1e-3
        for p in reference.prompts {
            #expect(model.tokenizer.promptIDs(p.prompt) == p.prompt_ids, "prompt ids of \(p.prompt.debugDescription)")
            let logits = try model.nextTokenLogits(tokens: p.prompt_ids)
            #expect(relativeError(logits, p.last_logits) < tolerance, "last logits of \(p.prompt.debugDescription)")
            #expect(p.resid_post_last.count == model.configuration.layerCount)
            for (l, expected) in p.resid_post_last.enumerated() {
                let r = try model.residualStream(tokens: p.prompt_ids, layer: l)
                let last = huggingFaceHiddenState(model, Array(r.values[((p.prompt_ids.count - 1) * r.cols)...]), layer: l)
                #expect(relativeError(last, expected) < tolerance, "resid_post of layer \(l), \(p.prompt.debugDescription)")
            }
        }
        var parameters = GenerateParameters(maxTokens: 24)
        parameters.stopAtEOS = false
        let prompts = reference.prompts.map(\.prompt_ids)
        let out = try model.generate(prompts: prompts, parameters: parameters, seeds: prompts.map { _ in 0 }, hook: nil)
        for (p, o) in zip(reference.prompts, out) {
            #expect(equalUntilNearTie(o.generatedIDs, p.generated_ids, margins: p.margins, margin: 1e-3),
                    "generated \(o.generatedIDs) vs \(p.generated_ids)")
            // The corrected llama3 reference's first id is the argmax of its own last logits.
            #expect(p.generated_ids[0] == p.last_logits.indices.max { p.last_logits[$0] < p.last_logits[$1] }!)
        }
    }

    /// The configuration read from GGUF metadata (llama.cpp's keys and defaults) is the one read from config.json,
    /// field by field; Llama 3's RoPE scaling arrives as the rope_freqs.weight factors, equal to the ones
    /// Llama3RoPEScaling gives (f / scaled f) within Float32 rounding.
    @Test(arguments: families) func configurationEqualsTheCheckpoints(family: String) throws {
        var gguf = try LlamaConfiguration(gguf: GGUFFile(path: Self.path(family)))
        let hf = try LlamaModel.load(path: Self.checkpoint(family), threads: 1).configuration
        if family == "llama3" {
            let factors = try #require(gguf.ropeFrequencyFactors)
            let scaling = try #require(hf.llama3RoPE)
            #expect(factors.count == hf.headDim / 2)
            for (i, factor) in factors.enumerated() {
                let f = pow(Double(hf.ropeBase), -2 * Double(i) / Double(hf.headDim))
                #expect(abs(Double(factor) - f / scaling.scale(f)) < 1e-5 * Double(factor), "factor \(i)")
            }
            #expect(factors.contains(1) && factors.contains(8) && factors.contains { $0 > 1 && $0 < 8 })
            gguf.ropeFrequencyFactors = nil
            gguf.llama3RoPE = hf.llama3RoPE
        }
        #expect(gguf == hf)
    }

    /// The hook sites on the GGUF files: `blocks.L.hook_resid_pre` and `blocks.L.hook_mlp_out` against the float64
    /// numpy forward of the same weights (Tests/Fixtures/hooks/tiny-hooks.json, see HookSiteTests), with the bounds
    /// HookSiteTests uses for the safetensors checkpoints.
    @Test(arguments: families) func hookSitesMatchTheFloat64Forward(family: String) throws {
        let model = try LlamaModel.load(path: Self.path(family))
        let tolerance: [String: Float] = family == "gemma" ? ["hook_resid_pre": 3e-3, "hook_mlp_out": 4e-3]
            : ["hook_resid_pre": 1e-3, "hook_mlp_out": 2e-3]
        let prompts = try #require(HookSiteTests.reference.models[family]).prompts
        #expect(!prompts.isEmpty)
        for p in prompts {
            for l in 0..<model.configuration.layerCount {
                for (name, expected) in [("hook_resid_pre", p.resid_pre_last[l]), ("hook_mlp_out", p.mlp_out_last[l])] {
                    let hook = try #require(ActivationRecorder(hookName: "blocks.\(l).\(name)"))
                    _ = try model.nextTokenLogits(tokens: p.prompt_ids, hook: hook)
                    let last = try #require(hook.rows.last)
                    #expect(relativeError(last, expected) < tolerance[name]!, "\(family) blocks.\(l).\(name)")
                }
            }
        }
    }

    /// Special tokens typed in the text map to their single ids, and decode back to their text.
    @Test func specialTokensAreSingleIDs() throws {
        let cases: [(String, String, Int)] = [("llama3", "<|end_of_text|>", 1), ("llama3", "<|begin_of_text|>", 0),
                                              ("qwen3", "<|im_end|>", 1), ("gemma", "<eos>", 1), ("gemma3", "<bos>", 2)]
        for (family, token, id) in cases {
            let t = try BPETokenizer(gguf: GGUFFile(path: Self.path(family)))
            let ids = t.encode("The quick\(token)brown fox")
            #expect(ids.filter { $0 == id }.count == 1, "\(family) \(token): \(ids)")
            #expect(t.decode(ids) == "The quick\(token)brown fox")
            #expect(!t.encode("The quick\(token)brown fox", parseSpecial: false).contains(id))
        }
    }

    /// BOS/EOS and add_bos_token come from the file: Llama 3 adds BOS (llama-bpe), Qwen 3 does not (qwen2), the
    /// Gemma files do (SentencePiece); llama-bpe takes a whole-word token before merges (llama.cpp ignore_merges).
    @Test func bosAndEOSFromTheFile() throws {
        let expected: [String: (bos: Int, eos: Int, adds: Bool)] = ["llama3": (0, 1, true), "qwen3": (0, 1, false),
                                                                    "gemma": (2, 1, true), "gemma2": (2, 1, true), "gemma3": (2, 1, true)]
        for (family, e) in expected {
            let t = try BPETokenizer(gguf: GGUFFile(path: Self.path(family)))
            #expect(t.bosID == e.bos && t.eosID == e.eos && t.addsBOS == e.adds, "\(family)")
            #expect(t.ignoresMerges == (family == "llama3"))
            #expect(t.isSentencePiece == family.hasPrefix("gemma"))
        }
    }
}

/// Bad GGUF files, made by rewriting a fixture: each error names the key, tensor or type at fault, and the load
/// stops before any weight is converted.
@Suite struct GGUFBadInputTests {
    /// The fixture `family` rewritten by `edit` into a temporary file.
    static func rewritten(_ family: String, _ edit: (inout GGUFWriter) throws -> Void) throws -> String {
        let file = try GGUFFile(path: TinyGGUFFamilyTests.path(family))
        var w = GGUFWriter()
        for key in file.metadataKeys { w.set(key, file.metadata[key]!) }
        for name in file.tensorNames {
            let info = try file.info(name)
            w.tensors.append(.init(name: name, dimensions: info.dimensions, type: info.type, bytes: try file.withRawBytes(name) { Array($0) }))
        }
        try edit(&w)
        let path = TestScratch.root.appendingPathComponent("bad-\(family)-\(UUID().uuidString).gguf").path
        try w.encode().write(to: URL(fileURLWithPath: path))
        return path
    }

    static func message(_ path: String) -> String {
        do { _ = try LlamaModel.load(path: path, threads: 1); return "<loaded>" } catch { return error.localizedDescription }
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        let path = try Self.rewritten("qwen3") { w in
            w.metadata = w.metadata.map { $0.0 == "general.architecture" ? ($0.0, .string("mamba2")) : $0 }
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: LanguageModelError.wrongArchitecture(path: path, found: "mamba2")) { _ = try LlamaModel.load(path: path) }
        #expect(Self.message(path).contains("'mamba2'") && Self.message(path).contains("gemma2"))
    }

    @Test func unsupportedTensorTypeNamesTensorAndType() throws {
        // blk.2.ffn_up.weight (128 × 64 = 256 blocks of 32) stored as Q8_1, a type semprog does not read.
        let path = try Self.rewritten("gemma2") { w in
            let i = try #require(w.tensors.firstIndex { $0.name == "blk.2.ffn_up.weight" })
            w.tensors[i] = .init(name: w.tensors[i].name, dimensions: w.tensors[i].dimensions, type: .q8_1,
                                 bytes: [UInt8](repeating: 0, count: 256 * GGMLType.q8_1.blockBytes))
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ModelFormatError.unsupportedType(path: path, tensor: "blk.2.ffn_up.weight", type: "Q8_1")) {
            _ = try LlamaModel.load(path: path)
        }
        #expect(Self.message(path).contains("blk.2.ffn_up.weight") && Self.message(path).contains("Q8_1"))
    }

    @Test(arguments: ["qwen3.attention.layer_norm_rms_epsilon", "gemma3.block_count", "llama.embedding_length",
                      "gemma.context_length", "gemma2.attention.head_count", "general.architecture"])
    func missingRequiredMetadataNamesTheKey(key: String) throws {
        let family = key.hasPrefix("general") ? "gemma" : key.hasPrefix("llama") ? "llama3" : String(key.prefix { $0 != "." })
        let path = try Self.rewritten(family) { $0.metadata.removeAll { $0.0 == key } }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: LanguageModelError.missingMetadata(path: path, key: key)) { _ = try LlamaModel.load(path: path) }
        #expect(Self.message(path).contains("'\(key)'"))
    }

    /// Absent optional keys take llama.cpp's defaults: head_count_kv = head_count, key_length = d / heads,
    /// rope.freq_base = 10,000; Gemma 2 soft-capping 50 / 30 and window 4096; a Gemma 3 without a window is global.
    @Test func absentOptionalKeysTakeLlamaCppDefaults() throws {
        let qwen = try Self.rewritten("qwen3") { w in
            w.metadata.removeAll { ["qwen3.attention.head_count_kv", "qwen3.attention.key_length", "qwen3.attention.value_length",
                                    "qwen3.rope.freq_base"].contains($0.0) }
        }
        defer { try? FileManager.default.removeItem(atPath: qwen) }
        let q = try LlamaConfiguration(gguf: GGUFFile(path: qwen))
        #expect(q.kvHeadCount == 4 && q.headDim == 16 && q.ropeBase == 10000)
        let gemma2 = try Self.rewritten("gemma2") { w in
            w.metadata.removeAll { ["gemma2.attn_logit_softcapping", "gemma2.final_logit_softcapping", "gemma2.attention.sliding_window"].contains($0.0) }
        }
        defer { try? FileManager.default.removeItem(atPath: gemma2) }
        let g2 = try LlamaConfiguration(gguf: GGUFFile(path: gemma2))
        #expect(g2.attentionSoftcap == 50 && g2.finalSoftcap == 30 && g2.slidingWindow == 4096)
        #expect(g2.slidingLayers == [true, false, true, false] && g2.attentionScale == 0.25)
        let gemma3 = try Self.rewritten("gemma3") { w in
            w.metadata.removeAll { ["gemma3.attention.sliding_window", "gemma3.attention.sliding_window_pattern"].contains($0.0) }
        }
        defer { try? FileManager.default.removeItem(atPath: gemma3) }
        let g3 = try LlamaConfiguration(gguf: GGUFFile(path: gemma3))
        #expect(g3.slidingWindow == nil && g3.slidingLayers == nil && g3.ropeLocalBase == nil && g3.ropeBase == 1e6)
        let pattern = try Self.rewritten("gemma3") { w in
            w.metadata.removeAll { $0.0 == "gemma3.attention.sliding_window_pattern" }
        }
        defer { try? FileManager.default.removeItem(atPath: pattern) }
        #expect(try LlamaConfiguration(gguf: GGUFFile(path: pattern)).slidingLayers == [true, true, true, true])
    }

    @Test(arguments: [("yarn", "'yarn' is not supported"), ("longrope", "'longrope' is not supported"), ("ntk", "'ntk'")])
    func unsupportedRoPEScalingIsNamed(kind: String, text: String) throws {
        let path = try Self.rewritten("llama3") { w in
            w.set("llama.rope.scaling.type", .string(kind))
            w.set("llama.rope.scaling.factor", .float32(4))
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let m = Self.message(path)
        #expect(m.contains("llama.rope.scaling.type") && m.contains(text), "\(m)")
    }

    @Test func linearRoPEScalingIsRead() throws {
        let path = try Self.rewritten("qwen3") { w in
            w.set("qwen3.rope.scaling.type", .string("linear"))
            w.set("qwen3.rope.scaling.factor", .float32(4))
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try LlamaConfiguration(gguf: GGUFFile(path: path)).ropeScalingFactor == 4)
        let none = try Self.rewritten("qwen3") { w in
            w.set("qwen3.rope.scaling.type", .string("none"))
            w.set("qwen3.rope.scaling.factor", .float32(4))
        }
        defer { try? FileManager.default.removeItem(atPath: none) }
        #expect(try LlamaConfiguration(gguf: GGUFFile(path: none)).ropeScalingFactor == nil)
    }

    @Test func wrongTypedOrContradictoryMetadataIsNamed() throws {
        let typed = try Self.rewritten("gemma2") { w in
            w.metadata = w.metadata.map { $0.0 == "gemma2.attention.head_count" ? ($0.0, .string("four")) : $0 }
        }
        defer { try? FileManager.default.removeItem(atPath: typed) }
        #expect(Self.message(typed).contains("'gemma2.attention.head_count' is not an integer"))
        let heads = try Self.rewritten("qwen3") { w in
            w.metadata = w.metadata.map { $0.0 == "qwen3.attention.head_count_kv" ? ($0.0, .uint32(3)) : $0 }
        }
        defer { try? FileManager.default.removeItem(atPath: heads) }
        let m = Self.message(heads)
        #expect(m.contains("qwen3.attention.head_count") && m.contains("qwen3.attention.head_count_kv"), "\(m)")
        let vocab = try Self.rewritten("llama3") { w in
            w.metadata = w.metadata.map { $0.0 == "llama.vocab_size" ? ($0.0, .uint32(500)) : $0 }
        }
        defer { try? FileManager.default.removeItem(atPath: vocab) }
        #expect(Self.message(vocab).contains("'llama.vocab_size' 500"))
        let rot = try Self.rewritten("llama3") { w in
            w.metadata = w.metadata.map { $0.0 == "llama.rope.dimension_count" ? ($0.0, .uint32(8)) : $0 }
        }
        defer { try? FileManager.default.removeItem(atPath: rot) }
        #expect(Self.message(rot).contains("'llama.rope.dimension_count' 8"))
    }

    @Test func missingOrExtraTensorsAreNamed() throws {
        let missing = try Self.rewritten("gemma3") { $0.tensors.removeAll { $0.name == "blk.3.post_ffw_norm.weight" } }
        defer { try? FileManager.default.removeItem(atPath: missing) }
        #expect(throws: ModelFormatError.missingTensor(path: missing, tensor: "blk.3.post_ffw_norm.weight")) { _ = try LlamaModel.load(path: missing) }
        let extra = try Self.rewritten("gemma") { w in
            w.tensors.append(.init(name: "output.weight", shape: [384, 64], values: [Float](repeating: 0, count: 384 * 64)))
        }
        defer { try? FileManager.default.removeItem(atPath: extra) }
        #expect(throws: ModelFormatError.unexpectedTensor(path: extra, tensor: "output.weight")) { _ = try LlamaModel.load(path: extra) }
        let bias = try Self.rewritten("qwen3") { w in
            w.tensors.append(.init(name: "blk.0.attn_q.bias", shape: [64], values: [Float](repeating: 0, count: 64)))
        }
        defer { try? FileManager.default.removeItem(atPath: bias) }
        #expect(throws: ModelFormatError.unexpectedTensor(path: bias, tensor: "blk.0.attn_q.bias")) { _ = try LlamaModel.load(path: bias) }
        let shape = try Self.rewritten("llama3") { w in
            let i = try #require(w.tensors.firstIndex { $0.name == "rope_freqs.weight" })
            w.tensors[i] = .init(name: "rope_freqs.weight", shape: [4], values: [1, 1, 1, 1])
        }
        defer { try? FileManager.default.removeItem(atPath: shape) }
        #expect(throws: ModelFormatError.shapeMismatch(path: shape, tensor: "rope_freqs.weight", expected: [8], found: [4])) {
            _ = try LlamaModel.load(path: shape)
        }
    }

    /// A Gemma 3 GGUF with a separate output matrix (llama.cpp allows one) is untied; its logits use it.
    @Test func gemma3WithOutputMatrixIsUntied() throws {
        let embedding = try GGUFFile(path: TinyGGUFFamilyTests.path("gemma3")).floats("token_embd.weight")
        let path = try Self.rewritten("gemma3") { w in
            w.tensors.append(.init(name: "output.weight", shape: [384, 64], values: embedding.map { -$0 }))
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let untied = try LlamaModel.load(path: path, threads: 1)
        let tied = try LlamaModel.load(path: TinyGGUFFamilyTests.path("gemma3"), threads: 1)
        #expect(!untied.configuration.tiedEmbeddings && tied.configuration.tiedEmbeddings)
        let a = try untied.nextTokenLogits(tokens: [2, 300, 301]), b = try tied.nextTokenLogits(tokens: [2, 300, 301])
        #expect(relativeError(a, b.map { -$0 }) < 1e-5)
    }
}

/// Hugging Face directories whose config.json lacks a key or contradicts itself: the error names config.json and
/// the key as config.json spells it, and no model is returned.
@Suite struct ConfigJSONKeyTests {
    static func message(_ family: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
        let source = TinyFamilyTests.directory(family)
        let dir = TestScratch.root.appendingPathComponent("config-\(family)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: source + "/" + f, toPath: dir.appendingPathComponent(f).path)
        }
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/config.json"))) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
        do { _ = try LlamaModel.load(path: dir.path, threads: 1); return "<loaded>" } catch {
            #expect(error.localizedDescription.contains(dir.appendingPathComponent("config.json").path))
            return error.localizedDescription
        }
    }

    @Test func missingKeysAreNamed() throws {
        #expect(try Self.message("llama3") { $0.removeValue(forKey: "hidden_size") }.contains("'hidden_size'"))
        #expect(try Self.message("qwen3") { $0.removeValue(forKey: "num_hidden_layers") }.contains("'num_hidden_layers'"))
        #expect(try Self.message("gemma3") { $0.removeValue(forKey: "rope_local_base_freq") }.contains("'rope_local_base_freq'"))
        #expect(try Self.message("gemma2") { $0.removeValue(forKey: "sliding_window") }.contains("'sliding_window'"))
    }

    @Test func contradictoryKeysAreNamed() throws {
        let heads = try Self.message("qwen3") { $0["num_key_value_heads"] = 3 }
        #expect(heads.contains("'num_attention_heads' 4 is not a multiple of 'num_key_value_heads' 3"), "\(heads)")
        let pattern = try Self.message("gemma3") { $0["sliding_window_pattern"] = 2 }
        #expect(pattern.contains("layer_types contradicts sliding_window_pattern 2"), "\(pattern)")
        let types = try Self.message("gemma2") { $0["layer_types"] = ["sliding_attention", "full_attention"] }
        #expect(types.contains("layer_types has 2 entries for num_hidden_layers 4"), "\(types)")
        let vocab = try Self.message("gemma") { $0["vocab_size"] = 400 }
        #expect(vocab.contains("vocab_size 400"), "\(vocab)")
        let softcap = try Self.message("gemma3") { $0["final_logit_softcapping"] = 30.0 }
        #expect(softcap.contains("final_logit_softcapping"), "\(softcap)")
        let eps = try Self.message("llama3") { $0["rms_norm_eps"] = 0 }
        #expect(eps.contains("'rms_norm_eps' 0"), "\(eps)")
    }
}
