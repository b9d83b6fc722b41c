import Foundation
import LanguageModel
import ModelFormats
import SparseAutoencoder
import Store
import Tensor

/// What `semprog explain` runs: feature statistics of an SAE over a text corpus (density, max activation, top
/// contexts, promoted/suppressed tokens) and semprog's built-in explanation of each feature, written as JSON lines
/// and optionally stored in the database against the SAE.
public struct FeatureExplanationRun {
    /// Settings of one run (the `semprog explain` options, paths already resolved).
    public struct Settings {
        public var model: String
        public var sae: String
        /// Hook overriding the SAE's own (nil: the SAE's).
        public var hook: String?
        /// Text files to scan.
        public var corpus: [String]
        /// Corpus tokens to scan (position 0 of each context excluded).
        public var tokens: Int
        public var contextLength: Int
        /// Feature indices as the user wrote them (comma-separated; nil: all).
        public var features: String?
        public var contexts: Int
        public var promotedTokens: Int
        public var seed: UInt64
        /// Output JSON-lines file (nil: <sae>/semprog_features.jsonl).
        public var out: String?
        /// Database to store the statistics in (nil: none).
        public var database: String?
        public var threads: Int
        public var quiet: Bool

        public init(model: String, sae: String, hook: String?, corpus: [String], tokens: Int, contextLength: Int,
                    features: String?, contexts: Int, promotedTokens: Int, seed: UInt64, out: String?,
                    database: String?, threads: Int, quiet: Bool) {
            self.model = model; self.sae = sae; self.hook = hook; self.corpus = corpus; self.tokens = tokens
            self.contextLength = contextLength; self.features = features; self.contexts = contexts
            self.promotedTokens = promotedTokens; self.seed = seed; self.out = out; self.database = database
            self.threads = threads; self.quiet = quiet
        }
    }

    /// What a run produced.
    public struct Outcome {
        public var statistics: [FeatureStatistics]
        /// Features with a built-in explanation (the others never fired).
        public var explained: Int
        /// Tokens scanned.
        public var tokens: Int
        /// The JSON-lines file written.
        public var path: String
        /// Whether `--features` selected the features (else all were computed).
        public var selected: Bool
    }

    /// One line of the output file.
    struct Line: Encodable {
        var statistics: FeatureStatistics
        var explanation: String?
        var source: String
        func encode(to encoder: Encoder) throws {
            try statistics.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(explanation, forKey: .explanation)
            try c.encode(source, forKey: .source)
        }
        enum Keys: String, CodingKey { case explanation, source }
    }

    public let settings: Settings

    public init(settings: Settings) { self.settings = settings }

    /// Registers the SAE (path as given, SHA-256 of its weights, as `semprog sweep` does) and upserts its
    /// features' statistics and built-in explanations in one transaction. `top_contexts` holds the JSON array
    /// of `FeatureContext`, `promoted_tokens` the JSON array of `TokenLogit`.
    public static func store(_ statistics: [FeatureStatistics], saePath: String, configuration: SAEConfiguration,
                             weightsPath: String? = nil, database: String) throws {
        let db = try StoreDatabase(path: database)
        // Absolute, standardized path: the store identifies an SAE by path + content hash (as sweep does).
        let saePath = URL(fileURLWithPath: saePath).standardizedFileURL.path
        // The weights file of whichever format the SAE came in (as `SteeringSession` hashes it).
        let sha = try SHA256Digest.hex(ofFile: weightsPath ?? saePath + "/sae_weights.safetensors")
        let saeId = try db.registerSAE(SAERecord(path: saePath, sha256: sha, hook: configuration.hookName,
                                                 dIn: configuration.dIn, dSAE: configuration.dSae,
                                                 architecture: configuration.architecture.rawValue,
                                                 neuronpediaId: configuration.neuronpediaID))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
        var features: [FeatureRecord] = [], explanations: [StoreDatabase.NewExplanation] = []
        for s in statistics {
            features.append(FeatureRecord(saeId: saeId, featureIndex: s.feature, maxActivation: Double(s.maxActivation),
                                          fractionNonzero: s.fractionNonzero, topContexts: try json(s.topContexts),
                                          promotedTokens: try json(s.promotedTokens)))
            if let text = BuiltInExplainer.explain(s) {
                explanations.append(.init(featureIndex: s.feature, source: BuiltInExplainer.source, text: text))
            }
        }
        try db.saveFeatureStatistics(saeId: saeId, features: features, explanations: explanations)
    }

