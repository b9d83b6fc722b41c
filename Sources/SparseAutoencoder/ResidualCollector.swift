import Foundation
import LanguageModel
import Tensor

/// Residual-stream activations of a language model over token contexts.
public enum ResidualCollector {
    /// The residual stream after block `layer` (or, with `site`, the activations at that hook: `.mlpOut` of block
    /// `layer`, layer −1 for `blocks.0.hook_resid_pre`; `LlamaModel.activations`) for every context, position 0
    /// skipped (its norm is ~100× the others), stacked into one matrix (Σ (count − 1) rows × d_model). Contexts run
    /// `batch` at a time; `progress(scoredTokensDone, scoredTokensTotal)` is called after each batch.
    public static func collect(model: LlamaModel, site: HookSite = .residPost, layer: Int, contexts: [[Int]], batch: Int = 8,
                               progress: ((Int, Int) -> Void)? = nil) throws -> Matrix {
        let d = model.configuration.dModel
        let total = contexts.reduce(0) { $0 + max($1.count - 1, 0) }
        var values = [Float]()
        values.reserveCapacity(total * d)
        var start = 0, done = 0
        while start < contexts.count {
            let group = Array(contexts[start..<min(contexts.count, start + max(1, batch))])
            let streams = try model.activations(batch: group, site: site, layer: layer)
            for m in streams where m.rows > 1 {
                values.append(contentsOf: m.values[d...])
                done += m.rows - 1
            }
            progress?(done, total)
            start += group.count
        }
        return Matrix(rows: values.count / d, cols: d, values: values)
    }
}
