/// The residual rows of one forward step after a block, handed to a `ResidualHook`.
///
/// Row `i` is the hidden state (`dModel` floats at `values + i * dModel`) of batch sequence `sequence[i]` at
/// absolute position `position[i]`; `isPrompt[i]` tells whether that position belongs to the prompt (true)
/// or to generated text (false). A prefill step hands every prompt row of every sequence; a decode step one row
/// per live sequence.
public struct ResidualRows {
    public let values: UnsafeMutablePointer<Float>
    public let count: Int
    public let dModel: Int
    public let sequence: [Int]
    public let position: [Int]
    public let isPrompt: [Bool]

    public init(values: UnsafeMutablePointer<Float>, count: Int, dModel: Int, sequence: [Int], position: [Int], isPrompt: [Bool]) {
        self.values = values; self.count = count; self.dModel = dModel
        self.sequence = sequence; self.position = position; self.isPrompt = isPrompt
    }

    /// The row `i` as a mutable buffer of `dModel` floats.
    public func row(_ i: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: values + i * dModel, count: dModel)
    }
}

/// Where in a block a hook runs, named as TransformerLens names the hook points.
public enum HookSite: String, Sendable, CaseIterable {
    /// `blocks.L.hook_resid_post`: the residual stream after block L (= Hugging Face `hidden_states[L+1]`;
    /// `hook_resid_pre` of block L + 1). With `layer` −1, the residual before block 0: the token embeddings (× √d
    /// for Gemma), `blocks.0.hook_resid_pre` = `hidden_states[0]`.
    case residPost = "hook_resid_post"
    /// `blocks.L.hook_mlp_out`: the feed-forward block's output before it is added to the residual, i.e.
    /// `down(act(gate(x)) ⊙ up(x))` of the normed residual, and for Gemma 2 / Gemma 3 after
    /// `post_feedforward_layernorm` (transformers' `post_feedforward_layernorm` output; `mlp` output otherwise).
    case mlpOut = "hook_mlp_out"

    /// The (site, block) of a TransformerLens hook name: `blocks.L.hook_resid_post` → (.residPost, L),
    /// `blocks.L.hook_resid_pre` → (.residPost, L − 1), `blocks.L.hook_mlp_out` → (.mlpOut, L); nil otherwise.
    public static func parse(_ name: String) -> (site: HookSite, layer: Int)? {
        let parts = name.split(separator: ".")
        guard parts.count == 3, parts[0] == "blocks", let l = Int(parts[1]), l >= 0 else { return nil }
        switch parts[2] {
        case "hook_resid_post": return (.residPost, l)
        case "hook_resid_pre": return (.residPost, l - 1)
        case "hook_mlp_out": return (.mlpOut, l)
        default: return nil
        }
    }
}

/// Reads or edits the residual stream after block `layer` (TransformerLens `blocks.{layer}.hook_resid_post`,
/// 0-based; equal to `hook_resid_pre` of block `layer + 1`; layer −1 is `blocks.0.hook_resid_pre`), or, with
/// `site` `.mlpOut`, block `layer`'s feed-forward output before it joins the residual (`blocks.{layer}.hook_mlp_out`).
/// Called synchronously on the decoding thread, once per forward step, with the rows of that step; it may modify
/// them in place (an edit of the MLP output reaches the residual).
public protocol ResidualHook: AnyObject {
    /// 0-based block index after which (or inside which, for `.mlpOut`) the hook runs; −1: before block 0.
    var layer: Int { get }
    /// The hook point; `.residPost` unless the conformer says otherwise.
    var site: HookSite { get }
    func apply(_ rows: ResidualRows)
}

extension ResidualHook {
    public var site: HookSite { .residPost }
}

/// A hook that records the rows it sees (row-major, `dModel` floats each) without changing them, for reading
/// activations at any hook point.
public final class ActivationRecorder: ResidualHook, @unchecked Sendable {
    public let layer: Int
    public let site: HookSite
    /// Every row seen, in the order of the forward steps.
    public private(set) var rows: [[Float]] = []

    public init(layer: Int, site: HookSite) { self.layer = layer; self.site = site }

    /// For a TransformerLens hook name (`blocks.L.hook_resid_pre|hook_resid_post|hook_mlp_out`); nil if unknown.
    public convenience init?(hookName: String) {
        guard let (site, layer) = HookSite.parse(hookName) else { return nil }
        self.init(layer: layer, site: site)
    }

    public func apply(_ rows: ResidualRows) {
        for i in 0..<rows.count { self.rows.append(Array(rows.row(i))) }
    }
}
