import Testing
import Foundation
import TestSupport
import ModelFormats

/// `semprog generate --model` on GGUF files of every family (the tiny F32 files of Tests/Fixtures/gguf-families/,
/// made by llama.cpp's convert_hf_to_gguf.py) and on bad model inputs: one clear error on stderr naming the key,
/// tensor or type, non-zero exit, nothing on stdout.
@Suite(.serialized) struct ModelInputCLITests {
    static var folder: URL { CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/gguf-families") }

    /// Prompt ids and the first 8 greedy ids of "The quick brown fox" from the transformers references (the llama3
    /// one from gguf-families/llama3-reference.json; every step's margin is at least 3e-3, none is EOS).
    static let expected: [String: (prompt: [Int], generated: [Int])] = [
        "gemma": ([2, 268, 364, 286, 290, 368, 296, 346, 284, 292, 382, 358, 293], [74, 74, 74, 74, 74, 74, 74, 74]),
        "gemma2": ([2, 268, 364, 286, 290, 368, 296, 346, 284, 292, 382, 358, 293], [293, 293, 293, 293, 303, 303, 303, 303]),
        "gemma3": ([2, 268, 364, 286, 290, 368, 296, 346, 284, 292, 382, 358, 293], [293, 293, 293, 293, 293, 293, 293, 293]),
        "qwen3": ([53, 278, 358, 316, 281, 337, 79, 354, 89], [157, 51, 228, 98, 30, 330, 361, 110]),
        "llama3": ([0, 53, 278, 358, 316, 281, 337, 79, 354, 89], [169, 173, 162, 321, 352, 171, 160, 164]),
    ]

    @Test(arguments: ["gemma", "gemma2", "gemma3", "qwen3", "llama3"]) func generateRunsEveryFamily(family: String) throws {
        let model = Self.folder.appendingPathComponent("\(family).gguf").path
        let r = try CLIRunner.run(["generate", "--model", model, "--prompt", "The quick brown fox", "--max-tokens", "8", "--json", "--threads", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let e = try #require(Self.expected[family])
        #expect(object["prompt_ids"] as? [Int] == e.prompt)
        #expect(object["generated_ids"] as? [Int] == e.generated)
        #expect(object["finish_reason"] as? String == "max_tokens")
        let plain = try CLIRunner.run(["generate", "--model", model, "--prompt", "The quick brown fox", "--max-tokens", "8", "--threads", "1"])
        #expect(plain.status == 0 && plain.stdout.trimmingCharacters(in: .newlines) == object["text"] as? String)
    }

    /// A copy of the qwen3 fixture with `edit` applied, in a temporary file.
    static func rewritten(_ edit: (inout GGUFWriter) -> Void) throws -> String {
        let file = try GGUFFile(path: folder.appendingPathComponent("qwen3.gguf").path)
        var w = GGUFWriter()
        for key in file.metadataKeys { w.set(key, file.metadata[key]!) }
        for name in file.tensorNames {
            let info = try file.info(name)
            w.tensors.append(.init(name: name, dimensions: info.dimensions, type: info.type, bytes: try file.withRawBytes(name) { Array($0) }))
        }
        edit(&w)
        let path = TestScratch.root.appendingPathComponent("cli-bad-\(UUID().uuidString).gguf").path
        try w.encode().write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func badModelFilesExitNonZeroWithTheirMessage() throws {
        let cases: [(String, (inout GGUFWriter) -> Void)] = [
            ("architecture 'mamba2' is not supported", { w in
                w.metadata = w.metadata.map { $0.0 == "general.architecture" ? ($0.0, .string("mamba2")) : $0 } }),
            ("missing metadata key 'qwen3.block_count'", { w in w.metadata.removeAll { $0.0 == "qwen3.block_count" } }),
            ("tensor 'blk.1.ffn_down.weight' has unsupported type Q8_1", { w in
                let i = w.tensors.firstIndex { $0.name == "blk.1.ffn_down.weight" }!
                w.tensors[i] = .init(name: w.tensors[i].name, dimensions: w.tensors[i].dimensions, type: .q8_1,
                                     bytes: [UInt8](repeating: 0, count: 256 * GGMLType.q8_1.blockBytes)) }),
            ("'qwen3.rope.scaling.type' 'yarn' is not supported", { w in w.set("qwen3.rope.scaling.type", .string("yarn")) }),
            ("missing tensor 'blk.3.attn_k_norm.weight'", { w in w.tensors.removeAll { $0.name == "blk.3.attn_k_norm.weight" } }),
        ]
        for (message, edit) in cases {
            let path = try Self.rewritten(edit)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let r = try CLIRunner.run(["generate", "--model", path, "--prompt", "Hi", "--max-tokens", "2", "--threads", "1"])
            #expect(r.status != 0)
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains(path) && r.stderr.contains(message), "stderr: \(r.stderr)")
        }
    }

    /// A Hugging Face directory whose config.json lacks a key or contradicts itself: the key is named.
    @Test func badConfigJSONNamesTheKey() throws {
        let source = CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/tiny-models/gemma2")
        let cases: [(String, ([String: Any]) -> [String: Any])] = [
            ("missing key 'query_pre_attn_scalar'", { var j = $0; j.removeValue(forKey: "query_pre_attn_scalar"); return j }),
            ("layer_types has 3 entries for num_hidden_layers 4", { var j = $0; j["layer_types"] = ["sliding_attention", "full_attention", "sliding_attention"]; return j }),
            ("'num_attention_heads' 4 is not a multiple of 'num_key_value_heads' 3", { var j = $0; j["num_key_value_heads"] = 3; return j }),
        ]
        for (message, edit) in cases {
            let dir = TestScratch.root.appendingPathComponent("cli-bad-config-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            for f in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
                try FileManager.default.copyItem(at: source.appendingPathComponent(f), to: dir.appendingPathComponent(f))
            }
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
            try JSONSerialization.data(withJSONObject: edit(json)).write(to: dir.appendingPathComponent("config.json"))
            let r = try CLIRunner.run(["generate", "--model", dir.path, "--prompt", "Hi", "--max-tokens", "2", "--threads", "1"])
            #expect(r.status != 0)
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains("config.json") && r.stderr.contains(message), "stderr: \(r.stderr)")
        }
    }
}
