import LanguageModel
import Tensor

/// Unambiguous name for `SteeringHook` in files that also import LanguageModel (which has its own vector `SteeringHook`).


/// How an edit sets the target activation a′ of feature i from its current activation aᵢ and magnitude m.
public enum EditMethod: String, Codable, Sendable, CaseIterable {
    /// a′ = m.
    case clamp
    /// a′ = aᵢ + m.
    case add
    /// a′ = m · aᵢ.
    case scale
}

/// Which residual positions an edit touches.
public enum EditPositions: String, Codable, Sendable, CaseIterable {
    case all, prompt, generated
}

/// One feature edit (the study's intervention).
public struct SteeringEdit: Sendable, Hashable, Codable {
    public var feature: Int
    public var method: EditMethod
    /// Magnitude m in absolute activation units (see `init(feature:method:magnitudeInMaxActivations:…)`).
    public var magnitude: Float
    public var positions: EditPositions

    public init(feature: Int, method: EditMethod, magnitude: Float, positions: EditPositions = .all) {
        self.feature = feature
        self.method = method
        self.magnitude = magnitude
        self.positions = positions
    }

    /// An edit whose magnitude is given in multiples of the feature's maximum activation:
    /// m = `magnitudeInMaxActivations` · `maxActivation` (for `scale` the factor is used as is: it has no unit).
    public init(feature: Int, method: EditMethod, magnitudeInMaxActivations: Float, maxActivation: Float,
                positions: EditPositions = .all) {
        self.init(feature: feature, method: method,
                  magnitude: method == .scale ? magnitudeInMaxActivations : magnitudeInMaxActivations * maxActivation,
                  positions: positions)
    }

    /// The target activation a′ for a current activation a.
    @inlinable public func target(current a: Float) -> Float {
        switch method {
        case .clamp: magnitude
        case .add: a + magnitude
        case .scale: magnitude * a
        }
    }

    /// Whether a row at a prompt (true) or generated (false) position is edited.
    @inlinable public func applies(isPrompt: Bool) -> Bool {
        switch positions {
        case .all: true
        case .prompt: isPrompt
        case .generated: !isPrompt
        }
    }
}

extension SparseAutoencoder {
    /// Error-preserving edit of every row of `x` (rows × d_in, in the residual stream's units):
    ///
    ///     x′ = x + (a′ − aᵢ) · s · W_dec[i]
    ///
    /// where aᵢ is feature i's activation of the row, a′ the edit's target and s the row's normalisation scale
    /// (1 unless `normalize_activations` is set; the inverse normalisation N⁻¹ is affine, so N⁻¹(x̂ + δ·W_dec[i])
    /// − N⁻¹(x̂) = δ·s·W_dec[i]). The SAE's reconstruction error x − x̂ is kept, so an edit with a′ = aᵢ
    /// returns x unchanged. Returns aᵢ of each row before the edit and after it (re-encoding x′).
    @discardableResult
    public func apply(_ edit: SteeringEdit, to x: inout Matrix) throws -> (before: [Float], after: [Float]) {
        try apply(rowEdits: [SteeringEdit](repeating: edit, count: x.rows), to: &x)
    }

    /// The same edit with one `SteeringEdit` per row of `x` (features and targets may differ between rows): one
    /// batched encode before and one after, whatever the mix of edits.
    @discardableResult
    public func apply(rowEdits: [SteeringEdit], to x: inout Matrix) throws -> (before: [Float], after: [Float]) {
        precondition(rowEdits.count == x.rows, "apply: \(rowEdits.count) edits for \(x.rows) rows")
        for edit in rowEdits { try checkFeature(edit.feature) }
        let d = configuration.dIn, m = configuration.dSae
        let norms = normalization(of: x)
        let pre = encode(x, normalization: norms)
        let before = rowEdits.enumerated().map { r, edit in pre.values[r * m + edit.feature] }
        decoderWeights.values.withUnsafeBufferPointer { w in
            for (r, edit) in rowEdits.enumerated() {
                let delta = edit.target(current: before[r]) - before[r]
                guard delta != 0 else { continue }
                let step = delta * norms[r].scale
                let direction = w.baseAddress! + edit.feature * d
                for j in 0..<d { x.values[r * d + j] += step * direction[j] }
            }
        }
        let reencoded = encode(x)
        let after = rowEdits.enumerated().map { r, edit in reencoded.values[r * m + edit.feature] }
        return (before, after)
    }
}

