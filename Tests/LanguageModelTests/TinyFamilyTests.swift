import Testing
import Foundation
import TestSupport
@testable import LanguageModel

/// The tiny random Qwen 3, Llama 3, Gemma and Gemma 2 checkpoints (Tests/Fixtures/reference/tiny-models/, transformers 5.24 float32
/// eager): prompt ids exact (BOS from the files), last-position logits and every layer's resid_post within 1e-3
/// of the vector's largest |value| (Gemma 1: 3e-3, see below), 24 greedy ids exact up to a step with reference
/// margin < 1e-3.
@Suite(.serialized) struct TinyFamilyTests {
    static func directory(_ family: String) -> String {
        Fixtures.referenceDirectory.appendingPathComponent("tiny-models/\(family)").path
    }

    @Test(arguments: ["qwen3", "llama3", "gemma", "gemma2"]) func matchesTransformers(family: String) throws {
        let model = try LlamaModel.load(path: Self.directory(family))
        let reference = try JSONDecoder().decode(Gemma3Fixtures.Tiny.self, from: Data(contentsOf: URL(fileURLWithPath: Self.directory(family) + "/reference.json")))
        #expect(model.tokenizer.addsBOS == reference.add_bos)
        let expectedFamily: [String: ModelFamily] = ["qwen3": .qwen3, "llama3": .llama, "gemma": .gemma, "gemma2": .gemma2]
        #expect(model.configuration.family == expectedFamily[family])
        if family == "gemma2" {
            #expect(model.configuration.attentionSoftcap == 50 && model.configuration.finalSoftcap == 30)
            #expect(model.configuration.slidingLayers == [true, false, true, false] && model.configuration.slidingWindow == 8)
        }
        #expect((model.configuration.llama3RoPE != nil) == (family == "llama3"))
        // Gemma (1) has no norm after attention / feed-forward, so its residual grows and the rounding of the
        // binary16 KV cache (2⁻¹¹ relative, as llama.cpp's default cache) reaches 2.2e-3 on one prompt's last
        // block. A float64 numpy forward of this checkpoint with K and V rounded to binary16 gives the same
        // errors to four digits (2.1556e-3 resid_post, 1.2625e-3 logits; without the rounding: 2e-6), so the
        // bound for it is 3e-3; every other family meets 1e-3.
        let tolerance: Float = family == "gemma" ? 3e-3 : 1e-3
        for p in reference.prompts {
            #expect(model.tokenizer.promptIDs(p.prompt) == p.prompt_ids, "prompt ids of \(p.prompt.debugDescription)")
            let logits = try model.nextTokenLogits(tokens: p.prompt_ids)
            #expect(relativeError(logits, p.last_logits) < tolerance, "last logits of \(p.prompt.debugDescription)")
            for (l, expected) in p.resid_post_last.enumerated() {
                let r = try model.residualStream(tokens: p.prompt_ids, layer: l)
                let last = huggingFaceHiddenState(model, Array(r.values[((p.prompt_ids.count - 1) * r.cols)...]), layer: l)
                #expect(relativeError(last, expected) < tolerance, "resid_post of layer \(l), \(p.prompt.debugDescription)")
            }
        }
        var parameters = GenerateParameters(maxTokens: 24)
        parameters.stopAtEOS = false
        // The llama3 reference's generated_ids continue the prompt *without* BOS (transformers' generate got the
        // tokenizer.json ids, which carry no BOS, while prompt_ids/last_logits have it): its first generated id is
        // not the argmax of its own last_logits, and semprog reproduces all 24 ids from the BOS-less prompt.
        let withoutBOS = family == "llama3"
        if withoutBOS {
            #expect(reference.prompts.contains { p in p.generated_ids[0] != p.last_logits.indices.max { p.last_logits[$0] < p.last_logits[$1] }! })
        }
        let prompts = reference.prompts.map { withoutBOS ? Array($0.prompt_ids.dropFirst()) : $0.prompt_ids }
        let out = try model.generate(prompts: prompts, parameters: parameters, seeds: prompts.map { _ in 0 }, hook: nil)
        for (p, o) in zip(reference.prompts, out) {
            #expect(equalUntilNearTie(o.generatedIDs, p.generated_ids, margins: p.margins, margin: 1e-3),
                    "generated \(o.generatedIDs) vs \(p.generated_ids)")
        }
    }

    /// The Llama 3 rule itself: high frequencies stay, low ones are divided by the factor, the band between is
    /// interpolated (factor 8, low 1, high 4, original context 64 as in the tiny checkpoint).
    @Test func llama3FrequencyScaling() {
        let s = Llama3RoPEScaling(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64)
        #expect(s.scale(1) == 1)                       // wavelength 2π < 16
        #expect(s.scale(2 * .pi / 128) == 2 * .pi / 128 / 8)   // wavelength 128 > 64
        let f = 2 * Double.pi / 32                      // wavelength 32: s = (64/32 − 1)/3 = 1/3
        #expect(abs(s.scale(f) - ((2.0 / 3) * f / 8 + f / 3)) < 1e-15)
    }

    @Test func unsupportedRoPEScalingNamesTheKey() throws {
        let dir = TestScratch.root.appendingPathComponent("llama3-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: Self.directory("llama3") + "/" + f, toPath: dir.appendingPathComponent(f).path)
        }
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.directory("llama3") + "/config.json"))) as! [String: Any]
        json["rope_scaling"] = ["rope_type": "yarn", "factor": 4.0]
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: LanguageModelError.self) { _ = try LlamaModel.load(path: dir.path) }
        do { _ = try LlamaModel.load(path: dir.path) } catch { #expect(error.localizedDescription.contains("rope_scaling type 'yarn'")) }
    }
}
