import Analysis
import Foundation
import LanguageModel
import SparseAutoencoder
import Store
import Tensor

/// How `semprog screen` scores features (defaults: those of Arad, Mueller & Belinkov 2025).
public struct FeatureScreenSettings: Codable, Sendable, Equatable {
    /// The prompt whose next token is read after the amplification (the paper's "From my experience,").
    public var neutralPrompt: String = "From my experience,"
    /// The feature's activation at the prompt's last token is raised by factor × the largest activation there.
    public var factor: Float = 10
    /// Logit-lens tokens per feature.
    public var logitLensTokens: Int = 20
    /// Features scored per forward pass.
    public var batchSize: Int = 64

    public init() {}

    enum CodingKeys: String, CodingKey {
        case neutralPrompt = "neutral_prompt", factor, logitLensTokens = "logit_lens_k", batchSize = "batch_size"
    }
}

/// One feature's screening result.
public struct FeatureScreenResult: Sendable, Equatable {
    public var feature: Int
    public var output: FeatureScores.Output
    /// nil when the feature has no stored top contexts (run `semprog explain`).
    public var inputScore: Double?
    public var logitLensTokens: [Int]
}

/// Output-score screening (see `FeatureScores` and `FeatureAmplificationHook`): for each feature, amplify it at
/// the last token of the neutral prompt and compare the next-token distribution with its logit-lens tokens.
/// Batched: `batchSize` copies of the prompt go through the model in one pass, each with its own feature.
public enum FeatureScreen {
    /// Scores `features`; `peakTokens[f]` are the most-activating token ids of f's top contexts (for the input
    /// score). `progress(done, total)` is called after each batch.
    public static func run(model: LlamaModel, sae: SparseAutoencoder, features: [Int], settings: FeatureScreenSettings,
                           peakTokens: [Int: [Int]] = [:], progress: ((Int, Int) -> Void)? = nil) throws -> [FeatureScreenResult] {
        guard settings.factor.isFinite, settings.factor > 0 else {
            throw SweepError.invalidSetting("--factor", "\(settings.factor)")
        }
        guard settings.logitLensTokens >= 1 else { throw SweepError.invalidSetting("--logit-lens-k", "\(settings.logitLensTokens)") }
        guard settings.batchSize >= 1 else { throw SweepError.invalidSetting("--batch-size", "\(settings.batchSize)") }
        for f in features where f < 0 || f >= sae.configuration.dSae {
            throw SweepError.unknownFeature(index: f, featureCount: sae.configuration.dSae)
        }
        let prompt = model.tokenizer.encode(settings.neutralPrompt)
        guard !prompt.isEmpty else { throw SweepError.invalidSetting("--prompt", settings.neutralPrompt) }
        var results: [FeatureScreenResult] = []
        results.reserveCapacity(features.count)
        var start = 0
        while start < features.count {
            let batch = Array(features[start..<min(features.count, start + settings.batchSize)])
            let lens = model.logitLens(rows: batch.map { sae.decoderRow($0) })
            let hook = try FeatureAmplificationHook(sae: sae, features: batch,
                                                    lastPosition: [Int](repeating: prompt.count - 1, count: batch.count),
                                                    factor: settings.factor)
            let logits = try model.nextTokenLogits(batch: [[Int]](repeating: prompt, count: batch.count), hook: hook)
            for (i, f) in batch.enumerated() {
                let tokens = FeatureScores.topTokens(lens[i], k: settings.logitLensTokens)
                let output = try FeatureScores.output(logits: logits[i], logitLensTokens: tokens)
                let input = peakTokens[f].flatMap { FeatureScores.input(peakTokens: $0, logitLensTokens: tokens) }
                results.append(FeatureScreenResult(feature: f, output: output, inputScore: input, logitLensTokens: tokens))
            }
            start += batch.count
            progress?(start, features.count)
        }
        return results
    }
}

extension FeatureScreen {
    /// The most-activating token ids of each feature's stored top contexts (`semprog explain` writes them as
    /// JSON `FeatureContext` arrays; other formats, such as imported Neuronpedia data, give none).
    public static func peakTokens(_ records: [Int: FeatureRecord]) -> [Int: [Int]] {
        struct Context: Decodable { var tokenIDs: [Int]; var maxIndex: Int
            enum CodingKeys: String, CodingKey { case tokenIDs = "token_ids", maxIndex = "max_index" } }
        var out: [Int: [Int]] = [:]
        for (f, r) in records {
            guard let text = r.topContexts, let contexts = try? JSONDecoder().decode([Context].self, from: Data(text.utf8)) else { continue }
            let peaks = contexts.compactMap { $0.maxIndex >= 0 && $0.maxIndex < $0.tokenIDs.count ? $0.tokenIDs[$0.maxIndex] : nil }
            if !peaks.isEmpty { out[f] = peaks }
        }
        return out
    }

    /// Screens `features` (default: every feature of the SAE) of a loaded session and stores the scores in the
    /// database at `databasePath` in one transaction once all are computed (a failed run writes nothing).
    public static func screenAndStore(session: SteeringSession, databasePath: String, features: [Int]?,
                                      settings: FeatureScreenSettings,
                                      progress: ((Int, Int) -> Void)? = nil) throws -> [FeatureScreenResult] {
        let list = features ?? Array(0..<session.sae.configuration.dSae)
        let statistics = FileManager.default.fileExists(atPath: databasePath)
            ? try StoreDatabase(path: databasePath, access: .readOnly).featureStatistics(saePath: session.saePath, sha256: session.saeSHA256)
            : [:]
        let results = try run(model: session.model, sae: session.sae, features: list, settings: settings,
                              peakTokens: peakTokens(statistics), progress: progress)
        struct Recorded: Encodable {
            var settings: FeatureScreenSettings
            var model: String
            enum CodingKeys: String, CodingKey { case settings, model = "model_sha256" }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let recorded = String(decoding: try encoder.encode(Recorded(settings: settings, model: session.modelSHA256)), as: UTF8.self)
        let store = try StoreDatabase(path: databasePath)
        let c = session.sae.configuration
        let saeId = try store.registerSAE(SAERecord(path: session.saePath, sha256: session.saeSHA256, hook: c.hookName,
                                                    dIn: c.dIn, dSAE: c.dSae, architecture: c.architecture.rawValue,
                                                    format: session.sae.source?.format.rawValue ?? "",
                                                    release: session.sae.source?.release))
        try store.saveFeatureScores(saeId: saeId, results.map {
            FeatureScoreRecord(featureIndex: $0.feature, outputScore: $0.output.score, inputScore: $0.inputScore,
                               logitLensTokens: $0.logitLensTokens, settings: recorded)
        })
        return results
    }
}

extension FeatureScreen {
    /// The `count` features with the highest stored output score (ties: lower index first); throws when the
    /// database holds no scores for this SAE.
    public static func topByOutputScore(databasePath: String, session: SteeringSession, count: Int) throws -> [Int] {
        guard FileManager.default.fileExists(atPath: databasePath) else { throw SweepError.noScores(sae: session.saePath) }
        let store = try StoreDatabase(path: databasePath, access: .readOnly)
        let scores = try store.featureScores(saePath: session.saePath, sha256: session.saeSHA256)
        guard !scores.isEmpty else { throw SweepError.noScores(sae: session.saePath) }
        return scores.values.sorted { $0.outputScore != $1.outputScore ? $0.outputScore > $1.outputScore : $0.featureIndex < $1.featureIndex }
            .prefix(count).map(\.featureIndex)
    }
}
