import Foundation

/// Element-wise activations used by the encoder.
enum Activation {
    /// erf(x) in single precision by the rational minimax approximation used by Eigen and XLA
    /// (`generic_fast_erf_float`): x clamped to [−4, 4] (erf is ±1 in Float32 beyond), then
    /// erf(x) ≈ x·P(x²) / Q(x²) with P of degree 6 and Q of degree 4. Maximum absolute error ≈ 7e-8 (checked
    /// against the C library's `erff` in the tests). Branch-free, so it vectorises.
    @inline(__always)
    static func erf<V: SIMD>(_ input: V) -> V where V.Scalar == Float {
        let x = input.clamped(lowerBound: V(repeating: -4), upperBound: V(repeating: 4))
        let x2 = x * x
        var p = x2 * V(repeating: -2.72614225801306e-10) + V(repeating: 2.77068142495902e-08)
        p = x2 * p + V(repeating: -2.10102402082508e-06)
        p = x2 * p + V(repeating: -5.69250639462346e-05)
        p = x2 * p + V(repeating: -7.34990630326855e-04)
        p = x2 * p + V(repeating: -2.95459980854025e-03)
        p = x2 * p + V(repeating: -1.60960333262415e-02)
        p = x * p
        var q = x2 * V(repeating: -1.45660718464996e-05) + V(repeating: -2.13374055278905e-04)
        q = x2 * q + V(repeating: -1.68282697438203e-03)
        q = x2 * q + V(repeating: -7.37332916720468e-03)
        q = x2 * q + V(repeating: -1.42647390514189e-02)
        return p / q
    }

    /// The exact GELU (Hendrycks & Gimpel 2016) as BERT uses it, GELU(x) = x · ½ (1 + erf(x / √2)),
    /// with `erf` above, eight lanes at a time.
    static func geluInPlace(_ x: UnsafeMutableBufferPointer<Float>) {
        guard let base = x.baseAddress else { return }
        let invSqrt2: Float = 0.70710678118654752
        let raw = UnsafeMutableRawPointer(base)
        var i = 0
        while i + 8 <= x.count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let g = 0.5 * v * (1 + erf(v * invSqrt2))
            raw.storeBytes(of: g, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < x.count {
            let v = SIMD2<Float>(repeating: x[i])
            x[i] = (0.5 * v * (1 + erf(v * invSqrt2)))[0]
            i += 1
        }
    }
}
