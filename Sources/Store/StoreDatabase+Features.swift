import Foundation
import GRDB

/// Feature statistics and built-in explanations computed by semprog itself (`semprog explain`).
extension StoreDatabase {
    /// A built-in or imported explanation to store against a feature.
    public struct NewExplanation: Sendable {
        public var featureIndex: Int
        public var source: String
        public var modelName: String?
        public var text: String
        public init(featureIndex: Int, source: String, modelName: String? = nil, text: String) {
            self.featureIndex = featureIndex; self.source = source; self.modelName = modelName; self.text = text
        }
    }

    /// Upserts the statistics of an SAE's features and replaces its explanations from `source`, in ONE
    /// transaction. A new explanation becomes preferred only when the feature has no preferred one yet (so
    /// Neuronpedia's stay preferred once imported).
    public func saveFeatureStatistics(saeId: Int64, features: [FeatureRecord], explanations: [NewExplanation]) throws {
        try write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO features (sae_id, feature_index, max_activation, fraction_nonzero, top_contexts, promoted_tokens)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(sae_id, feature_index) DO UPDATE SET max_activation = excluded.max_activation,
                    fraction_nonzero = excluded.fraction_nonzero, top_contexts = excluded.top_contexts,
                    promoted_tokens = excluded.promoted_tokens
                """)
            for f in features {
                try upsert.execute(arguments: [saeId, f.featureIndex, f.maxActivation, f.fractionNonzero, f.topContexts,
                                               f.promotedTokens])
            }
            for source in Set(explanations.map(\.source)) {
                try db.execute(sql: """
                    DELETE FROM explanations WHERE source = ? AND feature_id IN (SELECT id FROM features WHERE sae_id = ?)
                    """, arguments: [source, saeId])
            }
            for e in explanations {
                let featureId = try Self.featureId(db, saeId: saeId, featureIndex: e.featureIndex)
                let hasPreferred = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM explanations WHERE feature_id = ? AND is_preferred)",
                                                     arguments: [featureId]) ?? false
                var record = ExplanationRecord(featureId: featureId, source: e.source, modelName: e.modelName, text: e.text,
                                               isPreferred: !hasPreferred)
                try record.insert(db)
            }
        }
    }

    /// The feature rows of the SAE registered with this path and content hash (empty when unknown).
    public func featureStatistics(saePath: String, sha256: String) throws -> [Int: FeatureRecord] {
        let ids = try read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM saes WHERE path = ? AND (sha256 = ? OR sha256 = '') ORDER BY id",
                               arguments: [saePath, sha256])
        }
        var out: [Int: FeatureRecord] = [:]
        for id in ids { for (k, v) in try features(saeId: id) where out[k]?.maxActivation == nil { out[k] = v } }
        return out
    }
}
