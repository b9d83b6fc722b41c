import Foundation
import GRDB

// Read helpers for `semprog describe`, `semprog analyze` and `semprog report --db`: everything they need of a
// sweep in one snapshot, and the analysis tables back, so the CLI never issues SQL itself.

/// A sweep with everything the analysis reads: its generations and baselines, prompt texts, the SAE's feature
/// rows and preferred explanations, and the model/SAE records.
public struct SweepContents: Sendable {
    public var sweep: SweepRecord
    /// Ordered by feature index, prompt id, magnitude.
    public var generations: [GenerationRecord]
    /// Ordered by prompt id.
    public var baselines: [BaselineRecord]
    /// Texts of the prompts the sweep uses, by id.
    public var prompts: [Int64: String]
    /// Feature rows of the sweep's SAE, by feature index (empty when the sweep has no SAE).
    public var features: [Int: FeatureRecord]
    /// The preferred explanation of each feature that has one, by feature index.
    public var explanations: [Int: ExplanationRecord]
    public var model: ModelRecord?
    public var sae: SAERecord?
}

/// All analysis rows of a sweep, as stored by `replaceAnalysis`.
public struct StoredAnalysis: Sendable {
    public var metrics: [Int64: GenerationMetricsRecord]
    public var similarities: [Int64: SimilarityRecord]
    public var onsets: [OnsetRecord]
    public var stages: [StageRecord]
    public var featureSummaries: [FeatureSummaryRecord]
    public var consistency: [ConsistencyRecord]
    public var penaltySensitivity: [PenaltySensitivityRecord]
    /// By name.
    public var statistics: [String: SweepStatisticRecord]

    /// Whether `semprog analyze` has written anything for the sweep.
    public var isEmpty: Bool { featureSummaries.isEmpty && statistics.isEmpty }
}

extension StoreDatabase {
    /// Loads the sweep (by name, or the only one when `name` is nil) with its generations, baselines, prompts,
    /// features and preferred explanations in one read snapshot.
    public func sweepContents(_ name: String?) throws -> SweepContents {
        let sweep = try resolveSweep(name)
        let sweepId = sweep.id!
        return try read { db in
            let generations = try GenerationRecord.filter(Column("sweep_id") == sweepId)
                .order(Column("feature_index"), Column("prompt_id"), Column("magnitude")).fetchAll(db)
            let baselines = try BaselineRecord.filter(Column("sweep_id") == sweepId).order(Column("prompt_id")).fetchAll(db)
            var prompts: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT id, text FROM prompts WHERE id IN (SELECT prompt_id FROM generations WHERE sweep_id = ?
                    UNION SELECT prompt_id FROM baselines WHERE sweep_id = ?)
                """, arguments: [sweepId, sweepId]) {
                prompts[row[0]] = row[1]
            }
            var features: [Int: FeatureRecord] = [:]
            var explanations: [Int: ExplanationRecord] = [:]
            var sae: SAERecord?
            if let saeId = sweep.saeId {
                sae = try SAERecord.fetchOne(db, key: saeId)
                for f in try FeatureRecord.filter(Column("sae_id") == saeId).fetchAll(db) { features[f.featureIndex] = f }
                let rows = try Row.fetchAll(db, sql: """
                    SELECT f.feature_index AS idx, e.* FROM explanations e JOIN features f ON f.id = e.feature_id
                    WHERE f.sae_id = ? ORDER BY e.is_preferred DESC, e.id DESC
                    """, arguments: [saeId])
                // Preferred first, then the latest: the last assignment per feature wins, so iterate reversed.
                for row in rows.reversed() { explanations[row["idx"]] = try ExplanationRecord(row: row) }
            }
            let model = try sweep.modelId.flatMap { try ModelRecord.fetchOne(db, key: $0) }
            return SweepContents(sweep: sweep, generations: generations, baselines: baselines, prompts: prompts,
                                 features: features, explanations: explanations, model: model, sae: sae)
        }
    }

    /// The descriptions of a sweep's generations grouped by describer: describer → generation id → the latest
    /// (highest id) description of that generation.
    public func latestDescriptions(sweepId: Int64) throws -> [String: [Int64: DescriptionRecord]] {
        var out: [String: [Int64: DescriptionRecord]] = [:]
        for d in try descriptions(sweepId: sweepId) { out[d.describer, default: [:]][d.generationId] = d }
        return out
    }

    /// The (generation id, cache key) pairs already described by `describer` in the sweep.
    public func describedKeys(sweepId: Int64, describer: String) throws -> Set<DescribedKey> {
        try read { db in
            var keys = Set<DescribedKey>()
            let rows = try Row.fetchCursor(db, sql: """
                SELECT d.generation_id, d.cache_key FROM descriptions d JOIN generations g ON g.id = d.generation_id
                WHERE g.sweep_id = ? AND d.describer = ?
                """, arguments: [sweepId, describer])
            while let row = try rows.next() { keys.insert(DescribedKey(generationId: row[0], cacheKey: row[1])) }
            return keys
        }
    }

    /// Texts already stored by `describer` under any of `cacheKeys` (in any sweep): cache key → text.
    public func descriptionTexts(describer: String, cacheKeys: [String]) throws -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            for start in stride(from: 0, to: cacheKeys.count, by: 500) {
                let part = Array(cacheKeys[start..<min(start + 500, cacheKeys.count)])
                let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: "SELECT cache_key, text FROM descriptions WHERE describer = ? AND cache_key IN (\(marks)) ORDER BY id",
                                            arguments: StatementArguments([describer] + part))
                for row in rows { out[row[0]] = row[1] }
            }
            return out
        }
    }

    /// Every analysis row of the sweep (empty when it has not been analysed).
    public func storedAnalysis(sweepId: Int64) throws -> StoredAnalysis {
        try read { db in
            let generations = "SELECT id FROM generations WHERE sweep_id = ?"
            var metrics: [Int64: GenerationMetricsRecord] = [:]
            for r in try GenerationMetricsRecord.fetchAll(db, sql: "SELECT * FROM generation_metrics WHERE generation_id IN (\(generations))",
                                                          arguments: [sweepId]) { metrics[r.generationId] = r }
            var similarities: [Int64: SimilarityRecord] = [:]
            for r in try SimilarityRecord.fetchAll(db, sql: "SELECT * FROM similarities WHERE generation_id IN (\(generations))",
                                                   arguments: [sweepId]) { similarities[r.generationId] = r }
            let bySweep = Column("sweep_id") == sweepId
            let statistics = try SweepStatisticRecord.filter(bySweep).fetchAll(db)
            return StoredAnalysis(
                metrics: metrics, similarities: similarities,
                onsets: try OnsetRecord.filter(bySweep).order(Column("feature_index"), Column("prompt_id")).fetchAll(db),
                stages: try StageRecord.filter(bySweep)
                    .order(Column("feature_index"), Column("prompt_id"), Column("stage_index")).fetchAll(db),
                featureSummaries: try FeatureSummaryRecord.filter(bySweep).order(Column("feature_index")).fetchAll(db),
                consistency: try ConsistencyRecord.filter(bySweep).order(Column("feature_index"), Column("magnitude")).fetchAll(db),
                penaltySensitivity: try PenaltySensitivityRecord.filter(bySweep).order(Column("penalty")).fetchAll(db),
                statistics: Dictionary(statistics.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }))
        }
    }
}

/// A generation described under one cache key.
public struct DescribedKey: Hashable, Sendable {
    public var generationId: Int64
    public var cacheKey: String
    public init(generationId: Int64, cacheKey: String) { self.generationId = generationId; self.cacheKey = cacheKey }
}
