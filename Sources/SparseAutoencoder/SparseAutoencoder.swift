import Foundation
import ModelFormats
import LanguageModel
import Tensor

/// A sparse autoencoder over one residual-stream site, in SAELens' parameterisation:
///
///     x̃   = N(x)                                   (normalisation, identity unless configured)
///     pre = (x̃ − b_dec·[apply_b_dec_to_input]) · W_enc + b_enc        W_enc: [d_in, d_sae]
///     a   = σ(pre)                                 (ReLU / JumpReLU / TopK / gated, see `SAEArchitecture`)
///     x̂   = N⁻¹(a · W_dec + b_dec)                 W_dec: [d_sae, d_in]
///
/// For gated SAEs pre = x̃_c · (W_enc ∘ exp(r_mag)) + b_mag and the gate is x̃_c · W_enc + b_gate (x̃_c the centred
/// input); `encoderBias` then holds b_mag. Reference: SAELens `sae_lens/saes/{sae,standard_sae,jumprelu_sae,
/// topk_sae,gated_sae}.py`. Weights live in memory as Float32. Encoding and decoding are batched: one sgemm per
/// call (two for gated SAEs).
public final class SparseAutoencoder: @unchecked Sendable {
    /// The gated architecture's extra parameters.
    public struct GatedParameters: Sendable, Equatable {
        /// b_gate, `d_sae`.
        public var gateBias: [Float]
        /// r_mag, `d_sae`: the magnitude path uses W_enc ∘ exp(r_mag).
        public var magnitudeLogScale: [Float]
        public init(gateBias: [Float], magnitudeLogScale: [Float]) {
            self.gateBias = gateBias; self.magnitudeLogScale = magnitudeLogScale
        }
    }

    public let configuration: SAEConfiguration
    /// W_enc, `d_in × d_sae`.
    public let encoderWeights: Matrix
    /// b_enc, `d_sae` (b_mag for gated SAEs).
    public let encoderBias: [Float]
    /// W_dec, `d_sae × d_in` (row i is feature i's direction).
    public let decoderWeights: Matrix
    /// b_dec, `d_in`.
    public let decoderBias: [Float]
    /// JumpReLU thresholds θ, `d_sae` (nil for other architectures).
    public let threshold: [Float]?
    /// b_gate and r_mag of a gated SAE (nil for other architectures).
    public let gate: GatedParameters?
    /// log₁₀ of each feature's firing density, from `sparsity.safetensors` when present.
    public let log10Density: [Float]?
    /// Directory the SAE was loaded from (nil when built in memory).
    public let directory: String?
    /// What was read: format, files, and what the loader changed (nil when built in memory).
    public let source: SAESource?
    /// The matrix the pre-activations use: W_enc, or W_enc ∘ exp(r_mag) for gated SAEs.
    let projectionWeights: Matrix
    /// `projectionWeights`ᵀ (d_sae × d_in) in the packed-panel layout of `PackedMatrix`, for AVX2/FMA machines.
    let packedEncoder: PackedMatrix?
    /// W_encᵀ packed, for the gate of a gated SAE.
    let packedGate: PackedMatrix?

