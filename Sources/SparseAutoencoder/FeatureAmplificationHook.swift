import LanguageModel
import Tensor

/// The intervention of the output score (Arad, Mueller & Belinkov 2025, `AmlifySAEHook` in
/// technion-cs-nlp/saes-are-good-for-steering `src/sae_utils.py`): at the last prompt position of sequence s, feature
/// fₛ's activation is raised by `factor` × the largest activation of any feature at that position,
///
///     a′_f = a_f + factor · maxⱼ aⱼ,
///
/// decoded with the SAE's reconstruction error kept (the error-preserving edit of `SparseAutoencoder.apply`, method
/// `add`). Other positions are untouched. One sequence per feature to score; `lastPosition[s]` is the index of its
/// last prompt token.
public final class FeatureAmplificationHook: ResidualHook {
    public let sae: SparseAutoencoder
    public let features: [Int]
    public let lastPosition: [Int]
    public let factor: Float
    public var layer: Int { sae.configuration.layer }
    /// The SAE's hook point (resid_post, or the MLP output for `hook_mlp_out` SAEs).
    public var site: HookSite { sae.configuration.modelHook?.site ?? .residPost }
    /// The added activation factor · maxⱼ aⱼ of each sequence (filled when the hook has run).
    public private(set) var added: [Float]

    public init(sae: SparseAutoencoder, features: [Int], lastPosition: [Int], factor: Float) throws {
        precondition(features.count == lastPosition.count, "one last position per feature")
        for f in features { try sae.checkFeature(f) }
        self.sae = sae
        self.features = features
        self.lastPosition = lastPosition
        self.factor = factor
        self.added = [Float](repeating: 0, count: features.count)
    }

    public func apply(_ rows: ResidualRows) {
        let d = rows.dModel
        precondition(d == sae.configuration.dIn, "FeatureAmplificationHook: residual width \(d) ≠ SAE d_in \(sae.configuration.dIn)")
        var members: [Int] = []
        for r in 0..<rows.count {
            let s = rows.sequence[r]
            guard s >= 0, s < features.count, rows.isPrompt[r], rows.position[r] == lastPosition[s] else { continue }
            members.append(r)
        }
        guard !members.isEmpty else { return }
        var x = Matrix(zeros: members.count, d)
        for (i, r) in members.enumerated() {
            let row = rows.row(r)
            for j in 0..<d { x.values[i * d + j] = row[j] }
        }
        let activations = sae.encode(x)
        let m = sae.configuration.dSae
        var edits: [SteeringEdit] = []
        for (i, r) in members.enumerated() {
            var largest: Float = 0
            for j in 0..<m { largest = max(largest, activations.values[i * m + j]) }
            let delta = factor * largest
            added[rows.sequence[r]] = delta
            edits.append(SteeringEdit(feature: features[rows.sequence[r]], method: .add, magnitude: delta, positions: .prompt))
        }
        // Features were checked in init, so the edit cannot fail.
        _ = try? sae.apply(rowEdits: edits, to: &x)
        for (i, r) in members.enumerated() {
            let row = rows.row(r)
            for j in 0..<d { row[j] = x.values[i * d + j] }
        }
    }
}
