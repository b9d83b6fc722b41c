import Foundation
import GRDB

/// What a merge added.
public struct MergeSummary: Sendable, Equatable {
    /// Generations added to the target (cells it did not hold yet).
    public var generationsAdded: Int
    /// Generations skipped because the target already held the cell.
    public var generationsSkipped: Int
    /// Skipped cells whose text differed from the stored one (the first stored text is kept).
    public var conflictingCells: Int
    public var baselinesAdded: Int
    public var descriptionsAdded: Int
    /// Steering scores (`semprog judge`) copied with their generations, like descriptions (an llm judge's
    /// ratings are costly to ask again).
    public var steeringScoresAdded: Int = 0
    public var explanationsAdded: Int
    public var sweeps: [String]
}

extension StoreDatabase {
    /// Merges shard databases (of the same sweeps, e.g. one per GPU) into this database in ONE transaction.
    ///
    /// Sweeps are matched by name and must have identical settings (else `StoreError.settingsMismatch`, prefixed
    /// by the shard's path, and nothing is written). Models and SAEs are matched by path and sha256, prompts by
    /// text, features by (SAE, index), explanations by (feature, source, text, type, model). Cells the target
    /// already holds are skipped, so merging twice changes nothing. Descriptions and steering scores travel with
    /// their generations. Analysis tables are not merged: run `semprog analyze` on the merged database.
    public func merge(shards: [String]) throws -> MergeSummary {
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        for shard in shards where URL(fileURLWithPath: shard).standardizedFileURL.path == target {
            throw StoreError.merge("\(shard) is both an input and the output of the merge")
        }
        for shard in shards where !FileManager.default.fileExists(atPath: shard) {
            throw StoreError.merge("\(shard): no such database")
        }
        let contents = try shards.map { shard in (shard, try ShardContents(store: StoreDatabase(path: shard, access: .readOnly))) }
        return try write { db in
            var summary = MergeSummary(generationsAdded: 0, generationsSkipped: 0, conflictingCells: 0, baselinesAdded: 0,
                                       descriptionsAdded: 0, explanationsAdded: 0, sweeps: [])
            for (shard, c) in contents {
                try Self.mergeShard(db, shard: shard, c, into: &summary)
            }
            summary.sweeps = Array(Set(summary.sweeps)).sorted()
            return summary
        }
    }

