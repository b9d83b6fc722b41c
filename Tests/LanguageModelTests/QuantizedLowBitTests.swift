import Foundation
import ModelFormats
import Randomness
import Tensor
import Testing
import Tokenization
@testable import LanguageModel

/// The compact kernels for Q5_1, Q2_K and Q3_K (`ck_quantized_lowbit_matmul`, Sources/CKernels/quantized_lowbit.c)
/// on random valid blocks, against the Float64 product of the exact dequantization (`GGMLDequantize`, equal bit for
/// bit to the gguf 0.19 package's), for activation-row counts 1…9, 11 and 16 (the kernels specialise 1…8 and take
/// larger counts in groups of 8), several column counts (one block or super-block, several, and more sums of x than
/// fit the kernel's stack buffer: > 64 blocks of 32 for Q5_1, > 64 sub-blocks of 16 for Q2_K), and a row count
/// split over two threads.
///
/// Each weight is decoded independently in Float64 from ggml-quants.c's layout as w = v + μ: v = scale·c, the
/// group's scale times its integer code (Q2_K: d·(sc·q), Q3_K: d·((s − 32)·q), Q5_1: d·q), and μ the min term
/// (Q5_1: +m, Q2_K: −dmin·m_s, Q3_K: 0). Bounds (u = 2⁻²⁴, γ_n = n·u / (1 − n·u), Higham §3.1):
/// - AVX2: the kernel sums the exact terms v_j·x_j and μ_j·x_j with at most G + 7 roundings on any term's path
///   (G = cols/32 groups; the min terms' paths are no longer: Q5_1 G + 6, Q2_K G/8 + 10 ≤ G + 7), so
///   |ŷ − y| ≤ (γ_{G+8} + u)·M with M = Σ_j (|v_j| + |μ_j|)·|x_j|; the extra u·M covers ggml's rounding of v + μ
///   to Float32 (the reference uses ggml's weights; Q3_K's are exact).
/// - Portable C: ggml's Float32 weights, products and a running sum in index order: |ŷ − y| ≤ γ_{cols+1}·Σ|w_j·x_j|.
/// - The two paths then agree within the sum of their bounds; AVX-512 runs the AVX2 kernel (the same bits, checked);
///   1 and 2 threads give the same bits; `accumulate` adds to the output with one Float32 addition.
@Suite(.serialized) struct QuantizedLowBitTests {
    static let types: [GGMLType] = [.q5_1, .q2_K, .q3_K]

    static func half(_ p: [UInt8], _ at: Int) -> Double {
        Double(Float(Float16(bitPattern: UInt16(p[at]) | UInt16(p[at + 1]) << 8)))
    }

