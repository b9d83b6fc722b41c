import Foundation
import Randomness
import Testing
@testable import Analysis

/// One case of Fixtures/rank_correlation.json (made by Fixtures/make_fixtures.py with SciPy).
struct ScipyCase: Decodable {
    var name: String
    var x: [Double]
    var y: [Double]
    var rho: Double?
    var p_value: Double?
    var kendall_tau: Double?
    var kendall_p_value: Double?
    var p_permutation_exact: Double?
    var ci_percentile: [Double]?
}

struct ScipyFixtures: Decodable {
    var scipy_version: String
    var cases: [ScipyCase]

    static func load() throws -> ScipyFixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/rank_correlation.json")
        return try JSONDecoder().decode(ScipyFixtures.self, from: Data(contentsOf: url))
    }
}

@Suite struct RankCorrelationTests {
    @Test func averageRanksMatchScipyRankdata() {
        #expect(Ranking.averageRanks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4])
        #expect(Ranking.averageRanks([3, 1, 2]) == [3, 1, 2])
        #expect(Ranking.averageRanks([5, 5, 5]) == [2, 2, 2])
    }

    @Test func spearmanAndKendallMatchScipy() throws {
        let fixtures = try ScipyFixtures.load()
        #expect(fixtures.cases.count >= 10)
        #expect(fixtures.cases.contains { $0.name.hasPrefix("ties") } && fixtures.cases.contains { $0.name.hasPrefix("no_ties") })
        for c in fixtures.cases {
            let s = try RankCorrelation.spearman(c.x, c.y)
            let rho = try #require(s.coefficient, "\(c.name)")
            let expectedRho = try #require(c.rho)
            #expect(abs(rho - expectedRho) <= 1e-9, "\(c.name): rho \(rho) vs scipy \(expectedRho)")
            let p = try #require(s.pValue)
            #expect(abs(p - c.p_value!) <= 1e-6, "\(c.name): p \(p) vs scipy \(c.p_value!)")
            let k = try RankCorrelation.kendallTauB(c.x, c.y)
            #expect(abs(k.coefficient! - c.kendall_tau!) <= 1e-9, "\(c.name): tau \(k.coefficient!) vs scipy \(c.kendall_tau!)")
            #expect(abs(k.pValue! - c.kendall_p_value!) <= 1e-6, "\(c.name): tau p \(k.pValue!) vs scipy \(c.kendall_p_value!)")
        }
    }

    @Test func exactPermutationPValueMatchesScipy() throws {
        let cases = try ScipyFixtures.load().cases.filter { $0.p_permutation_exact != nil && $0.x.count <= 8 }
        #expect(cases.count >= 4)
        for c in cases {
            let test = try #require(try RankCorrelation.permutationTest(c.x, c.y))
            #expect(test.isExact)
            #expect(test.permutations == (1...c.x.count).reduce(1, *))
            #expect(abs(test.pValue - c.p_permutation_exact!) <= 1e-12, "\(c.name): \(test.pValue) vs scipy \(c.p_permutation_exact!)")
        }
    }

    @Test func monteCarloPermutationIsWithinMonteCarloErrorOfExact() throws {
        // n = 9 is above the exact limit: 10,000 random permutations against scipy's exact enumeration of 9!.
        let c = try #require(try ScipyFixtures.load().cases.first { $0.x.count == 9 && $0.p_permutation_exact != nil })
        let exact = c.p_permutation_exact!
        let test = try #require(try RankCorrelation.permutationTest(c.x, c.y, resamples: 10_000, seed: 11))
        #expect(!test.isExact)
        let standardError = (exact * (1 - exact) / 10_000).squareRoot() * 2 // two-sided p doubles a tail
        #expect(abs(test.pValue - exact) <= 4 * standardError + 2e-4, "MC \(test.pValue) vs exact \(exact)")
        // Exact enumeration of 9! by our own code agrees with scipy too.
        let ours = try #require(try RankCorrelation.permutationTest(c.x, c.y, exactLimit: 9))
        #expect(ours.isExact && abs(ours.pValue - exact) <= 1e-12)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func invariantUnderMonotoneTransforms(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let n = 12 + Int(seed) * 7
        let x = (0..<n).map { _ in rng.nextUnit() * 4 - 2 }
        let y = x.map { $0 + rng.nextUnit() * 2 }
        let base = try RankCorrelation.spearman(x, y).coefficient!
        let transformed = try RankCorrelation.spearman(x.map { Double.exp($0) }, y.map { $0 * $0 * $0 + 5 }).coefficient!
        #expect(abs(base - transformed) < 1e-12)
        #expect(abs(try RankCorrelation.spearman(x, x).coefficient! - 1) < 1e-12)
        #expect(abs(try RankCorrelation.spearman(x, x.map { -$0 }).coefficient! + 1) < 1e-12)
        #expect(try RankCorrelation.spearman(x, x).pValue! < 1e-12)
        // Symmetric in its arguments; Kendall likewise invariant.
        #expect(abs(try RankCorrelation.spearman(y, x).coefficient! - base) < 1e-12)
        let tau = try RankCorrelation.kendallTauB(x, y).coefficient!
        #expect(abs(try RankCorrelation.kendallTauB(x.map { 3 * $0 - 1 }, y.map { Double.exp($0) }).coefficient! - tau) < 1e-12)
    }

