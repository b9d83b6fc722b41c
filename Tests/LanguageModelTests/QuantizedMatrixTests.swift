import CKernels
import Randomness
import ModelFormats
import Tensor
import Testing
@testable import LanguageModel

/// The compact block kernel (AVX2 and portable C) against the Float64 product of the weights dequantized by
/// ModelFormats (ggml-quants.c's formulas), for every activation-row count the kernel specialises (1…8) and
/// beyond (groups of 8), with and without accumulation.
@Suite struct QuantizedMatrixTests {
    /// Q5_0 (Gemma 3 270M's ffn_gate/ffn_up): random blocks with finite scales, the kernel against the Float64
    /// product of the exactly dequantized weights (`GGMLDequantize`, equal to the gguf package bit for bit).
    @Test func q5_0MatchesDequantizedProduct() {
        var rng = SplitMix64(seed: 55)
        let rows = 70, cols = 96, blocks = rows * cols / 32
        var bytes = [UInt8](repeating: 0, count: blocks * 22)
        for b in 0..<blocks {
            let d = Float16(Float(rng.nextGaussian()) * 0.1).bitPattern
            bytes[b * 22] = UInt8(d & 0xFF); bytes[b * 22 + 1] = UInt8(d >> 8)
            for j in 2..<22 { bytes[b * 22 + j] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        var dequantized = [Float](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { GGMLDequantize.dequantize(type: .q5_0, source: $0.baseAddress!, count: rows * cols, into: &dequantized) }
        let matrix = QuantizedMatrix(type: .q5_0, cols: cols, parts: [bytes])
        #expect(matrix.rows == rows)
        var row = [Float](repeating: 0, count: cols)
        matrix.dequantizeRow(3, into: &row)
        #expect(row == Array(dequantized[(3 * cols)..<(4 * cols)]))
        for n in [1, 2, 5, 8, 11] {
            let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
            var expected = [Double](repeating: 0, count: n * rows)
            for i in 0..<n { for r in 0..<rows {
                var s = 0.0
                for k in 0..<cols { s += Double(x[i * cols + k]) * Double(dequantized[r * cols + k]) }
                expected[i * rows + r] = s
            } }
            for simd in [true, false] {
                for activations in [ActivationPrecision.float32, .q8] {
                    var out = [Float](repeating: 0.5, count: n * rows)
                    matrix.multiply(x, rows: n, into: &out, accumulate: true, threads: 2, simd: simd, activations: activations)
                    let err = zip(out, expected).map { abs(Double($0) - 0.5 - $1) }.max()!
                    #expect(err < 1e-3, "q5_0 n=\(n) simd=\(simd) \(activations): error \(err)")
                }
            }
        }
    }

    /// The block kernels' driver splits the activation rows into groups (`ck_group_rows`: 5 for Q8_0, 8 otherwise);
    /// no output may depend on that grouping. For every type with a compact kernel and every kernel path, 13 rows
    /// at once (Q8_0: 5 + 4 + 4; others 7 + 6) equal 13 one-row products bit for bit.
    @Test(arguments: QuantizedMatrix.supportedTypes.sorted { $0.rawValue < $1.rawValue })
    func outputsDoNotDependOnTheRowGroups(type: GGMLType) {
        var rng = SplitMix64(seed: 1300 + UInt64(type.rawValue))
        let rows = 70, cols = 512, n = 13
        let q = QuantizedMatrix(type: type, cols: cols, parts: [RandomBlockMatrix.randomBlocks(type, rows: rows, cols: cols, &rng)])
        let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
        for path in [KernelPath.portable, .avx2, .avx512] where path.isSupported {
            q.kernelPath = path
            var together = [Float](repeating: 0, count: n * rows), alone = together
            q.multiply(x, rows: n, into: &together, threads: 1)
            for i in 0..<n {
                x.withUnsafeBufferPointer { xp in
                    alone.withUnsafeMutableBufferPointer { op in q.multiply(xp.baseAddress! + i * cols, rows: 1, into: op.baseAddress! + i * rows, threads: 1) }
                }
            }
            let differing = zip(together, alone).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(type.name), \(path): \(differing) of \(together.count) outputs depend on the grouping")
        }
    }

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

    /// The 8-bit-activation kernel equals, up to Float32 rounding, the Float64 product of the dequantized weights
    /// with the activations as llama.cpp's quantize_row_q8_1 rounds them (d = max|x|/127 per block of 32, codes
    /// rounded to nearest even); and it stays within the bound of that rounding (Σ|w|·d/2) of the exact product.
    @Test(arguments: [GGMLType.q4_1, .q8_0])
    func q8ActivationsMatchQuantizedProduct(type: GGMLType) {
        var rng = SplitMix64(seed: 100 + UInt64(type.rawValue))
        let rows = 70, cols = 96
        let dense = (0..<(rows * cols)).map { _ in Float(rng.nextGaussian()) }
        let bytes = GGMLQuantize.quantize(dense, as: type)
        var w = [Float](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { GGMLDequantize.dequantize(type: type, source: $0.baseAddress!, count: rows * cols, into: &w) }
        let matrix = QuantizedMatrix(type: type, cols: cols, parts: [bytes])
        for n in [1, 2, 3, 4, 5, 9] {
            let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) * 3 }
            var rounded = x, scales = [Float](repeating: 0, count: n * cols / 32)
            for b in 0..<(n * cols / 32) {
                let block = x[(b * 32)..<(b * 32 + 32)]
                let d = block.map(abs).max()! / 127
                scales[b] = d
                for j in (b * 32)..<(b * 32 + 32) { rounded[j] = d > 0 ? (x[j] / d).rounded(.toNearestOrEven) * d : 0 }
            }
            for simd in [true, false] {
                for threads in [1, 2] {
                    var out = [Float](repeating: 0.5, count: n * rows)
                    matrix.multiply(x, rows: n, into: &out, accumulate: true, threads: threads, simd: simd, activations: .q8)
                    for i in 0..<n { for r in 0..<rows {
                        var quantized = 0.0, exact = 0.0, bound = 0.0
                        for k in 0..<cols {
                            quantized += Double(rounded[i * cols + k]) * Double(w[r * cols + k])
                            exact += Double(x[i * cols + k]) * Double(w[r * cols + k])
                            bound += abs(Double(w[r * cols + k])) * Double(scales[(i * cols + k) / 32]) / 2
                        }
                        let got = Double(out[i * rows + r]) - 0.5
                        #expect(abs(got - quantized) < 1e-3, "\(type) n=\(n) simd=\(simd) row \(r): \(got) vs \(quantized)")
                        #expect(abs(got - exact) <= bound + 1e-3)
                    } }
                }
            }
        }
    }
}
