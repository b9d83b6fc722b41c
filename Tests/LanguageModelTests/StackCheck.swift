import Foundation
import TestSupport
import ModelFormats
import Randomness
import Tensor
import Testing
import Tokenization
@testable import LanguageModel

/// A stack of tensors of several block types in one `QuantizedMatrix` against each tensor alone: every segment's
/// first and last rows dequantize alike, and its products (1, 3, 8, 11 activation rows; SIMD and portable; Float32
/// and 8-bit activations; one and two threads; accumulating onto 0.25) are bit for bit the part's own.
func expectStackEqualsParts(_ stack: QuantizedMatrix, parts: [(type: GGMLType, bytes: [UInt8])], cols: Int,
                            rng: inout SplitMix64) {
    let alone = parts.map { QuantizedMatrix(type: $0.type, cols: cols, parts: [$0.bytes]) }
    var row = [Float](repeating: 0, count: cols), expected = row
    var first = 0
    for m in alone {
        for r in [0, m.rows - 1] {
            stack.dequantizeRow(first + r, into: &row)
            m.dequantizeRow(r, into: &expected)
            #expect(row == expected)
        }
        first += m.rows
    }
    for n in [1, 3, 8, 11] {
        let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
        for simd in [true, false] {
            for activations in [ActivationPrecision.float32, .q8] {
                for threads in [1, 2] {
                    var out = [Float](repeating: 0.25, count: n * stack.rows)
                    stack.multiply(x, rows: n, into: &out, accumulate: true, threads: threads, simd: simd, activations: activations)
                    var first = 0
                    for m in alone {
                        var part = [Float](repeating: 0.25, count: n * m.rows)
                        m.multiply(x, rows: n, into: &part, accumulate: true, threads: 1, simd: simd, activations: activations)
                        let same = (0..<n).allSatisfy { i in
                            (0..<m.rows).allSatisfy { r in out[i * stack.rows + first + r].bitPattern == part[i * m.rows + r].bitPattern }
                        }
                        #expect(same, "n \(n) simd \(simd) \(activations) threads \(threads): rows of \(m.type!) at \(first)")
                        first += m.rows
                    }
                }
            }
        }
    }
}

