import Foundation

extension LlamaModel {
    /// Logits of the next token after each sequence of `batch`, in one forward pass (every row of every sequence
    /// in one step, so keep batches modest: rows = Σ lengths). `hook` sees the rows with `sequence` = the index
    /// in `batch`. Returns one vocabularySize vector per sequence.
    public func nextTokenLogits(batch: [[Int]], hook: ResidualHook? = nil) throws -> [[Float]] {
        guard !batch.isEmpty else { return [] }
        if let hook { try validate(hook: hook) }
        for (i, t) in batch.enumerated() {
            try validate(tokens: t, argument: "batch[\(i)]")
            guard t.count <= ropeTableLength else { throw LanguageModelError.contextTooLong(tokens: t.count, contextLength: ropeTableLength) }
        }
        let caches = batch.map { KVCache(configuration: configuration, capacity: $0.count) }
        var rows: [StepRow] = []
        var last: [Int] = []
        for (s, t) in batch.enumerated() {
            for (pos, id) in t.enumerated() { rows.append(StepRow(sequence: s, position: pos, token: id, isPrompt: true)) }
            last.append(rows.count - 1)
        }
        let logits = forward(rows: rows, caches: caches, hook: hook, captureLayer: nil, logitRows: last).logits
        let v = configuration.vocabularySize
        return batch.indices.map { Array(logits[($0 * v)..<(($0 + 1) * v)]) }
    }

    /// The logit lens of residual-stream directions: U · RMSNorm(v) for each row v, the final RMSNorm with the
    /// model's own weight followed by the unembedding U (the token embedding when tied), as Arad et al. (2025)
    /// read SAE decoder rows (`cache_logit_lens`: `lm_head(final_layer_norm(W_dec))`). One batched product; one
    /// vocabularySize vector per row.
    public func logitLens(rows: [[Float]]) -> [[Float]] {
        let d = configuration.dModel
        guard !rows.isEmpty else { return [] }
        var flat = [Float](repeating: 0, count: rows.count * d)
        for (r, v) in rows.enumerated() {
            precondition(v.count == d, "logitLens: \(v.count) values for d_model \(d)")
            flat.replaceSubrange((r * d)..<((r + 1) * d), with: v)
        }
        var normed = [Float](repeating: 0, count: flat.count)
        flat.withUnsafeBufferPointer { x in
            normed.withUnsafeMutableBufferPointer { y in rmsNorm(x.baseAddress!, rows: rows.count, weight: weights.outputNorm, into: y.baseAddress!) }
        }
        let u = weights.output ?? weights.tokenEmbedding
        var out = [Float](repeating: 0, count: rows.count * u.rows)
        normed.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in u.multiply(x.baseAddress!, count: rows.count, into: y.baseAddress!, threads: threads) }
        }
        return (0..<rows.count).map { Array(out[($0 * u.rows)..<(($0 + 1) * u.rows)]) }
    }
}