    /// Builds an SAE from in-memory weights, checking every shape against the configuration.
    public init(configuration: SAEConfiguration, encoderWeights: Matrix, encoderBias: [Float],
                decoderWeights: Matrix, decoderBias: [Float], threshold: [Float]? = nil, gate: GatedParameters? = nil,
                log10Density: [Float]? = nil, directory: String? = nil, source: SAESource? = nil) throws {
        let path = source?.weightsPath ?? directory ?? "<memory>"
        let names = source?.tensorNames ?? SAESource.TensorNames()
        let d = configuration.dIn, m = configuration.dSae
        func check(_ name: String, _ found: [Int], _ expected: [Int]) throws {
            if found != expected { throw SAEError.shapeMismatch(path: path, tensor: name, expected: expected, found: found) }
        }
        try check(names.encoderWeights, [encoderWeights.rows, encoderWeights.cols], [d, m])
        try check(names.decoderWeights, [decoderWeights.rows, decoderWeights.cols], [m, d])
        let encoderBiasName: String = configuration.architecture == .gated ? "b_mag" : names.encoderBias
        try check(encoderBiasName, [encoderBias.count], [m])
        try check(names.decoderBias, [decoderBias.count], [d])
        if configuration.architecture == .jumprelu {
            guard let threshold else { throw SAEError.missingTensor(path: path, tensor: names.threshold) }
            try check(names.threshold, [threshold.count], [m])
        } else if threshold != nil {
            throw SAEError.unexpectedTensor(path: path, tensor: names.threshold)
        }
        if configuration.architecture == .gated {
            guard let gate else { throw SAEError.missingTensor(path: path, tensor: "b_gate") }
            try check("b_gate", [gate.gateBias.count], [m])
            try check("r_mag", [gate.magnitudeLogScale.count], [m])
        } else if gate != nil {
            throw SAEError.unexpectedTensor(path: path, tensor: "b_gate")
        }
        if let log10Density { try check("sparsity", [log10Density.count], [m]) }
        let biasName = configuration.architecture == .gated ? "b_mag" : names.encoderBias
        var parameters: [(String, [Float])] = [(names.encoderWeights, encoderWeights.values)]
        parameters.append((names.decoderWeights, decoderWeights.values))
        parameters.append((biasName, encoderBias))
        parameters.append((names.decoderBias, decoderBias))
        parameters.append((names.threshold, threshold ?? []))
        parameters.append(("b_gate", gate?.gateBias ?? []))
        parameters.append(("r_mag", gate?.magnitudeLogScale ?? []))
        for (name, values) in parameters where !values.allSatisfy({ $0.isFinite }) {
            throw SAEError.nonFinite(path: path, tensor: name)
        }
        var projection = encoderWeights
        if let gate {
            let scale = gate.magnitudeLogScale.map { Float(Foundation.exp(Double($0))) }
            guard scale.allSatisfy(\.isFinite) else { throw SAEError.nonFinite(path: path, tensor: "r_mag (exp overflows)") }
            for i in 0..<d { for j in 0..<m { projection.values[i * m + j] *= scale[j] } }
        }
        self.configuration = configuration
        self.encoderWeights = encoderWeights
        self.encoderBias = encoderBias
        self.decoderWeights = decoderWeights
        self.decoderBias = decoderBias
        self.threshold = threshold
        self.gate = gate
        self.log10Density = log10Density
        self.directory = directory
        self.source = source
        self.projectionWeights = projection
        packedEncoder = PackedMatrix.isAccelerated ? PackedMatrix(projection.transposed()) : nil
        packedGate = PackedMatrix.isAccelerated && gate != nil ? PackedMatrix(encoderWeights.transposed()) : nil
    }

    // MARK: Loading and saving

    static let configFile = "cfg.json", weightsFile = "sae_weights.safetensors", sparsityFile = "sparsity.safetensors"

