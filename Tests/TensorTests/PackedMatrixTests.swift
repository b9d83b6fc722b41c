import Randomness
import Testing
@testable import Tensor

/// The packed-panel kernel against a Float64 reference product, on shapes that exercise every row tail
/// (m mod 6), a partial last panel (n mod 16), the row blocking (m > 96), accumulation and threading.
@Suite struct PackedMatrixTests {
    static func reference(_ x: [Float], _ w: [Float], m: Int, n: Int, k: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for kk in 0..<k { s += Double(x[i * k + kk]) * Double(w[j * k + kk]) }
            out[i * n + j] = s
        } }
        return out
    }

    static func random(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float(rng.nextUnit() * 2 - 1) }
    }

    @Test(arguments: [(1, 16, 8), (5, 17, 33), (6, 32, 64), (7, 47, 100), (13, 100, 576), (64, 960, 576),
                      (101, 33, 65), (200, 31, 7)])
    func matchesReference(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = SplitMix64(seed: UInt64(m * 1000 + n))
        let x = Self.random(m * k, &rng), w = Self.random(n * k, &rng)
        let expected = Self.reference(x, w, m: m, n: n, k: k)
        let packed = PackedMatrix(rowMajor: w, rows: n, cols: k)
        // |error| ≤ k · 2⁻²³ · Σ|xᵢwᵢ| ≤ k² · 1.2e-7 for entries in [-1, 1]: 2e-5·k is a loose, safe bound.
        let tolerance = 2e-5 * Double(k)
        for simd in [true, false] {
            for threads in [1, 2] {
                var y = [Float](repeating: .nan, count: m * n)
                packed.multiply(x, count: m, into: &y, threads: threads, simd: simd)
                let err = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? 0
                #expect(err < tolerance, "simd \(simd), threads \(threads): max error \(err)")
            }
        }
    }

    @Test func accumulatesWithStrides() {
        var rng = SplitMix64(seed: 7)
        let m = 9, n = 20, k = 40, ldx = 50, ldy = 30
        let x = Self.random(m * ldx, &rng), w = Self.random(n * k, &rng)
        let dense = (0..<m).flatMap { i in x[(i * ldx)..<(i * ldx + k)] }
        let expected = Self.reference(Array(dense), w, m: m, n: n, k: k)
        var y = [Float](repeating: 1, count: m * ldy)
        PackedMatrix(rowMajor: w, rows: n, cols: k).multiply(x, count: m, xStride: ldx, into: &y, yStride: ldy,
                                                              accumulate: true)
        for i in 0..<m {
            for j in 0..<ldy {
                if j < n { #expect(abs(Double(y[i * ldy + j]) - (1 + expected[i * n + j])) < 1e-4) }
                else { #expect(y[i * ldy + j] == 1, "column \(j) past n was written") }
            }
        }
    }
}
