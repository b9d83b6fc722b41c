import Analysis
import Foundation
import Testing
@testable import Study

/// What `semprog judge` prints (`JudgeRun.table`, `JudgeRun.json`) for summaries made by `SteeringScore.summarize`
/// from planted scores.
@Suite struct JudgeOutputTests {
    static let counts = JudgeRun.Counts(sweep: "s", judge: "proxy", total: 24, new: 20, judged: 18, reused: 2, already: 4,
                                        skippedFeatures: [])

    /// Feature 1 scores 2 at magnitude 4 on every prompt and 0 elsewhere; feature 2 never scores.
    static func summary(features: [(index: Int, density: Double?)] = [(1, -2), (2, -3)], isProxy: Bool = true) throws -> SteeringScoreSummary {
        let inputs = features.map { f in
            FeatureSteeringInput(featureIndex: f.index, log10Density: f.density, magnitudeScale: 1, outputs: (1...4).flatMap { p in
                [0.0, 4, 8].map { m in SteeringScore.ScoredOutput(promptID: Int64(p), magnitude: m, score: f.index == 1 && m == 4 ? 2 : 0) }
            })
        }
        return try SteeringScore.summarize(inputs, judge: isProxy ? "proxy" : "llm", isProxy: isProxy)
    }

    @Test func tableNamesTheBestFactorsAndWindows() throws {
        let s = try Self.summary()
        let lines = JudgeRun.table(Self.counts, s).split(separator: "\n").map(String.init)
        #expect(lines[0] == "judged 24 generations of sweep 's' with 'proxy': 20 new (18 judged), 2 reused from the cache, 4 already scored")
        #expect(lines[1] == "best factor per feature (proxy steering score; chosen on prompts "
                + s.selectionPrompts.map(String.init).joined(separator: ",") + ", reported on "
                + s.reportPrompts.map(String.init).joined(separator: ",") + "):")
        #expect(lines[2] == "  feature 1: factor 4: 2.000 (selection 2.000); window [4, 4]")
        #expect(lines[3].hasPrefix("  feature 2: ") && lines[3].hasSuffix("; no window"))
        #expect(lines[4] == "mean best proxy steering score: " + String(format: "%.3f", s.meanBestScore!) + " (0–2)")
        // Two features: too few for the window correlation, and the table says why.
        #expect(lines[5] == "RQ3 (score window): " + s.sparsityVsScoreWindowNote!)
        #expect(lines.count == 6)
    }

    @Test func llmJudgeIsNotLabelledAProxy() throws {
        let s = try Self.summary(features: [(1, -2), (2, -3), (3, -1), (4, -1.5)], isProxy: false)
        let table = JudgeRun.table(Self.counts, s)
        #expect(table.contains("(steering score (llm judge); chosen on") && !table.contains("proxy steering score"))
        let rq3 = try #require(s.sparsityVsScoreWindow)
        #expect(table.hasSuffix(", n \(rq3.n))" + (rq3.undefinedReason.map { ": \($0)" } ?? "")))
    }

    @Test func jsonHoldsTheCountsAndTheSummary() throws {
        let s = try Self.summary()
        struct Output: Decodable { var counts: JudgeRun.Counts; var summary: SteeringScoreSummary }
        let decoded = try JSONDecoder().decode(Output.self, from: Data(JudgeRun.json(Self.counts, s).utf8))
        #expect(decoded.summary == s && decoded.counts.new == 20 && decoded.counts.sweep == "s")
        #expect(JudgeRun.json(Self.counts, s).hasPrefix("{\"counts\":{\"already\":4,"))   // sorted keys
    }
}
