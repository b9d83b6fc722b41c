import Store
import Testing
@testable import Study

/// The demo's feature choice: one feature per density stratum, the one with the highest output score.
@Suite struct DemoFeatureChoiceTests {
    /// 8 candidate features over two density strata, plus one too dense, one dead, one massive-activation feature.
    func records() -> [FeatureRecord] {
        var out: [FeatureRecord] = []
        for i in 0..<8 {
            out.append(FeatureRecord(saeId: 1, featureIndex: i, maxActivation: 5 + Double(i),
                                     fractionNonzero: 0.001 * Double(i + 1), topContexts: nil))
        }
        out.append(FeatureRecord(saeId: 1, featureIndex: 8, maxActivation: 5, fractionNonzero: 0.5))    // too dense
        out.append(FeatureRecord(saeId: 1, featureIndex: 9, maxActivation: 0, fractionNonzero: 0))      // dead
        out.append(FeatureRecord(saeId: 1, featureIndex: 10, maxActivation: 5000, fractionNonzero: 0.002)) // outlier
        return out
    }

    func explanations() -> [Int: ExplanationRecord] {
        Dictionary(uniqueKeysWithValues: (0...10).map { ($0, ExplanationRecord(featureId: Int64($0), source: "t", text: "x")) })
    }

    @Test func highestOutputScorePerDensityStratum() {
        // Strata by density: features 0–3 and 4–7. The best scores: 2 in the first, 5 in the second; the
        // excluded features score highest of all and must still not be chosen.
        let scores: [Int: Double] = [0: 0.1, 1: 0.2, 2: 0.9, 3: 0.3, 4: 0.05, 5: 0.6, 6: 0.4, 7: 0.01, 8: 1, 9: 1, 10: 1]
        #expect(DemoFeatureChoice.choose(statistics: records(), explanations: explanations(), outputScores: scores, count: 2) == [2, 5])
    }

    @Test func withoutScoresTheLargerMaxActivationDecidesAmongEquals() {
        // No scores and no contexts: ties on concentration fall to the larger max activation (3 and 7).
        #expect(DemoFeatureChoice.choose(statistics: records(), explanations: explanations(), count: 2) == [3, 7])
    }
}
