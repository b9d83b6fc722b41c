import Foundation
import TestSupport
import Testing

@Suite struct ReportCLITests {
    func scratch() throws -> URL {
        let dir = TestScratch.root.appendingPathComponent("report-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `bench report --export-data` writes a synthetic ReportData; `report --data` turns it into a report.
    @Test func reportFromDataFile() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.json")
        let bench = try CLIRunner.run(["bench", "report", "--features", "2", "--prompts", "4", "--magnitudes", "6",
                                       "--threads", "2", "--export-data", data.path])
        #expect(bench.status == 0, "\(bench.stderr)")
        #expect(bench.stdout.contains("threads: 2") && bench.stdout.contains("figures/s"))
        let out = dir.appendingPathComponent("report")
        let r = try CLIRunner.run(["report", "--data", data.path, "--out", out.path, "--format", "html,pdf", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("9 figures"))
        for f in ["report.html", "report.pdf", "summary.csv", "figures/rq2-consistency.svg"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "\(f)")
        }
        let htmlOnly = dir.appendingPathComponent("html-only")
        let h = try CLIRunner.run(["report", "--data", data.path, "--out", htmlOnly.path, "--format", "html"])
        #expect(h.status == 0)
        #expect(!FileManager.default.fileExists(atPath: htmlOnly.appendingPathComponent("report.pdf").path))
    }

    /// Issue #22: `report --out DIR` never removes what it did not write.
    @Test func outKeepsWhatTheReportDidNotWrite() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.json")
        _ = try CLIRunner.run(["bench", "report", "--features", "1", "--prompts", "2", "--magnitudes", "3",
                               "--export-data", data.path])
        let work = dir.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("mywork"), withIntermediateDirectories: true)
        try "notes".write(to: work.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try "print(1)".write(to: work.appendingPathComponent("mywork/analysis.py"), atomically: true, encoding: .utf8)
        let refused = try CLIRunner.run(["report", "--data", data.path, "--out", work.path, "--quiet"])
        #expect(refused.status != 0 && refused.stderr.contains(work.path) && refused.stderr.contains("--force"), "\(refused.stderr)")
        let forced = try CLIRunner.run(["report", "--data", data.path, "--out", work.path, "--force", "--quiet", "--format", "html"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let again = try CLIRunner.run(["report", "--data", data.path, "--out", work.path, "--quiet", "--format", "html"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOf: work.appendingPathComponent("notes.txt"), encoding: .utf8) == "notes")
        #expect(try String(contentsOf: work.appendingPathComponent("mywork/analysis.py"), encoding: .utf8) == "print(1)")
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("explorer.html").path))
    }

    @Test func clearErrors() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.json")
        _ = try CLIRunner.run(["bench", "report", "--features", "1", "--prompts", "2", "--magnitudes", "3",
                               "--export-data", data.path])
        let out = dir.appendingPathComponent("out").path

        let db = try CLIRunner.run(["report", "--db", dir.appendingPathComponent("x.sqlite").path, "--out", out])
        #expect(db.status != 0 && db.stderr.contains("x.sqlite: no such database"))

        let tpl = try CLIRunner.run(["report", "--data", data.path, "--out", out, "--templates", "/nonexistent/templates"])
        #expect(tpl.status != 0 && tpl.stderr.contains("template directory /nonexistent/templates does not exist"))

        let fmt = try CLIRunner.run(["report", "--data", data.path, "--out", out, "--format", "docx"])
        #expect(fmt.status != 0 && fmt.stderr.contains("docx"))

        let none = try CLIRunner.run(["report", "--out", out])
        #expect(none.status != 0 && none.stderr.contains("--data"))

        let missing = try CLIRunner.run(["report", "--data", dir.appendingPathComponent("nope.json").path, "--out", out])
        #expect(missing.status != 0 && missing.stderr.contains("nope.json"))

        let badOut = try CLIRunner.run(["report", "--data", data.path, "--out", "/nonexistent/dir/out"])
        #expect(badOut.status != 0 && badOut.stderr.contains("/nonexistent/dir"))

        // Nothing was written by the failures.
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["data.json"])
    }
}
