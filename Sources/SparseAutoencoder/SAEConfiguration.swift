import Foundation
import LanguageModel

/// The activation function between encoder and decoder.
public enum SAEArchitecture: String, Codable, Sendable, CaseIterable {
    /// a = ReLU(pre).
    case standard
    /// a = ReLU(pre) · 1[pre > θ] with a per-feature threshold θ (Rajamanoharan et al. 2024, "Jumping Ahead").
    case jumprelu
    /// a = ReLU(pre) on the k largest pre-activations of each row, 0 elsewhere (Gao et al. 2024, "Scaling and
    /// evaluating sparse autoencoders").
    case topk
    /// Gated (Rajamanoharan et al. 2024, "Improving Dictionary Learning with Gated Sparse Autoencoders"):
    /// a = 1[x̃·W_enc + b_gate > 0] · ReLU(x̃·(W_enc ∘ exp(r_mag)) + b_mag), no b_enc (SAELens `saes/gated_sae.py`).
    case gated
}

/// SAELens' `normalize_activations` setting: how inputs are rescaled before encoding (and outputs after decoding).
public enum ActivationNormalization: String, Codable, Sendable, CaseIterable {
    case none
    /// x ← x · √d_in / ‖x‖₂ per row; the decoder output is divided by the same factor.
    case constantNormRescale = "constant_norm_rescale"
    /// x ← (x − μ) / (σ + 1e−5) per row with σ the unbiased standard deviation; output ← y · σ + μ (SAELens).
    case layerNorm = "layer_norm"
    /// Anthropic's April 2024 update: inputs were scaled by a constant s during training. `SAE.load_from_disk`
    /// treats it as the identity; SAELens' `from_pretrained` folds s (`norm_scaling_factor` of the release) into
    /// the weights (W_enc·s, W_dec/s, b_dec/s; `SAE.fold_activation_norm_scaling_factor`), and so does semprog when
    /// cfg.json gives `norm_scaling_factor`.
    case expectedAverageOnlyIn = "expected_average_only_in"
}

/// An SAE's `cfg.json` in SAELens' format. Reads both layouts:
/// - SAELens ≥ 6: `architecture`, `d_in`, `d_sae`, `k` (topk), `apply_b_dec_to_input`, `normalize_activations`,
///   and `metadata.{hook_name, model_name, neuronpedia_id, …}`;
/// - SAELens < 6: top-level `hook_name` (or older `hook_point`), `hook_layer` (or `hook_point_layer`),
///   `model_name`, `neuronpedia_id`, `activation_fn_str` ("relu" / "topk") with `activation_fn_kwargs.k`.
/// Always writes the ≥ 6 layout. Reference: SAELens `sae_lens/saes/sae.py` (`SAEConfig`, `SAEMetadata`).
public struct SAEConfiguration: Codable, Sendable, Equatable {
    public var architecture: SAEArchitecture
    /// Width of the residual stream the SAE reads (the model's d_model).
    public var dIn: Int
    /// Number of latents (features).
    public var dSae: Int
    /// Active latents per row for `.topk`; nil otherwise.
    public var k: Int?
    /// TransformerLens hook name: `blocks.L.hook_resid_post`, `blocks.L.hook_resid_pre`, `blocks.L.hook_mlp_out`, …
    public var hookName: String
    /// The hook's layer as `ResidualHook` counts it: for the residual stream the 0-based block after which it is
    /// read (`hook_resid_post` of `layer`; `hook_resid_pre` of block L is `hook_resid_post` of L − 1, so
    /// `blocks.0.hook_resid_pre`, the embeddings, is −1); for `hook_mlp_out` the block; for other hooks of a
    /// block its index, and −1 for hooks outside the blocks (`hook_embed`).
    public var layer: Int
    /// Whether `b_dec` is subtracted from the input before encoding.
    public var applyBDecToInput: Bool
    public var normalizeActivations: ActivationNormalization
    public var neuronpediaID: String?
    public var modelName: String?
    /// Tokens per training context (metadata only).
    public var contextSize: Int?
    /// Where the training activations came from (metadata only).
    public var datasetPath: String?
    public var prependBOS: Bool?
    /// TopK only: pre-activations are multiplied by ‖W_dec[i]‖ before the selection and activations divided by it
    /// before decoding (SAELens `saes/topk_sae.py`). The loaders fold this into the weights.
    public var rescaleActsByDecoderNorm: Bool = false
    /// `expected_average_only_in`'s constant s, when cfg.json states it (`norm_scaling_factor`).
    public var normScalingFactor: Double? = nil
    /// The dtype the file declares (`dtype`); semprog always computes in float32.
    public var dtype: String = "float32"
    /// `metadata.sae_lens_version` (or top-level `sae_lens_version`): ≥ 6 means the v6 layout.
    public var saeLensVersion: String? = nil
    /// `sae_lens_training_version` as the file states it.
    public var saeLensTrainingVersion: String? = nil

