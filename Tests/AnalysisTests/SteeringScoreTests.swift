import Analysis
import Foundation
import Randomness
import Testing

/// The pure arithmetic of steering scores, against values computed by hand.
@Suite struct SteeringScoreTests {
    @Test func harmonicMeanMatchesHandComputation() {
        // 3 / (1/2 + 1/1 + 1/2) = 3 / 2 = 1.5; 3 / (1 + 1 + 1) = 1; 3 / (1/2 · 3) = 2.
        #expect(abs(SteeringScore.harmonicMean([2, 1, 2]) - 1.5) < 1e-12)
        #expect(SteeringScore.harmonicMean([1, 1, 1]) == 1)
        #expect(SteeringScore.harmonicMean([2, 2, 2]) == 2)
        // 3 / (1 + 1/2 + 1/1.5) = 3 / 2.1666… = 1.384615…
        #expect(abs(SteeringScore.harmonicMean([1, 2, 1.5]) - 18.0 / 13.0) < 1e-12)
        // Any zero → 0 (AxBench's strict rule); empty → 0.
        #expect(SteeringScore.harmonicMean([2, 0, 2]) == 0)
        #expect(SteeringScore.harmonicMean([]) == 0)
        #expect(SteeringRatings(concept: 2, instruction: 1, fluency: 2).aggregate == SteeringScore.harmonicMean([2, 1, 2]))
    }

