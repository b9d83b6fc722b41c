import ArgumentParser
import Study

extension Semprog {
    /// `semprog train-sae`: trains a TopK (default) or L1 SAE on residual activations of a text corpus and saves it in
    /// SAELens' format with `semprog_training.json` (see `Study.SAETraining`).
    struct TrainSAE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train-sae",
            abstract: "Train a sparse autoencoder on residual activations of a text corpus (SAELens format).")

        @OptionGroup var modelOptions: LanguageModelOptions

        @Option(help: "Block after which the residual stream is read (0-based, hook_resid_post).")
        var layer: Int?

        @Option(help: "Read the activations at this TransformerLens hook instead: blocks.L.hook_resid_post, blocks.L.hook_resid_pre or blocks.L.hook_mlp_out (written to cfg.json's hook_name).")
        var hook: String?

        @Option(help: "Number of latents (d_sae).")
        var latents: Int

        @Option(help: "TopK: active latents per token (default 32 unless --l1 is given).")
        var k: Int?

        @Option(help: "Train a ReLU SAE with this L1 coefficient instead of TopK.")
        var l1: Float?

        @Option(parsing: .upToNextOption, help: "Text files (fortune files split at '%' lines, others at blank lines). Default: models/corpus/fortunes.txt.")
        var corpus: [String] = []

        @Option(help: "Activation tokens to collect (position 0 of each context excluded), held-out share included.")
        var tokens: Int = 120_000

        @Option(help: "Tokens per context fed to the model.")
        var contextLength: Int = 128

        @Option(help: "Share of the contexts held out for evaluation.")
        var heldOut: Double = 0.1

        @Option(help: "Training tokens processed (default: 3 passes over the training activations).")
        var trainingTokens: Int?

        @Option(help: "Tokens per Adam step.")
        var batchSize: Int = 1024

        @Option(help: "Adam learning rate.")
        var learningRate: Float = 1e-3

        @Option(help: "Seed of corpus shuffling, initialisation and batching.")
        var seed: UInt64 = 0

        @Option(help: "Output directory (replaced if it exists).")
        var out: String

        @OptionGroup var threadOptions: ThreadOptions

        @OptionGroup var quietOptions: QuietOptions

        func validate() throws {
            if (layer == nil) == (hook == nil) { throw ValidationError("give one of --layer and --hook") }
            if k != nil && l1 != nil { throw ValidationError("give at most one of --k and --l1") }
            guard latents > 0 else { throw ValidationError("--latents must be positive") }
            if let k, k <= 0 || k > latents { throw ValidationError("--k must lie in 1...--latents") }
            if let l1, !(l1 > 0) { throw ValidationError("--l1 must be positive") }
            guard tokens >= 100 else { throw ValidationError("--tokens must be at least 100") }
            guard contextLength >= 2 else { throw ValidationError("--context-length must be at least 2") }
            guard heldOut > 0, heldOut < 0.5 else { throw ValidationError("--held-out must lie in (0, 0.5)") }
            if let trainingTokens, trainingTokens <= 0 { throw ValidationError("--training-tokens must be positive") }
        }

        func run() async throws {
            try await Terminal.reportingErrors {
                try SAETraining(settings: .init(
                    model: modelOptions.modelPath, layer: layer ?? -1, latents: latents, k: k, l1: l1,
                    corpus: corpus.isEmpty ? [DefaultPaths.corpus] : corpus, tokens: tokens, contextLength: contextLength,
                    heldOut: heldOut, trainingTokens: trainingTokens, batchSize: batchSize, learningRate: learningRate,
                    seed: seed, out: out, threads: threadOptions.count, quiet: quietOptions.quiet,
                    command: (["semprog"] + CommandLine.arguments.dropFirst()).joined(separator: " "), hook: hook)).run()
            }
        }
    }
}
