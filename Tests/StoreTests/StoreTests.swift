import Foundation
import GRDB
import Randomness
import Testing
@testable import Store

@Suite struct MigrationTests {
    @Test func freshDatabaseHasEveryTable() throws {
        let store = try StoreDatabase.inMemory()
        let tables = try store.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for table in ["models", "saes", "features", "explanations", "prompts", "sweeps", "baselines", "generations",
                      "descriptions", "generation_metrics", "text_embeddings", "onsets", "stages", "similarities",
                      "feature_summaries", "consistency", "penalty_sensitivity", "sweep_statistics", "neuronpedia_cache"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        let applied = try store.read { db in try StoreDatabase.migrator.appliedIdentifiers(db) }
        #expect(applied == Set(StoreDatabase.knownMigrations))
    }

    @Test func reopeningAFileKeepsData() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let path = dir.path("a.sqlite")
        do {
            let store = try StoreDatabase(path: path)
            _ = try store.promptIds(for: ["hello"])
        }
        let again = try StoreDatabase(path: path)
        #expect(try again.promptTexts().values.sorted() == ["hello"])
    }

    @Test func newerSchemaIsRefused() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let path = dir.path("future.sqlite")
        do {
            let store = try StoreDatabase(path: path)
            try store.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')") }
        }
        #expect(throws: StoreError.newerSchema(path: path, unknownMigrations: ["v9-from-the-future"])) {
            _ = try StoreDatabase(path: path)
        }
        let message = (try? StoreDatabase(path: path)).map { _ in "" } ?? {
            do { _ = try StoreDatabase(path: path); return "" } catch { return error.localizedDescription }
        }()
        #expect(message.contains("newer version of semprog"))
        #expect(message.contains(path))
    }

    @Test func notADatabaseIsAClearError() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let path = try dir.write("junk.sqlite", String(repeating: "this is not sqlite\n", count: 200))
        do {
            _ = try StoreDatabase(path: path)
            Issue.record("opening a text file as a database should fail")
        } catch let error as StoreError {
            guard case .cannotOpen(let p, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(p == path)
        }
    }
}

@Suite struct BlobCodingTests {
    @Test func floatsRoundTripAndAreLittleEndian() {
        var rng = SplitMix64(seed: 42)
        let values = (0..<257).map { _ in Float.random(in: -1e6...1e6, using: &rng) } + [0, -0.0, .infinity, .leastNonzeroMagnitude]
        let data = BlobCoding.encode(floats: values)
        #expect(data.count == values.count * 4)
        #expect(BlobCoding.decodeFloats(data)!.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(Array(BlobCoding.encode(floats: [1.0])) == [0x00, 0x00, 0x80, 0x3F])
        #expect(BlobCoding.decodeFloats(Data([1, 2, 3])) == nil)
    }

    @Test func int32sRoundTripAndAreLittleEndian() {
        let values: [Int32] = [0, 1, -1, .max, .min, 49152, 12345]
        #expect(BlobCoding.decodeInt32s(BlobCoding.encode(int32s: values)) == values)
        #expect(Array(BlobCoding.encode(int32s: [258])) == [0x02, 0x01, 0x00, 0x00])
    }
}

