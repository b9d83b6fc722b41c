import Foundation
import SparseAutoencoder
import Store
import Sweep
import Testing
import Units
@testable import Study

/// `semprog sweep`'s work (`SweepRun`) on the tiny Llama and an SAE trained on it, into a database file.
@Suite struct SweepRunTests {
    func settings(sae: String, db: String, prompts: String, features: SweepRun.FeatureSelection = .list("0,3"),
                  magnitudes: String = "0,4", model: String = StudyFixtures.tinyLlama) -> SweepRun.Settings {
        SweepRun.Settings(model: model, sae: sae, hook: nil, features: features, prompts: prompts, magnitudes: magnitudes,
                          units: .absolute, method: .clamp, positions: .all, maxTokens: 4, temperature: 0, topK: 0, topP: 1,
                          repetitionPenalty: 1, frequencyPenalty: 0, seed: 0, chat: false, chatTemplate: nil, batchSize: 8,
                          database: db, name: "t", shard: nil, quiet: true)
    }

    func promptFile(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("prompts.txt").path
        try Data("The cat sat\nWater boils at\n".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func runsEveryCellOnceAndResumes() throws {
        let sae = try StudyFixtures.tinySAE.get()
        let dir = try StudyFixtures.scratch("sweep")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let prompts = try promptFile(in: dir)
        let first = RecordingConsole()
        try SweepRun(settings: settings(sae: sae, db: db, prompts: prompts)).run(console: first.console)
        let contents = try StoreDatabase(path: db).sweepContents("t")
        // 2 features × 2 prompts × 2 magnitudes, and one baseline per prompt.
        #expect(contents.generations.count == 8 && contents.baselines.count == 2)
        #expect(Set(contents.generations.map(\.featureIndex)) == [0, 3])
        #expect(contents.sweep.magnitudeUnit == .absolute)
        // The count printed includes the baselines.
        #expect(first.diagnostics.count == 1 && first.diagnostics[0].hasPrefix("sweep t: 10 generations in "), "\(first.diagnostics)")
        #expect(first.diagnostics[0].hasSuffix("already done) → \(db)"))
        // The same command again finds every batch done.
        let again = RecordingConsole()
        try SweepRun(settings: settings(sae: sae, db: db, prompts: prompts)).run(console: again.console)
        #expect(again.diagnostics[0].contains("(0 batches run, "), "\(again.diagnostics)")
        #expect(try StoreDatabase(path: db).sweepContents("t").generations.map(\.text) == contents.generations.map(\.text))
    }

    @Test func topFeaturesByActivationAreTheSessionsMostActive() throws {
        let sae = try StudyFixtures.tinySAE.get()
        let dir = try StudyFixtures.scratch("sweep-top")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let prompts = try promptFile(in: dir)
        try SweepRun(settings: settings(sae: sae, db: db, prompts: prompts, features: .top(count: 2, by: .activation), magnitudes: "0"))
            .run(console: RecordingConsole().console)
        let session = try SteeringSession.load(modelPath: StudyFixtures.tinyLlama, saePath: sae)
        let expected = try session.mostActiveFeatures(on: try PromptFile.read(path: prompts), count: 2, chat: false)
        #expect(Set(try StoreDatabase(path: db).sweepContents("t").generations.map(\.featureIndex)) == Set(expected))
    }

    /// Magnitudes, prompts, shard and features are checked before the model loads: a missing model is not what
    /// the error names.
    @Test func listsAreCheckedBeforeTheModelLoads() throws {
        let dir = try StudyFixtures.scratch("sweep-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let prompts = try promptFile(in: dir)
        let noModel = dir.appendingPathComponent("missing.gguf").path
        var s = settings(sae: "/nonexistent-sae", db: db, prompts: prompts, features: .list("1,x"), model: noModel)
        #expect { try SweepRun(settings: s).run(console: RecordingConsole().console) } throws: { !$0.localizedDescription.contains(noModel) }
        s.features = .list("1"); s.magnitudes = "1,abc"
        #expect { try SweepRun(settings: s).run(console: RecordingConsole().console) } throws: { !$0.localizedDescription.contains(noModel) }
        s.magnitudes = "1"; s.shard = "3/2"
        #expect { try SweepRun(settings: s).run(console: RecordingConsole().console) } throws: { !$0.localizedDescription.contains(noModel) }
        s.shard = nil
        #expect { try SweepRun(settings: s).run(console: RecordingConsole().console) } throws: { $0.localizedDescription.contains(noModel) }
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test func unitsDefaultToTheMethodsOwn() {
        var s = settings(sae: "s", db: "d", prompts: "p")
        s.units = nil
        s.method = .clamp
        #expect(s.resolvedUnits == .maxActivation)
        s.method = .scale
        #expect(s.resolvedUnits == .factor)
        s.units = .absolute
        #expect(s.resolvedUnits == .absolute)
    }
}
