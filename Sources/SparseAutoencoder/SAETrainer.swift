import Foundation
import Randomness
import Tensor

/// Settings of `SAETrainer`. TopK when `k` is set (the default), else a ReLU SAE with an L1 penalty.
public struct SAETrainingConfiguration: Codable, Sendable, Equatable {
    /// Number of latents d_sae.
    public var latents: Int
    /// Active latents per token (TopK). Exactly one of `k` and `l1Coefficient` is set.
    public var k: Int?
    /// λ of the L1 penalty λ·Σⱼ aⱼ‖W_dec[j]‖ (standard ReLU SAE), in the units of the normalised inputs.
    public var l1Coefficient: Float?
    /// Adam step size α (constant after a 5 % warm-up, linearly decayed to 0 over the last 20 % of steps).
    public var learningRate: Float
    /// Tokens (rows) per Adam step.
    public var batchSize: Int
    /// Total training tokens processed (rows are revisited in freshly shuffled epochs when this exceeds the data).
    public var trainingTokens: Int
    /// Seed of initialisation and shuffling: same seed and data → the same SAE, bit for bit, for any thread count
    /// on any AVX2/FMA CPU (`SAETrainer.partitions`, packed GEMM).
    public var seed: UInt64
    /// A latent that has not fired for this many training tokens counts as dead (and feeds the AuxK loss).
    public var deadAfterTokens: Int
    /// AuxK (Gao et al. 2024 §A.2): the k_aux largest dead latents reconstruct the residual error, weight α_aux.
    public var auxK: Int
    public var auxKCoefficient: Float

    public init(latents: Int, k: Int? = 32, l1Coefficient: Float? = nil, learningRate: Float = 1e-3,
                batchSize: Int = 1024, trainingTokens: Int, seed: UInt64 = 0, deadAfterTokens: Int = 50_000,
                auxK: Int = 256, auxKCoefficient: Float = 1.0 / 32) {
        self.latents = latents
        self.k = l1Coefficient == nil ? k : nil
        self.l1Coefficient = l1Coefficient
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.trainingTokens = trainingTokens
        self.seed = seed
        self.deadAfterTokens = deadAfterTokens
        self.auxK = auxK
        self.auxKCoefficient = auxKCoefficient
    }

    enum CodingKeys: String, CodingKey {
        case latents, k, seed
        case l1Coefficient = "l1_coefficient", learningRate = "learning_rate", batchSize = "batch_size"
        case trainingTokens = "training_tokens", deadAfterTokens = "dead_after_tokens", auxK = "aux_k"
        case auxKCoefficient = "aux_k_coefficient"
    }

    /// Throws `SAEError.invalidTraining` naming the bad setting.
    public func validate() throws {
        guard latents > 0 else { throw SAEError.invalidTraining(argument: "--latents", reason: "must be positive, got \(latents)") }
        if let k { guard k > 0, k <= latents else {
            throw SAEError.invalidTraining(argument: "--k", reason: "must lie in 1...\(latents) (the latent count), got \(k)") } }
        if let l1Coefficient { guard l1Coefficient > 0, l1Coefficient.isFinite else {
            throw SAEError.invalidTraining(argument: "--l1", reason: "must be a positive number, got \(l1Coefficient)") } }
        guard k != nil || l1Coefficient != nil else {
            throw SAEError.invalidTraining(argument: "--k/--l1", reason: "one of them is needed") }
        guard learningRate > 0, learningRate.isFinite else {
            throw SAEError.invalidTraining(argument: "--learning-rate", reason: "must be positive, got \(learningRate)") }
        guard batchSize > 0 else { throw SAEError.invalidTraining(argument: "--batch-size", reason: "must be positive") }
        guard trainingTokens > 0 else { throw SAEError.invalidTraining(argument: "--tokens", reason: "must be positive") }
    }
}

/// Progress of a training run, reported every few steps.
public struct SAETrainingProgress: Sendable {
    public var step: Int
    public var steps: Int
    public var tokensSeen: Int
    /// Running mean (last ~50 steps) of the fraction of variance unexplained Σ‖x − x̂‖² / Σ‖x − x̄‖² on training batches.
    public var fractionOfVarianceUnexplained: Float
    /// Running mean of the reconstruction loss per token, Σ_d (x − x̂)², in normalised units (‖x‖ ≈ √d_in).
    public var loss: Float
    /// Fraction of latents that have not fired for `deadAfterTokens` tokens.
    public var deadFraction: Float
}

