import Foundation
import LanguageModel
import Randomness
import Tensor
import Testing
@testable import SparseAutoencoder

/// SAEs at every hook point semprog's models expose (`blocks.L.hook_resid_post`, `blocks.L.hook_resid_pre` with
/// L = 0, `blocks.L.hook_mlp_out`), on the tiny transformers checkpoints (Tests/Fixtures/reference/tiny-models):
/// the SAE reads its inputs at its own hook (checked against the float64 numpy forward of
/// Tests/Fixtures/hooks/tiny-hooks.json) and its edits land there.
@Suite(.serialized) struct SAEHookSiteTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func modelDirectory(_ family: String) -> String {
        root.appendingPathComponent("Tests/Fixtures/reference/tiny-models/\(family)").path
    }

    struct HookReference: Decodable {
        struct Prompt: Decodable { let prompt_ids: [Int]; let resid_pre_last: [[Float]]; let mlp_out_last: [[Float]] }
        struct Model: Decodable { let prompts: [Prompt] }
        let models: [String: Model]
    }
    static let reference: HookReference = {
        let url = root.appendingPathComponent("Tests/Fixtures/hooks/tiny-hooks.json")
        return try! JSONDecoder().decode(HookReference.self, from: Data(contentsOf: url))
    }()

    /// A seeded random SAE of width `d` at `hook`.
    static func sae(d: Int, hook: String, seed: UInt64) throws -> SparseAutoencoder {
        var rng = SplitMix64(seed: seed)
        let m = 24
        func g(_ n: Int, _ s: Double) -> [Float] { (0..<n).map { _ in Float(rng.nextGaussian() * s) } }
        let cfg = SAEConfiguration(architecture: .standard, dIn: d, dSae: m, layer: 0).with(hook: hook)
        return try SparseAutoencoder(configuration: cfg, encoderWeights: Matrix(rows: d, cols: m, values: g(d * m, 0.3)),
                                     encoderBias: g(m, 0.1), decoderWeights: Matrix(rows: m, cols: d, values: g(m * d, 0.5)),
                                     decoderBias: g(d, 0.1))
    }

    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.map { abs($0) }.max() ?? 1
        return zip(a, b).map { abs($0 - $1) }.max()! / max(scale, 1e-12)
    }

    /// The SAE's inputs are the activations at its hook: the last prompt position against the numpy forward (same
    /// bounds as HookSiteTests: resid_pre 1e-3, mlp_out 2e-3 of the largest |value|), every position equal to
    /// what an `ActivationRecorder` at that hook sees during a forward pass.
    @Test(arguments: ["llama3", "gemma2", "gemma3"])
    func inputsComeFromTheSAEsHook(family: String) throws {
        let model = try LlamaModel.load(path: Self.modelDirectory(family))
        let d = model.configuration.dModel
        let prompt = try #require(Self.reference.models[family]?.prompts.first)
        for l in 0..<model.configuration.layerCount {
            for (name, expected, bound) in [("hook_resid_pre", prompt.resid_pre_last[l], Float(1e-3)),
                                            ("hook_mlp_out", prompt.mlp_out_last[l], Float(2e-3))] {
                let sae = try Self.sae(d: d, hook: "blocks.\(l).\(name)", seed: UInt64(l))
                try sae.check(modelWidth: d, layerCount: model.configuration.layerCount)
                let inputs = try sae.hookActivations(model: model, batch: [prompt.prompt_ids, Array(prompt.prompt_ids.prefix(3))])
                #expect(inputs.count == 2 && inputs[0].rows == prompt.prompt_ids.count && inputs[1].rows == 3)
                let last = Array(inputs[0].values[((inputs[0].rows - 1) * d)...])
                #expect(Self.relativeError(last, expected) < bound, "\(family) blocks.\(l).\(name)")
                let recorder = try #require(ActivationRecorder(hookName: "blocks.\(l).\(name)"))
                _ = try model.nextTokenLogits(tokens: prompt.prompt_ids, hook: recorder)
                #expect(recorder.rows.flatMap { $0 } == inputs[0].values, "\(family) blocks.\(l).\(name): every position")
                // A shorter text in the same batch sees the same prefix (causal attention).
                #expect(Self.relativeError(inputs[1].values, Array(inputs[0].values.prefix(3 * d))) < 1e-5)
            }
        }
    }

    /// An `add` edit of an mlp_out SAE at block L adds the same decoder row to the residual as the resid_post SAE
    /// of block L with the same weights (the MLP output is the last term a block adds); a clamp edit differs,
    /// because it reads a different activation. A blocks.0.hook_resid_pre SAE edits the embeddings.
    @Test(arguments: ["llama3", "gemma2"])
    func editsLandAtTheHook(family: String) throws {
        let model = try LlamaModel.load(path: Self.modelDirectory(family))
        let d = model.configuration.dModel
        let tokens = try #require(Self.reference.models[family]?.prompts.first).prompt_ids
        let plain = try model.nextTokenLogits(tokens: tokens)
        let mlp = try Self.sae(d: d, hook: "blocks.1.hook_mlp_out", seed: 3)
        let resid = try Self.sae(d: d, hook: "blocks.1.hook_resid_post", seed: 3)
        #expect(mlp.configuration.layer == 1 && resid.configuration.layer == 1)
        let add = SteeringEdit(feature: 5, method: .add, magnitude: 4)
        let viaMLP = try model.nextTokenLogits(tokens: tokens, hook: SteeringHook(sae: mlp, edits: [add]))
        let viaResid = try model.nextTokenLogits(tokens: tokens, hook: SteeringHook(sae: resid, edits: [add]))
        #expect(Self.relativeError(viaMLP, viaResid) < 1e-4)
        #expect(Self.relativeError(viaMLP, plain) > 1e-3, "the edit changed nothing")
        let clamp = SteeringEdit(feature: 5, method: .clamp, magnitude: 4)
        let clampMLP = try model.nextTokenLogits(tokens: tokens, hook: SteeringHook(sae: mlp, edits: [clamp]))
        let clampResid = try model.nextTokenLogits(tokens: tokens, hook: SteeringHook(sae: resid, edits: [clamp]))
        #expect(Self.relativeError(clampMLP, clampResid) > 1e-4, "a clamp reads the activation at the SAE's own hook")
        let embedding = try Self.sae(d: d, hook: "blocks.0.hook_resid_pre", seed: 4)
        #expect(embedding.configuration.layer == -1)
        try embedding.check(modelWidth: d, layerCount: model.configuration.layerCount)
        let atEmbedding = try model.nextTokenLogits(tokens: tokens, hook: SteeringHook(sae: embedding, edits: [add]))
        #expect(Self.relativeError(atEmbedding, plain) > 1e-3)
    }
}
