import ModelFormats
import Randomness
import Testing
@testable import LanguageModel

/// A stack of tensors of several block types in one `QuantizedMatrix` against each tensor alone: every segment's
/// first and last rows dequantize alike, and its products (1, 3, 8, 11 activation rows; SIMD and portable; Float32
/// and 8-bit activations; one and two threads; accumulating onto 0.25) are bit for bit the part's own.
func expectStackEqualsParts(_ stack: QuantizedMatrix, parts: [(type: GGMLType, bytes: [UInt8])], cols: Int,
                            rng: inout SplitMix64) {
    let alone = parts.map { QuantizedMatrix(type: $0.type, cols: cols, parts: [$0.bytes]) }
    var row = [Float](repeating: 0, count: cols), expected = row
    var first = 0
    for m in alone {
        for r in [0, m.rows - 1] {
            stack.dequantizeRow(first + r, into: &row)
            m.dequantizeRow(r, into: &expected)
            #expect(row == expected)
        }
        first += m.rows
    }
    for n in [1, 3, 8, 11] {
        let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
        for simd in [true, false] {
            for activations in [ActivationPrecision.float32, .q8] {
                for threads in [1, 2] {
                    var out = [Float](repeating: 0.25, count: n * stack.rows)
                    stack.multiply(x, rows: n, into: &out, accumulate: true, threads: threads, simd: simd, activations: activations)
                    var first = 0
                    for m in alone {
                        var part = [Float](repeating: 0.25, count: n * m.rows)
                        m.multiply(x, rows: n, into: &part, accumulate: true, threads: 1, simd: simd, activations: activations)
                        let same = (0..<n).allSatisfy { i in
                            (0..<m.rows).allSatisfy { r in out[i * stack.rows + first + r].bitPattern == part[i * m.rows + r].bitPattern }
                        }
                        #expect(same, "n \(n) simd \(simd) \(activations) threads \(threads): rows of \(m.type!) at \(first)")
                        first += m.rows
                    }
                }
            }
        }
    }
}
