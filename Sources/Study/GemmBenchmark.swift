import Foundation
import LanguageModel
import ModelFormats
import Randomness
import Tensor

/// What `semprog bench gemm` measures: GFLOP/s of semprog's packed-panel kernel, and of the same product from the
/// model's GGML block type through dequantized tiles (`RandomBlockMatrix`, what a GGUF model runs), against OpenBLAS' `cblas_sgemm`
/// (`cblas_sgemv` for one row) on SmolLM2-135M's matrix shapes (Y = X·Wᵀ, X rows × k, W n × k; 2·rows·n·k FLOP
/// per call) — or Gemma 3 270M's (`shapes: .gemma3`) —, both on `threads` threads; the median of `repetitions` timed runs of at least 0.2 s each. Inputs are
/// seeded uniform values in [−0.5, 0.5) (SplitMix64 seed 1). Not a test: the numbers depend on the machine.
public struct GemmBenchmark {
    /// The model whose matrix shapes are measured.
    public enum ShapeSet: String, CaseIterable, Sendable {
        case smollm2, gemma3

        /// (name, n, k): the fused QKV, attention output, gate+up, down and (SmolLM2 only) unembedding matrices.
        /// Gemma 3 270M's 262,144-row tied unembedding is left out: OpenBLAS would need its 671 MB Float32 copy.
        public var shapes: [(String, Int, Int)] { blockShapes.map { ($0.0, $0.1, $0.2) } }

        /// The shapes with the GGML block type of the model's GGUF file (SmolLM2-135M-Instruct Q4_1; Gemma 3 270M
        /// Q4_K_M, whose attn_v is Q5_0 or Q8_0 and ffn_down Q6_K or Q4_K by layer: the first is taken), whose
        /// products the model runs through dequantized tiles.
        public var blockShapes: [(String, Int, Int, GGMLType)] {
            switch self {
            case .smollm2: [("qkv", 960, 576, .q4_1), ("attn_out", 576, 576, .q4_1), ("gate_up", 3072, 576, .q4_1),
                            ("down", 576, 1536, .q4_1), ("unembed", 49152, 576, .q8_0)]
            case .gemma3: [("qkv", 1536, 640, .q5_0), ("attn_out", 640, 1024, .q4_K), ("gate_up", 4096, 640, .q5_0),
                           ("down", 640, 2048, .q6_K)]
            }
        }
    }

    /// SmolLM2-135M's shapes (the default set).
    public static var shapes: [(String, Int, Int)] { ShapeSet.smollm2.shapes }

    public var shapeSet: ShapeSet

    public var threads: Int
    /// Row counts (activations per call).
    public var rows: [Int]
    public var repetitions: Int

    public init(threads: Int, rows: [Int], repetitions: Int, shapes: ShapeSet = .smollm2) {
        self.threads = threads; self.rows = rows; self.repetitions = repetitions; self.shapeSet = shapes
    }

    /// Measures every shape at every row count and prints a table row each.
    public func run(console: StudyConsole = .standard) {
        BLAS.setThreads(threads)
        console.output("threads: \(threads), cores: \(ProcessInfo.processInfo.activeProcessorCount), packed kernel: "
                       + (PackedMatrix.isAccelerated ? "\(KernelPath.active) (SEMPROG_KERNELS)" : "portable C")
                       + ", shapes: \(shapeSet.rawValue)")
        var rng = SplitMix64(seed: 1)
        console.output("shape          rows   packed GFLOP/s   tiles GFLOP/s (type)   OpenBLAS GFLOP/s   packed/BLAS   tiles/BLAS")
        for m in rows {
            for (name, n, k, type) in shapeSet.blockShapes {
                let x = (0..<(m * k)).map { _ in Float(rng.nextUnit() - 0.5) }
                let w = (0..<(n * k)).map { _ in Float(rng.nextUnit() - 0.5) }
                var y = [Float](repeating: 0, count: m * n)
                let packed = PackedMatrix(rowMajor: w, rows: n, cols: k)
                let blocks = RandomBlockMatrix(type: type, rows: n, cols: k, seed: 2)
                let flop = 2.0 * Double(m * n * k)
                let ours = Self.rate(flop: flop, repetitions: repetitions) { packed.multiply(x, count: m, into: &y, threads: threads) }
                let tiles = Self.rate(flop: flop, repetitions: repetitions) { blocks.multiplyTiles(x, count: m, into: &y, threads: threads) }
                let blas = Self.rate(flop: flop, repetitions: repetitions) {
                    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
                        if m == 1 {
                            BLAS.gemv(m: n, n: k, a: wp.baseAddress!, lda: k, x: xp.baseAddress!, y: yp.baseAddress!)
                        } else {
                            BLAS.gemm(transposeB: true, m: m, n: n, k: k, a: xp.baseAddress!, lda: k, b: wp.baseAddress!,
                                      ldb: k, c: yp.baseAddress!, ldc: n)
                        }
                    } } }
                }
                console.output(name.padding(toLength: 12, withPad: " ", startingAt: 0)
                               + String(format: " %6d   %14.1f   %13.1f", m, ours, tiles)
                               + " (\(type.name))".padding(toLength: 9, withPad: " ", startingAt: 0)
                               + String(format: "%16.1f   %10.2f×   %9.2f×", blas, ours / blas, tiles / blas))
            }
        }
    }

    /// Median GFLOP/s of `repetitions` runs, each repeating `body` for at least 0.2 s (after one warm-up call).
    static func rate(flop: Double, repetitions: Int, _ body: () -> Void) -> Double {
        body()
        var rates: [Double] = []
        for _ in 0..<repetitions {
            var calls = 0
            let start = Date()
            repeat { body(); calls += 1 } while Date().timeIntervalSince(start) < 0.2
            rates.append(flop * Double(calls) / Date().timeIntervalSince(start) / 1e9)
        }
        return rates.sorted()[rates.count / 2]
    }
}
