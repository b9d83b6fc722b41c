import ArgumentParser
import Foundation
import LanguageModel
import ModelFormats
import SparseAutoencoder
import Store
import Study
import Sweep
import Units

/// Options that identify the model and SAE of a run: the shared `--model` and `--sae`/`--hook` groups.
struct ModelOptions: ParsableArguments {
    @OptionGroup var languageModel: LanguageModelOptions
    @OptionGroup var saeOptions: SAEOptions

    /// `--model` as given (nil: the default model).
    var model: String? { languageModel.model }
    var sae: String { saeOptions.sae }
    var hook: String? { saeOptions.hook }
    var modelPath: String { languageModel.modelPath }
}

extension Semprog {
    struct SweepCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep",
            abstract: "Run a steering sweep: features × prompts × magnitudes, resumable, stored in SQLite.",
            discussion: """
            Each batch of generations is committed in one transaction; rerunning the same command skips what is \
            stored and regenerates the rest exactly (fixed batches, per-cell seeds). Changing a setting of an \
            existing sweep is refused: use another --name. --shard i/n runs a deterministic slice; merge shard \
            databases with 'semprog merge'.
            """)

        @OptionGroup var models: ModelOptions

        @Option(help: "Feature indices: comma-separated, ranges allowed (3,17,40-45).")
        var features: String?
        @Option(name: .customLong("feature-file"), help: "File with one feature index per line.")
        var featureFile: String?
        @Option(name: .customLong("top-features"), help: "Use the top N features (see --by).")
        var topFeatures: Int?
        @Option(help: "What --top-features ranks by: activation (summed over the prompts' tokens) or output-score (stored by 'semprog screen').")
        var by: FeatureRanking = .activation

        @Option(help: "Prompt file: one prompt per line, or JSONL with a 'prompt' field.")
        var prompts: String
        @Option(help: "Magnitudes: a comma-separated list or START:STOP:COUNT.")
        var magnitudes: String = SweepDefaults.magnitudes
        @Option(help: "Magnitude units: max-activation (multiples of the feature's max activation; default for clamp and add), absolute (activation values) or factor (default and only choice for scale).")
        var units: SweepConfiguration.Units?
        @Option(help: "Edit method: clamp, add or scale.")
        var method: EditMethod = .clamp
        @Option(help: "Edited positions: all, prompt or generated.")
        var positions: EditPositions = .all
        @Option(name: .customLong("max-tokens"), help: "New tokens per generation.")
        var maxTokens: Int = 32
        @Option(help: "Sampling temperature (0 = greedy).")
        var temperature: Double = 0
        @Option(name: .customLong("top-k"), help: "Top-k sampling (0 = off).")
        var topK: Int = 0
        @Option(name: .customLong("top-p"), help: "Top-p (nucleus) sampling.")
        var topP: Double = 1
        @Option(name: .customLong("repetition-penalty"), help: "Repetition penalty (1 = off).")
        var repetitionPenalty: Double = 1
        @Option(name: .customLong("frequency-penalty"), help: "Frequency penalty (0 = off).")
        var frequencyPenalty: Double = 0
        @Option(help: "Seed of the sweep (each cell derives its own).")
        var seed: UInt64 = 0
        @Flag(help: "Wrap prompts in the model's chat template (or --chat-template's).")
        var chat = false
        @OptionGroup var chatOptions: ChatOptions
        @Option(name: .customLong("batch-size"), help: "Sequences decoded together.")
        var batchSize: Int = 64
        @OptionGroup var databaseOptions: DatabaseOptions
        var db: String { databaseOptions.db }
        @Option(help: "Sweep name (default: 'default').")
        var name: String = "default"
        @Option(help: "Run only shard i of n (0-based), e.g. 0/4.")
        var shard: String?
        @OptionGroup var quietOptions: QuietOptions
        var quiet: Bool { quietOptions.quiet }

        func validate() throws {
            let selectors = [features != nil, featureFile != nil, topFeatures != nil].filter { $0 }.count
            guard selectors == 1 else {
                throw ValidationError("give exactly one of --features, --feature-file, --top-features")
            }
            guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
            guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0") }
            if let topFeatures, topFeatures < 1 { throw ValidationError("--top-features must be at least 1") }
        }

        /// `--units`, or the default of the edit method.
        var resolvedUnits: SweepConfiguration.Units { units ?? .defaultUnits(for: method) }

        func run() async throws {
            let magnitudeList = try Magnitudes.parse(magnitudes)
            let promptList = try PromptFile.read(path: prompts)
            let shardValue = try shard.map { try Shard(parsing: $0) }
            // Lists given by the user are checked before the model loads.
            let givenFeatures = try features.map(FeatureList.parse) ?? featureFile.map(FeatureList.read)
            let loaded = try SteeringSession.load(modelPath: models.modelPath, saePath: models.sae, hook: models.hook)
            try chatOptions.apply(to: loaded.model.tokenizer)
            let featureList: [Int]
            if let givenFeatures {
                featureList = givenFeatures
            } else if by == .outputScore {
                featureList = try FeatureScreen.topByOutputScore(databasePath: db,
                                                                 session: loaded, count: topFeatures ?? 8)
            } else {
                featureList = try loaded.mostActiveFeatures(on: promptList, count: topFeatures ?? 8, chat: chat)
            }
            let configuration = SweepConfiguration(
                modelPath: loaded.modelPath, modelSHA256: loaded.modelSHA256, saePath: loaded.saePath,
                saeSHA256: loaded.saeSHA256, hookName: loaded.sae.configuration.hookName, features: featureList,
                prompts: promptList, magnitudes: magnitudeList, units: resolvedUnits, method: method.rawValue,
                positions: positions.rawValue, maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
                repetitionPenalty: repetitionPenalty, frequencyPenalty: frequencyPenalty, seed: seed, chat: chat,
                batchSize: batchSize)
            try SweepRunner.validate(configuration, sae: loaded.sae)
            let store = try StoreDatabase(path: db)
            let maxActivations = try loaded.maxActivations(store: store, features: featureList,
                                                           required: resolvedUnits == .maxActivation)
            let runner = try SweepRunner(model: loaded.model, sae: loaded.sae, store: store,
                                         configuration: configuration, maxActivations: maxActivations)
            let line = ProgressLine("sweep \(name)", quiet: quiet)
            let summary = try runner.run(name: name, shard: shardValue) { p in
                let rate = p.elapsedSeconds > 0 ? Double(p.tokensNow) / p.elapsedSeconds : 0
                line.update(done: p.done, total: p.total, unit: "gen", extra: String(format: "%.0f tok/s", rate), force: true)
            }
            line.finish()
            Terminal.error(String(format: "sweep %@: %d generations in %.1f s (%d batches run, %d already done) → %@",
                                  name, summary.generations, summary.seconds, summary.batchesRun, summary.batchesSkipped, db))
        }
    }
}

/// How `sweep --top-features` ranks features.
enum FeatureRanking: String, ExpressibleByArgument, CaseIterable {
    case activation
    case outputScore = "output-score"
}

extension EditMethod: ExpressibleByArgument {}
extension ActivationPrecision: ExpressibleByArgument {}
extension EditPositions: ExpressibleByArgument {}
extension SweepConfiguration.Units: ExpressibleByArgument {}
