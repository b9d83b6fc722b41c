/// ggml block formats and their exact dequantization (ggml-quants.c, `dequantize_row_*`).
///
/// Blocks of 32 values; `d` and `m` are IEEE binary16:
/// - Q8_0 (34 bytes): d, 32 × int8 q → x = d·q.
/// - Q4_0 (18 bytes): d, 16 bytes of nibbles → x[j] = d·((qs[j] & 15) − 8), x[j+16] = d·((qs[j] >> 4) − 8).
/// - Q4_1 (20 bytes): d, m, 16 bytes of nibbles → x[j] = d·(qs[j] & 15) + m, x[j+16] = d·(qs[j] >> 4) + m.
public enum GGMLDequantize {
    /// Dequantizes `count` elements of `type` from `source` into `into` (count must be a multiple of the block size).
    public static func dequantize(type: GGMLType, source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { out[i] = HalfPrecision.float(fromHalf: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bf16:
            for i in 0..<count { out[i] = HalfPrecision.float(fromBFloat16: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .q8_0:
            for b in 0..<(count / 32) {
                let block = source + b * 34
                let d = half(block, 0)
                let o = out + b * 32
                for j in 0..<32 { o[j] = d * Float(Int8(bitPattern: block.load(fromByteOffset: 2 + j, as: UInt8.self))) }
            }
        case .q4_0:
            for b in 0..<(count / 32) {
                let block = source + b * 18
                let d = half(block, 0)
                let o = out + b * 32
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                    o[j] = d * Float(Int(q & 15) - 8)
                    o[j + 16] = d * Float(Int(q >> 4) - 8)
                }
            }
        case .q4_1:
            for b in 0..<(count / 32) {
                let block = source + b * 20
                let d = half(block, 0), m = half(block, 2)
                let o = out + b * 32
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                    o[j] = d * Float(q & 15) + m
                    o[j + 16] = d * Float(q >> 4) + m
                }
            }
        default:
            for i in 0..<count { out[i] = .nan }
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        HalfPrecision.float(fromHalf: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}

/// Reference quantizers (ggml's `quantize_row_*_ref`), used to write small test models.
public enum GGMLQuantize {
    /// Encodes `values` (count a multiple of 32 for block types) as `type`; supports F32, F16, BF16, Q8_0, Q4_0, Q4_1.
    public static func quantize(_ values: [Float], as type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        func appendHalf(_ x: Float) { let b = Float16(x).bitPattern; out.append(UInt8(b & 0xFF)); out.append(UInt8(b >> 8)) }
        switch type {
        case .f32:
            for v in values { let b = v.bitPattern; for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8((b >> UInt32(s)) & 0xFF)) } }
        case .f16:
            for v in values { appendHalf(v) }
        case .bf16:
            for v in values { let b = HalfPrecision.bfloat16(from: v); out.append(UInt8(b & 0xFF)); out.append(UInt8(b >> 8)) }
        case .q8_0:
            for b in stride(from: 0, to: values.count, by: 32) {
                let block = values[b..<(b + 32)]
                let amax = block.map(abs).max() ?? 0
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                appendHalf(d)
                for v in block { out.append(UInt8(bitPattern: Int8((v * id).rounded()))) }
            }
        case .q4_0:
            for b in stride(from: 0, to: values.count, by: 32) {
                let block = Array(values[b..<(b + 32)])
                var maxV: Float = 0
                for v in block where abs(v) > abs(maxV) { maxV = v }
                let d = maxV / -8
                let id: Float = d != 0 ? 1 / d : 0
                appendHalf(d)
                for j in 0..<16 {
                    let q0 = UInt8(min(15, max(0, Int((block[j] * id + 8.5).rounded(.down)))))
                    let q1 = UInt8(min(15, max(0, Int((block[j + 16] * id + 8.5).rounded(.down)))))
                    out.append(q0 | (q1 << 4))
                }
            }
        case .q4_1:
            for b in stride(from: 0, to: values.count, by: 32) {
                let block = Array(values[b..<(b + 32)])
                let lo = block.min() ?? 0, hi = block.max() ?? 0
                let d = (hi - lo) / 15
                let id: Float = d != 0 ? 1 / d : 0
                appendHalf(d); appendHalf(lo)
                for j in 0..<16 {
                    let q0 = UInt8(min(15, max(0, Int(((block[j] - lo) * id + 0.5).rounded(.down)))))
                    let q1 = UInt8(min(15, max(0, Int(((block[j + 16] - lo) * id + 0.5).rounded(.down)))))
                    out.append(q0 | (q1 << 4))
                }
            }
        default:
            preconditionFailure("GGMLQuantize: \(type.name) is not supported")
        }
        return out
    }
}
