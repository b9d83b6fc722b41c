import CKernels
import Dispatch
import ModelFormats
import Tensor

/// A weight matrix kept in its compact GGUF block format (Q4_1, Q8_0, Q5_0, or the K-quants Q4_K, Q5_K, Q6_K),
/// multiplied directly with the activations. Used for decode steps with few rows, where reading 0.6–1.1 bytes per
/// weight instead of 4 is what bounds speed.
///
/// The weights are ggml-quants.c's (Q4_1: w = d·q + m; Q8_0: w = d·q; Q5_0: w = d·(q − 16), q of 5 bits; Q4_K and
/// Q5_K: w = (d·sc)·q − dmin·m per group of 32 of a 256-weight super-block; Q6_K: w = (d·sc)·(q − 32) per group of
/// 16). With Float32 activations (the default) the codes of a group of 32 are converted to floats once and shared
/// by up to 8 activation rows, scale·Σ qⱼxⱼ ± min·Σ xⱼ (`ck_quantized_matmul`, `ck_quantized_k_matmul`), equal to
/// the dequantized-Float32 product up to summation order. With `.q8` (Q4_1 and Q8_0 only) the activations are
/// rounded to 8 bits first and the block sums are integer (`ck_quantized_matmul_q8`). Portable C runs without AVX2.
final class QuantizedMatrix: @unchecked Sendable {
    let rows: Int
    let cols: Int
    let type: GGMLType
    let bytesPerRow: Int
    let data: UnsafeMutableRawPointer
    /// Per group of 32 weights, decoded once: rows × cols/32 scales and mins. Q4_1: d and m; Q8_0, Q5_0: d and 0;
    /// Q4_K, Q5_K: d·sc and dmin·m of the group's sub-block (subtracted); Q6_K: the super-block's d and 0 (the int8
    /// sub-block scales are applied to the codes in the kernel). See `ck_quantized_scales`, `ck_quantized_k_scales`.
    let scales: UnsafeMutablePointer<Float>
    let mins: UnsafeMutablePointer<Float>

    /// The kernel path of this matrix's products: nil runs the process's active path (`KernelPath.active`, the
    /// default). Tests set `.portable` on one model's matrices to run its compact products on the portable C loops
    /// without changing the path every other product in the process runs.
    var kernelPath: KernelPath?

    /// Stacks raw rows of several tensors of one block type (each `cols` wide), then `raw`.
    init(type: GGMLType, cols: Int, parts: [[UInt8]], raw: UnsafeRawBufferPointer? = nil) {
        precondition(Self.supportedTypes.contains(type), "QuantizedMatrix: no compact kernel for \(type.name)")
        precondition(cols % type.blockSize == 0, "QuantizedMatrix: \(cols) columns is not a whole number of \(type.name) blocks")
        self.type = type
        self.cols = cols
        bytesPerRow = cols / type.blockSize * type.blockBytes
        let total = parts.reduce(0) { $0 + $1.count } + (raw?.count ?? 0)
        rows = total / bytesPerRow
        let data = UnsafeMutableRawPointer.allocate(byteCount: max(1, total), alignment: 64)
        var offset = 0
        for p in parts {
            p.withUnsafeBytes { (data + offset).copyMemory(from: $0.baseAddress!, byteCount: p.count) }
            offset += p.count
        }
        if let raw, raw.count > 0 { (data + offset).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        self.data = data
        let blocks = rows * cols / 32
        scales = .allocate(capacity: max(1, blocks))
        mins = .allocate(capacity: max(1, blocks))
        if Self.isKQuant(type) {
            ck_quantized_k_scales(Self.code(type), data.assumingMemoryBound(to: UInt8.self), bytesPerRow, rows, cols, scales, mins)
        } else {
            ck_quantized_scales(Self.code(type), data.assumingMemoryBound(to: UInt8.self), bytesPerRow, rows, cols, scales, mins)
        }
    }

    /// Copies the raw rows of one tensor of `type` (`cols` wide) without an intermediate array.
    convenience init(type: GGMLType, cols: Int, raw: UnsafeRawBufferPointer) {
        self.init(type: type, cols: cols, parts: [], raw: raw)
    }

    deinit { data.deallocate(); scales.deallocate(); mins.deallocate() }

    /// The block types the compact kernel multiplies directly.
    static let supportedTypes: Set<GGMLType> = [.q4_1, .q8_0, .q5_0, .q4_K, .q5_K, .q6_K]

    /// The K-quants (super-blocks of 256, `ck_quantized_k_matmul`).
    static func isKQuant(_ type: GGMLType) -> Bool { type == .q4_K || type == .q5_K || type == .q6_K }

    static func code(_ type: GGMLType) -> Int32 {
        switch type {
        case .q4_1: Int32(CK_Q4_1)
        case .q5_0: Int32(CK_Q5_0)
        case .q4_K: Int32(CK_Q4_K)
        case .q5_K: Int32(CK_Q5_K)
        case .q6_K: Int32(CK_Q6_K)
        default: Int32(CK_Q8_0)
        }
    }

    /// The `use_simd` argument of the C kernels for a forced path (nil: CK_PATH_ACTIVE).
    static func pathCode(_ path: KernelPath?) -> Int32 {
        switch path {
        case nil: Int32(CK_PATH_ACTIVE)
        case .portable?: Int32(CK_PATH_PORTABLE)
        case .avx2?: Int32(CK_PATH_AVX2)
        case .avx512?: Int32(CK_PATH_AVX512)
        }
    }

    /// Row `r` dequantized exactly (ggml's dequantize_row_*) into `out` (cols floats).
    func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        GGMLDequantize.dequantize(type: type, source: UnsafeRawPointer(data + r * bytesPerRow), count: cols, into: out)
    }

