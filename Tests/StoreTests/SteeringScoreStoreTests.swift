import Foundation
import GRDB
@testable import Store
import Testing

/// The `steering_scores` table: its migration, writes in one transaction, lookups by sweep and by cache key.
@Suite struct SteeringScoreStoreTests {
    func sweepWithGenerations(_ store: StoreDatabase, name: String = "s") throws -> [GenerationRecord] {
        let sweep = try store.createOrValidateSweep(name: name, settings: sampleSettings())
        let ids = try store.promptIds(for: ["p1", "p2"])
        try store.insertBatch(generations: [
            GenerationRecord(sweepId: sweep.id!, featureIndex: 5, promptId: ids[0], magnitude: 2, text: "a"),
            GenerationRecord(sweepId: sweep.id!, featureIndex: 5, promptId: ids[1], magnitude: 2, text: "b"),
        ], baselines: [])
        return try store.generations(sweepId: sweep.id!)
    }

    func record(_ g: GenerationRecord, judge: String = "proxy", key: String, concept: Double = 2, fluency: Double = 1) -> SteeringScoreRecord {
        SteeringScoreRecord(generationId: g.id!, judge: judge, cacheKey: key, rubricVersion: "proxy-v1", concept: concept,
                            instruction: 2, fluency: fluency, aggregate: 1.5)
    }

    @Test func migrationIsAppendedAfterTheEarlierOnes() throws {
        let known = StoreDatabase.knownMigrations
        let mine = try #require(known.firstIndex(of: "v3-steering-scores"))
        #expect(mine > known.firstIndex(of: "v2-feature-scores")!)
        let store = try StoreDatabase.inMemory()
        #expect(try store.read { try $0.tableExists("steering_scores") })
    }

    @Test func scoresRoundTripAndAreFoundByKey() throws {
        let store = try StoreDatabase.inMemory()
        let g = try sweepWithGenerations(store)
        try store.saveSteeringScores([record(g[0], key: "k0"), record(g[1], key: "k1"), record(g[1], judge: "llm", key: "k1")])
        let sweepId = g[0].sweepId
        let proxy = try store.steeringScores(sweepId: sweepId, judge: "proxy")
        #expect(proxy.count == 2)
        #expect(proxy[g[0].id!] == record(g[0], key: "k0"))
        #expect(try store.steeringScores(sweepId: sweepId, judge: "llm").count == 1)
        #expect(try store.steeringJudges(sweepId: sweepId) == ["proxy": 2, "llm": 1])
        // By key, in any sweep.
        let byKey = try store.steeringScores(judge: "proxy", cacheKeys: ["k1", "missing"])
        #expect(byKey.keys.sorted() == ["k1"])
        // The same (judge, key, generation) replaces; a new key for the same generation is the latest.
        try store.saveSteeringScores([record(g[0], key: "k0", concept: 1)])
        #expect(try store.steeringScores(sweepId: sweepId, judge: "proxy")[g[0].id!]?.concept == 1)
        try store.saveSteeringScores([record(g[0], key: "k0b", concept: 0)])
        #expect(try store.steeringScores(sweepId: sweepId, judge: "proxy")[g[0].id!]?.cacheKey == "k0b")
        // Deleting the sweep deletes its scores.
        try store.write { db in _ = try db.execute(sql: "PRAGMA foreign_keys = ON; DELETE FROM sweeps") }
        #expect(try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM steering_scores") } == 0)
    }

    @Test(arguments: [-0.5, 2.5, Double.nan, Double.infinity])
    func outOfRangeRatingIsRefusedBeforeAnyWrite(value: Double) throws {
        let store = try StoreDatabase.inMemory()
        let g = try sweepWithGenerations(store)
        let bad = [record(g[0], key: "ok"), record(g[1], key: "bad", fluency: value)]
        #expect {
            try store.saveSteeringScores(bad)
        } throws: { error in
            let message = (error as? LocalizedError)?.errorDescription ?? ""
            return message.contains("fluency") && message.contains("generation \(g[1].id!)")
        }
        #expect(try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM steering_scores") } == 0, "nothing written")
    }
}
