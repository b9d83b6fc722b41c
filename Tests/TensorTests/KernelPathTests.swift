import CKernels
import Foundation
import Randomness
import Testing
@testable import Tensor

/// The AVX-512 kernels against the AVX2 ones, bit for bit, on seeded random inputs (ragged shapes included), and the
/// portable C loops against Float64 within rounding. The AVX-512 comparisons run only where the CPU has AVX-512
/// (F/BW/DQ/VL); elsewhere they are reported as skipped with that reason.
@Suite struct KernelPathTests {
    static let hasAVX512 = KernelPath.avx512.isSupported
    static let hasAVX2 = KernelPath.avx2.isSupported
    static let avx512Reason: Comment = "this CPU lacks AVX-512 (F/BW/DQ/VL): the AVX-512 = AVX2 comparison cannot run"

    static func random(_ count: Int, _ rng: inout SplitMix64, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float(rng.nextUnit() * 2 - 1) * scale }
    }

    static func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

    // MARK: GEMM

    /// Random shapes covering every row tail of both micro-kernels (m mod 6, m mod 12), one or several row blocks
    /// (96 rows), an odd panel count and a partial last panel, k from 1 up; with and without accumulation, strides
    /// and two threads.
    @Test(.enabled(if: hasAVX512, avx512Reason))
    func gemmAVX512EqualsAVX2() {
        var rng = SplitMix64(seed: 2020)
        var shapes: [(Int, Int, Int)] = [(1, 1, 1), (12, 32, 64), (13, 48, 7), (96, 16, 576), (97, 33, 65),
                                         (200, 960, 100), (64, 3072, 576), (7, 49, 1536)]
        for _ in 0..<40 {
            shapes.append((1 + Int(rng.next() % 140), 1 + Int(rng.next() % 120), 1 + Int(rng.next() % 300)))
        }
        for (index, (m, n, k)) in shapes.enumerated() {
            let ldx = k + (index % 3), ldy = n + (index % 2) * 5
            let x = Self.random(m * ldx, &rng), w = Self.random(n * k, &rng), start = Self.random(m * ldy, &rng)
            let packed = PackedMatrix(rowMajor: w, rows: n, cols: k)
            let accumulate = index % 2 == 1, threads = index % 4 == 3 ? 2 : 1
            var outputs: [[Float]] = []
            for path in [KernelPath.avx2, .avx512] {
                var y = start
                packed.multiply(x, count: m, xStride: ldx, into: &y, yStride: ldy, accumulate: accumulate,
                                threads: threads, kernel: path)
                outputs.append(y)
            }
            #expect(Self.bits(outputs[0]) == Self.bits(outputs[1]),
                    "m \(m) n \(n) k \(k), accumulate \(accumulate), threads \(threads)")
            // The strided columns past n are never written.
            if ldy > n { #expect(outputs[1][n] == start[n]) }
        }
    }

    /// Each output of the SIMD GEMM is one FMA chain over k from 0 (then + C's old value when accumulating), bit for
    /// bit, whatever the row blocking, row tails (m mod 6 = 0…5, alone and after full groups) and column tails, depth (k = 1 … 1536) and threads: the summation order
    /// any K blocking or other rearrangement of the kernels must keep. The reference is Swift's fused
    /// `addingProduct` in k order.
    @Test(.enabled(if: hasAVX2, "this CPU lacks AVX2/FMA"))
    func gemmEqualsOneFMAChainPerOutput() {
        let shapes: [(Int, Int, Int)] = [(1, 16, 255), (6, 16, 256), (7, 17, 257), (13, 33, 513), (97, 40, 576),
                                         (5, 31, 1536), (100, 20, 700), (3, 5, 1), (12, 64, 300),
                                         (8, 40, 577), (9, 16, 256), (14, 33, 100), (15, 17, 64), (32, 48, 640),
                                         (105, 18, 300), (2, 16, 9)]
        Self.checkOneFMAChainPerOutput(shapes.enumerated().map { ($1.0, $1.1, $1.2, $1.2 + $0 % 3) }, seed: 2026)
    }

    /// A rows 2 KB apart (x strides that are multiples of 512 floats) are copied to a stride of k + 16 floats before
    /// the micro-kernels run when eight or more panels follow (gemm.c, `ck_gemm_restride`): the copy must not change
    /// a bit. Each output is checked against its FMA chain over k, on every SIMD path, with 1 and 2 threads, for row
    /// counts on both sides of the 3-row threshold and of the 96-row block, k below and equal to the stride, panel
    /// counts on both sides of eight, with and without accumulation.
    @Test(.enabled(if: hasAVX2, "this CPU lacks AVX2/FMA"))
    func gemmWithAliasingStridesEqualsOneFMAChainPerOutput() {
        Self.checkOneFMAChainPerOutput([(13, 130, 512, 512), (97, 260, 1024, 1024), (7, 300, 1000, 1024),
                                        (3, 128, 100, 512), (2, 256, 512, 512), (26, 112, 1536, 1536),
                                        (110, 257, 2048, 2048), (5, 140, 700, 1536)], seed: 2048)
    }

    /// Each shape (m rows of x, `ldx` apart; n × k weights) on every SIMD path with 1 and 2 threads: every output
    /// equals Swift's fused `addingProduct` chain over k from 0 (then + y's old value when accumulating, every other
    /// shape), bit for bit; y's stride is n or n + 3.
    static func checkOneFMAChainPerOutput(_ shapes: [(m: Int, n: Int, k: Int, ldx: Int)], seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let paths = Self.hasAVX512 ? [KernelPath.avx2, .avx512] : [.avx2]
        for (index, (m, n, k, ldx)) in shapes.enumerated() {
            let ldy = n + (index % 2) * 3
            let x = Self.random(m * ldx, &rng), w = Self.random(n * k, &rng), start = Self.random(m * ldy, &rng)
            let accumulate = index % 2 == 0
            var expected = start
            for i in 0..<m {
                for j in 0..<n {
                    var acc: Float = 0
                    for kk in 0..<k { acc = acc.addingProduct(x[i * ldx + kk], w[j * k + kk]) }
                    expected[i * ldy + j] = accumulate ? start[i * ldy + j] + acc : acc
                }
            }
            let packed = PackedMatrix(rowMajor: w, rows: n, cols: k)
            for path in paths {
                for threads in [1, 2] {
                    var y = start
                    packed.multiply(x, count: m, xStride: ldx, into: &y, yStride: ldy, accumulate: accumulate,
                                    threads: threads, kernel: path)
                    #expect(Self.bits(y) == Self.bits(expected),
                            "\(path) m \(m) n \(n) k \(k) stride \(ldx), accumulate \(accumulate), threads \(threads)")
                }
            }
        }
    }

    /// Greedy decoding's argmax (`ck_argmax`) is the scalar loop `if x[i] > best` from −∞ on every path: lowest index
    /// on ties, NaN never chosen, 0 when nothing exceeds −∞; lengths around the 8- and 16-lane steps and a full
    /// Gemma 3 vocabulary; maxima at the first and last index, repeated maxima, ±0, −∞ and NaN.
    @Test func argmaxEqualsTheScalarLoopOnEveryPath() {
        var rng = SplitMix64(seed: 31)
        func scalar(_ x: [Float]) -> Int {
            var best = -Float.infinity, k = 0
            for i in x.indices where x[i] > best { best = x[i]; k = i }
            return k
        }
        var cases: [[Float]] = [[], [.nan], [-.infinity, -.infinity], [.nan, 1, .nan], [-0.0, 0.0], [0.0, -0.0, 0.0],
                                [Float](repeating: .nan, count: 19), [Float](repeating: -.infinity, count: 17)]
        for n in [1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 262_144] {
            var x = (0..<n).map { _ in Float(rng.nextUnit() * 8 - 4).rounded() }   // many ties
            cases.append(x)
            x[n - 1] = 9; cases.append(x)
            x[0] = 9; cases.append(x)
            for _ in 0..<max(1, n / 10) { x[Int(rng.next() % UInt64(n))] = .nan }
            cases.append(x)
        }
        let paths = [CK_PATH_PORTABLE, CK_PATH_AVX2, CK_PATH_AVX512].map(Int32.init).filter { ck_cpu_supports($0) != 0 }
        for (index, x) in cases.enumerated() {
            let expected = scalar(x)
            for path in paths {
                let padded = x.isEmpty ? [Float(0)] : x   // a valid pointer for the empty case (n = 0 reads nothing)
                let got = padded.withUnsafeBufferPointer { ck_argmax($0.baseAddress!, x.count, path) }
                #expect(got == expected, "case \(index) (\(x.count) values), kernel path \(path)")
            }
        }
    }

    // MARK: Quantized blocks

    /// Random GGML blocks of `type` (binary16 scales in ±scale, random codes): rows × k/32 blocks.
    static func randomBlocks(type: Int32, rows: Int, k: Int, _ rng: inout SplitMix64) -> (bytes: [UInt8], rowBytes: Int) {
        let blockBytes = type == Int32(CK_Q4_1) ? 20 : type == Int32(CK_Q5_0) ? 22 : 34
        let nb = k / 32, rowBytes = nb * blockBytes
        var bytes = (0..<(rows * rowBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for r in 0..<rows {
            for b in 0..<nb {
                let o = r * rowBytes + b * blockBytes
                let d = ck_float_to_half(Float(rng.nextUnit() * 2 - 1) * 0.05)
                bytes[o] = UInt8(d & 0xFF); bytes[o + 1] = UInt8(d >> 8)
                if type == Int32(CK_Q4_1) {
                    let m = ck_float_to_half(Float(rng.nextUnit() * 2 - 1) * 0.05)
                    bytes[o + 2] = UInt8(m & 0xFF); bytes[o + 3] = UInt8(m >> 8)
                }
            }
        }
        return (bytes, rowBytes)
    }

    /// ggml's dequantized weight j of block `blk` (Float64 of the exact Float32 weight d·q + m or d·q).
    static func weight(type: Int32, _ blk: ArraySlice<UInt8>, _ j: Int) -> Double {
        let s = blk.startIndex
        let d = Double(ck_half_to_float(UInt16(blk[s]) | UInt16(blk[s + 1]) << 8))
        switch type {
        case Int32(CK_Q4_1):
            let m = Double(ck_half_to_float(UInt16(blk[s + 2]) | UInt16(blk[s + 3]) << 8))
            let byte = blk[s + 4 + j % 16]
            return d * Double(j < 16 ? byte & 0x0F : byte >> 4) + m
        case Int32(CK_Q5_0):
            let qh = UInt32(blk[s + 2]) | UInt32(blk[s + 3]) << 8 | UInt32(blk[s + 4]) << 16 | UInt32(blk[s + 5]) << 24
            let byte = blk[s + 6 + j % 16]
            let low = j < 16 ? Int(byte & 0x0F) : Int(byte >> 4)
            return d * Double((low | (Int((qh >> UInt32(j)) & 1) << 4)) - 16)
        default:
            return d * Double(Int8(bitPattern: blk[s + 2 + j]))
        }
    }

    static let quantizedTypes: [Int32] = [Int32(CK_Q4_1), Int32(CK_Q8_0), Int32(CK_Q5_0)]

    /// Product of random blocks with m activation rows on `path` (0 portable, 2 AVX2, 3 AVX-512).
    static func quantizedProduct(type: Int32, bytes: [UInt8], rowBytes: Int, rows: Int, k: Int, x: [Float], m: Int,
                                 path: Int32, accumulateOnto start: [Float]? = nil) -> [Float] {
        let nb = k / 32
        var scales = [Float](repeating: 0, count: rows * nb), mins = scales
        ck_quantized_scales(type, bytes, rowBytes, rows, k, &scales, &mins)
        var out = start ?? [Float](repeating: .nan, count: m * rows)
        ck_quantized_matmul(type, bytes, rowBytes, scales, mins, 0, rows, k, x, k, m, &out, rows,
                            start == nil ? 0 : 1, path)
        return out
    }

    @Test(.enabled(if: hasAVX512, avx512Reason), arguments: quantizedTypes)
    func quantizedAVX512EqualsAVX2(type: Int32) {
        var rng = SplitMix64(seed: 20 + UInt64(type))
        for trial in 0..<24 {
            let rows = 1 + Int(rng.next() % 80), k = 32 * (1 + Int(rng.next() % (trial < 20 ? 24 : 80)))
            let m = 1 + Int(rng.next() % 19) // every row-group tail of the 8-row kernel, one to three groups
            let (bytes, rowBytes) = Self.randomBlocks(type: type, rows: rows, k: k, &rng)
            let x = Self.random(m * k, &rng)
            let start: [Float]? = trial % 3 == 0 ? Self.random(m * rows, &rng) : nil
            let a = Self.quantizedProduct(type: type, bytes: bytes, rowBytes: rowBytes, rows: rows, k: k, x: x, m: m,
                                          path: Int32(CK_PATH_AVX2), accumulateOnto: start)
            let b = Self.quantizedProduct(type: type, bytes: bytes, rowBytes: rowBytes, rows: rows, k: k, x: x, m: m,
                                          path: Int32(CK_PATH_AVX512), accumulateOnto: start)
            #expect(Self.bits(a) == Self.bits(b), "type \(type): \(rows) rows, k \(k), m \(m)")
        }
    }

    /// Every path against the Float64 product of the dequantized weights. Each output sums k products of
    /// |w| ≤ 0.05·16 + 0.05 and |x| ≤ 1 in Float32: |error| ≤ k · 2⁻²³ · Σ|wx| ≤ k · 1.2e-7 · 0.85 · k; we allow
    /// 2e-7 · k² + 1e-6 (loose, but far below the typical output magnitude of ≈ 0.1·√k).
    @Test(arguments: quantizedTypes)
    func quantizedPathsMatchFloat64(type: Int32) {
        var rng = SplitMix64(seed: 40 + UInt64(type))
        let rows = 37, k = 32 * 9, m = 5
        let (bytes, rowBytes) = Self.randomBlocks(type: type, rows: rows, k: k, &rng)
        let x = Self.random(m * k, &rng)
        var expected = [Double](repeating: 0, count: m * rows)
        for i in 0..<m {
            for r in 0..<rows {
                var s = 0.0
                for kk in 0..<k {
                    let blk = bytes[(r * rowBytes + kk / 32 * (rowBytes / (k / 32)))...]
                    s += Self.weight(type: type, blk, kk % 32) * Double(x[i * k + kk])
                }
                expected[i * rows + r] = s
            }
        }
        let tolerance = 2e-7 * Double(k * k) + 1e-6
        for path in [Int32(CK_PATH_PORTABLE), Int32(CK_PATH_AVX2), Int32(CK_PATH_AVX512)] {
            let y = Self.quantizedProduct(type: type, bytes: bytes, rowBytes: rowBytes, rows: rows, k: k, x: x, m: m,
                                          path: path)
            let err = zip(y, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(err < tolerance, "type \(type), path \(path): max error \(err)")
        }
    }

    // MARK: Attention

    static func halves(_ v: [Float]) -> [UInt16] { v.map { ck_float_to_half($0) } }

    @Test(.enabled(if: hasAVX512, avx512Reason))
    func decodeAttentionAVX512EqualsAVX2() {
        var rng = SplitMix64(seed: 511)
        for trial in 0..<40 {
            let hd = 8 * (1 + Int(rng.next() % 16)), group = 1 + Int(rng.next() % 3)
            let kvHeads = 1 + Int(rng.next() % 3), heads = kvHeads * group
            let count = 1 + Int(rng.next() % 300), stride = kvHeads * hd
            let keys = Self.halves(Self.random(count * stride, &rng)), values = Self.halves(Self.random(count * stride, &rng))
            let q = Self.random(heads * hd, &rng)
            let cap: Float = trial % 4 == 0 ? 5 : 0
            var outputs: [[Float]] = []
            for path in [Int32(CK_PATH_AVX2), Int32(CK_PATH_AVX512)] {
                var scores = [Float](repeating: 0, count: count), out = [Float](repeating: .nan, count: heads * hd)
                ck_attend_decode_capped(q, keys, values, count, stride, hd, 0, heads, group, 0.3, cap, &scores, &out, path)
                outputs.append(out)
            }
            #expect(Self.bits(outputs[0]) == Self.bits(outputs[1]), "head dim \(hd), \(heads) heads, \(count) positions")
        }
    }

    @Test(.enabled(if: hasAVX512, avx512Reason))
    func prefillAttentionAVX512EqualsAVX2() {
        var rng = SplitMix64(seed: 512)
        for trial in 0..<40 {
            let hd = 8 * (1 + Int(rng.next() % 20)), count = 1 + Int(rng.next() % 200)
            let kStride = hd + Int(rng.next() % 3) * 8, vStride = hd + 8
            let keys = Self.random(count * kStride, &rng), values = Self.random(count * vStride, &rng)
            let q = Self.random(hd, &rng)
            let cap: Float = trial % 4 == 0 ? 5 : 0
            var outputs: [[Float]] = []
            for path in [Int32(CK_PATH_AVX2), Int32(CK_PATH_AVX512)] {
                var scores = [Float](repeating: 0, count: count), out = [Float](repeating: .nan, count: hd)
                ck_attend_f32_capped(q, keys, kStride, values, vStride, count, hd, 0.3, cap, &scores, &out, path)
                outputs.append(out)
            }
            #expect(Self.bits(outputs[0]) == Self.bits(outputs[1]), "head dim \(hd), \(count) positions")
        }
    }

    /// The four-row causal prefill kernel gives, row for row, the bits of the one-row kernel over that row's valid
    /// positions: random head dims (multiples of 8, with and without a 16-column remainder), row counts with every
    /// remainder mod 4, first positions ≥ 1, windows (none, 3 — the row-by-row fallback —, 4, 5, 64) and soft-capping,
    /// on each SIMD path this CPU has (the portable path is row by row by construction).
    @Test(.enabled(if: hasAVX2, "this CPU lacks AVX2")) func causalPrefillEqualsRowByRowAVX2() {
        Self.checkCausalPrefill(path: Int32(CK_PATH_AVX2))
    }

    @Test(.enabled(if: hasAVX512, avx512Reason)) func causalPrefillEqualsRowByRowAVX512() {
        Self.checkCausalPrefill(path: Int32(CK_PATH_AVX512))
    }

    static func checkCausalPrefill(path: Int32) {
        var rng = SplitMix64(seed: 4096 + UInt64(path))
        for trial in 0..<60 {
            let hd = 8 * (1 + Int(rng.next() % 34)), rows = 1 + Int(rng.next() % 23), count0 = 1 + Int(rng.next() % 90)
            let window = [0, 3, 4, 5, 64][trial % 5], cap: Float = trial % 3 == 0 ? 4 : 0
            let T = count0 + rows - 1, kv = hd + 8 * Int(rng.next() % 2), qStride = hd * 2 + 8, outStride = hd + 16
            let keys = Self.random(T * kv, &rng), values = Self.random(T * kv, &rng)
            let q = Self.random(rows * qStride, &rng, scale: 2)
            var scores = [Float](repeating: .nan, count: 4 * T), out = [Float](repeating: .nan, count: rows * outStride)
            ck_attend_f32_causal(q, qStride, keys, values, kv, rows, count0, window, hd, 0.2, cap, &scores, T,
                                 &out, outStride, path)
            for i in 0..<rows {
                let count = count0 + i, first = window > 0 && count > window ? count - window : 0
                var s1 = [Float](repeating: 0, count: T), o1 = [Float](repeating: .nan, count: hd)
                q.withUnsafeBufferPointer { qp in
                    keys.withUnsafeBufferPointer { kp in
                        values.withUnsafeBufferPointer { vp in
                            ck_attend_f32_capped(qp.baseAddress! + i * qStride, kp.baseAddress! + first * kv, kv,
                                                 vp.baseAddress! + first * kv, kv, count - first, hd, 0.2, cap, &s1, &o1,
                                                 path)
                        }
                    }
                }
                let row = Array(out[(i * outStride)..<(i * outStride + hd)])
                #expect(Self.bits(row) == Self.bits(o1), "trial \(trial): head dim \(hd), row \(i) of \(rows), window \(window)")
            }
        }
    }

    /// The encoder's multi-row attention (every row over the same positions, no mask) gives, row for row, the bits
    /// of the one-row kernel: random head dims (multiples of 8, MiniLM's 32 among them), row counts with every
    /// remainder mod 4 and position counts with every remainder mod 4 (the 4-key reduction's tail), on each SIMD path
    /// this CPU has, and the AVX2 and AVX-512 paths agree with each other.
    @Test(.enabled(if: hasAVX2, "this CPU lacks AVX2")) func encoderAttentionEqualsRowByRowAVX2() {
        Self.checkEncoderAttention(path: Int32(CK_PATH_AVX2))
    }

    @Test(.enabled(if: hasAVX512, avx512Reason)) func encoderAttentionEqualsRowByRowAVX512() {
        Self.checkEncoderAttention(path: Int32(CK_PATH_AVX512))
    }

    static func checkEncoderAttention(path: Int32) {
        var rng = SplitMix64(seed: 8192 + UInt64(path))
        for trial in 0..<60 {
            let hd = trial % 4 == 0 ? 32 : 8 * (1 + Int(rng.next() % 34))
            let rows = 1 + Int(rng.next() % 23), count = trial % 5 == 0 ? rows : 1 + Int(rng.next() % 90)
            let kv = 3 * hd + 8 * Int(rng.next() % 2), qStride = kv, outStride = hd + 16, ss = count + Int(rng.next() % 5)
            let keys = Self.random(count * kv, &rng), values = Self.random(count * kv, &rng)
            let q = Self.random(rows * qStride, &rng, scale: 2)
            var scores = [Float](repeating: .nan, count: 4 * ss), out = [Float](repeating: .nan, count: rows * outStride)
            ck_attend_f32_rows(q, qStride, keys, values, kv, rows, count, hd, 0.25, &scores, ss, &out, outStride, path)
            for i in 0..<rows {
                var s1 = [Float](repeating: 0, count: count), o1 = [Float](repeating: .nan, count: hd)
                q.withUnsafeBufferPointer { qp in
                    ck_attend_f32(qp.baseAddress! + i * qStride, keys, kv, values, kv, count, hd, 0.25, &s1, &o1, path)
                }
                let row = Array(out[(i * outStride)..<(i * outStride + hd)])
                #expect(Self.bits(row) == Self.bits(o1), "trial \(trial): head dim \(hd), row \(i) of \(rows), \(count) positions")
            }
        }
    }

    /// Gemma's gated tanh-GELU against Float64 ½a(1 + tanh(√(2/π)(a + 0.044715a³)))·u, within 4e-7 relative to |a·u|
    /// plus 1e-37 (the polynomial e^z and the rounding of a handful of operations; tanh's form is exact algebra), over
    /// a ∈ [−12, 12] and the tails ±(20…90); and the same bits on every path (portable, AVX2, AVX-512, ragged n).
    @Test func geluTanhMatchesFloat64OnEveryPath() {
        var rng = SplitMix64(seed: 2718)
        let n = 4099
        var g = Self.random(n, &rng, scale: 12)
        for i in 0..<40 { g[i] = (i % 2 == 0 ? 1 : -1) * Float(20 + 70 * rng.nextUnit()) }
        g[40] = 0; g[41] = -0.0; g[42] = 1e-30; g[43] = -1e-30
        let u = (0..<n).map { _ in Float(rng.nextUnit() * 4 - 2) }
        var outputs: [[UInt32]] = []
        for path in [Int32(CK_PATH_PORTABLE), Int32(CK_PATH_AVX2), Int32(CK_PATH_AVX512)] {
            for m in [n, 13] {
                var out = [Float](repeating: .nan, count: m)
                ck_gelu_tanh_mul(g, u, &out, m, path)
                if m == n { outputs.append(Self.bits(out)) } else { #expect(Self.bits(out) == Array(outputs.last!.prefix(m))) }
                for i in 0..<m {
                    let a = Double(g[i]), k = (2 / Double.pi).squareRoot()
                    let expected = 0.5 * a * (1 + tanh(k * (a + 0.044715 * a * a * a))) * Double(u[i])
                    #expect(abs(Double(out[i]) - expected) <= 4e-7 * abs(a * Double(u[i])) + 1e-37,
                            "path \(path): a \(a), got \(out[i]), expected \(expected)")
                }
            }
        }
        #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2], "the portable, AVX2 and AVX-512 bits differ")
    }

    /// Every path of the binary16 decode attention against a Float64 softmax over the same binary16 keys and values.
    /// The outputs are convex combinations of values in [−1, 1]; Float32 scores, exp and sums give |error| well
    /// under 1e-5 at 64 dimensions and 200 positions.
    @Test func attentionPathsMatchFloat64() {
        var rng = SplitMix64(seed: 64)
        let hd = 64, heads = 6, group = 3, kvHeads = 2, count = 200, stride = kvHeads * hd
        let keys = Self.halves(Self.random(count * stride, &rng)), values = Self.halves(Self.random(count * stride, &rng))
        let q = Self.random(heads * hd, &rng)
        let scale = 1 / Float(hd).squareRoot()
        var expected = [Double](repeating: 0, count: heads * hd)
        for h in 0..<heads {
            let kvh = h / group
            let s = (0..<count).map { t in
                (0..<hd).reduce(0.0) { $0 + Double(q[h * hd + $1]) * Double(ck_half_to_float(keys[t * stride + kvh * hd + $1])) }
                    * Double(scale)
            }
            let top = s.max()!, e = s.map { exp($0 - top) }, sum = e.reduce(0, +)
            for j in 0..<hd {
                expected[h * hd + j] = (0..<count).reduce(0.0) {
                    $0 + e[$1] * Double(ck_half_to_float(values[$1 * stride + kvh * hd + j]))
                } / sum
            }
        }
        for path in [Int32(CK_PATH_PORTABLE), Int32(CK_PATH_AVX2), Int32(CK_PATH_AVX512)] {
            var scores = [Float](repeating: 0, count: count), out = [Float](repeating: .nan, count: heads * hd)
            ck_attend_decode(q, keys, values, count, stride, hd, 0, heads, group, scale, &scores, &out, path)
            let err = zip(out, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(err < 1e-5, "path \(path): max error \(err)")
        }
    }

    // MARK: GELU and the path switch

    @Test(.enabled(if: hasAVX512, avx512Reason))
    func geluAVX512EqualsAVX2() {
        var rng = SplitMix64(seed: 7)
        for n in [1, 7, 8, 15, 16, 17, 31, 1003] {
            let x = Self.random(n, &rng, scale: 6)
            var a = x, b = x
            ck_gelu(&a, n, Int32(CK_PATH_AVX2))
            ck_gelu(&b, n, Int32(CK_PATH_AVX512))
            #expect(Self.bits(a) == Self.bits(b), "n \(n)")
        }
    }

    @Test func environmentValues() {
        let best: KernelPath = Self.hasAVX512 ? .avx512 : Self.hasAVX2 ? .avx2 : .portable
        #expect(KernelPath.parse(environmentValue: nil) == (best, nil))
        #expect(KernelPath.parse(environmentValue: "") == (best, nil))
        #expect(KernelPath.parse(environmentValue: "portable") == (.portable, nil))
        let typo = KernelPath.parse(environmentValue: "avx-512")
        #expect(typo.path == best)
        #expect(typo.warning?.contains("SEMPROG_KERNELS=avx-512 is not one of avx512, avx2, portable") == true)
        let wide = KernelPath.parse(environmentValue: "avx512")
        if Self.hasAVX512 {
            #expect(wide == (.avx512, nil))
        } else {
            #expect(wide.path == best)
            #expect(wide.warning?.contains("SEMPROG_KERNELS=avx512, but this CPU") == true)
        }
        if Self.hasAVX2 { #expect(KernelPath.parse(environmentValue: "avx2") == (.avx2, nil)) }
    }

    /// Switching the active path at run time changes which kernel a default call runs (observable through
    /// `KernelPath.active`) and is undone afterwards; a path the CPU lacks is refused.
    @Test(.enabled(if: hasAVX512, avx512Reason))
    func switchingTheActivePath() {
        let before = KernelPath.active
        let inside = KernelPath.withActive(.avx2) { KernelPath.active }
        #expect(inside == .avx2)
        #expect(KernelPath.active == before)
        #expect(ck_set_kernel_path(7) == -1)
    }
}
