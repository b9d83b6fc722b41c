import Foundation
import Randomness
import SparseAutoencoder
import Tensor

/// What `semprog bench sae` measures: TopK SAE training tokens/s (Adam, batch 1024) and encode+decode rows/s at the
/// demo SAE's size, on seeded Gaussian activations (SplitMix64 seed 1; no model needed), with the OpenBLAS thread
/// count. The training run also yields the SAE whose encode+decode is timed. Not a test: the numbers depend on
/// the machine.
public struct SAEBenchmark {
    public var dIn: Int
    public var latents: Int
    public var k: Int
    /// Rows encoded and decoded, 1024 at a time.
    public var rows: Int
    /// Training tokens (on at most 16,384 distinct rows).
    public var trainingTokens: Int
    public var threads: Int

    public init(dIn: Int, latents: Int, k: Int, rows: Int, trainingTokens: Int, threads: Int) {
        self.dIn = dIn; self.latents = latents; self.k = k; self.rows = rows; self.trainingTokens = trainingTokens
        self.threads = threads
    }

    public func run(console: StudyConsole = .standard) throws {
        BLAS.setThreads(threads)
        var rng = SplitMix64(seed: 1)
        let x = Matrix(rows: rows, cols: dIn, values: (0..<(rows * dIn)).map { _ in Float(rng.nextGaussian()) })
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
        console.output("threads: \(BLAS.threads) (OpenBLAS)")
        console.output(String(format: "encode+decode  d_in %d  d_sae %d  k %d: %.0f rows/s (%d rows in %.2f s, checksum %.3f)",
                              dIn, latents, k, Double(rows) / seconds, rows, seconds, checksum))
        console.output(String(format: "training (TopK, batch 1024, Adam): %.0f tokens/s (%d tokens in %.2f s)",
                              Double(trainingTokens) / trainSeconds, trainingTokens, trainSeconds))
    }
}
