import Foundation
import GRDB
import Testing
@testable import Store

@Suite struct MergeTests {
    /// A shard holding the given cells of sweep "s" (feature 1, prompts "p"/"q").
    func makeShard(_ path: String, magnitudes: [Double], settings: SweepSettings = sampleSettings(), text: String = "out") throws {
        let store = try StoreDatabase(path: path)
        let modelId = try store.registerModel(path: "models/SmolLM2.gguf", sha256: "abc")
        let saeId = try store.registerSAE(SAERecord(path: "saes/l10", sha256: "def", hook: "blocks.10.hook_resid_post", dIn: 576, dSAE: 4608))
        let sweep = try store.createOrValidateSweep(name: "s", settings: settings, modelId: modelId, saeId: saeId)
        let ids = try store.promptIds(for: ["p", "q"])
        var generations: [GenerationRecord] = []
        for m in magnitudes {
            for id in ids {
                generations.append(GenerationRecord(sweepId: sweep.id!, featureIndex: 1, promptId: id, magnitude: m,
                                                    text: "\(text) \(m)", tokens: [1, Int32(m)]))
            }
        }
        try store.insertBatch(generations: generations, baselines: ids.map { BaselineRecord(sweepId: sweep.id!, promptId: $0, text: "base") })
        let first = try store.generations(sweepId: sweep.id!)[0]
        try store.saveDescriptions([DescriptionRecord(generationId: first.id!, describer: "d", cacheKey: "k\(magnitudes[0])", text: "desc")])
        try store.saveSteeringScores([SteeringScoreRecord(generationId: first.id!, judge: "llm", cacheKey: "j\(magnitudes[0])",
                                                          rubricVersion: "axbench-v1", concept: 2, instruction: 1, fluency: 2, aggregate: 1.5)])
        try store.write { db in
            let fid = try StoreDatabase.featureId(db, saeId: saeId, featureIndex: 1)
            try db.execute(sql: "UPDATE features SET max_activation = 9 WHERE id = ?", arguments: [fid])
            _ = try ExplanationRecord(featureId: fid, source: "semprog", text: "cats", isPreferred: true).inserted(db)
        }
    }

    @Test func mergesShardsIdempotently() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        try makeShard(dir.path("a.sqlite"), magnitudes: [0, 2])
        try makeShard(dir.path("b.sqlite"), magnitudes: [2, 4])
        let merged = try StoreDatabase(path: dir.path("f.sqlite"))
        let summary = try merged.merge(shards: [dir.path("a.sqlite"), dir.path("b.sqlite")])
        #expect(summary.generationsAdded == 6)
        #expect(summary.generationsSkipped == 2)
        #expect(summary.conflictingCells == 0)
        #expect(summary.sweeps == ["s"])
        let sweep = try merged.resolveSweep(nil)
        let generations = try merged.generations(sweepId: sweep.id!)
        #expect(generations.map(\.magnitude) == [0, 2, 4, 0, 2, 4])  // by feature, prompt, magnitude
        #expect(generations.allSatisfy { $0.tokens == [1, Int32($0.magnitude)] })
        #expect(try merged.baselines(sweepId: sweep.id!).count == 2)
        #expect(try merged.descriptions(sweepId: sweep.id!).count == 2)
        // The llm judge's scores travel with their generations (one per shard's first cell).
        #expect(summary.steeringScoresAdded == 2)
        let scores = try merged.steeringScores(sweepId: sweep.id!, judge: "llm")
        #expect(scores.count == 2 && scores.values.allSatisfy { $0.aggregate == 1.5 && $0.concept == 2 })
        #expect(try sweep.settings() == sampleSettings())
        let counts = try tableCounts(merged)
        #expect(counts["models"] == 1 && counts["saes"] == 1 && counts["features"] == 1 && counts["explanations"] == 1)
        #expect(try merged.preferredExplanations(saeId: sweep.saeId!)[1]?.text == "cats")

        let again = try merged.merge(shards: [dir.path("b.sqlite"), dir.path("a.sqlite")])
        #expect(again.generationsAdded == 0 && again.baselinesAdded == 0 && again.descriptionsAdded == 0 && again.explanationsAdded == 0
                && again.steeringScoresAdded == 0)
        #expect(try tableCounts(merged) == counts)
    }

    @Test func mismatchedSettingsAreRefusedAndNothingIsWritten() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        try makeShard(dir.path("a.sqlite"), magnitudes: [0])
        try makeShard(dir.path("b.sqlite"), magnitudes: [2], settings: sampleSettings(seed: 99))
        let merged = try StoreDatabase(path: dir.path("f.sqlite"))
        do {
            _ = try merged.merge(shards: [dir.path("a.sqlite"), dir.path("b.sqlite")])
            Issue.record("merging shards with different seeds must fail")
        } catch {
            let message = error.localizedDescription
            #expect(message.contains(dir.path("b.sqlite")))
            #expect(message.contains("'seed'"))
        }
        #expect(try merged.sweeps().isEmpty)
        #expect(try tableCounts(merged).values.allSatisfy { $0 == 0 })
    }

    @Test func conflictingCellsKeepTheFirstText() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        try makeShard(dir.path("a.sqlite"), magnitudes: [0], text: "first")
        try makeShard(dir.path("b.sqlite"), magnitudes: [0], text: "second")
        let merged = try StoreDatabase(path: dir.path("f.sqlite"))
        let summary = try merged.merge(shards: [dir.path("a.sqlite"), dir.path("b.sqlite")])
        #expect(summary.conflictingCells == 2)
        #expect(try merged.generations(sweepId: merged.resolveSweep("s").id!).map(\.text) == ["first 0.0", "first 0.0"])
    }

    @Test func outputCannotBeAnInput() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        try makeShard(dir.path("a.sqlite"), magnitudes: [0])
        let store = try StoreDatabase(path: dir.path("a.sqlite"))
        #expect(throws: StoreError.self) { _ = try store.merge(shards: [dir.path("a.sqlite")]) }
        #expect(throws: StoreError.merge("\(dir.path("missing.sqlite")): no such database")) {
            _ = try store.merge(shards: [dir.path("missing.sqlite")])
        }
    }
}

@Suite struct MergeImportedSweepTests {
    @Test func importedShardsWithFeatureDataShareOneSAE() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let text = "feature,prompt,magnitude,output,explanation,max_activation\n1,p,1,x,cats,3.5\n2,p,1,y,dogs,4\n"
        let file = try dir.write("nb.csv", text)
        for shard in ["a", "b"] { try StoreDatabase(path: dir.path("\(shard).sqlite")).importFlatFile(at: file, sweepName: "s") }
        let merged = try StoreDatabase(path: dir.path("f.sqlite"))
        _ = try merged.merge(shards: [dir.path("a.sqlite"), dir.path("b.sqlite")])
        let counts = try tableCounts(merged)
        #expect(counts["saes"] == 1 && counts["features"] == 2 && counts["explanations"] == 2 && counts["generations"] == 2)
        let csv = String(decoding: try merged.exportFlatFile(sweepName: "s", format: .csv), as: UTF8.self)
        #expect(csv == text.replacingOccurrences(of: "\n", with: "\r\n").replacingOccurrences(of: ",1,", with: ",1.0,")
            .replacingOccurrences(of: ",4\r", with: ",4.0\r"))
    }
}
