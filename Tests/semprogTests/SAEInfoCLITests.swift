import Foundation
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
        #expect(gs2.format == "gemma-scope-2" && gs2.hook == "blocks.3.hook_mlp_out" && gs2.hook_source == "--hook" && !gs2.steerable)
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
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("sae-info-\(getpid())")
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
}
