import CBLAS

/// Thin, typed entry points into OpenBLAS. Row-major everywhere; dimensions are element counts.
public enum BLAS {
    /// Sets OpenBLAS' worker-thread count explicitly (call before any GEMM; Swift-side parallel loops
    /// that call BLAS themselves should set 1).
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The thread count OpenBLAS will use.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Runs `body` with OpenBLAS set to `count` threads and restores the previous count afterwards (for Swift-side
    /// parallel loops whose workers call BLAS, so OpenBLAS's own workers do not compete with them).
    public static func withThreads<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
        let previous = threads
        setThreads(count)
        defer { setThreads(previous) }
        return try body()
    }

    /// C = α·op(A)·op(B) + β·C, with op(A) of shape [m, k], op(B) of shape [k, n], C of shape [m, n] (row-major).
    /// `lda`, `ldb`, `ldc` are the row strides of the stored (untransposed) matrices.
    @inlinable
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = α·op(A)·x + β·y for a row-major A of shape [m, n].
    @inlinable
    public static func gemv(
        transpose: Bool = false, m: Int, n: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda),
                    x, 1, beta, y, 1)
    }
}
