import Foundation
import GRDB

/// The API the sweep engine and the importers use. Every `static func …(_ db: Database, …)` runs inside the
/// caller's transaction; the instance methods open one transaction each.
extension StoreDatabase {
    // MARK: Models and SAEs

    /// The id of the model with this path and sha256, inserting it when new.
    public static func registerModel(_ db: Database, path: String, sha256: String = "", architecture: String = "") throws -> Int64 {
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM models WHERE path = ? AND sha256 = ?", arguments: [path, sha256]) {
            return id
        }
        var record = ModelRecord(path: path, sha256: sha256, architecture: architecture)
        try record.insert(db)
        return record.id!
    }

    public func registerModel(path: String, sha256: String = "", architecture: String = "") throws -> Int64 {
        try write { db in try Self.registerModel(db, path: path, sha256: sha256, architecture: architecture) }
    }

    /// The id of the SAE with this path (and sha256 when both are known), inserting it when new. Known but
    /// missing fields (d_in, d_sae, hook, architecture, neuronpedia_id) of an existing row are filled in.
    public static func registerSAE(_ db: Database, _ sae: SAERecord) throws -> Int64 {
        let candidates = try SAERecord.filter(Column("path") == sae.path).order(Column("id")).fetchAll(db)
        if var existing = candidates.first(where: { $0.sha256 == sae.sha256 || $0.sha256.isEmpty || sae.sha256.isEmpty }) {
            if existing.sha256.isEmpty { existing.sha256 = sae.sha256 }
            if existing.hook.isEmpty { existing.hook = sae.hook }
            if existing.dIn == 0 { existing.dIn = sae.dIn }
            if existing.dSAE == 0 { existing.dSAE = sae.dSAE }
            if existing.architecture.isEmpty { existing.architecture = sae.architecture }
            if existing.neuronpediaId == nil { existing.neuronpediaId = sae.neuronpediaId }
            if existing.format.isEmpty { existing.format = sae.format }
            if existing.release == nil { existing.release = sae.release }
            try existing.update(db)
            return existing.id!
        }
        var record = sae
        record.id = nil
        try record.insert(db)
        return record.id!
    }

    public func registerSAE(_ sae: SAERecord) throws -> Int64 { try write { db in try Self.registerSAE(db, sae) } }

    /// All SAEs of the database, by id.
    public func saes() throws -> [SAERecord] { try read { db in try SAERecord.order(Column("id")).fetchAll(db) } }

    // MARK: Sweeps

    /// All sweeps, by id.
    public func sweeps() throws -> [SweepRecord] { try read { db in try SweepRecord.order(Column("id")).fetchAll(db) } }

    /// The sweep of this name, or nil.
    public func sweep(named name: String) throws -> SweepRecord? {
        try read { db in try SweepRecord.filter(Column("name") == name).fetchOne(db) }
    }

    /// The named sweep, or the only sweep of the database when `name` is nil.
    public func resolveSweep(_ name: String?) throws -> SweepRecord {
        let all = try sweeps()
        if let name {
            guard let sweep = all.first(where: { $0.name == name }) else { throw StoreError.unknownSweep(name) }
            return sweep
        }
        guard all.count == 1 else { throw StoreError.ambiguousSweep(available: all.map(\.name)) }
        return all[0]
    }

    /// Creates the sweep, or returns the existing one when its stored settings equal `settings`; otherwise
    /// throws `StoreError.settingsMismatch` naming the first differing setting.
    public static func createOrValidateSweep(_ db: Database, name: String, settings: SweepSettings,
                                             modelId: Int64? = nil, saeId: Int64? = nil) throws -> SweepRecord {
        if let existing = try SweepRecord.filter(Column("name") == name).fetchOne(db) {
            let stored = try existing.settings()
            if let diff = stored.firstDifference(from: settings) {
                throw StoreError.settingsMismatch(sweep: name, setting: diff.setting, stored: diff.mine, requested: diff.theirs)
            }
            return existing
        }
        var record = SweepRecord(
            id: nil, name: name, modelId: modelId, saeId: saeId, magnitudes: BlobCoding.encode(floats: settings.magnitudes.map { Float($0) }),
            units: settings.units, method: settings.method, positions: settings.positions, maxTokens: settings.maxTokens,
            temperature: settings.temperature, topK: settings.topK, topP: settings.topP,
            repetitionPenalty: settings.repetitionPenalty, seed: Int64(bitPattern: settings.seed), chat: settings.chat,
            settingsJSON: settings.canonicalJSON, createdAt: Date())
        try record.insert(db)
        return record
    }

    public func createOrValidateSweep(name: String, settings: SweepSettings, modelId: Int64? = nil,
                                      saeId: Int64? = nil) throws -> SweepRecord {
        try write { db in try Self.createOrValidateSweep(db, name: name, settings: settings, modelId: modelId, saeId: saeId) }
    }

    /// Rewrites the settings of an existing sweep (used when an import adds magnitudes to an imported sweep).
    static func updateSettings(_ db: Database, sweep: inout SweepRecord, settings: SweepSettings) throws {
        sweep.magnitudes = BlobCoding.encode(floats: settings.magnitudes.map { Float($0) })
        sweep.settingsJSON = settings.canonicalJSON
        try sweep.update(db)
    }

    // MARK: Prompts

    /// Ids of the prompt texts (inserted when new), in the order given.
    public static func promptIds(_ db: Database, for texts: [String]) throws -> [Int64] {
        let insert = try db.cachedStatement(sql: "INSERT INTO prompts (text) VALUES (?) ON CONFLICT(text) DO NOTHING")
        let select = try db.cachedStatement(sql: "SELECT id FROM prompts WHERE text = ?")
        return try texts.map { text in
            try insert.execute(arguments: [text])
            return try Int64.fetchOne(select, arguments: [text])!
        }
    }

    public func promptIds(for texts: [String]) throws -> [Int64] { try write { db in try Self.promptIds(db, for: texts) } }

    /// Texts of all prompts by id.
    public func promptTexts() throws -> [Int64: String] {
        try read { db in
            Dictionary(uniqueKeysWithValues: try PromptRecord.fetchAll(db).map { ($0.id!, $0.text) })
        }
    }

    // MARK: Generations

    /// The cells of the sweep that already have a generation (the sweep engine skips them when resuming).
    public func finishedCells(sweepId: Int64) throws -> Set<SweepCell> {
        try read { db in
            var cells = Set<SweepCell>()
            let rows = try Row.fetchCursor(db, sql: "SELECT feature_index, prompt_id, magnitude FROM generations WHERE sweep_id = ?",
                                           arguments: [sweepId])
            while let row = try rows.next() {
                cells.insert(SweepCell(featureIndex: row[0], promptId: row[1], magnitude: row[2]))
            }
            return cells
        }
    }

    /// Inserts a batch of generations and baselines in ONE transaction. Idempotent: cells (and baselines) that
    /// are already stored are skipped, not replaced. Returns the number of generations inserted.
    @discardableResult
    public func insertBatch(generations: [GenerationRecord], baselines: [BaselineRecord] = []) throws -> Int {
        try write { db in try Self.insertBatch(db, generations: generations, baselines: baselines) }
    }

    @discardableResult
    public static func insertBatch(_ db: Database, generations: [GenerationRecord], baselines: [BaselineRecord]) throws -> Int {
        let baselineStatement = try db.cachedStatement(sql: """
            INSERT INTO baselines (sweep_id, prompt_id, text, token_ids, finish_reason) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(sweep_id, prompt_id) DO NOTHING
            """)
        for b in baselines {
            try baselineStatement.execute(arguments: [b.sweepId, b.promptId, b.text, b.tokenIds, b.finishReason])
        }
        let generationStatement = try db.cachedStatement(sql: """
            INSERT INTO generations (sweep_id, feature_index, prompt_id, magnitude, magnitude_unit, absolute_target, text,
                token_ids, finish_reason, activation_before, activation_after, batch_key)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(sweep_id, feature_index, prompt_id, magnitude) DO NOTHING
            """)
        var inserted = 0
        for g in generations {
            try generationStatement.execute(arguments: [g.sweepId, g.featureIndex, g.promptId, g.magnitude,
                                                        g.magnitudeUnit, g.absoluteTarget, g.text,
                                                        g.tokenIds, g.finishReason, g.activationBefore,
                                                        g.activationAfter, g.batchKey])
            inserted += db.changesCount
        }
        return inserted
    }

    /// Generations of a sweep ordered by feature, prompt id, magnitude.
    public func generations(sweepId: Int64) throws -> [GenerationRecord] {
        try read { db in
            try GenerationRecord.filter(Column("sweep_id") == sweepId)
                .order(Column("feature_index"), Column("prompt_id"), Column("magnitude")).fetchAll(db)
        }
    }

    /// Baselines of a sweep ordered by prompt id.
    public func baselines(sweepId: Int64) throws -> [BaselineRecord] {
        try read { db in try BaselineRecord.filter(Column("sweep_id") == sweepId).order(Column("prompt_id")).fetchAll(db) }
    }

    // MARK: Descriptions

    /// Stores descriptions; one that exists for the same (describer, cache key, generation) is replaced.
    public func saveDescriptions(_ records: [DescriptionRecord]) throws {
        try write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO descriptions (generation_id, describer, cache_key, text) VALUES (?, ?, ?, ?)
                ON CONFLICT(describer, cache_key, generation_id) DO UPDATE SET text = excluded.text
                """)
            for r in records { try statement.execute(arguments: [r.generationId, r.describer, r.cacheKey, r.text]) }
        }
    }

    /// Descriptions of the generations of a sweep.
    public func descriptions(sweepId: Int64, describer: String? = nil) throws -> [DescriptionRecord] {
        try read { db in
            var sql = "SELECT d.* FROM descriptions d JOIN generations g ON g.id = d.generation_id WHERE g.sweep_id = ?"
            var arguments: StatementArguments = [sweepId]
            if let describer { sql += " AND d.describer = ?"; arguments += [describer] }
            return try DescriptionRecord.fetchAll(db, sql: sql + " ORDER BY d.id", arguments: arguments)
        }
    }

    // MARK: Features and explanations

    /// The feature rows of an SAE by index.
    public func features(saeId: Int64) throws -> [Int: FeatureRecord] {
        try read { db in
            Dictionary(uniqueKeysWithValues: try FeatureRecord.filter(Column("sae_id") == saeId).fetchAll(db).map { ($0.featureIndex, $0) })
        }
    }

    /// The preferred explanation of each feature of an SAE (the one the analysis uses; see `ExplanationPreference`).
    public func preferredExplanations(saeId: Int64) throws -> [Int: ExplanationRecord] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT f.feature_index AS idx, e.* FROM explanations e JOIN features f ON f.id = e.feature_id
                WHERE f.sae_id = ? AND e.is_preferred ORDER BY e.id
                """, arguments: [saeId])
            var out: [Int: ExplanationRecord] = [:]
            for row in rows { out[row["idx"]] = try ExplanationRecord(row: row) }
            return out
        }
    }

    /// All explanations of one feature, preferred first.
    public func explanations(saeId: Int64, featureIndex: Int) throws -> [ExplanationRecord] {
        try read { db in
            try ExplanationRecord.fetchAll(db, sql: """
                SELECT e.* FROM explanations e JOIN features f ON f.id = e.feature_id
                WHERE f.sae_id = ? AND f.feature_index = ? ORDER BY e.is_preferred DESC, e.id
                """, arguments: [saeId, featureIndex])
        }
    }

    /// Makes `explanationId` the only preferred explanation of its feature.
    public func setPreferredExplanation(_ explanationId: Int64) throws {
        try write { db in
            guard let e = try ExplanationRecord.fetchOne(db, key: explanationId) else {
                throw StoreError.invalidArgument("no explanation with id \(explanationId)")
            }
            try db.execute(sql: "UPDATE explanations SET is_preferred = (id = ?) WHERE feature_id = ?",
                           arguments: [explanationId, e.featureId])
        }
    }

    /// The id of the feature row (sae, index), inserting an empty one when new.
    public static func featureId(_ db: Database, saeId: Int64, featureIndex: Int) throws -> Int64 {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO features (sae_id, feature_index) VALUES (?, ?) ON CONFLICT(sae_id, feature_index) DO NOTHING
            """)
        try insert.execute(arguments: [saeId, featureIndex])
        let select = try db.cachedStatement(sql: "SELECT id FROM features WHERE sae_id = ? AND feature_index = ?")
        return try Int64.fetchOne(select, arguments: [saeId, featureIndex])!
    }
}
