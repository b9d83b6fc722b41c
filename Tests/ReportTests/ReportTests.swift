import Foundation
import TestSupport
import Plotting
import Testing
@testable import Report

/// Repository root (for templates/), found from this file's location.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let templates = repositoryRoot.appendingPathComponent("templates")

func scratch() throws -> URL {
    let dir = TestScratch.root.appendingPathComponent("report-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs a poppler tool and returns its stdout.
func poppler(_ tool: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/" + tool)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = Pipe()
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "\(tool) \(args) succeeded")
    return String(decoding: data, as: UTF8.self)
}

func pageCount(_ pdf: URL) throws -> Int {
    let info = try poppler("pdfinfo", [pdf.path])
    let line = info.split(separator: "\n").first { $0.hasPrefix("Pages:") } ?? ""
    return Int(line.split(separator: " ").last ?? "") ?? -1
}

let hostile = "<script>alert('x')</script> & \"quoted\" \u{0}\u{7}\u{1B}[2J\u{202E}desrever\u{202C} עברית العربية "
    + String(repeating: "W", count: 3000) + "\n\n" + String(repeating: "long text ", count: 2000)

func hostileData() -> ReportData {
    var d = ReportData.synthetic(featureCount: 2, promptCount: 5, magnitudeCount: 8, seed: 9)
    d.features[0].explanation = hostile
    d.features[0].stages[0].label = "</td></tr><img src=x onerror=alert(1)>"
    d.features[0].stages[0].exampleOutput = hostile
    d.features[0].progression.prompts[0] = "\u{202E}evil\u{0} prompt <b>"
    d.features[0].degradation[0].name = "=HYPERLINK(\"http://x\")"
    d.run.model = "model <i>\u{7}"
    return d
}

@Suite struct ReportDataTests {
    @Test func jsonRoundTripUsesSnakeCase() throws {
        let d = ReportData.synthetic(featureCount: 3)
        let json = try d.encoded()
        let text = String(decoding: json, as: UTF8.self)
        for key in ["\"run_date\"", "\"stage_ids\"", "\"onset_magnitude_index\"", "\"penalty_sensitivity\"",
                    "\"permutation_p_value\"", "\"log10_density\"", "\"example_output\""] {
            #expect(text.contains(key), "key \(key)")
        }
        #expect(try JSONDecoder().decode(ReportData.self, from: json) == d)
    }

    @Test func syntheticIsSeededAndValid() throws {
        #expect(ReportData.synthetic(featureCount: 4, seed: 1) == ReportData.synthetic(featureCount: 4, seed: 1))
        #expect(ReportData.synthetic(featureCount: 4, seed: 1) != ReportData.synthetic(featureCount: 4, seed: 2))
        try ReportData.synthetic(featureCount: 4).validate()
    }

    @Test func validationNamesTheField() {
        var d = ReportData.synthetic(featureCount: 2, promptCount: 3, magnitudeCount: 5)
        d.features[1].progression.stageIds[2] = [0, 0]
        #expect(throws: ReportError.invalidData(field: "features[1] (feature 1037).progression row 2",
                                                reason: "2 stage ids / 5 degraded flags for 5 magnitudes")) { try d.validate() }
        var e = ReportData.synthetic(featureCount: 1, magnitudeCount: 5)
        e.features[0].degradation[1].values.removeLast()
        #expect(throws: ReportError.self) { try e.validate() }
        var f = ReportData.synthetic(featureCount: 1)
        f.run.runDate = "yesterday"
        #expect(throws: ReportError.self) { try f.validate() }
        var g = ReportData.synthetic(featureCount: 1)
        g.run.magnitudes[2] = g.run.magnitudes[1]
        #expect(throws: ReportError.self) { try g.validate() }
    }

    @Test func saeSourceLineNamesFormatAndRelease() {
        var run = ReportData.synthetic(featureCount: 1).run
        #expect(run.saeSourceLine == nil)
        run.saeFormat = "SAELens (v6 cfg.json)"
        #expect(run.saeSourceLine == "SAELens (v6 cfg.json)")
        run.saeRelease = "gemma-2b-it-res-jb"
        #expect(run.saeSourceLine == "SAELens (v6 cfg.json) — release gemma-2b-it-res-jb")
        run.saeFormat = ""
        #expect(run.saeSourceLine == "release gemma-2b-it-res-jb")
    }

    @Test func missingFieldInJSONIsNamed() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("d.json")
        var obj = try JSONSerialization.jsonObject(with: ReportData.synthetic(featureCount: 1).encoded()) as! [String: Any]
        var run = obj["run"] as! [String: Any]
        run.removeValue(forKey: "hook")
        obj["run"] = run
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
        do { _ = try ReportData.load(from: url); Issue.record("expected an error") } catch {
            #expect(error.localizedDescription.contains("hook") && error.localizedDescription.contains("d.json"))
        }
    }
}

