import Foundation

/// Element-wise activations used by the encoder.
enum Activation {
    /// The exact GELU (Hendrycks & Gimpel 2016) as BERT uses it: GELU(x) = x · ½ (1 + erf(x / √2)).
    static func geluInPlace(_ x: UnsafeMutableBufferPointer<Float>) {
        let invSqrt2: Float = 0.70710678118654752
        for i in 0..<x.count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + erff(v * invSqrt2))
        }
    }
}
