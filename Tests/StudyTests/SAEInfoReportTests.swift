import Foundation
import SparseAutoencoder
import Tensor
import Testing
@testable import Study

/// `semprog sae info`'s report (`SAEInfoReport`): what it reads from a folder, the reconstruction metrics and the
/// two printed forms.
@Suite struct SAEInfoReportTests {
    /// L0 and explained variance of a hand-made reconstruction, against values worked out by hand:
    /// x = [[1, 2], [3, 4]], x̂ = [[1, 2], [3, 5]]: SSE = 1, column means (2, 3), SST = 1 + 1 + 1 + 1 = 4, so the
    /// explained variance is 1 − 1/4 = 0.75; latents [[0, 1, 2], [0, 0, 3]] have 3 non-zeros over 2 rows: L0 1.5.
    @Test func metricsOfAHandMadeReconstruction() throws {
        var report = try SAEInfoReport(directory: "d", sae: try SparseAutoencoder.read(
            directory: StudyFixtures.saeFormats.appendingPathComponent("saelens-standard").path, hook: nil))
        report.measure(.init(input: Matrix(rows: 2, cols: 2, values: [1, 2, 3, 4]),
                             latents: Matrix(rows: 2, cols: 3, values: [0, 1, 2, 0, 0, 3]),
                             reconstruction: Matrix(rows: 2, cols: 2, values: [1, 2, 3, 5])))
        #expect(report.tokens == 2 && report.meanL0 == 1.5)
        #expect(abs(report.explainedVariance! - 0.75) < 1e-12)
        // "explained variance" is the longest key: the others are padded to its 18 characters.
        #expect(report.text.contains("\nL0" + String(repeating: " ", count: 18) + "1.50 mean active latents over 2 tokens\n"))
        #expect(report.text.hasSuffix("\nexplained variance  0.7500"))
        // Constant residuals have no variance to explain.
        report.measure(.init(input: Matrix(rows: 2, cols: 1, values: [5, 5]), latents: Matrix(rows: 2, cols: 1, values: [1, 0]),
                             reconstruction: Matrix(rows: 2, cols: 1, values: [4, 5])))
        #expect(report.explainedVariance == nil && report.meanL0 == 0.5)
        #expect(report.text.contains("n/a (constant residuals)"))
    }

    @Test func textAndJSONSayWhatWasRead() throws {
        let folder = StudyFixtures.saeFormats.appendingPathComponent("saelens-topk-rescaled").path
        let recorder = RecordingConsole()
        try SAEInfoReport.show(directory: folder, hook: nil, model: nil, text: nil, threads: 1, json: false, console: recorder.console)
        let lines = try #require(recorder.output.first).split(separator: "\n").map(String.init)
        let keys = lines.map { String($0.prefix { $0 != " " }) }
        #expect(Array(keys.prefix(6)) == ["format", "architecture", "hook", "d_in", "d_sae", "dtype"])
        #expect(keys.contains("encode") && keys.last == "weights")
        // Every value starts in the same column: after the longest key and two spaces.
        let width = keys.map(\.count).max()!
        #expect(lines.allSatisfy { $0.count > width + 2 && $0[$0.index($0.startIndex, offsetBy: width + 2)] != " " })
        #expect(lines.contains { $0.hasPrefix("architecture") && $0.hasSuffix("topk") })

        let json = RecordingConsole()
        try SAEInfoReport.show(directory: folder, hook: "blocks.3.attn.hook_z", model: nil, text: nil, threads: 1, json: true,
                               console: json.console)
        let object = try JSONSerialization.jsonObject(with: Data(try #require(json.output.first).utf8)) as! [String: Any]
        #expect(object["hook"] as? String == "blocks.3.attn.hook_z" && object["hook_source"] as? String == "--hook")
        #expect(object["steerable"] as? Bool == false && object["k"] as? Int == 8 && object["d_in"] as? Int == 576)
        #expect(object["rescale_acts_by_decoder_norm"] as? Bool == true && object["mean_l0"] == nil)
    }

    /// On a text: as many tokens as the text has after its first, and the L0 a TopK SAE allows.
    @Test func measuresATextThroughTheModel() throws {
        let sae = try StudyFixtures.tinySAE.get()
        let recorder = RecordingConsole()
        let text = "The cat sat on the warm mat."
        try SAEInfoReport.show(directory: sae, hook: nil, model: StudyFixtures.tinyLlama, text: text, threads: 2, json: true,
                               console: recorder.console)
        struct Measured: Decodable { var tokens: Int; var mean_l0: Double; var explained_variance: Double? }
        let m = try JSONDecoder().decode(Measured.self, from: Data(try #require(recorder.output.first).utf8))
        let ids = try FeatureActivations.compute(model: StudyFixtures.tinyLlama, sae: sae, hook: nil, text: text, top: 32,
                                                 includeFirstToken: false, threads: 2).tokens
        // `encode` adds no BOS; `promptIDs` (activations) adds it for Llama 3: one more position.
        #expect(m.tokens == ids.count - 2)
        #expect(m.mean_l0 > 0 && m.mean_l0 <= 4)
        #expect(throws: StudyError.self) {
            try SAEInfoReport.show(directory: sae, hook: nil, model: StudyFixtures.tinyLlama, text: "", threads: 2, json: true,
                                   console: RecordingConsole().console)
        }
    }
}
