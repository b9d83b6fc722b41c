/// Small vector helpers used across stages. Vectors are `[Float]`; accumulation is in Float unless noted.
public enum VectorMath {
    /// Σ aᵢbᵢ.
    @inlinable public static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        var s: Float = 0
        for i in 0..<min(a.count, b.count) { s += a[i] * b[i] }
        return s
    }

    @inlinable public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in dot(pa, pb) } }
    }

    /// ‖a‖₂.
    @inlinable public static func norm(_ a: [Float]) -> Float { dot(a, a).squareRoot() }

    /// Cosine similarity a·b / (‖a‖‖b‖); 0 when either vector is zero.
    @inlinable public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let na = norm(a), nb = norm(b)
        guard na > 0, nb > 0 else { return 0 }
        return dot(a, b) / (na * nb)
    }

    /// a / ‖a‖₂ (a unchanged when zero).
    @inlinable public static func normalized(_ a: [Float]) -> [Float] {
        let n = norm(a)
        guard n > 0 else { return a }
        return a.map { $0 / n }
    }
}