@Suite struct SweepStoreTests {
    @Test func createOrValidateNamesTheDifferingSetting() throws {
        let store = try StoreDatabase.inMemory()
        let first = try store.createOrValidateSweep(name: "s", settings: sampleSettings())
        let again = try store.createOrValidateSweep(name: "s", settings: sampleSettings())
        #expect(first.id == again.id)
        #expect(first.magnitudeValues == [0, 2, 4])
        #expect(throws: StoreError.settingsMismatch(sweep: "s", setting: "seed", stored: "7", requested: "8")) {
            _ = try store.createOrValidateSweep(name: "s", settings: sampleSettings(seed: 8))
        }
        do {
            _ = try store.createOrValidateSweep(name: "s", settings: sampleSettings(magnitudes: [0, 2]))
            Issue.record("changed magnitudes must be refused")
        } catch {
            #expect(error.localizedDescription.contains("'magnitudes'"))
        }
        var changed = sampleSettings(); changed.extra["layer"] = "10"
        #expect(throws: StoreError.self) { _ = try store.createOrValidateSweep(name: "s", settings: changed) }
        #expect(try store.sweeps().count == 1)
        #expect(try store.sweeps()[0].settings() == sampleSettings())
    }

    @Test func batchInsertIsIdempotentAndTracksFinishedCells() throws {
        let store = try StoreDatabase.inMemory()
        let sweep = try store.createOrValidateSweep(name: "s", settings: sampleSettings())
        let ids = try store.promptIds(for: ["p1", "p2"])
        #expect(try store.promptIds(for: ["p2"]) == [ids[1]])
        let gens = [
            GenerationRecord(sweepId: sweep.id!, featureIndex: 5, promptId: ids[0], magnitude: 2, text: "a", tokens: [1, 2, 3], finishReason: "length"),
            GenerationRecord(sweepId: sweep.id!, featureIndex: 5, promptId: ids[1], magnitude: 2, text: "b"),
        ]
        let baselines = [BaselineRecord(sweepId: sweep.id!, promptId: ids[0], text: "base", tokens: [9])]
        #expect(try store.insertBatch(generations: gens, baselines: baselines) == 2)
        var more = gens
        more[0].text = "changed"
        more.append(GenerationRecord(sweepId: sweep.id!, featureIndex: 6, promptId: ids[0], magnitude: 4, text: "c"))
        #expect(try store.insertBatch(generations: more, baselines: baselines) == 1)
        let stored = try store.generations(sweepId: sweep.id!)
        #expect(stored.map(\.text) == ["a", "b", "c"])
        #expect(stored[0].tokens == [1, 2, 3])
        #expect(try store.baselines(sweepId: sweep.id!).map(\.tokens) == [[9]])
        #expect(try store.finishedCells(sweepId: sweep.id!) == [
            SweepCell(featureIndex: 5, promptId: ids[0], magnitude: 2), SweepCell(featureIndex: 5, promptId: ids[1], magnitude: 2),
            SweepCell(featureIndex: 6, promptId: ids[0], magnitude: 4)])
    }

    @Test func batchIsOneTransaction() throws {
        let store = try StoreDatabase.inMemory()
        let sweep = try store.createOrValidateSweep(name: "s", settings: sampleSettings())
        let ids = try store.promptIds(for: ["p1"])
        let bad = [GenerationRecord(sweepId: sweep.id!, featureIndex: 1, promptId: ids[0], magnitude: 0, text: "ok"),
                   GenerationRecord(sweepId: sweep.id!, featureIndex: 1, promptId: 999, magnitude: 0, text: "bad prompt id")]
        #expect(throws: (any Error).self) { try store.insertBatch(generations: bad) }
        #expect(try store.generations(sweepId: sweep.id!).isEmpty)
    }

    @Test func replaceAnalysisReplacesOnlyThatSweep() throws {
        let store = try StoreDatabase.inMemory()
        let a = try store.createOrValidateSweep(name: "a", settings: sampleSettings())
        let b = try store.createOrValidateSweep(name: "b", settings: sampleSettings())
        let ids = try store.promptIds(for: ["p"])
        try store.insertBatch(generations: [GenerationRecord(sweepId: a.id!, featureIndex: 1, promptId: ids[0], magnitude: 1, text: "x")])
        let gid = try store.generations(sweepId: a.id!)[0].id!
        func analysis(_ sweepId: Int64, value: Double) -> StoredSweepAnalysis {
            var r = StoredSweepAnalysis()
            r.statistics = [SweepStatisticRecord(sweepId: sweepId, name: "rho", value: value, detail: "p=0.1")]
            r.featureSummaries = [FeatureSummaryRecord(sweepId: sweepId, featureIndex: 1, stageCount: value)]
            r.onsets = [OnsetRecord(sweepId: sweepId, featureIndex: 1, promptId: ids[0], onsetMagnitude: value, robustness: nil)]
            if sweepId == a.id! {
                r.metrics = [GenerationMetricsRecord(generationId: gid, distinct1: 1, distinct2: 1, distinct3: 1, repeatedNgramShare: 0,
                                                     compressionRatio: 0.5, nonwordShare: 0, perplexity: nil, degradationScore: value, degraded: false)]
                r.similarities = [SimilarityRecord(generationId: gid, descriptionCosine: value, outputCosine: nil)]
            }
            return r
        }
        try store.replaceAnalysis(sweepId: a.id!, analysis(a.id!, value: 1))
        try store.replaceAnalysis(sweepId: b.id!, analysis(b.id!, value: 5))
        try store.replaceAnalysis(sweepId: a.id!, analysis(a.id!, value: 2))
        let (stats, metrics, sims) = try store.read { db in
            (try SweepStatisticRecord.order(Column("sweep_id")).fetchAll(db), try GenerationMetricsRecord.fetchAll(db), try SimilarityRecord.fetchAll(db))
        }
        #expect(stats.map(\.value) == [2, 5])
        #expect(metrics.map(\.degradationScore) == [2])
        #expect(sims.map(\.descriptionCosine) == [2])
        // A failing replacement leaves the previous rows.
        var broken = analysis(a.id!, value: 3)
        broken.statistics.append(broken.statistics[0])  // violates UNIQUE(sweep_id, name)
        #expect(throws: (any Error).self) { try store.replaceAnalysis(sweepId: a.id!, broken) }
        #expect(try store.read { db in try Double.fetchOne(db, sql: "SELECT value FROM sweep_statistics WHERE sweep_id = ?", arguments: [a.id!]) } == 2)
    }

    @Test func embeddingsCacheRoundTrips() throws {
        let store = try StoreDatabase.inMemory()
        try store.saveEmbeddings([TextEmbeddingRecord(model: "minilm", textHash: "h1", values: [0.25, -1, 3])])
        #expect(try store.embeddings(model: "minilm", textHashes: ["h1", "h2"]) == ["h1": [0.25, -1, 3]])
        #expect(try store.embeddings(model: "other", textHashes: ["h1"]).isEmpty)
    }

    @Test func deletingASweepCascades() throws {
        let store = try StoreDatabase.inMemory()
        let s = try store.createOrValidateSweep(name: "s", settings: sampleSettings())
        let ids = try store.promptIds(for: ["p"])
        try store.insertBatch(generations: [GenerationRecord(sweepId: s.id!, featureIndex: 1, promptId: ids[0], magnitude: 1, text: "x")],
                              baselines: [BaselineRecord(sweepId: s.id!, promptId: ids[0], text: "b")])
        let gid = try store.generations(sweepId: s.id!)[0].id!
        try store.saveDescriptions([DescriptionRecord(generationId: gid, describer: "d", cacheKey: "k", text: "t")])
        _ = try store.write { db in try SweepRecord.deleteOne(db, key: s.id!) }
        let counts = try tableCounts(store)
        #expect(counts["generations"] == 0 && counts["baselines"] == 0 && counts["descriptions"] == 0)
    }
}
