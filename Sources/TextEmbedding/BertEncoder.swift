import CKernels
import Foundation
import ModelFormats
import Tensor

/// A BERT encoder (Devlin et al. 2019) with post-LayerNorm blocks, evaluated in Float32 on the CPU.
///
/// For token ids t₁…t_L of one sequence (type 0 throughout):
///   h⁰ᵢ = LN(E_word[tᵢ] + E_pos[i] + E_type[0])
/// and per layer ℓ, with per-head attention softmax(Q_h K_hᵀ / √d_head) V_h:
///   a = LN(h + Attn(h) W_oᵀ + b_o),   h' = LN(a + GELU(a W_iᵀ + b_i) W_outᵀ + b_out)
/// where GELU(x) = x · ½ (1 + erf(x / √2)) and LN(x) = (x − mean) / √(var + ε) · γ + β (biased variance).
///
/// Batches are packed: the tokens of all sequences are stacked into one [T, hidden] matrix for the dense layers
/// (one packed GEMM each), and attention runs per sequence over that sequence's own rows only. There is no padding, so
/// a text's output cannot depend on the other texts in its batch beyond floating-point summation order.
final class BertEncoder: @unchecked Sendable {
    let config: BertConfiguration

    struct Layer {
        /// Query, key and value weights stacked: [3·hidden, hidden] (PyTorch [out, in] layout).
        var qkvWeight: [Float]
        var qkvBias: [Float]
        var attentionOutputWeight: [Float]   // [hidden, hidden]
        var attentionOutputBias: [Float]
        var attentionNormGain: [Float]
        var attentionNormBias: [Float]
        var intermediateWeight: [Float]      // [intermediate, hidden]
        var intermediateBias: [Float]
        var outputWeight: [Float]            // [hidden, intermediate]
        var outputBias: [Float]
        var outputNormGain: [Float]
        var outputNormBias: [Float]
        /// The four weight matrices above in the packed-panel layout of `PackedMatrix` (AVX2/FMA machines only).
        var packed: (qkv: PackedMatrix, attentionOutput: PackedMatrix, intermediate: PackedMatrix, output: PackedMatrix)?

        mutating func pack(hidden h: Int, intermediate inter: Int) {
            guard PackedMatrix.isAccelerated else { return }
            packed = (PackedMatrix(rowMajor: qkvWeight, rows: 3 * h, cols: h),
                      PackedMatrix(rowMajor: attentionOutputWeight, rows: h, cols: h),
                      PackedMatrix(rowMajor: intermediateWeight, rows: inter, cols: h),
                      PackedMatrix(rowMajor: outputWeight, rows: h, cols: inter))
        }
    }

    let wordEmbeddings: [Float]      // [vocab, hidden]
    let positionEmbeddings: [Float]  // [positions, hidden]
    let tokenTypeEmbedding0: [Float] // [hidden]
    let embeddingNormGain: [Float]
    let embeddingNormBias: [Float]
    let layers: [Layer]

