import Foundation

/// Parsing of steering magnitude lists.
public enum Magnitudes {
    /// Parses `"a,b,c"` (an explicit list) or `"START:STOP:COUNT"` (COUNT evenly spaced values from START to STOP
    /// inclusive, like numpy.linspace). Values must be finite; the list must be non-empty and free of duplicates.
    /// Returned in ascending order.
    public static func parse(_ text: String) throws -> [Double] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw SweepError.invalidMagnitudes("the list is empty") }
        var values: [Double]
        if trimmed.contains(":") {
            let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 3, let start = Double(parts[0]), let stop = Double(parts[1]), let count = Int(parts[2]) else {
                throw SweepError.invalidMagnitudes("'\(text)' is not START:STOP:COUNT")
            }
            guard count >= 1 else { throw SweepError.invalidMagnitudes("COUNT must be at least 1 in '\(text)'") }
            guard start.isFinite, stop.isFinite else { throw SweepError.invalidMagnitudes("'\(text)' is not finite") }
            guard Float(start).isFinite, Float(stop).isFinite else {
                throw SweepError.invalidMagnitudes("'\(text)' is beyond Float32's range (±3.4e38)")
            }
            values = count == 1 ? [start] : (0..<count).map { start + (stop - start) * Double($0) / Double(count - 1) }
        } else {
            values = []
            for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
                let p = part.trimmingCharacters(in: .whitespaces)
                guard let v = Double(p) else { throw SweepError.invalidMagnitudes("'\(p)' is not a number") }
                guard v.isFinite else { throw SweepError.invalidMagnitudes("'\(p)' is not finite") }
                // Steering applies Float32 magnitudes: 1e39 is finite as a Double but ∞ as a Float.
                guard Float(v).isFinite else { throw SweepError.invalidMagnitudes("'\(p)' is beyond Float32's range (±3.4e38)") }
                values.append(v)
            }
        }
        values.sort()
        for i in values.indices.dropFirst() where values[i] == values[i - 1] {
            throw SweepError.invalidMagnitudes("\(values[i]) appears twice")
        }
        return values
    }
}

/// Defaults of `semprog sweep` and the demo.
public enum SweepDefaults {
    /// 16 magnitudes in multiples of the feature's max activation, denser at the low end where the behaviour
    /// changes, reaching far enough that most features of the demo SAE degrade.
    public static let magnitudes = "0,0.5,1,1.5,2,3,4,5,6,8,10,12,15,20,25,30"
}
