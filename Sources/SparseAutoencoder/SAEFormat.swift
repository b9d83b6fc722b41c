import Foundation

/// The on-disk layouts of published SAEs that semprog reads. Each has its own file:
/// `SAELensFormat.swift`, `GemmaScope1Format.swift`, `GemmaScope2Format.swift`, `SparsifyFormat.swift`.
public enum SAEFormat: String, Sendable, CaseIterable, Codable {
    /// SAELens ≥ 6: `cfg.json` with `metadata.sae_lens_version` ≥ 6, `sae_weights.safetensors`.
    case saeLens = "saelens"
    /// SAELens < 6: `cfg.json` with top-level `hook_name`/`hook_point`, `activation_fn_str`, …
    case saeLensPre6 = "saelens-pre6"
    /// Gemma Scope (Gemma 2): `params.npz`, no config; the hook comes from the folder names.
    case gemmaScope1 = "gemma-scope"
    /// Gemma Scope 2 (Gemma 3): `params.safetensors` and an optional `config.json` with Hugging Face hook names.
    case gemmaScope2 = "gemma-scope-2"
    /// EleutherAI sparsify: `cfg.json` (sparsify's `SparseCoderConfig` plus `d_in`) and `sae.safetensors`.
    case sparsify = "sparsify"

    public var title: String {
        switch self {
        case .saeLens: "SAELens (v6 cfg.json)"
        case .saeLensPre6: "SAELens (pre-6 cfg.json)"
        case .gemmaScope1: "Gemma Scope 1 (params.npz)"
        case .gemmaScope2: "Gemma Scope 2 (params.safetensors)"
        case .sparsify: "EleutherAI sparsify"
        }
    }

    /// The format of an SAE folder, from the files it holds (SAELens v6 and pre-6 are told apart when cfg.json is read).
    public static func detect(directory: String) throws -> SAEFormat {
        let fm = FileManager.default
        func has(_ name: String) -> Bool { fm.fileExists(atPath: URL(fileURLWithPath: directory).appendingPathComponent(name).path) }
        if has("sae_weights.safetensors") { return .saeLens }
        if has("sae.safetensors") { return .sparsify }
        if has("params.npz") { return .gemmaScope1 }
        if has("params.safetensors") { return .gemmaScope2 }
        if has("cfg.json") {
            throw SAEError.cannotRead(path: URL(fileURLWithPath: directory).appendingPathComponent("sae_weights.safetensors").path,
                                      reason: "file not found (cfg.json is there, but neither sae_weights.safetensors (SAELens) nor sae.safetensors (sparsify))")
        }
        throw SAEError.cannotRead(path: directory,
            reason: "no SAE files: expected cfg.json + sae_weights.safetensors (SAELens), params.npz (Gemma Scope), params.safetensors (Gemma Scope 2) or cfg.json + sae.safetensors (sparsify)")
    }
}

/// Where an SAE came from and what the loader did to it, for error messages, `sae info` and reports.
public struct SAESource: Sendable, Equatable {
    /// The names the file gives the five basic tensors (SAELens' by default), so errors name them as the file does.
    public struct TensorNames: Sendable, Equatable {
        public var encoderWeights = "W_enc", decoderWeights = "W_dec", encoderBias = "b_enc", decoderBias = "b_dec"
        public var threshold = "threshold"
        public init() {}
        /// Gemma Scope's lower-case names.
        public static var gemmaScope: TensorNames {
            var n = TensorNames()
            n.encoderWeights = "w_enc"; n.decoderWeights = "w_dec"
            return n
        }
    }

    public var format: SAEFormat
    /// The configuration file read (nil for Gemma Scope 1, and Gemma Scope 2 without config.json).
    public var configPath: String?
    public var weightsPath: String
    /// The release the folder names give (Gemma Scope: `gemma-scope-2b-pt-res`, …), when known.
    public var release: String?
    /// Where the hook came from: a config key (`metadata.hook_name`, `hf_hook_point_in`), "folder names" or "--hook".
    public var hookField: String
    public var tensorNames: TensorNames
    /// The weights' element type as stored (`F32`, `BF16`, `<f4`, …).
    public var storedDType: String
    /// What the loader changed so that semprog computes what the reference does (folded normalisations …).
    public var adjustments: [String]

    public init(format: SAEFormat, configPath: String?, weightsPath: String, release: String? = nil, hookField: String,
                tensorNames: TensorNames = TensorNames(), storedDType: String, adjustments: [String] = []) {
        self.format = format; self.configPath = configPath; self.weightsPath = weightsPath; self.release = release
        self.hookField = hookField; self.tensorNames = tensorNames; self.storedDType = storedDType; self.adjustments = adjustments
    }
}

extension SAEConfiguration {
    /// The configuration with another hook: `layer` follows (`hook_resid_post` index, else the block index, −1
    /// for hooks outside the blocks such as `hook_embed`).
    public func with(hook: String) -> SAEConfiguration {
        var c = self
        c.hookName = hook
        c.layer = Self.residualLayer(ofHook: hook) ?? Self.blockIndex(ofHook: hook) ?? -1
        return c
    }

    /// Whether a `--hook` value names a hook semprog understands: `blocks.L.…` or `hook_embed`.
    static func isKnownHook(_ hook: String) -> Bool {
        hook == "hook_embed" || blockIndex(ofHook: hook) != nil
    }

    /// The settings that change what `encode` computes, as `key = value` lines for `sae info`.
    public var encodeSettings: [String] {
        var out = ["architecture = \(architecture.rawValue)" + (declaredArchitecture != architecture.rawValue && !declaredArchitecture.isEmpty ? " (declared \(declaredArchitecture))" : "")
                   + (trainingArchitecture.map { " (inference form of \($0))" } ?? "")]
        if let k { out.append("k = \(k)") }
        if architecture == .topk { out.append("rescale_acts_by_decoder_norm = \(rescaleActsByDecoderNorm)") }
        out.append("apply_b_dec_to_input = \(applyBDecToInput)")
        out.append("normalize_activations = \(normalizeActivations.rawValue)")
        if let s = normScalingFactor { out.append("norm_scaling_factor = \(s)") }
        return out
    }
}
