import Foundation
import ModelFormats
import SparseAutoencoder

/// The demo's feature statistics and built-in explanations, kept beside the cached demo SAE so that a demo with
/// a fresh database does not scan the corpus again. `semprog explain` writes `semprog_features.jsonl` into the
/// SAE directory; the demo adds `semprog_features.key`, which names everything the statistics depend on — the
/// SHA-256 of the SAE weights, of the language model and of the corpus, the explain arguments and the
/// explainer's identity. The cache is used only when that key matches exactly.
public struct DemoStatisticsCache {
    public let saeDirectory: String
    public let key: String

    public var statisticsPath: String { saeDirectory + "/semprog_features.jsonl" }
    public var keyPath: String { saeDirectory + "/semprog_features.key" }

    public init(saeDirectory: String, saeSHA256: String, model: String, corpus: String, explainArguments: [String]) throws {
        self.saeDirectory = saeDirectory
        key = [
            "sae_weights_sha256=" + saeSHA256,
            "model_sha256=" + (try SHA256Digest.hex(ofFile: model)),
            "corpus_sha256=" + (try SHA256Digest.hex(ofFile: corpus)),
            "explain_arguments=" + explainArguments.joined(separator: " "),
            "explainer=" + BuiltInExplainer.source,
        ].joined(separator: "\n") + "\n"
    }

    /// The cached statistics, or nil when the key differs, a file is missing or a line does not decode.
    public func load() -> [FeatureStatistics]? {
        guard let stored = try? String(contentsOfFile: keyPath, encoding: .utf8), stored == key,
              let text = try? String(contentsOfFile: statisticsPath, encoding: .utf8) else { return nil }
        let decoder = JSONDecoder()
        var statistics: [FeatureStatistics] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            guard let s = try? decoder.decode(FeatureStatistics.self, from: Data(line.utf8)) else { return nil }
            statistics.append(s)
        }
        return statistics.isEmpty ? nil : statistics
    }

    /// Marks the statistics file `semprog explain` just wrote as belonging to this key.
    public func save() throws {
        try Data(key.utf8).write(to: URL(fileURLWithPath: keyPath), options: .atomic)
    }
}
