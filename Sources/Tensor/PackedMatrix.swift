import CKernels
import Dispatch

/// A weight matrix W (`rows` outputs × `cols` inputs) repacked into panels of 16 rows for the SIMD micro-kernels
/// of `CKernels` (AVX2: 6 × 16 blocks of the output in registers; AVX-512: 12 × 32, the same bits).
///
/// `multiply` computes Y = X · Wᵀ exactly as a Float32 GEMM would. Each output is one FMA chain over k in
/// ascending order, whatever the CPU (any AVX2/FMA or AVX-512 one), the row count or the thread split, so results are
/// reproducible across machines (OpenBLAS picks per-CPU kernels with other orders). Unlike `cblas_sgemm`, which
/// repacks W on every call, the packing is paid once; on a 2-core AMD EPYC (Zen 1) it reaches ≈ 37 GFLOP/s per
/// core at 64 rows, against ≈ 23 for OpenBLAS 0.3.21 (`semprog bench gemm`).
public final class PackedMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    let panels: UnsafeMutablePointer<Float>
    let panelCount: Int

    /// Whether the SIMD kernels (AVX2 or AVX-512, `KernelPath.active`) run; otherwise the portable C loops run
    /// (correct, but slower than OpenBLAS, so callers keep their BLAS path when this is false).
    public static let isAccelerated: Bool = ck_has_avx2_fma() != 0

    /// Packs a row-major `rows × cols` matrix with row stride `stride` (default `cols`).
    public init(rowMajor w: UnsafePointer<Float>, rows: Int, cols: Int, stride: Int? = nil) {
        precondition(rows > 0 && cols > 0, "PackedMatrix: empty \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        panelCount = (rows + Int(CK_PANEL) - 1) / Int(CK_PANEL)
        panels = .allocate(capacity: ck_packed_count(rows, cols))
        ck_pack_panels(w, rows, cols, stride ?? cols, panels)
    }

    /// Packs new values of the same shape into the existing panels (a matrix that changes between products,
    /// such as an encoder during training, without reallocating).
    public func repack(rowMajor w: UnsafePointer<Float>, stride: Int? = nil) {
        ck_pack_panels(w, rows, cols, stride ?? cols, panels)
    }

    public convenience init(_ m: Matrix) {
        self.init(rowMajor: m.values, rows: m.rows, cols: m.cols)
    }

    deinit { panels.deallocate() }

    /// Copies row `r` of W (`cols` floats) to `out` (a strided gather from its panel).
    public func copyRow(_ r: Int, to out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "PackedMatrix.copyRow: row \(r) of \(rows)")
        let panelWidth = Int(CK_PANEL)
        let base = panels + (r / panelWidth) * cols * panelWidth + r % panelWidth
        for k in 0..<cols { out[k] = base[k * panelWidth] }
    }

    /// Bytes held by the packed copy.
    public var byteCount: Int { panelCount * Int(CK_PANEL) * cols * MemoryLayout<Float>.size }

    /// Y[i][j] (+)= Σₖ X[i][k]·W[j][k] for `count` rows of X (row stride `xStride`, default `cols`) into Y (row
    /// stride `yStride`, default `rows`). Panels are split over up to `threads` threads when the product is big
    /// enough to pay for the hand-off. `simd: false` forces the portable kernel; `kernel` asks for one path (falling
    /// back to the next one down where the CPU lacks it); by default the active path runs.
    public func multiply(_ x: UnsafePointer<Float>, count: Int, xStride: Int? = nil,
                         into y: UnsafeMutablePointer<Float>, yStride: Int? = nil,
                         accumulate: Bool = false, threads: Int = 1, simd: Bool = true, kernel: KernelPath? = nil) {
        guard count > 0 else { return }
        let lda = xStride ?? cols, ldc = yStride ?? rows
        let flops = 2 * count * rows * cols
        let chunks = flops < 1 << 19 ? 1 : max(1, min(threads, panelCount))
        let acc: Int32 = accumulate ? 1 : 0
        let useSIMD: Int32 = !simd ? Int32(CK_PATH_PORTABLE) : kernel?.code ?? Int32(CK_PATH_ACTIVE)
        if chunks == 1 {
            ck_gemm_panels(x, lda, count, cols, panels, rows, 0, panelCount, y, ldc, acc, useSIMD)
            return
        }
        let io = SendablePointers(x: x, y: y)
        let per = (panelCount + chunks - 1) / chunks
        let (cols, rows, panelCount) = (self.cols, self.rows, self.panelCount)
        let w = SendablePanels(pointer: panels)
        ParallelLoop.forEach(chunks, threads: threads) { c in
            let p0 = c * per, p1 = min(panelCount, p0 + per)
            if p0 < p1 {
                ck_gemm_panels(io.x, lda, count, cols, w.pointer, rows, p0, p1, io.y, ldc, acc, useSIMD)
            }
        }
    }
}

/// Raw pointers handed to worker threads that write disjoint parts of `y`.
struct SendablePointers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
}

struct SendablePanels: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
}
