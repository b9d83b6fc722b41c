import Foundation
import ModelFormats
import Tensor

/// Gemma Scope 2's optional `config.json`, with the file's own keys.
public struct GemmaScope2Configuration: Codable, Sendable, Equatable {
    public var architecture: String?
    public var modelName: String?
    /// The Hugging Face module whose output the SAE reads, e.g. `model.layers.6.output`.
    public var hfHookPointIn: String?
    /// The module it reconstructs; differs from the input for transcoders.
    public var hfHookPointOut: String?
    public var width: Int?
    public var l0: String?
    /// A skip connection (transcoders): not an SAE semprog runs.
    public var affineConnection: Bool?

    enum CodingKeys: String, CodingKey {
        case architecture, width, l0
        case modelName = "model_name", hfHookPointIn = "hf_hook_point_in", hfHookPointOut = "hf_hook_point_out"
        case affineConnection = "affine_connection"
    }

    /// The TransformerLens-style hook semprog uses for a Hugging Face module name (Gemma 3 / llama layouts):
    /// `model.layers.L.output` → `blocks.L.hook_resid_post`, `model.layers.L.input` → `blocks.L.hook_resid_pre`,
    /// `….mlp.output` / `….post_feedforward_layernorm.output` → `blocks.L.hook_mlp_out`,
    /// `….self_attn.output` / `….post_attention_layernorm.output` → `blocks.L.hook_attn_out`,
    /// `….self_attn.o_proj.input` → `blocks.L.attn.hook_z`, `model.embed_tokens.output` → `hook_embed`.
    /// A `model.language_model.` prefix (multimodal checkpoints) is accepted. Nil for other names.
    public static func semprogHook(huggingFace name: String) -> String? {
        var n = name
        for prefix in ["model.language_model.", "language_model.model.", "language_model.", "model."] where n.hasPrefix(prefix) {
            n = String(n.dropFirst(prefix.count)); break
        }
        if n == "embed_tokens.output" { return "hook_embed" }
        let parts = n.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "layers", let l = Int(parts[1]), l >= 0 else { return nil }
        switch parts.dropFirst(2).joined(separator: ".") {
        case "output": return "blocks.\(l).hook_resid_post"
        case "input": return "blocks.\(l).hook_resid_pre"
        case "mlp.output", "post_feedforward_layernorm.output": return "blocks.\(l).hook_mlp_out"
        case "self_attn.output", "post_attention_layernorm.output": return "blocks.\(l).hook_attn_out"
        case "self_attn.o_proj.input": return "blocks.\(l).attn.hook_z"
        default: return nil
        }
    }
}