/// A `ResidualHook` that applies one `SteeringEdit` per batch sequence (nil = baseline, left untouched) at the
/// SAE's layer, error-preserving (see `SparseAutoencoder.apply(_:to:)`), and records per sequence the mean
/// activation of the edited feature over the edited positions before and after the edit.
public final class SteeringHook: ResidualHook {
    public let sae: SparseAutoencoder
    public let edits: [SteeringEdit?]
    public var layer: Int { sae.configuration.layer }
    /// The SAE's hook point (resid_post, or the MLP output for `hook_mlp_out` SAEs).
    public var site: HookSite { sae.configuration.modelHook?.site ?? .residPost }

    private var sumBefore: [Double]
    private var sumAfter: [Double]
    private var editedCount: [Int]

    /// Throws `SAEError.featureOutOfRange` when an edit names a feature beyond d_sae.
    public init(sae: SparseAutoencoder, edits: [SteeringEdit?]) throws {
        for edit in edits.compactMap({ $0 }) { try sae.checkFeature(edit.feature) }
        self.sae = sae
        self.edits = edits
        sumBefore = [Double](repeating: 0, count: edits.count)
        sumAfter = sumBefore
        editedCount = [Int](repeating: 0, count: edits.count)
    }

    public func apply(_ rows: ResidualRows) {
        let d = rows.dModel
        precondition(d == sae.configuration.dIn, "SteeringHook: residual width \(d) ≠ SAE d_in \(sae.configuration.dIn)")
        // Every row to edit, whatever its edit, goes through one batched encode (and one re-encode).
        var members: [Int] = []
        var rowEdits: [SteeringEdit] = []
        for r in 0..<rows.count {
            let s = rows.sequence[r]
            guard s >= 0, s < edits.count, let edit = edits[s], edit.applies(isPrompt: rows.isPrompt[r]) else { continue }
            members.append(r)
            rowEdits.append(edit)
        }
        guard !members.isEmpty else { return }
        var x = Matrix(zeros: members.count, d)
        for (t, r) in members.enumerated() {
            let src = rows.row(r)
            for j in 0..<d { x.values[t * d + j] = src[j] }
        }
        guard let result = try? sae.apply(rowEdits: rowEdits, to: &x) else { return }   // features checked in init
        for (t, r) in members.enumerated() {
            let dst = rows.row(r)
            for j in 0..<d { dst[j] = x.values[t * d + j] }
            let s = rows.sequence[r]
            sumBefore[s] += Double(result.before[t])
            sumAfter[s] += Double(result.after[t])
            editedCount[s] += 1
        }
    }

    /// Mean activation of the edited feature at the edited positions of `sequence`, before editing (nil when
    /// no position of it was edited).
    public func activationBefore(sequence: Int) -> Float? {
        guard sequence >= 0, sequence < edits.count, editedCount[sequence] > 0 else { return nil }
        return Float(sumBefore[sequence] / Double(editedCount[sequence]))
    }

    /// Mean activation of the edited feature at the edited positions of `sequence`, after editing (re-encoded).
    public func activationAfter(sequence: Int) -> Float? {
        guard sequence >= 0, sequence < edits.count, editedCount[sequence] > 0 else { return nil }
        return Float(sumAfter[sequence] / Double(editedCount[sequence]))
    }

    /// Number of positions edited in `sequence`.
    public func editedPositions(sequence: Int) -> Int {
        sequence >= 0 && sequence < edits.count ? editedCount[sequence] : 0
    }
}