/// Held-out quality of an SAE.
public struct SAEEvaluation: Codable, Sendable, Equatable {
    public var tokens: Int
    /// Mean number of non-zero latents per token.
    public var l0: Double
    /// Mean squared error per element, (1/(N·d)) Σ (x − x̂)², in the residual stream's units.
    public var meanSquaredError: Double
    /// 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² (x̄ the mean over the evaluated tokens).
    public var explainedVariance: Double
    /// Fraction of latents that fire on none of the evaluated tokens.
    public var deadFraction: Double
    /// Tokens on which each latent fired.
    public var fireCounts: [Int]

    enum CodingKeys: String, CodingKey {
        case tokens, l0
        case meanSquaredError = "mse", explainedVariance = "explained_variance", deadFraction = "dead_fraction"
        case fireCounts = "fire_counts"
    }

    /// log₁₀ of each latent's firing density, log₁₀(count / N + 1e−10) (SAELens' sparsity convention).
    public var log10Density: [Float] {
        fireCounts.map { Float(Foundation.log10(Double($0) / Double(max(tokens, 1)) + 1e-10)) }
    }
}

/// The result of `SAETrainer.train`.
public struct SAETrainingResult: Sendable {
    public var sae: SparseAutoencoder
    /// log₁₀ density of each latent over the last full training epoch (for `sparsity.safetensors`).
    public var log10Density: [Float]
    /// Fraction of latents dead (no firing for `deadAfterTokens` tokens) when training stopped.
    public var deadFraction: Float
    /// The factor c applied to inputs during training (x·c has mean norm √d_in); folded into the saved weights.
    public var inputScale: Float
    public var steps: Int
}

extension SparseAutoencoder {
    /// Reconstruction quality on `x` (rows × d_in), computed in batches of `batchSize` rows.
    public func evaluate(_ x: Matrix, batchSize: Int = 4096) -> SAEEvaluation {
        let d = configuration.dIn, m = configuration.dSae
        var mean = [Double](repeating: 0, count: d)
        for r in 0..<x.rows { for j in 0..<d { mean[j] += Double(x.values[r * d + j]) } }
        for j in 0..<d { mean[j] /= Double(max(x.rows, 1)) }
        var sse = 0.0, sst = 0.0, nonzero = 0
        var fires = [Int](repeating: 0, count: m)
        var start = 0
        while start < x.rows {
            let n = min(batchSize, x.rows - start)
            let chunk = Matrix(rows: n, cols: d, values: Array(x.values[(start * d)..<((start + n) * d)]))
            let norms = normalization(of: chunk)
            let a = encode(chunk, normalization: norms)
            var y = decode(a)
            for r in 0..<n {
                for j in 0..<m where a.values[r * m + j] != 0 { fires[j] += 1; nonzero += 1 }
                for j in 0..<d {
                    let xhat = y.values[r * d + j] * norms[r].scale + norms[r].shift
                    y.values[r * d + j] = xhat
                    let v = Double(chunk.values[r * d + j])
                    sse += (v - Double(xhat)) * (v - Double(xhat))
                    sst += (v - mean[j]) * (v - mean[j])
                }
            }
            start += n
        }
        let tokens = x.rows
        return SAEEvaluation(
            tokens: tokens, l0: Double(nonzero) / Double(max(tokens, 1)),
            meanSquaredError: sse / Double(max(tokens * d, 1)),
            explainedVariance: sst > 0 ? 1 - sse / sst : 0,
            deadFraction: Double(fires.filter { $0 == 0 }.count) / Double(m),
            fireCounts: fires)
    }
}

/// Trains a TopK (default) or L1 sparse autoencoder on a matrix of activations with Adam (Kingma & Ba 2015).
///
/// Recipe (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"; Bricken et al. 2023 for L1):
/// inputs are scaled by a constant c so that their mean norm is √d_in; b_dec starts at the mean input; decoder
/// rows start as unit Gaussian directions and the encoder as their transpose; each step minimises
/// (1/B)·Σ_rows ‖x − x̂‖² (+ λ·Σⱼ aⱼ for L1, + α_aux·‖e − ê_dead‖² for TopK's AuxK), projects out the gradient
/// component along each decoder row and renormalises the rows to unit norm. The constant c is folded into
/// b_enc and b_dec at the end (activations are divided by c), so the saved SAE reads raw residuals, keeps
/// unit-norm decoder rows and has `normalize_activations: none`.
public final class SAETrainer {
    public let settings: SAETrainingConfiguration