extension SparseAutoencoder {
    /// Reads a Gemma Scope 2 (Gemma 3) SAE: `params.safetensors` with the lower-case names of Gemma Scope
    /// (`w_enc` [d_in, d_sae], `w_dec` [d_sae, d_in], `b_enc`, `b_dec`, `threshold`) and an optional `config.json`
    /// (`architecture: jump_relu`, `hf_hook_point_in`, …). JumpReLU without b_dec subtraction or normalisation, as
    /// Gemma Scope 1. The hook comes from `hf_hook_point_in` (see `GemmaScope2Configuration.semprogHook`), else
    /// from the folder names (`resid_post/layer_12_width_16k_l0_medium` → `blocks.12.hook_resid_post`, `mlp_out/…` →
    /// `hook_mlp_out`, `attn_out/…` → `attn.hook_z`, as SAELens' `get_gemma_3_config_from_hf`); the two must agree
    /// when both are there. `hook` overrides both.
    static func readGemmaScope2(directory: String, hook: String?) throws -> SparseAutoencoder {
        let dir = URL(fileURLWithPath: directory)
        let weightsPath = dir.appendingPathComponent("params.safetensors").path
        let configPath = dir.appendingPathComponent("config.json").path
        var config: GemmaScope2Configuration? = nil
        var uninterpreted: [String] = []
        if FileManager.default.fileExists(atPath: configPath) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: configPath)) } catch {
                throw SAEError.cannotRead(path: configPath, reason: error.localizedDescription)
            }
            do { config = try JSONDecoder().decode(GemmaScope2Configuration.self, from: data) }
            catch let error as DecodingError { throw SAEConfiguration.describe(error, path: configPath) }
            catch { throw SAEError.invalidConfiguration(path: configPath, field: "(file)", reason: error.localizedDescription) }
            let keys = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?.keys.map { $0 } ?? []
            let known = Set(["architecture", "model_name", "hf_hook_point_in", "hf_hook_point_out", "width", "l0", "affine_connection"])
            uninterpreted = keys.filter { !known.contains($0) }.sorted()
        }
        if let a = config?.architecture, a != "jump_relu" && a != "jumprelu" {
            throw SAEError.unknownArchitecture(path: configPath, field: "architecture", value: a)
        }
        if config?.affineConnection == true {
            throw SAEError.invalidConfiguration(path: configPath, field: "affine_connection",
                reason: "true: a transcoder's skip connection; semprog runs SAEs only")
        }
        if let input = config?.hfHookPointIn, let output = config?.hfHookPointOut, input != output {
            throw SAEError.invalidConfiguration(path: configPath, field: "hf_hook_point_out",
                reason: "'\(output)' differs from hf_hook_point_in '\(input)': a transcoder, which semprog does not run")
        }
        // The folder names (SAELens' `get_gemma_3_config_from_hf` takes the hook from them) and hf_hook_point_in
        // must agree when both say something.
        let parts = dir.standardizedFileURL.pathComponents
        let leaf = parts.last ?? "", site = parts.count >= 2 ? parts[parts.count - 2] : ""
        let folderLayer = leaf.hasPrefix("layer_") ? Int(leaf.dropFirst(6).prefix { $0.isNumber }) : nil
        let sites = ["resid_post": "hook_resid_post", "mlp_out": "hook_mlp_out", "attn_out": "attn.hook_z"]
        let folderHook = folderLayer.flatMap { l in sites[site].map { "blocks.\(l).\($0)" } }
        var configHook: String? = nil
        if let input = config?.hfHookPointIn {
            guard let mapped = GemmaScope2Configuration.semprogHook(huggingFace: input) else {
                throw SAEError.invalidConfiguration(path: configPath, field: "hf_hook_point_in",
                    reason: "'\(input)' is not a module semprog knows (model.layers.L.output, model.layers.L.mlp.output, …)")
            }
            configHook = mapped
        }
        let hookName: String, hookField: String
        if let hook {
            hookName = hook; hookField = "--hook"
        } else if let configHook {
            if let folderHook, folderHook != configHook {
                throw SAEError.invalidConfiguration(path: configPath, field: "hf_hook_point_in",
                    reason: "'\(config?.hfHookPointIn ?? "")' (\(configHook)) disagrees with the folder names \(site)/\(leaf) (\(folderHook)); give the hook with --hook")
            }
            hookName = configHook; hookField = "hf_hook_point_in"
        } else if let folderHook {
            hookName = folderHook; hookField = "folder names"
        } else {
            throw SAEError.invalidConfiguration(path: weightsPath, field: "hook",
                reason: "no config.json with hf_hook_point_in, and the folder names (\(site)/\(leaf)) give no site and layer; give the hook with --hook")
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: weightsPath) } catch {
            throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription)
        }
        for name in file.tensorNames where !["w_enc", "w_dec", "b_enc", "b_dec", "threshold"].contains(name) {
            throw SAEError.unexpectedTensor(path: weightsPath, tensor: name)
        }
        guard let encoder = file.tensors["w_enc"] else { throw SAEError.missingTensor(path: weightsPath, tensor: "w_enc") }
        guard encoder.shape.count == 2, encoder.shape[0] > 0, encoder.shape[1] > 0 else {
            throw SAEError.shapeMismatch(path: weightsPath, tensor: "w_enc", expected: [-1, -1], found: encoder.shape)
        }
        let d = encoder.shape[0], m = encoder.shape[1]
        if let width = config?.width, width != m {
            throw SAEError.shapeMismatch(path: weightsPath, tensor: "w_enc", expected: [d, width], found: encoder.shape)
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let info = file.tensors[name] else { throw SAEError.missingTensor(path: weightsPath, tensor: name) }
            guard info.shape == shape else { throw SAEError.shapeMismatch(path: weightsPath, tensor: name, expected: shape, found: info.shape) }
            do { return try file.floats(name, shape: shape) } catch ModelFormatError.nonFinite {
                throw SAEError.nonFinite(path: weightsPath, tensor: name)
            } catch { throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription) }
        }
        let wEnc = try tensor("w_enc", [d, m]), wDec = try tensor("w_dec", [m, d])
        let bEnc = try tensor("b_enc", [m]), bDec = try tensor("b_dec", [d]), threshold = try tensor("threshold", [m])
        let release = dir.standardizedFileURL.pathComponents.reversed().first { $0.contains("gemma-scope-2") }
            .map { name in String(name[name.range(of: "gemma-scope-2")!.lowerBound...]) }
        var modelName = config?.modelName
        if modelName == nil, let release {
            let f = release.split(separator: "-").map(String.init)   // gemma scope 2 270m pt …
            if f.count >= 5 { modelName = "google/gemma-3-\(f[3])" + (f[4] == "it" ? "-it" : "") }
        }
        var adjustments: [String] = []
        if hook != nil { adjustments.append("hook given by --hook") }
        if !uninterpreted.isEmpty { adjustments.append("config.json keys not interpreted: \(uninterpreted.joined(separator: ", "))") }
        var configuration = SAEConfiguration(architecture: .jumprelu, dIn: d, dSae: m, layer: 0, applyBDecToInput: false,
                                             normalizeActivations: .none, modelName: modelName, prependBOS: true)
        configuration = configuration.with(hook: hookName)
        let source = SAESource(format: .gemmaScope2, configPath: config == nil ? nil : configPath, weightsPath: weightsPath,
                               release: release, hookField: hookField, tensorNames: .gemmaScope,
                               storedDType: Set(file.tensors.values.map(\.dtype.rawValue)).sorted().joined(separator: ", "),
                               adjustments: adjustments)
        return try SparseAutoencoder(
            configuration: configuration, encoderWeights: Matrix(rows: d, cols: m, values: wEnc), encoderBias: bEnc,
            decoderWeights: Matrix(rows: m, cols: d, values: wDec), decoderBias: bDec, threshold: threshold,
            log10Density: nil, directory: directory, source: source)
    }
}