    /// The harmonic mean never exceeds the arithmetic mean nor the largest rating, and is symmetric.
    @Test(arguments: [UInt64(1), 2, 3])
    func harmonicMeanProperties(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let s = (0..<3).map { _ in Double(rng.next() % 2001) / 1000 }
            let h = SteeringScore.harmonicMean(s)
            #expect(h <= s.reduce(0, +) / 3 + 1e-12)
            #expect(h <= s.max()! + 1e-12)
            #expect(abs(h - SteeringScore.harmonicMean(s.reversed())) < 1e-12)
        }
    }

    @Test func splitFollowsAxBench() {
        // n − round(n · 0.5) prompts choose (Python's round: half to even), the rest report.
        let six = SteeringScore.split(promptIDs: [6, 2, 4, 1, 3, 5, 3])
        #expect(six.selection == [1, 2, 3] && six.report == [4, 5, 6])
        let five = SteeringScore.split(promptIDs: [10, 20, 30, 40, 50])   // round(2.5) = 2 → 3 choose, 2 report
        #expect(five.selection == [10, 20, 30] && five.report == [40, 50])
        let seven = SteeringScore.split(promptIDs: Array(1...7))          // round(3.5) = 4 → 3 choose, 4 report
        #expect(seven.selection == [1, 2, 3] && seven.report == [4, 5, 6, 7])
        let two = SteeringScore.split(promptIDs: [9, 8])                  // round(1) = 1
        #expect(two.selection == [8] && two.report == [9])
        let one = SteeringScore.split(promptIDs: [4])
        #expect(one.selection == [4] && one.report == [4])
    }

    /// Four prompts × three magnitudes; prompts 1–2 choose, 3–4 report.
    @Test func bestFactorIsChosenOnOneHalfAndReportedOnTheOther() throws {
        let table: [(Int64, Double, Double)] = [
            (1, 0, 0), (1, 2, 1.5), (1, 4, 2),
            (2, 0, 0), (2, 2, 1.5), (2, 4, 0.5),   // selection means: 0, 1.5, 1.25 → factor 2
            (3, 0, 1), (3, 2, 0.5), (3, 4, 2),
            (4, 0, 1), (4, 2, 1), (4, 4, 2),       // report at factor 2: (0.5 + 1) / 2 = 0.75
        ]
        let outputs = table.map { SteeringScore.ScoredOutput(promptID: $0.0, magnitude: $0.1, score: $0.2) }
        let split = SteeringScore.split(promptIDs: outputs.map(\.promptID))
        let best = try #require(SteeringScore.bestFactor(outputs, split: split))
        #expect(best.magnitude == 2)
        #expect(abs(best.selectionScore - 1.5) < 1e-12)
        #expect(abs(best.reportScore - 0.75) < 1e-12, "the report half's own best (factor 4, 2.0) is not what is reported")
        #expect(best.selectionPrompts == 2 && best.reportPrompts == 2)
        let curve = SteeringScore.curve(outputs)
        #expect(curve.map(\.magnitude) == [0, 2, 4])
        #expect(curve.map(\.meanScore) == [0.5, 1.125, 1.625])
    }

    @Test func bestFactorTiesGoToTheSmallestMagnitude() throws {
        let outputs = [(1, 3.0, 1.0), (1, 1.0, 1.0), (1, 2.0, 0.5), (2, 1.0, 0.25), (2, 3.0, 2.0), (2, 2.0, 1.0)]
            .map { SteeringScore.ScoredOutput(promptID: Int64($0.0), magnitude: $0.1, score: $0.2) }
        let best = try #require(SteeringScore.bestFactor(outputs, split: .init(selection: [1], report: [2])))
        #expect(best.magnitude == 1, "magnitudes 1 and 3 tie at 1.0 on prompt 1: np.argmax takes the first")
        #expect(best.reportScore == 0.25)
    }

    @Test func halfBestWindowOnAHandMadeCurve() throws {
        func curve(_ points: [(Double, Double)]) -> [SteeringScore.CurvePoint] {
            points.map { SteeringScore.CurvePoint(magnitude: $0.0, meanScore: $0.1, count: 1) }
        }
        // Best 1.6, half 0.8: runs ≥ 0.8 are [1, 2] (width 1) and [4, 10] (width 6, with 0.8 exactly at 10).
        let c = curve([(0, 0), (1, 0.9), (2, 1.6), (3, 0.7), (4, 0.8), (6, 1.2), (8, 1.0), (10, 0.8), (12, 0.1)])
        let w = try #require(SteeringScore.halfBestWindow(c))
        #expect(w.lower == 4 && w.upper == 10 && w.width == 6)
        // Order of the points does not matter.
        #expect(SteeringScore.halfBestWindow(c.reversed()) == w)
        // A single peak: width 0; never scoring: no window.
        #expect(SteeringScore.halfBestWindow(curve([(0, 0), (5, 2), (10, 0.5)]))?.width == 0)
        #expect(SteeringScore.halfBestWindow(curve([(0, 0), (5, 0)])) == nil)
        // Equal widths: the lower run.
        #expect(SteeringScore.halfBestWindow(curve([(0, 1), (1, 1), (2, 0), (3, 1), (4, 1)])) == .init(lower: 0, upper: 1))
    }

    @Test func proxyMappingsAtTheThresholds() {
        let t = SteeringScore.ProxyThresholds.standard
        #expect(SteeringScore.level(cosine: t.conceptOne - 1e-9, one: t.conceptOne, two: t.conceptTwo) == 0)
        #expect(SteeringScore.level(cosine: t.conceptOne, one: t.conceptOne, two: t.conceptTwo) == 1)
        #expect(SteeringScore.level(cosine: t.conceptTwo - 1e-9, one: t.conceptOne, two: t.conceptTwo) == 1)
        #expect(SteeringScore.level(cosine: t.conceptTwo, one: t.conceptOne, two: t.conceptTwo) == 2)
        #expect(SteeringScore.level(cosine: .nan, one: t.conceptOne, two: t.conceptTwo) == 0)
        func ratings(_ c: Double, _ i: Double, _ ppl: Double?, degraded: Bool = false, empty: Bool = false) -> SteeringRatings {
            SteeringScore.proxyRatings(conceptCosine: c, instructionCosine: i, perplexity: ppl, degraded: degraded, empty: empty)
        }
        #expect(ratings(0.2, 0.3, 10) == .init(concept: 1, instruction: 1, fluency: 2))
        #expect(ratings(0.4, 0.6, 10.0001) == .init(concept: 2, instruction: 2, fluency: 1))
        #expect(ratings(0.1999, 0.2999, 2) == .init(concept: 0, instruction: 0, fluency: 2))
        #expect(ratings(0.9, 0.9, 2, degraded: true).fluency == 0)
        #expect(ratings(0.9, 0.9, 2, degraded: true).aggregate == 0)
        #expect(ratings(0.9, 0.9, 2, empty: true) == .init(concept: 0, instruction: 0, fluency: 0))
        #expect(ratings(0.5, 0.7, nil).fluency == 2, "without a perplexity a fluent output rates 2")
        #expect(t.conceptOne == 0.2 && t.conceptTwo == 0.4 && t.instructionOne == 0.3 && t.instructionTwo == 0.6
                && t.fluencyTwoMaxPerplexity == 10, "the documented thresholds")
    }

    @Test func summaryGivesMeanBestScoreAndTheWindowCorrelation() throws {
        // Four features on prompts 1–4 with magnitudes 0…3; feature k's score is 2 up to magnitude k, 0 after:
        // windows [0, k]… but magnitude 0 scores 0, so windows are [1, k] with width k − 1 (k ≥ 1).
        var inputs: [FeatureSteeringInput] = []
        for k in 1...4 {
            var outputs: [SteeringScore.ScoredOutput] = []
            for p in 1...4 { for m in 0...4 { outputs.append(.init(promptID: Int64(p), magnitude: Double(m), score: m >= 1 && m <= k ? 2 : 0)) } }
            inputs.append(FeatureSteeringInput(featureIndex: 10 + k, log10Density: -Double(k), magnitudeScale: 2, outputs: outputs))
        }
        let s = try SteeringScore.summarize(inputs, judge: "proxy", isProxy: true)
        #expect(s.selectionPrompts == [1, 2] && s.reportPrompts == [3, 4])
        #expect(s.features.map(\.bestFactor?.magnitude) == [1, 1, 1, 1])
        #expect(s.meanBestScore == 2)
        #expect(s.features.map(\.windowWidthInMaxActivations) == [0, 0.5, 1, 1.5])
        let r = try #require(s.sparsityVsScoreWindow)
        #expect(r.n == 4)
        #expect(abs(try #require(r.rho) + 1) < 1e-12, "denser features have narrower windows here: ρ = −1")
    }
}

