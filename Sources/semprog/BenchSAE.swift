import ArgumentParser
import Study

extension Semprog {
    /// `semprog bench sae`: encode+decode rows/s at the demo SAE size and SAE training tokens/s, on seeded
    /// Gaussian activations (no model needed), with the OpenBLAS thread count (see `Study.SAEBenchmark`).
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

        func validate() throws {
            guard dIn > 0, latents > 0, k > 0, k <= latents, rows > 0, trainingTokens > 0 else {
                throw ValidationError("all sizes must be positive and --k ≤ --latents")
            }
        }

        func run() async throws {
            try SAEBenchmark(dIn: dIn, latents: latents, k: k, rows: rows, trainingTokens: trainingTokens,
                             threads: threadOptions.count).run()
        }
    }
}
