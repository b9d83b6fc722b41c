/// A dense row-major Float32 matrix: `rows × cols` values, element (r, c) at `values[r * cols + c]`.
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "Matrix: \(values.count) values for \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, values: [Float](repeating: 0, count: rows * cols))
    }

    @inlinable public subscript(row: Int, col: Int) -> Float {
        get { values[row * cols + col] }
        set { values[row * cols + col] = newValue }
    }

    /// Row `r` as an array (copy).
    public func row(_ r: Int) -> [Float] { Array(values[(r * cols)..<((r + 1) * cols)]) }

    /// The transpose, `cols × rows`.
    public func transposed() -> Matrix {
        var out = Matrix(zeros: cols, rows)
        for r in 0..<rows { for c in 0..<cols { out.values[c * rows + r] = values[r * cols + c] } }
        return out
    }

    /// self · other (BLAS sgemm).
    public func matmul(_ other: Matrix, transposeOther: Bool = false) -> Matrix {
        let k = cols
        let n = transposeOther ? other.rows : other.cols
        precondition((transposeOther ? other.cols : other.rows) == k, "matmul: inner dimensions differ")
        var out = Matrix(zeros: rows, n)
        values.withUnsafeBufferPointer { a in
            other.values.withUnsafeBufferPointer { b in
                out.values.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transposeB: transposeOther, m: rows, n: n, k: k,
                              a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: other.cols,
                              c: c.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }
}
