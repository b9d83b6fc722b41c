import CKernels
import Dispatch
import ModelFormats
import Tensor

/// A weight matrix kept in its compact GGUF block format (Q4_1, Q5_0, Q5_1, Q8_0, or the K-quants Q2_K, Q3_K, Q4_K,
/// Q5_K, Q6_K), multiplied directly with the activations. Used for decode steps with few rows, where reading 0.3–1.1
/// bytes per weight instead of 4 is what bounds speed. A stack of tensors of different types (Gemma 3 270M's attn_q
/// and attn_k in Q5_0 with attn_v in Q8_0) keeps each run of rows of one type as a `Segment` with its own kernel.
///
/// The weights are ggml-quants.c's (Q4_1: w = d·q + m; Q8_0: w = d·q; Q5_0: w = d·(q − 16), q of 5 bits; Q5_1:
/// w = d·q + m, q of 5 bits; Q4_K and Q5_K: w = (d·sc)·q − dmin·m per group of 32 of a 256-weight super-block;
/// Q6_K: w = (d·sc)·(q − 32) per group of 16; Q2_K: w = (d·sc)·q − dmin·m per group of 16, q of 2 bits; Q3_K:
/// w = (d·(s − 32))·q per group of 16, q of 3 bits in −4…3). With Float32 activations (the default) the codes of a
/// group of 32 are converted to floats once and shared by up to 8 activation rows, scale·Σ qⱼxⱼ ± min·Σ xⱼ
/// (`ck_quantized_matmul`, `ck_quantized_k_matmul`, `ck_quantized_lowbit_matmul`; Q6_K, Q2_K and Q3_K fold their
/// sub-block scales into the codes exactly), equal to the dequantized-Float32 product up to summation order. With
/// `.q8` (Q4_1 and Q8_0 only) the activations are rounded to 8 bits first and the block sums are integer
/// (`ck_quantized_matmul_q8`). Portable C runs without AVX2.
final class QuantizedMatrix: @unchecked Sendable {
    let rows: Int
    let cols: Int
    /// Runs of rows of one block type, in row order (one for a matrix of one type).
    let segments: [Segment]
    /// The tiles `multiplyTiles` unpacks, each within one segment (`tiles(of:cols:)`).
    let tiles: [Tile]

    /// Rows [firstRow, firstRow + rows) of the matrix, all of one block type.
    struct Segment: @unchecked Sendable {
        let type: GGMLType
        let firstRow: Int
        let rows: Int
        let bytesPerRow: Int
        let data: UnsafeMutableRawPointer
        /// Per group of 32 weights, decoded once: rows × cols/32 scales and mins. Q4_1, Q5_1: d and m; Q8_0, Q5_0: d
        /// only (`mins` is `scales` and never read: 21 MB less for Gemma 3 270M's embedding); Q4_K, Q5_K: d·sc and dmin·m of the group's sub-block (subtracted); Q6_K, Q3_K: the super-block's d
        /// and 0; Q2_K: the super-block's d and dmin (the sub-block scales, and Q2_K's 4-bit mins, are applied in
        /// the kernel). See `ck_quantized_scales`, `ck_quantized_k_scales`, `ck_quantized_lowbit_scales`.
        let scales: UnsafeMutablePointer<Float>
        let mins: UnsafeMutablePointer<Float>
        /// Whether `mins` is an array of its own (false: it is `scales`).
        var ownsMins: Bool { mins != scales }
    }

    /// The block type when every row has the same one, else nil.
    var type: GGMLType? { segments.allSatisfy { $0.type == segments[0].type } ? segments[0].type : nil }

    /// The kernel path of this matrix's products: nil runs the process's active path (`KernelPath.active`, the
    /// default). Tests set `.portable` on one model's matrices to run its compact products on the portable C loops
    /// without changing the path every other product in the process runs.
    var kernelPath: KernelPath?

