import ArgumentParser
import Foundation
import Randomness
import SparseAutoencoder
import Tensor

extension Semprog {
    /// `semprog bench sae`: encode+decode rows/s at the demo SAE size and SAE training tokens/s, on seeded
    /// Gaussian activations (no model needed), with the OpenBLAS thread count.
    struct BenchSAE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sae", abstract: "Benchmark SAE encode+decode and training throughput.")

        @Option(help: "Residual width d_in (SmolLM2-135M: 576).")
        var dIn: Int = 576

        @Option(help: "Latents d_sae (the demo SAE's size).")
        var latents: Int = 4096

        @Option(help: "TopK k.")
        var k: Int = 32

        @Option(help: "Rows encoded and decoded per measurement.")
        var rows: Int = 8192

        @Option(help: "Training tokens for the training measurement.")
        var trainingTokens: Int = 32_768

        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int { threadOptions.count }

        func validate() throws {
            guard dIn > 0, latents > 0, k > 0, k <= latents, rows > 0, trainingTokens > 0, threads >= 1 else {
                throw ValidationError("all sizes must be positive and --k ≤ --latents")
            }
        }

        func run() async throws {
            BLAS.setThreads(threads)
            var rng = SplitMix64(seed: 1)
            let x = Matrix(rows: rows, cols: dIn, values: (0..<(rows * dIn)).map { _ in Float(rng.nextGaussian()) })
            // The training measurement also yields the SAE whose encode+decode is timed.
            let trainRows = min(trainingTokens, 16_384)
            let data = Matrix(rows: trainRows, cols: dIn, values: (0..<(trainRows * dIn)).map { _ in Float(rng.nextGaussian()) })
            let settings = SAETrainingConfiguration(latents: latents, k: k, batchSize: 1024, trainingTokens: trainingTokens, seed: 1)
            let trainStart = Date()
            let sae = try SAETrainer(settings: settings).train(data, layer: 0).sae
            let trainSeconds = Date().timeIntervalSince(trainStart)

            _ = sae.decode(sae.encode(Matrix(rows: 64, cols: dIn, values: Array(x.values.prefix(64 * dIn)))))   // warm-up
            let start = Date()
            var batch = 0
            var checksum: Float = 0
            while batch < rows {
                let n = min(1024, rows - batch)
                let chunk = Matrix(rows: n, cols: dIn, values: Array(x.values[(batch * dIn)..<((batch + n) * dIn)]))
                checksum += sae.decode(sae.encode(chunk)).values[0]
                batch += n
            }
            let seconds = Date().timeIntervalSince(start)
            print("threads: \(BLAS.threads) (OpenBLAS)")
            print(String(format: "encode+decode  d_in %d  d_sae %d  k %d: %.0f rows/s (%d rows in %.2f s, checksum %.3f)",
                         dIn, latents, k, Double(rows) / seconds, rows, seconds, checksum))
            print(String(format: "training (TopK, batch 1024, Adam): %.0f tokens/s (%d tokens in %.2f s)",
                         Double(trainingTokens) / trainSeconds, trainingTokens, trainSeconds))
        }
    }
}
