import Foundation
import ModelFormats

/// A weight matrix kept in its compact GGUF block format (Q4_1 or Q8_0), multiplied directly with Float32
/// activations by SIMD dot products (no 8-bit quantization of the activations, so results equal the
/// dequantized-Float32 product up to summation order). Used for decode steps with few rows, where reading
/// 0.6–1.1 bytes per weight instead of 4 is what bounds speed.
///
/// Q4_1 row·x = Σ_blocks d·(Σⱼ qⱼ·xⱼ) + m·(Σⱼ xⱼ); Q8_0 row·x = Σ_blocks d·(Σⱼ qⱼ·xⱼ) (ggml-quants.c layouts).
final class QuantizedMatrix: @unchecked Sendable {
    let rows: Int
    let cols: Int
    let type: GGMLType
    let bytesPerRow: Int
    let data: UnsafeMutableRawPointer
    /// Per-block d and m (Q4_1) as Float, rows × cols/32 (decoded once from binary16).
    let scales: UnsafeMutablePointer<Float>
    let mins: UnsafeMutablePointer<Float>

    /// Stacks raw rows of several tensors of one block type (each `cols` wide).
    init(type: GGMLType, cols: Int, parts: [[UInt8]]) {
        precondition(type == .q4_1 || type == .q8_0)
        self.type = type
        self.cols = cols
        bytesPerRow = cols / 32 * type.blockBytes
        let total = parts.reduce(0) { $0 + $1.count }
        rows = total / bytesPerRow
        let data = UnsafeMutableRawPointer.allocate(byteCount: max(1, total), alignment: 64)
        var offset = 0
        for p in parts {
            p.withUnsafeBytes { (data + offset).copyMemory(from: $0.baseAddress!, byteCount: p.count) }
            offset += p.count
        }
        self.data = data
        let blocks = cols / 32
        let rows = self.rows, bytesPerRow = self.bytesPerRow
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * blocks))
        let mins = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows * blocks))
        self.scales = scales
        self.mins = mins
        for r in 0..<rows {
            for b in 0..<blocks {
                let block = UnsafeRawPointer(data + r * bytesPerRow + b * type.blockBytes)
                scales[r * blocks + b] = Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self))))
                mins[r * blocks + b] = type == .q4_1
                    ? Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))) : 0
            }
        }
    }

    deinit { data.deallocate(); scales.deallocate(); mins.deallocate() }

    /// out[i][r] = row r · x[i] for `n` input rows (x: n × cols, out: n × rows), split over `threads` threads.
    func multiply(_ x: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>, threads: Int) {
        let blocks = cols / 32
        // x reordered to the lane order the kernel unpacks bytes in: within each 16-value half of a block,
        // position 4j + k holds element 4k + j. Plus per-block sums of x (for Q4_1's m term).
        let xp = UnsafeMutablePointer<Float>.allocate(capacity: n * cols)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: n * blocks)
        defer { xp.deallocate(); sums.deallocate() }
        for i in 0..<n {
            for b in 0..<blocks {
                let src = x + i * cols + b * 32, dst = xp + i * cols + b * 32
                var s: Float = 0
                for half in 0..<2 {
                    for j in 0..<4 { for k in 0..<4 { dst[half * 16 + 4 * j + k] = src[half * 16 + 4 * k + j] } }
                }
                for e in 0..<32 { s += src[e] }
                sums[i * blocks + b] = s
            }
        }
        let chunks = max(1, min(threads, rows / 64))
        let per = (rows + chunks - 1) / chunks
        let p = Pointers(x: UnsafeRawPointer(xp), sums: UnsafePointer(sums), out: out)
        let rows = self.rows
        if chunks == 1 {
            multiplyRows(0..<rows, x: p.x, sums: p.sums, n: n, out: p.out)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per, hi = min(rows, lo + per)
            if lo < hi { self.multiplyRows(lo..<hi, x: p.x, sums: p.sums, n: n, out: p.out) }
        }
    }

    private struct Pointers: @unchecked Sendable {
        let x: UnsafeRawPointer
        let sums: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
    }

    /// Bytes 0…255 held in 32-bit lanes → floats, by OR-ing into the mantissa of 2²³ (exact; no generic
    /// integer→float conversion, which Swift does not vectorize).
    @inline(__always) static func floats(_ u: SIMD4<UInt32>) -> SIMD4<Float> {
        unsafeBitCast(u | SIMD4<UInt32>(repeating: 0x4B00_0000), to: SIMD4<Float>.self) - 8_388_608
    }

    /// Σ over 16 bytes (four per lane of `v`) of byte · x, with x in the reordered layout at `xb`.
    @inline(__always) static func dot16(_ v: SIMD4<UInt32>, _ xb: UnsafeRawPointer) -> SIMD4<Float> {
        let m = SIMD4<UInt32>(repeating: 0xFF)
        var t = floats(v & m) * xb.loadUnaligned(as: SIMD4<Float>.self)
        t += floats((v &>> 8) & m) * xb.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self)
        t += floats((v &>> 16) & m) * xb.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self)
        t += floats(v &>> 24) * xb.loadUnaligned(fromByteOffset: 48, as: SIMD4<Float>.self)
        return t
    }

    private func multiplyRows(_ range: Range<Int>, x: UnsafeRawPointer, sums: UnsafePointer<Float>, n: Int, out: UnsafeMutablePointer<Float>) {
        let blocks = cols / 32
        let rowStrideX = cols * 4
        let nibble = SIMD4<UInt32>(repeating: 0x0F0F_0F0F)
        let signFlip = SIMD4<UInt32>(repeating: 0x8080_8080)
        let q41 = type == .q4_1
        for r in range {
            let row = UnsafeRawPointer(data + r * bytesPerRow)
            let scale = scales + r * blocks, shift = mins + r * blocks
            for i in 0..<n {
                let xi = x + i * rowStrideX
                let si = sums + i * blocks
                var acc = SIMD4<Float>()
                var mTerm: Float = 0
                if q41 {
                    for b in 0..<blocks {
                        let v = (row + b * 20).loadUnaligned(fromByteOffset: 4, as: SIMD4<UInt32>.self)
                        let xb = xi + b * 128
                        var t = Self.dot16(v & nibble, xb)
                        t += Self.dot16((v &>> 4) & nibble, xb + 64)
                        acc += scale[b] * t
                        mTerm += shift[b] * si[b]
                    }
                } else {
                    for b in 0..<blocks {
                        let block = row + b * 34
                        let v0 = block.loadUnaligned(fromByteOffset: 2, as: SIMD4<UInt32>.self) ^ signFlip
                        let v1 = block.loadUnaligned(fromByteOffset: 18, as: SIMD4<UInt32>.self) ^ signFlip
                        let xb = xi + b * 128
                        // bytes are q + 128: subtract 128·Σx afterwards.
                        var t = Self.dot16(v0, xb)
                        t += Self.dot16(v1, xb + 64)
                        acc += scale[b] * t
                        mTerm -= 128 * scale[b] * si[b]
                    }
                }
                out[i * rows + r] = acc.sum() + mTerm
            }
        }
    }
}
