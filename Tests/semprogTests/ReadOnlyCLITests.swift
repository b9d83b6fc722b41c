import Foundation
import TestSupport
import Testing

/// Commands that only read work on a database the user may only read, and failed commands leave no file behind.
@Suite struct ReadOnlyCLITests {
    let dir: URL

    init() throws {
        dir = TestScratch.root.appendingPathComponent("semprog-readonly-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs semprog as a user who may only read `dir`'s files: as `nobody` (setpriv) when the tests run as root,
    /// who ignores file modes; otherwise with the files and the folder made read-only.
    func runAsReader(_ arguments: [String], lock paths: [String]) throws -> CLIRunner.Result {
        if getuid() == 0 {
            return try CLIRunner.run(["--reuid=65534", "--regid=65534", "--clear-groups", CLIRunner.executable.path] + arguments,
                                     executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
        }
        for p in paths { try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: p) }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
        return try CLIRunner.run(arguments)
    }

    @Test func exportReadsADatabaseTheUserMayOnlyRead() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = path("in.csv")
        try Data("feature,prompt,magnitude,output\n1,p,0,x\n1,p,2,y\n".utf8).write(to: URL(fileURLWithPath: csv))
        let db = path("ro.sqlite")
        #expect(try CLIRunner.run(["import", "--db", db, "--sweep", "s", csv]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        let exported = try runAsReader(["export", "--db", db, "--format", "jsonl"], lock: [db])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.split(separator: "\n").count == 2)
        #expect(!exported.stderr.contains("readonly"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before, "the file is unchanged")
        let contents = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(contents == ["in.csv", "ro.sqlite"], "no journal files left: \(contents)")
    }

    /// A failed import into a new database used to leave an empty database file behind.
    @Test func failedCommandsLeaveNoEmptyDatabase() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = path("bad.csv")
        try Data("feature,prompt,magnitude,output\nx,p,0,out\n".utf8).write(to: URL(fileURLWithPath: bad))
        let db = path("new.sqlite")
        let r = try CLIRunner.run(["import", "--db", db, bad])
        #expect(r.status != 0)
        #expect(r.stderr.contains("bad.csv"))
        #expect(!FileManager.default.fileExists(atPath: db), "no database file")
        let exported = try CLIRunner.run(["export", "--db", path("absent.sqlite"), "--format", "csv"])
        #expect(exported.status != 0)
        #expect(exported.stderr.contains("absent.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: path("absent.sqlite")))
        // A database that existed is kept even when the command fails.
        #expect(try CLIRunner.run(["import", "--db", db, "--sweep", "ok", try {
            let good = path("good.csv")
            try Data("feature,prompt,magnitude,output\n1,p,0,out\n".utf8).write(to: URL(fileURLWithPath: good))
            return good
        }()]).status == 0)
        #expect(try CLIRunner.run(["import", "--db", db, bad]).status != 0)
        #expect(FileManager.default.fileExists(atPath: db))
    }
}
