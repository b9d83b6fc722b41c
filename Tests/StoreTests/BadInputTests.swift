import Foundation
import GRDB
import Testing
@testable import Store

/// Hostile input found by a session's 300 adversarial runs (NUL bytes, CRLF JSONL, read-only files, merge inputs).
@Suite struct BadInputTests {
    /// A NUL used to cut the stored text ("out\u0000hidden" was stored as "out"); now it is refused by row and column.
    @Test(arguments: [
        ("n.jsonl", "{\"feature\": 1, \"prompt\": \"p\", \"magnitude\": 1, \"output\": \"out\\u0000hidden\"}\n", "line 1"),
        ("n.csv", "feature,prompt,magnitude,output\n1,p,1,out\u{0}hidden\n", "row 1"),
        ("p.csv", "feature,prompt,magnitude,output\n1,p\u{0}x,1,fine\n", "row 1"),
    ])
    func nulIsRefusedByName(name: String, text: String, position: String) throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let file = try dir.write(name, text)
        let store = try StoreDatabase.inMemory()
        do {
            try store.importFlatFile(at: file)
            Issue.record("a NUL was accepted")
        } catch {
            let message = error.localizedDescription
            #expect(message.contains(name) && message.contains(position) && message.contains("NUL"), "\(message)")
        }
        #expect(try tableCounts(store).values.allSatisfy { $0 == 0 }, "nothing written")
    }

    /// JSONL with CRLF line endings and a byte-order mark was refused as "Invalid value around character 55".
    @Test func jsonlWithCRLFAndBOMIsRead() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let lines = [
            "{\"feature\": 1, \"prompt\": \"p\", \"magnitude\": 0, \"output\": \"a\"}",
            "{\"feature\": 1, \"prompt\": \"p\", \"magnitude\": 2, \"output\": \"b\\r\\nc\"}",
        ]
        let file = try dir.write("crlf.jsonl", "\u{FEFF}" + lines.joined(separator: "\r\n") + "\r\n")
        let store = try StoreDatabase.inMemory()
        let summary = try store.importFlatFile(at: file)
        #expect(summary.generations == 2)
        let texts = try store.read { db in try String.fetchAll(db, sql: "SELECT text FROM generations ORDER BY magnitude") }
        #expect(texts == ["a", "b\r\nc"], "escaped CR LF inside a value is kept")
    }

    /// Commands that only read open the file read-only: nothing about the file changes, and a missing file is
    /// named instead of being created.
    @Test func readOnlyOpenChangesNothing() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let path = dir.path("r.sqlite")
        do {
            let store = try StoreDatabase(path: path)
            try store.importFlatFile(at: try dir.write("a.csv", "feature,prompt,magnitude,output\n1,p,0,x\n1,p,1,y\n"))
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let reader = try StoreDatabase(path: path, access: .readOnly)
        #expect(try reader.exportFlatFile(sweepName: "a", format: .csv).count > 0)
        #expect(throws: (any Error).self) { try reader.write { db in try db.execute(sql: "DELETE FROM generations") } }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(throws: StoreError.noDatabase(path: dir.path("missing.sqlite"))) {
            try StoreDatabase(path: dir.path("missing.sqlite"), access: .readOnly)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("missing.sqlite")))
    }

    /// A file of an older schema cannot be migrated without writing: a read-only open says so.
    @Test func readOnlyOpenOfAnOlderSchemaIsRefused() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let path = dir.path("old.sqlite")
        do {
            let queue = try DatabaseQueue(path: path)
            var migrator = DatabaseMigrator()
            migrator.registerMigration(StoreDatabase.knownMigrations[0]) { db in try db.execute(sql: "CREATE TABLE t(x)") }
            try migrator.migrate(queue)
        }
        #expect(throws: StoreError.olderSchema(path: path)) { try StoreDatabase(path: path, access: .readOnly) }
    }

    /// `merge` used to migrate (and so rewrite header bytes of) its inputs; they now stay byte-identical.
    @Test func mergeLeavesItsInputsByteIdentical() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        var inputs: [String] = []
        for (name, feature) in [("a", 1), ("b", 2)] {
            let path = dir.path("\(name).sqlite")
            try StoreDatabase(path: path).importFlatFile(at: try dir.write("\(name).csv", "feature,prompt,magnitude,output\n\(feature),p,0,x\(feature)\n"), sweepName: "s")
            inputs.append(path)
        }
        let before = try inputs.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let target = try StoreDatabase(path: dir.path("t.sqlite"))
        let summary = try target.merge(shards: inputs)
        #expect(summary.generationsAdded == 2)
        #expect(try inputs.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)
    }

    /// A failed command must not leave an empty database behind, but files it did not create, or that hold data,
    /// are never removed.
    @Test func emptyDatabasesThisProcessCreatedAreRemoved() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let empty = dir.path("empty.sqlite"), full = dir.path("full.sqlite"), theirs = dir.path("theirs.sqlite")
        try DatabaseQueue(path: theirs).close()  // an empty SQLite file that existed before
        do {
            _ = try StoreDatabase(path: empty)
            _ = try StoreDatabase(path: theirs)
            let store = try StoreDatabase(path: full)
            _ = try store.promptIds(for: ["kept"])
        }
        #expect(StoreDatabase.CreatedFiles.shared.contains(empty))
        #expect(StoreDatabase.CreatedFiles.shared.contains(full))
        #expect(!StoreDatabase.CreatedFiles.shared.contains(theirs), "a file that existed is not ours")
        // (The process-wide list is not drained here: other tests of this process run in parallel.)
        StoreDatabase.removeEmptyDatabases(at: [empty, full])
        #expect(!FileManager.default.fileExists(atPath: empty))
        #expect(FileManager.default.fileExists(atPath: full), "a database with data is kept")
        #expect(FileManager.default.fileExists(atPath: theirs))
    }
}
