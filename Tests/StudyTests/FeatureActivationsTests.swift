import Foundation
import Tensor
import Testing
@testable import Study

/// `semprog activations`' ranking (`FeatureActivations`): per token and over the whole text.
@Suite struct FeatureActivationsTests {
    /// Three tokens × four latents; position 0 carries the largest values (as a real residual's first position).
    static let a = Matrix(rows: 3, cols: 4, values: [
        9, 0, 8, 0,
        0, 2, 2, 1,
        0, 0, 3, 0.5,
    ])

    @Test func perTokenRankingBreaksTiesByIndexAndSkipsZeros() {
        let out = FeatureActivations(activations: Self.a, ids: [10, 11, 12], top: 2, includeFirstToken: false) { "t\($0)" }
        #expect(out.tokens.map(\.token) == ["t10", "t11", "t12"] && out.tokens.map(\.id) == [10, 11, 12])
        #expect(out.tokens[0].features.map(\.index) == [0, 2])
        #expect(out.tokens[1].features.map(\.index) == [1, 2])        // 2 = 2: the smaller index first
        #expect(out.tokens[2].features.map(\.index) == [2, 3])
        // Whole text without position 0: maxima 0, 2, 3, 1 → features 2 (3) and 1 (2).
        #expect(out.top.map(\.index) == [2, 1] && out.top.map(\.maxActivation) == [3, 2])
        let all = FeatureActivations(activations: Self.a, ids: [10, 11, 12], top: 3, includeFirstToken: true) { "t\($0)" }
        #expect(all.top.map(\.index) == [0, 2, 1] && all.top.map(\.maxActivation) == [9, 8, 2])
        // A one-token text keeps its only position.
        let one = FeatureActivations(activations: Matrix(rows: 1, cols: 2, values: [0, 4]), ids: [5], top: 5,
                                     includeFirstToken: false) { _ in "x" }
        #expect(one.top.map(\.index) == [1] && one.tokens[0].features.count == 1)
    }

    @Test func textAndJSONForms() throws {
        let out = FeatureActivations(activations: Self.a, ids: [10, 11, 12], top: 2, includeFirstToken: false) { $0 == 11 ? "\n" : "ab" }
        let lines = out.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0] == "   0 \"ab\"" + String(repeating: " ", count: 13) + "#0 9.000  #2 8.000")
        #expect(lines[1].hasPrefix("   1 \"\\n\" "))                   // a newline token is shown as \n
        #expect(lines[3] == "whole text (position 0 excluded): #2 3.000  #1 2.000")
        let json = try out.json
        #expect(!json.contains("\n") && json.contains("\"max_activation\":3"))
        #expect(try JSONDecoder().decode(FeatureActivations.self, from: Data(json.utf8)) == out)
    }

    /// Through the tiny model and an SAE trained on it: one entry per prompt id, at most `top` features each.
    @Test func computeEncodesTheTextAtTheSAEsHook() throws {
        let sae = try StudyFixtures.tinySAE.get()
        let out = try FeatureActivations.compute(model: StudyFixtures.tinyLlama, sae: sae, hook: nil, text: "Dogs bark at strangers.",
                                                 top: 3, includeFirstToken: false, threads: 2)
        #expect(out.tokens.count >= 4 && out.tokens.allSatisfy { $0.features.count <= 3 })
        #expect(out.tokens.dropFirst().allSatisfy { !$0.features.isEmpty })      // TopK: k = 4 latents fire at every position
        #expect(out.top.count == 3 && out.top.map(\.maxActivation) == out.top.map(\.maxActivation).sorted(by: >))
        // Llama 3 adds BOS: an empty text is that one token.
        let empty = try FeatureActivations.compute(model: StudyFixtures.tinyLlama, sae: sae, hook: nil, text: "", top: 3,
                                                   includeFirstToken: false, threads: 2)
        #expect(empty.tokens.map(\.id) == [0])
    }
}