    /// `metadata.training_architecture` of an inference form SAELens saved (batchtopk, matryoshka_batchtopk …).
    public var trainingArchitecture: String? = nil
    /// The architecture name as the file gives it (`batchtopk` and `matryoshka_batchtopk` load as jumprelu).
    public var declaredArchitecture: String = ""
    static let batchTopKArchitectures: Set<String> = ["batchtopk", "matryoshka_batchtopk"]

    /// The hook point of semprog's models the SAE reads and steers (`HookSite` and layer, as `HookSite.parse`
    /// reads the name), nil for hooks the models do not expose (`attn.hook_z`, `hook_embed`, …).
    public var modelHook: (site: HookSite, layer: Int)? { HookSite.parse(hookName) }
    /// Whether semprog's models expose the hook: `blocks.L.hook_resid_post`, `blocks.L.hook_resid_pre` (L ≥ 0) or
    /// `blocks.L.hook_mlp_out`.
    public var isSteerableHook: Bool { modelHook != nil }

    public init(architecture: SAEArchitecture, dIn: Int, dSae: Int, k: Int? = nil, layer: Int,
                applyBDecToInput: Bool = true, normalizeActivations: ActivationNormalization = .none,
                neuronpediaID: String? = nil, modelName: String? = nil, contextSize: Int? = nil,
                datasetPath: String? = nil, prependBOS: Bool? = false) {
        self.architecture = architecture
        self.dIn = dIn
        self.dSae = dSae
        self.k = k
        self.layer = layer
        self.hookName = "blocks.\(layer).hook_resid_post"
        self.applyBDecToInput = applyBDecToInput
        self.normalizeActivations = normalizeActivations
        self.neuronpediaID = neuronpediaID
        self.modelName = modelName
        self.contextSize = contextSize
        self.datasetPath = datasetPath
        self.prependBOS = prependBOS
        self.declaredArchitecture = architecture.rawValue
    }

    enum CodingKeys: String, CodingKey {
        case architecture, k, metadata, dtype, device
        case rescaleActsByDecoderNorm = "rescale_acts_by_decoder_norm", normScalingFactor = "norm_scaling_factor"
        case saeLensVersion = "sae_lens_version", saeLensTrainingVersion = "sae_lens_training_version"
        case hookHeadIndex = "hook_head_index", modelFromPretrainedKwargs = "model_from_pretrained_kwargs"
        case modelClassName = "model_class_name"
        case dIn = "d_in", dSae = "d_sae"
        case applyBDecToInput = "apply_b_dec_to_input"
        case normalizeActivations = "normalize_activations"
        case reshapeActivations = "reshape_activations"
        // pre-6 top-level fields
        case hookName = "hook_name", hookPoint = "hook_point", hookLayer = "hook_layer"
        case hookPointLayer = "hook_point_layer"
        case modelName = "model_name", neuronpediaID = "neuronpedia_id"
        case activationFunction = "activation_fn_str", activationFunctionArguments = "activation_fn_kwargs"
        case contextSize = "context_size", datasetPath = "dataset_path", prependBOS = "prepend_bos"
    }

