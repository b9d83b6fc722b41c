import ModelFormats
import Tensor
import Testing
@testable import LanguageModel

/// The compact block kernel (AVX2 and portable C) against the Float64 product of the weights dequantized by
/// ModelFormats (ggml-quants.c's formulas), for every activation-row count the kernel specialises (1…8) and
/// beyond (groups of 8), with and without accumulation.
@Suite struct QuantizedMatrixTests {
    @Test(arguments: [GGMLType.q4_1, .q8_0])
    func matchesDequantizedProduct(type: GGMLType) {
        var rng = SplitMix64(seed: UInt64(type.rawValue))
        let rows = 70, cols = 96
        let dense = (0..<(rows * cols)).map { _ in Float(rng.nextGaussian()) }
        let bytes = GGMLQuantize.quantize(dense, as: type)
        var dequantized = [Float](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { raw in
            GGMLDequantize.dequantize(type: type, source: raw.baseAddress!, count: rows * cols, into: &dequantized)
        }
        let matrix = QuantizedMatrix(type: type, cols: cols, parts: [bytes])
        #expect(matrix.rows == rows)
        for n in [1, 2, 3, 4, 5, 7, 8, 11] {
            let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
            var expected = [Double](repeating: 0, count: n * rows)
            for i in 0..<n { for r in 0..<rows {
                var s = 0.0
                for k in 0..<cols { s += Double(x[i * cols + k]) * Double(dequantized[r * cols + k]) }
                expected[i * rows + r] = s
            } }
            for simd in [true, false] {
                for threads in [1, 2] {
                    var out = [Float](repeating: 0.5, count: n * rows)
                    matrix.multiply(x, rows: n, into: &out, accumulate: true, threads: threads, simd: simd)
                    let err = zip(out, expected).map { abs(Double($0) - 0.5 - $1) }.max()!
                    // Float32 sums of 96 products of O(1..10) terms: 1e-3 absolute is ~100 ulps of the largest.
                    #expect(err < 1e-3, "\(type) n=\(n) simd=\(simd) threads=\(threads): error \(err)")
                }
            }
        }
    }
}
