import Foundation
import LanguageModel
import SparseAutoencoder
import Tensor

/// What `semprog train-sae` runs: residual activations after block `layer` over a text corpus (contexts start with
/// BOS when the tokenizer adds it; position 0 of each context is skipped), split into training and held-out
/// contexts; a TopK (default) or L1 SAE trained with Adam (`SAETrainer`); its reconstruction on the held-out activations; the SAE saved in SAELens' format (cfg.json,
/// sae_weights.safetensors, sparsity.safetensors) plus `semprog_training.json` (`SAETrainingReport`).
public struct SAETraining {
    /// The `train-sae` options (paths resolved).
    public struct Settings: Sendable {
        public var model: String
        /// Block after which the residual stream is read (0-based, hook_resid_post), when `hook` is nil.
        public var layer: Int
        /// The TransformerLens hook the activations are read at (`blocks.L.hook_resid_post`,
        /// `blocks.L.hook_resid_pre`, `blocks.L.hook_mlp_out`); nil: `blocks.{layer}.hook_resid_post`.
        public var hook: String?
        public var latents: Int
        /// TopK's active latents per token (nil: 32 unless `l1` is given).
        public var k: Int?
        /// The L1 coefficient of a ReLU SAE (nil: TopK).
        public var l1: Float?
        public var corpus: [String]
        /// Activation tokens to collect, held-out share included.
        public var tokens: Int
        public var contextLength: Int
        /// Share of the contexts held out for evaluation, in (0, 0.5).
        public var heldOut: Double
        /// Training tokens processed (nil: 3 passes over the training activations).
        public var trainingTokens: Int?
        public var batchSize: Int
        public var learningRate: Float
        public var seed: UInt64
        /// Output directory (replaced if it exists).
        public var out: String
        public var threads: Int
        public var quiet: Bool
        /// The command line, recorded in `semprog_training.json`.
        public var command: String

        public init(model: String, layer: Int, latents: Int, k: Int?, l1: Float?, corpus: [String], tokens: Int,
                    contextLength: Int, heldOut: Double, trainingTokens: Int?, batchSize: Int, learningRate: Float,
                    seed: UInt64, out: String, threads: Int, quiet: Bool, command: String, hook: String? = nil) {
            self.model = model; self.layer = layer; self.hook = hook; self.latents = latents; self.k = k; self.l1 = l1
            self.corpus = corpus; self.tokens = tokens; self.contextLength = contextLength; self.heldOut = heldOut
            self.trainingTokens = trainingTokens; self.batchSize = batchSize; self.learningRate = learningRate
            self.seed = seed; self.out = out; self.threads = threads; self.quiet = quiet; self.command = command
        }
    }

    public var settings: Settings

    public init(settings: Settings) { self.settings = settings }

    /// The hook the activations are read at: `settings.hook` (checked: a block hook semprog's models expose), else
    /// `blocks.{layer}.hook_resid_post`; with its site and `ResidualHook` layer (−1 for `blocks.0.hook_resid_pre`).
    func hookPoint() throws -> (name: String, site: HookSite, layer: Int) {
        guard let name = settings.hook else { return ("blocks.\(settings.layer).hook_resid_post", .residPost, settings.layer) }
        guard let (site, layer) = HookSite.parse(name) else {
            throw StudyError.invalidArgument("--hook: '\(name)' is not a hook semprog reads (blocks.L.hook_resid_post, blocks.L.hook_resid_pre, blocks.L.hook_mlp_out)")
        }
        return (name, site, layer)
    }

    /// Contexts held out for evaluation: `share` of `contexts`, rounded, at least one (the last ones).
    static func heldOutCount(contexts: Int, share: Double) -> Int {
        max(1, Int((Double(contexts) * share).rounded()))
    }

    /// The trainer's settings for `trainingRows` training activations: TopK with `k` (default 32) unless an L1
    /// coefficient is given; 3 passes over the data unless `trainingTokens` is given; a latent is dead after
    /// half the training rows without firing, clamped to 10,000…100,000 tokens.
    func trainingConfiguration(trainingRows: Int) -> SAETrainingConfiguration {
        SAETrainingConfiguration(
            latents: settings.latents, k: settings.l1 == nil ? (settings.k ?? 32) : nil, l1Coefficient: settings.l1,
            learningRate: settings.learningRate, batchSize: settings.batchSize,
            trainingTokens: settings.trainingTokens ?? 3 * trainingRows, seed: settings.seed,
            deadAfterTokens: min(100_000, max(10_000, trainingRows / 2)))
    }

