import Analysis
import Foundation
import LanguageModel
import SparseAutoencoder
import Tensor
import Testing
@testable import Sweep

/// The output and input scores against hand-computed values.
@Suite struct FeatureScoreTests {
    @Test func outputScoreIsRankTimesProbability() throws {
        // Softmax of [2, 1, 0, 0]: e² / (e² + e + 2) etc. Logit-lens tokens {1, 3}: the best is token 1, rank 1.
        let logits: [Float] = [2, 1, 0, 0]
        let z = Foundation.exp(2.0) + Foundation.exp(1.0) + 2
        let s = try FeatureScores.output(logits: logits, logitLensTokens: [3, 1])
        #expect(s.bestToken == 1)
        #expect(abs(s.rankScore - 0.75) < 1e-12, "1 − 1/4")
        #expect(abs(s.topProbability - Foundation.exp(1.0) / z) < 1e-12)
        #expect(abs(s.score - 0.75 * Foundation.exp(1.0) / z) < 1e-12)
        // The top token itself: rank 0.
        let top = try FeatureScores.output(logits: logits, logitLensTokens: [0])
        #expect(top.rankScore == 1)
        #expect(abs(top.score - Foundation.exp(2.0) / z) < 1e-12)
        // Shifting every logit changes nothing (softmax and ranks are shift-invariant).
        let shifted = try FeatureScores.output(logits: logits.map { $0 + 50 }, logitLensTokens: [3, 1])
        #expect(abs(shifted.score - s.score) < 1e-12)
        #expect(throws: AnalysisError.self) { try FeatureScores.output(logits: logits, logitLensTokens: [4]) }
        #expect(throws: AnalysisError.self) { try FeatureScores.output(logits: [1, .nan], logitLensTokens: [0]) }
    }

    @Test func inputScoreIsTheShareOfPeaksOnLensTokens() {
        #expect(FeatureScores.input(peakTokens: [5, 7, 5, 9], logitLensTokens: [5, 6]) == 0.5)
        #expect(FeatureScores.input(peakTokens: [], logitLensTokens: [5]) == nil)
        #expect(FeatureScores.topTokens([0, 3, 3, 1], k: 2) == [1, 2], "ties: lower id first")
    }
}

/// On the real SmolLM2 model, a feature whose decoder row is the unembedding of one token must score high,
/// a random direction low: the answer is known by construction.
@Suite struct FeatureScreenModelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func tokenDirectionFeatureHasTheHighestOutputScore() throws {
        let model = try LlamaModel.load(path: Self.root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path)
        let d = model.configuration.dModel, layer = model.configuration.layerCount - 3
        let target = model.tokenizer.encode(" dog").last!
        let embedding = model.tokenEmbedding(target)
        let norm = embedding.reduce(0) { $0 + $1 * $1 }.squareRoot()
        // Feature 0 writes the token's (tied) unembedding row with norm 20; feature 1 the same direction with norm
        // 0.001, too small to move the next-token distribution away from the model's own (after "From my
        // experience," the model continues with " I"), where " dog" and its logit-lens neighbours are unlikely.
        // (A random direction would not do: through SmolLM2's final RMSNorm weight, its logit lens is made of
        // frequent tokens such as " I" and ",".) W_enc = 0 and b_enc = 1 make every activation 1, so each feature
        // is raised by factor · 1.
        let decoder = embedding.map { $0 / norm * 20 } + embedding.map { $0 / norm * 0.001 }
        let sae = try SparseAutoencoder(
            configuration: SAEConfiguration(architecture: .standard, dIn: d, dSae: 2, layer: layer),
            encoderWeights: Matrix(zeros: d, 2), encoderBias: [1, 1],
            decoderWeights: Matrix(rows: 2, cols: d, values: decoder), decoderBias: [Float](repeating: 0, count: d))
        var settings = FeatureScreenSettings()
        settings.factor = 10
        let results = try FeatureScreen.run(model: model, sae: sae, features: [0, 1], settings: settings)
        #expect(results.map(\.feature) == [0, 1])
        #expect(results[0].logitLensTokens.contains(target), "the token is among its own logit-lens tokens")
        #expect(results[0].output.bestToken == target)
        #expect(results[0].output.rankScore == 1, "the amplified model's top token is the feature's token")
        #expect(results[0].output.score > 0.5, "\(results[0].output)")
        #expect(results[1].logitLensTokens == results[0].logitLensTokens, "the logit lens does not depend on the norm")
        #expect(results[1].output.score < results[0].output.score / 10, "\(results[1].output)")
        // Batching does not change a feature's score.
        settings.batchSize = 1
        let single = try FeatureScreen.run(model: model, sae: sae, features: [1, 0], settings: settings)
        #expect(single.map(\.feature) == [1, 0])
        #expect(abs(single[1].output.score - results[0].output.score) < 1e-6)
        #expect(abs(single[0].output.score - results[1].output.score) < 1e-6)
    }
}