    @Test func constantInputIsUndefinedNotNaN() throws {
        let s = try RankCorrelation.spearman([1, 2, 3, 4], [7, 7, 7, 7], yName: "robustness")
        #expect(s.coefficient == nil && s.pValue == nil)
        #expect(s.undefinedReason?.contains("robustness is constant") == true)
        let summary = try RankCorrelation.summary([2, 2, 2], [1, 2, 3])
        #expect(summary.rho == nil && summary.pPermutation == nil && summary.ciLow == nil && summary.kendallTau == nil)
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        #expect(json.contains("\"rho\":null") && json.contains("undefined_reason") && !json.contains("NaN"))
    }

    @Test func tooFewPointsAndBadInputThrow() {
        #expect(throws: AnalysisError.tooFewPoints(what: "rank correlation of x and y", count: 2, minimum: 3)) {
            try RankCorrelation.spearman([1, 2], [3, 4])
        }
        #expect(throws: AnalysisError.lengthMismatch(field: "y", expected: 3, got: 4)) {
            try RankCorrelation.spearman([1, 2, 3], [1, 2, 3, 4])
        }
        #expect(throws: AnalysisError.nonFinite(field: "x", index: 1)) {
            try RankCorrelation.kendallTauB([1, .nan, 3], [1, 2, 3])
        }
    }

    @Test func bootstrapIntervalIsSeededAndBracketsRho() throws {
        var rng = SplitMix64(seed: 99)
        let x = (0..<82).map { _ in rng.nextUnit() }
        let y = x.map { $0 + 0.5 * rng.nextUnit() }
        let rho = try RankCorrelation.spearman(x, y).coefficient!
        let a = try #require(try RankCorrelation.bootstrapInterval(x, y, seed: 5))
        let b = try #require(try RankCorrelation.bootstrapInterval(x, y, seed: 5))
        let c = try #require(try RankCorrelation.bootstrapInterval(x, y, seed: 6))
        #expect(a == b)
        #expect(a != c)
        #expect(a.low < rho && rho < a.high && a.high <= 1 && a.low >= -1)
        #expect(a.resamples == 10_000 && a.undefinedResamples == 0)
        // Fisher-z standard error 1.06/√(n−3) gives a width of about 0.2 here; the bootstrap should be similar.
        #expect(a.high - a.low > 0.05 && a.high - a.low < 0.4)
    }

    @Test func bootstrapIntervalAgreesWithScipyWithinMonteCarloError() throws {
        // Different random streams, so only Monte-Carlo agreement is expected: the 2.5 % and 97.5 % quantiles of
        // 10,000 resamples have standard errors near 0.005 for these n; allow 0.03.
        let cases = try ScipyFixtures.load().cases.filter { $0.ci_percentile != nil }
        #expect(cases.count == 3)
        for c in cases {
            let ci = try #require(try RankCorrelation.bootstrapInterval(c.x, c.y, resamples: 10_000, seed: 42))
            #expect(abs(ci.low - c.ci_percentile![0]) < 0.03, "\(c.name): low \(ci.low) vs scipy \(c.ci_percentile![0])")
            #expect(abs(ci.high - c.ci_percentile![1]) < 0.03, "\(c.name): high \(ci.high) vs scipy \(c.ci_percentile![1])")
        }
    }

    @Test func quantileInterpolatesLikeNumpy() {
        #expect(RankCorrelation.quantile(sorted: [1, 2, 3, 4], 0.5) == 2.5)
        #expect(RankCorrelation.quantile(sorted: [0, 10], 0.025) == 0.25)
        #expect(RankCorrelation.quantile(sorted: [5], 0.975) == 5)
    }

    @Test func incompleteBetaKnownValues() {
        // I_x(1, 1) = x; I_x(a, 1) = x^a; I_0.5(a, a) = 0.5.
        #expect(abs(SpecialFunctions.regularizedIncompleteBeta(a: 1, b: 1, x: 0.3) - 0.3) < 1e-14)
        #expect(abs(SpecialFunctions.regularizedIncompleteBeta(a: 2.5, b: 1, x: 0.4) - pow(0.4, 2.5)) < 1e-14)
        #expect(abs(SpecialFunctions.regularizedIncompleteBeta(a: 7, b: 7, x: 0.5) - 0.5) < 1e-14)
        // Student t with 1 df is Cauchy: P(|T| ≥ 1) = 0.5.
        #expect(abs(SpecialFunctions.studentTTwoSidedPValue(t: 1, degreesOfFreedom: 1) - 0.5) < 1e-14)
        #expect(abs(SpecialFunctions.normalTwoSidedPValue(z: 1.959963984540054) - 0.05) < 1e-12)
    }
}