    /// Random valid blocks: binary16 d (dmin, m) of plausible sizes, every other byte uniform (all codes, high bits,
    /// 4-bit and 6-bit scales and mins are valid encodings).
    static func randomBlocks(_ type: GGMLType, count: Int, rng: inout SplitMix64) -> [UInt8] {
        let size = type.blockBytes
        var bytes = (0..<(count * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        func half(_ v: Double, at offset: Int) {
            let bits = Float16(Float(v)).bitPattern
            bytes[offset] = UInt8(bits & 0xFF); bytes[offset + 1] = UInt8(bits >> 8)
        }
        func sign() -> Double { rng.nextUnit() < 0.5 ? -1 : 1 }
        for b in 0..<count {
            let base = b * size
            switch type {
            case .q5_1:
                half(sign() * (1e-4 + 3e-3 * rng.nextUnit()), at: base)
                half(sign() * 0.02 * rng.nextUnit(), at: base + 2)
            case .q2_K:
                half(1e-4 + 3e-3 * rng.nextUnit(), at: base + 80)
                half(1e-4 + 3e-3 * rng.nextUnit(), at: base + 82)
            default:
                half(sign() * (1e-4 + 2e-3 * rng.nextUnit()), at: base + 108)
            }
        }
        return bytes
    }

    /// One block (Q5_1) or super-block (Q2_K, Q3_K) decoded in Float64 from the layout of ggml-quants.c: per weight
    /// v = scale·code and the min term μ (w = v + μ).
    static func decode(_ type: GGMLType, _ b: [UInt8]) -> (v: [Double], mu: [Double]) {
        var v: [Double] = [], mu: [Double] = []
        switch type {
        case .q5_1: // f16 d, f16 m, u32 qh, qs[16]
            let d = half(b, 0), m = half(b, 2)
            let qh = UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
            for j in 0..<32 {
                let nibble = j < 16 ? Int(b[8 + j] & 15) : Int(b[8 + j - 16] >> 4)
                v.append(d * Double(nibble | Int((qh >> UInt32(j)) & 1) << 4))
                mu.append(m)
            }
        case .q2_K: // scales[16] (scale | min << 4), qs[64], f16 d, f16 dmin
            let d = half(b, 80), dmin = half(b, 82)
            for e in 0..<256 {
                let s = e / 16, g = e / 32, l = e % 32
                let q = Int(b[16 + 32 * (g / 4) + l] >> (2 * (g % 4))) & 3
                v.append(d * Double(Int(b[s] & 15) * q))
                mu.append(-dmin * Double(b[s] >> 4))
            }
        default: // Q3_K: hmask[32], qs[64], scales[12] (6-bit packed), f16 d
            let d = half(b, 108)
            for e in 0..<256 {
                let i = e / 16, g = e / 32, l = e % 32
                let low = i < 8 ? Int(b[96 + i] & 15) : Int(b[96 + i - 8] >> 4)
                let high = Int(b[104 + i % 4] >> (2 * (i / 4))) & 3
                let q2 = Int(b[32 + 32 * (g / 4) + l] >> (2 * (g % 4))) & 3
                let h = Int(b[l] >> g) & 1
                v.append(d * Double(((low | high << 4) - 32) * (q2 - 4 * (1 - h))))
                mu.append(0)
            }
        }
        return (v, mu)
    }

    struct Case {
        let type: GGMLType
        let rows: Int
        let cols: Int
        let bytes: [UInt8]
        /// ggml's Float32 weights (GGMLDequantize), rows × cols.
        let weights: [Float]
        /// The independent Float64 decoding, rows × cols.
        let v: [Double]
        let mu: [Double]
    }

    static func makeCase(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> Case {
        var rng = SplitMix64(seed: seed)
        let blocks = rows * cols / type.blockSize
        let bytes = randomBlocks(type, count: blocks, rng: &rng)
        var weights = [Float](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { GGMLDequantize.dequantize(type: type, source: $0.baseAddress!, count: rows * cols, into: &weights) }
        var v: [Double] = [], mu: [Double] = []
        for b in 0..<blocks {
            let d = decode(type, Array(bytes[(b * type.blockBytes)..<((b + 1) * type.blockBytes)]))
            v += d.v; mu += d.mu
        }
        return Case(type: type, rows: rows, cols: cols, bytes: bytes, weights: weights, v: v, mu: mu)
    }

    /// The independent decoding gives ggml's weights, Float32(v + μ) = `GGMLDequantize` (v + μ is exact in Float64);
    /// the matrix's decoded scales and mins per group of 32 are Q5_1's d and m, Q2_K's d and dmin, Q3_K's d and 0;
    /// its rows dequantize as ggml's.
    @Test(arguments: types)
    func decodingAndScalesMatchGGML(type: GGMLType) {
        let cols = type == .q5_1 ? 96 : 768
        let c = Self.makeCase(type, rows: 9, cols: cols, seed: 17 + UInt64(type.rawValue))
        let mismatches = (0..<(c.rows * cols)).filter { Float(c.v[$0] + c.mu[$0]) != c.weights[$0] }.count
        #expect(mismatches == 0, "\(type): \(mismatches) weights differ from GGMLDequantize")
        #expect(c.mu.contains { $0 != 0 } == (type != .q3_K), "\(type): min terms")
        let matrix = QuantizedMatrix(type: type, cols: cols, parts: [c.bytes])
        let segment = matrix.segments[0]
        #expect(matrix.rows == c.rows && matrix.segments.count == 1 && segment.bytesPerRow == cols / type.blockSize * type.blockBytes)
        for gi in 0..<(c.rows * cols / 32) {
            let block = Array(c.bytes[(gi * 32 / type.blockSize * type.blockBytes)...])
            let (scale, min): (Double, Double) = switch type {
            case .q5_1: (Self.half(block, 0), Self.half(block, 2))
            case .q2_K: (Self.half(block, 80), Self.half(block, 82))
            default: (Self.half(block, 108), 0)
            }
            #expect(Double(segment.scales[gi]) == scale && Double(segment.mins[gi]) == min, "\(type) group \(gi)")
        }
        var row = [Float](repeating: 0, count: cols)
        matrix.dequantizeRow(4, into: &row)
        #expect(row == Array(c.weights[(4 * cols)..<(5 * cols)]))
    }

    /// Each path's product against the Float64 product of ggml's weights, within the bounds above; AVX2 and
    /// portable within the sum of both bounds; AVX-512 = AVX2; 1 thread = 2 threads; accumulate.
    @Test(arguments: types)
    func productsMatchFloat64(type: GGMLType) {
        let u = 0x1p-24
        func gamma(_ n: Int) -> Double { Double(n) * u / (1 - Double(n) * u) }
        var checked = 0, worstSIMD = 0.0, worstPortable = 0.0, differing = 0
        let counts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 16]
        let columns = type == .q5_1 ? [32, 768, 2304] : [256, 768, 2304]
        for (ci, cols) in columns.enumerated() {
            let rows = ci == 1 ? 130 : 37 // 130 rows: two 65-row chunks on two threads
            let c = Self.makeCase(type, rows: rows, cols: cols, seed: 3000 * UInt64(type.rawValue) + UInt64(cols))
            let matrix = QuantizedMatrix(type: type, cols: cols, parts: [c.bytes])
            var rng = SplitMix64(seed: 199 + UInt64(cols))
            let groups = cols / 32
            for n in counts {
                let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
                let (portable, avx2) = expectPathsAgree(matrix, x, rows: n, label: "\(type) cols \(cols) n \(n)")
                for i in 0..<n {
                    for r in 0..<rows {
                        var y = 0.0, terms = 0.0, magnitude = 0.0
                        for k in 0..<cols {
                            let xv = Double(x[i * cols + k]), e = r * cols + k
                            y += Double(c.weights[e]) * xv
                            terms += abs(Double(c.weights[e]) * xv)
                            magnitude += (abs(c.v[e]) + abs(c.mu[e])) * abs(xv)
                        }
                        let simdBound = (gamma(groups + 8) + u) * magnitude, portableBound = gamma(cols + 1) * terms
                        let a = Double(avx2[i * rows + r]), p = Double(portable[i * rows + r])
                        #expect(abs(a - y) <= simdBound, "\(type) cols \(cols) n \(n) [\(i)][\(r)]: SIMD \(abs(a - y)) > \(simdBound)")
                        #expect(abs(p - y) <= portableBound, "\(type) cols \(cols) n \(n) [\(i)][\(r)]: portable \(abs(p - y)) > \(portableBound)")
                        #expect(abs(a - p) <= simdBound + portableBound, "\(type) cols \(cols) n \(n) [\(i)][\(r)]: AVX2 vs portable")
                        worstSIMD = max(worstSIMD, abs(a - y) / simdBound)
                        worstPortable = max(worstPortable, abs(p - y) / portableBound)
                        if a != p { differing += 1 }
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == counts.reduce(0, +) * (37 + 130 + 37))
        // The bounds are worst cases; typical errors are far inside them (a broken code or scale is not).
        #expect(worstSIMD < 0.5 && worstPortable < 0.5, "\(type): worst error / bound \(worstSIMD) (SIMD), \(worstPortable) (portable)")
        // The SIMD kernel ran (on an AVX2 CPU): it sums in another order than the portable loop.
        #expect(KernelPath.withActive(.avx2) { true } == nil || differing > 0, "\(type): AVX2 equals portable everywhere")
    }

    /// A stack of Q3_K, Q5_1 and Q2_K tensors with older types between them keeps one segment per run of one type;
    /// its product equals, bit for bit, each tensor multiplied on its own (SIMD and portable, 1 and 2 threads, where a
    /// thread's rows straddle segments; Float32 and 8-bit activations, the latter only for the Q8_0 rows) and its rows
    /// dequantize as the tensors' do.
    @Test func mixedTypeStackEqualsItsParts() {
        var rng = SplitMix64(seed: 4048)
        let cols = 512
        let layout: [(GGMLType, Int)] = [(.q3_K, 40), (.q5_1, 30), (.q5_1, 14), (.q8_0, 8), (.q2_K, 36), (.q4_K, 10), (.q3_K, 12)]
        func blocks(_ type: GGMLType, rows: Int) -> [UInt8] {
            let count = rows * cols / type.blockSize
            if Self.types.contains(type) { return Self.randomBlocks(type, count: count, rng: &rng) }
            if QuantizedKTests.isK(type) { return QuantizedKTests.randomBlocks(type, count: count, rng: &rng) }
            var bytes = (0..<(count * 34)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } // Q8_0: random codes and d
            for b in 0..<count {
                let d = Float16(Float(rng.nextGaussian()) * 0.01).bitPattern
                bytes[b * 34] = UInt8(d & 0xFF); bytes[b * 34 + 1] = UInt8(d >> 8)
            }
            return bytes
        }
        let parts: [(type: GGMLType, bytes: [UInt8])] = layout.map { ($0.0, blocks($0.0, rows: $0.1)) }
        let stack = QuantizedMatrix(cols: cols, parts: parts)
        #expect(stack.rows == 150 && stack.type == nil)
        #expect(stack.segments.map(\.type) == [.q3_K, .q5_1, .q8_0, .q2_K, .q4_K, .q3_K])
        #expect(stack.segments.map(\.firstRow) == [0, 40, 84, 92, 128, 138])
        expectStackEqualsParts(stack, parts: parts, cols: cols, rng: &rng)
    }

    /// The llama GGUF loader keeps Q2_K, Q3_K and Q5_1 matrices compact, mixed types within a stack included: a small
    /// random llama (d_model 256, 2 blocks, attn_q/k/v in Q2_K/Q3_K/Q5_1, attn_output Q3_K, ffn_gate/up Q5_1/Q2_K,
    /// ffn_down Q3_K) gives, with its few-row steps on the compact kernels, the logits of the packed Float32 path
    /// within Float32 rounding (1e-4 of the largest |logit|) and the same greedy tokens.
    @Test func llamaLoaderKeepsLowBitMatricesCompact() throws {
        try expectLoaderKeepsCompact(types: [.q2_K, .q3_K, .q5_1, .q3_K, .q5_1, .q2_K, .q3_K], seed: 78, blocks: Self.randomBlocks)
    }

    /// ggml's quantize_row_q5_1_ref (min and max of each block of 32, d = (max − min)/31, q = round((x − min)/d)).
    static func quantizeQ5_1(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in stride(from: 0, to: values.count, by: 32) {
            let block = Array(values[b..<(b + 32)])
            let lo = block.min()!, hi = block.max()!
            let d = (hi - lo) / 31, id: Float = d != 0 ? 1 / d : 0
            for h in [Float16(d).bitPattern, Float16(lo).bitPattern] { out += [UInt8(h & 0xFF), UInt8(h >> 8)] }
            let q = block.map { UInt32(min(31, max(0, Int((($0 - lo) * id + 0.5).rounded(.down))))) }
            let qh = (0..<32).reduce(UInt32(0)) { $0 | ((q[$1] >> 4) & 1) << UInt32($1) }
            out += (0..<4).map { UInt8(truncatingIfNeeded: qh >> UInt32(8 * $0)) }
            out += (0..<16).map { UInt8(q[$0] & 15) | UInt8(q[$0 + 16] & 15) << 4 }
        }
        return out
    }

    /// A Gemma token embedding in Q5_1 is kept in block form only (as Q8_0's), and the tiny Gemma 3 gives with it the
    /// logits of the same file with that embedding dequantized to F32 (the packed path), within 1e-4 of the largest
    /// |logit|, and the same greedy tokens.
    @Test func gemmaQ5_1EmbeddingIsCompactOnly() throws {
        let source = try GGUFFile(path: TinyGGUFFamilyTests.path("gemma3"))
        let info = try source.info("token_embd.weight")
        let (vocabulary, width) = (info.dimensions[1], info.dimensions[0])
        let blocks = Self.quantizeQ5_1(try source.floats("token_embd.weight", shape: [vocabulary, width]))
        var dequantized = [Float](repeating: 0, count: vocabulary * width)
        blocks.withUnsafeBytes { GGMLDequantize.dequantize(type: .q5_1, source: $0.baseAddress!, count: vocabulary * width, into: &dequantized) }
        func replacingEmbedding(_ tensor: GGUFWriter.Tensor) throws -> String {
            try GGUFBadInputTests.rewritten("gemma3") { w in
                w.tensors = w.tensors.map { $0.name == "token_embd.weight" ? tensor : $0 }
            }
        }
        let compactPath = try replacingEmbedding(.init(name: "token_embd.weight", dimensions: [width, vocabulary], type: .q5_1, bytes: blocks))
        let densePath = try replacingEmbedding(.init(name: "token_embd.weight", shape: [vocabulary, width], values: dequantized))
        defer { for p in [compactPath, densePath] { try? FileManager.default.removeItem(atPath: p) } }
        let compact = try LlamaModel.load(path: compactPath, threads: 1), dense = try LlamaModel.load(path: densePath, threads: 1)
        #expect(compact.weights.tokenEmbedding.compact?.type == .q5_1 && compact.weights.tokenEmbedding.packed == nil)
        #expect(dense.weights.tokenEmbedding.compact == nil)
        for prompt in [[2], [2, 9, 200], [2, 7, 7, 7]] {
            let a = try compact.nextTokenLogits(tokens: prompt), b = try dense.nextTokenLogits(tokens: prompt)
            let scale = b.map(abs).max()!
            #expect(zip(a, b).map { abs($0 - $1) }.max()! <= 1e-4 * scale, "tokens \(prompt)")
        }
        let parameters = GenerateParameters(maxTokens: 8, stopAtEOS: false)
        #expect(try compact.generate(prompts: [[2, 9, 200]], parameters: parameters, seeds: [0])
                == dense.generate(prompts: [[2, 9, 200]], parameters: parameters, seeds: [0]))
    }
}
