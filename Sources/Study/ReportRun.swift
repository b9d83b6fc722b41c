import Foundation
import Report
import Store

/// What `semprog report` runs: the report data of an analysed sweep (from the database through `ReportAssembly`,
/// or a serialized `ReportData`), written by `ReportWriter` into a folder (report.html, report.pdf, explorer.html,
/// figures/, summary.csv; manifest-guarded). Also the loader `semprog compare` uses for its two runs.
public struct ReportRun {
    /// Where the report's data comes from.
    public enum Source: Sendable, Equatable {
        /// An analysed sweep of a database (nil sweep: the only one).
        case database(path: String, sweep: String?)
        /// A serialized `ReportData` (JSON, snake_case keys).
        case data(path: String)
    }

    public var source: Source
    public var out: String
    /// Write into a non-empty folder without an earlier report (its files are kept).
    public var force: Bool
    public var formats: Set<ReportFormat>
    /// Folder with report.html.mustache, partials/ and report.css.
    public var templates: String
    /// Threads that render figures.
    public var threads: Int
    public var quiet: Bool
    /// Shown in the report's run metadata (how the swept features were chosen).
    public var featureSelection: String?

    public init(source: Source, out: String, force: Bool, formats: Set<ReportFormat>, templates: String, threads: Int,
                quiet: Bool, featureSelection: String?) {
        self.source = source; self.out = out; self.force = force; self.formats = formats; self.templates = templates
        self.threads = threads; self.quiet = quiet; self.featureSelection = featureSelection
    }

    /// `html`, `pdf` or `html,pdf` (case and spaces ignored); an unknown or empty list is refused by name.
    public static func formats(parsing s: String) throws -> Set<ReportFormat> {
        var formats = Set<ReportFormat>()
        for part in s.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces).lowercased()
            guard let f = ReportFormat(rawValue: name) else {
                throw StudyError.invalidArgument("--format: unknown document '\(name)'; use html, pdf or html,pdf")
            }
            formats.insert(f)
        }
        guard !formats.isEmpty else { throw StudyError.invalidArgument("--format: give html, pdf or html,pdf") }
        return formats
    }

    /// The report data of an analysed sweep (see `ReportAssembly`), read-only; warnings and the features that got
    /// no page go to the diagnostic stream.
    public static func loadFromDatabase(path: String, sweep: String?, featureSelection: String? = nil,
                                        console: StudyConsole = .standard) throws -> ReportData {
        guard FileManager.default.fileExists(atPath: path) else { throw StudyError.invalidArgument("\(path): no such database") }
        let assembled = try ReportAssembly.reportData(store: try StoreDatabase(path: path, access: .readOnly), sweepName: sweep,
                                                      databasePath: path, featureSelection: featureSelection)
        for w in assembled.warnings { console.diagnostic("warning: " + w) }
        if !assembled.omitted.isEmpty {
            console.diagnostic("note: \(assembled.omitted.count) feature(s) have no page: "
                + assembled.omitted.prefix(10).map { "\($0.feature) (\($0.reason))" }.joined(separator: ", "))
        }
        return assembled.data
    }

    /// Loads the data, writes the report and prints what it wrote.
    public func run(console: StudyConsole = .standard) throws {
        let reportData: ReportData
        switch source {
        case let .data(path): reportData = try ReportData.load(from: URL(fileURLWithPath: path))
        case let .database(path, sweep):
            reportData = try Self.loadFromDatabase(path: path, sweep: sweep, featureSelection: featureSelection, console: console)
        }
        let writer = ReportWriter(templateDirectory: URL(fileURLWithPath: templates), formats: formats, threads: threads)
        let line = ProgressLine("report", quiet: quiet)
        let summary = try writer.write(reportData, to: URL(fileURLWithPath: out), force: force) { p in
            line.update(done: p.done, total: p.total, unit: p.phase == "figures" ? "figures" : "pages", extra: p.phase)
        }
        line.finish()
        console.output("wrote \(out): \(summary.figureCount) figures" + (summary.pdfPageCount > 0 ? ", \(summary.pdfPageCount) PDF pages" : ""))
    }
}
