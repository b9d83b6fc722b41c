import Randomness
import Testing
@testable import Tensor

@Suite struct MatrixTests {
    /// sgemm against a naive triple loop on seeded random matrices.
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 9, 33)])
    func matmulMatchesNaive(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var rng = SplitMix64(seed: UInt64(m * 1000 + k * 10 + n))
        let a = Matrix(rows: m, cols: k, values: (0..<(m * k)).map { _ in Float(rng.nextUnit() * 2 - 1) })
        let b = Matrix(rows: k, cols: n, values: (0..<(k * n)).map { _ in Float(rng.nextUnit() * 2 - 1) })
        let c = a.matmul(b)
        let ct = a.matmul(b.transposed(), transposeOther: true)
        for i in 0..<m { for j in 0..<n {
            var s: Float = 0
            for p in 0..<k { s += a[i, p] * b[p, j] }
            #expect(abs(c[i, j] - s) < 1e-4)
            #expect(abs(ct[i, j] - s) < 1e-4)
        } }
    }

    @Test func cosineProperties() {
        let a: [Float] = [1, 2, 3], b: [Float] = [-2, 0.5, 4]
        #expect(abs(VectorMath.cosine(a, a) - 1) < 1e-6)
        #expect(abs(VectorMath.cosine(a, b) - VectorMath.cosine(b, a)) < 1e-7)
        #expect(abs(VectorMath.cosine(a, b.map { $0 * 3 }) - VectorMath.cosine(a, b)) < 1e-6)
        #expect(VectorMath.cosine(a, [0, 0, 0]) == 0)
    }
}
