import Foundation
import Mustache
import Plotting

/// The output documents a report can include (figures/ and summary.csv are always written).
public enum ReportFormat: String, Sendable, CaseIterable {
    case html, pdf
}

/// Progress of `ReportWriter.write`: `done` of `total` steps of `phase` ("figures", "html", "pdf").
public struct ReportProgress: Sendable {
    public var phase: String
    public var done: Int
    public var total: Int
}

/// Writes a report folder: `report.html`, `report.pdf`, `explorer.html`, `figures/*.png|svg`, `summary.csv` and
/// `.semprog-report-manifest` (the list of files written, so a rerun replaces exactly those).
/// Everything is written into a temporary sibling folder first and renamed into place at the end, so a failure
/// leaves no half-written report. Output bytes depend only on the `ReportData` and the templates.
public struct ReportWriter: Sendable {
    public var templateDirectory: URL
    public var formats: Set<ReportFormat>
    /// Figures rendered in parallel by this many threads.
    public var threads: Int
    /// Pixels per point of the PNG figures.
    public var pngScale: Double

    public init(templateDirectory: URL, formats: Set<ReportFormat> = [.html, .pdf],
                threads: Int = ProcessInfo.processInfo.activeProcessorCount, pngScale: Double = 2) {
        self.templateDirectory = templateDirectory; self.formats = formats; self.threads = max(1, threads)
        self.pngScale = pngScale
    }

    /// What a finished write produced.
    public struct Summary: Sendable {
        public var figureCount: Int
        public var files: [String]
        public var pdfPageCount: Int
    }

    /// Templates needed, relative to the template directory.
    static let requiredTemplates = ["report.html.mustache", "partials/feature.mustache", "partials/figure.mustache",
                                    "report.css"]

