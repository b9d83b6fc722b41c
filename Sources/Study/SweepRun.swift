import Foundation
import SparseAutoencoder
import Store
import Sweep
import Units

/// What `semprog sweep` runs: features × prompts × magnitudes of steered generations, stored in the database batch
/// by batch (`SweepRunner`: resumable, deterministic per cell, optionally one shard of the batches).
public struct SweepRun {
    /// How the swept features are chosen.
    public enum FeatureSelection: Sendable, Equatable {
        /// Indices as written (`3,17,40-45`).
        case list(String)
        /// A file with one index per line.
        case file(String)
        /// The top `count` features by `ranking`.
        case top(count: Int, by: FeatureRanking)
    }

    /// What `--top-features` ranks by.
    public enum FeatureRanking: String, CaseIterable, Sendable {
        /// Activation summed over the prompts' tokens (position 0 excluded).
        case activation
        /// The output score stored by `semprog screen`.
        case outputScore = "output-score"
    }

    /// The `sweep` options (paths as given).
    public struct Settings: Sendable {
        public var model: String
        public var sae: String
        public var hook: String?
        public var features: FeatureSelection
        /// Prompt file: one prompt per line, or JSONL with a `prompt` field.
        public var prompts: String
        /// Magnitudes as written: a comma-separated list or START:STOP:COUNT.
        public var magnitudes: String
        /// Their unit (nil: the edit method's default, `MagnitudeUnit.defaultUnits(for:)`).
        public var units: MagnitudeUnit?
        public var method: EditMethod
        public var positions: EditPositions
        public var maxTokens: Int
        public var temperature: Double
        public var topK: Int
        public var topP: Double
        public var repetitionPenalty: Double
        public var frequencyPenalty: Double
        public var seed: UInt64
        public var chat: Bool
        /// A chat template file replacing the model's (`ChatTemplateOverride`).
        public var chatTemplate: String?
        public var batchSize: Int
        public var database: String
        public var name: String
        /// `i/n`: run only shard i of n.
        public var shard: String?
        public var quiet: Bool

        public init(model: String, sae: String, hook: String?, features: FeatureSelection, prompts: String,
                    magnitudes: String, units: MagnitudeUnit?, method: EditMethod, positions: EditPositions, maxTokens: Int,
                    temperature: Double, topK: Int, topP: Double, repetitionPenalty: Double, frequencyPenalty: Double,
                    seed: UInt64, chat: Bool, chatTemplate: String?, batchSize: Int, database: String, name: String,
                    shard: String?, quiet: Bool) {
            self.model = model; self.sae = sae; self.hook = hook; self.features = features; self.prompts = prompts
            self.magnitudes = magnitudes; self.units = units; self.method = method; self.positions = positions
            self.maxTokens = maxTokens; self.temperature = temperature; self.topK = topK; self.topP = topP
            self.repetitionPenalty = repetitionPenalty; self.frequencyPenalty = frequencyPenalty; self.seed = seed
            self.chat = chat; self.chatTemplate = chatTemplate; self.batchSize = batchSize; self.database = database
            self.name = name; self.shard = shard; self.quiet = quiet
        }

        /// `units`, or the default of the edit method.
        public var resolvedUnits: MagnitudeUnit { units ?? .defaultUnits(for: method) }
    }

    public var settings: Settings

    public init(settings: Settings) { self.settings = settings }

    /// Checks the lists the user gave (magnitudes, prompts, shard, features) before the model loads, then loads the
    /// model and SAE, chooses the features, runs the sweep and prints one line of what was done.
    public func run(console: StudyConsole = .standard) throws {
        let s = settings
        let magnitudeList = try Magnitudes.parse(s.magnitudes)
        let promptList = try PromptFile.read(path: s.prompts)
        let shardValue = try s.shard.map { try Shard(parsing: $0) }
        // Lists given by the user are checked before the model loads.
        let givenFeatures: [Int]?
        switch s.features {
        case let .list(text): givenFeatures = try FeatureList.parse(text)
        case let .file(path): givenFeatures = try FeatureList.read(path: path)
        case .top: givenFeatures = nil
        }
        let loaded = try SteeringSession.load(modelPath: s.model, saePath: s.sae, hook: s.hook)
        try ChatTemplateOverride.apply(s.chatTemplate, to: loaded.model.tokenizer)
        let featureList: [Int]
        switch s.features {
        case .list, .file: featureList = givenFeatures ?? []
        case let .top(count, .outputScore):
            featureList = try FeatureScreen.topByOutputScore(databasePath: s.database, session: loaded, count: count)
        case let .top(count, .activation):
            featureList = try loaded.mostActiveFeatures(on: promptList, count: count, chat: s.chat)
        }
        let configuration = SweepConfiguration(
            modelPath: loaded.modelPath, modelSHA256: loaded.modelSHA256, saePath: loaded.saePath,
            saeSHA256: loaded.saeSHA256, hookName: loaded.sae.configuration.hookName, features: featureList,
            prompts: promptList, magnitudes: magnitudeList, units: s.resolvedUnits, method: s.method.rawValue,
            positions: s.positions.rawValue, maxTokens: s.maxTokens, temperature: s.temperature, topK: s.topK, topP: s.topP,
            repetitionPenalty: s.repetitionPenalty, frequencyPenalty: s.frequencyPenalty, seed: s.seed, chat: s.chat,
            batchSize: s.batchSize)
        try SweepRunner.validate(configuration, sae: loaded.sae)
        let store = try StoreDatabase(path: s.database)
        let maxActivations = try loaded.maxActivations(store: store, features: featureList,
                                                       required: s.resolvedUnits == .maxActivation)
        let runner = try SweepRunner(model: loaded.model, sae: loaded.sae, store: store,
                                     configuration: configuration, maxActivations: maxActivations)
        let line = ProgressLine("sweep \(s.name)", quiet: s.quiet)
        let summary = try runner.run(name: s.name, shard: shardValue) { p in
            let rate = p.elapsedSeconds > 0 ? Double(p.tokensNow) / p.elapsedSeconds : 0
            line.update(done: p.done, total: p.total, unit: "gen", extra: String(format: "%.0f tok/s", rate), force: true)
        }
        line.finish()
        console.diagnostic(String(format: "sweep %@: %d generations in %.1f s (%d batches run, %d already done) → %@",
                                  s.name, summary.generations, summary.seconds, summary.batchesRun, summary.batchesSkipped,
                                  s.database))
    }
}