    public init(settings: SAETrainingConfiguration) { self.settings = settings }

    /// Row partitions of a batch's back-propagation (at most one per 64 rows), run on up to `BLAS.threads`
    /// threads. A constant, so that results do not depend on the machine's core count.
    static let partitions = 4

    /// Trains on the rows of `data` (tokens × d_in). `progress` is called every 10 steps and at the end.
    /// `contextSize` and `prependBOS` describe how the activations were collected (written to cfg.json), `hook` the
    /// TransformerLens hook they were read at (nil: `blocks.{layer}.hook_resid_post`).
    public func train(_ data: Matrix, layer: Int, hook: String? = nil, modelName: String? = nil, datasetPath: String? = nil,
                      contextSize: Int? = nil, prependBOS: Bool = false,
                      progress: ((SAETrainingProgress) -> Void)? = nil) throws -> SAETrainingResult {
        try settings.validate()
        guard data.rows >= 2, data.cols > 0 else {
            throw SAEError.invalidTraining(argument: "activations", reason: "need at least 2 rows of activations, got \(data.rows)")
        }
        guard data.values.allSatisfy(\.isFinite) else {
            throw SAEError.invalidTraining(argument: "activations", reason: "contain NaN or infinity")
        }
        let n = data.rows, d = data.cols, M = settings.latents
        let B = min(settings.batchSize, n)
        var rng = SplitMix64(seed: settings.seed)

        // Input scale c: mean ‖x‖ → √d.
        var meanNorm = 0.0
        for r in 0..<n {
            var s: Float = 0
            for j in 0..<d { let v = data.values[r * d + j]; s += v * v }
            meanNorm += Double(s.squareRoot())
        }
        meanNorm /= Double(n)
        let c = meanNorm > 0 ? Float(Double(d).squareRoot() / meanNorm) : 1

        // Parameters (encoder stored transposed: encT[j] is latent j's encoder row).
        var encT = [Float](repeating: 0, count: M * d)
        var dec = [Float](repeating: 0, count: M * d)
        var bEnc = [Float](repeating: 0, count: M)
        var bDec = [Float](repeating: 0, count: d)
        for j in 0..<M {
            var s: Float = 0
            for t in 0..<d { let g = Float(rng.nextGaussian()); dec[j * d + t] = g; s += g * g }
            let inv = 1 / s.squareRoot()
            for t in 0..<d { dec[j * d + t] *= inv; encT[j * d + t] = dec[j * d + t] }
        }
        var variance = 0.0   // mean Σ_d (x·c − x̄)² per token
        do {
            var mean = [Double](repeating: 0, count: d)
            for r in 0..<n { for j in 0..<d { mean[j] += Double(data.values[r * d + j] * c) } }
            for j in 0..<d { mean[j] /= Double(n); bDec[j] = Float(mean[j]) }
            for r in 0..<n { for j in 0..<d { let v = Double(data.values[r * d + j] * c) - mean[j]; variance += v * v } }
            variance /= Double(n)
        }

        // Adam state.
        var mEnc = [Float](repeating: 0, count: M * d), vEnc = mEnc, mDec = mEnc, vDec = mEnc
        var mBEnc = [Float](repeating: 0, count: M), vBEnc = mBEnc, mBDec = [Float](repeating: 0, count: d), vBDec = mBDec

        let steps = max(1, (settings.trainingTokens + B - 1) / B)
        let warmup = max(1, steps / 20), decayStart = steps - steps / 5
        var order = Array(0..<n)
        var cursor = n   // forces a shuffle on the first step
        var sinceFired = [Int](repeating: 0, count: M)
        var epochFires = [Int](repeating: 0, count: M), previousEpochFires: [Int]? = nil
        var epochTokens = 0, previousEpochTokens = 0
        // Scratch as raw pointers: the per-row loops below run ~10⁸ times per training, and Swift array writes
        // there would each pay a uniqueness check.
        let xb = UnsafeMutablePointer<Float>.allocate(capacity: B * d), xc = UnsafeMutablePointer<Float>.allocate(capacity: B * d)
        defer { [xb, xc].forEach { $0.deallocate() } }
        // Back-propagation partitions, each with its own gradient buffers; the first partition's buffers are the
        // ones Adam reads, the others are added into them after every step. Their number is fixed (not the thread
        // count), so the sums, and the trained SAE, are the same bits for any number of threads.
        let workers = (0..<max(1, min(Self.partitions, B / 64))).map { _ in WorkerGradients(d: d, M: M) }
        // The encoder product runs on our packed GEMM (a fixed summation order, unlike OpenBLAS, whose kernel
        // depends on the CPU); the encoder is repacked after every Adam step.
        let packedEncoder = PackedMatrix.isAccelerated ? encT.withUnsafeBufferPointer { PackedMatrix(rowMajor: $0.baseAddress!, rows: M, cols: d) } : nil
        let gradients = workers[0].buffers
        var pre = [Float](repeating: 0, count: B * M)
        var deadList: [Int] = []
        var runningLoss = 0.0, runningWeight = 0.0
        var tokensSeen = 0
        let beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8
        let applyBDec = true

        for step in 1...steps {
            // Batch rows (new shuffled epoch when the order is used up).
            for b in 0..<B {
                if cursor >= n {
                    for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                    cursor = 0
                    if epochTokens > 0 { previousEpochFires = epochFires; previousEpochTokens = epochTokens }
                    epochFires = [Int](repeating: 0, count: M); epochTokens = 0
                }
                let r = order[cursor]; cursor += 1
                for j in 0..<d {
                    let v = data.values[r * d + j] * c
                    xb[b * d + j] = v
                    xc[b * d + j] = applyBDec ? v - bDec[j] : v
                }
            }
            // pre = xc · encTᵀ + b_enc (one GEMM).
            bEnc.withUnsafeBufferPointer { bias in encT.withUnsafeBufferPointer { w in pre.withUnsafeMutableBufferPointer { p in
                for b in 0..<B { (p.baseAddress! + b * M).update(from: bias.baseAddress!, count: M) }
                if let packedEncoder {
                    packedEncoder.repack(rowMajor: w.baseAddress!)
                    packedEncoder.multiply(xc, count: B, into: p.baseAddress!, accumulate: true, threads: BLAS.threads)
                } else {
                    BLAS.gemm(transposeB: true, m: B, n: M, k: d, a: xc, lda: d, b: w.baseAddress!, ldb: d,
                              beta: 1, c: p.baseAddress!, ldc: M)
                }
            } } }
            deadList.removeAll(keepingCapacity: true)
            if settings.k != nil, settings.auxKCoefficient > 0 {
                for j in 0..<M where sinceFired[j] > settings.deadAfterTokens { deadList.append(j) }
            }
            var batchLoss = 0.0
            let invB = 1 / Float(B)

            // Back-propagation, rows split over the workers in fixed ranges (results do not depend on timing);
            // workers after the first add their gradients into the first's, in worker order.
            for w in workers { w.clear() }
            encT.withUnsafeBufferPointer { encP in dec.withUnsafeBufferPointer { decP in
            pre.withUnsafeMutableBufferPointer { preP in bDec.withUnsafeBufferPointer { bDecP in
                let context = RowPassContext(
                    settings: settings, d: d, M: M, invB: invB, deadList: deadList, enc: encP.baseAddress!,
                    dec: decP.baseAddress!, pre: preP.baseAddress!, xb: xb, xc: xc, bDec: bDecP.baseAddress!)
                let buffers = workers.map(\.buffers)
                let per = (B + workers.count - 1) / workers.count
                var losses = [Double](repeating: 0, count: workers.count)
                losses.withUnsafeMutableBufferPointer { l in
                    let box = SendableDoubles(pointer: l.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: workers.count) { w in
                        let lo = w * per, hi = min(B, lo + per)
                        box.pointer[w] = lo < hi ? Self.backpropagate(rows: lo..<hi, context: context, into: buffers[w]) : 0
                    }
                }
                for w in buffers.dropFirst() { w.add(into: gradients, d: d, M: M) }
                batchLoss = losses.reduce(0, +)
            } } } }

            for j in 0..<M {
                epochFires[j] += gradients.fires[j]
                sinceFired[j] = gradients.fired[j] ? 0 : sinceFired[j] + B
            }
            epochTokens += B
            tokensSeen += B

            // Learning-rate schedule and Adam.
            var lr = settings.learningRate
            if step <= warmup { lr *= Float(step) / Float(warmup) }
            if step > decayStart { lr *= Float(steps - step + 1) / Float(steps - decayStart + 1) }
            let bc1 = 1 - Foundation.pow(beta1, Float(step)), bc2 = 1 - Foundation.pow(beta2, Float(step))
            let stepSize = lr / bc1, bc2Root = bc2.squareRoot()

            // Remove the gradient component along each decoder row (rows stay unit-norm).
            let touched = gradients.touched, gDec = gradients.gDec
            for j in 0..<M where touched[j] {
                let base = j * d
                var p: Float = 0
                for q in 0..<d { p += gDec[base + q] * dec[base + q] }
                for q in 0..<d { gDec[base + q] -= p * dec[base + q] }
            }
            Self.adam(&encT, gradients.gEnc, &mEnc, &vEnc, stepSize, bc2Root, beta1, beta2, eps)
            Self.adam(&dec, gDec, &mDec, &vDec, stepSize, bc2Root, beta1, beta2, eps)
            Self.adam(&bEnc, gradients.gBEnc, &mBEnc, &vBEnc, stepSize, bc2Root, beta1, beta2, eps)
            Self.adam(&bDec, gradients.gBDec, &mBDec, &vBDec, stepSize, bc2Root, beta1, beta2, eps)
            for j in 0..<M where touched[j] {
                let base = j * d
                var s: Float = 0
                for q in 0..<d { s += dec[base + q] * dec[base + q] }
                let inv = s > 0 ? 1 / s.squareRoot() : 0
                for q in 0..<d { dec[base + q] *= inv }
            }
            // Rows untouched this step still moved (Adam momentum): renormalise them too.
            for j in 0..<M where !touched[j] {
                let base = j * d
                var s: Float = 0
                for q in 0..<d { s += dec[base + q] * dec[base + q] }
                if s > 0 { let inv = 1 / s.squareRoot(); for q in 0..<d { dec[base + q] *= inv } }
            }

            let perToken = batchLoss / Double(B)
            runningLoss = runningLoss * 0.9 + perToken * 0.1
            runningWeight = runningWeight * 0.9 + 0.1
            if let progress, step % 10 == 0 || step == steps {
                let dead = sinceFired.filter { $0 > settings.deadAfterTokens }.count
                let loss = runningLoss / runningWeight
                progress(SAETrainingProgress(step: step, steps: steps, tokensSeen: tokensSeen,
                                             fractionOfVarianceUnexplained: Float(loss / max(variance, 1e-12)),
                                             loss: Float(loss), deadFraction: Float(dead) / Float(M)))
            }
        }

        // Fold the input scale: a' = a/c ⇒ b_enc' = b_enc/c, b_dec' = b_dec/c, W_enc' = W_enc, W_dec' = W_dec.
        let wEnc = Matrix(rows: M, cols: d, values: encT).transposed()
        var configuration = SAEConfiguration(
            architecture: settings.k != nil ? .topk : .standard, dIn: d, dSae: M, k: settings.k, layer: layer,
            applyBDecToInput: applyBDec, normalizeActivations: .none, modelName: modelName,
            contextSize: contextSize, datasetPath: datasetPath, prependBOS: prependBOS)
        if let hook { configuration = configuration.with(hook: hook) }
        let sae = try SparseAutoencoder(
            configuration: configuration, encoderWeights: wEnc, encoderBias: bEnc.map { $0 / c },
            decoderWeights: Matrix(rows: M, cols: d, values: dec), decoderBias: bDec.map { $0 / c })
        let useCurrent = previousEpochFires == nil || epochTokens * 2 >= min(n, tokensSeen)
        let fires = useCurrent ? epochFires : previousEpochFires!
        let tokens = useCurrent ? epochTokens : previousEpochTokens
        let density = fires.map { Float(Foundation.log10(Double($0) / Double(max(tokens, 1)) + 1e-10)) }
        let dead = sinceFired.filter { $0 > settings.deadAfterTokens }.count
        return SAETrainingResult(sae: sae, log10Density: density, deadFraction: Float(dead) / Float(M),
                                 inputScale: c, steps: steps)
    }

