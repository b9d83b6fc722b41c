import Randomness
import CKernels
import Foundation
import Tensor
import Testing
@testable import LanguageModel

/// The binary16 KV cache's kernels: conversions against Swift's Float16 (IEEE round to nearest even), and decode
/// attention (F16C and portable) against a Float64 computation over the same binary16 keys and values.
@Suite struct HalfPrecisionCacheTests {
    @Test func conversionsMatchFloat16() {
        var rng = SplitMix64(seed: 11)
        var xs: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -70000, .infinity, -.infinity, 6.1e-5, 5.96e-8,
                           2.98e-8, 2.99e-8, 1e-10, 0.333333, 1.00048828125, 1.000732421875]
        for _ in 0..<20000 {
            let scale = Float(pow(2.0, Double(rng.nextIndex(below: 50)) - 30))
            xs.append(Float(rng.nextGaussian()) * scale)
        }
        var simd = [UInt16](repeating: 0, count: xs.count), portable = simd
        ck_store_half(xs, &simd, xs.count, 1)
        ck_store_half(xs, &portable, xs.count, 0)
        for (i, x) in xs.enumerated() {
            let expected = Float16(x).bitPattern
            #expect(portable[i] == expected, "\(x)")
            #expect(simd[i] == expected, "\(x)")
            #expect(ck_half_to_float(expected) == Float(Float16(bitPattern: expected)))
        }
        #expect(ck_float_to_half(.nan) & 0x7C00 == 0x7C00 && ck_float_to_half(.nan) & 0x3FF != 0)
    }

    @Test(arguments: [1, 7, 40]) func decodeAttentionMatchesFloat64(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        let heads = 9, kvHeads = 3, hd = 64, stride = kvHeads * hd, group = heads / kvHeads
        let q = (0..<(heads * hd)).map { _ in Float(rng.nextGaussian()) }
        let k = (0..<(count * stride)).map { _ in Float16(Float(rng.nextGaussian()) * 2).bitPattern }
        let v = (0..<(count * stride)).map { _ in Float16(Float(rng.nextGaussian())).bitPattern }
        let scale = 1 / Float(hd).squareRoot()
        func half(_ bits: UInt16) -> Double { Double(Float(Float16(bitPattern: bits))) }
        var expected = [Double](repeating: 0, count: heads * hd)
        for h in 0..<heads {
            let g = h / group
            var s = [Double](repeating: 0, count: count)
            for t in 0..<count {
                var dot = 0.0
                for j in 0..<hd { dot += Double(q[h * hd + j]) * half(k[t * stride + g * hd + j]) }
                s[t] = dot * Double(scale)
            }
            let m = s.max()!
            let e = s.map { Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            for j in 0..<hd {
                var acc = 0.0
                for t in 0..<count { acc += e[t] / z * half(v[t * stride + g * hd + j]) }
                expected[h * hd + j] = acc
            }
        }
        for simd in [1, 0] as [Int32] {
            var scores = [Float](repeating: 0, count: count), out = [Float](repeating: 0, count: heads * hd)
            // Two calls over head ranges [0, 4) and [4, 9), as the threads split them.
            ck_attend_decode(q, k, v, count, stride, hd, 0, 4, group, scale, &scores, &out, simd)
            ck_attend_decode(q, k, v, count, stride, hd, 4, heads, group, scale, &scores, &out, simd)
            let err = zip(out, expected).map { abs(Double($0) - $1) }.max()!
            #expect(err < 1e-5, "simd \(simd): \(err)")
        }
    }

    /// The Float32 attention row of prefill and MiniLM: against Float64, for head sizes 64 (SmolLM2) and 32
    /// (MiniLM), row strides wider than the head, and counts that are not multiples of the kernel's 4-key block.
    @Test(arguments: [(1, 64), (6, 64), (41, 64), (3, 32), (50, 32)])
    func float32AttentionMatchesFloat64(count: Int, hd: Int) {
        var rng = SplitMix64(seed: UInt64(count * 100 + hd))
        let stride = 3 * hd + 8
        let q = (0..<hd).map { _ in Float(rng.nextGaussian()) }
        let k = (0..<(count * stride)).map { _ in Float(rng.nextGaussian()) * 2 }
        let v = (0..<(count * stride)).map { _ in Float(rng.nextGaussian()) }
        let scale = 1 / Float(hd).squareRoot()
        var s = [Double](repeating: 0, count: count)
        for t in 0..<count {
            var dot = 0.0
            for j in 0..<hd { dot += Double(q[j]) * Double(k[t * stride + 8 + j]) }
            s[t] = dot * Double(scale)
        }
        let m = s.max()!
        let e = s.map { Foundation.exp($0 - m) }
        let z = e.reduce(0, +)
        let expected = (0..<hd).map { j in (0..<count).reduce(0.0) { $0 + e[$1] / z * Double(v[$1 * stride + 16 + j]) } }
        func attend(simd: Int32) -> [Float] {
            var scores = [Float](repeating: .nan, count: count), out = [Float](repeating: .nan, count: hd)
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    ck_attend_f32(q, kp.baseAddress! + 8, stride, vp.baseAddress! + 16, stride, count, hd, scale, &scores, &out, simd)
                }
            }
            return out
        }
        for simd in [1, 0] as [Int32] {
            let err = zip(attend(simd: simd), expected).map { abs(Double($0) - $1) }.max()!
            #expect(err < 1e-5, "simd \(simd): \(err)")
        }
        // Same inputs, same bits: the kernel has no state and no thread-dependent order.
        #expect(attend(simd: 1) == attend(simd: 1))
    }
}
