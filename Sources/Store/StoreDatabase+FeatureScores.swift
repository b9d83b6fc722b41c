import Foundation
import GRDB

/// Output and input scores of features (`semprog screen`; Arad, Mueller & Belinkov 2025).
public struct FeatureScoreRecord: Sendable, Equatable, Codable {
    public var featureIndex: Int
    public var outputScore: Double
    public var inputScore: Double?
    /// The feature's logit-lens tokens, best first.
    public var logitLensTokens: [Int]
    /// How the scores were computed (JSON: neutral prompt, amplification factor, k, model hash).
    public var settings: String

    public init(featureIndex: Int, outputScore: Double, inputScore: Double?, logitLensTokens: [Int], settings: String) {
        self.featureIndex = featureIndex; self.outputScore = outputScore; self.inputScore = inputScore
        self.logitLensTokens = logitLensTokens; self.settings = settings
    }
}

extension StoreDatabase {
    /// Stores (replacing earlier ones) the scores of features of the SAE `saeId`, in ONE transaction.
    public func saveFeatureScores(saeId: Int64, _ scores: [FeatureScoreRecord]) throws {
        try write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO feature_scores (feature_id, output_score, input_score, logit_lens_tokens, settings)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(feature_id) DO UPDATE SET output_score = excluded.output_score,
                    input_score = excluded.input_score, logit_lens_tokens = excluded.logit_lens_tokens,
                    settings = excluded.settings
                """)
            for s in scores {
                let featureId = try Self.featureId(db, saeId: saeId, featureIndex: s.featureIndex)
                try upsert.execute(arguments: [featureId, s.outputScore, s.inputScore,
                                               BlobCoding.encode(int32s: s.logitLensTokens.map { Int32($0) }), s.settings])
            }
        }
    }

    /// The stored scores of the SAE registered with this path and content hash, by feature index (the first
    /// registration that has a score wins).
    public func featureScores(saePath: String, sha256: String) throws -> [Int: FeatureScoreRecord] {
        try scores(where: "a.path = ? AND (a.sha256 = ? OR a.sha256 = '')", arguments: [saePath, sha256])
    }

    /// The scores of the SAE with id `saeId` (the report reads them through the sweep's SAE).
    public func featureScores(saeId: Int64) throws -> [Int: FeatureScoreRecord] {
        try scores(where: "a.id = ?", arguments: [saeId])
    }

    private func scores(where condition: String, arguments: StatementArguments) throws -> [Int: FeatureScoreRecord] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT f.feature_index, s.output_score, s.input_score, s.logit_lens_tokens, s.settings
                FROM feature_scores s JOIN features f ON f.id = s.feature_id JOIN saes a ON a.id = f.sae_id
                WHERE \(condition) ORDER BY a.id
                """, arguments: arguments)
            var out: [Int: FeatureScoreRecord] = [:]
            for row in rows {
                let index: Int = row[0]
                guard out[index] == nil else { continue }
                let blob: Data = row[3]
                out[index] = FeatureScoreRecord(featureIndex: index, outputScore: row[1], inputScore: row[2],
                                                logitLensTokens: (BlobCoding.decodeInt32s(blob) ?? []).map(Int.init),
                                                settings: row[4])
            }
            return out
        }
    }
}
