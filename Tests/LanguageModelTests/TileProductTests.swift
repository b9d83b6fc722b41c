import CKernels
import Randomness
import ModelFormats
import Tensor
import Testing
@testable import LanguageModel

/// Matrices held only in their GGUF blocks and multiplied through dequantized tiles (`QuantizedMatrix.multiplyTiles`,
/// quantized_pack.c): Gemma 3 270M's layer matrices (Q5_0, Q8_0, Q4_K, Q6_K) and tied embedding (Q8_0), SmolLM2's
/// layers (Q4_1). The claim is exactness: the unpacked panels are bit for bit `ck_pack_panels` of ggml's dequantized
/// rows (`GGMLDequantize`) on every kernel path, so a product has the bits of the packed Float32 matrix.
@Suite struct TileProductTests {
    static func randomBlocks(_ type: GGMLType, rows: Int, cols: Int, _ rng: inout SplitMix64) -> [UInt8] {
        RandomBlockMatrix.randomBlocks(type, rows: rows, cols: cols, &rng)
    }

    /// Every kernel path this CPU runs, each asked for by name (AVX2 is checked on AVX-512 machines too).
    static let paths = [CK_PATH_PORTABLE, CK_PATH_AVX2, CK_PATH_AVX512].map(Int32.init).filter { ck_cpu_supports($0) != 0 }

