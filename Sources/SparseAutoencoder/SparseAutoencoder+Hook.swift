import LanguageModel
import Tensor

extension SparseAutoencoder {
    /// The SAE's inputs in `model`: the activations at its hook point (`configuration.modelHook`:
    /// `blocks.L.hook_resid_post`, `blocks.L.hook_resid_pre` including block 0's embeddings, or
    /// `blocks.L.hook_mlp_out`) for every position of each text, one tokens.count × d_in matrix per text.
    /// Call `check(modelWidth:layerCount:)` first; a hook the models do not expose is refused by name.
    public func hookActivations(model: LlamaModel, batch: [[Int]]) throws -> [Matrix] {
        guard let hook = configuration.modelHook else {
            let path = source?.configPath ?? source?.weightsPath ?? directory ?? "<memory>"
            throw SAEError.modelMismatch(path: path, field: source?.hookField ?? "hook_name",
                                         reason: "the model has no hook '\(configuration.hookName)'")
        }
        return try model.activations(batch: batch, site: hook.site, layer: hook.layer)
    }
}