    /// Reads an SAE folder in any format semprog knows (`SAEFormat.detect`): SAELens (v6 and earlier cfg.json),
    /// Gemma Scope 1 (`params.npz`), Gemma Scope 2 (`params.safetensors` + optional `config.json`) and EleutherAI
    /// sparsify (`cfg.json` + `sae.safetensors`). `hook` replaces the hook the files give or imply. Any hook is
    /// accepted here (`sae info` shows it); `load` also requires a residual-stream hook.
    public static func read(directory: String, hook: String? = nil) throws -> SparseAutoencoder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SAEError.cannotRead(path: directory, reason: "not a directory (expected an SAE folder: cfg.json and sae_weights.safetensors, params.npz, params.safetensors, or cfg.json and sae.safetensors)")
        }
        if let hook {
            guard SAEConfiguration.isKnownHook(hook) else {
                throw SAEError.invalidConfiguration(path: "--hook", field: "hook", reason: "'\(hook)' is not a hook of a block (blocks.L.hook_resid_post …) nor hook_embed")
            }
        }
        switch try SAEFormat.detect(directory: directory) {
        case .saeLens, .saeLensPre6: return try readSAELens(directory: directory, hook: hook)
        case .gemmaScope1: return try readGemmaScope1(directory: directory, hook: hook)
        case .gemmaScope2: return try readGemmaScope2(directory: directory, hook: hook)
        case .sparsify: return try readSparsify(directory: directory, hook: hook)
        }
    }

    /// `read`, then requires a hook semprog's language models expose (`blocks.L.hook_resid_post`,
    /// `blocks.L.hook_resid_pre` including L = 0, `blocks.L.hook_mlp_out`). The error names the file and `hook_name`.
    public static func load(directory: String, hook: String? = nil) throws -> SparseAutoencoder {
        let sae = try read(directory: directory, hook: hook)
        guard sae.configuration.isSteerableHook else {
            let path = sae.source?.configPath ?? sae.source?.weightsPath ?? directory
            throw SAEError.invalidConfiguration(path: path, field: sae.source?.hookField ?? "hook_name",
                reason: "'\(sae.configuration.hookName)' is not a hook semprog's models expose (blocks.L.hook_resid_post, blocks.L.hook_resid_pre, blocks.L.hook_mlp_out)")
        }
        return sae
    }

    /// Reads `sparsity.safetensors` (tensor `sparsity`, log₁₀ density) when the folder has one.
    static func readSparsity(directory: URL, dSae m: Int) throws -> [Float]? {
        let sparsityPath = directory.appendingPathComponent(sparsityFile).path
        guard FileManager.default.fileExists(atPath: sparsityPath) else { return nil }
        let s: SafetensorsFile
        do { s = try SafetensorsFile(path: sparsityPath) } catch {
            throw SAEError.cannotRead(path: sparsityPath, reason: error.localizedDescription)
        }
        guard let info = s.tensors["sparsity"] else { throw SAEError.missingTensor(path: sparsityPath, tensor: "sparsity") }
        guard info.elementCount == m else {
            throw SAEError.shapeMismatch(path: sparsityPath, tensor: "sparsity", expected: [m], found: info.shape)
        }
        // −inf is legal here (a feature that never fired); NaN is not.
        let values: [Float]
        do { values = try s.floats("sparsity", requireFinite: false) } catch {
            throw SAEError.cannotRead(path: sparsityPath, reason: error.localizedDescription)
        }
        guard values.count == m, !values.contains(where: \.isNaN) else {
            throw SAEError.nonFinite(path: sparsityPath, tensor: "sparsity")
        }
        return values
    }

    /// Folds TopK's `rescale_acts_by_decoder_norm` into the weights: with n_i = ‖W_dec[i]‖, W_enc[:, i] ← W_enc[:, i]·n_i,
    /// b_enc[i] ← b_enc[i]·n_i, W_dec[i] ← W_dec[i]/n_i. Then TopK(pre′) equals SAELens' TopK(pre·n) and a′·W_dec′ its
    /// (a/n)·W_dec (`TopKSAE.encode`/`decode` in `saes/topk_sae.py`; `_fold_norm_topk`).
    static func foldDecoderNorms(wEnc: inout [Float], bEnc: inout [Float], wDec: inout [Float], dIn d: Int, dSae m: Int) {
        for i in 0..<m {
            var s: Double = 0
            for j in 0..<d { let v = Double(wDec[i * d + j]); s += v * v }
            let n = Float(s.squareRoot())
            guard n > 0 else { continue }   // a zero row never contributes; SAELens would give NaN
            for j in 0..<d { wDec[i * d + j] /= n }
            for r in 0..<d { wEnc[r * m + i] *= n }
            bEnc[i] *= n
        }
    }

    /// Folds `expected_average_only_in`'s constant s: W_enc·s, W_dec/s, b_dec/s
    /// (`SAE.fold_activation_norm_scaling_factor` in `saes/sae.py`).
    static func foldNormScalingFactor(_ s: Float, wEnc: inout [Float], wDec: inout [Float], bDec: inout [Float]) {
        for i in 0..<wEnc.count { wEnc[i] *= s }
        for i in 0..<wDec.count { wDec[i] /= s }
        for i in 0..<bDec.count { bDec[i] /= s }
    }

    /// Writes `cfg.json` (SAELens ≥ 6 layout), `sae_weights.safetensors` and, given densities,
    /// `sparsity.safetensors`. Files are first written to a temporary sibling directory which then replaces
    /// `directory`, so a failed save leaves nothing half-written.
    public func save(to directory: String, sparsity log10Density: [Float]?) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
            throw SAEError.writeFailed(path: parent.path, reason: error.localizedDescription)
        }
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // The loaders fold rescale_acts_by_decoder_norm and norm_scaling_factor into the weights: what is
            // written is the folded SAE, which computes the same without them.
            var written = configuration
            written.rescaleActsByDecoderNorm = false
            written.normScalingFactor = nil
            try encoder.encode(written).write(to: staging.appendingPathComponent(Self.configFile))
            let m = configuration.dSae
            var tensors = [
                SafetensorsWriter.Tensor(name: "W_enc", shape: [configuration.dIn, m], values: encoderWeights.values),
                SafetensorsWriter.Tensor(name: "W_dec", shape: [m, configuration.dIn], values: decoderWeights.values),
                SafetensorsWriter.Tensor(name: gate == nil ? "b_enc" : "b_mag", shape: [m], values: encoderBias),
                SafetensorsWriter.Tensor(name: "b_dec", shape: [configuration.dIn], values: decoderBias),
            ]
            if let threshold { tensors.append(.init(name: "threshold", shape: [m], values: threshold)) }
            if let gate {
                tensors.append(.init(name: "b_gate", shape: [m], values: gate.gateBias))
                tensors.append(.init(name: "r_mag", shape: [m], values: gate.magnitudeLogScale))
            }
            try SafetensorsWriter.write(tensors, to: staging.appendingPathComponent(Self.weightsFile).path)
            if let log10Density {
                guard log10Density.count == configuration.dSae else {
                    throw SAEError.shapeMismatch(path: directory, tensor: "sparsity", expected: [configuration.dSae], found: [log10Density.count])
                }
                try SafetensorsWriter.write([.init(name: "sparsity", shape: [configuration.dSae], values: log10Density)],
                                            to: staging.appendingPathComponent(Self.sparsityFile).path)
            }
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            try fm.moveItem(at: staging, to: target)
        } catch let error as SAEError {
            try? fm.removeItem(at: staging)
            throw error
        } catch {
            try? fm.removeItem(at: staging)
            throw SAEError.writeFailed(path: directory, reason: error.localizedDescription)
        }
    }

    /// Checks the SAE against a language model: `d_in` must equal its width and the hook's block must exist.
    public func check(modelWidth: Int, layerCount: Int) throws {
        let path = source?.configPath ?? source?.weightsPath ?? (directory.map { $0 + "/" + Self.configFile }) ?? "<memory>"
        guard let hook = configuration.modelHook else {
            throw SAEError.modelMismatch(path: path, field: source?.hookField ?? "hook_name",
                                         reason: "the model has no hook '\(configuration.hookName)': semprog's models expose blocks.L.hook_resid_post, hook_resid_pre and hook_mlp_out")
        }
        guard configuration.dIn == modelWidth else {
            throw SAEError.modelMismatch(path: path, field: "d_in",
                                         reason: "d_in = \(configuration.dIn) but the model's residual width is \(modelWidth)")
        }
        // resid_post after block −1 is blocks.0.hook_resid_pre, the embeddings.
        guard configuration.layer >= (hook.site == .residPost ? -1 : 0), configuration.layer < layerCount else {
            throw SAEError.modelMismatch(path: path, field: "hook_name",
                                         reason: "'\(configuration.hookName)' reads after block \(configuration.layer) but the model has \(layerCount) blocks (0…\(layerCount - 1))")
        }
    }

    /// Throws `featureOutOfRange` unless 0 ≤ feature < d_sae.
    public func checkFeature(_ feature: Int) throws {
        guard feature >= 0, feature < configuration.dSae else {
            throw SAEError.featureOutOfRange(feature: feature, dSae: configuration.dSae)
        }
    }

    // MARK: Encoding and decoding

    /// Per-row parameters of the normalisation: x̃ = (x − shift) / scale, so N⁻¹(y) = y · scale + shift.
    public struct RowNormalization: Sendable, Equatable {
        public var scale: Float
        public var shift: Float
        public static let identity = RowNormalization(scale: 1, shift: 0)
    }

    /// The normalisation parameters of each row of `x` (identity unless `normalize_activations` says otherwise).
    public func normalization(of x: Matrix) -> [RowNormalization] {
        let d = x.cols
        switch configuration.normalizeActivations {
        case .none, .expectedAverageOnlyIn:
            return [RowNormalization](repeating: .identity, count: x.rows)
        case .constantNormRescale:
            return (0..<x.rows).map { r in
                var s: Float = 0
                for j in 0..<d { let v = x.values[r * d + j]; s += v * v }
                let norm = s.squareRoot()
                return RowNormalization(scale: norm > 0 ? norm / Float(d).squareRoot() : 1, shift: 0)
            }
        case .layerNorm:
            return (0..<x.rows).map { r in
                var mean: Float = 0
                for j in 0..<d { mean += x.values[r * d + j] }
                mean /= Float(d)
                var ss: Float = 0
                for j in 0..<d { let v = x.values[r * d + j] - mean; ss += v * v }
                let std = (ss / Float(max(d - 1, 1))).squareRoot()
                return RowNormalization(scale: std + 1e-5, shift: mean)
            }
        }
    }

    /// x̃ − b_dec·[apply_b_dec_to_input] with x̃ = N(x) (SAELens `SAE.process_sae_in`).
    func centredInput(_ x: Matrix, normalization norms: [RowNormalization]) -> Matrix {
        let d = configuration.dIn
        var input = x
        let subtract = configuration.applyBDecToInput
        for r in 0..<x.rows {
            let n = norms[r]
            if n == .identity && !subtract { continue }
            for j in 0..<d {
                var v = (input.values[r * d + j] - n.shift) / n.scale
                if subtract { v -= decoderBias[j] }
                input.values[r * d + j] = v
            }
        }
        return input
    }

    /// input · W + bias, rows × d_sae (one packed GEMM, or sgemm).
    func project(_ input: Matrix, weights: Matrix, packed: PackedMatrix?, bias: [Float]) -> Matrix {
        let d = configuration.dIn, m = configuration.dSae
        var pre = Matrix(zeros: input.rows, m)
        for r in 0..<input.rows { for j in 0..<m { pre.values[r * m + j] = bias[j] } }
        if input.rows > 0, let packed {
            packed.multiply(input.values, count: input.rows, into: &pre.values, accumulate: true, threads: BLAS.threads)
        } else if input.rows > 0 {
            input.values.withUnsafeBufferPointer { a in
                weights.values.withUnsafeBufferPointer { b in
                    pre.values.withUnsafeMutableBufferPointer { c in
                        BLAS.gemm(m: input.rows, n: m, k: d, a: a.baseAddress!, lda: d, b: b.baseAddress!, ldb: m,
                                  beta: 1, c: c.baseAddress!, ldc: m)
                    }
                }
            }
        }
        return pre
    }

    /// Pre-activations `pre = (N(x) − b_dec·[apply]) · W_enc + b_enc`, rows × d_sae (SAELens' `hook_sae_acts_pre`;
    /// for gated SAEs the magnitude path (N(x) − b_dec·[apply]) · (W_enc ∘ exp(r_mag)) + b_mag).
    public func preActivations(_ x: Matrix, normalization: [RowNormalization]? = nil) -> Matrix {
        precondition(x.cols == configuration.dIn, "encode: \(x.cols) columns, SAE d_in is \(configuration.dIn)")
        let input = centredInput(x, normalization: normalization ?? self.normalization(of: x))
        return project(input, weights: projectionWeights, packed: packedEncoder, bias: encoderBias)
    }

    /// Applies the architecture's activation function to pre-activations in place. A gated SAE needs its gate,
    /// which depends on the input: use `encode(_:normalization:)` for those.
    public func activate(_ pre: inout Matrix) {
        precondition(configuration.architecture != .gated, "activate: a gated SAE's gate needs the input; use encode(_:normalization:)")
        activate(&pre, gatePre: nil)
    }

    func activate(_ pre: inout Matrix, gatePre: Matrix?) {
        let m = pre.cols
        switch configuration.architecture {
        case .standard:
            for i in 0..<pre.values.count where pre.values[i] < 0 { pre.values[i] = 0 }
        case .gated:
            // a = 1[gate > 0] · ReLU(pre)  (GatedSAE.encode)
            let g = gatePre!
            for i in 0..<pre.values.count {
                let v = pre.values[i]
                pre.values[i] = (g.values[i] > 0 && v > 0) ? v : 0
            }
        case .jumprelu:
            let theta = threshold!
            for r in 0..<pre.rows {
                for j in 0..<m {
                    let v = pre.values[r * m + j]
                    pre.values[r * m + j] = (v > theta[j] && v > 0) ? v : 0
                }
            }
        case .topk:
            let k = configuration.k ?? m
            pre.values.withUnsafeMutableBufferPointer { p in
                var chosen = [Int](repeating: 0, count: k)
                for r in 0..<pre.rows {
                    let row = UnsafeMutableBufferPointer(rebasing: p[(r * m)..<((r + 1) * m)])
                    let count = TopK.select(row, k: k, into: &chosen)
                    var kept = [Float](repeating: 0, count: count)
                    for t in 0..<count { kept[t] = max(row[chosen[t]], 0) }
                    for j in 0..<m { row[j] = 0 }
                    for t in 0..<count { row[chosen[t]] = kept[t] }
                }
            }
        }
    }

    /// Feature activations `a = σ(pre)` of rows normalised by `norms`, rows × d_sae.
    public func encode(_ x: Matrix, normalization norms: [RowNormalization]) -> Matrix {
        precondition(x.cols == configuration.dIn, "encode: \(x.cols) columns, SAE d_in is \(configuration.dIn)")
        let input = centredInput(x, normalization: norms)
        var pre = project(input, weights: projectionWeights, packed: packedEncoder, bias: encoderBias)
        let gatePre = gate.map { project(input, weights: encoderWeights, packed: packedGate, bias: $0.gateBias) }
        activate(&pre, gatePre: gatePre)
        return pre
    }

    /// Feature activations `a = σ(pre)`, rows × d_sae.
    public func encode(_ x: Matrix) -> Matrix {
        encode(x, normalization: normalization(of: x))
    }

    /// `a · W_dec + b_dec`, in the SAE's (normalised) input space: equal to the reconstruction of x when
    /// `normalize_activations` is none; otherwise use `reconstruct(_:)`.
    public func decode(_ a: Matrix) -> Matrix {
        precondition(a.cols == configuration.dSae, "decode: \(a.cols) columns, SAE d_sae is \(configuration.dSae)")
        let d = configuration.dIn, m = configuration.dSae
        var out = Matrix(zeros: a.rows, d)
        for r in 0..<a.rows { for j in 0..<d { out.values[r * d + j] = decoderBias[j] } }
        guard a.rows > 0 else { return out }
        a.values.withUnsafeBufferPointer { pa in
            decoderWeights.values.withUnsafeBufferPointer { pb in
                out.values.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(m: a.rows, n: d, k: m, a: pa.baseAddress!, lda: m, b: pb.baseAddress!, ldb: d,
                              beta: 1, c: pc.baseAddress!, ldc: d)
                }
            }
        }
        return out
    }

    /// x̂ = N⁻¹(σ(pre(x)) · W_dec + b_dec) in the units of x.
    public func reconstruct(_ x: Matrix) -> Matrix {
        let norms = normalization(of: x)
        var y = decode(encode(x, normalization: norms))
        let d = configuration.dIn
        for r in 0..<y.rows where norms[r] != .identity {
            for j in 0..<d { y.values[r * d + j] = y.values[r * d + j] * norms[r].scale + norms[r].shift }
        }
        return y
    }

    /// Row `feature` of W_dec (its direction in normalised input space).
    public func decoderRow(_ feature: Int) -> [Float] {
        precondition(feature >= 0 && feature < configuration.dSae, "decoderRow: feature \(feature) out of range")
        return decoderWeights.row(feature)
    }
}