    /// Each type with an unpacking kernel, at 512 columns (two K-quant super-blocks per row): 22 rows from row 3
    /// (one full panel and a ragged one) unpacked on every path equal `ck_pack_panels` of the dequantized rows, bit
    /// for bit, including the zero rows that pad the last panel.
    @Test(arguments: [GGMLType.q8_0, .q5_0, .q4_1, .q4_K, .q6_K])
    func panelsEqualPackedDequantizedRows(type: GGMLType) {
        #expect(QuantizedMatrix.unpacksToPanels(type))
        var rng = SplitMix64(seed: 9100 + UInt64(type.rawValue))
        let rows = 40, cols = 512
        let bytes = Self.randomBlocks(type, rows: rows, cols: cols, &rng)
        var dequantized = [Float](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { GGMLDequantize.dequantize(type: type, source: $0.baseAddress!, count: rows * cols, into: &dequantized) }
        let q = QuantizedMatrix(type: type, cols: cols, parts: [bytes])
        let s = q.segments[0]
        var reference = [Float](repeating: .nan, count: 32 * cols)
        dequantized.withUnsafeBufferPointer { ck_pack_panels($0.baseAddress! + 3 * cols, 22, cols, cols, &reference) }
        #expect(reference.contains { $0 < 0 } && reference.contains { $0 > 0 })
        for path in Self.paths {
            var panels = [Float](repeating: .nan, count: 32 * cols)
            ck_quantized_pack_panels(QuantizedMatrix.code(type), s.data.assumingMemoryBound(to: UInt8.self), s.bytesPerRow,
                                     s.scales, s.mins, 3, 22, cols, &panels, path)
            let differing = zip(panels, reference).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(type.name), path \(path): \(differing) of \(panels.count) panel values differ")
        }
    }

    /// Types the tiles know and do not: Q5_1 has no unpacking kernel (its rows are dequantized, then packed).
    @Test func unpackingKernelsCoverTheTypesOfTheDemoModels() {
        #expect([GGMLType.q8_0, .q5_0, .q4_1, .q4_K, .q6_K].allSatisfy(QuantizedMatrix.unpacksToPanels))
        #expect(![GGMLType.q5_1, .q2_K, .q3_K, .q5_K, .q4_0, .f16].contains(where: QuantizedMatrix.unpacksToPanels))
        #expect(ck_quantized_tile_rows(640) == 64 && ck_quantized_tile_rows(1024) == 32 && ck_quantized_tile_rows(2048) == 32)
    }

    /// Tiled products against the packed Float32 GEMM of the dequantized matrix, bit for bit: single types and
    /// stacks whose segment boundaries fall inside a panel (70 + 45 rows; 20 + 45 + 70) and a tile, Q5_1 segments
    /// (no unpacking kernel: dequantized rows, then packed) between others, at 512 columns (activation rows
    /// restrided from 3 rows on) or 96; 1, 3, 20 and 41 activation rows; SIMD and portable paths; 1 and 2 threads;
    /// accumulating. `WeightMatrix(compactOnly:tilesFromRows: 1)` (a GGUF layer matrix) takes the tiles at every row
    /// count.
    @Test(arguments: [[GGMLType.q8_0], [.q5_0], [.q4_1], [.q4_K], [.q6_K], [.q5_0, .q8_0], [.q4_K, .q6_K], [.q5_1], [.q8_0, .q5_1],
                      [.q5_1, .q8_0, .q5_1]])
    func tilesEqualPackedFloat32(types: [GGMLType]) throws {
        try #require(PackedMatrix.isAccelerated, "the packed GEMM needs AVX2/FMA")
        var rng = SplitMix64(seed: 640 + UInt64(types.map(\.rawValue).reduce(0) { $0 * 31 + $1 }))
        let cols = types.contains { $0.blockSize == 256 } || types.count == 1 && types[0] == .q5_0 ? 512 : 96
        // Three segments: a worker's first row-by-row tile (20 rows) is smaller than a later one (64).
        let sizes = types.count == 1 ? [150] : types.count == 2 ? [70, 45] : [20, 45, 70]
        let parts = zip(types, sizes).map { (type: $0, bytes: Self.randomBlocks($0, rows: $1, cols: cols, &rng)) }
        let rows = sizes.reduce(0, +)
        var dequantized = [Float](repeating: 0, count: rows * cols)
        var at = 0
        for (p, n) in zip(parts, sizes) {
            dequantized.withUnsafeMutableBufferPointer { out in
                p.bytes.withUnsafeBytes { GGMLDequantize.dequantize(type: p.type, source: $0.baseAddress!, count: n * cols, into: out.baseAddress! + at) }
            }
            at += n * cols
        }
        let packed = dequantized.withUnsafeBufferPointer { PackedMatrix(rowMajor: $0.baseAddress!, rows: rows, cols: cols) }
        let q = QuantizedMatrix(cols: cols, parts: parts)
        #expect(q.segments.count == types.count && q.tiles.allSatisfy { $0.first + $0.count <= q.segments[$0.segment].rows })
        let layer = WeightMatrix(compactOnly: q, tilesFromRows: 1)
        for n in [1, 3, 20, 41] {
            let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
            for path in [KernelPath?.none, .portable] {
                q.kernelPath = path
                for threads in [1, 2] {
                    var tiles = (0..<(n * rows)).map { Float($0 % 7) }, expected = tiles
                    q.multiplyTiles(x, rows: n, into: &tiles, accumulate: true, threads: threads)
                    packed.multiply(x, count: n, into: &expected, accumulate: true, threads: threads, kernel: path)
                    let differing = zip(tiles, expected).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "\(types.map(\.name)) n=\(n) path \(String(describing: path)) threads \(threads): \(differing) outputs differ")
                }
            }
            q.kernelPath = nil
            var viaMultiply = [Float](repeating: 0, count: n * rows), expected = viaMultiply
            layer.multiply(x, count: n, into: &viaMultiply, threads: 2)
            packed.multiply(x, count: n, into: &expected, threads: 2)
            #expect(viaMultiply.map(\.bitPattern) == expected.map(\.bitPattern), "a layer matrix takes the tiles at \(n) rows")
        }
    }

    /// Gemma's embedding keeps the block kernel below `WeightMatrix.tiledMinimumRows` and takes the tiles from there.
    @Test func embeddingTakesTheTilesFromTwentyRows() throws {
        try #require(PackedMatrix.isAccelerated, "the packed GEMM needs AVX2/FMA")
        var rng = SplitMix64(seed: 77)
        let rows = 100, cols = 96
        let bytes = Self.randomBlocks(.q8_0, rows: rows, cols: cols, &rng)
        let q = QuantizedMatrix(type: .q8_0, cols: cols, parts: [bytes])
        let embedding = WeightMatrix(compactOnly: q)
        for n in [WeightMatrix.tiledMinimumRows - 1, WeightMatrix.tiledMinimumRows] {
            let x = (0..<(n * cols)).map { _ in Float(rng.nextGaussian()) }
            var out = [Float](repeating: 0, count: n * rows), tiles = out, block = out
            embedding.multiply(x, count: n, into: &out, threads: 2)
            q.multiplyTiles(x, rows: n, into: &tiles, threads: 2)
            q.multiply(x, rows: n, into: &block, threads: 2)
            #expect(out == (n >= WeightMatrix.tiledMinimumRows ? tiles : block), "\(n) rows")
            #expect(tiles != block, "the two kernels sum in different orders")
        }
    }
}
