import Foundation
import ModelFormats
import Tensor

/// A sparse autoencoder over one residual-stream site, in SAELens' parameterisation:
///
///     x̃   = N(x)                                   (normalisation, identity unless configured)
///     pre = (x̃ − b_dec·[apply_b_dec_to_input]) · W_enc + b_enc        W_enc: [d_in, d_sae]
///     a   = σ(pre)                                 (ReLU / JumpReLU / TopK, see `SAEArchitecture`)
///     x̂   = N⁻¹(a · W_dec + b_dec)                 W_dec: [d_sae, d_in]
///
/// Weights live in memory as Float32. Encoding and decoding are batched: one sgemm per call.
public final class SparseAutoencoder: @unchecked Sendable {
    public let configuration: SAEConfiguration
    /// W_enc, `d_in × d_sae`.
    public let encoderWeights: Matrix
    /// b_enc, `d_sae`.
    public let encoderBias: [Float]
    /// W_dec, `d_sae × d_in` (row i is feature i's direction).
    public let decoderWeights: Matrix
    /// b_dec, `d_in`.
    public let decoderBias: [Float]
    /// JumpReLU thresholds θ, `d_sae` (nil for other architectures).
    public let threshold: [Float]?
    /// log₁₀ of each feature's firing density, from `sparsity.safetensors` when present.
    public let log10Density: [Float]?
    /// Directory the SAE was loaded from (nil when built in memory).
    public let directory: String?
    /// W_encᵀ (d_sae × d_in) in the packed-panel layout of `PackedMatrix`, for AVX2/FMA machines.
    let packedEncoder: PackedMatrix?

    /// Builds an SAE from in-memory weights, checking every shape against the configuration.
    public init(configuration: SAEConfiguration, encoderWeights: Matrix, encoderBias: [Float],
                decoderWeights: Matrix, decoderBias: [Float], threshold: [Float]? = nil,
                log10Density: [Float]? = nil, directory: String? = nil) throws {
        let path = directory ?? "<memory>"
        let d = configuration.dIn, m = configuration.dSae
        func check(_ name: String, _ found: [Int], _ expected: [Int]) throws {
            if found != expected { throw SAEError.shapeMismatch(path: path, tensor: name, expected: expected, found: found) }
        }
        try check("W_enc", [encoderWeights.rows, encoderWeights.cols], [d, m])
        try check("W_dec", [decoderWeights.rows, decoderWeights.cols], [m, d])
        try check("b_enc", [encoderBias.count], [m])
        try check("b_dec", [decoderBias.count], [d])
        if configuration.architecture == .jumprelu {
            guard let threshold else { throw SAEError.missingTensor(path: path, tensor: "threshold") }
            try check("threshold", [threshold.count], [m])
        } else if threshold != nil {
            throw SAEError.unexpectedTensor(path: path, tensor: "threshold")
        }
        if let log10Density { try check("sparsity", [log10Density.count], [m]) }
        for (name, values) in [("W_enc", encoderWeights.values), ("W_dec", decoderWeights.values),
                               ("b_enc", encoderBias), ("b_dec", decoderBias), ("threshold", threshold ?? [])]
        where !values.allSatisfy(\.isFinite) {
            throw SAEError.nonFinite(path: path, tensor: name)
        }
        self.configuration = configuration
        self.encoderWeights = encoderWeights
        self.encoderBias = encoderBias
        self.decoderWeights = decoderWeights
        self.decoderBias = decoderBias
        self.threshold = threshold
        self.log10Density = log10Density
        self.directory = directory
        packedEncoder = PackedMatrix.isAccelerated ? PackedMatrix(encoderWeights.transposed()) : nil
    }

    // MARK: Loading and saving

    static let configFile = "cfg.json", weightsFile = "sae_weights.safetensors", sparsityFile = "sparsity.safetensors"

