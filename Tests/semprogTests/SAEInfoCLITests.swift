import Foundation
import TestSupport
import Testing

/// `semprog sae info` on the release-format fixtures (Tests/Fixtures/reference/sae-formats) and on bad folders.
@Suite struct SAEInfoCLITests {
    static let fixtures = CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/sae-formats")

    struct Info: Decodable {
        var format: String, architecture: String, hook: String, hook_source: String, d_in: Int, d_sae: Int
        var dtype: String, stored_dtype: String, apply_b_dec_to_input: Bool, normalize_activations: String
        var k: Int?, rescale_acts_by_decoder_norm: Bool?, release: String?, steerable: Bool, adjustments: [String]
    }

    func info(_ arguments: [String]) throws -> Info {
        let r = try CLIRunner.run(["sae", "info", "--json"] + arguments)
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONDecoder().decode(Info.self, from: Data(r.stdout.utf8))
    }

    @Test func describesEachFormat() throws {
        let gs1 = try info([Self.fixtures.appendingPathComponent("gemma-scope-2b-pt-res/layer_6/width_16k/average_l0_20").path])
        #expect(gs1.format == "gemma-scope" && gs1.architecture == "jumprelu" && gs1.hook == "blocks.6.hook_resid_post")
        #expect(gs1.hook_source == "folder names" && gs1.release == "gemma-scope-2b-pt-res" && gs1.d_in == 576 && gs1.d_sae == 96)
        #expect(gs1.stored_dtype == "<f4" && !gs1.apply_b_dec_to_input && gs1.steerable)
        let topk = try info([Self.fixtures.appendingPathComponent("saelens-topk-rescaled").path])
        #expect(topk.format == "saelens" && topk.k == 8 && topk.rescale_acts_by_decoder_norm == true && topk.stored_dtype == "F32")
        #expect(topk.adjustments.contains { $0.contains("rescale_acts_by_decoder_norm") })
        let ln = try info([Self.fixtures.appendingPathComponent("saelens-standard-layernorm").path])
        #expect(ln.normalize_activations == "layer_norm")
        let gs2 = try info([Self.fixtures.appendingPathComponent("gemma-scope-2-270m-pt/resid_post/layer_6_width_16k_l0_medium").path,
                            "--hook", "blocks.3.hook_mlp_out"])
        #expect(gs2.format == "gemma-scope-2" && gs2.hook == "blocks.3.hook_mlp_out" && gs2.hook_source == "--hook" && gs2.steerable)
        let attention = try info([Self.fixtures.appendingPathComponent("gemma-scope-2-270m-pt/resid_post/layer_6_width_16k_l0_medium").path,
                                  "--hook", "blocks.3.attn.hook_z"])
        #expect(attention.hook == "blocks.3.attn.hook_z" && !attention.steerable)
        let pre6 = try info([Self.fixtures.appendingPathComponent("saelens-pre6").path])
        #expect(pre6.format == "saelens-pre6")
    }

    @Test func textOutputNamesTheSettings() throws {
        let r = try CLIRunner.run(["sae", "info", Self.fixtures.appendingPathComponent("saelens-gated").path])
        #expect(r.status == 0, "\(r.stderr)")
        for needle in ["SAELens (v6 cfg.json)", "gated", "blocks.6.hook_resid_post", "576", "96", "apply_b_dec_to_input = true", "normalize_activations = none"] {
            #expect(r.stdout.contains(needle), "\(needle) in \(r.stdout)")
        }
    }

    @Test func badFoldersExitNonZeroWithOneNamedError() throws {
        let empty = TestScratch.root.appendingPathComponent("sae-info-\(getpid())")
        try? FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let r = try CLIRunner.run(["sae", "info", empty.path])
        #expect(r.status != 0 && r.stderr.contains(empty.path) && r.stderr.contains("no SAE files"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        try Data(#"{"d_in": 4, "d_sae": 8, "architecture": "crosscoder", "metadata": {"sae_lens_version": "6.1.0", "hook_name": "blocks.1.hook_resid_post"}}"#.utf8)
            .write(to: empty.appendingPathComponent("cfg.json"))
        try Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8)).write(to: empty.appendingPathComponent("sae_weights.safetensors"))
        let unknown = try CLIRunner.run(["sae", "info", empty.path])
        #expect(unknown.status != 0 && unknown.stderr.contains("cfg.json") && unknown.stderr.contains("crosscoder"), "\(unknown.stderr)")
        #expect(unknown.stderr.split(separator: "\n").count == 1)
    }

    /// L0 and explained variance on a text, against the L0 counted from `activations --json` for the same text
    /// (SmolLM2 in models/, the jumprelu reference SAE on blocks.6).
    @Test func l0AndExplainedVarianceOnAText() throws {
        struct Measured: Decodable { var tokens: Int; var mean_l0: Double; var explained_variance: Double }
        let sae = CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/sae-jumprelu-blocks6").path
        let model = CLIRunner.repositoryRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        let text = "The cat sat on the warm mat and watched the birds outside the window."
        let r = try CLIRunner.run(["sae", "info", sae, "--model", model, "--text", text, "--threads", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let m = try JSONDecoder().decode(Measured.self, from: Data(r.stdout.utf8))
        #expect(m.tokens >= 10 && m.mean_l0 > 0 && m.mean_l0 <= 64)
        // This reference SAE is not a trained one: its explained variance on the text is negative (−0.28).
        #expect(m.explained_variance.isFinite && m.explained_variance <= 1, "\(m.explained_variance)")
        // The same L0 from `activations --json --top 64` (every active feature listed), positions after the first.
        struct Activations: Decodable { struct Token: Decodable { struct F: Decodable { var activation: Float }; var features: [F] }; var tokens: [Token] }
        let a = try CLIRunner.run(["activations", "--model", model, "--sae", sae, "--text", text, "--top", "64", "--threads", "2", "--json"])
        #expect(a.status == 0, "\(a.stderr)")
        let tokens = try JSONDecoder().decode(Activations.self, from: Data(a.stdout.utf8)).tokens.dropFirst()
        #expect(tokens.count == m.tokens)
        let l0 = Double(tokens.map { $0.features.filter { $0.activation > 0 }.count }.reduce(0, +)) / Double(tokens.count)
        #expect(abs(l0 - m.mean_l0) < 1e-9, "\(l0) vs \(m.mean_l0)")
        // A model the SAE does not fit: one named error, non-zero exit.
        let wrong = try CLIRunner.run(["sae", "info", Self.fixtures.appendingPathComponent("saelens-standard").path, "--model",
                                       CLIRunner.repositoryRoot.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path, "--text", text, "--json"])
        #expect(wrong.status != 0 && wrong.stdout.isEmpty)
    }
}
