/// ggml block formats and their exact dequantization (ggml-quants.c, `dequantize_row_*`).
///
/// Blocks of 32 values; `d` and `m` are IEEE binary16:
/// - Q8_0 (34 bytes): d, 32 × int8 q → x = d·q.
/// - Q4_0 (18 bytes): d, 16 bytes of nibbles → x[j] = d·((qs[j] & 15) − 8), x[j+16] = d·((qs[j] >> 4) − 8).
/// - Q4_1 (20 bytes): d, m, 16 bytes of nibbles → x[j] = d·(qs[j] & 15) + m, x[j+16] = d·(qs[j] >> 4) + m.
/// - Q5_0 (22 bytes): d, qh (u32), 16 bytes of nibbles → x[j] = d·((qs[j] & 15 | bit j of qh << 4) − 16),
///   x[j+16] likewise with qs[j] >> 4 and bit j+16; Q5_1 (24 bytes): d, m, qh, qs → x = d·q + m.
/// Super-blocks of 256 values (the K-quants; each formula in the Float32 operation order of ggml-quants.c and of
/// the `gguf` Python package's `dequantize`, so the results are equal bit for bit):
/// - Q2_K (84 bytes): 16 scale bytes (low nibble scale, high nibble min), 64 bytes of 2-bit codes, d, dmin →
///   x = (d·sc)·q − dmin·m per group of 16.
/// - Q3_K (110 bytes): 32 bytes high-bit mask, 64 bytes of 2-bit codes, 12 bytes of 6-bit scales, d →
///   x = (d·(s − 32))·(q₂ − 4·(1 − h)) per group of 16.
/// - Q4_K (144 bytes): d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles →
///   x = (d·sc)·q − dmin·m per group of 32; Q5_K (176 bytes) adds 32 bytes of fifth bits.
/// - Q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of high 2 bits, 16 int8 scales, d →
///   x = (d·sc)·(q − 32) per group of 16.
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
        case .q5_0, .q5_1:
            let one = type == .q5_1
            let size = type.blockBytes, qsAt = one ? 8 : 6
            for b in 0..<(count / 32) {
                let block = source + b * size
                let d = half(block, 0), m = one ? half(block, 2) : 0
                let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: one ? 4 : 2, as: UInt32.self))
                let o = out + b * 32
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: qsAt + j, as: UInt8.self)
                    let lo = Int(q & 15) | Int((qh >> UInt32(j)) & 1) << 4
                    let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                    if one {
                        o[j] = d * Float(lo) + m
                        o[j + 16] = d * Float(hi) + m
                    } else {
                        o[j] = d * Float(lo - 16)
                        o[j + 16] = d * Float(hi - 16)
                    }
                }
            }
        case .q2_K:
            for b in 0..<(count / 256) {
                let block = (source + b * 84).assumingMemoryBound(to: UInt8.self)
                let d = half(block, 80), dmin = half(block, 82)
                let o = out + b * 256
                for e in 0..<256 {
                    let sc = block[e / 16]
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    let q = (block[16 + (e / 128) * 32 + e % 32] >> UInt8(2 * ((e % 128) / 32))) & 3
                    o[e] = dl * Float(q) - ml
                }
            }
        case .q3_K:
            for b in 0..<(count / 256) {
                let block = (source + b * 110).assumingMemoryBound(to: UInt8.self)
                let d = half(block, 108)
                let scales = block + 96
                var dl = [Float](repeating: 0, count: 16)
                for i in 0..<16 {
                    let low = i < 8 ? scales[i] & 0x0F : scales[i - 8] >> 4
                    let high = (scales[8 + i % 4] >> UInt8(2 * (i / 4))) & 3
                    dl[i] = d * Float(Int(Int8(bitPattern: low | high << 4)) - 32)
                }
                let o = out + b * 256
                for e in 0..<256 {
                    let ql = Int((block[32 + (e / 128) * 32 + e % 32] >> UInt8(2 * ((e % 128) / 32))) & 3)
                    let h = Int((block[e % 32] >> UInt8(e / 32)) & 1) ^ 1
                    o[e] = dl[e / 16] * Float(ql - (h << 2))
                }
            }
        case .q4_K, .q5_K:
            let five = type == .q5_K
            let size = type.blockBytes, qsAt = five ? 48 : 16
            for b in 0..<(count / 256) {
                let block = (source + b * size).assumingMemoryBound(to: UInt8.self)
                let d = half(block, 0), dmin = half(block, 2)
                let o = out + b * 256
                for s in 0..<8 {
                    let (sc, m) = kScaleMin(block + 4, s)
                    let dl = d * Float(sc), ml = dmin * Float(m)
                    for l in 0..<32 {
                        var q = Int((block[qsAt + (s / 2) * 32 + l] >> UInt8((s % 2) * 4)) & 0x0F)
                        if five { q |= Int((block[16 + l] >> UInt8(s)) & 1) << 4 }
                        o[s * 32 + l] = dl * Float(q) - ml
                    }
                }
            }
        case .q6_K:
            for b in 0..<(count / 256) {
                let block = (source + b * 210).assumingMemoryBound(to: UInt8.self)
                let d = half(block, 208)
                let o = out + b * 256
                for e in 0..<256 {
                    let h = e / 128, r = e % 128
                    let ql = (block[h * 64 + r % 64] >> UInt8(4 * (r / 64))) & 0x0F
                    let qh = (block[128 + h * 32 + r % 32] >> UInt8(2 * (r / 32))) & 3
                    let dl = d * Float(Int8(bitPattern: block[192 + e / 16]))
                    o[e] = dl * Float(Int(ql | qh << 4) - 32)
                }
            }
        default:
            for i in 0..<count { out[i] = .nan }
        }
    }

    /// Scale and min of sub-block `s` (0…7) from the 12 packed bytes of Q4_K/Q5_K (`get_scale_min_k4`).
    @inline(__always) static func kScaleMin(_ q: UnsafePointer<UInt8>, _ s: Int) -> (UInt8, UInt8) {
        if s < 4 { return (q[s] & 63, q[s + 4] & 63) }
        return ((q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4), (q[s + 4] >> 4) | ((q[s] >> 6) << 4))
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