    /// Loads `cfg.json`, `sae_weights.safetensors` and, when present, `sparsity.safetensors` (tensor `sparsity`,
    /// log₁₀ density) from an SAELens directory. Optional weights: `log_threshold` (JumpReLU, θ = exp) instead of
    /// `threshold`; `scaling_factor` [d_sae] (SAELens' finetuning scaling, folded into W_dec rows at load).
    public static func load(directory: String) throws -> SparseAutoencoder {
        let dir = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SAEError.cannotRead(path: directory, reason: "not a directory (expected cfg.json and sae_weights.safetensors inside)")
        }
        let configPath = dir.appendingPathComponent(configFile).path
        let configuration = try SAEConfiguration.load(path: configPath)
        let weightsPath = dir.appendingPathComponent(weightsFile).path
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            throw SAEError.cannotRead(path: weightsPath, reason: "file not found")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: weightsPath) } catch {
            throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription)
        }
        let d = configuration.dIn, m = configuration.dSae
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let info = file.tensors[name] else { throw SAEError.missingTensor(path: weightsPath, tensor: name) }
            guard info.shape == shape else {
                throw SAEError.shapeMismatch(path: weightsPath, tensor: name, expected: shape, found: info.shape)
            }
            do { return try file.floats(name, shape: shape) } catch ModelFormatError.nonFinite {
                throw SAEError.nonFinite(path: weightsPath, tensor: name)
            } catch { throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription) }
        }
        var known: Set<String> = ["W_enc", "W_dec", "b_enc", "b_dec", "scaling_factor"]
        if configuration.architecture == .jumprelu { known.formUnion(["threshold", "log_threshold"]) }
        for name in file.tensorNames where !known.contains(name) {
            throw SAEError.unexpectedTensor(path: weightsPath, tensor: name)
        }
        let wEnc = try tensor("W_enc", [d, m])
        var wDec = try tensor("W_dec", [m, d])
        let bEnc = try tensor("b_enc", [m])
        let bDec = try tensor("b_dec", [d])
        var threshold: [Float]? = nil
        if configuration.architecture == .jumprelu {
            if file.tensors["threshold"] != nil {
                threshold = try tensor("threshold", [m])
            } else if file.tensors["log_threshold"] != nil {
                threshold = try tensor("log_threshold", [m]).map { Float(Foundation.exp(Double($0))) }
            } else {
                throw SAEError.missingTensor(path: weightsPath, tensor: "threshold")
            }
        }
        if file.tensors["scaling_factor"] != nil {
            let s = try tensor("scaling_factor", [m])
            for i in 0..<m { for j in 0..<d { wDec[i * d + j] *= s[i] } }
        }
        var density: [Float]? = nil
        let sparsityPath = dir.appendingPathComponent(sparsityFile).path
        if FileManager.default.fileExists(atPath: sparsityPath) {
            let s: SafetensorsFile
            do { s = try SafetensorsFile(path: sparsityPath) } catch {
                throw SAEError.cannotRead(path: sparsityPath, reason: error.localizedDescription)
            }
            guard let info = s.tensors["sparsity"] else { throw SAEError.missingTensor(path: sparsityPath, tensor: "sparsity") }
            guard info.elementCount == m else {
                throw SAEError.shapeMismatch(path: sparsityPath, tensor: "sparsity", expected: [m], found: info.shape)
            }
            // −inf is legal here (a feature that never fired); NaN is not.
            let values = (try? s.floats("sparsity", requireFinite: false)) ?? []
            guard values.count == m, !values.contains(where: \.isNaN) else {
                throw SAEError.nonFinite(path: sparsityPath, tensor: "sparsity")
            }
            density = values
        }
        return try SparseAutoencoder(
            configuration: configuration, encoderWeights: Matrix(rows: d, cols: m, values: wEnc), encoderBias: bEnc,
            decoderWeights: Matrix(rows: m, cols: d, values: wDec), decoderBias: bDec, threshold: threshold,
            log10Density: density, directory: directory)
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
            try encoder.encode(configuration).write(to: staging.appendingPathComponent(Self.configFile))
            var tensors = [
                SafetensorsWriter.Tensor(name: "W_enc", shape: [configuration.dIn, configuration.dSae], values: encoderWeights.values),
                SafetensorsWriter.Tensor(name: "W_dec", shape: [configuration.dSae, configuration.dIn], values: decoderWeights.values),
                SafetensorsWriter.Tensor(name: "b_enc", shape: [configuration.dSae], values: encoderBias),
                SafetensorsWriter.Tensor(name: "b_dec", shape: [configuration.dIn], values: decoderBias),
            ]
            if let threshold { tensors.append(.init(name: "threshold", shape: [configuration.dSae], values: threshold)) }
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
        let path = (directory.map { $0 + "/" + Self.configFile }) ?? "<memory>"
        guard configuration.dIn == modelWidth else {
            throw SAEError.modelMismatch(path: path, field: "d_in",
                                         reason: "d_in = \(configuration.dIn) but the model's residual width is \(modelWidth)")
        }
        guard configuration.layer >= 0, configuration.layer < layerCount else {
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

    /// Pre-activations `pre = (N(x) − b_dec·[apply]) · W_enc + b_enc`, rows × d_sae (one packed GEMM, or sgemm).
    public func preActivations(_ x: Matrix, normalization: [RowNormalization]? = nil) -> Matrix {
        precondition(x.cols == configuration.dIn, "encode: \(x.cols) columns, SAE d_in is \(configuration.dIn)")
        let d = configuration.dIn, m = configuration.dSae
        let norms = normalization ?? self.normalization(of: x)
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
        var pre = Matrix(zeros: x.rows, m)
        for r in 0..<x.rows { for j in 0..<m { pre.values[r * m + j] = encoderBias[j] } }
        if x.rows > 0, let packedEncoder {
            packedEncoder.multiply(input.values, count: x.rows, into: &pre.values, accumulate: true, threads: BLAS.threads)
        } else if x.rows > 0 {
            input.values.withUnsafeBufferPointer { a in
                encoderWeights.values.withUnsafeBufferPointer { b in
                    pre.values.withUnsafeMutableBufferPointer { c in
                        BLAS.gemm(m: x.rows, n: m, k: d, a: a.baseAddress!, lda: d, b: b.baseAddress!, ldb: m,
                                  beta: 1, c: c.baseAddress!, ldc: m)
                    }
                }
            }
        }
        return pre
    }

    /// Applies the architecture's activation function to pre-activations in place.
    public func activate(_ pre: inout Matrix) {
        let m = pre.cols
        switch configuration.architecture {
        case .standard:
            for i in 0..<pre.values.count where pre.values[i] < 0 { pre.values[i] = 0 }
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

    /// Feature activations `a = σ(pre)`, rows × d_sae.
    public func encode(_ x: Matrix) -> Matrix {
        var pre = preActivations(x)
        activate(&pre)
        return pre
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
        var pre = preActivations(x, normalization: norms)
        activate(&pre)
        var y = decode(pre)
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
