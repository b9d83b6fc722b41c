import Foundation

/// Axis ticks at "nice" numbers (1, 2, 5 × 10^k), after Heckbert, "Nice numbers for graph labels",
/// Graphics Gems (1990). The ticks cover the data range; `labels` use just enough decimals to tell them apart.
public struct NiceTicks: Sendable, Equatable {
    public let values: [Double]
    public let step: Double
    public let labels: [String]

    /// The nice number near `x`: with `round`, the closest of 1, 2, 5, 10 × 10^k; else the smallest ≥ x.
    public static func niceNumber(_ x: Double, round: Bool) -> Double {
        let exponent = floor(log10(x))
        let fraction = x / pow(10, exponent)
        let nice: Double
        if round {
            nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        } else {
            nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        }
        return nice * pow(10, exponent)
    }

    /// Ticks for the data range `lower…upper`, aiming at about `target` ticks (≥ 2).
    /// A zero-width range is widened to ±1 (or ±10 % of the value).
    public init(lower: Double, upper: Double, target: Int = 5) throws {
        guard lower.isFinite, upper.isFinite else {
            throw PlotError.invalidData(field: "axis range", reason: "non-finite bounds \(lower)…\(upper)")
        }
        var lo = min(lower, upper), hi = max(lower, upper)
        if hi - lo < 1e-12 * max(abs(lo), 1) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        let range = NiceTicks.niceNumber(hi - lo, round: false)
        let step = NiceTicks.niceNumber(range / Double(max(target - 1, 1)), round: true)
        let first = floor(lo / step + 1e-9) * step
        let last = ceil(hi / step - 1e-9) * step
        let count = Int(((last - first) / step).rounded()) + 1
        var values: [Double] = []
        for i in 0..<count {
            var v = first + Double(i) * step
            if abs(v) < step * 1e-9 { v = 0 }
            values.append(v)
        }
        self.values = values
        self.step = step
        let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
        let largest = values.map(abs).max() ?? 0
        if largest >= 1e6 || decimals > 6 {
            // Scientific notation with enough significant digits to tell neighbouring ticks apart.
            let digits = min(15, max(1, Int(floor(log10(largest))) - Int(floor(log10(step) + 1e-9)) + 1))
            self.labels = values.map { $0 == 0 ? "0" : String(format: "%.\(digits - 1)e", $0) }
        } else {
            self.labels = values.map { NiceTicks.format($0, decimals: decimals) }
        }
    }

    /// Fixed-point formatting with `decimals` digits, or scientific notation for very large/small magnitudes.
    public static func format(_ v: Double, decimals: Int) -> String {
        let s = String(format: "%.\(decimals)f", v)
        return s == "-0" || s.hasPrefix("-0.") && Double(s) == 0 ? String(s.dropFirst()) : s
    }

    /// Lower and upper ends of the tick range.
    public var lower: Double { values.first ?? 0 }
    public var upper: Double { values.last ?? 1 }
}
