import Foundation
import ModelFormats
import Randomness
import Tensor
import Testing
import Tokenization
@testable import LanguageModel

/// The compact K-quant kernels (`ck_quantized_k_matmul`: Q4_K, Q5_K, Q6_K) on random valid super-blocks, against
/// the Float64 product of the exact dequantization (`GGMLDequantize`, equal bit for bit to the gguf 0.19 package's),
/// for every activation-row count the kernels specialise (1…8) and beyond (groups of 8), several column counts
/// (one super-block, several, and more than 64 groups of 32, where the per-group sums of x leave the stack), and a
/// row count split over two threads.
///
/// Bounds (u = 2⁻²⁴, γ_n = n·u / (1 − n·u), Higham, "Accuracy and Stability of Numerical Algorithms", §3.1):
/// - SIMD paths: the kernel sums the exact terms s_g·q_j·x_j and m_g·x_j (group scale s_g, min m_g, integer code q_j;
///   Q6_K: s_g = d, q_j = sc·(q − 32)) with at most G + 7 roundings on any term's path (G = cols/32 groups: 2 in the
///   group's products, t + u, one FMA per group into the accumulator, 3 in the lane sum, the min subtraction), so
///   |ŷ − y| ≤ (γ_{G+8} + u)·M with M = Σ_j (|s_g·q_j| + |m_g|)·|x_j|; the extra u·M covers ggml's rounding of
///   each weight s_g·q_j − m_g to Float32, which the reference y uses and the kernel does not.
/// - Portable C: ggml's Float32 weights w_j, products and a running sum in index order: |ŷ − y| ≤ γ_{cols+1}·Σ|w_j·x_j|.
/// - AVX-512 equals AVX2 bit for bit (forced with `KernelPath.withActive`); `accumulate` adds to the output with one
///   Float32 addition of the non-accumulated result.
@Suite(.serialized) struct QuantizedKTests {
    static let kTypes: [GGMLType] = [.q4_K, .q5_K, .q6_K]

    /// One group of 32 weights of a K-quant super-block decoded independently in Float64 (from the block layout of
    /// ggml-quants.c): w_j = scale·code_j − min.
    struct Group { var scale: Double; var min: Double; var codes: [Double] }

