import ArgumentParser
import Foundation
import Study

extension Semprog {
    /// `semprog bench report`: the full report of a synthetic 100-feature study; prints figures/s and total time
    /// (see `Study.ReportBenchmark`).
    struct BenchReport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Benchmark: figures and full report (HTML + PDF) for a synthetic study.")

        @Option(name: .long, help: "Number of synthetic features.")
        var features: Int = 100

        @Option(name: .long, help: "Prompts per feature.")
        var prompts: Int = 12

        @Option(name: .long, help: "Magnitudes per sweep.")
        var magnitudes: Int = 16

        @OptionGroup var threadOptions: ThreadOptions

        @Option(name: .long, help: "Output folder (default: a temporary folder, removed afterwards).")
        var out: String?

        @Option(name: .long, help: "Template folder (default: $SEMPROG_TEMPLATES or ./templates).")
        var templates: String?

        @Option(name: .long, help: "Also write the synthetic ReportData as JSON here (input for the matplotlib peer).")
        var exportData: String?

        func validate() throws {
            guard features >= 1, prompts >= 1, magnitudes >= 2 else {
                throw ValidationError("--features, --prompts must be ≥ 1 and --magnitudes ≥ 2")
            }
        }

        func run() async throws {
            try await Terminal.reportingErrors(prefix: "error: ") {
                try ReportBenchmark(features: features, prompts: prompts, magnitudes: magnitudes, threads: threadOptions.count,
                                    out: out, templates: templates ?? ProcessInfo.processInfo.environment["SEMPROG_TEMPLATES"] ?? "templates",
                                    exportData: exportData).run()
            }
        }
    }
}