    enum MetadataKeys: String, CodingKey {
        case hookName = "hook_name", hookLayer = "hook_layer", modelName = "model_name"
        case neuronpediaID = "neuronpedia_id", contextSize = "context_size", datasetPath = "dataset_path"
        case prependBOS = "prepend_bos", hookHeadIndex = "hook_head_index"
        case saeLensVersion = "sae_lens_version", saeLensTrainingVersion = "sae_lens_training_version"
        case modelFromPretrainedKwargs = "model_from_pretrained_kwargs", modelClassName = "model_class_name"
        case exclude = "exclude_special_tokens", seqposSlice = "seqpos_slice"
        case trainingArchitecture = "training_architecture"
    }

    /// `model_from_pretrained_kwargs` that leave the residual stream's values as the plain model computes them.
    /// TransformerLens' `center_writing_weights` (mean-centred residuals) does not, nor do settings semprog does
    /// not know; those are refused by name.
    static let harmlessModelKwargs: Set<String> = ["fold_ln", "center_unembed", "fold_value_biases", "device", "n_devices",
                                                  "dtype", "torch_dtype", "trust_remote_code", "refactor_factored_attn_matrices",
                                                  "default_prepend_bos", "move_to_device"]

    /// Any JSON value (for settings whose type varies).
    struct AnyJSON: Decodable {
        let value: Any?
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { value = nil }
            else if let b = try? c.decode(Bool.self) { value = b }
            else if let d = try? c.decode(Double.self) { value = d }
            else if let s = try? c.decode(String.self) { value = s }
            else if let a = try? c.decode([AnyJSON].self) { value = a.map(\.value) }
            else if let o = try? c.decode([String: AnyJSON].self) { value = o.mapValues(\.value) }
            else { value = nil }
        }
        var isTruthy: Bool {
            switch value {
            case nil: false
            case let b as Bool: b
            case let d as Double: d != 0
            case let s as String: !s.isEmpty
            default: true
            }
        }
    }

    enum ActivationArgumentKeys: String, CodingKey { case k }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let meta = try? c.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        dIn = try c.decode(Int.self, forKey: .dIn)
        dSae = try c.decode(Int.self, forKey: .dSae)
        guard dIn > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .dIn, in: c, debugDescription: "must be positive, got \(dIn)")
        }
        guard dSae > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .dSae, in: c, debugDescription: "must be positive, got \(dSae)")
        }

        // Architecture: `architecture` (both layouts), refined by the pre-6 `activation_fn_str`.
        let architectureName = try c.decodeIfPresent(String.self, forKey: .architecture) ?? "standard"
        let activation = try c.decodeIfPresent(String.self, forKey: .activationFunction)
        declaredArchitecture = activation == "topk" ? "topk" : architectureName
        if activation == "topk" {
            architecture = .topk
        } else if Self.batchTopKArchitectures.contains(architectureName) {
            // Training forms: SAELens saves them for inference as jumprelu with θ = topk_threshold for every latent
            // (`BatchTopKTrainingSAE.process_state_dict_for_saving_inference`); the loader does the same.
            architecture = .jumprelu
        } else if let a = SAEArchitecture(rawValue: architectureName) {
            architecture = a
        } else {
            throw DecodingError.dataCorruptedError(forKey: .architecture, in: c,
                debugDescription: "unknown SAE architecture '\(architectureName)' (supported: standard, jumprelu, topk, gated)")
        }
        if let activation, !["relu", "topk"].contains(activation) {
            throw DecodingError.dataCorruptedError(forKey: .activationFunction, in: c,
                debugDescription: "unsupported activation function '\(activation)' (supported: relu, topk)")
        }
        var k = try c.decodeIfPresent(Int.self, forKey: .k)
        if k == nil, let args = try? c.nestedContainer(keyedBy: ActivationArgumentKeys.self, forKey: .activationFunctionArguments) {
            k = try args.decodeIfPresent(Int.self, forKey: .k)
        }
        if architecture == .topk {
            guard let k else {
                throw DecodingError.keyNotFound(CodingKeys.k, .init(codingPath: c.codingPath,
                    debugDescription: "a topk SAE needs 'k' (or activation_fn_kwargs.k)"))
            }
            guard k > 0, k <= dSae else {
                throw DecodingError.dataCorruptedError(forKey: .k, in: c, debugDescription: "k = \(k) must lie in 1...d_sae (\(dSae))")
            }
            self.k = k
        } else {
            self.k = nil
        }

        applyBDecToInput = try c.decodeIfPresent(Bool.self, forKey: .applyBDecToInput) ?? true
        rescaleActsByDecoderNorm = try c.decodeIfPresent(Bool.self, forKey: .rescaleActsByDecoderNorm) ?? false
        if rescaleActsByDecoderNorm && architecture != .topk {
            throw DecodingError.dataCorruptedError(forKey: .rescaleActsByDecoderNorm, in: c,
                debugDescription: "is only defined for topk SAEs (this one is \(architecture.rawValue))")
        }
        normScalingFactor = try c.decodeIfPresent(Double.self, forKey: .normScalingFactor)
        if let f = normScalingFactor, !(f.isFinite && f > 0) {
            throw DecodingError.dataCorruptedError(forKey: .normScalingFactor, in: c, debugDescription: "must be a positive number, got \(f)")
        }
        dtype = (try? c.decodeIfPresent(String.self, forKey: .dtype)) ?? "float32"
        guard ["float32", "float16", "bfloat16", "float64", "torch.float32", "torch.float16", "torch.bfloat16", "torch.float64"].contains(dtype) else {
            throw DecodingError.dataCorruptedError(forKey: .dtype, in: c, debugDescription: "unknown dtype '\(dtype)'")
        }
        saeLensVersion = (try? meta?.decodeIfPresent(String.self, forKey: .saeLensVersion)) ?? (try? c.decodeIfPresent(String.self, forKey: .saeLensVersion)) ?? nil
        trainingArchitecture = (try? meta?.decodeIfPresent(String.self, forKey: .trainingArchitecture)) ?? nil
        saeLensTrainingVersion = (try? meta?.decodeIfPresent(String.self, forKey: .saeLensTrainingVersion)) ?? (try? c.decodeIfPresent(String.self, forKey: .saeLensTrainingVersion)) ?? nil
        // Settings that change what the SAE reads and that semprog cannot honour: refused by name.
        if let reshape = try? c.decodeIfPresent(String.self, forKey: .reshapeActivations), reshape != "none" {
            throw DecodingError.dataCorruptedError(forKey: .reshapeActivations, in: c,
                debugDescription: "'\(reshape)' (per-head attention activations) is not supported: semprog reads the residual stream")
        }
        if let head = try meta?.decodeIfPresent(AnyJSON.self, forKey: .hookHeadIndex), head.value != nil {
            throw DecodingError.dataCorruptedError(forKey: .hookHeadIndex, in: try c.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata),
                debugDescription: "an attention head index is not supported: semprog reads the whole residual stream")
        }
        if let head = try c.decodeIfPresent(AnyJSON.self, forKey: .hookHeadIndex), head.value != nil {
            throw DecodingError.dataCorruptedError(forKey: .hookHeadIndex, in: c,
                debugDescription: "an attention head index is not supported: semprog reads the whole residual stream")
        }
        let kwargs = try (try meta?.decodeIfPresent([String: AnyJSON].self, forKey: .modelFromPretrainedKwargs))
            ?? c.decodeIfPresent([String: AnyJSON].self, forKey: .modelFromPretrainedKwargs) ?? [:]
        for key in kwargs.keys.sorted() {
            let value = kwargs[key]!
            if key == "center_writing_weights" ? value.isTruthy : !Self.harmlessModelKwargs.contains(key) {
                throw DecodingError.dataCorruptedError(forKey: .modelFromPretrainedKwargs, in: c,
                    debugDescription: "'\(key)' asks for TransformerLens model processing semprog does not do (the SAE was trained on residuals semprog's model does not produce)")
            }
        }
        if let legacy = try? c.decodeIfPresent(Bool.self, forKey: .normalizeActivations) {
            // SAELens < 6 wrote a bool: true meant expected_average_only_in (`handle_pre_6_0_config`).
            normalizeActivations = legacy ? .expectedAverageOnlyIn : .none
        } else if let name = try? c.decodeIfPresent(String.self, forKey: .normalizeActivations) {
            guard let n = ActivationNormalization(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .normalizeActivations, in: c,
                    debugDescription: "unknown value '\(name)' (supported: \(ActivationNormalization.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            normalizeActivations = n
        } else {
            normalizeActivations = .none   // absent, null or a legacy `false`
        }

        // Hook: metadata (≥ 6) or top-level (< 6; `hook_point` in the oldest files).
        let hook = try meta?.decodeIfPresent(String.self, forKey: .hookName)
            ?? c.decodeIfPresent(String.self, forKey: .hookName)
            ?? c.decodeIfPresent(String.self, forKey: .hookPoint)
        guard let hook else {
            throw DecodingError.keyNotFound(CodingKeys.hookName, .init(codingPath: c.codingPath,
                debugDescription: "no hook name (metadata.hook_name, hook_name or hook_point)"))
        }
        hookName = hook
        guard let parsed = Self.residualLayer(ofHook: hook) ?? Self.blockIndex(ofHook: hook) else {
            throw DecodingError.dataCorruptedError(forKey: .hookName, in: c,
                debugDescription: "'\(hook)' is not a hook of a block (blocks.L.hook_resid_post, blocks.L.hook_resid_pre, blocks.L.hook_mlp_out …)")
        }
        layer = parsed
        let statedLayer = try (try? meta?.decodeIfPresent(Int.self, forKey: .hookLayer))
            ?? c.decodeIfPresent(Int.self, forKey: .hookLayer)
            ?? c.decodeIfPresent(Int.self, forKey: .hookPointLayer)
        if let statedLayer, let block = Self.blockIndex(ofHook: hook), statedLayer != block {
            throw DecodingError.dataCorruptedError(forKey: .hookLayer, in: c,
                debugDescription: "hook layer \(statedLayer) disagrees with hook name '\(hook)'")
        }

        neuronpediaID = (try? meta?.decodeIfPresent(String.self, forKey: .neuronpediaID)) ?? (try? c.decodeIfPresent(String.self, forKey: .neuronpediaID)) ?? nil
        modelName = (try? meta?.decodeIfPresent(String.self, forKey: .modelName)) ?? (try? c.decodeIfPresent(String.self, forKey: .modelName)) ?? nil
        contextSize = (try? meta?.decodeIfPresent(Int.self, forKey: .contextSize)) ?? (try? c.decodeIfPresent(Int.self, forKey: .contextSize)) ?? nil
        datasetPath = (try? meta?.decodeIfPresent(String.self, forKey: .datasetPath)) ?? (try? c.decodeIfPresent(String.self, forKey: .datasetPath)) ?? nil
        prependBOS = (try? meta?.decodeIfPresent(Bool.self, forKey: .prependBOS)) ?? (try? c.decodeIfPresent(Bool.self, forKey: .prependBOS)) ?? nil
    }

    /// Writes the SAELens ≥ 6 layout.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture.rawValue, forKey: .architecture)
        try c.encode(dIn, forKey: .dIn)
        try c.encode(dSae, forKey: .dSae)
        if architecture == .topk {
            try c.encode(k, forKey: .k)
            try c.encode(rescaleActsByDecoderNorm, forKey: .rescaleActsByDecoderNorm)
        }
        try c.encode("float32", forKey: .dtype)
        try c.encode("cpu", forKey: .device)
        try c.encode(applyBDecToInput, forKey: .applyBDecToInput)
        try c.encode(normalizeActivations.rawValue, forKey: .normalizeActivations)
        try c.encode("none", forKey: .reshapeActivations)
        // SAELens ≥ 6 reads `metadata` only when `metadata.sae_lens_version` says ≥ 6 (`handle_config_defaulting`
        // in `loading/pretrained_sae_loaders.py`); without it the file is taken for a pre-6 one and the metadata
        // rebuilt from top-level keys. `SAEMetadata` keeps every key it is given.
        var m = c.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        try m.encode(Self.writtenSAELensVersion, forKey: .saeLensVersion)
        try m.encodeNil(forKey: .saeLensTrainingVersion)   // not trained by SAELens
        try m.encode(hookName, forKey: .hookName)
        try m.encode("HookedTransformer", forKey: .modelClassName)
        try m.encode([String: String](), forKey: .modelFromPretrainedKwargs)
        try m.encode(false, forKey: .exclude)
        try m.encodeNil(forKey: .hookHeadIndex)
        try m.encodeIfPresent(modelName, forKey: .modelName)
        try m.encodeIfPresent(neuronpediaID, forKey: .neuronpediaID)
        try m.encodeIfPresent(contextSize, forKey: .contextSize)
        try m.encodeIfPresent(datasetPath, forKey: .datasetPath)
        try m.encode(prependBOS ?? false, forKey: .prependBOS)
    }

    /// Equal when they compute the same thing with the same metadata; provenance (versions, the declared dtype and
    /// architecture name) is not compared, so a configuration equals itself written and read back.
    public static func == (a: SAEConfiguration, b: SAEConfiguration) -> Bool {
        a.architecture == b.architecture && a.dIn == b.dIn && a.dSae == b.dSae && a.k == b.k && a.hookName == b.hookName
            && a.layer == b.layer && a.applyBDecToInput == b.applyBDecToInput && a.normalizeActivations == b.normalizeActivations
            && a.neuronpediaID == b.neuronpediaID && a.modelName == b.modelName && a.contextSize == b.contextSize
            && a.datasetPath == b.datasetPath && a.prependBOS == b.prependBOS
            && a.rescaleActsByDecoderNorm == b.rescaleActsByDecoderNorm && a.normScalingFactor == b.normScalingFactor
    }

    /// The SAELens release whose cfg.json layout semprog writes (and checked by loading with it).
    public static let writtenSAELensVersion = "6.54.12"

    /// The block index named in a hook (`blocks.L.…`), or nil.
    static func blockIndex(ofHook hook: String) -> Int? {
        let parts = hook.split(separator: ".")
        guard parts.count >= 3, parts[0] == "blocks", let l = Int(parts[1]), l >= 0 else { return nil }
        return l
    }

    /// The layer (`ResidualHook.layer`) of a hook semprog's models expose: L for `blocks.L.hook_resid_post` and
    /// `blocks.L.hook_mlp_out`, L − 1 for `blocks.L.hook_resid_pre` (−1 for block 0: the embeddings); nil otherwise.
    public static func residualLayer(ofHook hook: String) -> Int? {
        HookSite.parse(hook)?.layer
    }

    /// Reads and validates `cfg.json`; decoding problems become `SAEError.invalidConfiguration` naming the field.
    public static func load(path: String) throws -> SAEConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SAEError.cannotRead(path: path, reason: error.localizedDescription)
        }
        do {
            return try JSONDecoder().decode(SAEConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw Self.describe(error, path: path)
        } catch {
            throw SAEError.invalidConfiguration(path: path, field: "(file)", reason: error.localizedDescription)
        }
    }

    static func describe(_ error: DecodingError, path: String) -> SAEError {
        func field(_ codingPath: [CodingKey], _ key: CodingKey? = nil) -> String {
            let keys = (codingPath + (key.map { [$0] } ?? [])).map(\.stringValue)
            return keys.isEmpty ? "(file)" : keys.joined(separator: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            return .invalidConfiguration(path: path, field: field(context.codingPath, key),
                                         reason: context.debugDescription.hasPrefix("No value") ? "missing" : "missing: " + context.debugDescription)
        case let .typeMismatch(type, context):
            return .invalidConfiguration(path: path, field: field(context.codingPath), reason: "expected \(type)")
        case let .valueNotFound(type, context):
            return .invalidConfiguration(path: path, field: field(context.codingPath), reason: "expected \(type), found null")
        case let .dataCorrupted(context):
            let f = field(context.codingPath)
            if f == "architecture" || f == "activation_fn_str", context.debugDescription.contains("unknown") || context.debugDescription.contains("unsupported") {
                let value = context.debugDescription.split(separator: "'").dropFirst().first.map(String.init) ?? "?"
                return .unknownArchitecture(path: path, field: f, value: value)
            }
            return .invalidConfiguration(path: path, field: f, reason: context.debugDescription)
        @unknown default:
            return .invalidConfiguration(path: path, field: "(file)", reason: "\(error)")
        }
    }
}
