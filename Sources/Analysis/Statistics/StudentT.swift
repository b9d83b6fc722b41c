import Foundation

extension SpecialFunctions {
    /// The two-sided critical value of Student's t with ν = `degreesOfFreedom`: the t > 0 with
    /// P(|T| ≥ t) = `alpha`, i.e. the (1 − α/2) quantile (t₀.₉₇₅,ν for α = 0.05). Found by bisection on
    /// `studentTTwoSidedPValue` (monotone decreasing in t) to a relative width of 1e-12, so it is as exact as the
    /// incomplete beta. Checked against tables: t₀.₉₇₅ = 12.706 (ν 1), 2.228 (ν 10), 2.042 (ν 30), → 1.960
    /// (NIST/SEMATECH e-Handbook §1.3.6.7.2). `alpha` must be in (0, 1), ν > 0.
    public static func studentTCriticalValue(alpha: Double = 0.05, degreesOfFreedom: Double) -> Double {
        precondition(alpha > 0 && alpha < 1 && degreesOfFreedom > 0, "alpha in (0, 1) and ν > 0")
        var low = 0.0, high = 1.0
        while studentTTwoSidedPValue(t: high, degreesOfFreedom: degreesOfFreedom) > alpha { low = high; high *= 2 }
        while high - low > 1e-12 * high {
            let mid = (low + high) / 2
            if studentTTwoSidedPValue(t: mid, degreesOfFreedom: degreesOfFreedom) > alpha { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}
