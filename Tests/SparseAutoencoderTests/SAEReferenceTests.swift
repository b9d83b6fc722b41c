import Foundation
import LanguageModel
import Testing
import Tensor
@testable import SparseAutoencoder

/// Real-model reference: a jumprelu SAE on `blocks.6.hook_resid_post` of SmolLM2-135M-Instruct
/// (Tests/Fixtures/reference/sae-jumprelu-blocks6), expected activations from an independent float64 numpy
/// implementation on the same text. Needs models/ (`make models`).
@Suite struct SAEReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let referenceDirectory = root.appendingPathComponent("Tests/Fixtures/reference/sae-jumprelu-blocks6")
    static let modelPath = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    struct Expected: Decodable { var text: String; var ids: [Int]; var activations: [[Float]] }

    @Test func matchesTheReferenceActivationsOnRealResiduals() throws {
        let sae = try SparseAutoencoder.load(directory: Self.referenceDirectory.path)
        #expect(sae.configuration.architecture == .jumprelu && sae.configuration.layer == 6)
        #expect(sae.configuration.hookName == "blocks.6.hook_resid_post" && sae.configuration.dSae == 64)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.referenceDirectory.appendingPathComponent("expected.json")))
        let lm = try LlamaModel.load(path: Self.modelPath, threads: 2)
        try sae.check(modelWidth: lm.configuration.dModel, layerCount: lm.configuration.layerCount)
        let ids = lm.tokenizer.encode(expected.text)
        #expect(ids == expected.ids)
        let activations = sae.encode(try lm.residualStream(tokens: ids, layer: sae.configuration.layer))
        #expect(activations.rows == expected.activations.count)
        // Relative tolerance per token: 2 % of the row's largest expected activation (position 0's are ~10×
        // larger). A feature whose pre-activation sits within that tolerance of its threshold may flip on/off
        // under Float32/Q4 rounding; at most 1 % of the entries may do so.
        let theta = sae.threshold!
        var mismatches: [String] = [], flips = 0
        for (r, row) in expected.activations.enumerated() {
            let scale = max(row.max() ?? 1, 1)
            for (j, e) in row.enumerated() {
                let got = activations[r, j]
                if abs(got - e) <= 0.02 * scale { continue }
                if (got == 0) != (e == 0), abs(max(got, e) - theta[j]) <= 0.05 * scale { flips += 1; continue }
                mismatches.append("token \(r) feature \(j): got \(got), expected \(e)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
        #expect(flips <= expected.activations.count * 64 / 100, "\(flips) threshold flips")
        // The whole pipeline is not trivially zero: most tokens have several active features.
        #expect(activations.values.filter { $0 > 0 }.count > 5 * activations.rows)
    }
}