@Suite struct ReportWriterTests {
    @Test func writesAllDocumentsAndFigures() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = ReportData.synthetic(featureCount: 3, promptCount: 6, magnitudeCount: 10)
        let out = dir.appendingPathComponent("report")
        final class Log: @unchecked Sendable { var events: [ReportProgress] = []; let lock = NSLock() }
        let log = Log()
        let summary = try ReportWriter(templateDirectory: templates, threads: 2).write(data, to: out) { p in
            log.lock.lock(); log.events.append(p); log.lock.unlock()
        }
        #expect(summary.figureCount == 3 + 3 * 3)
        for f in ["report.html", "report.pdf", "summary.csv", "explorer.html", ".semprog-report-manifest", "figures/rq1-stage-counts.png",
                  "figures/rq3-sparsity-robustness.svg", "figures/feature-1074-progression.png",
                  "figures/feature-1000-similarity.svg", "figures/feature-1037-degradation.png"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), "\(f) written")
        }
        #expect(log.events.contains { $0.phase == "figures" && $0.done == $0.total && $0.total == 12 })
        #expect(log.events.contains { $0.phase == "pdf" && $0.done == 3 })
        // PDF: title + summary + one page per feature (figures shrink to fit), extractable text, pinned date.
        let pdf = out.appendingPathComponent("report.pdf")
        let pages = try pageCount(pdf)
        #expect(pages == summary.pdfPageCount)
        #expect(pages >= 2 + 3 && pages <= 3 + 2 * 3)
        let text = try poppler("pdftotext", [pdf.path, "-"])
        for needle in ["explorer.html", "semprog report", "SmolLM2-135M-Instruct", "blocks.9.hook_resid_post", "Summary",
                       "RQ1 mean stage count", "RQ3 Spearman", "Feature 1000", "Feature 1074", "page 3", "42, 43"] {
            #expect(text.contains(needle), "PDF text has '\(needle)'")
        }
        let info = try poppler("pdfinfo", [pdf.path])
        #expect(info.contains("2026"), "creation date from the run: \(info)")
        // The title page links to the explorer written beside the PDF.
        let urls = try poppler("pdfinfo", ["-url", pdf.path])
        #expect(urls.contains("explorer.html"), "PDF links: \(urls)")
        // Figures: PNGs decode, progression strip has content.
        let strip = try Raster(png: Data(contentsOf: out.appendingPathComponent("figures/feature-1000-progression.png")))
        #expect(strip.width == 1080)
        // HTML: self-contained, one inline SVG per figure, ids unique across the page.
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == 12)
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url(http"), "no network resources")
        #expect(!html.contains("<link "))
        #expect(html.contains("<a href=\"explorer.html\">"), "the report links to the explorer")
        let ids = html.matches(of: /id="([^"]+)"/).map { String($0.1) }
        #expect(ids.count > 100 && Set(ids).count == ids.count, "ids unique")
        // CSV: header + one row per feature.
        let csv = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 4)
        #expect(csv.hasPrefix(SummaryCSV.header.joined(separator: ",")))
        // No temporary folders left next to the report.
        let siblings = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(siblings == ["report"])
    }

    /// Screened features (output score) add figure (g) and a per-feature line; the run states how features were chosen.
    @Test func outputScoresAndFeatureSelectionAreShown() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var data = ReportData.synthetic(featureCount: 3, promptCount: 6, magnitudeCount: 10)
        for i in data.features.indices { data.features[i].outputScore = [0.0123, 0.456, 0.789][i] }
        data.run.featureSelection = "by output score, one per density stratum"
        data.run.saeFormat = "Gemma Scope 1 (params.npz)"
        data.run.saeRelease = "gemma-scope-2b-pt-res"
        #expect(StudyFigures.studyWide(data).count == 4)
        let out = dir.appendingPathComponent("report")
        let summary = try ReportWriter(templateDirectory: templates, threads: 2).write(data, to: out)
        #expect(summary.figureCount == 4 + 3 * 3)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("figures/output-score.svg").path))
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 == 13)
        #expect(html.contains("Output score") && html.contains("0.456"))
        #expect(html.contains("by output score, one per density stratum"))
        let text = try poppler("pdftotext", [out.appendingPathComponent("report.pdf").path, "-"])
        #expect(text.contains("output score 0.789"))
        #expect(text.contains("Feature selection"))
        // The SAE's release format and release, on the title page and in the HTML metadata.
        #expect(text.contains("Gemma Scope 1 (params.npz) — release gemma-scope-2b-pt-res"))
        #expect(html.contains("SAE format") && html.contains("gemma-scope-2b-pt-res"))
        // The features' own figures still sit on their pages (the study-wide count shifted them by one).
        #expect(html.contains("feature-\(data.features[2].index)-degradation") || html.contains("Feature \(data.features[2].index)"))
        // Unscreened data: no figure (g).
        let plain = ReportData.synthetic(featureCount: 3, promptCount: 6, magnitudeCount: 10)
        #expect(StudyFigures.outputScores(plain) == nil)
    }

    @Test func outputIsByteIdentical() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = ReportData.synthetic(featureCount: 2, promptCount: 4, magnitudeCount: 6, seed: 5)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try ReportWriter(templateDirectory: templates, threads: 2).write(data, to: a)
        try ReportWriter(templateDirectory: templates, threads: 1).write(data, to: b)
        let files = try FileManager.default.subpathsOfDirectory(atPath: a.path).sorted()
        #expect(files == (try FileManager.default.subpathsOfDirectory(atPath: b.path).sorted()))
        // report.html, report.pdf, explorer.html, summary.csv, the manifest, figures/ and its PNG + SVG files.
        #expect(files.count == 3 + 1 + 1 + 1 + 2 * (3 + 3 * 2))
        for f in files where !f.hasSuffix("figures") {
            let x = try Data(contentsOf: a.appendingPathComponent(f)), y = try Data(contentsOf: b.appendingPathComponent(f))
            #expect(x == y, "\(f) identical")
        }
        // Rewriting over an earlier report replaces its files and keeps what the report did not write.
        try "mine".write(to: a.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try ReportWriter(templateDirectory: templates).write(data, to: a)
        #expect(try String(contentsOf: a.appendingPathComponent("notes.txt"), encoding: .utf8) == "mine")
        #expect(try Data(contentsOf: a.appendingPathComponent("report.pdf")) == Data(contentsOf: b.appendingPathComponent("report.pdf")))
    }

    @Test func hostileTextIsEscapedAndContained() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r")
        let summary = try ReportWriter(templateDirectory: templates).write(hostileData(), to: out)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains("&lt;/td&gt;&lt;/tr&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!html.contains("model <i>"))
        #expect(!html.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" })
        #expect(!html.unicodeScalars.contains { (0x202A...0x202E).contains($0.value) })
        #expect(html.contains("עברית") && html.contains("العربية"))
        // PDF: renders, page count sane despite ~20 000 characters of explanation, text is extractable.
        let pdf = out.appendingPathComponent("report.pdf")
        let pages = try pageCount(pdf)
        #expect(pages == summary.pdfPageCount && pages <= 3 + 2 * 2)
        let text = try poppler("pdftotext", [pdf.path, "-"])
        #expect(text.contains("<script>alert('x')</script>"))
        #expect(text.contains("Feature 1037"))
        // Every PDF page stays within A4 width (long words are broken): check the widest text line.
        let layout = try poppler("pdftotext", ["-bbox", pdf.path, "-"])
        let xMaxes = layout.matches(of: /xMax="([0-9.]+)"/).compactMap { Double($0.1) }
        #expect(!xMaxes.isEmpty && xMaxes.allSatisfy { $0 <= 595.3 }, "max x \(xMaxes.max() ?? -1)")
        // CSV: formula-looking text is defused, quotes doubled.
        let csv = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
        #expect(csv.contains("\"<script>alert('x')</script> & \"\"quoted\"\""))
        #expect(!csv.contains("\u{0}"))
    }

    @Test func missingTemplatesFailBeforeWriting() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = ReportData.synthetic(featureCount: 1)
        let out = dir.appendingPathComponent("r")
        let missing = dir.appendingPathComponent("no-templates")
        #expect(throws: ReportError.templateDirectoryMissing(path: missing.path)) {
            try ReportWriter(templateDirectory: missing).write(data, to: out)
        }
        // A template folder without the feature partial.
        let partial = dir.appendingPathComponent("tpl")
        try FileManager.default.createDirectory(at: partial.appendingPathComponent("partials"), withIntermediateDirectories: true)
        for f in ["report.html.mustache", "report.css", "partials/figure.mustache"] {
            try FileManager.default.copyItem(at: templates.appendingPathComponent(f), to: partial.appendingPathComponent(f))
        }
        do {
            try ReportWriter(templateDirectory: partial).write(data, to: out)
            Issue.record("expected an error")
        } catch let e as ReportError {
            #expect(e.localizedDescription.contains("partials/feature.mustache") && e.localizedDescription.contains("missing"))
        }
        // PDF-only reports do not need templates.
        try ReportWriter(templateDirectory: missing, formats: [.pdf]).write(data, to: out)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.pdf").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("report.html").path))
        try FileManager.default.removeItem(at: out)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["tpl"])
    }

    @Test func badOutputAndUnanalysedSweep() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = ReportData.synthetic(featureCount: 1)
        let file = dir.appendingPathComponent("file")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: ReportError.self) {
            try ReportWriter(templateDirectory: templates).write(data, to: file.appendingPathComponent("out"))
        }
        #expect(throws: ReportError.self) { try ReportWriter(templateDirectory: templates).write(data, to: file) }
        var empty = data
        empty.features = []
        do {
            try ReportWriter(templateDirectory: templates).write(empty, to: dir.appendingPathComponent("r"))
            Issue.record("expected an error")
        } catch let e as ReportError {
            #expect(e == .notAnalysed(sweep: "synthetic", command: "semprog analyze --sweep synthetic"))
            #expect(e.localizedDescription.contains("has not been analysed yet"))
        }
        // A figure that fails mid-way leaves nothing behind.
        var broken = data
        broken.summary.rq1.penaltySensitivity = [PenaltyPoint(penalty: .nan, meanStageCount: .infinity)]
        broken.features[0].similarity = []
        _ = try? ReportWriter(templateDirectory: templates).write(broken, to: dir.appendingPathComponent("r2"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test func inlineSVGPrefixesEveryReference() {
        let svg = Data("<?xml version=\"1.0\"?>\n<svg><symbol id=\"glyph0-1\"/><use xlink:href=\"#glyph0-1\"/><g clip-path=\"url(#clip1)\"/></svg>".utf8)
        let s = HTMLReport.inlineSVG(svg, prefix: "f7-")
        #expect(s == "<svg><symbol id=\"f7-glyph0-1\"/><use xlink:href=\"#f7-glyph0-1\"/><g clip-path=\"url(#f7-clip1)\"/></svg>")
    }
}
