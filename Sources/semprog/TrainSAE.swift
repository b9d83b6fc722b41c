import ArgumentParser
import Foundation
import LanguageModel
import SparseAutoencoder
import Study
import Tensor

extension Semprog {
    /// `semprog train-sae`: collects residual activations after block L over a real text corpus (position 0 of
    /// each context skipped), trains a TopK (default) or L1 SAE with Adam, evaluates it on held-out contexts and
    /// saves it in SAELens' format (cfg.json, sae_weights.safetensors, sparsity.safetensors) plus
    /// `semprog_training.json` (settings and held-out metrics).
    struct TrainSAE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train-sae",
            abstract: "Train a sparse autoencoder on residual activations of a text corpus (SAELens format).")

        @OptionGroup var modelOptions: LanguageModelOptions
        var model: String { modelOptions.modelPath }

        @Option(help: "Block after which the residual stream is read (0-based, hook_resid_post).")
        var layer: Int

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
        var threads: Int { threadOptions.count }

        @OptionGroup var quietOptions: QuietOptions
        var quiet: Bool { quietOptions.quiet }

        func validate() throws {
            if k != nil && l1 != nil { throw ValidationError("give at most one of --k and --l1") }
            guard latents > 0 else { throw ValidationError("--latents must be positive") }
            if let k, k <= 0 || k > latents { throw ValidationError("--k must lie in 1...--latents") }
            if let l1, !(l1 > 0) { throw ValidationError("--l1 must be positive") }
            guard tokens >= 100 else { throw ValidationError("--tokens must be at least 100") }
            guard contextLength >= 2 else { throw ValidationError("--context-length must be at least 2") }
            guard heldOut > 0, heldOut < 0.5 else { throw ValidationError("--held-out must lie in (0, 0.5)") }
            guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
            if let trainingTokens, trainingTokens <= 0 { throw ValidationError("--training-tokens must be positive") }
        }

        func run() async throws {
            do { try train() } catch let error as ExitCode { throw error } catch {
                Terminal.error("Error: \(error.localizedDescription)")
                throw ExitCode.failure
            }
        }

        func train() throws {
            let started = Date()
            let corpusPaths = corpus.isEmpty ? [DefaultPaths.corpus] : corpus
            let documents = try TextCorpus.load(paths: corpusPaths)
            let lm = try LlamaModel.load(path: model, threads: threads)
            try lm.validate(layer: layer, argument: "--layer")
            let separator = lm.tokenizer.encode("\n\n")
            let contexts = TextCorpus.contexts(documents: documents, tokenize: { lm.tokenizer.encode($0, parseSpecial: false) },
                                               separator: separator, contextLength: contextLength, tokens: tokens, seed: seed,
                                               bos: lm.tokenizer.addsBOS ? lm.tokenizer.bosID : nil)
            guard contexts.count >= 2 else {
                throw CLIError.invalidArgument("--corpus: too little text for two contexts")
            }
            let heldOutCount = max(1, Int((Double(contexts.count) * heldOut).rounded()))
            let trainContexts = Array(contexts.dropLast(heldOutCount)), heldOutContexts = Array(contexts.suffix(heldOutCount))

            let collecting = ProgressLine("collecting activations", quiet: quiet)
            let trainData = try ResidualCollector.collect(model: lm, layer: layer, contexts: trainContexts) {
                collecting.update(done: $0, total: $1, unit: "tok")
            }
            let heldOutData = try ResidualCollector.collect(model: lm, layer: layer, contexts: heldOutContexts)
            collecting.finish()
            let collectSeconds = Date().timeIntervalSince(started)
            Terminal.error(String(format: "collected %d training + %d held-out activations at layer %d in %.1f s (%.0f tok/s)",
                                  trainData.rows, heldOutData.rows, layer, collectSeconds,
                                  Double(trainData.rows + heldOutData.rows) / collectSeconds))

            let settings = SAETrainingConfiguration(
                latents: latents, k: l1 == nil ? (k ?? 32) : nil, l1Coefficient: l1, learningRate: learningRate,
                batchSize: batchSize, trainingTokens: trainingTokens ?? 3 * trainData.rows, seed: seed,
                deadAfterTokens: min(100_000, max(10_000, trainData.rows / 2)))
            let trainStart = Date()
            let training = ProgressLine("training", quiet: quiet)
            let result = try SAETrainer(settings: settings).train(
                trainData, layer: layer, modelName: URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent,
                datasetPath: corpusPaths.joined(separator: ","), contextSize: contextLength,
                prependBOS: lm.tokenizer.addsBOS) { p in
                training.update(done: p.tokensSeen, total: p.steps * min(settings.batchSize, trainData.rows), unit: "tok",
                                extra: String(format: "loss %.3f fvu %.3f dead %.1f%%", p.loss,
                                              p.fractionOfVarianceUnexplained, 100 * p.deadFraction))
            }
            training.finish()
            let trainSeconds = Date().timeIntervalSince(trainStart)
            let evaluation = result.sae.evaluate(heldOutData)
            try result.sae.save(to: out, sparsity: result.log10Density)
            let report = TrainingReport(
                command: (["semprog"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                settings: settings, layer: layer, contextLength: contextLength,
                trainingActivations: trainData.rows, heldOutActivations: heldOutData.rows,
                collectionSeconds: collectSeconds, trainingSeconds: trainSeconds, threads: BLAS.threads,
                heldOut: Metrics(l0: evaluation.l0, mse: evaluation.meanSquaredError,
                                 explainedVariance: evaluation.explainedVariance, deadFraction: evaluation.deadFraction),
                trainingDeadFraction: Double(result.deadFraction))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(report).write(to: URL(fileURLWithPath: out).appendingPathComponent("semprog_training.json"))
            print(String(format: "held-out (%d tokens): L0 %.1f  MSE %.5f  explained variance %.3f  dead %.1f%% (training: %.1f%%)",
                         evaluation.tokens, evaluation.l0, evaluation.meanSquaredError, evaluation.explainedVariance,
                         100 * evaluation.deadFraction, 100 * result.deadFraction))
            print(String(format: "trained %d steps (%.0f tok/s, %d threads) in %.1f s; total %.1f s; saved %@",
                         result.steps, Double(settings.trainingTokens) / trainSeconds, BLAS.threads, trainSeconds,
                         Date().timeIntervalSince(started), out))
        }
    }

    struct Metrics: Codable {
        var l0: Double, mse: Double, explainedVariance: Double, deadFraction: Double
        enum CodingKeys: String, CodingKey {
            case l0, mse, explainedVariance = "explained_variance", deadFraction = "dead_fraction"
        }
    }

    /// `semprog_training.json`, written beside the SAE.
    struct TrainingReport: Codable {
        var command: String
        var settings: SAETrainingConfiguration
        var layer: Int
        var contextLength: Int
        var trainingActivations: Int
        var heldOutActivations: Int
        var collectionSeconds: Double
        var trainingSeconds: Double
        var threads: Int
        var heldOut: Metrics
        var trainingDeadFraction: Double
        enum CodingKeys: String, CodingKey {
            case command, settings, layer, threads
            case contextLength = "context_length", trainingActivations = "training_activations"
            case heldOutActivations = "held_out_activations", collectionSeconds = "collection_seconds"
            case trainingSeconds = "training_seconds", heldOut = "held_out", trainingDeadFraction = "training_dead_fraction"
        }
    }
}
