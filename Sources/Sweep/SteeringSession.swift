import Foundation
import LanguageModel
import ModelFormats
import SparseAutoencoder
import Store
import Tensor

/// A language model and an SAE loaded together and checked against each other: the SAE's d_in must equal the
/// model's width and its hook layer must exist in the model. Identified by the SHA-256 of their files.
public final class SteeringSession {
    public let model: LlamaModel
    public let sae: SparseAutoencoder
    public let modelPath: String
    public let saePath: String
    public let modelSHA256: String
    public let saeSHA256: String

    public init(model: LlamaModel, sae: SparseAutoencoder, modelPath: String, saePath: String) throws {
        let width = model.configuration.dModel
        guard sae.configuration.dIn == width else {
            throw SteeringSessionError.widthMismatch(sae: saePath, dIn: sae.configuration.dIn, model: modelPath, dModel: width)
        }
        // Layer −1 (resid_post before block 0) is blocks.0.hook_resid_pre, the embeddings; mlp_out needs a block.
        let lowest = sae.configuration.modelHook?.site == .mlpOut ? 0 : -1
        guard sae.configuration.isSteerableHook, sae.configuration.layer >= lowest,
              sae.configuration.layer < model.configuration.layerCount else {
            throw SteeringSessionError.layerOutOfRange(sae: saePath, hook: sae.configuration.hookName,
                                                       layers: model.configuration.layerCount)
        }
        self.model = model
        self.sae = sae
        // Absolute, standardized paths: the store identifies SAEs by path (as the Neuronpedia importer does).
        self.modelPath = URL(fileURLWithPath: modelPath).standardizedFileURL.path
        self.saePath = URL(fileURLWithPath: saePath).standardizedFileURL.path
        self.modelSHA256 = try SHA256Digest.hex(ofFile: modelPath)
        // The weights file of whichever format the SAE came in (sae_weights.safetensors, params.npz, …).
        self.saeSHA256 = try SHA256Digest.hex(ofFile: sae.source?.weightsPath ?? saePath + "/sae_weights.safetensors")
    }

    /// Loads both; `hook` replaces the hook the SAE's files give or imply (`--hook`).
    public static func load(modelPath: String, saePath: String, hook: String? = nil) throws -> SteeringSession {
        let model = try LlamaModel.load(path: modelPath)
        let sae = try SparseAutoencoder.load(directory: saePath, hook: hook)
        return try SteeringSession(model: model, sae: sae, modelPath: modelPath, saePath: saePath)
    }

    /// The `count` features with the largest summed activation over the prompts' tokens (position 0 excluded:
    /// its residual norm is ~100× the others), ties broken by index.
    public func mostActiveFeatures(on prompts: [String], count: Int, chat: Bool) throws -> [Int] {
        let batch = try prompts.map { chat ? try model.tokenizer.chatPromptIDs(user: $0) : model.tokenizer.promptIDs($0) }
        var totals = [Double](repeating: 0, count: sae.configuration.dSae)
        for residuals in try sae.hookActivations(model: model, batch: batch) where residuals.rows > 1 {
            let rest = Matrix(rows: residuals.rows - 1, cols: residuals.cols, values: Array(residuals.values[residuals.cols...]))
            let a = sae.encode(rest)
            for r in 0..<a.rows { for f in 0..<a.cols { totals[f] += Double(a[r, f]) } }
        }
        return totals.indices.sorted { totals[$0] != totals[$1] ? totals[$0] > totals[$1] : $0 < $1 }.prefix(count).map { $0 }
    }

    /// Max activations of `features` from the database's feature statistics for this SAE (by content hash).
    public func maxActivations(store: StoreDatabase, features: [Int], required: Bool) throws -> [Int: Float] {
        let stored = try store.featureStatistics(saePath: saePath, sha256: saeSHA256)
        var out: [Int: Float] = [:]
        for f in features {
            if let m = stored[f]?.maxActivation, m > 0 { out[f] = Float(m) }
            else if required { throw SteeringSessionError.noStatistics(sae: saePath, feature: f) }
        }
        return out
    }
}

public enum SteeringSessionError: Error, LocalizedError {
    case widthMismatch(sae: String, dIn: Int, model: String, dModel: Int)
    case layerOutOfRange(sae: String, hook: String, layers: Int)
    case noStatistics(sae: String, feature: Int)

    public var errorDescription: String? {
        switch self {
        case let .widthMismatch(sae, dIn, model, dModel):
            "\(sae)/cfg.json: d_in is \(dIn) but \(model) has width \(dModel)"
        case let .layerOutOfRange(sae, hook, layers):
            "\(sae)/cfg.json: hook '\(hook)' names a block the model does not have (it has \(layers) blocks)"
        case let .noStatistics(sae, feature):
            "feature \(feature) of \(sae) has no max activation in the database: run 'semprog explain --db … --sae \(sae)' first, or use --units absolute"
        }
    }
}
