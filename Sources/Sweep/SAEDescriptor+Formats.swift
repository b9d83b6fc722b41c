import Foundation
import SparseAutoencoder
import Store

extension SAEDescriptor {
    /// What `neuronpedia import|fetch` needs to know of an SAE folder of any release format semprog reads.
    ///
    /// SAELens folders (v6 and pre-6) are described from `cfg.json` alone (`SAEDescriptor.read(saePath:)`, which also
    /// gives `neuronpedia_id`); a `cfg.json` file path is accepted as before. Gemma Scope 1 (`params.npz`, no
    /// config), Gemma Scope 2 (`params.safetensors`) and sparsify folders are read with their own loader, which
    /// gives d_sae, d_in, hook and architecture; they carry no Neuronpedia id, so the id comes from the records
    /// (see `StoreDatabase.importNeuronpedia`).
    public static func read(anySAEFolder path: String) throws -> SAEDescriptor {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return try read(saePath: path)
        }
        let folder = URL(fileURLWithPath: path)
        let fm = FileManager.default
        // A SAELens cfg.json says all that is needed (even without the weights beside it); sparsify's cfg.json
        // has no d_sae, so its folder (cfg.json + sae.safetensors) is read by its loader, as are folders without one.
        if fm.fileExists(atPath: folder.appendingPathComponent("cfg.json").path),
           !fm.fileExists(atPath: folder.appendingPathComponent("sae.safetensors").path) {
            return try read(saePath: path)
        }
        let sae = try SparseAutoencoder.read(directory: path)
        let c = sae.configuration
        return SAEDescriptor(path: folder.standardizedFileURL.path, dSAE: c.dSae, dIn: c.dIn, hook: c.hookName,
                             architecture: c.architecture.rawValue, neuronpediaId: nil)
    }
}
