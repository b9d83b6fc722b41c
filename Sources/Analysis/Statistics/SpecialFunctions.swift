import Foundation
import RealModule

/// Special functions behind the p-values (double precision).
public enum SpecialFunctions {
    /// Regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), for a, b > 0 and 0 ≤ x ≤ 1.
    ///
    /// Evaluated by the continued fraction of Numerical Recipes (3rd ed., §6.4, `betacf`) with the modified
    /// Lentz method, switching to the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) when x > (a + 1)/(a + b + 2) so the
    /// fraction converges quickly; the prefactor x^a (1−x)^b / (a B(a, b)) uses `Double.logGamma` from
    /// swift-numerics. Relative accuracy is about 1e-14 in the tails used for p-values.
    public static func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
        precondition(a > 0 && b > 0, "incomplete beta needs a, b > 0")
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logPrefactor = Double.logGamma(a + b) - Double.logGamma(a) - Double.logGamma(b)
            + a * Double.log(x) + b * Double.log(onePlus: -x)
        let prefactor = Double.exp(logPrefactor)
        if x < (a + 1) / (a + b + 2) {
            return prefactor * betaContinuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - prefactor * betaContinuedFraction(a: b, b: a, x: 1 - x) / b
    }

    /// The upper tail of I: 1 − I_x(a, b), computed without cancellation when it is small.
    public static func complementedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
        regularizedIncompleteBeta(a: b, b: a, x: 1 - x)
    }

    /// Continued fraction for the incomplete beta function (modified Lentz).
    static func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-16
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return h
    }

    /// Two-sided p-value of Student's t statistic with `degreesOfFreedom` ν: P(|T| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, 1/2).
    /// Infinite t gives 0. Reference: Abramowitz & Stegun 26.7.1 and 26.5.27.
    public static func studentTTwoSidedPValue(t: Double, degreesOfFreedom: Double) -> Double {
        if t.isInfinite { return 0 }
        let x = degreesOfFreedom / (degreesOfFreedom + t * t)
        return min(1, regularizedIncompleteBeta(a: degreesOfFreedom / 2, b: 0.5, x: x))
    }

    /// Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|) = erfc(|z| / √2).
    public static func normalTwoSidedPValue(z: Double) -> Double {
        min(1, erfc(abs(z) / 2.0.squareRoot()))
    }
}