    /// Collects, trains, evaluates and saves; prints the held-out metrics and the timings.
    public func run(console: StudyConsole = .standard) throws {
        let s = settings
        let started = Date()
        let hook = try hookPoint()
        let documents = try TextCorpus.load(paths: s.corpus)
        let lm = try LlamaModel.load(path: s.model, threads: s.threads)
        if hook.layer >= 0 { try lm.validate(layer: hook.layer, argument: s.hook == nil ? "--layer" : "--hook \(hook.name)") }
        let separator = lm.tokenizer.encode("\n\n")
        let contexts = TextCorpus.contexts(documents: documents, tokenize: { lm.tokenizer.encode($0, parseSpecial: false) },
                                           separator: separator, contextLength: s.contextLength, tokens: s.tokens, seed: s.seed,
                                           bos: lm.tokenizer.addsBOS ? lm.tokenizer.bosID : nil)
        guard contexts.count >= 2 else { throw StudyError.invalidArgument("--corpus: too little text for two contexts") }
        let heldOutCount = Self.heldOutCount(contexts: contexts.count, share: s.heldOut)
        let trainContexts = Array(contexts.dropLast(heldOutCount)), heldOutContexts = Array(contexts.suffix(heldOutCount))

        let collecting = ProgressLine("collecting activations", quiet: s.quiet)
        let trainData = try ResidualCollector.collect(model: lm, site: hook.site, layer: hook.layer, contexts: trainContexts) {
            collecting.update(done: $0, total: $1, unit: "tok")
        }
        let heldOutData = try ResidualCollector.collect(model: lm, site: hook.site, layer: hook.layer, contexts: heldOutContexts)
        collecting.finish()
        let collectSeconds = Date().timeIntervalSince(started)
        console.diagnostic(String(format: "collected %d training + %d held-out activations at %@ in %.1f s (%.0f tok/s)",
                                  trainData.rows, heldOutData.rows, hook.name, collectSeconds,
                                  Double(trainData.rows + heldOutData.rows) / collectSeconds))

        let configuration = trainingConfiguration(trainingRows: trainData.rows)
        let trainStart = Date()
        let training = ProgressLine("training", quiet: s.quiet)
        let result = try SAETrainer(settings: configuration).train(
            trainData, layer: hook.layer, hook: hook.name, modelName: URL(fileURLWithPath: s.model).deletingPathExtension().lastPathComponent,
            datasetPath: s.corpus.joined(separator: ","), contextSize: s.contextLength, prependBOS: lm.tokenizer.addsBOS) { p in
            training.update(done: p.tokensSeen, total: p.steps * min(configuration.batchSize, trainData.rows), unit: "tok",
                            extra: String(format: "loss %.3f fvu %.3f dead %.1f%%", p.loss,
                                          p.fractionOfVarianceUnexplained, 100 * p.deadFraction))
        }
        training.finish()
        let trainSeconds = Date().timeIntervalSince(trainStart)
        let evaluation = result.sae.evaluate(heldOutData)
        try result.sae.save(to: s.out, sparsity: result.log10Density)
        let report = SAETrainingReport(
            command: s.command, settings: configuration, layer: hook.layer, hook: hook.name, contextLength: s.contextLength,
            trainingActivations: trainData.rows, heldOutActivations: heldOutData.rows,
            collectionSeconds: collectSeconds, trainingSeconds: trainSeconds, threads: BLAS.threads,
            heldOut: .init(l0: evaluation.l0, mse: evaluation.meanSquaredError,
                           explainedVariance: evaluation.explainedVariance, deadFraction: evaluation.deadFraction),
            trainingDeadFraction: Double(result.deadFraction))
        try report.write(toDirectory: s.out)
        console.output(String(format: "held-out (%d tokens): L0 %.1f  MSE %.5f  explained variance %.3f  dead %.1f%% (training: %.1f%%)",
                              evaluation.tokens, evaluation.l0, evaluation.meanSquaredError, evaluation.explainedVariance,
                              100 * evaluation.deadFraction, 100 * result.deadFraction))
        console.output(String(format: "trained %d steps (%.0f tok/s, %d threads) in %.1f s; total %.1f s; saved %@",
                              result.steps, Double(configuration.trainingTokens) / trainSeconds, BLAS.threads, trainSeconds,
                              Date().timeIntervalSince(started), s.out))
    }
}

/// `semprog_training.json`, written beside a trained SAE: the command, the trainer's settings, the data sizes, the
/// timings (seconds) and the held-out reconstruction metrics.
public struct SAETrainingReport: Codable, Equatable, Sendable {
    /// Reconstruction quality on held-out activations: mean active latents (L0), mean squared error per element,
    /// explained variance 1 − SSE/SST, and the share of latents that never fired.
    public struct Metrics: Codable, Equatable, Sendable {
        public var l0: Double, mse: Double, explainedVariance: Double, deadFraction: Double
        enum CodingKeys: String, CodingKey {
            case l0, mse, explainedVariance = "explained_variance", deadFraction = "dead_fraction"
        }
    }

    public var command: String
    public var settings: SAETrainingConfiguration
    /// The `ResidualHook` layer of the hook (−1 for `blocks.0.hook_resid_pre`).
    public var layer: Int
    /// The TransformerLens hook the activations were read at (absent in reports of older versions: resid_post).
    public var hook: String?
    public var contextLength: Int
    public var trainingActivations: Int
    public var heldOutActivations: Int
    public var collectionSeconds: Double
    public var trainingSeconds: Double
    public var threads: Int
    public var heldOut: Metrics
    public var trainingDeadFraction: Double

    enum CodingKeys: String, CodingKey {
        case command, settings, layer, hook, threads
        case contextLength = "context_length", trainingActivations = "training_activations"
        case heldOutActivations = "held_out_activations", collectionSeconds = "collection_seconds"
        case trainingSeconds = "training_seconds", heldOut = "held_out", trainingDeadFraction = "training_dead_fraction"
    }

    public static let fileName = "semprog_training.json"

    /// Pretty-printed JSON with sorted keys, as `DIR/semprog_training.json`.
    public func write(toDirectory directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName))
    }
}