    /// Loads and checks the templates (throws before anything is written).
    func loadTemplates() throws -> (MustacheLibrary, String) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: templateDirectory.path, isDirectory: &isDir), isDir.boolValue else {
            throw ReportError.templateDirectoryMissing(path: templateDirectory.path)
        }
        for t in Self.requiredTemplates where !FileManager.default.fileExists(atPath: templateDirectory.appendingPathComponent(t).path) {
            throw ReportError.templateMissing(path: templateDirectory.appendingPathComponent(t).path)
        }
        var library = MustacheLibrary()
        for name in ["report.html", "partials/feature", "partials/figure", "partials/stage"] {
            let url = templateDirectory.appendingPathComponent(name + ".mustache")
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                if name == "partials/stage" { continue }  // optional
                throw ReportError.templateMissing(path: url.path)
            }
            do { try library.register(text, named: name) } catch {
                throw ReportError.templateInvalid(path: url.path, reason: String(describing: error))
            }
        }
        let cssURL = templateDirectory.appendingPathComponent("report.css")
        guard let css = try? String(contentsOf: cssURL, encoding: .utf8) else { throw ReportError.templateMissing(path: cssURL.path) }
        return (library, css)
    }

    /// Writes the report for `data` into `outputDirectory`.
    ///
    /// The folder is created when missing. A folder that holds an earlier report (its `.semprog-report-manifest`,
    /// or the files of a report written before manifests existed) has exactly the files that report wrote
    /// replaced; anything else in it is kept. A non-empty folder without an earlier report is refused
    /// (`ReportError.outputNotEmpty`) unless `force`, and even then the report is only added beside what the folder
    /// holds: a file the report did not write is never deleted or overwritten (`ReportError.outputConflict`).
    /// Everything is rendered into a temporary folder first, so a failure leaves the folder as it was.
    @discardableResult
    public func write(_ data: ReportData, to outputDirectory: URL, force: Bool = false,
                      progress: @escaping @Sendable (ReportProgress) -> Void = { _ in }) throws -> Summary {
        try data.validate()
        let (library, css) = formats.contains(.html) ? try loadTemplates() : (MustacheLibrary(), "")
        var summary: Summary?
        try Self.writeFolder(outputDirectory, force: force) { temp in
            let s = try writeContents(data, into: temp, library: library, css: css, progress: progress)
            summary = s
            return s.files
        }
        return summary!
    }

    /// Writes a report-like folder: `render(temp)` fills a temporary folder and returns
    /// the relative paths it wrote; these then replace an earlier report's files in `outputDirectory` under the
    /// rules of `write(_:to:force:progress:)`, with a manifest of them.
    static func writeFolder(_ outputDirectory: URL, force: Bool, render: (URL) throws -> [String]) throws {
        let fm = FileManager.default
        let out = outputDirectory.standardizedFileURL
        let parent = out.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue else {
            throw ReportError.outputNotWritable(path: out.path, reason: "the parent folder \(parent.path) does not exist")
        }
        let exists = fm.fileExists(atPath: out.path, isDirectory: &isDir)
        if exists, !isDir.boolValue {
            throw ReportError.outputNotWritable(path: out.path, reason: "it exists and is not a folder")
        }
        // What the folder holds, and which of it an earlier report wrote.
        let existing = exists ? try ReportManifest.contents(of: out) : ReportManifest.Contents(files: [], directories: [])
        var previous: Set<String> = []
        if exists {
            if let listed = ReportManifest.read(in: out) {
                previous = listed.intersection(existing.files)
            } else if ReportManifest.isLegacyReport(existing, in: out) {
                previous = existing.files
            } else if !existing.files.isEmpty || !existing.directories.isEmpty {
                guard force else { throw ReportError.outputNotEmpty(path: out.path) }
            }
        }
        let foreign = existing.files.subtracting(previous).subtracting([ReportManifest.fileName])
        let foreignDirectories = existing.directories.subtracting(["figures"])
        let wholeSwap = !exists || (foreign.isEmpty && foreignDirectories.isEmpty && fm.isWritableFile(atPath: parent.path))
        guard wholeSwap || fm.isWritableFile(atPath: out.path) else {
            throw ReportError.outputNotWritable(path: out.path, reason: "the folder is not writable")
        }
        if !exists {
            guard fm.isWritableFile(atPath: parent.path) else {
                throw ReportError.outputNotWritable(path: out.path, reason: "the folder \(parent.path) is not writable")
            }
        }
        let pid = ProcessInfo.processInfo.processIdentifier
        let temp = wholeSwap ? parent.appendingPathComponent(".\(out.lastPathComponent).partial-\(pid)")
                             : out.appendingPathComponent("\(ReportManifest.partialPrefix)\(pid)")
        try? fm.removeItem(at: temp)
        do {
            try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        } catch {
            throw ReportError.outputNotWritable(path: out.path, reason: "cannot create \(temp.path): \(error.localizedDescription)")
        }
        do {
            let files = try render(temp)
            let conflicts = Set(files).intersection(foreign).union(Set(files).intersection(foreignDirectories))
            if !conflicts.isEmpty { throw ReportError.outputConflict(path: out.path, files: conflicts.sorted()) }
            try ReportManifest.write(files, in: temp)
            if wholeSwap {
                // Only an earlier report (or nothing) is there: swap the finished folder into place.
                let old = parent.appendingPathComponent(".\(out.lastPathComponent).old-\(pid)")
                if exists { try fm.moveItem(at: out, to: old) }
                do { try fm.moveItem(at: temp, to: out) } catch {
                    if fm.fileExists(atPath: old.path) { try? fm.moveItem(at: old, to: out) }
                    throw ReportError.outputNotWritable(path: out.path, reason: error.localizedDescription)
                }
                try? fm.removeItem(at: old)
            } else {
                // The folder holds other things: replace the earlier report's files one by one, keep the rest.
                for f in previous.sorted() { try? fm.removeItem(at: out.appendingPathComponent(f)) }
                for f in files + [ReportManifest.fileName] {
                    let target = out.appendingPathComponent(f)
                    try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }  // ours (checked above)
                    try fm.moveItem(at: temp.appendingPathComponent(f), to: target)
                }
                try? fm.removeItem(at: temp)
            }
        } catch {
            try? fm.removeItem(at: temp)
            if error is ReportError { throw error }
            throw ReportError.outputNotWritable(path: out.path, reason: error.localizedDescription)
        }
    }

    /// Encoded PNG and SVG of one figure.
    public struct RenderedFigure: Sendable {
        public var png = Data()
        public var svg = Data()
    }

    func writeContents(_ data: ReportData, into dir: URL, library: MustacheLibrary, css: String,
                       progress: @escaping @Sendable (ReportProgress) -> Void) throws -> Summary {
        let figures = StudyFigures.all(data)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("figures"), withIntermediateDirectories: true)
        // The PDF is drawn on its own thread while the figure files are rendered on the others.
        final class PDFBox: @unchecked Sendable { var result: Result<(Data, Int), Error>? }
        let pdfBox = PDFBox()
        let pdfDone = DispatchGroup()
        if formats.contains(.pdf) {
            DispatchQueue.global().async(group: pdfDone) {
                do { pdfBox.result = .success(try PDFReport.render(data, figures: figures, progress: progress)) } catch {
                    pdfBox.result = .failure(error is ReportError ? error
                                             : ReportError.figureFailed(name: "report.pdf", reason: error.localizedDescription))
                }
            }
        }
        let rendered: [RenderedFigure]
        do { rendered = try renderFigures(figures, progress: progress) } catch { pdfDone.wait(); throw error }
        var files: [String] = []
        for (f, r) in zip(figures, rendered) {
            try write(r.png, dir.appendingPathComponent("figures/\(f.name).png"))
            try write(r.svg, dir.appendingPathComponent("figures/\(f.name).svg"))
            files += ["figures/\(f.name).png", "figures/\(f.name).svg"]
        }
        try write(Data(SummaryCSV.make(data).utf8), dir.appendingPathComponent("summary.csv"))
        files.append("summary.csv")
        progress(ReportProgress(phase: "explorer", done: 0, total: 1))
        try write(Data(try Explorer.render(data).utf8), dir.appendingPathComponent(Explorer.fileName))
        files.append(Explorer.fileName)
        progress(ReportProgress(phase: "explorer", done: 1, total: 1))
        if formats.contains(.html) {
            progress(ReportProgress(phase: "html", done: 0, total: 1))
            let html = try HTMLReport.render(data, figures: figures, svgs: rendered.map(\.svg), library: library, css: css)
            try write(Data(html.utf8), dir.appendingPathComponent("report.html"))
            files.append("report.html")
            progress(ReportProgress(phase: "html", done: 1, total: 1))
        }
        var pages = 0
        if formats.contains(.pdf) {
            pdfDone.wait()
            let (pdf, count) = try pdfBox.result!.get()
            try write(pdf, dir.appendingPathComponent("report.pdf"))
            files.append("report.pdf")
            pages = count
        }
        return Summary(figureCount: figures.count, files: files.sorted(), pdfPageCount: pages)
    }

    func write(_ bytes: Data, _ url: URL) throws {
        do { try bytes.write(to: url) } catch {
            throw ReportError.outputNotWritable(path: url.path, reason: error.localizedDescription)
        }
    }

    /// PNG and SVG of every figure, rendered on `threads` threads; results in figure order.
    public func renderFigures(_ figures: [StudyFigure], progress: @Sendable (ReportProgress) -> Void = { _ in }) throws -> [RenderedFigure] {
        final class Results: @unchecked Sendable {
            var items: [RenderedFigure]
            var errors: [(Int, Error)] = []
            var done = 0
            let lock = NSLock()
            init(count: Int) { items = Array(repeating: RenderedFigure(), count: count) }
        }
        let results = Results(count: figures.count)
        let total = figures.count
        let workers = min(threads, max(total, 1))
        let scale = pngScale
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < total {
                do {
                    let png = try FigureRenderer.render(figures[i].figure, as: .png, scale: scale)
                    let svg = try FigureRenderer.render(figures[i].figure, as: .svg)
                    results.lock.lock()
                    results.items[i] = RenderedFigure(png: png, svg: svg)
                    results.done += 1
                    let d = results.done
                    results.lock.unlock()
                    progress(ReportProgress(phase: "figures", done: d, total: total))
                } catch {
                    results.lock.lock(); results.errors.append((i, error)); results.lock.unlock()
                }
                i += workers
            }
        }
        if let (i, e) = results.errors.min(by: { $0.0 < $1.0 }) {
            throw ReportError.figureFailed(name: figures[i].name, reason: e.localizedDescription)
        }
        return results.items
    }
}