    /// Loads the weights from a safetensors checkpoint with Hugging Face `BertModel` names (an optional
    /// `bert.` prefix is accepted), checking every shape against `config`.
    init(config: BertConfiguration, weightsPath: String) throws {
        self.config = config
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: weightsPath) } catch {
            throw TextEmbeddingError.invalidWeights(path: weightsPath, reason: error.localizedDescription)
        }
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil
            && file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            do { return try file.floats(prefix + name, shape: shape) } catch {
                throw TextEmbeddingError.invalidWeights(path: weightsPath, reason: error.localizedDescription)
            }
        }
        let h = config.hiddenSize, inter = config.intermediateSize
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [config.vocabularySize, h])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, h])
        tokenTypeEmbedding0 = Array(try tensor("embeddings.token_type_embeddings.weight",
                                               [config.typeVocabularySize, h])[0..<h])
        embeddingNormGain = try tensor("embeddings.LayerNorm.weight", [h])
        embeddingNormBias = try tensor("embeddings.LayerNorm.bias", [h])
        var layers: [Layer] = []
        for l in 0..<config.layerCount {
            let p = "encoder.layer.\(l)."
            let q = try tensor(p + "attention.self.query.weight", [h, h])
            let k = try tensor(p + "attention.self.key.weight", [h, h])
            let v = try tensor(p + "attention.self.value.weight", [h, h])
            let qb = try tensor(p + "attention.self.query.bias", [h])
            let kb = try tensor(p + "attention.self.key.bias", [h])
            let vb = try tensor(p + "attention.self.value.bias", [h])
            layers.append(Layer(
                qkvWeight: q + k + v, qkvBias: qb + kb + vb,
                attentionOutputWeight: try tensor(p + "attention.output.dense.weight", [h, h]),
                attentionOutputBias: try tensor(p + "attention.output.dense.bias", [h]),
                attentionNormGain: try tensor(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBias: try tensor(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try tensor(p + "intermediate.dense.weight", [inter, h]),
                intermediateBias: try tensor(p + "intermediate.dense.bias", [inter]),
                outputWeight: try tensor(p + "output.dense.weight", [h, inter]),
                outputBias: try tensor(p + "output.dense.bias", [h]),
                outputNormGain: try tensor(p + "output.LayerNorm.weight", [h]),
                outputNormBias: try tensor(p + "output.LayerNorm.bias", [h])))
            layers[l].pack(hidden: h, intermediate: inter)
        }
        self.layers = layers
    }

    /// Mean-pooled last hidden states, one [hidden] vector per sequence (not normalised).
    /// Every sequence must be non-empty, no longer than `maxPositionEmbeddings`, with ids inside the vocabulary.
    /// `threads` splits the packed dense layers (1 when batches already run in parallel).
    func meanPooled(_ sequences: [[Int]], threads: Int = 1) -> [[Float]] {
        let h = config.hiddenSize
        let hidden = forward(sequences, threads: threads)
        var out: [[Float]] = []
        out.reserveCapacity(sequences.count)
        var row = 0
        hidden.withUnsafeBufferPointer { x in
            for s in sequences {
                var sum = [Float](repeating: 0, count: h)
                for i in 0..<s.count {
                    let base = (row + i) * h
                    for j in 0..<h { sum[j] += x[base + j] }
                }
                let scale = 1 / Float(s.count)
                for j in 0..<h { sum[j] *= scale }
                out.append(sum)
                row += s.count
            }
        }
        return out
    }

    /// The last hidden states of all tokens, stacked: [Σ Lₛ, hidden].
    func forward(_ sequences: [[Int]], threads: Int = 1) -> [Float] {
        let h = config.hiddenSize, inter = config.intermediateSize
        let heads = config.attentionHeadCount, d = config.headSize
        let total = sequences.reduce(0) { $0 + $1.count }
        let eps = config.layerNormEpsilon

        // Embeddings.
        var x = [Float](repeating: 0, count: total * h)
        x.withUnsafeMutableBufferPointer { xp in
            wordEmbeddings.withUnsafeBufferPointer { we in
                positionEmbeddings.withUnsafeBufferPointer { pe in
                    tokenTypeEmbedding0.withUnsafeBufferPointer { te in
                        var row = 0
                        for s in sequences {
                            for (i, id) in s.enumerated() {
                                let dst = row * h, w = id * h, p = i * h
                                for j in 0..<h { xp[dst + j] = we[w + j] + pe[p + j] + te[j] }
                                row += 1
                            }
                        }
                    }
                }
            }
            Self.layerNorm(xp.baseAddress!, rows: total, width: h, gain: embeddingNormGain, bias: embeddingNormBias, eps: eps)
        }

        var qkv = [Float](repeating: 0, count: total * 3 * h)
        var context = [Float](repeating: 0, count: total * h)
        var attended = [Float](repeating: 0, count: total * h)
        var intermediate = [Float](repeating: 0, count: total * inter)
        let maxLength = sequences.map(\.count).max() ?? 0

        for layer in layers {
            // Q, K, V for every token in one GEMM.
            Self.dense(x, rows: total, inWidth: h, weight: layer.qkvWeight, packed: layer.packed?.qkv,
                       bias: layer.qkvBias, outWidth: 3 * h, into: &qkv, threads: threads)
            // Attention per sequence and head, over the sequence's own tokens.
            qkv.withUnsafeBufferPointer { qp in
                context.withUnsafeMutableBufferPointer { cp in
                    Self.attention(qkv: qp.baseAddress!, context: cp.baseAddress!, sequences: sequences,
                                   hidden: h, heads: heads, headSize: d, maxLength: maxLength)
                }
            }
            // Attention output projection, residual, LayerNorm.
            Self.dense(context, rows: total, inWidth: h, weight: layer.attentionOutputWeight,
                       packed: layer.packed?.attentionOutput, bias: layer.attentionOutputBias, outWidth: h, into: &attended, residual: x)
            attended.withUnsafeMutableBufferPointer {
                Self.layerNorm($0.baseAddress!, rows: total, width: h, gain: layer.attentionNormGain,
                               bias: layer.attentionNormBias, eps: eps)
            }
            // Feed-forward: GELU(a W_iᵀ + b_i) W_outᵀ + b_out + a, LayerNorm.
            Self.dense(attended, rows: total, inWidth: h, weight: layer.intermediateWeight,
                       packed: layer.packed?.intermediate, bias: layer.intermediateBias, outWidth: inter, into: &intermediate)
            intermediate.withUnsafeMutableBufferPointer { Activation.geluInPlace($0) }
            Self.dense(intermediate, rows: total, inWidth: inter, weight: layer.outputWeight,
                       packed: layer.packed?.output, bias: layer.outputBias, outWidth: h, into: &x, residual: attended)
            x.withUnsafeMutableBufferPointer {
                Self.layerNorm($0.baseAddress!, rows: total, width: h, gain: layer.outputNormGain,
                               bias: layer.outputNormBias, eps: eps)
            }
        }
        return x
    }

    // MARK: - Kernels

    /// out[r, :] = input[r, :] · Wᵀ + bias (+ residual[r, :]), W of shape [outWidth, inWidth]: the packed
    /// kernel on `threads` threads when `packed` is given, else OpenBLAS sgemm.
    static func dense(_ input: [Float], rows: Int, inWidth: Int, weight: [Float], packed: PackedMatrix?,
                      bias: [Float], outWidth: Int, into out: inout [Float], residual: [Float]? = nil,
                      threads: Int = 1) {
        out.withUnsafeMutableBufferPointer { op in
            // Seed C with the bias (and residual), then accumulate with β = 1.
            bias.withUnsafeBufferPointer { bp in
                if let residual {
                    residual.withUnsafeBufferPointer { rp in
                        for r in 0..<rows {
                            let base = r * outWidth
                            for j in 0..<outWidth { op[base + j] = bp[j] + rp[base + j] }
                        }
                    }
                } else {
                    for r in 0..<rows {
                        let base = r * outWidth
                        for j in 0..<outWidth { op[base + j] = bp[j] }
                    }
                }
            }
            input.withUnsafeBufferPointer { ip in
                if let packed {
                    packed.multiply(ip.baseAddress!, count: rows, into: op.baseAddress!, accumulate: true, threads: threads)
                    return
                }
                weight.withUnsafeBufferPointer { wp in
                    BLAS.gemm(transposeB: true, m: rows, n: outWidth, k: inWidth,
                              a: ip.baseAddress!, lda: inWidth, b: wp.baseAddress!, ldb: inWidth,
                              beta: 1, c: op.baseAddress!, ldc: outWidth)
                }
            }
        }
    }

    /// Scaled dot-product attention for every (sequence, head) pair, spread over `BLAS.threads` threads:
    /// context_h = softmax(Q_h K_hᵀ / √d) V_h over the rows of one sequence. `qkv` is [T, 3·hidden] (Q | K | V),
    /// `context` is [T, hidden]. The rows of a (sequence, head) run `ck_attend_f32_rows`, four query rows at a time
    /// sharing each key and value load, each row with the bits of the one-row `ck_attend_f32` (no BLAS: the
    /// summation order is fixed by our kernel, so embeddings carry the same bits on every AVX2 CPU and for any
    /// thread count).
    static func attention(qkv: UnsafePointer<Float>, context: UnsafeMutablePointer<Float>, sequences: [[Int]],
                          hidden h: Int, heads: Int, headSize d: Int, maxLength: Int) {
        var starts: [Int] = []
        starts.reserveCapacity(sequences.count)
        var running = 0
        for s in sequences { starts.append(running); running += s.count }
        let offsets = starts
        let items = sequences.count * heads
        let threads = max(1, min(BLAS.threads, items))
        let scale = 1 / Float(d).squareRoot()
        let qkvAddress = UInt(bitPattern: qkv), contextAddress = UInt(bitPattern: context)
        let work: @Sendable (Int) -> Void = { worker in
            let qkv = UnsafePointer<Float>(bitPattern: qkvAddress)!
            let context = UnsafeMutablePointer<Float>(bitPattern: contextAddress)!
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: 4 * max(1, maxLength))
            defer { scores.deallocate() }
            var item = worker
            while item < items {
                let s = item / heads, head = item % heads
                let L = sequences[s].count, offset = offsets[s]
                let q = qkv + offset * 3 * h + head * d
                let out = context + offset * h + head * d
                ck_attend_f32_rows(q, 3 * h, q + h, q + 2 * h, 3 * h, L, L, d, scale, scores, L, out, h, 1)
                item += threads
            }
        }
        if threads == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: work) }
    }

    /// In-place LayerNorm of each row: (x − mean) / √(var + ε) · γ + β, with the biased variance. Sums run in
    /// eight SIMD lanes when the width is a multiple of 8.
    static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, gain: [Float], bias: [Float],
                          eps: Float) {
        gain.withUnsafeBufferPointer { g in
            bias.withUnsafeBufferPointer { b in
                let n = Float(width)
                let lanes = width % 8 == 0 ? width / 8 : 0
                for r in 0..<rows {
                    let row = x + r * width
                    let raw = UnsafeMutableRawPointer(row)
                    var sum: Float = 0
                    if lanes > 0 {
                        var acc = SIMD8<Float>()
                        for c in 0..<lanes { acc += raw.loadUnaligned(fromByteOffset: c * 32, as: SIMD8<Float>.self) }
                        sum = acc.sum()
                    } else {
                        for j in 0..<width { sum += row[j] }
                    }
                    let mean = sum / n
                    var squares: Float = 0
                    if lanes > 0 {
                        var acc = SIMD8<Float>()
                        let m = SIMD8<Float>(repeating: mean)
                        for c in 0..<lanes {
                            let d = raw.loadUnaligned(fromByteOffset: c * 32, as: SIMD8<Float>.self) - m
                            acc += d * d
                        }
                        squares = acc.sum()
                    } else {
                        for j in 0..<width { let c = row[j] - mean; squares += c * c }
                    }
                    let inv = 1 / (squares / n + eps).squareRoot()
                    for j in 0..<width { row[j] = (row[j] - mean) * inv * g[j] + b[j] }
                }
            }
        }
    }
}