/// A small random llama GGUF (d_model 256, 2 blocks, vocabulary of the byte tokens) whose block matrices attn_q,
/// attn_k, attn_v, attn_output, ffn_gate, ffn_up and ffn_down have `types` (random blocks from `blocks`), loaded with
/// compact weights: the stacks keep those types in block form beside their packed copies, and with its few-row steps
/// on the compact kernels the model gives the logits of the packed Float32 path within Float32 rounding (1e-4 of the
/// largest |logit|, in another summation order) and the same greedy tokens.
func expectLoaderKeepsCompact(types: [GGMLType], seed: UInt64,
                              blocks: (GGMLType, Int, inout SplitMix64) -> [UInt8]) throws {
    precondition(types.count == 7, "one type per block matrix")
    var rng = SplitMix64(seed: seed)
    let d = 256, heads = 2, ffn = 512, layers = 2
    let tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + ByteLevel.byteToCharacter.map { String($0) } + ["Ġt"]
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    for (k, v) in [("embedding_length", d), ("block_count", layers), ("attention.head_count", heads),
                   ("attention.head_count_kv", heads), ("feed_forward_length", ffn), ("context_length", 64)] {
        w.set("llama." + k, .uint32(UInt32(v)))
    }
    w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
    w.set("llama.rope.freq_base", .float32(10000))
    w.set("tokenizer.ggml.model", .string("gpt2"))
    w.set("tokenizer.ggml.pre", .string("smollm"))
    w.set("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
    w.set("tokenizer.ggml.merges", .array([.string("Ġ t")]))
    w.set("tokenizer.ggml.token_type", .array(tokens.indices.map { .int32($0 < 3 ? 3 : 1) }))
    w.set("tokenizer.ggml.eos_token_id", .uint32(2))
    func matrix(_ name: String, _ type: GGMLType, rows: Int, cols: Int) -> GGUFWriter.Tensor {
        .init(name: name, dimensions: [cols, rows], type: type, bytes: blocks(type, rows * cols / type.blockSize, &rng))
    }
    func norm(_ name: String) -> GGUFWriter.Tensor {
        .init(name: name, shape: [d], values: (0..<d).map { _ in 1 + 0.1 * Float(rng.nextGaussian()) })
    }
    w.tensors = [.init(name: "token_embd.weight", shape: [tokens.count, d], values: (0..<(tokens.count * d)).map { _ in Float(rng.nextGaussian()) }),
                 norm("output_norm.weight")]
    for l in 0..<layers {
        let p = "blk.\(l)."
        w.tensors += [norm(p + "attn_norm.weight"), norm(p + "ffn_norm.weight"),
                      matrix(p + "attn_q.weight", types[0], rows: d, cols: d), matrix(p + "attn_k.weight", types[1], rows: d, cols: d),
                      matrix(p + "attn_v.weight", types[2], rows: d, cols: d), matrix(p + "attn_output.weight", types[3], rows: d, cols: d),
                      matrix(p + "ffn_gate.weight", types[4], rows: ffn, cols: d), matrix(p + "ffn_up.weight", types[5], rows: ffn, cols: d),
                      matrix(p + "ffn_down.weight", types[6], rows: d, cols: ffn)]
    }
    let path = TestScratch.root.appendingPathComponent("semprog-compact-\(UUID().uuidString).gguf").path
    try w.encode().write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let m = try LlamaModel.load(path: path, threads: 2, compactWeights: true)
    let b = m.weights.blocks[1]
    // A matrix whose types all unpack straight into panels is kept in blocks only (tiles); others keep packed
    // Float32 panels beside the blocks.
    func keepsPanels(_ t: ArraySlice<GGMLType>) -> Bool { !t.allSatisfy(QuantizedMatrix.unpacksToPanels) }
    #expect(b.qkv.compact?.segments.map(\.type) == Array(types[0..<3]) && (b.qkv.packed != nil) == keepsPanels(types[0..<3]))
    #expect(b.output.compact?.type == types[3] && b.gateUp.compact?.segments.map(\.type) == Array(types[4..<6]))
    #expect(b.down.compact?.type == types[6] && (b.down.packed != nil) == keepsPanels(types[6..<7]))
    #expect((b.gateUp.packed != nil) == keepsPanels(types[4..<6]) && (b.output.packed != nil) == keepsPanels(types[3..<4]))
    try expectCompactMatchesDense(m, tolerance: 1e-4, floor: 0, sumsInAnotherOrder: true, generating: [5, 9, 200], maxTokens: 8)
}

/// The compact kernels (steps of ≤ 4 rows) against the packed Float32 path (`compactRowLimit` 0) on one model: the
/// next-token logits of three short prompts within `tolerance` × max(`floor`, largest |dense logit|) (and, with
/// `sumsInAnotherOrder`, not equal to them), and greedy generation from `prompt` the same tokens either way.
func expectCompactMatchesDense(_ m: LlamaModel, tolerance: Float, floor: Float, sumsInAnotherOrder: Bool,
                               generating prompt: [Int], maxTokens: Int) throws {
    for tokens in [[5], [5, 9, 200], [7, 7, 7, 7]] {
        m.compactRowLimit = 4
        let compact = try m.nextTokenLogits(tokens: tokens)
        m.compactRowLimit = 0
        let dense = try m.nextTokenLogits(tokens: tokens)
        let scale = dense.map(abs).max()!
        #expect(maxDifference(compact, dense) <= tolerance * max(floor, scale), "tokens \(tokens)")
        if sumsInAnotherOrder { #expect(compact != dense, "the compact kernels sum in another order than the packed GEMM") }
    }
    m.compactRowLimit = 4
    let parameters = GenerateParameters(maxTokens: maxTokens, stopAtEOS: false)
    let compact = try m.generate(prompts: [prompt], parameters: parameters, seeds: [0])
    m.compactRowLimit = 0
    #expect(try m.generate(prompts: [prompt], parameters: parameters, seeds: [0]) == compact)
}

/// The products of `matrix` with `x` (`rows` activation rows) on every path, bit for bit: AVX-512 = AVX2, one thread
/// = two, and accumulating onto 0.75 = 0.75 + the plain product (portable and AVX2). On a CPU without AVX2 the SIMD
/// checks compare the portable result with itself (both paths fall back). Returns the portable and AVX2 products.
func expectPathsAgree(_ matrix: QuantizedMatrix, _ x: [Float], rows n: Int, label: String) -> (portable: [Float], avx2: [Float]) {
    func run(_ simd: Bool, threads: Int = 2, accumulate: Bool = false, initial: Float = 0) -> [Float] {
        var out = [Float](repeating: initial, count: n * matrix.rows)
        matrix.multiply(x, rows: n, into: &out, accumulate: accumulate, threads: threads, simd: simd)
        return out
    }
    let portable = run(false)
    let portableAccumulated = run(false, accumulate: true, initial: 0.75)
    #expect(zip(portableAccumulated, portable).allSatisfy { $0.bitPattern == (0.75 + $1).bitPattern }, "\(label): portable accumulate")
    let avx2 = KernelPath.withActive(.avx2) { run(true) } ?? portable
    let avx512 = KernelPath.withActive(.avx512) { run(true) } ?? avx2
    let oneThread = KernelPath.withActive(.avx2) { run(true, threads: 1) } ?? portable
    let accumulated = KernelPath.withActive(.avx2) { run(true, accumulate: true, initial: 0.75) } ?? portableAccumulated
    #expect(zip(avx2, avx512).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(label): AVX-512 ≠ AVX2")
    #expect(zip(avx2, oneThread).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(label): 1 vs 2 threads")
    #expect(zip(accumulated, avx2).allSatisfy { $0.bitPattern == (0.75 + $1).bitPattern }, "\(label): accumulate")
    return (portable, avx2)
}