/// How AxBench's judge replies are read.
@Suite struct SteeringRubricTests {
    @Test(arguments: [("The concept is clear.\nRating: [[2]]", 2.0), ("Rating: [[1]].", 1), ("**Rating: [[0]]**", 0),
                      ("Rating: 1.5", 1.5), ("First Rating: [[0]] then\nRating: [[2]]\nthanks", 2), ("Rating: \"2\"", 2)])
    func readableRatings(reply: String, value: Double) {
        #expect(SteeringRubric.parseRating(reply) == value)
    }

    @Test(arguments: ["I think it is good.", "Rating: [[3]]", "Rating: [[-1]]", "Rating: [[high]]", "Rating:", "Rating: [[nan]]"])
    func unreadableRatings(reply: String) {
        #expect(SteeringRubric.parseRating(reply) == nil)
    }

    @Test func promptsCarryTheTextsAndTheScale() {
        let c = SteeringRubric.conceptPrompt(concept: "dogs and puppies", output: "My dog barked.")
        #expect(c.contains("[Concept Start]\ndogs and puppies\n[Concept End]"))
        #expect(c.contains("[Sentence Fragment Start]\nMy dog barked.\n[Sentence Fragment End]"))
        #expect(c.contains("on a scale from 0 to 2") && c.contains("\"Rating: [[score]]\""))
        let i = SteeringRubric.instructionPrompt(instruction: "Describe your weekend.", output: "x")
        #expect(i.contains("[Instruction Start]\nDescribe your weekend.\n[Instruction End]"))
        let f = SteeringRubric.fluencyPrompt(output: "y")
        #expect(f.contains("evaluate the fluency") && !f.contains("[Concept Start]"))
    }
}