/// Selection of the k largest entries of a row.
enum TopK {
    /// Writes the indices of the `k` largest values of `row` (ties: lower index first) into `chosen[0..<k]`,
    /// in no particular order; returns how many were chosen (min(k, row.count)). O(n·log k) worst case.
    @inline(__always)
    static func select(_ row: UnsafeMutableBufferPointer<Float>, k: Int, into chosen: inout [Int]) -> Int {
        let n = row.count
        let k = min(k, n)
        guard k > 0 else { return 0 }
        if chosen.count < k { chosen = [Int](repeating: 0, count: k) }
        // Min-heap of (value, index) on the k best so far; the root is the weakest kept entry.
        return chosen.withUnsafeMutableBufferPointer { heap in
            func less(_ a: Int, _ b: Int) -> Bool {   // a is weaker than b
                let va = row[a], vb = row[b]
                return va < vb || (va == vb && a > b)
            }
            func siftDown(_ start: Int) {
                var i = start
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var s = i
                    if l < k && less(heap[l], heap[s]) { s = l }
                    if r < k && less(heap[r], heap[s]) { s = r }
                    if s == i { return }
                    heap.swapAt(i, s)
                    i = s
                }
            }
            for i in 0..<k { heap[i] = i }
            var i = k / 2 - 1
            while i >= 0 { siftDown(i); i -= 1 }
            for j in k..<n {
                let root = heap[0]
                if row[j] > row[root] {
                    heap[0] = j
                    siftDown(0)
                }
            }
            return k
        }
    }
}
