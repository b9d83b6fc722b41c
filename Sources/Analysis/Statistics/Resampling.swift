import Foundation
import Randomness

/// Result of a permutation test of ρ.
public struct PermutationTest: Codable, Sendable, Equatable {
    /// Two-sided p-value.
    public var pValue: Double
    /// True when every one of the n! pairings was enumerated (then `pValue` is exact).
    public var isExact: Bool
    /// Pairings evaluated (n! when exact, else the number of random permutations).
    public var permutations: Int

    enum CodingKeys: String, CodingKey { case pValue = "p_value", isExact = "is_exact", permutations }
}

/// A percentile bootstrap confidence interval.
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    public var low: Double
    public var high: Double
    /// Nominal coverage, e.g. 0.95.
    public var level: Double
    /// Resamples drawn.
    public var resamples: Int
    /// Resamples dropped because the statistic was undefined on them (a constant resampled variable).
    public var undefinedResamples: Int

    enum CodingKeys: String, CodingKey {
        case low, high, level, resamples, undefinedResamples = "undefined_resamples"
    }
}

extension RankCorrelation {
    /// Two-sided permutation test of Spearman's ρ (pairings permuted, x held fixed), as
    /// `scipy.stats.permutation_test(..., permutation_type="pairings")`.
    ///
    /// With ρ* the statistic on a permuted pairing: p_< = P(ρ* ≤ ρ), p_> = P(ρ* ≥ ρ) (ties within 1e-12 count),
    /// p = min(1, 2 min(p_<, p_>)). Exact (all n! pairings) when n ≤ `exactLimit`; otherwise `resamples` seeded
    /// random permutations and p_< = (#{ρ* ≤ ρ} + 1)/(resamples + 1) (Phipson & Smyth 2010, so p is never 0).
    /// Reference: Good (2005), Permutation, Parametric and Bootstrap Tests of Hypotheses, ch. 3.
    /// - Returns: nil when ρ is undefined (constant input).
    public static func permutationTest(_ x: [Double], _ y: [Double], resamples: Int = 10_000, exactLimit: Int = 8,
                                       seed: UInt64 = 20_240_607, xName: String = "x", yName: String = "y") throws -> PermutationTest? {
        try validate(x, y, xName: xName, yName: yName)
        guard resamples > 0 else { throw AnalysisError.invalidSetting(name: "permutation resamples", value: "\(resamples)", expected: "a positive count") }
        if constantReason(x, y, xName: xName, yName: yName) != nil { return nil }
        let n = x.count
        let rx = Ranking.averageRanks(x), ry = Ranking.averageRanks(y)
        let mean = Double(n + 1) / 2
        let a = rx.map { $0 - mean }
        var b = ry.map { $0 - mean }
        let denominator = (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
        @inline(__always) func statistic(_ b: [Double]) -> Double {
            var s = 0.0
            for i in 0..<n { s += a[i] * b[i] }
            return s / denominator
        }
        let observed = statistic(b)
        let tolerance = 1e-12
        var less = 0, greater = 0, count = 0
        func tally(_ value: Double) {
            if value <= observed + tolerance { less += 1 }
            if value >= observed - tolerance { greater += 1 }
            count += 1
        }
        if n <= exactLimit {
            // Heap's algorithm (iterative) visits all n! orderings of b.
            var c = [Int](repeating: 0, count: n)
            tally(statistic(b))
            var i = 1
            while i < n {
                if c[i] < i {
                    if i % 2 == 0 { b.swapAt(0, i) } else { b.swapAt(c[i], i) }
                    tally(statistic(b))
                    c[i] += 1
                    i = 1
                } else {
                    c[i] = 0
                    i += 1
                }
            }
            let p = min(1, 2 * Double(min(less, greater)) / Double(count))
            return PermutationTest(pValue: p, isExact: true, permutations: count)
        }
        var rng = SplitMix64(seed: seed)
        for _ in 0..<resamples {
            for i in stride(from: n - 1, to: 0, by: -1) { b.swapAt(i, rng.nextIndex(below: i + 1)) }
            tally(statistic(b))
        }
        let pLess = Double(less + 1) / Double(resamples + 1), pGreater = Double(greater + 1) / Double(resamples + 1)
        return PermutationTest(pValue: min(1, 2 * min(pLess, pGreater)), isExact: false, permutations: resamples)
    }

    /// Percentile bootstrap confidence interval for Spearman's ρ: `resamples` seeded resamples of the n pairs
    /// with replacement, ρ recomputed on each (ranks recomputed, ties averaged); the interval is the
    /// (1−level)/2 and (1+level)/2 quantiles of the resampled ρ (linear interpolation between order statistics,
    /// numpy's default). Resamples where a variable is constant are dropped and counted.
    /// Reference: Efron & Tibshirani (1993), An Introduction to the Bootstrap, §13.3.
    /// - Returns: nil when ρ is undefined on the data or on every resample.
    public static func bootstrapInterval(_ x: [Double], _ y: [Double], resamples: Int = 10_000, level: Double = 0.95,
                                         seed: UInt64 = 20_240_607, xName: String = "x", yName: String = "y") throws -> ConfidenceInterval? {
        try validate(x, y, xName: xName, yName: yName)
        guard resamples > 0 else { throw AnalysisError.invalidSetting(name: "bootstrap resamples", value: "\(resamples)", expected: "a positive count") }
        guard level > 0 && level < 1 else { throw AnalysisError.invalidSetting(name: "confidence level", value: "\(level)", expected: "a number between 0 and 1") }
        if constantReason(x, y, xName: xName, yName: yName) != nil { return nil }
        let n = x.count
        var rng = SplitMix64(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var sx = [Double](repeating: 0, count: n), sy = sx
        for _ in 0..<resamples {
            for i in 0..<n {
                let k = rng.nextIndex(below: n)
                sx[i] = x[k]; sy[i] = y[k]
            }
            if sx.allSatisfy({ $0 == sx[0] }) || sy.allSatisfy({ $0 == sy[0] }) { continue }
            values.append(spearmanCoefficient(ranksX: Ranking.averageRanks(sx), ranksY: Ranking.averageRanks(sy)))
        }
        guard !values.isEmpty else { return nil }
        values.sort()
        let alpha = (1 - level) / 2
        return ConfidenceInterval(low: quantile(sorted: values, alpha), high: quantile(sorted: values, 1 - alpha),
                                  level: level, resamples: resamples, undefinedResamples: resamples - values.count)
    }

    /// Quantile of sorted values with linear interpolation: h = (N − 1) q, value = v[⌊h⌋] + (h − ⌊h⌋)(v[⌊h⌋+1] − v[⌊h⌋]).
    static func quantile(sorted v: [Double], _ q: Double) -> Double {
        let h = Double(v.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, v.count - 1)
        return v[lo] + (h - Double(lo)) * (v[hi] - v[lo])
    }
}

/// Settings for `RankCorrelation.summary`.
public struct RankCorrelationOptions: Codable, Sendable, Equatable {
    /// Random permutations when n exceeds `exactPermutationLimit`.
    public var permutationResamples: Int = 10_000
    /// Largest n for which all n! pairings are enumerated.
    public var exactPermutationLimit: Int = 8
    /// Bootstrap resamples.
    public var bootstrapResamples: Int = 10_000
    /// Confidence level of the bootstrap interval.
    public var confidenceLevel: Double = 0.95
    /// Seed of every resampling.
    public var seed: UInt64 = 20_240_607

    public init() {}

    enum CodingKeys: String, CodingKey {
        case permutationResamples = "permutation_resamples", exactPermutationLimit = "exact_permutation_limit"
        case bootstrapResamples = "bootstrap_resamples", confidenceLevel = "confidence_level", seed
    }
}

/// Spearman ρ with its t-distribution and permutation p-values, bootstrap CI, and Kendall τ-b alongside.
/// Encodes as `{"n", "rho", "p_value", "p_permutation", "ci_low", "ci_high", "kendall_tau", "kendall_p_value", …}`;
/// undefined values encode as null and `undefined_reason` says why.
public struct RankCorrelationSummary: Codable, Sendable, Equatable {
    public var n: Int
    public var rho: Double?
    /// Student-t p-value (scipy.stats.spearmanr).
    public var pValue: Double?
    public var pPermutation: Double?
    public var permutationIsExact: Bool?
    public var ciLow: Double?
    public var ciHigh: Double?
    public var confidenceLevel: Double
    public var bootstrapResamples: Int
    public var kendallTau: Double?
    public var kendallPValue: Double?
    public var undefinedReason: String?

    enum CodingKeys: String, CodingKey {
        case n, rho, pValue = "p_value", pPermutation = "p_permutation", permutationIsExact = "permutation_is_exact"
        case ciLow = "ci_low", ciHigh = "ci_high", confidenceLevel = "confidence_level"
        case bootstrapResamples = "bootstrap_resamples", kendallTau = "kendall_tau", kendallPValue = "kendall_p_value"
        case undefinedReason = "undefined_reason"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(n, forKey: .n)
        try c.encode(rho, forKey: .rho)
        try c.encode(pValue, forKey: .pValue)
        try c.encode(pPermutation, forKey: .pPermutation)
        try c.encode(permutationIsExact, forKey: .permutationIsExact)
        try c.encode(ciLow, forKey: .ciLow)
        try c.encode(ciHigh, forKey: .ciHigh)
        try c.encode(confidenceLevel, forKey: .confidenceLevel)
        try c.encode(bootstrapResamples, forKey: .bootstrapResamples)
        try c.encode(kendallTau, forKey: .kendallTau)
        try c.encode(kendallPValue, forKey: .kendallPValue)
        try c.encodeIfPresent(undefinedReason, forKey: .undefinedReason)
    }
}

extension RankCorrelation {
    /// Everything RQ3 (and `semprog stats spearman`) reports about the association of x and y.
    /// - Throws: `AnalysisError` for unequal lengths, fewer than 3 points or non-finite values.
    public static func summary(_ x: [Double], _ y: [Double], options: RankCorrelationOptions = .init(),
                               xName: String = "x", yName: String = "y") throws -> RankCorrelationSummary {
        let s = try spearman(x, y, xName: xName, yName: yName)
        let k = try kendallTauB(x, y, xName: xName, yName: yName)
        let perm = try permutationTest(x, y, resamples: options.permutationResamples, exactLimit: options.exactPermutationLimit,
                                       seed: options.seed, xName: xName, yName: yName)
        let ci = try bootstrapInterval(x, y, resamples: options.bootstrapResamples, level: options.confidenceLevel,
                                       seed: options.seed, xName: xName, yName: yName)
        return RankCorrelationSummary(n: s.n, rho: s.coefficient, pValue: s.pValue, pPermutation: perm?.pValue,
                                      permutationIsExact: perm?.isExact, ciLow: ci?.low, ciHigh: ci?.high,
                                      confidenceLevel: options.confidenceLevel, bootstrapResamples: options.bootstrapResamples,
                                      kendallTau: k.coefficient, kendallPValue: k.pValue, undefinedReason: s.undefinedReason)
    }
}
