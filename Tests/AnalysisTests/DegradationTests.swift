import Randomness
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
        #expect(m.unit == .characters && m.wordCount == 6 && m.wordDistinct2 == 2.0 / 5)
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
        // Operators and single punctuation are neutral; code-like words are words.
        #expect(DegradationMetrics(text: "x = foo(bar) + 1 - print(i);").nonWordShare == 0)
        #expect(DegradationMetrics.isWord("café"))
        #expect(!DegradationMetrics.isWord("--"))
        #expect(!DegradationMetrics.isWord("abc1x3"))
        #expect(DegradationMetrics.isWord("utf8") && DegradationMetrics.isWord("1st"))
        #expect(!DegradationMetrics.isWord("please}}}}}}}}}}}}"))
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

/// The failure modes of issue #23 and the texts that must not be judged degenerate.
@Suite struct DegradationFailureModeTests {
    /// The demo's outputs judged fluent by the whitespace-word detector (distinct-1 = 1.0): loops of a token or a
    /// short token cycle without spaces. Shown here as their first characters and as the model emitted them.
    static let loopsWithoutSpaces = [
        "please}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}",
        " thus////////////////////////////////////////////////////////////",
        "dis-//-/------------------------------------------------------",
        "when/ when / or/ when/ or////////////////////////////////////////",
    ]

    @Test(arguments: loopsWithoutSpaces)
    func loopsWithoutSpacesAreDegradedOverCharacters(text: String) {
        let rule = DegradationRule()
        let m = DegradationMetrics(text: text)
        #expect(m.unit == .characters)
        #expect(rule.isDegraded(m), "score \(rule.score(m)), severities \(rule.severities(m))")
    }

    /// The same loops as token ids (a word token, then one repeated symbol token or a short cycle).
    @Test func tokenLoopsAreDegraded() {
        let rule = DegradationRule()
        let oneToken = [4567] + Array(repeating: 21390, count: 31)           // please + }}}} × 31
        let cycle = [11, 12, 13, 11, 12, 14] + Array(repeating: [11, 12, 13, 12], count: 6).flatMap { $0 } + Array(repeating: 15, count: 2)
        let slow = Array((100..<114)) + Array(repeating: [7, 8], count: 9).flatMap { $0 }  // 14 fluent tokens, then a 2-cycle
        for (name, ids) in [("one token", oneToken), ("4-cycle", cycle), ("late 2-cycle", slow)] {
            let m = DegradationMetrics(text: "please}}}}", tokenIDs: ids)
            #expect(m.unit == .tokens && m.tokenCount == ids.count)
            #expect(rule.isDegraded(m), "\(name): score \(rule.score(m)), \(rule.severities(m))")
        }
        // The old detector saw one word and called it fluent: whitespace words are now only one signal.
        #expect(DegradationMetrics(text: Self.loopsWithoutSpaces[0]).wordCount == 1)
    }

    static let notDegenerate = [
        // code
        "def area(r):\n    return 3.14159 * r ** 2\n\nfor i in range(10):\n    print(i, area(i))",
        "let total = items.map { $0.price }.reduce(0, +) // sum of prices\nif total > 100 { applyDiscount() }",
        // lists
        "1. Preheat the oven to 200 degrees.\n2. Chop the onions and garlic.\n3. Fry them in olive oil.\n4. Add the tomatoes and simmer for 20 minutes.",
        "- apples\n- pears\n- bread\n- milk\n- eggs\n- cheese\n- coffee",
        // verse
        "Roses are red, violets are blue,\nsugar is sweet, and so are you.\nThe sea is wide, the sky is high,\nand clouds drift slowly, drifting by.",
        // numbers
        "The readings were 3.14, 2.72, 1.41, 1.73, 2.24 and 2.65; the mean is 2.31 (n = 6, sd = 0.61).",
        "Call 555-0142 between 9:00 and 17:30, or write to P.O. Box 1234, 10115 Berlin.",
        // not English
        "Le voyage a commencé à l'aube : nous avons traversé la forêt, puis la rivière, avant d'arriver au village.",
        "Am Wochenende gehe ich gern wandern, lese ein gutes Buch und koche mit Freunden ein einfaches Abendessen.",
        "我们早上出发，穿过森林和河流，傍晚终于到达了山脚下的小村庄。",
        "週末は友達と公園を散歩して、夜は家で映画を見るのが好きです。",
        "Путешествие началось на рассвете: мы пересекли лес и реку и к вечеру добрались до деревни.",
    ]

    @Test(arguments: notDegenerate)
    func codeListsVerseNumbersAndOtherLanguagesAreNotDegenerate(text: String) {
        let rule = DegradationRule()
        let m = DegradationMetrics(text: text)
        #expect(!rule.isDegraded(m), "score \(rule.score(m)), severities \(rule.severities(m)): \(text)")
    }

    @Test func characterUnits() {
        #expect(DegradationMetrics.characterUnits(of: "Hello, world!") == ["hello", ",", "world", "!"])
        #expect(DegradationMetrics.characterUnits(of: "ab}}") == ["ab", "}", "}"])
        #expect(DegradationMetrics.characterUnits(of: "我们早") == ["我", "们", "早"])
        #expect(DegradationMetrics.characterUnits(of: "  ").isEmpty)
    }
}

/// The O(n log n) longest-repeat search against the O(n²) definition on seeded random sequences.
@Suite struct LongestRepeatTests {
    static func bruteForce(_ ids: [Int]) -> Int {
        var best = 0
        for i in 0..<ids.count {
            for j in (i + 1)..<max(i + 1, ids.count) {
                var k = 0
                while j + k < ids.count && ids[i + k] == ids[j + k] { k += 1 }
                best = max(best, k)
            }
        }
        return best
    }

    @Test(arguments: [2, 3, 5, 40])
    func matchesTheDefinition(alphabet: Int) {
        var rng = SplitMix64(seed: UInt64(alphabet))
        for length in [0, 1, 2, 3, 7, 30, 120] {
            let ids = (0..<length).map { _ in Int(rng.next() % UInt64(alphabet)) }
            #expect(DegradationMetrics.longestRepeatLength(ids) == Self.bruteForce(ids), "\(ids)")
        }
        #expect(DegradationMetrics.longestRepeatLength([Int](repeating: 7, count: 50)) == 49, "a loop of one token overlaps itself")
        #expect(DegradationMetrics.longestRepeatLength([1, 2, 3, 1, 2, 3, 1, 2]) == 5)
    }
}
