import Foundation
import TestSupport
import Testing

/// End-to-end checks of `semprog import`, `export` and `merge` through the built binary.
@Suite struct StoreCLITests {
    let dir: URL

    init() throws {
        dir = TestScratch.root.appendingPathComponent("semprog-store-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws -> String {
        try Data(text.utf8).write(to: dir.appendingPathComponent(name))
        return path(name)
    }

    static let csv = """
        feature,prompt,magnitude,output,baseline,explanation,fraction_nonzero,max_activation,model,sae\r
        4,"Tell me, please",0.0,"plain ""quoted"" text",base,"birds 🐦, flying",0.01,12.5,gpt2-small,res-jb-8\r
        4,"Tell me, please",8.0,"line one
        line two, with comma — ünïcödé",base,"birds 🐦, flying",0.01,12.5,gpt2-small,res-jb-8\r
        9,Hello,-2.5,,"",,,,gpt2-small,res-jb-8\r

        """

    /// `import --units` names the magnitudes' unit; export prints it and the magnitudes as written; a row in
    /// another unit is one error naming file, row and column, with nothing written.
    @Test func importWithUnits() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try write("u.csv", "feature,prompt,magnitude,output\n4,p,0.1,a\n4,p,0.7,b\n")
        let db = path("u.sqlite")
        let imported = try CLIRunner.run(["import", "--db", db, "--units", "max-activation", input])
        #expect(imported.status == 0, "\(imported.stderr)")
        let csv = try CLIRunner.run(["export", "--db", db, "--format", "csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout == "feature,prompt,magnitude,output,magnitude_unit\r\n4,p,0.1,a,max-activation\r\n4,p,0.7,b,max-activation\r\n")
        let badUnit = try CLIRunner.run(["import", "--db", db, "--units", "volts", input])
        #expect(badUnit.status != 0 && badUnit.stderr.contains("--units"), "\(badUnit.stderr)")
        let mixed = try write("mixed.csv", "feature,prompt,magnitude,output,magnitude_unit\n5,q,1,x,factor\n5,q,2,y,absolute\n")
        let refused = try CLIRunner.run(["import", "--db", db, "--sweep", "m", mixed])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("mixed.csv") && refused.stderr.contains("row 2") && refused.stderr.contains("magnitude_unit"),
                "\(refused.stderr)")
        let after = try CLIRunner.run(["export", "--db", db, "--sweep", "m", "--format", "csv"])
        #expect(after.status != 0, "the refused import created no sweep")
    }

    @Test func importExportRoundTripIsExact() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try write("notebook.csv", Self.csv)
        let db = path("a.sqlite")
        let imported = try CLIRunner.run(["import", "--db", db, "--sweep", "nb", input])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stderr.contains("imported 3 generations"))

        // The sweep may be omitted when the database holds one; stdout by default.
        let csv = try CLIRunner.run(["export", "--db", db, "--format", "csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout.hasPrefix("feature,prompt,magnitude,output,baseline,explanation,fraction_nonzero,max_activation,model,sae\r\n"))
        #expect(csv.stdout.contains("line two, with comma — ünïcödé"))
        let jsonlPath = path("out.jsonl")
        let jsonl = try CLIRunner.run(["export", "--db", db, "--sweep", "nb", "--format", "jsonl", "--out", jsonlPath])
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
        #expect(jsonl.stdout.isEmpty)

        // export → import → export gives the same bytes, whichever format travels in between.
        let csvPath = try write("out.csv", csv.stdout)
        for (name, file) in [("b", csvPath), ("c", jsonlPath)] {
            let other = path("\(name).sqlite")
            let again = try CLIRunner.run(["import", "--db", other, file])
            #expect(again.status == 0, "\(again.stderr)")
            let exported = try CLIRunner.run(["export", "--db", other, "--format", "csv"])
            #expect(exported.stdout == csv.stdout)
        }
        let lines = try String(contentsOfFile: jsonlPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[2] == #"{"feature":9,"prompt":"Hello","magnitude":-2.5,"output":"","model":"gpt2-small","sae":"res-jb-8"}"#)
    }

    @Test func badInputExitsNonZeroAndLeavesTheDatabaseUnchanged() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = path("a.sqlite")
        let good = try write("good.csv", "feature,prompt,magnitude,output\n1,p,1,x\n")
        #expect(try CLIRunner.run(["import", "--db", db, "--sweep", "s", good]).status == 0)
        let before = try CLIRunner.run(["export", "--db", db, "--format", "jsonl"]).stdout
        let bad = try write("bad.csv", "feature,prompt,magnitude,output\n2,p,1,fine\n2,p,inf,x\n")
        let result = try CLIRunner.run(["import", "--db", db, "--sweep", "s", bad])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(bad): row 2, column 'magnitude': NaN and infinity are not allowed"))
        #expect(try CLIRunner.run(["export", "--db", db, "--format", "jsonl"]).stdout == before)

        let unknownFormat = try CLIRunner.run(["export", "--db", db, "--format", "xml"])
        #expect(unknownFormat.status != 0)
        #expect(unknownFormat.stderr.contains("--format"))
    }

    @Test func newerDatabaseIsAClearError() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = path("a.sqlite")
        let good = try write("good.csv", "feature,prompt,magnitude,output\n1,p,1,x\n")
        #expect(try CLIRunner.run(["import", "--db", db, good]).status == 0)
        // Record a migration this build does not know, as a newer semprog would.
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sqlite.arguments = ["sqlite3", db, "INSERT INTO grdb_migrations VALUES ('v99-future')"]
        try sqlite.run(); sqlite.waitUntilExit()
        try #require(sqlite.terminationStatus == 0, "sqlite3 command-line tool is needed for this test")
        let result = try CLIRunner.run(["export", "--db", db, "--format", "csv"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("newer version of semprog"))
    }

    @Test func mergeShardsOfOneSweep() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try write("a.csv", "feature,prompt,magnitude,output\n1,p,1,x\n1,p,2,y\n")
        let b = try write("b.csv", "feature,prompt,magnitude,output\n1,p,3,z\n")
        #expect(try CLIRunner.run(["import", "--db", path("a.sqlite"), "--sweep", "s", a]).status == 0)
        #expect(try CLIRunner.run(["import", "--db", path("b.sqlite"), "--sweep", "s", b]).status == 0)
        // Imported shards record their own magnitudes, so they differ in settings: the merge must refuse them.
        let refused = try CLIRunner.run(["merge", path("a.sqlite"), path("b.sqlite"), "--into", path("f.sqlite")])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("'magnitudes'"))
        // Shards with the same settings merge; merging twice changes nothing.
        #expect(try CLIRunner.run(["import", "--db", path("c.sqlite"), "--sweep", "s", a]).status == 0)
        for _ in 0..<2 {
            let merged = try CLIRunner.run(["merge", path("a.sqlite"), path("c.sqlite"), "--into", path("f.sqlite")])
            #expect(merged.status == 0, "\(merged.stderr)")
        }
        let exported = try CLIRunner.run(["export", "--db", path("f.sqlite"), "--format", "csv"])
        #expect(exported.stdout == "feature,prompt,magnitude,output\r\n1,p,1.0,x\r\n1,p,2.0,y\r\n")
    }
}
