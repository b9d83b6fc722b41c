import ArgumentParser
import Foundation
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

        @OptionGroup var quietOptions: QuietOptions

        /// Shown in the report's run metadata (the demo states its rule here).
        @Option(name: .customLong("feature-selection"), help: "How the swept features were chosen, shown in the report.")
        var featureSelection: String?

        func validate() throws {
            if db == nil && data == nil { throw ValidationError("give --db FILE (analysed sweep) or --data FILE.json") }
            if db != nil && data != nil { throw ValidationError("--db and --data are alternatives; give one") }
            if data != nil && sweep != nil { throw ValidationError("--sweep applies to --db only") }
            do { _ = try ReportRun.formats(parsing: format) } catch { throw ValidationError(error.localizedDescription) }
        }

        func run() async throws {
            try await Terminal.reportingErrors(prefix: "error: ") {
                try ReportRun(source: data.map { .data(path: $0) } ?? .database(path: db ?? "", sweep: sweep), out: out,
                              force: force, formats: try ReportRun.formats(parsing: format),
                              templates: templates ?? ProcessInfo.processInfo.environment["SEMPROG_TEMPLATES"] ?? "templates",
                              threads: threadOptions.count, quiet: quietOptions.quiet, featureSelection: featureSelection).run()
            }
        }
    }
}