/// summary.csv: one row per feature page (RFC 4180 quoting; text cells that start with =, +, - or @ are
/// prefixed with an apostrophe so spreadsheets do not run them as formulas).
public enum SummaryCSV {
    public static let header = ["feature_index", "explanation", "max_activation", "log10_density", "robustness",
                                "stage_count", "mean_similarity", "onset_prompts", "stages"]

    public static func make(_ d: ReportData) -> String {
        var lines = [header.joined(separator: ",")]
        for f in d.features {
            let meanSim = f.similarity.isEmpty ? nil : f.similarity.map(\.mean).reduce(0, +) / Double(f.similarity.count)
            let onsets = f.progression.onsetMagnitudeIndex.compactMap { $0 }.count
            let row: [String] = [
                String(f.index), text(f.explanation), number(f.maxActivation), number(f.log10Density),
                number(f.robustness), String(f.stageCount), number(meanSim), String(onsets),
                text(f.stages.map { TextSanitizer.clean($0.label, maxCharacters: 200, keepNewlines: false) }.joined(separator: " | ")),
            ]
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func number(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "" }
        return String(format: "%.6g", v)
    }

    static func text(_ s: String) -> String {
        var t = TextSanitizer.clean(s, maxCharacters: 2000, keepNewlines: false)
        if let first = t.first, "=+-@".contains(first) { t = "'" + t }
        return "\"" + t.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
