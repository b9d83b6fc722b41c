import Foundation
import ModelFormats
import Testing
import Tensor
@testable import SparseAutoencoder

/// The SAE release formats against SAELens 6.54.12 (Tests/Fixtures/reference/sae-formats, README there): each
/// case's folder as the release ships it and `CASE.expected.json` with inputs, `encode(x)` and `decode(encode(x))`
/// computed by SAELens' own loader for that format.
@Suite struct SAEReleaseFormatTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures/reference/sae-formats")
    static let extra = root.appendingPathComponent("Tests/Fixtures/saelens-extra")

    struct Expected: Decodable {
        var hook_name: String
        var d_in: Int
        var d_sae: Int
        var inputs: [[Float]]
        var activations: [[Float]]
        var reconstruction: [[Float]]
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String, format: SAEFormat, architecture: SAEArchitecture
        /// Expected values to use instead of the reference's `CASE.expected.json` (see `gemmaReference`).
        var expected: String?
        init(_ name: String, _ format: SAEFormat, _ architecture: SAEArchitecture, expected: String? = nil) {
            self.name = name; self.format = format; self.architecture = architecture; self.expected = expected
        }
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case("saelens-standard", .saeLens, .standard),
        Case("saelens-standard-bdec-in", .saeLens, .standard),
        Case("saelens-jumprelu", .saeLens, .jumprelu),
        Case("saelens-topk", .saeLens, .topk),
        Case("saelens-topk-rescaled", .saeLens, .topk),
        Case("saelens-gated", .saeLens, .gated),
        Case("saelens-standard-layernorm", .saeLens, .standard),
        Case("saelens-pre6", .saeLensPre6, .standard),
        Case("gemma-scope-2b-pt-res/layer_6/width_16k/average_l0_20", .gemmaScope1, .jumprelu, expected: "gemma-scope-1"),
        Case("gemma-scope-2-270m-pt/resid_post/layer_6_width_16k_l0_medium", .gemmaScope2, .jumprelu, expected: "gemma-scope-2"),
    ]

    @Test func everyFixtureCaseIsListed() throws {
        let enumerator = FileManager.default.enumerator(atPath: Self.fixtures.path)!
        let found = (enumerator.allObjects as! [String]).filter { $0.hasSuffix(".expected.json") }
            .map { String($0.dropLast(".expected.json".count)) }
        #expect(Set(found) == Set(Self.cases.map(\.name)))
    }

    /// Activations and reconstructions within 1e-4 of the row's largest |value| (1e-5 absolute where SAELens
    /// gives 0), and the same set of active latents in every row.
    ///
    /// The two Gemma Scope cases are compared with what SAELens 6.54.12's own Gemma loaders compute from the same
    /// files and inputs (Tests/Fixtures/saelens-extra/make_gemma.py): the reference's expected values for them
    /// subtract b_dec from the input, which SAELens' `get_gemma_2_config_from_hf` / `get_gemma_3_config_from_hf`
    /// (apply_b_dec_to_input = false) and DeepMind's JumpReLU do not (see `gemmaReferenceSubtractsBDec`).
    @Test(arguments: cases)
    func matchesSAELens(_ c: Case) throws {
        let expected = c.expected.map { Self.extra.appendingPathComponent($0 + ".expected.json") }
        let sae = try Self.compare(directory: Self.fixtures.appendingPathComponent(c.name), expected: expected)
        #expect(sae.source?.format == c.format)
        #expect(sae.configuration.architecture == c.architecture)
    }

    /// SAE folders written by SAELens 6.54.12 itself (Tests/Fixtures/saelens-extra/make_cases.py): the inference
    /// forms of batchtopk and matryoshka_batchtopk (jumprelu with θ = topk_threshold, decoder norms folded) and
    /// the normalisations constant_norm_rescale and expected_average_only_in (identity in `load_from_disk`).
    @Test(arguments: ["batchtopk-inference", "matryoshka-inference", "standard-constant-norm-rescale", "standard-expected-average-only-in"])
    func matchesSAELensOnItsOwnFolders(name: String) throws {
        let sae = try Self.compare(directory: Self.root.appendingPathComponent("Tests/Fixtures/saelens-extra/\(name)"))
        #expect(sae.source?.format == .saeLens)
        #expect(sae.configuration.architecture == (name.hasPrefix("standard") ? .standard : .jumprelu))
        if !name.hasPrefix("standard") {
            #expect(sae.configuration.trainingArchitecture == (name.hasPrefix("batch") ? "batchtopk" : "matryoshka_batchtopk"))
        }
    }

    /// Loads the folder, checks hook and sizes, compares encode and reconstruct with `DIR.expected.json`.
    static func compare(directory dir: URL, expected expectedURL: URL? = nil, sae given: SparseAutoencoder? = nil) throws -> SparseAutoencoder {
        let name = dir.lastPathComponent
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: expectedURL ?? URL(fileURLWithPath: dir.path + ".expected.json")))
        let sae = try given ?? SparseAutoencoder.load(directory: dir.path)
        #expect(sae.configuration.hookName == expected.hook_name)
        #expect(sae.configuration.dIn == expected.d_in && sae.configuration.dSae == expected.d_sae)
        let d = expected.d_in
        let x = Matrix(rows: expected.inputs.count, cols: d, values: expected.inputs.flatMap { $0 })
        let a = sae.encode(x)
        let y = sae.reconstruct(x)
        var problems: [String] = []
        var active = 0
        for (r, row) in expected.activations.enumerated() {
            let scale = row.map(abs).max() ?? 0
            for (j, e) in row.enumerated() {
                let got = a[r, j]
                if (got != 0) != (e != 0) { problems.append("row \(r) latent \(j): active \(got != 0), SAELens \(e != 0) (\(got) vs \(e))") }
                let tolerance: Float = e == 0 ? 1e-5 : 1e-4 * scale
                if abs(got - e) > tolerance { problems.append("row \(r) latent \(j): \(got) vs \(e)") }
                if e != 0 { active += 1 }
            }
        }
        for (r, row) in expected.reconstruction.enumerated() {
            let scale = row.map(abs).max() ?? 0
            for (j, e) in row.enumerated() where abs(y[r, j] - e) > (e == 0 ? 1e-5 : 1e-4 * scale) {
                problems.append("reconstruction row \(r) column \(j): \(y[r, j]) vs \(e)")
            }
        }
        #expect(problems.count == 0, "\(name): \(problems.count) mismatches, first \(problems.prefix(5))")
        // The comparison is not vacuous: rows have active latents and SAELens' activations are not all zero.
        #expect(active >= expected.activations.count, "\(name): only \(active) active latents")
        return sae
    }

    /// The reference's own expectations for the Gemma cases are met by the same weights with b_dec subtracted
    /// from the input, and missed without: the discrepancy is that one setting, not the reading of the files.
    @Test(arguments: [8, 9])
    func gemmaReferenceSubtractsBDec(index: Int) throws {
        let dir = Self.fixtures.appendingPathComponent(Self.cases[index].name)
        let sae = try SparseAutoencoder.load(directory: dir.path)
        #expect(!sae.configuration.applyBDecToInput)
        var c = sae.configuration
        c.applyBDecToInput = true
        let subtracting = try SparseAutoencoder(configuration: c, encoderWeights: sae.encoderWeights, encoderBias: sae.encoderBias,
                                                decoderWeights: sae.decoderWeights, decoderBias: sae.decoderBias, threshold: sae.threshold)
        _ = try Self.compare(directory: dir, sae: subtracting)
        let reference = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir.path + ".expected.json")))
        let a = sae.encode(Matrix(rows: reference.inputs.count, cols: reference.d_in, values: reference.inputs.flatMap { $0 }))
        let largest = zip(a.values, reference.activations.flatMap { $0 }).map { abs($0 - $1) }.max() ?? 0
        #expect(largest > 0.5, "SAELens' setting now matches the reference: use it directly")
    }

    @Test func sourceAndHookOfEachFormat() throws {
        let gs1 = try SparseAutoencoder.load(directory: Self.fixtures.appendingPathComponent(Self.cases[8].name).path)
        #expect(gs1.source?.release == "gemma-scope-2b-pt-res" && gs1.source?.hookField == "folder names")
        #expect(gs1.configuration.modelName == "gemma-2-2b" && !gs1.configuration.applyBDecToInput)
        let gs2 = try SparseAutoencoder.load(directory: Self.fixtures.appendingPathComponent(Self.cases[9].name).path)
        #expect(gs2.source?.hookField == "hf_hook_point_in" && gs2.configuration.modelName == "google/gemma-3-270m")
        let pre6 = try SparseAutoencoder.load(directory: Self.fixtures.appendingPathComponent("saelens-pre6").path)
        #expect(pre6.configuration.prependBOS == true && pre6.source?.hookField == "hook_name")
        let rescaled = try SparseAutoencoder.load(directory: Self.fixtures.appendingPathComponent("saelens-topk-rescaled").path)
        #expect(rescaled.configuration.rescaleActsByDecoderNorm)
        #expect(rescaled.source?.adjustments.contains { $0.contains("rescale_acts_by_decoder_norm") } == true)
        // Folded: every decoder row has unit norm.
        for i in 0..<rescaled.configuration.dSae {
            let n = rescaled.decoderRow(i).reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(n - 1) < 1e-5)
        }
    }

    @Test func hookMapping() {
        #expect(GemmaScope2Configuration.semprogHook(huggingFace: "model.layers.6.output") == "blocks.6.hook_resid_post")
        #expect(GemmaScope2Configuration.semprogHook(huggingFace: "model.language_model.layers.12.output") == "blocks.12.hook_resid_post")
        #expect(GemmaScope2Configuration.semprogHook(huggingFace: "model.layers.3.post_feedforward_layernorm.output") == "blocks.3.hook_mlp_out")
        #expect(GemmaScope2Configuration.semprogHook(huggingFace: "model.layers.3.self_attn.o_proj.input") == "blocks.3.attn.hook_z")
        #expect(GemmaScope2Configuration.semprogHook(huggingFace: "model.layers.x.output") == nil)
        #expect(GemmaScope2Configuration.semprogHook(huggingFace: "lm_head.output") == nil)
    }
}
