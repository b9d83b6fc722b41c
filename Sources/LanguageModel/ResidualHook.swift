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

/// Reads or edits the residual stream after block `layer` (TransformerLens `blocks.{layer}.hook_resid_post`,
/// 0-based; equal to `hook_resid_pre` of block `layer + 1`). Called synchronously on the decoding thread, once per
/// forward step, with the rows of that step; it may modify them in place.
public protocol ResidualHook: AnyObject {
    /// 0-based block index after which the hook runs.
    var layer: Int { get }
    func apply(_ rows: ResidualRows)
}