    private static func mergeShard(_ db: Database, shard: String, _ c: ShardContents, into summary: inout MergeSummary) throws {
        var modelMap: [Int64: Int64] = [:], saeMap: [Int64: Int64] = [:], featureMap: [Int64: Int64] = [:]
        for m in c.models { modelMap[m.id!] = try registerModel(db, path: m.path, sha256: m.sha256, architecture: m.architecture) }
        for s in c.saes {
            if s.path.isEmpty {
                // The anonymous SAE of an imported sweep: the target sweep's own one when it exists, else a copy.
                if let owner = c.sweeps.first(where: { $0.saeId == s.id }),
                   let existing = try Int64.fetchOne(db, sql: "SELECT sae_id FROM sweeps WHERE name = ?", arguments: [owner.name]) {
                    saeMap[s.id!] = existing
                    continue
                }
                var copy = s; copy.id = nil
                try copy.insert(db)
                saeMap[s.id!] = copy.id!
            } else {
                saeMap[s.id!] = try registerSAE(db, s)
            }
        }
        for f in c.features {
            let id = try featureId(db, saeId: saeMap[f.saeId]!, featureIndex: f.featureIndex)
            try db.execute(sql: """
                UPDATE features SET max_activation = COALESCE(max_activation, ?), fraction_nonzero = COALESCE(fraction_nonzero, ?),
                    top_contexts = COALESCE(top_contexts, ?), promoted_tokens = COALESCE(promoted_tokens, ?) WHERE id = ?
                """, arguments: [f.maxActivation, f.fractionNonzero, f.topContexts, f.promotedTokens, id])
            featureMap[f.id!] = id
        }
        for e in c.explanations {
            let featureId = featureMap[e.featureId]!
            let exists = try Bool.fetchOne(db, sql: """
                SELECT EXISTS(SELECT 1 FROM explanations WHERE feature_id = ? AND source = ? AND text = ?
                    AND type_name IS ? AND model_name IS ?)
                """, arguments: [featureId, e.source, e.text, e.typeName, e.modelName]) ?? false
            if exists { continue }
            let hasPreferred = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM explanations WHERE feature_id = ? AND is_preferred)",
                                                 arguments: [featureId]) ?? false
            var copy = e
            copy.id = nil; copy.featureId = featureId; copy.isPreferred = e.isPreferred && !hasPreferred
            try copy.insert(db)
            summary.explanationsAdded += 1
        }
        let promptIds = try promptIds(db, for: c.prompts.map(\.text))
        let promptMap = Dictionary(uniqueKeysWithValues: zip(c.prompts.map { $0.id! }, promptIds))
        var sweepMap: [Int64: Int64] = [:]
        for s in c.sweeps {
            let settings = try s.settings()
            let merged: SweepRecord
            do {
                merged = try createOrValidateSweep(db, name: s.name, settings: settings, modelId: s.modelId.flatMap { modelMap[$0] },
                                                   saeId: s.saeId.flatMap { saeMap[$0] })
            } catch let error as StoreError {
                throw StoreError.merge("\(shard): " + (error.errorDescription ?? "\(error)"))
            }
            sweepMap[s.id!] = merged.id!
            summary.sweeps.append(s.name)
        }
        let insertBaseline = try db.cachedStatement(sql: """
            INSERT INTO baselines (sweep_id, prompt_id, text, token_ids, finish_reason) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(sweep_id, prompt_id) DO NOTHING
            """)
        for b in c.baselines {
            try insertBaseline.execute(arguments: [sweepMap[b.sweepId]!, promptMap[b.promptId]!, b.text, b.tokenIds, b.finishReason])
            summary.baselinesAdded += db.changesCount
        }
        let insertGeneration = try db.cachedStatement(sql: """
            INSERT INTO generations (sweep_id, feature_index, prompt_id, magnitude, magnitude_unit, absolute_target, text,
                token_ids, finish_reason, activation_before, activation_after, batch_key)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(sweep_id, feature_index, prompt_id, magnitude) DO NOTHING
            """)
        let findGeneration = try db.cachedStatement(sql: """
            SELECT id, text FROM generations WHERE sweep_id = ? AND feature_index = ? AND prompt_id = ? AND magnitude = ?
            """)
        var generationMap: [Int64: Int64] = [:]
        for g in c.generations {
            let sweepId = sweepMap[g.sweepId]!, promptId = promptMap[g.promptId]!
            try insertGeneration.execute(arguments: [sweepId, g.featureIndex, promptId, g.magnitude, g.magnitudeUnit,
                                                     g.absoluteTarget, g.text, g.tokenIds,
                                                     g.finishReason, g.activationBefore, g.activationAfter, g.batchKey])
            if db.changesCount == 1 {
                summary.generationsAdded += 1
                generationMap[g.id!] = db.lastInsertedRowID
            } else {
                summary.generationsSkipped += 1
                let row = try Row.fetchOne(findGeneration, arguments: [sweepId, g.featureIndex, promptId, g.magnitude])!
                generationMap[g.id!] = row[0]
                if (row[1] as String) != g.text { summary.conflictingCells += 1 }
            }
        }
        let insertDescription = try db.cachedStatement(sql: """
            INSERT INTO descriptions (generation_id, describer, cache_key, text) VALUES (?, ?, ?, ?)
            ON CONFLICT(describer, cache_key, generation_id) DO NOTHING
            """)
        for d in c.descriptions {
            guard let generationId = generationMap[d.generationId] else { continue }
            try insertDescription.execute(arguments: [generationId, d.describer, d.cacheKey, d.text])
            summary.descriptionsAdded += db.changesCount
        }
        let insertScore = try db.cachedStatement(sql: """
            INSERT INTO steering_scores (generation_id, judge, cache_key, rubric_version, concept, instruction, fluency, aggregate)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(judge, cache_key, generation_id) DO NOTHING
            """)
        for r in c.steeringScores {
            guard let generationId = generationMap[r.generationId] else { continue }
            try insertScore.execute(arguments: [generationId, r.judge, r.cacheKey, r.rubricVersion, r.concept, r.instruction,
                                                r.fluency, r.aggregate])
            summary.steeringScoresAdded += db.changesCount
        }
    }
}

/// Everything a shard holds that a merge copies.
struct ShardContents: Sendable {
    var models: [ModelRecord], saes: [SAERecord], features: [FeatureRecord], explanations: [ExplanationRecord]
    var prompts: [PromptRecord], sweeps: [SweepRecord], baselines: [BaselineRecord], generations: [GenerationRecord]
    var descriptions: [DescriptionRecord]
    var steeringScores: [SteeringScoreRecord]

    init(store: StoreDatabase) throws {
        (models, saes, features, explanations, prompts, sweeps, baselines, generations, descriptions) = try store.read { db in
            (try ModelRecord.order(Column("id")).fetchAll(db), try SAERecord.order(Column("id")).fetchAll(db),
             try FeatureRecord.order(Column("id")).fetchAll(db), try ExplanationRecord.order(Column("id")).fetchAll(db),
             try PromptRecord.order(Column("id")).fetchAll(db), try SweepRecord.order(Column("id")).fetchAll(db),
             try BaselineRecord.order(Column("id")).fetchAll(db), try GenerationRecord.order(Column("id")).fetchAll(db),
             try DescriptionRecord.order(Column("id")).fetchAll(db))
        }
        steeringScores = try store.read { db in
            try SteeringScoreRecord.order(Column("generation_id"), Column("judge"), Column("cache_key")).fetchAll(db)
        }
    }
}
