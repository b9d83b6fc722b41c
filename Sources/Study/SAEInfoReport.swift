import Foundation
import LanguageModel
import SparseAutoencoder
import Tensor

/// What `semprog sae info` shows of an SAE folder: format, architecture, hook, d_in, d_sae, dtype and the settings
/// that change encode; optionally L0 and the explained variance of the reconstruction of a text's activations at
/// the SAE's hook (positions after the first, whose norm is far larger). Printed as aligned lines (`text`) or one
/// JSON object (`json`, snake_case keys).
public struct SAEInfoReport: Codable, Equatable, Sendable {
    public var directory: String
    public var format: String
    public var formatTitle: String
    public var release: String?
    public var architecture: String
    public var declaredArchitecture: String
    public var hook: String
    public var hookSource: String
    public var dIn: Int
    public var dSae: Int
    public var dtype: String
    public var storedDType: String
    public var k: Int?
    public var applyBDecToInput: Bool
    public var normalizeActivations: String
    public var rescaleActsByDecoderNorm: Bool?
    public var normScalingFactor: Double?
    public var modelName: String?
    public var configFile: String?
    public var weightsFile: String
    public var adjustments: [String]
    public var steerable: Bool
    /// Tokens measured (positions after the first), with `--model` and `--text`.
    public var tokens: Int?
    /// Mean number of non-zero latents per token.
    public var meanL0: Double?
    /// 1 − SSE/SST of the reconstruction (SST about the per-dimension mean); nil when the residuals are constant.
    public var explainedVariance: Double?
    /// The lines of `text` that follow from the SAE's settings (not stored in JSON).
    var encodeSettings: [String] = []

    enum CodingKeys: String, CodingKey {
        case directory, format, release, architecture, hook, dtype, k, adjustments, steerable, tokens
        case formatTitle = "format_title", declaredArchitecture = "declared_architecture", hookSource = "hook_source"
        case dIn = "d_in", dSae = "d_sae", storedDType = "stored_dtype", applyBDecToInput = "apply_b_dec_to_input"
        case normalizeActivations = "normalize_activations", rescaleActsByDecoderNorm = "rescale_acts_by_decoder_norm"
        case normScalingFactor = "norm_scaling_factor", modelName = "model_name", configFile = "config_file"
        case weightsFile = "weights_file", meanL0 = "mean_l0", explainedVariance = "explained_variance"
    }

    /// What `sae` read from `directory` (its files and the hook `--hook` replaced, if any).
    public init(directory: String, sae: SparseAutoencoder) throws {
        let c = sae.configuration
        guard let source = sae.source else { throw StudyError.invalidArgument("\(directory): no source information") }
        self.directory = directory
        format = source.format.rawValue; formatTitle = source.format.title; release = source.release
        architecture = c.architecture.rawValue; declaredArchitecture = c.declaredArchitecture
        hook = c.hookName; hookSource = source.hookField; dIn = c.dIn; dSae = c.dSae
        dtype = c.dtype; storedDType = source.storedDType; k = c.k
        applyBDecToInput = c.applyBDecToInput; normalizeActivations = c.normalizeActivations.rawValue
        rescaleActsByDecoderNorm = c.architecture == .topk ? c.rescaleActsByDecoderNorm : nil
        normScalingFactor = c.normScalingFactor; modelName = c.modelName
        configFile = source.configPath; weightsFile = source.weightsPath; adjustments = source.adjustments
        steerable = c.isSteerableHook
        encodeSettings = c.encodeSettings
    }

    /// `semprog sae info`: reads the folder, measures L0 and explained variance when `model` and `text` are given,
    /// and prints the report as lines or JSON.
    public static func show(directory: String, hook: String?, model: String?, text: String?, threads: Int, json: Bool,
                            console: StudyConsole = .standard) throws {
        let sae = try SparseAutoencoder.read(directory: directory, hook: hook)
        var report = try SAEInfoReport(directory: directory, sae: sae)
        if let model, let text {
            let lm = try LlamaModel.load(path: model, threads: threads)
            try sae.check(modelWidth: lm.configuration.dModel, layerCount: lm.configuration.layerCount)
            let ids = lm.tokenizer.encode(text)
            guard ids.count >= 2 else {
                throw StudyError.invalidArgument("--text: needs at least 2 tokens (position 0 is left out), got \(ids.count)")
            }
            let all = try sae.hookActivations(model: lm, batch: [ids])[0]
            let x = Matrix(rows: all.rows - 1, cols: all.cols, values: Array(all.values[all.cols...]))
            report.measure(Reconstruction(input: x, latents: sae.encode(x), reconstruction: sae.reconstruct(x)))
        }
        console.output(try json ? report.json : report.text)
    }

    /// The residuals of a text, their latents and their reconstruction (rows = tokens).
    public struct Reconstruction {
        public var input: Matrix
        public var latents: Matrix
        public var reconstruction: Matrix

        public init(input: Matrix, latents: Matrix, reconstruction: Matrix) {
            self.input = input; self.latents = latents; self.reconstruction = reconstruction
        }
    }

    /// Sets `tokens`, `meanL0` (non-zero latents per row) and `explainedVariance` = 1 − Σ(x − x̂)² / Σ(x − x̄)²
    /// (x̄: the per-dimension mean over the rows; sums over all rows and dimensions, in float64).
    public mutating func measure(_ r: Reconstruction) {
        let x = r.input, d = x.cols, rows = x.rows
        var mean = [Double](repeating: 0, count: d)
        for row in 0..<rows { for j in 0..<d { mean[j] += Double(x.values[row * d + j]) / Double(rows) } }
        var sse = 0.0, sst = 0.0
        for row in 0..<rows { for j in 0..<d {
            let v = Double(x.values[row * d + j]), e = v - Double(r.reconstruction.values[row * d + j])
            sse += e * e
            sst += (v - mean[j]) * (v - mean[j])
        } }
        tokens = rows
        meanL0 = Double(r.latents.values.filter { $0 != 0 }.count) / Double(rows)
        explainedVariance = sst > 0 ? 1 - sse / sst : nil
    }

    /// One JSON object, pretty-printed with sorted keys.
    public var json: String {
        get throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }

    /// "key  value" lines, the keys padded to one width.
    public var text: String {
        var lines: [(String, String)] = [
            ("format", formatTitle + (release.map { " — release \($0)" } ?? "")),
            ("architecture", architecture + (declaredArchitecture != architecture && !declaredArchitecture.isEmpty
                                             ? " (declared \(declaredArchitecture))" : "")),
            ("hook", "\(hook) (from \(hookSource))" + (steerable ? "" : " — not a hook semprog's models expose (resid_post, resid_pre, mlp_out): semprog cannot steer it")),
            ("d_in", String(dIn)), ("d_sae", String(dSae)),
            ("dtype", "\(dtype) declared, \(storedDType) stored; computed in float32"),
        ]
        if let modelName { lines.append(("model", modelName)) }
        lines.append(("encode", encodeSettings.joined(separator: ", ")))
        for a in adjustments { lines.append(("loader", a)) }
        if let configFile { lines.append(("config", configFile)) }
        lines.append(("weights", weightsFile))
        if let tokens, let meanL0 {
            lines.append(("L0", String(format: "%.2f mean active latents over %d tokens", meanL0, tokens)))
            lines.append(("explained variance", explainedVariance.map { String(format: "%.4f", $0) } ?? "n/a (constant residuals)"))
        }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}
