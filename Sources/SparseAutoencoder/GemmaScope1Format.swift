import Foundation
import ModelFormats
import Tensor

extension SparseAutoencoder {
    /// What a Gemma Scope folder path says: release (`gemma-scope-2b-pt-res`), site, layer and width.
    struct GemmaScopePath {
        enum Site: String { case residual = "res", mlp = "mlp", attention = "att", transcoder = "transcoders" }
        var release: String?
        var site: Site?
        var layer: Int?
        var embedding = false
        var width: String?
        var modelName: String?

        /// Reads the folder names from the innermost outwards, as the release lays them out
        /// (`…/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71/`, also inside a Hugging Face cache
        /// `models--google--gemma-scope-2b-pt-res/snapshots/<hash>/…`).
        init(directory: String) {
            let parts = URL(fileURLWithPath: directory).standardizedFileURL.pathComponents
            for part in parts.reversed() {
                if layer == nil, part.hasPrefix("layer_"), let l = Int(part.dropFirst(6).prefix { $0.isNumber }) { layer = l }
                if part == "embedding" { embedding = true }
                if width == nil, part.hasPrefix("width_") { width = String(part.dropFirst(6)) }
                if release == nil, let r = part.range(of: "gemma-scope-") {
                    let name = String(part[r.lowerBound...])
                    release = name
                    let fields = name.split(separator: "-").map(String.init)   // gemma scope 2b pt res [canonical]
                    if fields.count >= 5 {
                        site = Site(rawValue: fields[4])
                        modelName = "gemma-2-\(fields[2])" + (fields[3] == "it" ? "-it" : "")
                    }
                }
            }
        }
    }

    /// Reads a Gemma Scope (Gemma 2) SAE: `params.npz` holding `w_enc` [d_in, d_sae], `w_dec` [d_sae, d_in],
    /// `b_enc`, `b_dec`, `threshold` (float32), no configuration. As SAELens' `gemma_2_sae_huggingface_loader`
    /// and `get_gemma_2_config_from_hf` (`loading/pretrained_sae_loaders.py`): JumpReLU, apply_b_dec_to_input
    /// false, no normalisation; the hook from the folder names: `…-res` → `blocks.L.hook_resid_post`,
    /// `…-mlp` → `blocks.L.hook_mlp_out`, `…-att` → `blocks.L.attn.hook_z`, an `embedding` folder → `hook_embed`
    /// (whose W_enc is divided and W_dec multiplied by √d_in, as SAELens does). `hook` overrides the folder names.
    static func readGemmaScope1(directory: String, hook: String?) throws -> SparseAutoencoder {
        let dir = URL(fileURLWithPath: directory)
        let weightsPath = dir.appendingPathComponent("params.npz").path
        let npz: NPZFile
        do { npz = try NPZFile(path: weightsPath) } catch {
            throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription)
        }
        for name in npz.names where !["w_enc", "w_dec", "b_enc", "b_dec", "threshold", "scaling_factor"].contains(name) {
            throw SAEError.unexpectedTensor(path: weightsPath, tensor: name)
        }
        let where_ = GemmaScopePath(directory: directory)
        var adjustments: [String] = []
        let hookName: String, hookField: String
        if let hook {
            hookName = hook; hookField = "--hook"
        } else if where_.embedding, where_.site == .residual {
            hookName = "hook_embed"; hookField = "folder names"
        } else if let site = where_.site, let layer = where_.layer {
            switch site {
            case .residual: hookName = "blocks.\(layer).hook_resid_post"
            case .mlp: hookName = "blocks.\(layer).hook_mlp_out"
            case .attention: hookName = "blocks.\(layer).attn.hook_z"
            case .transcoder:
                throw SAEError.invalidConfiguration(path: weightsPath, field: "folder names",
                    reason: "'\(where_.release ?? "")' is a transcoder release, not an SAE; semprog does not run transcoders")
            }
            hookField = "folder names"
        } else {
            throw SAEError.invalidConfiguration(path: weightsPath, field: "hook",
                reason: "the folder names give no Gemma Scope release (gemma-scope-…-res or …-mlp) and layer_L; give the hook with --hook")
        }
        guard let encoder = try? npz.array("w_enc"), encoder.shape.count == 2 else {
            if npz.names.contains("w_enc") {
                throw SAEError.shapeMismatch(path: weightsPath, tensor: "w_enc", expected: [-1, -1], found: (try? npz.array("w_enc").shape) ?? [])
            }
            throw SAEError.missingTensor(path: weightsPath, tensor: "w_enc")
        }
        let d = encoder.shape[0], m = encoder.shape[1]
        guard d > 0, m > 0 else { throw SAEError.shapeMismatch(path: weightsPath, tensor: "w_enc", expected: [-1, -1], found: encoder.shape) }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard npz.names.contains(name) else { throw SAEError.missingTensor(path: weightsPath, tensor: name) }
            do { return try npz.floats(name, shape: shape) }
            catch let ModelFormatError.shapeMismatch(_, _, expected, found) {
                throw SAEError.shapeMismatch(path: weightsPath, tensor: name, expected: expected, found: found)
            } catch ModelFormatError.nonFinite {
                throw SAEError.nonFinite(path: weightsPath, tensor: name)
            } catch { throw SAEError.cannotRead(path: weightsPath, reason: error.localizedDescription) }
        }
        var wEnc = try tensor("w_enc", [d, m])
        var wDec = try tensor("w_dec", [m, d])
        let bEnc = try tensor("b_enc", [m])
        let bDec = try tensor("b_dec", [d])
        let threshold = try tensor("threshold", [m])
        if npz.names.contains("scaling_factor") {
            let s = try tensor("scaling_factor", [m])
            guard s.allSatisfy({ abs($0 - 1) <= 1e-5 }) else {
                throw SAEError.unexpectedTensor(path: weightsPath, tensor: "scaling_factor (not all ones; SAELens refuses it for Gemma Scope)")
            }
        }
        if hookName == "hook_embed" {
            let root = Float(d).squareRoot()
            for i in 0..<wEnc.count { wEnc[i] /= root }
            for i in 0..<wDec.count { wDec[i] *= root }
            adjustments.append("embedding SAE: W_enc / √d_in and W_dec · √d_in, as SAELens")
        }
        if hook != nil { adjustments.append("hook given by --hook") }
        var configuration = SAEConfiguration(architecture: .jumprelu, dIn: d, dSae: m, layer: 0, applyBDecToInput: false,
                                             normalizeActivations: .none, modelName: where_.modelName, contextSize: 1024,
                                             datasetPath: "monology/pile-uncopyrighted", prependBOS: true)
        configuration = configuration.with(hook: hookName)
        let source = SAESource(format: .gemmaScope1, configPath: nil, weightsPath: weightsPath, release: where_.release,
                               hookField: hookField, tensorNames: .gemmaScope,
                               storedDType: Set(npz.names.compactMap { try? npz.array($0).descr }).sorted().joined(separator: ", "),
                               adjustments: adjustments)
        return try SparseAutoencoder(
            configuration: configuration, encoderWeights: Matrix(rows: d, cols: m, values: wEnc), encoderBias: bEnc,
            decoderWeights: Matrix(rows: m, cols: d, values: wDec), decoderBias: bDec, threshold: threshold,
            log10Density: nil, directory: directory, source: source)
    }
}
