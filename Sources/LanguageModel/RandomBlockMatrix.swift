import ModelFormats
import Randomness

/// A weight matrix of one GGML block type filled with random valid blocks, for `semprog bench gemm`: its products
/// are those the model runs for a GGUF layer matrix of that type (`QuantizedMatrix.multiplyTiles` for steps of more
/// than `compactRowLimit` rows).
public final class RandomBlockMatrix: @unchecked Sendable {
    let matrix: QuantizedMatrix

    /// `rows` × `cols` weights of `type` (one of `QuantizedMatrix.supportedTypes`; cols a whole number of its blocks):
    /// every byte uniform from SplitMix64(`seed`), then each block's binary16 scale (and min) set to a value in
    /// ±[1e-4, 3.1e-3] (`randomBlocks`).
    public init(type: GGMLType, rows: Int, cols: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        matrix = QuantizedMatrix(cols: cols, parts: [(type, Self.randomBlocks(type, rows: rows, cols: cols, &rng))])
    }

    /// Random blocks of `type`: every code, high bit and sub-block scale uniform, and binary16 scales (and mins) of
    /// plausible sizes and both signs, at the offsets of ggml-quants.c's block layouts.
    static func randomBlocks(_ type: GGMLType, rows: Int, cols: Int, _ rng: inout SplitMix64) -> [UInt8] {
        let count = rows * cols / type.blockSize, size = type.blockBytes
        var bytes = (0..<(count * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        func half(_ v: Double, at offset: Int) {
            let bits = Float16(Float(v)).bitPattern
            bytes[offset] = UInt8(bits & 0xFF); bytes[offset + 1] = UInt8(bits >> 8)
        }
        func signed() -> Double { (rng.nextUnit() < 0.5 ? -1 : 1) * (1e-4 + 3e-3 * rng.nextUnit()) }
        for b in 0..<count {
            let base = b * size
            switch type {
            case .q6_K: half(signed(), at: base + 208)
            case .q3_K: half(signed(), at: base + 108)
            case .q2_K: half(signed(), at: base + 80); half(signed(), at: base + 82)
            case .q4_1, .q5_1, .q4_K, .q5_K: half(signed(), at: base); half(signed(), at: base + 2)
            default: half(signed(), at: base)
            }
        }
        return bytes
    }

    /// y = x · Wᵀ for `count` rows through dequantized tiles, on `threads` threads.
    public func multiplyTiles(_ x: [Float], count: Int, into y: inout [Float], threads: Int) {
        precondition(x.count >= count * matrix.cols && y.count >= count * matrix.rows, "RandomBlockMatrix: buffers too small")
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                matrix.multiplyTiles(xp.baseAddress!, rows: count, into: yp.baseAddress!, threads: threads)
            }
        }
    }
}
