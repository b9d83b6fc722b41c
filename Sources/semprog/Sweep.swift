import ArgumentParser
import SparseAutoencoder
import Study
import Sweep
import Units

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
        var by: SweepRun.FeatureRanking = .activation

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
        @Option(help: "Sweep name (default: 'default').")
        var name: String = "default"
        @Option(help: "Run only shard i of n (0-based), e.g. 0/4.")
        var shard: String?
        @OptionGroup var quietOptions: QuietOptions

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

        func run() async throws {
            let selection: SweepRun.FeatureSelection = features.map { .list($0) } ?? featureFile.map { .file($0) }
                ?? .top(count: topFeatures ?? 8, by: by)
            try SweepRun(settings: .init(
                model: models.modelPath, sae: models.sae, hook: models.hook, features: selection, prompts: prompts,
                magnitudes: magnitudes, units: units, method: method, positions: positions, maxTokens: maxTokens,
                temperature: temperature, topK: topK, topP: topP, repetitionPenalty: repetitionPenalty,
                frequencyPenalty: frequencyPenalty, seed: seed, chat: chat, chatTemplate: chatOptions.chatTemplate,
                batchSize: batchSize, database: databaseOptions.db, name: name, shard: shard, quiet: quietOptions.quiet)).run()
        }
    }
}

extension SweepRun.FeatureRanking: ExpressibleByArgument {}
extension EditMethod: ExpressibleByArgument {}
extension EditPositions: ExpressibleByArgument {}
extension SweepConfiguration.Units: ExpressibleByArgument {}
