import Foundation
import Randomness
import Testing
@testable import LanguageModel

/// `blocks.L.hook_resid_pre` and `blocks.L.hook_mlp_out` of every family against a float64 numpy forward of the
/// tiny checkpoints (`Tests/Fixtures/hooks/tiny-hooks.json`, itself within 2e-6 of transformers' stored
/// resid_post): last prompt position, resid_pre within 1e-3 of the vector's largest |value| (Gemma 1: 3e-3, its
/// binary16 KV-cache rounding, see TinyFamilyTests). mlp_out is a smaller vector than the residual it joins, so the
/// same absolute cache rounding is a larger fraction of it: measured up to 1.37e-3 (Qwen 3) and 3.13e-3 (Gemma 1)
/// of its largest |value|; the bound is 2e-3 (Gemma 1: 4e-3).
@Suite(.serialized) struct HookSiteTests {
    struct Reference: Decodable {
        struct Prompt: Decodable { let prompt_ids: [Int]; let resid_pre_last: [[Float]]; let mlp_out_last: [[Float]] }
        struct Model: Decodable { let prompts: [Prompt] }
        let models: [String: Model]
    }

    static let reference: Reference = {
        let url = Fixtures.root.appendingPathComponent("Tests/Fixtures/hooks/tiny-hooks.json")
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    @Test(arguments: ["llama3", "qwen3", "gemma", "gemma2", "gemma3"])
    func residPreAndMLPOutMatchReference(family: String) throws {
        let model = try LlamaModel.load(path: TinyFamilyTests.directory(family))
        let tolerance: [String: Float] = family == "gemma" ? ["hook_resid_pre": 3e-3, "hook_mlp_out": 4e-3]
            : ["hook_resid_pre": 1e-3, "hook_mlp_out": 2e-3]
        let prompts = try #require(Self.reference.models[family]).prompts
        #expect(!prompts.isEmpty)
        for p in prompts {
            for l in 0..<model.configuration.layerCount {
                for (name, expected) in [("hook_resid_pre", p.resid_pre_last[l]), ("hook_mlp_out", p.mlp_out_last[l])] {
                    let hook = try #require(ActivationRecorder(hookName: "blocks.\(l).\(name)"))
                    _ = try model.nextTokenLogits(tokens: p.prompt_ids, hook: hook)
                    #expect(hook.rows.count == p.prompt_ids.count, "one row per prompt position")
                    let last = try #require(hook.rows.last)
                    #expect(relativeError(last, expected) < tolerance[name]!, "\(family) blocks.\(l).\(name)")
                }
            }
        }
    }

    /// Adds `vector` at a hook point.
    final class AddHook: ResidualHook {
        let layer: Int, site: HookSite, vector: [Float]
        init(layer: Int, site: HookSite, vector: [Float]) { self.layer = layer; self.site = site; self.vector = vector }
        func apply(_ rows: ResidualRows) {
            for i in 0..<rows.count { let r = rows.row(i); for k in 0..<rows.dModel { r[k] += vector[k] } }
        }
    }

    /// Steering the MLP output of block L by v is steering resid_post of L by v (the MLP output is the last term
    /// added in the block), and steering resid_pre of block 0 (layer −1) changes the logits; generation with an
    /// mlp_out hook and several sequences of one prompt (shared prefill up to block L − 1) equals one by one.
    @Test(arguments: ["llama3", "gemma2"])
    func mlpOutEditReachesTheResidual(family: String) throws {
        let model = try LlamaModel.load(path: TinyFamilyTests.directory(family))
        let d = model.configuration.dModel
        var rng = SplitMix64(seed: 7)
        let v = (0..<d).map { _ in Float.random(in: -2...2, using: &rng) }
        let tokens = try #require(Self.reference.models[family]?.prompts.first).prompt_ids
        let plain = try model.nextTokenLogits(tokens: tokens)
        let viaMLP = try model.nextTokenLogits(tokens: tokens, hook: AddHook(layer: 1, site: .mlpOut, vector: v))
        let viaResid = try model.nextTokenLogits(tokens: tokens, hook: AddHook(layer: 1, site: .residPost, vector: v))
        #expect(relativeError(viaMLP, viaResid) < 1e-5)
        #expect(relativeError(viaMLP, plain) > 1e-3, "the edit changed nothing")
        let atEmbedding = try model.nextTokenLogits(tokens: tokens, hook: AddHook(layer: -1, site: .residPost, vector: v))
        #expect(relativeError(atEmbedding, plain) > 1e-3)
        #expect(throws: LanguageModelError.self) { try model.nextTokenLogits(tokens: tokens, hook: AddHook(layer: -1, site: .mlpOut, vector: v)) }
        var parameters = GenerateParameters()
        parameters.maxTokens = 6
        parameters.temperature = 0
        parameters.stopAtEOS = false
        let hook = AddHook(layer: 2, site: .mlpOut, vector: v)
        let together = try model.generate(prompts: [tokens, tokens, tokens], parameters: parameters, seeds: [0, 0, 0], hook: hook)
        let alone = try model.generate(prompts: [tokens], parameters: parameters, seeds: [0], hook: hook)
        for r in together { #expect(r.generatedIDs == alone[0].generatedIDs) }
    }
}

