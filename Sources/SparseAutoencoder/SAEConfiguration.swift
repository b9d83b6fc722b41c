import Foundation

/// The activation function between encoder and decoder.
public enum SAEArchitecture: String, Codable, Sendable, CaseIterable {
    /// a = ReLU(pre).
    case standard
    /// a = ReLU(pre) · 1[pre > θ] with a per-feature threshold θ (Rajamanoharan et al. 2024, "Jumping Ahead").
    case jumprelu
    /// a = ReLU(pre) on the k largest pre-activations of each row, 0 elsewhere (Gao et al. 2024, "Scaling and
    /// evaluating sparse autoencoders").
    case topk
}

/// SAELens' `normalize_activations` setting: how inputs are rescaled before encoding (and outputs after decoding).
public enum ActivationNormalization: String, Codable, Sendable, CaseIterable {
    case none
    /// x ← x · √d_in / ‖x‖₂ per row; the decoder output is divided by the same factor.
    case constantNormRescale = "constant_norm_rescale"
    /// x ← (x − μ) / (σ + 1e−5) per row with σ the unbiased standard deviation; output ← y · σ + μ (SAELens).
    case layerNorm = "layer_norm"
    /// A constant training-time rescaling which SAELens folds into the weights: identity at inference.
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
    /// TransformerLens hook name, `blocks.L.hook_resid_post` or `blocks.L.hook_resid_pre`.
    public var hookName: String
    /// 0-based block index after which the SAE reads the residual stream (`hook_resid_post` of `layer`);
    /// `hook_resid_pre` of block L is `hook_resid_post` of L − 1.
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
    }

    enum CodingKeys: String, CodingKey {
        case architecture, k, metadata, dtype, device
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
        if activation == "topk" {
            architecture = .topk
        } else if let a = SAEArchitecture(rawValue: architectureName) {
            architecture = a
        } else {
            throw DecodingError.dataCorruptedError(forKey: .architecture, in: c,
                debugDescription: "unknown SAE architecture '\(architectureName)' (supported: standard, jumprelu, topk)")
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
        if let name = try? c.decodeIfPresent(String.self, forKey: .normalizeActivations) {
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
        guard let parsed = Self.residualLayer(ofHook: hook) else {
            throw DecodingError.dataCorruptedError(forKey: .hookName, in: c,
                debugDescription: "'\(hook)' is not a residual-stream hook (blocks.L.hook_resid_post or blocks.L.hook_resid_pre with L ≥ 1)")
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
        if architecture == .topk { try c.encode(k, forKey: .k) }
        try c.encode("float32", forKey: .dtype)
        try c.encode("cpu", forKey: .device)
        try c.encode(applyBDecToInput, forKey: .applyBDecToInput)
        try c.encode(normalizeActivations.rawValue, forKey: .normalizeActivations)
        try c.encode("none", forKey: .reshapeActivations)
        var m = c.nestedContainer(keyedBy: MetadataKeys.self, forKey: .metadata)
        try m.encode(hookName, forKey: .hookName)
        try m.encodeNil(forKey: .hookHeadIndex)
        try m.encodeIfPresent(modelName, forKey: .modelName)
        try m.encodeIfPresent(neuronpediaID, forKey: .neuronpediaID)
        try m.encodeIfPresent(contextSize, forKey: .contextSize)
        try m.encodeIfPresent(datasetPath, forKey: .datasetPath)
        try m.encodeIfPresent(prependBOS, forKey: .prependBOS)
    }

    /// The block index named in a hook (`blocks.L.…`), or nil.
    static func blockIndex(ofHook hook: String) -> Int? {
        let parts = hook.split(separator: ".")
        guard parts.count >= 3, parts[0] == "blocks", let l = Int(parts[1]), l >= 0 else { return nil }
        return l
    }

    /// The `hook_resid_post` index a residual hook reads: L for `blocks.L.hook_resid_post`, L − 1 for
    /// `blocks.L.hook_resid_pre` (L ≥ 1); nil for other hooks.
    public static func residualLayer(ofHook hook: String) -> Int? {
        guard let l = blockIndex(ofHook: hook) else { return nil }
        let site = hook.split(separator: ".").dropFirst(2).joined(separator: ".")
        switch site {
        case "hook_resid_post": return l
        case "hook_resid_pre": return l >= 1 ? l - 1 : nil
        default: return nil
        }
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
