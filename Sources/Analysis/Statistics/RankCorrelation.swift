import Foundation

/// The outcome of one correlation test. When the coefficient is undefined (an input is constant) `coefficient`
/// and `pValue` are nil and `undefinedReason` says why — never a silent NaN.
public struct CorrelationTest: Codable, Sendable, Equatable {
    /// Number of (x, y) pairs.
    public var n: Int
    /// ρ or τ-b in [−1, 1]; nil when undefined.
    public var coefficient: Double?
    /// Two-sided p-value; nil when undefined.
    public var pValue: Double?
    /// Why the coefficient is undefined; nil when it is defined.
    public var undefinedReason: String?

    public var isDefined: Bool { coefficient != nil }

    enum CodingKeys: String, CodingKey {
        case n, coefficient, pValue = "p_value", undefinedReason = "undefined_reason"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(n, forKey: .n)
        try c.encode(coefficient, forKey: .coefficient)
        try c.encode(pValue, forKey: .pValue)
        try c.encodeIfPresent(undefinedReason, forKey: .undefinedReason)
    }
}

/// Rank correlations (Spearman ρ, Kendall τ-b) with their significance and uncertainty, as used for RQ3.
public enum RankCorrelation {
    /// Checks paired input: equal lengths, at least 3 points, all finite. Throws a message naming the variable.
    static func validate(_ x: [Double], _ y: [Double], xName: String, yName: String) throws {
        guard x.count == y.count else { throw AnalysisError.lengthMismatch(field: yName, expected: x.count, got: y.count) }
        guard x.count >= 3 else { throw AnalysisError.tooFewPoints(what: "rank correlation of \(xName) and \(yName)", count: x.count, minimum: 3) }
        if let i = x.firstIndex(where: { !$0.isFinite }) { throw AnalysisError.nonFinite(field: xName, index: i) }
        if let i = y.firstIndex(where: { !$0.isFinite }) { throw AnalysisError.nonFinite(field: yName, index: i) }
    }

    /// Why a correlation of x and y is undefined (an input with all values equal), or nil.
    static func constantReason(_ x: [Double], _ y: [Double], xName: String, yName: String) -> String? {
        if let first = x.first, x.allSatisfy({ $0 == first }) {
            return "\(xName) is constant (all \(x.count) values equal \(first)): the rank correlation is undefined"
        }
        if let first = y.first, y.allSatisfy({ $0 == first }) {
            return "\(yName) is constant (all \(y.count) values equal \(first)): the rank correlation is undefined"
        }
        return nil
    }

    /// Spearman's rank correlation ρ with its two-sided p-value, exactly as `scipy.stats.spearmanr`.
    ///
    /// ρ is Pearson's correlation of the average ranks (ties share the mean of the ranks they span):
    /// ρ = Σ(rxᵢ − r̄)(ryᵢ − r̄) / √(Σ(rxᵢ − r̄)² Σ(ryᵢ − r̄)²), clipped to [−1, 1].
    /// p-value: t = ρ √((n − 2) / ((1 + ρ)(1 − ρ))) referred to Student's t with n − 2 degrees of freedom,
    /// p = P(|T| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, 1/2). The t approximation is exact under bivariate normality and
    /// good for n ≳ 10; for small n prefer `permutationTest`. Unitless.
    /// Reference: Zar (1972), JASA 67:578; scipy.stats.spearmanr (SciPy 1.17).
    /// - Throws: `AnalysisError` for unequal lengths, fewer than 3 points, or non-finite values.
    /// - Returns: an undefined result (nil ρ and p, with the reason) when x or y is constant.
    public static func spearman(_ x: [Double], _ y: [Double], xName: String = "x", yName: String = "y") throws -> CorrelationTest {
        try validate(x, y, xName: xName, yName: yName)
        if let reason = constantReason(x, y, xName: xName, yName: yName) {
            return CorrelationTest(n: x.count, coefficient: nil, pValue: nil, undefinedReason: reason)
        }
        let rho = spearmanCoefficient(ranksX: Ranking.averageRanks(x), ranksY: Ranking.averageRanks(y))
        return CorrelationTest(n: x.count, coefficient: rho, pValue: spearmanPValue(rho: rho, n: x.count), undefinedReason: nil)
    }