    /// Stacks the raw rows of several tensors (each `cols` wide, of a type in `supportedTypes`) in order; adjacent
    /// tensors of one type share a segment. `raw`, when given, is appended as one more tensor of its type.
    init(cols: Int, parts: [(type: GGMLType, bytes: [UInt8])], raw: (type: GGMLType, bytes: UnsafeRawBufferPointer)? = nil) {
        precondition(!parts.isEmpty || raw != nil, "QuantizedMatrix: no tensors")
        self.cols = cols
        // Runs of adjacent tensors of one type, each tensor as (bytes, copy into a destination).
        typealias Piece = (size: Int, copy: (UnsafeMutableRawPointer) -> Void)
        var runs: [(type: GGMLType, pieces: [Piece])] = []
        func add(_ type: GGMLType, _ piece: Piece) {
            precondition(Self.supportedTypes.contains(type), "QuantizedMatrix: no compact kernel for \(type.name)")
            precondition(cols % type.blockSize == 0, "QuantizedMatrix: \(cols) columns is not a whole number of \(type.name) blocks")
            if runs.last?.type == type { runs[runs.count - 1].pieces.append(piece) } else { runs.append((type, [piece])) }
        }
        for p in parts {
            let bytes = p.bytes
            add(p.type, (bytes.count, { dst in bytes.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) } }))
        }
        if let raw, raw.bytes.count > 0 {
            let source = raw.bytes
            add(raw.type, (source.count, { dst in dst.copyMemory(from: source.baseAddress!, byteCount: source.count) }))
        }
        var segments: [Segment] = []
        var firstRow = 0
        for run in runs {
            let bytesPerRow = cols / run.type.blockSize * run.type.blockBytes
            let total = run.pieces.reduce(0) { $0 + $1.size }
            let rows = total / bytesPerRow
            let data = UnsafeMutableRawPointer.allocate(byteCount: max(1, total), alignment: 64)
            var offset = 0
            for piece in run.pieces {
                piece.copy(data + offset)
                offset += piece.size
            }
            let blocks = rows * cols / 32
            let scales = UnsafeMutablePointer<Float>.allocate(capacity: max(1, blocks))
            let hasMins = !(run.type == .q8_0 || run.type == .q5_0)
            let mins = hasMins ? UnsafeMutablePointer<Float>.allocate(capacity: max(1, blocks)) : scales
            let bytes = data.assumingMemoryBound(to: UInt8.self)
            if Self.isKQuant(run.type) {
                ck_quantized_k_scales(Self.code(run.type), bytes, bytesPerRow, rows, cols, scales, mins)
            } else if Self.isLowBit(run.type) {
                ck_quantized_lowbit_scales(Self.code(run.type), bytes, bytesPerRow, rows, cols, scales, mins)
            } else {
                ck_quantized_scales(Self.code(run.type), bytes, bytesPerRow, rows, cols, scales, mins)
            }
            segments.append(Segment(type: run.type, firstRow: firstRow, rows: rows, bytesPerRow: bytesPerRow, data: data,
                                    scales: scales, mins: mins))
            firstRow += rows
        }
        self.segments = segments
        tiles = Self.tiles(of: segments, cols: cols)
        rows = firstRow
    }

    /// Stacks raw rows of several tensors of one block type (each `cols` wide), then `raw`.
    convenience init(type: GGMLType, cols: Int, parts: [[UInt8]], raw: UnsafeRawBufferPointer? = nil) {
        self.init(cols: cols, parts: parts.map { (type, $0) }, raw: raw.map { (type, $0) })
    }

    /// Copies the raw rows of one tensor of `type` (`cols` wide) without an intermediate array.
    convenience init(type: GGMLType, cols: Int, raw: UnsafeRawBufferPointer) {
        self.init(cols: cols, parts: [], raw: (type, raw))
    }

    deinit {
        for s in segments {
            if s.ownsMins { s.mins.deallocate() }
            s.data.deallocate(); s.scales.deallocate()
        }
    }

    /// The block types the compact kernel multiplies directly.
    static let supportedTypes: Set<GGMLType> = [.q4_1, .q8_0, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// The K-quants Q4_K, Q5_K, Q6_K (super-blocks of 256, `ck_quantized_k_matmul`).
    static func isKQuant(_ type: GGMLType) -> Bool { type == .q4_K || type == .q5_K || type == .q6_K }

    /// Q5_1 and the K-quants Q2_K, Q3_K (`ck_quantized_lowbit_matmul`).
    static func isLowBit(_ type: GGMLType) -> Bool { type == .q5_1 || type == .q2_K || type == .q3_K }

    static func code(_ type: GGMLType) -> Int32 {
        switch type {
        case .q4_1: Int32(CK_Q4_1)
        case .q5_0: Int32(CK_Q5_0)
        case .q5_1: Int32(CK_Q5_1)
        case .q2_K: Int32(CK_Q2_K)
        case .q3_K: Int32(CK_Q3_K)
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
        let s = segments.last { $0.firstRow <= r }!
        GGMLDequantize.dequantize(type: s.type, source: UnsafeRawPointer(s.data + (r - s.firstRow) * s.bytesPerRow),
                                  count: cols, into: out)
    }

    /// Bytes held (blocks and decoded scales).
    var byteCount: Int {
        segments.reduce(0) { $0 + $1.rows * $1.bytesPerRow + 2 * $1.rows * cols / 32 * MemoryLayout<Float>.size }
    }

    /// out[i][r] (+)= row r · x[i] for `n` input rows (x: n × cols, out: n × rows), rows split over `threads`.
    /// With `activations: .q8` the rows of x are first quantized to 8 bits per block of 32 (`ck_quantize_q8`) and
    /// the Q4_1 and Q8_0 rows are multiplied with integer block dot products (`ck_quantized_matmul_q8`); rows of
    /// other types keep Float32 activations.
    func multiply(_ x: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>,
                  accumulate: Bool = false, threads: Int, simd: Bool = true,
                  activations: ActivationPrecision = .float32) {
        guard n > 0 else { return }
        // The 8-bit-activation kernel knows Q4_1 and Q8_0 only; Q5_0, Q5_1 and the K-quants always run with Float32
        // activations.
        @Sendable func usesQ8(_ type: GGMLType) -> Bool { activations == .q8 && (type == .q4_1 || type == .q8_0) }
        let (rows, cols, segments) = (self.rows, self.cols, self.segments)
        let acc: Int32 = accumulate ? 1 : 0, useSIMD: Int32 = simd ? Self.pathCode(kernelPath) : Int32(CK_PATH_PORTABLE)
        let io = Pointers(x: x, out: out)
        var q: Q8Activations?
        if segments.contains(where: { usesQ8($0.type) }) {
            let blocks = n * cols / 32
            let a = Q8Activations(codes: .allocate(capacity: n * cols), scales: .allocate(capacity: blocks),
                                  sums: .allocate(capacity: blocks))
            ck_quantize_q8(x, cols, n, cols, a.codes, a.scales, a.sums)
            q = a
        }
        defer { if let q { q.codes.deallocate(); q.scales.deallocate(); q.sums.deallocate() } }
        let quantized = q
        // Rows [lo, hi) of the whole matrix: each segment's share, with its kernel, into its columns of `out`.
        run(rows: rows, threads: threads) { lo, hi in
            for s in segments where s.firstRow < hi && s.firstRow + s.rows > lo {
                let r0 = max(lo, s.firstRow) - s.firstRow, r1 = min(hi, s.firstRow + s.rows) - s.firstRow
                let code = Self.code(s.type), w = s.data.assumingMemoryBound(to: UInt8.self), o = io.out + s.firstRow
                if let q = quantized, usesQ8(s.type) {
                    ck_quantized_matmul_q8(code, w, s.bytesPerRow, s.scales, s.mins, r0, r1, cols, q.codes, q.scales, q.sums,
                                           n, o, rows, acc, useSIMD)
                } else if Self.isKQuant(s.type) {
                    ck_quantized_k_matmul(code, w, s.bytesPerRow, s.scales, s.mins, r0, r1, cols, io.x, cols, n, o, rows, acc, useSIMD)
                } else if Self.isLowBit(s.type) {
                    ck_quantized_lowbit_matmul(code, w, s.bytesPerRow, s.scales, s.mins, r0, r1, cols, io.x, cols, n, o, rows, acc, useSIMD)
                } else {
                    ck_quantized_matmul(code, w, s.bytesPerRow, s.scales, s.mins, r0, r1, cols, io.x, cols, n, o, rows, acc, useSIMD)
                }
            }
        }
    }

    /// Whether `type` has a kernel that unpacks its blocks straight into GEMM panels (`ck_quantized_pack_panels`:
    /// Q8_0, Q5_0, Q4_1, Q4_K, Q6_K).
    static func unpacksToPanels(_ type: GGMLType) -> Bool {
        supportedTypes.contains(type) && ck_quantized_pack_supported(code(type)) != 0
    }

    /// out[i][r] (+)= row r · x[i] for `n` input rows through dequantized tiles: each segment's rows in tiles of
    /// `ck_quantized_tile_rows(cols)` (64 rows at 640 columns, 32 at 1024 or more), unpacked exactly into GEMM panels
    /// and multiplied by the packed GEMM (`ck_quantized_gemm_tiles`); tiles split over `threads` workers in
    /// contiguous ranges. Each output is the packed kernel's FMA chain over its whole row, so the result has the bits
    /// a packed Float32 copy of the matrix gives (`PackedMatrix.multiply`), while memory grows by one tile per worker.
    /// Rows of types without an unpacking kernel are dequantized (`dequantizeRow`) and packed (`ck_pack_panels`).
    /// `kernelPath` selects the path of both the unpacking and the GEMM. Activation rows whose stride is a multiple
    /// of 512 floats are first copied 16 floats further apart (the GEMM's L1-aliasing fix, gemm.c; no bits change).
    func multiplyTiles(_ x: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>,
                       accumulate: Bool = false, threads: Int) {
        guard n > 0 else { return }
        let (rows, cols, segments, tiles) = (self.rows, self.cols, self.segments, self.tiles)
        let acc: Int32 = accumulate ? 1 : 0, path = Self.pathCode(kernelPath)
        var restrided: UnsafeMutablePointer<Float>?
        let ldx = n >= 3 && cols % 512 == 0 ? cols + 16 : cols
        if ldx != cols {
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: n * ldx)
            for i in 0..<n { (copy + i * ldx).update(from: x + i * cols, count: cols) }
            restrided = copy
        }
        defer { restrided?.deallocate() }
        let io = Pointers(x: UnsafePointer(restrided) ?? x, out: out)
        let flops = 2 * n * rows * cols
        let workers = flops < 1 << 19 ? 1 : max(1, min(threads, tiles.count))
        ParallelLoop.forEach(workers, threads: workers) { w in
            let per = (tiles.count + workers - 1) / workers
            var scratch: UnsafeMutablePointer<Float>?, panels: UnsafeMutablePointer<Float>?
            defer { scratch?.deallocate(); panels?.deallocate() }
            for t in tiles[min(tiles.count, w * per)..<min(tiles.count, (w + 1) * per)] {
                let s = segments[t.segment], data = s.data.assumingMemoryBound(to: UInt8.self)
                let o = io.out + s.firstRow
                if Self.unpacksToPanels(s.type) {
                    let status = ck_quantized_gemm_tiles(Self.code(s.type), data, s.bytesPerRow, s.scales, s.mins, t.first,
                                                         t.first + t.count, cols, io.x, ldx, n, o, rows, acc, path, path)
                    precondition(status == 0, "QuantizedMatrix.multiplyTiles: no memory for a \(t.count) × \(cols) tile")
                } else {
                    // Sized for the largest tile (a worker's first tile may be a segment's ragged last one).
                    let most = ck_quantized_tile_rows(cols)
                    let sc = scratch ?? .allocate(capacity: most * cols), pn = panels ?? .allocate(capacity: Int(ck_packed_count(most, cols)))
                    scratch = sc; panels = pn
                    for r in 0..<t.count { dequantizeRow(s.firstRow + t.first + r, into: sc + r * cols) }
                    ck_pack_panels(sc, t.count, cols, cols, pn)
                    ck_gemm_panels(io.x, ldx, n, cols, pn, t.count, 0, (t.count + 15) / 16, o + t.first, rows, acc, path)
                }
            }
        }
    }

    /// A tile of `multiplyTiles`: rows [first, first + count) of segment `segment`.
    struct Tile: Sendable {
        let segment: Int
        let first: Int
        let count: Int
    }

    /// The tiles of `multiplyTiles`, in row order, each within one segment.
    static func tiles(of segments: [Segment], cols: Int) -> [Tile] {
        let size = ck_quantized_tile_rows(cols)
        var tiles: [Tile] = []
        for (i, s) in segments.enumerated() {
            for first in stride(from: 0, to: s.rows, by: size) { tiles.append(Tile(segment: i, first: first, count: min(size, s.rows - first))) }
        }
        return tiles
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

    private struct Pointers: @unchecked Sendable {
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
