import Foundation
import ModelFormats
import Tensor

extension SparseAutoencoder {
    /// Reads an SAELens folder: `cfg.json` (v6, or pre-6 when `sae_lens_version` is absent or < 6, as SAELens'
    /// `handle_config_defaulting` decides), `sae_weights.safetensors` and, when present, `sparsity.safetensors`.
    ///
    /// Tensors by architecture (`sae_lens/saes/*.py`): W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_dec [d_in], and
    /// b_enc [d_sae] (standard, topk, jumprelu), `threshold` or `log_threshold` (jumprelu, θ = exp(log θ)),
    /// `topk_threshold` (batchtopk / matryoshka_batchtopk training form: θ_i = topk_threshold for every latent,
    /// as `process_state_dict_for_saving_inference` makes the inference form), b_gate, b_mag, r_mag (gated, no
    /// b_enc). `scaling_factor` [d_sae] (pre-6 `finetuning_scaling_factor`) is folded into the rows of W_dec; all
    /// ones it is dropped, as `read_sae_components_from_disk` does. TopK's `rescale_acts_by_decoder_norm` and
    /// `norm_scaling_factor` are folded into the weights (see `foldDecoderNorms`, `foldNormScalingFactor`).
    static func readSAELens(directory: String, hook: String?) throws -> SparseAutoencoder {
        let dir = URL(fileURLWithPath: directory)
        let configPath = dir.appendingPathComponent(configFile).path
        var configuration = try SAEConfiguration.load(path: configPath)
        let rawConfig = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath)))) as? [String: Any] ?? [:]
        let major = configuration.saeLensVersion.flatMap { Int($0.split(separator: ".").first ?? "") } ?? 0
        let format: SAEFormat = major >= 6 ? .saeLens : .saeLensPre6
        var hookField = (rawConfig["metadata"] as? [String: Any])?["hook_name"] != nil ? "metadata.hook_name"
            : rawConfig["hook_name"] != nil ? "hook_name" : "hook_point"
        var adjustments: [String] = []
        if let hook {
            configuration = configuration.with(hook: hook)
            hookField = "--hook"
            adjustments.append("hook replaced by --hook")
        }
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
        let architecture = configuration.architecture
        let batchTopK = SAEConfiguration.batchTopKArchitectures.contains(configuration.declaredArchitecture)
        var known: Set<String> = ["W_enc", "W_dec", "b_dec", "scaling_factor"]
        switch architecture {
        case .gated: known.formUnion(["b_gate", "b_mag", "r_mag"])
        case .jumprelu: known.formUnion(["b_enc", "threshold", "log_threshold"] + (batchTopK ? ["topk_threshold"] : []))
        case .standard, .topk: known.insert("b_enc")
        }
        for name in file.tensorNames where !known.contains(name) {
            throw SAEError.unexpectedTensor(path: weightsPath, tensor: name)
        }
        var wEnc = try tensor("W_enc", [d, m])
        var wDec = try tensor("W_dec", [m, d])
        var bEnc = try tensor(architecture == .gated ? "b_mag" : "b_enc", [m])
        var bDec = try tensor("b_dec", [d])
        var threshold: [Float]? = nil
        var gate: GatedParameters? = nil
        switch architecture {
        case .jumprelu:
            if file.tensors["threshold"] != nil {
                threshold = try tensor("threshold", [m])
            } else if file.tensors["log_threshold"] != nil {
                threshold = try tensor("log_threshold", [m]).map { Float(Foundation.exp(Double($0))) }
            } else if batchTopK, let info = file.tensors["topk_threshold"] {
                guard info.elementCount == 1, info.shape.count <= 1 else {
                    throw SAEError.shapeMismatch(path: weightsPath, tensor: "topk_threshold", expected: [], found: info.shape)
                }
                let t = try tensor("topk_threshold", info.shape)[0]
                threshold = [Float](repeating: t, count: m)
                adjustments.append("\(configuration.declaredArchitecture): θ = topk_threshold (\(t)) for every latent, as SAELens' inference form")
            } else {
                throw SAEError.missingTensor(path: weightsPath, tensor: batchTopK ? "topk_threshold" : "threshold")
            }
        case .gated:
            gate = GatedParameters(gateBias: try tensor("b_gate", [m]), magnitudeLogScale: try tensor("r_mag", [m]))
        case .standard, .topk:
            break
        }
        if file.tensors["scaling_factor"] != nil {
            let s = try tensor("scaling_factor", [m])
            if !s.allSatisfy({ abs($0 - 1) <= 1e-5 }) {
                guard rawConfig["finetuning_scaling_factor"] as? Bool == true else {
                    throw SAEError.invalidConfiguration(path: configPath, field: "finetuning_scaling_factor",
                        reason: "is false but \(weightsFile) holds a scaling_factor that is not all ones (SAELens refuses this too)")
                }
                for i in 0..<m { for j in 0..<d { wDec[i * d + j] *= s[i] } }
                adjustments.append("scaling_factor folded into the rows of W_dec")
            }
        }
        if configuration.rescaleActsByDecoderNorm {
            foldDecoderNorms(wEnc: &wEnc, bEnc: &bEnc, wDec: &wDec, dIn: d, dSae: m)
            adjustments.append("rescale_acts_by_decoder_norm folded into W_enc, b_enc and W_dec (W_dec rows now unit norm)")
        }
        if let s = configuration.normScalingFactor, configuration.normalizeActivations == .expectedAverageOnlyIn {
            foldNormScalingFactor(Float(s), wEnc: &wEnc, wDec: &wDec, bDec: &bDec)
            adjustments.append("norm_scaling_factor \(s) folded into W_enc, W_dec and b_dec")
        } else if configuration.normScalingFactor != nil {
            throw SAEError.invalidConfiguration(path: configPath, field: "norm_scaling_factor",
                reason: "is only used with normalize_activations = expected_average_only_in (this file has \(configuration.normalizeActivations.rawValue))")
        }
        let density = try readSparsity(directory: dir, dSae: m)
        let source = SAESource(format: format, configPath: configPath, weightsPath: weightsPath, hookField: hookField,
                               storedDType: Set(file.tensors.values.map(\.dtype.rawValue)).sorted().joined(separator: ", "),
                               adjustments: adjustments)
        return try SparseAutoencoder(
            configuration: configuration, encoderWeights: Matrix(rows: d, cols: m, values: wEnc), encoderBias: bEnc,
            decoderWeights: Matrix(rows: m, cols: d, values: wDec), decoderBias: bDec, threshold: threshold, gate: gate,
            log10Density: density, directory: directory, source: source)
    }
}