    /// ρ from precomputed ranks (NaN if a rank vector is constant; callers check first).
    static func spearmanCoefficient(ranksX: [Double], ranksY: [Double]) -> Double {
        let n = Double(ranksX.count)
        var meanX = 0.0, meanY = 0.0
        for i in ranksX.indices { meanX += ranksX[i]; meanY += ranksY[i] }
        meanX /= n; meanY /= n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in ranksX.indices {
            let dx = ranksX[i] - meanX, dy = ranksY[i] - meanY
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        return max(-1, min(1, sxy / sxx.squareRoot() / syy.squareRoot()))
    }

    /// Two-sided Student-t p-value of ρ with n − 2 degrees of freedom (see `spearman`).
    public static func spearmanPValue(rho: Double, n: Int) -> Double {
        let dof = Double(n - 2)
        let t = rho * max(0, dof / ((rho + 1) * (1 - rho))).squareRoot()
        return SpecialFunctions.studentTTwoSidedPValue(t: t, degreesOfFreedom: dof)
    }

    /// Kendall's τ-b with its asymptotic two-sided p-value, as `scipy.stats.kendalltau(method="asymptotic")`.
    ///
    /// Over all pairs i < j: C concordant, D discordant, T_x pairs tied in x, T_y tied in y (joint ties counted in
    /// both), N = n(n−1)/2; τ_b = (C − D) / √((N − T_x)(N − T_y)).
    /// Variance of C − D under independence, with tie groups of sizes t (in x) and u (in y) and m = n(n−1):
    /// Var = [m(2n+5) − Σt(t−1)(2t+5) − Σu(u−1)(2u+5)]/18 + 2 T_x T_y / m + Σt(t−1)(t−2) Σu(u−1)(u−2) / (9m(n−2));
    /// z = (C − D)/√Var, p = erfc(|z|/√2). Valid for moderate n (≳ 10). Unitless.
    /// Reference: Kendall (1945), Biometrika 33:239; Agresti (2010), Analysis of Ordinal Categorical Data §7.1.
    public static func kendallTauB(_ x: [Double], _ y: [Double], xName: String = "x", yName: String = "y") throws -> CorrelationTest {
        try validate(x, y, xName: xName, yName: yName)
        if let reason = constantReason(x, y, xName: xName, yName: yName) {
            return CorrelationTest(n: x.count, coefficient: nil, pValue: nil, undefinedReason: reason)
        }
        let n = x.count
        var concordantMinusDiscordant = 0.0, tiesX = 0.0, tiesY = 0.0
        for i in 0..<n {
            for j in (i + 1)..<n {
                let dx = x[i] - x[j], dy = y[i] - y[j]
                if dx == 0 { tiesX += 1 }
                if dy == 0 { tiesY += 1 }
                if dx != 0 && dy != 0 { concordantMinusDiscordant += (dx > 0) == (dy > 0) ? 1 : -1 }
            }
        }
        let total = Double(n * (n - 1) / 2)
        let tau = max(-1, min(1, concordantMinusDiscordant / (total - tiesX).squareRoot() / (total - tiesY).squareRoot()))
        func tieSums(_ v: [Double]) -> (Double, Double) {
            var v0 = 0.0, v1 = 0.0
            for t in Ranking.tieGroupSizes(v).map(Double.init) {
                v0 += t * (t - 1) * (t - 2); v1 += t * (t - 1) * (2 * t + 5)
            }
            return (v0, v1)
        }
        let (x0, x1) = tieSums(x), (y0, y1) = tieSums(y)
        let nn = Double(n), m = nn * (nn - 1)
        let variance = (m * (2 * nn + 5) - x1 - y1) / 18 + 2 * tiesX * tiesY / m + x0 * y0 / (9 * m * (nn - 2))
        let z = concordantMinusDiscordant / variance.squareRoot()
        return CorrelationTest(n: n, coefficient: tau, pValue: SpecialFunctions.normalTwoSidedPValue(z: z), undefinedReason: nil)
    }
}
