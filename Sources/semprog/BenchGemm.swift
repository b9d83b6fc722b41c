import ArgumentParser
import Foundation
import Randomness
import Tensor

extension Semprog {
    /// `semprog bench gemm`: GFLOP/s of semprog's packed-panel kernel against OpenBLAS' `cblas_sgemm` on the
    /// language model's shapes (Y = X·Wᵀ, X rows × k, W n × k), both on `--threads` threads, medians of
    /// `--repetitions` timed runs of at least 0.2 s each.
    struct BenchGemm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gemm",
            abstract: "Benchmark the packed GEMM kernel against OpenBLAS on SmolLM2's matrix shapes.")

        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int { threadOptions.count }

        @Option(help: "Comma-separated row counts (activations per call).")
        var rows: String = "1,8,64,512"

        @Option(help: "Runs per measurement (the median is printed).")
        var repetitions: Int = 3

        func validate() throws {
            guard threads >= 1, repetitions >= 1 else { throw ValidationError("--threads and --repetitions must be ≥ 1") }
            guard let r = Self.parse(rows), !r.isEmpty else { throw ValidationError("--rows: comma-separated positive integers") }
        }

        static func parse(_ list: String) -> [Int]? {
            let v = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard v.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            return v.map { $0! }
        }

        func run() throws {
            BLAS.setThreads(threads)
            print("threads: \(threads), cores: \(ProcessInfo.processInfo.activeProcessorCount), packed kernel: \(PackedMatrix.isAccelerated ? "\(KernelPath.active) (SEMPROG_KERNELS)" : "portable C")")
            // (name, n, k): SmolLM2-135M's fused QKV, attention output, gate+up, down and unembedding.
            let shapes = [("qkv", 960, 576), ("attn_out", 576, 576), ("gate_up", 3072, 576), ("down", 576, 1536),
                          ("unembed", 49152, 576)]
            var rng = SplitMix64(seed: 1)
            print("shape          rows   packed GFLOP/s   OpenBLAS GFLOP/s   ratio")
            for m in Self.parse(rows)! {
                for (name, n, k) in shapes {
                    let x = (0..<(m * k)).map { _ in Float(rng.nextUnit() - 0.5) }
                    let w = (0..<(n * k)).map { _ in Float(rng.nextUnit() - 0.5) }
                    var y = [Float](repeating: 0, count: m * n)
                    let packed = PackedMatrix(rowMajor: w, rows: n, cols: k)
                    let flop = 2.0 * Double(m * n * k)
                    let ours = Self.rate(flop: flop, repetitions: repetitions) {
                        packed.multiply(x, count: m, into: &y, threads: threads)
                    }
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
                    print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: " %6d   %14.1f   %16.1f   %5.2f×", m, ours, blas, ours / blas))
                }
            }
        }

        /// Median GFLOP/s of `repetitions` runs, each repeating `body` for at least 0.2 s.
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
}
