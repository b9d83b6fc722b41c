import Foundation
import Testing
@testable import Analysis

@Suite struct DegradationTests {
    static let fluent = [
        "The river runs past the old mill, where children used to swim on hot summer afternoons. Their parents watched from the bridge and talked about the harvest.",
        "I think the best way to learn a language is to read books you enjoy, listen to music, and talk with people who speak it every day.",
        "Dogs are loyal companions. They need regular walks, a balanced diet and plenty of attention, but they repay their owners with years of affection.",
        "In 1969, astronauts landed on the Moon for the first time. Millions of people watched the grainy pictures on television and wondered what would come next.",
    ]
    static let degenerate = [
        "dog dog dog dog dog dog dog dog dog dog dog dog dog dog dog dog dog dog dog dog",
        "the cat sat the cat sat the cat sat the cat sat the cat sat the cat sat the cat sat",
        "##@@ $$%% ^^&& **(( 0x9f3a @#$%^ ~~~~ <<>> |||| ]]]] {{{{ ////",
        "",
        "I love dogs. I love dogs. I love dogs. I love dogs. I love dogs. I love dogs. I love dogs.",
    ]

    @Test func distinctAndRepeatOnHandMadeTexts() {
        let m = DegradationMetrics(text: "a b a b a b")
        #expect(m.tokenCount == 6)
        #expect(m.distinct1 == 2.0 / 6)
        #expect(m.distinct2 == 2.0 / 5)
        #expect(m.distinct3 == 2.0 / 4)
        #expect(m.longestRepeatShare == 4.0 / 6)
        let unique = DegradationMetrics(text: "One two three four five")
        #expect(unique.distinct1 == 1 && unique.distinct2 == 1 && unique.distinct3 == 1 && unique.longestRepeatShare == 0)
        let short = DegradationMetrics(text: "hello")
        #expect(short.distinct2 == 1 && short.distinct3 == 1)
        // Case-insensitive tokens.
        #expect(DegradationMetrics(text: "The the THE").distinct1 == 1.0 / 3)
    }

    @Test func compressionRatioGrowsWithRepetition() {
        let fluent = DegradationMetrics.compressionRatio(Self.fluent[0])
        let loop = DegradationMetrics.compressionRatio(String(repeating: "the cat sat ", count: 30))
        #expect(fluent > 0.55 && fluent < 1.2)
        #expect(loop < 0.2)
        #expect(DegradationMetrics.compressionRatio("") == 1)
    }

    @Test func nonWordShare() {
        #expect(DegradationMetrics(text: "Hello, world! It's well-known (1999).").nonWordShare == 0)
        #expect(DegradationMetrics(text: "@@@ ### word x7z$ ok").nonWordShare == 3.0 / 5)
        #expect(DegradationMetrics.isWord("café"))
        #expect(!DegradationMetrics.isWord("--"))
        #expect(!DegradationMetrics.isWord("abc123"))
        #expect(DegradationMetrics.isWord("3.14"))
    }

    @Test func ruleSeparatesFluentFromDegenerate() {
        let rule = DegradationRule()
        for text in Self.fluent {
            let m = DegradationMetrics(text: text)
            #expect(!rule.isDegraded(m), "fluent judged degraded (score \(rule.score(m))): \(text)")
            #expect(rule.score(m) < 0.3)
        }
        for text in Self.degenerate {
            let m = DegradationMetrics(text: text)
            #expect(rule.isDegraded(m), "degenerate judged fluent (score \(rule.score(m))): \(text)")
        }
    }

    @Test func perplexityCountsWhenGiven() {
        let rule = DegradationRule()
        let text = Self.fluent[1]
        #expect(!rule.isDegraded(DegradationMetrics(text: text, perplexity: 20)))
        #expect(rule.isDegraded(DegradationMetrics(text: text, perplexity: 5000)))
        #expect(rule.score(DegradationMetrics(text: text, perplexity: 1000)) == 1)
    }

    @Test func ruleDecodesWithDefaultsAndRejectsBadAnchors() throws {
        let rule = try JSONDecoder().decode(DegradationRule.self, from: Data(#"{"threshold": 0.7}"#.utf8))
        #expect(rule.threshold == 0.7 && rule.compressionDegenerate == DegradationRule().compressionDegenerate)
        #expect(throws: AnalysisError.self) {
            try JSONDecoder().decode(DegradationRule.self, from: Data(#"{"loop_fluent": 0.9, "loop_degenerate": 0.2}"#.utf8))
        }
        #expect(throws: AnalysisError.self) {
            try JSONDecoder().decode(DegradationRule.self, from: Data(#"{"compression_fluent": 0.2, "compression_degenerate": 0.5}"#.utf8))
        }
    }

    @Test func onsetIsFirstMagnitudeFromWhichOutputStaysDegraded() throws {
        let m: [Double] = [1, 2, 3, 4, 5, 6]
        #expect(try degradationOnset(magnitudes: m, degraded: [false, true, false, true, true, true]) == 4)
        #expect(try degradationOnset(magnitudes: m, degraded: [false, false, false, false, true, false]) == nil)
        #expect(try degradationOnset(magnitudes: m, degraded: [true, true, true, true, true, true]) == 1)
        #expect(try degradationOnset(magnitudes: [], degraded: []) == nil)
        // Unsorted input is ordered by magnitude first.
        #expect(try degradationOnset(magnitudes: [30, 10, 20], degraded: [true, false, true]) == 20)
        #expect(try degradationOnsetPosition(magnitudes: [30, 10, 20], degraded: [true, false, true])?.index == 1)
        #expect(throws: AnalysisError.lengthMismatch(field: "degraded", expected: 2, got: 1)) {
            try degradationOnset(magnitudes: [1, 2], degraded: [true])
        }
    }
}
