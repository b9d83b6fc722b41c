import CKernels

/// Element-wise activations used by the encoder.
enum Activation {
    /// The exact GELU (Hendrycks & Gimpel 2016) as BERT uses it, GELU(x) = x · ½ (1 + erf(x / √2)), with erf by
    /// the rational minimax approximation of Eigen and XLA (`generic_fast_erf_float`: x clamped to [−4, 4],
    /// erf(x) ≈ x·P(x²)/Q(x²), |error| ≈ 7e-8), eight lanes at a time with AVX2 (`ck_gelu`). `simd: false`
    /// forces the portable loop.
    static func geluInPlace(_ x: UnsafeMutableBufferPointer<Float>, simd: Bool = true) {
        guard let base = x.baseAddress else { return }
        ck_gelu(base, x.count, simd ? 1 : 0)
    }
}