    /// Gradients of one batch's rows `rows` (reconstruction, L1 and AuxK terms) added into `g`; returns the rows'
    /// summed loss. Reads only `c`; writes only `g`, so disjoint row ranges can run on different threads.
    static func backpropagate(rows: Range<Int>, context c: RowPassContext, into g: GradientBuffers) -> Double {
        let d = c.d, M = c.M
        let err = UnsafeMutablePointer<Float>.allocate(capacity: d), grad = UnsafeMutablePointer<Float>.allocate(capacity: d)
        let aux = UnsafeMutablePointer<Float>.allocate(capacity: d)
        defer { [err, grad, aux].forEach { $0.deallocate() } }
        var chosen = [Int](repeating: 0, count: max(c.settings.k ?? 1, c.settings.auxK, 1))
        var active: [Int] = [], acts: [Float] = []
        var deadPre = [Float](repeating: 0, count: max(1, c.deadList.count))
        var loss = 0.0
for b in rows {
            let row = UnsafeMutableBufferPointer(start: c.pre + b * M, count: M)
            // Active latents of this row.
            active.removeAll(keepingCapacity: true); acts.removeAll(keepingCapacity: true)
            if let k = c.settings.k {
                let count = TopK.select(row, k: k, into: &chosen)
                for t in 0..<count where row[chosen[t]] > 0 { active.append(chosen[t]); acts.append(row[chosen[t]]) }
            } else {
                for j in 0..<M where row[j] > 0 { active.append(j); acts.append(row[j]) }
            }
            // Reconstruction error e = x̂ − x.
            for t in 0..<d { err[t] = c.bDec[t] - c.xb[b * d + t] }
            for (t, j) in active.enumerated() {
                let a = acts[t], base = j * d
                for q in 0..<d { err[q] += a * c.dec[base + q] }
            }
            var sq: Float = 0
            for q in 0..<d { sq += err[q] * err[q]; grad[q] = 2 * err[q] * c.invB; g.gBDec[q] += grad[q] }
            loss += Double(sq)
            // Back-propagate through the active latents.
            for (t, j) in active.enumerated() {
                let a = acts[t], base = j * d
                var ga: Float = 0
                for q in 0..<d { ga += grad[q] * c.dec[base + q]; g.gDec[base + q] += a * grad[q] }
                if let l1 = c.settings.l1Coefficient { ga += l1 * c.invB }
                g.gBEnc[j] += ga
                for q in 0..<d { g.gEnc[base + q] += ga * c.xc[b * d + q]; g.gBDec[q] -= ga * c.enc[base + q] }
                g.touched[j] = true
                g.fired[j] = true
                g.fires[j] += 1
            }
            if let l1 = c.settings.l1Coefficient {
                for a in acts { loss += Double(l1 * a) }
            }
            // AuxK: the largest dead latents model the residual −e; loss α‖ê − (−e)‖².
            if !c.deadList.isEmpty {
                for (t, j) in c.deadList.enumerated() { deadPre[t] = row[j] }
                let kAux = min(c.settings.auxK, c.deadList.count)
                let count = deadPre.withUnsafeMutableBufferPointer { dp in
                    TopK.select(UnsafeMutableBufferPointer(rebasing: dp[0..<c.deadList.count]), k: kAux, into: &chosen)
                }
                for q in 0..<d { aux[q] = err[q] }   // ê − (−e) = ê + e
                var auxActive: [(Int, Float)] = []
                for t in 0..<count {
                    let a = deadPre[chosen[t]]
                    guard a > 0 else { continue }
                    let j = c.deadList[chosen[t]]
                    auxActive.append((j, a))
                    for q in 0..<d { aux[q] += a * c.dec[j * d + q] }
                }
                if !auxActive.isEmpty {
                    let scale = 2 * c.settings.auxKCoefficient * c.invB
                    for (j, a) in auxActive {
                        let base = j * d
                        var ga: Float = 0
                        for q in 0..<d {
                            let gq = scale * aux[q]
                            ga += gq * c.dec[base + q]
                            g.gDec[base + q] += a * gq
                        }
                        g.gBEnc[j] += ga
                        for q in 0..<d { g.gEnc[base + q] += ga * c.xc[b * d + q]; g.gBDec[q] -= ga * c.enc[base + q] }
                        g.touched[j] = true
                    }
                }
            }
        }
        return loss
    }

    /// One Adam update p ← p − (α/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε); zeroes the gradient.
    static func adam(_ p: inout [Float], _ g: UnsafeMutablePointer<Float>, _ m: inout [Float], _ v: inout [Float],
                     _ stepSize: Float, _ bc2Root: Float, _ beta1: Float, _ beta2: Float, _ eps: Float) {
        let n = p.count
        p.withUnsafeMutableBufferPointer { p in
        m.withUnsafeMutableBufferPointer { m in v.withUnsafeMutableBufferPointer { v in
            for i in 0..<n {
                let gi = g[i]
                let mi = beta1 * m[i] + (1 - beta1) * gi
                let vi = beta2 * v[i] + (1 - beta2) * gi * gi
                m[i] = mi; v[i] = vi
                p[i] -= stepSize * mi / (vi.squareRoot() / bc2Root + eps)
                g[i] = 0
            }
        } } }
    }
}
