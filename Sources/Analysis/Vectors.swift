/// Small vector helpers on embeddings (`[Float]`, accumulated in Double).
enum Vectors {
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<pa.count { s += Double(pa[i]) * Double(pb[i]) }
            }
        }
        return s
    }

    static func norm(_ a: [Float]) -> Double { dot(a, a).squareRoot() }

    /// Unit vector in Double (a zero vector stays zero).
    static func unitDouble(_ a: [Float]) -> [Double] {
        let n = norm(a)
        return n > 0 ? a.map { Double($0) / n } : a.map { _ in 0 }
    }

    /// Cosine similarity u·v / (|u| |v|); 0 when either vector is zero.
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let na = norm(a), nb = norm(b)
        return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }
}

/// Cosine similarity cos(u, v) = u·v / (‖u‖ ‖v‖) of two embeddings (unitless, in [−1, 1]; 0 when either is zero).
public func cosineSimilarity(_ u: [Float], _ v: [Float]) -> Double { Vectors.cosine(u, v) }

/// Median of values (mean of the two middle values for an even count); nil when empty.
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let s = values.sorted(), m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/// Arithmetic mean; nil when empty.
public func mean(_ values: [Double]) -> Double? {
    values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
}
