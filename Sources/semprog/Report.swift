import ArgumentParser
import Foundation
import Report
import Store
import Study

extension Semprog {
    /// `semprog report`: writes report.html, report.pdf, figures/ and summary.csv for an analysed sweep.
    struct ReportCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write the HTML and PDF report of an analysed sweep.",
            discussion: "Reads the analysis from the database (--db) or a serialized report (--data FILE.json) and writes report.html, report.pdf, explorer.html (interactive, self-contained), figures/ (PNG + SVG) and summary.csv into --out. The files written are listed in --out/.semprog-report-manifest; a rerun replaces only those, and a non-empty folder without an earlier report is refused unless --force (which still never removes or overwrites a file the report did not write).")

        /// Database with the analysed sweep.
        @Option(name: .long, help: "Database file with the analysed sweep.")
        var db: String?

        /// Sweep to report (default: the only one in the database).
        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        /// A serialized ReportData (JSON, snake_case keys) instead of the database.
        @Option(name: .long, help: "Serialized report data (JSON) to use instead of --db.")
        var data: String?

        /// Output folder: created, or an earlier report in it replaced (only the files that report wrote).
        @Option(name: .long, help: "Output folder (new, empty, or holding an earlier report: only that report's files are replaced).")
        var out: String

        /// Write into a non-empty folder that holds no earlier report (its files are kept, never overwritten).
        @Flag(name: .long, help: "Write into a non-empty folder without an earlier report; its files are kept.")
        var force = false

        /// Comma-separated documents to write.
        @Option(name: .long, help: "Documents to write: html, pdf or html,pdf.")
        var format: String = "html,pdf"

        /// Folder with report.html.mustache, partials/ and report.css.
        @Option(name: .long, help: "Template folder (default: $SEMPROG_TEMPLATES or ./templates).")
        var templates: String?

        /// Threads that render figures.
        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int? { threadOptions.threads }

        @OptionGroup var quietOptions: QuietOptions
        var quiet: Bool { quietOptions.quiet }

        /// Shown in the report's run metadata (the demo states its rule here).
        @Option(name: .customLong("feature-selection"), help: "How the swept features were chosen, shown in the report.")
        var featureSelection: String?

        static func parseFormats(_ s: String) throws -> Set<ReportFormat> {
            var formats = Set<ReportFormat>()
            for part in s.split(separator: ",") {
                let name = part.trimmingCharacters(in: .whitespaces).lowercased()
                guard let f = ReportFormat(rawValue: name) else {
                    throw ValidationError("--format: unknown document '\(name)'; use html, pdf or html,pdf")
                }
                formats.insert(f)
            }
            guard !formats.isEmpty else { throw ValidationError("--format: give html, pdf or html,pdf") }
            return formats
        }

        func validate() throws {
            if db == nil && data == nil { throw ValidationError("give --db FILE (analysed sweep) or --data FILE.json") }
            if db != nil && data != nil { throw ValidationError("--db and --data are alternatives; give one") }
            if data != nil && sweep != nil { throw ValidationError("--sweep applies to --db only") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            _ = try Self.parseFormats(format)
        }

        /// Fills the report from the database (see `ReportAssembly`); says which features got no page.
        static func loadFromDatabase(path: String, sweep: String?, featureSelection: String? = nil) throws -> ReportData {
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError.invalidArgument("\(path): no such database") }
            let assembled = try ReportAssembly.reportData(store: try StoreDatabase(path: path, access: .readOnly), sweepName: sweep, databasePath: path,
                                                          featureSelection: featureSelection)
            for w in assembled.warnings { Terminal.error("warning: " + w) }
            if !assembled.omitted.isEmpty {
                Terminal.error("note: \(assembled.omitted.count) feature(s) have no page: "
                    + assembled.omitted.prefix(10).map { "\($0.feature) (\($0.reason))" }.joined(separator: ", "))
            }
            return assembled.data
        }

        func run() async throws {
            do {
                let reportData: ReportData
                if let data {
                    reportData = try ReportData.load(from: URL(fileURLWithPath: data))
                } else {
                    reportData = try Self.loadFromDatabase(path: db!, sweep: sweep, featureSelection: featureSelection)
                }
                let templateDir = templates ?? ProcessInfo.processInfo.environment["SEMPROG_TEMPLATES"] ?? "templates"
                let writer = ReportWriter(templateDirectory: URL(fileURLWithPath: templateDir),
                                          formats: try Self.parseFormats(format),
                                          threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
                let line = ProgressLine("report", quiet: quiet)
                let summary = try writer.write(reportData, to: URL(fileURLWithPath: out), force: force) { p in
                    line.update(done: p.done, total: p.total, unit: p.phase == "figures" ? "figures" : "pages",
                                extra: p.phase)
                }
                line.finish()
                print("wrote \(out): \(summary.figureCount) figures" + (summary.pdfPageCount > 0 ? ", \(summary.pdfPageCount) PDF pages" : ""))
            } catch {
                Terminal.error("error: " + error.localizedDescription)
                throw ExitCode.failure
            }
        }
    }
}
