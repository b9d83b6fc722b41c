import Foundation
import Testing
@testable import Analysis

@Suite struct SweepAnalysisTests {
    @Test func recoversPlantedStagesOnsetsAndRobustness() throws {
        let synthetic = SyntheticSweep(features: 12, prompts: 4, magnitudes: 16, dimension: 64, seed: 3)
        let analysis = try SweepAnalysis.analyze(synthetic.input, threads: 2)
        #expect(analysis.generations.count == 12 * 4 * 16)
        #expect(analysis.trajectories.count == 12 * 4)
        #expect(analysis.features.count == 12)
        for (f, feature) in analysis.features.enumerated() {
            #expect(feature.stageCount == Double(synthetic.plantedStageCounts[f]), "feature \(f)")
            let planted = synthetic.plantedOnsets[f]
            for t in analysis.trajectories where t.featureID == feature.featureID {
                #expect(t.onset?.index == (planted < 16 ? planted : nil), "feature \(f) prompt \(t.promptID)")
                let expected = planted == 0 ? 0 : t.magnitudes[planted - 1] / feature.maxActivation
                #expect(abs(t.robustnessInMaxActivations - expected) < 1e-12)
                #expect(t.censored == (planted == 16))
                #expect(t.stageLabels.count == 16 && t.stageLabels[planted...].allSatisfy { $0 == -1 })
            }
            // Every prompt follows the same planted stages → perfect agreement.
            #expect(feature.stageAgreement == 1)
            #expect(feature.similarityOutput != nil && feature.similarityDescription != nil)
        }
        let meanPlanted = Double(synthetic.plantedStageCounts.reduce(0, +)) / 12
        #expect(abs(analysis.headline.meanStageCount - meanPlanted) < 1e-12)
        // Stages share a direction across prompts, baselines do not → positive consistency.
        #expect(analysis.headline.meanConsistency! > 0.5)
        // Planted: denser features break later.
        #expect(analysis.headline.sparsityVsRobustness.rho! > 0.3)
        // Sensitivity curve: non-increasing in the penalty, and the chosen penalty's value equals the headline.
        let curve = analysis.penaltySensitivity
        for (a, b) in zip(curve, curve.dropFirst()) { #expect(b.meanStageCount <= a.meanStageCount) }
        #expect(curve.first { $0.penalty == 0.5 }?.meanStageCount == analysis.headline.meanStageCount)
        // Deterministic across thread counts, and survives a JSON round trip.
        #expect(try SweepAnalysis.analyze(synthetic.input, threads: 1) == analysis)
        let decoded = try JSONDecoder().decode(SweepAnalysis.self, from: JSONEncoder().encode(analysis))
        #expect(decoded == analysis)
    }

    @Test func featureWithoutExplanationIsSkippedAndListed() throws {
        var input = SyntheticSweep(features: 4, prompts: 3, magnitudes: 6, dimension: 16, seed: 1).input
        input.features[1].explanation = nil
        input.features[1].explanationEmbedding = nil
        let analysis = try SweepAnalysis.analyze(input)
        #expect(analysis.skippedFeatures == [SkippedFeature(featureID: "feature-1",
                                                            reason: "no explanation: left out of the similarity-to-explanation summary")])
        #expect(analysis.features[1].similarityOutput == nil)
        #expect(analysis.features[0].similarityOutput != nil)
        #expect(analysis.generations.filter { $0.featureID == "feature-1" }.allSatisfy { $0.explanationCosineOutput == nil })
    }

    @Test func badInputGivesClearErrors() throws {
        let base = SyntheticSweep(features: 3, prompts: 2, magnitudes: 4, dimension: 8, seed: 2).input

        var noBaseline = base
        noBaseline.prompts.removeLast()
        #expect(throws: AnalysisError.missingBaseline(promptID: "prompt-1")) { try SweepAnalysis.analyze(noBaseline) }
        let message = AnalysisError.missingBaseline(promptID: "prompt-1").localizedDescription
        #expect(message.contains("prompt-1") && message.contains("baseline"))

        var twoFeatures = base
        twoFeatures.features.removeLast()
        twoFeatures.generations.removeAll { $0.featureID == "feature-2" }
        #expect(throws: AnalysisError.tooFewFeatures(count: 2)) { try SweepAnalysis.analyze(twoFeatures) }

        var duplicate = base
        duplicate.generations.append(duplicate.generations[0])
        #expect(throws: AnalysisError.duplicateGeneration(featureID: "feature-0", promptID: "prompt-0", magnitude: 10)) {
            try SweepAnalysis.analyze(duplicate)
        }

        var wrongDimension = base
        wrongDimension.generations[5].embedding = [1, 2]
        #expect(throws: AnalysisError.embeddingDimension(field: "generations[5].embedding", expected: 8, got: 2)) {
            try SweepAnalysis.analyze(wrongDimension)
        }

        var badMax = base
        badMax.features[0].maxActivation = 0
        #expect(throws: AnalysisError.invalidMaxActivation(featureID: "feature-0", value: 0)) { try SweepAnalysis.analyze(badMax) }

        var unknown = base
        unknown.generations[0].featureID = "nope"
        #expect(throws: AnalysisError.unknownFeature(featureID: "nope", generation: 0)) { try SweepAnalysis.analyze(unknown) }
    }

    @Test func constantRobustnessReportsUndefinedRho() throws {
        // Every feature degrades from the same magnitude with the same max activation → robustness is constant.
        var input = SyntheticSweep(features: 4, prompts: 2, magnitudes: 6, dimension: 8, seed: 4).input
        for i in input.features.indices { input.features[i].maxActivation = 10 }
        for i in input.generations.indices {
            input.generations[i].text = input.generations[i].magnitude >= 40 ? "la la la la la la la la la la la la"
                : "The quiet river runs past the old mill where children swim in summer."
        }
        let analysis = try SweepAnalysis.analyze(input)
        let rq3 = analysis.headline.sparsityVsRobustness
        #expect(rq3.rho == nil && rq3.undefinedReason?.contains("constant") == true)
        #expect(analysis.features.allSatisfy { $0.robustnessInMaxActivations == 3 })
    }
}
