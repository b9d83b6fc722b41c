import Foundation
import GRDB

/// AxBench-style steering scores of one generation (`steering_scores`, written by `semprog judge`): the
/// concept, instruction and fluency ratings (each 0…2) and their harmonic mean, by one judge ("proxy" for the
/// offline proxy, "llm" for an LLM judge). `cacheKey` is what makes two scores of the same inputs interchangeable
/// (SHA-256 of the judge's identity, the rubric version and the judged texts); `rubricVersion` is stored too so a
/// reader can tell which rubric produced a score.
public struct SteeringScoreRecord: Codable, Sendable, Equatable {
    public var generationId: Int64
    public var judge: String
    public var cacheKey: String
    public var rubricVersion: String
    public var concept: Double
    public var instruction: Double
    public var fluency: Double
    /// Harmonic mean of the three, 0 when any is 0.
    public var aggregate: Double

    public init(generationId: Int64, judge: String, cacheKey: String, rubricVersion: String, concept: Double,
                instruction: Double, fluency: Double, aggregate: Double) {
        self.generationId = generationId; self.judge = judge; self.cacheKey = cacheKey
        self.rubricVersion = rubricVersion; self.concept = concept; self.instruction = instruction
        self.fluency = fluency; self.aggregate = aggregate
    }

    enum CodingKeys: String, CodingKey {
        case generationId = "generation_id", judge, cacheKey = "cache_key", rubricVersion = "rubric_version"
        case concept, instruction, fluency, aggregate
    }
}

extension SteeringScoreRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "steering_scores"
}

extension StoreDatabase {
    /// The `steering_scores` table (appended after the earlier migrations; independent of every other table but
    /// `generations`).
    static func registerSteeringScoresMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-steering-scores") { db in
            try db.execute(sql: """
                CREATE TABLE steering_scores (
                    generation_id INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
                    judge TEXT NOT NULL,          -- "proxy" (offline) or "llm"
                    cache_key TEXT NOT NULL,      -- SHA-256 of judge identity, rubric version and judged texts
                    rubric_version TEXT NOT NULL,
                    concept REAL NOT NULL,        -- 0…2 each (AxBench)
                    instruction REAL NOT NULL,
                    fluency REAL NOT NULL,
                    aggregate REAL NOT NULL,      -- harmonic mean, 0 when any rating is 0
                    UNIQUE(judge, cache_key, generation_id)
                );
                CREATE INDEX steering_scores_generation ON steering_scores(generation_id);
                """)
        }
    }

    /// Stores steering scores in ONE transaction (a score under the same judge, key and generation is replaced);
    /// every rating is checked to be finite and within 0…2 before the first write.
    public func saveSteeringScores(_ records: [SteeringScoreRecord]) throws {
        for (i, r) in records.enumerated() {
            for (name, v) in [("concept", r.concept), ("instruction", r.instruction), ("fluency", r.fluency), ("aggregate", r.aggregate)]
            where !(v.isFinite && v >= 0 && v <= 2) {
                throw StoreError.invalidArgument("steering score \(i) (generation \(r.generationId), judge '\(r.judge)'): \(name) = \(v) is not a number within 0…2")
            }
        }
        try write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO steering_scores (generation_id, judge, cache_key, rubric_version, concept, instruction, fluency, aggregate)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(judge, cache_key, generation_id) DO UPDATE SET rubric_version = excluded.rubric_version,
                    concept = excluded.concept, instruction = excluded.instruction, fluency = excluded.fluency,
                    aggregate = excluded.aggregate
                """)
            for r in records {
                try statement.execute(arguments: [r.generationId, r.judge, r.cacheKey, r.rubricVersion, r.concept,
                                                  r.instruction, r.fluency, r.aggregate])
            }
        }
    }

    /// The steering scores of a sweep's generations by `judge`: generation id → its latest stored score.
    public func steeringScores(sweepId: Int64, judge: String) throws -> [Int64: SteeringScoreRecord] {
        try read { db in
            var out: [Int64: SteeringScoreRecord] = [:]
            for r in try SteeringScoreRecord.fetchAll(db, sql: """
                SELECT s.* FROM steering_scores s JOIN generations g ON g.id = s.generation_id
                WHERE g.sweep_id = ? AND s.judge = ? ORDER BY s.rowid
                """, arguments: [sweepId, judge]) { out[r.generationId] = r }
            return out
        }
    }

    /// Scores already stored by `judge` under any of `cacheKeys` (in any sweep): cache key → score.
    public func steeringScores(judge: String, cacheKeys: [String]) throws -> [String: SteeringScoreRecord] {
        try read { db in
            var out: [String: SteeringScoreRecord] = [:]
            for start in stride(from: 0, to: cacheKeys.count, by: 500) {
                let part = Array(cacheKeys[start..<min(start + 500, cacheKeys.count)])
                let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
                for r in try SteeringScoreRecord.fetchAll(db, sql: "SELECT * FROM steering_scores WHERE judge = ? AND cache_key IN (\(marks)) ORDER BY rowid",
                                                          arguments: StatementArguments([judge] + part)) { out[r.cacheKey] = r }
            }
            return out
        }
    }

    /// Which judges have scored generations of the sweep, and how many each.
    public func steeringJudges(sweepId: Int64) throws -> [String: Int] {
        try read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT s.judge, COUNT(DISTINCT s.generation_id) FROM steering_scores s JOIN generations g ON g.id = s.generation_id
                WHERE g.sweep_id = ? GROUP BY s.judge
                """, arguments: [sweepId]) { out[row[0]] = row[1] }
            return out
        }
    }
}
