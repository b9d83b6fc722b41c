import Foundation
import ModelFormats
import Tensor

/// EleutherAI sparsify's `cfg.json`: its `SparseCoderConfig` (`sparsify/config.py`) plus `d_in`, with the file's keys.
public struct SparsifyConfiguration: Codable, Sendable, Equatable {
    public var dIn: Int
    public var k: Int
    public var numLatents: Int?
    public var expansionFactor: Int?
    public var normalizeDecoder: Bool?
    /// "topk" or "groupmax".
    public var activation: String?
    public var multiTopK: Bool?
    public var skipConnection: Bool?
    public var transcode: Bool?
    public var signed: Bool?

    enum CodingKeys: String, CodingKey {
        case k, activation, transcode, signed
        case dIn = "d_in", numLatents = "num_latents", expansionFactor = "expansion_factor"
        case normalizeDecoder = "normalize_decoder", multiTopK = "multi_topk", skipConnection = "skip_connection"
    }

    /// num_latents, or d_in × expansion_factor when num_latents is 0 or absent (`SparseCoder.__init__`).
    public var dSae: Int? {
        if let n = numLatents, n > 0 { return n }
        return expansionFactor.map { $0 * dIn }
    }
}

extension SparseAutoencoder {
    /// Reads an EleutherAI sparsify SAE: `cfg.json` and `sae.safetensors` holding `encoder.weight` [d_sae, d_in],
    /// `encoder.bias` [d_sae], `W_dec` [d_sae, d_in] and `b_dec` [d_in] (usually bfloat16). sparsify computes
    /// (`SparseCoder.encode`/`decode` and `fused_encoder` in `sparsify/sparse_coder.py`, `fused_encoder.py`)
    ///
    ///     a = TopK_k(ReLU((x − b_dec) · encoder.weightᵀ + encoder.bias)),   x̂ = a · W_dec + b_dec
    ///
    /// which is semprog's TopK SAE with W_enc = encoder.weightᵀ and apply_b_dec_to_input true (ReLU before or after
    /// the selection keeps the same non-zero set). semprog follows sparsify here, not SAELens: SAELens 6.54.12's
    /// `sparsify_disk_loader` sets apply_b_dec_to_input = not normalize_decoder (dropping the b_dec subtraction
    /// sparsify always makes outside transcoders) and transposes W_dec, so that `SAE.load_from_disk` fails with a
    /// W_dec size mismatch on a folder as sparsify writes it (checked on a d_in 6, d_sae 10 folder). Refused by name: `activation: groupmax`, `transcode`,
    /// `skip_connection` (`W_skip`), `signed`. The hook comes from the folder name: `layers.L` →
    /// `blocks.L.hook_resid_post`, `layers.L.mlp` → `blocks.L.hook_mlp_out`, `layers.L.self_attn` →
    /// `blocks.L.hook_attn_out`, `embed_tokens` → `hook_embed`; `hook` overrides it.
    static func readSparsify(directory: String, hook: String?) throws -> SparseAutoencoder {
        let dir = URL(fileURLWithPath: directory)
        let configPath = dir.appendingPathComponent("cfg.json").path
        let weightsPath = dir.appendingPathComponent("sae.safetensors").path
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: configPath)) } catch {
            throw SAEError.cannotRead(path: configPath, reason: error.localizedDescription)
        }
        let config: SparsifyConfiguration
        do { config = try JSONDecoder().decode(SparsifyConfiguration.self, from: data) }
        catch let error as DecodingError { throw SAEConfiguration.describe(error, path: configPath) }
        catch { throw SAEError.invalidConfiguration(path: configPath, field: "(file)", reason: error.localizedDescription) }
        guard config.dIn > 0 else { throw SAEError.invalidConfiguration(path: configPath, field: "d_in", reason: "must be positive, got \(config.dIn)") }
        guard let m = config.dSae, m > 0 else {
            throw SAEError.invalidConfiguration(path: configPath, field: "num_latents", reason: "neither num_latents nor expansion_factor gives a positive latent count")
        }
        guard config.k > 0, config.k <= m else {
            throw SAEError.invalidConfiguration(path: configPath, field: "k", reason: "k = \(config.k) must lie in 1...\(m)")
        }
        if let a = config.activation, a != "topk" { throw SAEError.unknownArchitecture(path: configPath, field: "activation", value: a) }
        if config.transcode == true {
            throw SAEError.invalidConfiguration(path: configPath, field: "transcode", reason: "true: a transcoder, which semprog does not run")
        }
        if config.skipConnection == true {
            throw SAEError.invalidConfiguration(path: configPath, field: "skip_connection", reason: "true: the W_skip path is not supported")
        }
        if config.signed == true {
            throw SAEError.invalidConfiguration(path: configPath, field: "signed", reason: "true: signed activations are not supported")
        }
        let d = config.dIn
        let hookName: String, hookField: String
        if let hook {
            hookName = hook; hookField = "--hook"
        } else {
            let folder = dir.standardizedFileURL.lastPathComponent
            let parts = folder.split(separator: ".").map(String.init)
            if folder == "embed_tokens" {
                hookName = "hook_embed"
            } else if parts.count >= 2, parts[0] == "layers", let l = Int(parts[1]) {
                switch parts.dropFirst(2).joined(separator: ".") {
                case "": hookName = "blocks.\(l).hook_resid_post"
                case "mlp": hookName = "blocks.\(l).hook_mlp_out"
                case "self_attn": hookName = "blocks.\(l).hook_attn_out"
                default:
                    throw SAEError.invalidConfiguration(path: configPath, field: "hook",
                        reason: "the folder name '\(folder)' names no module semprog knows (layers.L, layers.L.mlp, layers.L.self_attn); give the hook with --hook")
                }
            } else {
                throw SAEError.invalidConfiguration(path: configPath, field: "hook",
                    reason: "the folder name '\(folder)' is not a sparsify hookpoint (layers.L); give the hook with --hook")
            }
            hookField = "folder name"
        }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: weightsPath) } catch {
            throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription)
        }
        for name in file.tensorNames where !["encoder.weight", "encoder.bias", "W_dec", "b_dec"].contains(name) {
            throw SAEError.unexpectedTensor(path: weightsPath, tensor: name)
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let info = file.tensors[name] else { throw SAEError.missingTensor(path: weightsPath, tensor: name) }
            guard info.shape == shape else { throw SAEError.shapeMismatch(path: weightsPath, tensor: name, expected: shape, found: info.shape) }
            do { return try file.floats(name, shape: shape) } catch ModelFormatError.nonFinite {
                throw SAEError.nonFinite(path: weightsPath, tensor: name)
            } catch { throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription) }
        }
        let encoder = try tensor("encoder.weight", [m, d])
        let bEnc = try tensor("encoder.bias", [m])
        let wDec = try tensor("W_dec", [m, d])
        let bDec = try tensor("b_dec", [d])
        var wEnc = [Float](repeating: 0, count: d * m)
        for i in 0..<m { for j in 0..<d { wEnc[j * m + i] = encoder[i * d + j] } }
        var configuration = SAEConfiguration(architecture: .topk, dIn: d, dSae: m, k: config.k, layer: 0, applyBDecToInput: true,
                                             normalizeActivations: .none, prependBOS: true)
        configuration = configuration.with(hook: hookName)
        var names = SAESource.TensorNames()
        names.encoderWeights = "encoder.weight"; names.encoderBias = "encoder.bias"
        let source = SAESource(format: .sparsify, configPath: configPath, weightsPath: weightsPath, hookField: hookField,
                               tensorNames: names,
                               storedDType: Set(file.tensors.values.map(\.dtype.rawValue)).sorted().joined(separator: ", "),
                               adjustments: ["W_enc = encoder.weightᵀ"] + (hook != nil ? ["hook given by --hook"] : []))
        return try SparseAutoencoder(
            configuration: configuration, encoderWeights: Matrix(rows: d, cols: m, values: wEnc), encoderBias: bEnc,
            decoderWeights: Matrix(rows: m, cols: d, values: wDec), decoderBias: bDec,
            log10Density: nil, directory: directory, source: source)
    }
}
