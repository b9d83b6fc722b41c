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

    /// Stacks raw rows of several tensors of one block type (each `cols` wide).
    init(type: GGMLType, cols: Int, parts: [[UInt8]]) {
        precondition(type == .q4_1 || type == .q8_0)
        self.type = type
        self.cols = cols
        bytesPerRow = cols / 32 * type.blockBytes
        let total = parts.reduce(0) { $0 + $1.count }
        rows = total / bytesPerRow
        data = .allocate(byteCount: max(1, total), alignment: 64)
        var offset = 0
        for p in parts {
            p.withUnsafeBytes { (data + offset).copyMemory(from: $0.baseAddress!, byteCount: p.count) }
            offset += p.count
        }
    }

    deinit { data.deallocate() }

    /// out[i][r] = row r · x[i] for `n` input rows (x: n × cols, out: n × rows), split over `threads` threads.
    func multiply(_ x: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>, threads: Int) {
        let blocks = cols / 32
        // Per-block sums of x (for Q4_1's m term).
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: n * blocks)
        defer { sums.deallocate() }
        for i in 0..<n {
            for b in 0..<blocks {
                let p = UnsafeRawPointer(x + i * cols + b * 32)
                let v = p.loadUnaligned(as: SIMD16<Float>.self) + p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                sums[i * blocks + b] = v.sum()
            }
        }
        let chunks = max(1, min(threads, rows / 64))
        let per = (rows + chunks - 1) / chunks
        let p = Pointers(x: UnsafeRawPointer(x), sums: UnsafePointer(sums), out: out)
        let rows = self.rows
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

    private func multiplyRows(_ range: Range<Int>, x: UnsafeRawPointer, sums: UnsafePointer<Float>, n: Int, out: UnsafeMutablePointer<Float>) {
        let blocks = cols / 32
        let rowStrideX = cols * 4
        let mask = SIMD16<UInt8>(repeating: 15)
        for r in range {
            let row = UnsafeRawPointer(data + r * bytesPerRow)
            for i in 0..<n {
                let xi = x + i * rowStrideX
                var acc = SIMD16<Float>()
                var mTerm: Float = 0
                if type == .q4_1 {
                    for b in 0..<blocks {
                        let block = row + b * 20
                        let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                        let m = Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                        let q = block.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
                        let low = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q & mask))
                        let high = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q &>> 4))
                        let xb = xi + b * 128
                        var t = low * xb.loadUnaligned(as: SIMD16<Float>.self)
                        t.addProduct(high, xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                        acc.addProduct(SIMD16(repeating: d), t)
                        mTerm += m * sums[i * blocks + b]
                    }
                } else {
                    for b in 0..<blocks {
                        let block = row + b * 34
                        let d = Float(Float16(bitPattern: block.loadUnaligned(as: UInt16.self)))
                        let q0 = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
                        let q1 = block.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
                        let xb = xi + b * 128
                        var t = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q0)) * xb.loadUnaligned(as: SIMD16<Float>.self)
                        t.addProduct(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q1)), xb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                        acc.addProduct(SIMD16(repeating: d), t)
                    }
                }
                out[i * rows + r] = acc.sum() + mTerm
            }
        }
    }
}
