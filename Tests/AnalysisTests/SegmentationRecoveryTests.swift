import Testing
@testable import Analysis

/// The stages of RQ1 recover planted stages: synthetic sweeps (82-feature-like, fewer features for speed) with
/// planted boundaries and the noise of real sentence embeddings, analysed end to end (degradation onsets, the
/// data-driven penalty, segmentation).
@Suite struct SegmentationRecoveryTests {
    struct Recovery {
        var meanStageCount: Double
        var plantedMeanStageCount: Double
        var meanARI: Double
        var penalty: Double
        var analysis: SweepAnalysis
    }

    /// Planted stage labels of positions 0..<onset (as `SyntheticSweep` plants them).
    static func plantedLabels(onset: Int, stageCount: Int) -> [Int] {
        (0..<onset).map { $0 * stageCount / max(onset, 1) }
    }

    static func recovery(noise: Double, seed: UInt64, penalty: Double? = nil) throws -> Recovery {
        let synthetic = SyntheticSweep(features: 30, prompts: 6, magnitudes: 16, dimension: 384, noise: noise,
                                       stageSimilarity: 0.3, seed: seed)
        var input = synthetic.input
        input.settings.stagePenalty = penalty
        let analysis = try SweepAnalysis.analyze(input, threads: 2)
        var aris: [Double] = []
        for t in analysis.trajectories {
            let f = Int(t.featureID.split(separator: "-").last!)!
            let onset = synthetic.plantedOnsets[f]
            guard onset >= 2 else { continue }
            let planted = plantedLabels(onset: onset, stageCount: synthetic.plantedStageCounts[f])
            aris.append(try Consistency.adjustedRandIndex(planted, Array(t.stageLabels[0..<onset])))
        }
        let planted = Double(synthetic.plantedStageCounts.reduce(0, +)) / Double(synthetic.plantedStageCounts.count)
        return Recovery(meanStageCount: analysis.headline.meanStageCount, plantedMeanStageCount: planted,
                        meanARI: aris.reduce(0, +) / Double(aris.count), penalty: analysis.penaltySelection.penalty,
                        analysis: analysis)
    }

    /// Noise levels: two outputs of one stage have cosine ≈ 1/(1 + noise²·384): 0.87, 0.6 and 0.35 (from tight
    /// to loose stages; the all-MiniLM cosine of two unrelated English outputs is ≈ 0.2–0.4).
    @Test(arguments: [0.02, 0.042, 0.07])
    func dataDrivenPenaltyRecoversPlantedStages(noise: Double) throws {
        for seed in [UInt64(11), 12] {
            let r = try Self.recovery(noise: noise, seed: seed)
            let relativeError = abs(r.meanStageCount - r.plantedMeanStageCount) / r.plantedMeanStageCount
            #expect(relativeError <= 0.10, "noise \(noise) seed \(seed): mean stage count \(r.meanStageCount), planted \(r.plantedMeanStageCount), penalty \(r.penalty)")
            #expect(r.meanARI >= 0.9, "noise \(noise) seed \(seed): mean ARI \(r.meanARI), penalty \(r.penalty)")
            // The planted onsets are found, so the stages are segmented over the planted fluent prefix.
            #expect(r.analysis.penaltySelection.dataDriven && r.analysis.penaltySelection.noiseEstimate != nil)
            // The sensitivity curve is kept and holds the chosen penalty.
            #expect(r.analysis.penaltySensitivity.contains { $0.penalty == r.penalty })
            let counts = r.analysis.penaltySensitivity.map(\.meanStageCount)
            #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 >= $1 - 1e-9 })
        }
    }

    /// The noise estimate follows the noise: δ̂ ≈ 1 − 1/√(1 + noise²·d) (the per-output dispersion), so the penalty
    /// scales with it; and the old fixed penalty 0.5 over-segments or under-segments at one of the levels.
    @Test func penaltyScalesWithNoiseWhereAFixedOneFails() throws {
        var penalties: [Double] = []
        var fixedFailures = 0
        for noise in [0.02, 0.042, 0.07] {
            let r = try Self.recovery(noise: noise, seed: 21)
            let expected = 1 - 1 / (1 + noise * noise * 384).squareRoot()
            let estimate = r.analysis.penaltySelection.noiseEstimate!
            #expect(abs(estimate - expected) / expected < 0.35, "noise \(noise): δ̂ \(estimate), expected ≈ \(expected)")
            penalties.append(r.penalty)
            let fixed = try Self.recovery(noise: noise, seed: 21, penalty: 0.5)
            if abs(fixed.meanStageCount - fixed.plantedMeanStageCount) / fixed.plantedMeanStageCount > 0.10 || fixed.meanARI < 0.9 {
                fixedFailures += 1
            }
        }
        #expect(penalties[0] < penalties[1] && penalties[1] < penalties[2])
        #expect(fixedFailures >= 1)
    }

    @Test func noiseEstimateIgnoresIdenticalNeighboursAndBoundaries() {
        let a: [Float] = [1, 0, 0], b: [Float] = [0, 1, 0]
        // identical pairs are left out; the one boundary pair (1 − cos = 1) is outvoted by the in-stage pairs.
        let near: [Float] = [1, 0.1, 0]
        let trajectory: [[Float]] = [a, a, near, a, near, b, b]
        let estimate = PenaltySelection.noiseEstimate([trajectory])!
        #expect(estimate.pairs == 4)
        let d = 1 - Double(1 / (1 + 0.01).squareRoot())
        #expect(abs(estimate.estimate - d / 2) < 1e-6)
        #expect(PenaltySelection.choose([[a, a, a]]).penalty == PenaltySelection.minimumPenalty)
    }
}