    /// Bytes held (blocks and decoded scales).
    var byteCount: Int { rows * bytesPerRow + 2 * rows * cols / 32 * MemoryLayout<Float>.size }

    /// out[i][r] (+)= row r · x[i] for `n` input rows (x: n × cols, out: n × rows), rows split over `threads`.
    /// With `activations: .q8` the rows of x are first quantized to 8 bits per block of 32 (`ck_quantize_q8`) and
    /// multiplied with integer block dot products (`ck_quantized_matmul_q8`).
    func multiply(_ x: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>,
                  accumulate: Bool = false, threads: Int, simd: Bool = true,
                  activations: ActivationPrecision = .float32) {
        guard n > 0 else { return }
        let code = Self.code(type)
        // The 8-bit-activation kernel knows Q4_1 and Q8_0 only; Q5_0 and the K-quants always run with Float32 activations.
        let precision: ActivationPrecision = type == .q4_1 || type == .q8_0 ? activations : .float32
        let (rows, cols, bytesPerRow) = (self.rows, self.cols, self.bytesPerRow)
        let acc: Int32 = accumulate ? 1 : 0, useSIMD: Int32 = simd ? Self.pathCode(kernelPath) : Int32(CK_PATH_PORTABLE)
        let w = QuantizedPointers(data: data.assumingMemoryBound(to: UInt8.self), scales: scales, mins: mins, x: x, out: out)
        switch precision {
        case .float32 where Self.isKQuant(type):
            run(rows: rows, threads: threads) { lo, hi in
                ck_quantized_k_matmul(code, w.data, bytesPerRow, w.scales, w.mins, lo, hi, cols, w.x, cols, n, w.out, rows, acc, useSIMD)
            }
        case .float32:
            run(rows: rows, threads: threads) { lo, hi in
                ck_quantized_matmul(code, w.data, bytesPerRow, w.scales, w.mins, lo, hi, cols, w.x, cols, n, w.out, rows, acc, useSIMD)
            }
        case .q8:
            let blocks = n * cols / 32
            let q = Q8Activations(codes: .allocate(capacity: n * cols), scales: .allocate(capacity: blocks),
                                  sums: .allocate(capacity: blocks))
            defer { q.codes.deallocate(); q.scales.deallocate(); q.sums.deallocate() }
            ck_quantize_q8(x, cols, n, cols, q.codes, q.scales, q.sums)
            run(rows: rows, threads: threads) { lo, hi in
                ck_quantized_matmul_q8(code, w.data, bytesPerRow, w.scales, w.mins, lo, hi, cols, q.codes, q.scales, q.sums,
                                       n, w.out, rows, acc, useSIMD)
            }
        }
    }

    /// Runs `kernel(lo, hi)` over row ranges, split over up to `threads` threads (≥ 64 rows each).
    private func run(rows: Int, threads: Int, _ kernel: @Sendable (Int, Int) -> Void) {
        let chunks = max(1, min(threads, rows / 64))
        if chunks == 1 { kernel(0, rows); return }
        let per = (rows + chunks - 1) / chunks
        ParallelLoop.forEach(chunks, threads: threads) { c in
            let lo = c * per, hi = min(rows, lo + per)
            if lo < hi { kernel(lo, hi) }
        }
    }

    private struct QuantizedPointers: @unchecked Sendable {
        let data: UnsafeMutablePointer<UInt8>
        let scales: UnsafePointer<Float>
        let mins: UnsafePointer<Float>
        let x: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
    }

    /// Activations quantized by `ck_quantize_q8`: codes (n × cols), and per block the scale d and d·Σq.
    private struct Q8Activations: @unchecked Sendable {
        let codes: UnsafeMutablePointer<Int8>
        let scales: UnsafeMutablePointer<Float>
        let sums: UnsafeMutablePointer<Float>
    }
}
