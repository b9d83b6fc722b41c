import Foundation
import TestSupport
import Store
import Testing
import Units

/// End-to-end sweeps on the real SmolLM2 model with the reference SAE (Tests/Fixtures/reference) (blocks.6, 64 features):
/// resumability after SIGKILL/SIGINT, refusal of changed settings, bad input.
@Suite(.serialized) struct SweepCLITests {
    static let sae = CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/sae-jumprelu-blocks6").path

    let dir: URL

    init() throws {
        dir = TestScratch.root.appendingPathComponent("semprog-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "The weather today is\nMy favourite food is\n".write(to: dir.appendingPathComponent("prompts.txt"), atomically: true, encoding: .utf8)
    }

    func arguments(db: String, magnitudes: String = "0,20,60", extra: [String] = []) -> [String] {
        ["sweep", "--sae", Self.sae, "--features", "0,2", "--prompts", dir.appendingPathComponent("prompts.txt").path,
         "--magnitudes", magnitudes, "--units", "absolute", "--max-tokens", "6", "--batch-size", "2",
         "--temperature", "0.8", "--seed", "7", "--db", db, "--quiet"] + extra
    }

    struct Row: Hashable { var feature: Int; var prompt: String; var magnitude: Double; var text: String; var tokens: [Int32] }

    func rows(_ path: String) throws -> (generations: Set<Row>, baselines: [String]) {
        let store = try StoreDatabase(path: path)
        let sweep = try store.resolveSweep(nil)
        let prompts = try store.promptTexts()
        let g = try store.generations(sweepId: sweep.id!).map {
            Row(feature: $0.featureIndex, prompt: prompts[$0.promptId]!, magnitude: $0.magnitude, text: $0.text, tokens: $0.tokens ?? [])
        }
        #expect(Set(g).count == g.count, "no duplicates")
        let b = try store.baselines(sweepId: sweep.id!).map(\.text)
        return (Set(g), b)
    }

    func count(_ path: String) -> Int {
        guard FileManager.default.fileExists(atPath: path), let store = try? StoreDatabase(path: path),
              let n = try? store.read({ db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM generations") ?? 0 }) else { return 0 }
        return n
    }

    @Test(arguments: [SIGKILL, SIGINT])
    func interruptedSweepResumesExactly(signal: Int32) throws {
        let full = dir.appendingPathComponent("full.sqlite").path
        let first = try CLIRunner.run(arguments(db: full))
        #expect(first.status == 0, "\(first.stderr)")
        let reference = try rows(full)
        #expect(reference.generations.count == 2 * 2 * 3)
        #expect(reference.baselines.count == 2)
        // The rerun of a finished sweep does nothing and changes nothing.
        let again = try CLIRunner.run(arguments(db: full))
        #expect(again.status == 0)
        #expect(again.stderr.contains("0 generations"))
        #expect(try rows(full).generations == reference.generations)

        // Kill a second run after its first committed batch of generations, then resume it.
        let killed = dir.appendingPathComponent("killed-\(signal).sqlite").path
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = arguments(db: killed)
        process.currentDirectoryURL = CLIRunner.repositoryRoot
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && count(killed) == 0 && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        let partial = count(killed)
        #expect(partial < 12, "the sweep was interrupted before it finished (\(partial) rows)")
        let resumed = try CLIRunner.run(arguments(db: killed))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let after = try rows(killed)
        #expect(after.generations == reference.generations, "same rows, same texts and token ids as the uninterrupted run")
        #expect(after.baselines == reference.baselines)
    }

    /// Magnitudes are kept as the user wrote them (Double): `--magnitudes 0,0.1` stores 0.1 and exports "0.1", not
    /// the Float32 value 0.10000000149011612 of earlier versions. A sweep begun by an earlier version (its cells at
    /// the Float32 value) resumes at that value, so its cells stay one set.
    @Test func magnitudesAreStoredAndExportedAsWritten() throws {
        let db = dir.appendingPathComponent("decimal.sqlite").path
        let run = try CLIRunner.run(arguments(db: db, magnitudes: "0,0.1"))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Set(try rows(db).generations.map(\.magnitude)) == [0, 0.1])
        let export = try CLIRunner.run(["export", "--db", db, "--format", "csv"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains(",0.1,") && !export.stdout.contains("0.10000000149011612"))
        // Each generation keeps the requested magnitude's unit and the absolute target, both as written.
        #expect(export.stdout.hasPrefix("feature,prompt,magnitude,output,magnitude_unit,absolute_target"))
        let stored = try StoreDatabase(path: db).generations(sweepId: try StoreDatabase(path: db).resolveSweep(nil).id!)
        #expect(stored.allSatisfy { $0.magnitudeUnit == .absolute })
        #expect(Set(stored.map(\.absoluteTarget)) == [0, 0.1])

        // As an earlier version left it: magnitudes at the Float32 value, the last cells not yet generated.
        let legacy = Double(Float(0.1))
        let store = try StoreDatabase(path: db)
        try store.write { db in
            try db.execute(sql: "UPDATE generations SET magnitude = ? WHERE magnitude = 0.1", arguments: [legacy])
            try db.execute(sql: "DELETE FROM generations WHERE feature_index = 2 AND magnitude > 0")
        }
        let resumed = try CLIRunner.run(arguments(db: db, magnitudes: "0,0.1"))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let magnitudes = try rows(db).generations.map(\.magnitude)
        #expect(magnitudes.count == 2 * 2 * 2)
        #expect(Set(magnitudes) == [0, legacy])
    }

    @Test func shardsMergeIntoTheFullSweep() throws {
        let full = dir.appendingPathComponent("whole.sqlite").path
        #expect(try CLIRunner.run(arguments(db: full)).status == 0)
        var shards: [String] = []
        for i in 0..<3 {
            let shard = dir.appendingPathComponent("shard\(i).sqlite").path
            let r = try CLIRunner.run(arguments(db: shard, extra: ["--shard", "\(i)/3"]))
            #expect(r.status == 0, "\(r.stderr)")
            shards.append(shard)
        }
        #expect(shards.map(count).reduce(0, +) == 12, "the shards partition the cells")
        let merged = dir.appendingPathComponent("merged.sqlite").path
        let m = try CLIRunner.run(["merge"] + shards + ["--into", merged])
        #expect(m.status == 0, "\(m.stderr)")
        let a = try rows(full), b = try rows(merged)
        #expect(b.generations == a.generations, "a sharded run gives the rows of an unsharded one")
        #expect(b.baselines == a.baselines)
    }

    @Test func changedSettingIsRefused() throws {
        let db = dir.appendingPathComponent("s.sqlite").path
        #expect(try CLIRunner.run(arguments(db: db)).status == 0)
        let before = try rows(db)
        let changed = try CLIRunner.run(arguments(db: db, magnitudes: "0,20"))
        #expect(changed.status != 0)
        #expect(changed.stderr.contains("magnitudes"))
        #expect(try rows(db).generations == before.generations)
        // Another sweep name is a new sweep.
        #expect(try CLIRunner.run(arguments(db: db, magnitudes: "0,20", extra: ["--name", "second"])).status == 0)
    }

    @Test func badInputGivesOneClearError() throws {
        let db = dir.appendingPathComponent("bad.sqlite").path
        let unknown = try CLIRunner.run(["sweep", "--sae", Self.sae, "--features", "64", "--prompts",
                                         dir.appendingPathComponent("prompts.txt").path, "--units", "absolute", "--db", db])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("feature 64"))
        let empty = dir.appendingPathComponent("empty.txt")
        try "\n\n".write(to: empty, atomically: true, encoding: .utf8)
        let noPrompts = try CLIRunner.run(["sweep", "--sae", Self.sae, "--features", "1", "--prompts", empty.path,
                                           "--units", "absolute", "--db", db])
        #expect(noPrompts.status != 0)
        #expect(noPrompts.stderr.contains("empty.txt"))
        for bad in ["", "1,nan", "0:1:0"] {
            let r = try CLIRunner.run(arguments(db: db, magnitudes: bad))
            #expect(r.status != 0)
            #expect(r.stderr.contains("--magnitudes"))
        }
        #expect(count(db) == 0, "nothing written")
        #expect(!FileManager.default.fileExists(atPath: db), "a refused sweep leaves no database file behind")
    }

    /// Values the argument parser used to misread or that overflow the precision they are used in.
    @Test func negativeAndOverflowingValuesAreNamed() throws {
        let db = dir.appendingPathComponent("values.sqlite").path
        let negative = try CLIRunner.run(["sweep", "--sae", Self.sae, "--features", "-1", "--prompts",
                                          dir.appendingPathComponent("prompts.txt").path, "--units", "absolute", "--db", db])
        #expect(negative.status != 0)
        #expect(negative.stderr.contains("--features") && negative.stderr.contains("'-1'"), "\(negative.stderr)")
        #expect(!negative.stderr.contains("Missing value"))
        let huge = try CLIRunner.run(arguments(db: db, magnitudes: "0,1e39"))
        #expect(huge.status != 0)
        #expect(huge.stderr.contains("--magnitudes") && huge.stderr.contains("1e39"), "\(huge.stderr)")
        let scaleUnits = try CLIRunner.run(arguments(db: db, extra: ["--method", "scale"]))
        #expect(scaleUnits.status != 0, "--units absolute does not apply to scale factors")
        #expect(scaleUnits.stderr.contains("--units"), "\(scaleUnits.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    /// A sweep refused for the context length registered its settings, so the corrected rerun was then refused
    /// as "already exists with a different setting". Now nothing is written before everything is checked.
    @Test func refusedSweepLeavesTheDatabaseAsItWas() throws {
        let db = dir.appendingPathComponent("context.sqlite").path
        let tooLong = try CLIRunner.run(arguments(db: db, extra: ["--max-tokens", "100000"]))
        #expect(tooLong.status != 0)
        #expect(tooLong.stderr.contains("context length"), "\(tooLong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db), "no database file")
        // With a database that already holds another sweep: still untouched by the refused run.
        #expect(try CLIRunner.run(arguments(db: db, magnitudes: "0", extra: ["--name", "other"])).status == 0)
        let again = try CLIRunner.run(arguments(db: db, extra: ["--max-tokens", "100000"]))
        #expect(again.status != 0)
        let corrected = try CLIRunner.run(arguments(db: db, extra: ["--max-tokens", "4"]))
        #expect(corrected.status == 0, "the corrected rerun runs: \(corrected.stderr)")
        let store = try StoreDatabase(path: db, access: .readOnly)
        #expect(try store.sweeps().map(\.name).sorted() == ["default", "other"])
    }
}

/// `semprog screen` on the real model and the reference SAE, and `sweep --top-features N --by output-score`.
@Suite(.serialized) struct ScreenCLITests {
    @Test func screenStoresScoresAndSweepRanksByThem() throws {
        let dir = TestScratch.root.appendingPathComponent("semprog-screen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let prompts = dir.appendingPathComponent("p.txt").path
        try "Hello\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        let unscored = try CLIRunner.run(["sweep", "--sae", SweepCLITests.sae, "--top-features", "2", "--by", "output-score",
                                          "--prompts", prompts, "--units", "absolute", "--db", db, "--quiet"])
        #expect(unscored.status != 0)
        #expect(unscored.stderr.contains("semprog screen"), "\(unscored.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))

        let r = try CLIRunner.run(["screen", "--sae", SweepCLITests.sae, "--db", db, "--features", "0-9", "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["feature"] as? Int } == (0...9).map { $0 })
        let scores = rows.compactMap { $0["output_score"] as? Double }
        #expect(scores.count == 10 && scores.allSatisfy { (0...1).contains($0) })
        #expect(rows.allSatisfy { $0.keys.contains("input_score") })
        #expect(r.stderr.contains("features/s"))

        let best = (0...9).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(2).sorted()
        let sweep = try CLIRunner.run(["sweep", "--sae", SweepCLITests.sae, "--top-features", "2", "--by", "output-score",
                                       "--prompts", prompts, "--magnitudes", "0", "--units", "absolute", "--max-tokens", "2",
                                       "--db", db, "--quiet"])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let store = try StoreDatabase(path: db, access: .readOnly)
        let features = Set(try store.generations(sweepId: try store.resolveSweep(nil).id!).map(\.featureIndex))
        #expect(features.sorted() == Array(best), "the two best-scored features are swept")
    }
}
