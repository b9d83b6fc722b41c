import Foundation
import Testing
@testable import Report

/// `report --out DIR` may replace only what an earlier report wrote there (issue #22, item 1).
@Suite struct ReportFolderTests {
    let fm = FileManager.default

    /// A folder with someone's work in it: notes.txt and mywork/analysis.py.
    func userFolder(in dir: URL) throws -> URL {
        let work = dir.appendingPathComponent("work")
        try fm.createDirectory(at: work.appendingPathComponent("mywork"), withIntermediateDirectories: true)
        try "my notes".write(to: work.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try "print(42)".write(to: work.appendingPathComponent("mywork/analysis.py"), atomically: true, encoding: .utf8)
        return work
    }

    func userFilesIntact(_ work: URL) throws {
        #expect(try String(contentsOf: work.appendingPathComponent("notes.txt"), encoding: .utf8) == "my notes")
        #expect(try String(contentsOf: work.appendingPathComponent("mywork/analysis.py"), encoding: .utf8) == "print(42)")
    }

    @Test func aFolderWithoutAnEarlierReportIsRefusedAndKept() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let work = try userFolder(in: dir)
        let data = ReportData.synthetic(featureCount: 1, promptCount: 2, magnitudeCount: 3)
        #expect(throws: ReportError.outputNotEmpty(path: work.path)) {
            try ReportWriter(templateDirectory: templates, formats: [.html]).write(data, to: work)
        }
        let message = ReportError.outputNotEmpty(path: work.path).localizedDescription
        #expect(message.contains(work.path) && message.contains("--force"))
        try userFilesIntact(work)
        #expect(try fm.contentsOfDirectory(atPath: work.path).sorted() == ["mywork", "notes.txt"])
        #expect(try fm.contentsOfDirectory(atPath: dir.path) == ["work"], "no temporary folder left")
    }

    @Test func forceWritesBesideTheFilesAndRerunsReplaceOnlyTheReport() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let work = try userFolder(in: dir)
        let writer = ReportWriter(templateDirectory: templates, formats: [.html, .pdf], threads: 2)
        let big = ReportData.synthetic(featureCount: 3, promptCount: 2, magnitudeCount: 4, seed: 1)
        let first = try writer.write(big, to: work, force: true)
        try userFilesIntact(work)
        #expect(first.files.contains("explorer.html") && first.files.contains("figures/feature-1074-progression.png"))
        for f in first.files { #expect(fm.fileExists(atPath: work.appendingPathComponent(f).path), "\(f)") }
        let manifest = try String(contentsOf: work.appendingPathComponent(".semprog-report-manifest"), encoding: .utf8)
        #expect(!manifest.contains("notes.txt") && !manifest.contains("mywork"))
        // A rerun over the earlier report (no --force needed) with fewer features removes the stale feature figures
        // and still keeps the user's files.
        let small = ReportData.synthetic(featureCount: 1, promptCount: 2, magnitudeCount: 4, seed: 2)
        let second = try writer.write(small, to: work)
        try userFilesIntact(work)
        #expect(!fm.fileExists(atPath: work.appendingPathComponent("figures/feature-1074-progression.png").path))
        let now = try ReportManifest.contents(of: work)
        #expect(now.files == Set(second.files + [".semprog-report-manifest", "notes.txt", "mywork/analysis.py"]))
        let html = try String(contentsOf: work.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("1 features") && !html.contains("Feature 1037"))
        #expect(try fm.contentsOfDirectory(atPath: dir.path) == ["work"], "no temporary folder left")
    }

    @Test func aRerunOverAnEarlierReportReplacesItCleanly() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report")
        let writer = ReportWriter(templateDirectory: templates, formats: [.html], threads: 2)
        try writer.write(ReportData.synthetic(featureCount: 3, promptCount: 2, magnitudeCount: 4), to: out)
        let second = try writer.write(ReportData.synthetic(featureCount: 2, promptCount: 2, magnitudeCount: 4), to: out)
        #expect(try ReportManifest.contents(of: out).files == Set(second.files + [".semprog-report-manifest"]))
        #expect(try fm.contentsOfDirectory(atPath: dir.path) == ["report"])
    }

    @Test func filesNamedLikeTheReportAreNeverOverwritten() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let work = try userFolder(in: dir)
        try "my own page".write(to: work.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
        let data = ReportData.synthetic(featureCount: 1, promptCount: 2, magnitudeCount: 3)
        #expect(throws: ReportError.outputConflict(path: work.path, files: ["report.html"])) {
            try ReportWriter(templateDirectory: templates, formats: [.html]).write(data, to: work, force: true)
        }
        #expect(try String(contentsOf: work.appendingPathComponent("report.html"), encoding: .utf8) == "my own page")
        try userFilesIntact(work)
        #expect(try fm.contentsOfDirectory(atPath: work.path).sorted() == ["mywork", "notes.txt", "report.html"])
        // A user file added after a report, with the name of a file a report writes, is not replaced either.
        let out = dir.appendingPathComponent("r")
        let writer = ReportWriter(templateDirectory: templates, formats: [.pdf], threads: 2)
        try writer.write(data, to: out)
        try "mine".write(to: out.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
        #expect(throws: ReportError.outputConflict(path: out.path, files: ["report.html"])) {
            try ReportWriter(templateDirectory: templates, formats: [.html]).write(data, to: out)
        }
        #expect(try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8) == "mine")
    }

    @Test func aManifestCannotPointOutsideTheFolder() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r")
        let data = ReportData.synthetic(featureCount: 1, promptCount: 2, magnitudeCount: 3)
        let writer = ReportWriter(templateDirectory: templates, formats: [.html], threads: 2)
        try writer.write(data, to: out)
        try "keep".write(to: dir.appendingPathComponent("outside.txt"), atomically: true, encoding: .utf8)
        try "keep".write(to: out.appendingPathComponent("inside.txt"), atomically: true, encoding: .utf8)
        let manifest = out.appendingPathComponent(".semprog-report-manifest")
        let text = try String(contentsOf: manifest, encoding: .utf8)
        try (text + "../outside.txt\n/etc/hostname\n./inside.txt\n").write(to: manifest, atomically: true, encoding: .utf8)
        try writer.write(data, to: out)
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("outside.txt").path))
        #expect(fm.fileExists(atPath: out.appendingPathComponent("inside.txt").path))
    }

    @Test func aReportFromBeforeManifestsIsRecognised() throws {
        let dir = try scratch()
        defer { try? fm.removeItem(at: dir) }
        let out = dir.appendingPathComponent("old")
        let data = ReportData.synthetic(featureCount: 1, promptCount: 2, magnitudeCount: 3)
        let writer = ReportWriter(templateDirectory: templates, formats: [.html, .pdf], threads: 2)
        try writer.write(data, to: out)
        // What an older semprog wrote: the same files without explorer.html and the manifest.
        try fm.removeItem(at: out.appendingPathComponent(".semprog-report-manifest"))
        try fm.removeItem(at: out.appendingPathComponent("explorer.html"))
        let summary = try writer.write(data, to: out)
        #expect(try ReportManifest.contents(of: out).files == Set(summary.files + [".semprog-report-manifest"]))
    }
}