    /// Random valid super-blocks: binary16 d (and dmin) of plausible sizes, every other byte uniform (all 6-bit
    /// scales and mins, nibbles, high bits and int8 scales are valid encodings).
    static func randomBlocks(_ type: GGMLType, count: Int, rng: inout SplitMix64) -> [UInt8] {
        let size = type.blockBytes
        var bytes = (0..<(count * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        func half(_ v: Double, at offset: Int) {
            let bits = Float16(Float(v)).bitPattern
            bytes[offset] = UInt8(bits & 0xFF); bytes[offset + 1] = UInt8(bits >> 8)
        }
        for b in 0..<count {
            let base = b * size
            if type == .q6_K {
                half((rng.nextUnit() < 0.5 ? -1 : 1) * (1e-4 + 2e-3 * rng.nextUnit()), at: base + 208)
            } else {
                half(1e-4 + 3e-3 * rng.nextUnit(), at: base)
                half(1e-4 + 3e-3 * rng.nextUnit(), at: base + 2)
            }
        }
        return bytes
    }

    static func half(_ p: [UInt8], _ at: Int) -> Double {
        Double(Float(Float16(bitPattern: UInt16(p[at]) | UInt16(p[at + 1]) << 8)))
    }

    /// The 8 groups of 32 of one super-block (`block` = its bytes).
    static func groups(_ type: GGMLType, _ block: [UInt8]) -> [Group] {
        if type == .q6_K {
            let d = half(block, 208)
            return (0..<8).map { g in
                let h = g / 4, gg = g % 4
                var codes: [Double] = []
                for l in 0..<32 {
                    let ql = Int(block[64 * h + 32 * (gg % 2) + l] >> (gg >= 2 ? 4 : 0)) & 15
                    let qh = Int(block[128 + 32 * h + l] >> (2 * gg)) & 3
                    let sc = Int(Int8(bitPattern: block[192 + 2 * g + l / 16]))
                    codes.append(Double(sc * ((ql | qh << 4) - 32)))
                }
                return Group(scale: d, min: 0, codes: codes)
            }
        }
        let five = type == .q5_K
        let d = half(block, 0), dmin = half(block, 2)
        let s = Array(block[4..<16])
        return (0..<8).map { g in
            let sc = g < 4 ? Int(s[g] & 63) : Int(s[g + 4] & 15) | Int(s[g - 4] >> 6) << 4
            let m = g < 4 ? Int(s[g + 4] & 63) : Int(s[g + 4] >> 4) | Int(s[g] >> 6) << 4
            let qs = (five ? 48 : 16) + (g / 2) * 32
            let codes = (0..<32).map { l -> Double in
                var q = Int(block[qs + l] >> (g % 2 == 1 ? 4 : 0)) & 15
                if five { q |= (Int(block[16 + l] >> g) & 1) << 4 }
                return Double(q)
            }
            return Group(scale: d * Double(sc), min: dmin * Double(m), codes: codes)
        }
    }

    struct Case {
        let type: GGMLType
        let rows: Int
        let cols: Int
        let bytes: [UInt8]
        /// ggml's Float32 weights (GGMLDequantize), rows × cols.
        let weights: [Float]
        /// Independent Float64 decoding, rows × cols/32 groups.
        let groups: [Group]
    }

    static func makeCase(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> Case {
        var rng = SplitMix64(seed: seed)
        let blocksPerRow = cols / 256
        let bytes = randomBlocks(type, count: rows * blocksPerRow, rng: &rng)
        var weights = [Float](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { GGMLDequantize.dequantize(type: type, source: $0.baseAddress!, count: rows * cols, into: &weights) }
        var groups: [Group] = []
        for b in 0..<(rows * blocksPerRow) {
            groups += Self.groups(type, Array(bytes[(b * type.blockBytes)..<((b + 1) * type.blockBytes)]))
        }
        return Case(type: type, rows: rows, cols: cols, bytes: bytes, weights: weights, groups: groups)
    }

    /// The independent decoding gives ggml's weights: Float32(scale·code − min) (exact in Float64) equals
    /// `GGMLDequantize` (as values: ggml writes −0 where a negative Q6_K scale meets a zero code), and the matrix's
    /// decoded scales and mins are the groups' (exactly).
    @Test(arguments: kTypes)
    func decodingAndScalesMatchGGML(type: GGMLType) {
        let c = Self.makeCase(type, rows: 9, cols: 768, seed: 7 + UInt64(type.rawValue))
        var mismatches = 0
        for (gi, g) in c.groups.enumerated() {
            for j in 0..<32 where Float(g.scale * g.codes[j] - g.min) != c.weights[gi * 32 + j] {
                mismatches += 1
            }
        }
        #expect(mismatches == 0, "\(type): \(mismatches) weights differ from GGMLDequantize")
        let matrix = QuantizedMatrix(type: type, cols: c.cols, parts: [c.bytes])
        let segment = matrix.segments[0]
        #expect(matrix.rows == c.rows && matrix.segments.count == 1 && segment.bytesPerRow == c.cols / 256 * type.blockBytes)
        for (gi, g) in c.groups.enumerated() {
            #expect(Double(segment.scales[gi]) == g.scale && Double(segment.mins[gi]) == g.min, "\(type) group \(gi)")
        }
        var row = [Float](repeating: 0, count: c.cols)
        matrix.dequantizeRow(4, into: &row)
        #expect(row == Array(c.weights[(4 * c.cols)..<(5 * c.cols)]))
    }

    /// Each path's product against the Float64 product of ggml's weights, within the bounds above; AVX-512 = AVX2.
    @Test(arguments: kTypes)
    func productsMatchFloat64(type: GGMLType) {
        let u = 0x1p-24
        func gamma(_ n: Int) -> Double { Double(n) * u / (1 - Double(n) * u) }
        var checked = 0, worstSIMD = 0.0, worstPortable = 0.0
        for (ci, cols) in [256, 768, 2304].enumerated() {
            let rows = ci == 1 ? 130 : 37 // 130 rows: two 65-row chunks on two threads
            let c = Self.makeCase(type, rows: rows, cols: cols, seed: 1000 * UInt64(type.rawValue) + UInt64(cols))
            let matrix = QuantizedMatrix(type: type, cols: cols, parts: [c.bytes])
            var rng = SplitMix64(seed: 99 + UInt64(cols))
            let groupsPerRow = cols / 32
            for n in [1, 2, 3, 4, 5, 6, 7, 8, 11, 16] {
                let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
                let (portable, avx2) = expectPathsAgree(matrix, x, rows: n, label: "\(type) cols \(cols) n \(n)")
                for i in 0..<n {
                    for r in 0..<rows {
                        var y = 0.0, terms = 0.0, magnitude = 0.0
                        for k in 0..<cols {
                            let xv = Double(x[i * cols + k]), w = Double(c.weights[r * cols + k])
                            let g = c.groups[r * groupsPerRow + k / 32]
                            y += w * xv
                            terms += abs(w * xv)
                            magnitude += (abs(g.scale * g.codes[k % 32]) + abs(g.min)) * abs(xv)
                        }
                        let simdBound = (gamma(groupsPerRow + 8) + u) * magnitude
                        let portableBound = gamma(cols + 1) * terms
                        let simdError = abs(Double(avx2[i * rows + r]) - y), portableError = abs(Double(portable[i * rows + r]) - y)
                        #expect(simdError <= simdBound, "\(type) cols \(cols) n \(n) [\(i)][\(r)]: SIMD \(simdError) > \(simdBound)")
                        #expect(portableError <= portableBound, "\(type) cols \(cols) n \(n) [\(i)][\(r)]: portable \(portableError) > \(portableBound)")
                        worstSIMD = max(worstSIMD, simdError / simdBound)
                        worstPortable = max(worstPortable, portableError / portableBound)
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == 63 * (37 + 130 + 37))
        // The bounds are worst cases; typical errors are far inside them (a broken code or scale is not).
        #expect(worstSIMD < 0.5 && worstPortable < 0.5, "\(type): worst error / bound \(worstSIMD) (SIMD), \(worstPortable) (portable)")
    }

    /// A stack of tensors of different types (as Gemma 3 270M's attn_q, attn_k in Q5_0 and attn_v in Q8_0) keeps one
    /// segment per run of one type, and its product equals, bit for bit, each tensor multiplied on its own — on the
    /// SIMD and portable paths, on 1 and 2 threads (a thread's rows straddle segments), with Float32 and 8-bit
    /// activations (the latter only for the Q4_1/Q8_0 rows) — and its rows dequantize as the tensors' do.
    @Test func mixedTypeStackEqualsItsParts() {
        var rng = SplitMix64(seed: 2024)
        let cols = 512
        func legacyBlocks(_ type: GGMLType, rows: Int) -> [UInt8] {
            let size = type.blockBytes, count = rows * cols / 32
            var bytes = (0..<(count * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for b in 0..<count {
                let d = Float16(Float(rng.nextGaussian()) * 0.01).bitPattern
                bytes[b * size] = UInt8(d & 0xFF); bytes[b * size + 1] = UInt8(d >> 8)
                if type == .q4_1 { bytes[b * size + 2] = 0; bytes[b * size + 3] = 0x20 } // m = 0.0078125
            }
            return bytes
        }
        let layout: [(GGMLType, Int)] = [(.q5_0, 40), (.q5_0, 30), (.q8_0, 24), (.q4_K, 50), (.q6_K, 20), (.q4_1, 10), (.q5_K, 12)]
        let parts: [(type: GGMLType, bytes: [UInt8])] = layout.map { type, rows in
            (type, Self.isK(type) ? Self.randomBlocks(type, count: rows * cols / 256, rng: &rng) : legacyBlocks(type, rows: rows))
        }
        let stack = QuantizedMatrix(cols: cols, parts: parts)
        #expect(stack.rows == 186 && stack.type == nil)
        #expect(stack.segments.map(\.type) == [.q5_0, .q8_0, .q4_K, .q6_K, .q4_1, .q5_K])
        #expect(stack.segments.map(\.firstRow) == [0, 70, 94, 144, 164, 174])
        expectStackEqualsParts(stack, parts: parts, cols: cols, rng: &rng)
    }

    /// The llama GGUF loader keeps K-quant matrices compact, mixed types within a stack included: a small random
    /// llama (d_model 256, 2 blocks, attn_q/k/v in Q4_K/Q5_K/Q6_K, attn_output Q6_K, ffn_gate/up Q5_K/Q4_K,
    /// ffn_down Q4_K) gives, with its few-row steps on the compact kernels, the logits of the packed Float32 path
    /// within Float32 rounding (1e-4 of the largest |logit|) and the same greedy tokens.
    @Test func llamaLoaderKeepsKQuantsCompact() throws {
        try expectLoaderKeepsCompact(types: [.q4_K, .q5_K, .q6_K, .q6_K, .q5_K, .q4_K, .q4_K], seed: 77, blocks: Self.randomBlocks)
    }

    static func isK(_ type: GGMLType) -> Bool { kTypes.contains(type) }
}