    /// Parses a comma-separated feature list, each index checked against the SAE.
    static func parseFeatures(_ text: String, autoencoder: SparseAutoencoder) throws -> [Int] {
        var list: [Int] = []
        for part in text.split(separator: ",") {
            guard let i = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw StudyError.invalidArgument("--features: '\(part)' is not a feature index")
            }
            do { try autoencoder.checkFeature(i) } catch { throw StudyError.invalidArgument("--features: \(error.localizedDescription)") }
            list.append(i)
        }
        return list
    }

    /// Scans the corpus, writes the JSON-lines file (atomically) and, with a database, stores the statistics.
    public func run() throws -> Outcome {
        let autoencoder = try SparseAutoencoder.load(directory: settings.sae, hook: settings.hook)
        let selected = try settings.features.map { try Self.parseFeatures($0, autoencoder: autoencoder) }
        let documents = try TextCorpus.load(paths: settings.corpus)
        let lm = try LlamaModel.load(path: settings.model, threads: settings.threads)
        try autoencoder.check(modelWidth: lm.configuration.dModel, layerCount: lm.configuration.layerCount)
        let windows = TextCorpus.contexts(documents: documents, tokenize: { lm.tokenizer.encode($0, parseSpecial: false) },
                                          separator: lm.tokenizer.encode("\n\n"), contextLength: settings.contextLength,
                                          tokens: settings.tokens, seed: settings.seed,
                                          bos: lm.tokenizer.addsBOS ? lm.tokenizer.bosID : nil)
        var accumulator = FeatureStatisticsAccumulator(dSae: autoencoder.configuration.dSae, contextCount: settings.contexts)
        let progress = ProgressLine("scanning", quiet: settings.quiet)
        let total = windows.reduce(0) { $0 + $1.count - 1 }
        var done = 0, start = 0
        while start < windows.count {
            let group = Array(windows[start..<min(windows.count, start + 8)])
            let streams = try autoencoder.hookActivations(model: lm, batch: group)
            for (ids, stream) in zip(group, streams) where stream.rows > 1 {
                let rows = Matrix(rows: stream.rows - 1, cols: stream.cols, values: Array(stream.values[stream.cols...]))
                accumulator.add(activations: autoencoder.encode(rows), tokenIDs: ids, firstPosition: 1)
                done += rows.rows
            }
            progress.update(done: done, total: total, unit: "tok")
            start += group.count
        }
        progress.finish()
        let statistics = accumulator.finish(
            token: { lm.tokenizer.decode([$0]) },
            logits: { lm.unembedDirection(autoencoder.decoderRow($0)) },
            tokenCount: settings.promotedTokens, features: selected)
        let path = settings.out ?? URL(fileURLWithPath: settings.sae).appendingPathComponent("semprog_features.jsonl").path
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        var explained = 0
        for s in statistics {
            let text = BuiltInExplainer.explain(s)
            if text != nil { explained += 1 }
            data.append(try encoder.encode(Line(statistics: s, explanation: text, source: BuiltInExplainer.source)))
            data.append(0x0A)
        }
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw StudyError.invalidArgument("--out: cannot write \(path): \(error.localizedDescription)")
        }
        if let database = settings.database {
            try Self.store(statistics, saePath: settings.sae, configuration: autoencoder.configuration,
                           weightsPath: autoencoder.source?.weightsPath, database: database)
        }
        return Outcome(statistics: statistics, explained: explained, tokens: accumulator.tokens, path: path,
                       selected: selected != nil)
    }
}
