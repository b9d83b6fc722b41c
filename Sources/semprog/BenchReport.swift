import ArgumentParser
import Foundation
import Report

extension Semprog {
    /// `semprog bench report`: the full report of a synthetic 100-feature study; prints figures/s and total time.
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
        var threads: Int? { threadOptions.threads }

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
            do {
                let data = ReportData.synthetic(featureCount: features, promptCount: prompts, magnitudeCount: magnitudes)
                if let exportData { try data.encoded().write(to: URL(fileURLWithPath: exportData)) }
                let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
                let templateDir = templates ?? ProcessInfo.processInfo.environment["SEMPROG_TEMPLATES"] ?? "templates"
                let writer = ReportWriter(templateDirectory: URL(fileURLWithPath: templateDir), threads: threadCount)
                let outURL = out.map { URL(fileURLWithPath: $0) }
                    ?? FileManager.default.temporaryDirectory.appendingPathComponent("semprog-bench-report-\(getpid())")

                let figures = StudyFigures.all(data)
                let t0 = Date()
                _ = try writer.renderFigures(figures)
                let figureSeconds = Date().timeIntervalSince(t0)

                let t1 = Date()
                let summary = try writer.write(data, to: outURL)
                let total = Date().timeIntervalSince(t1)
                if out == nil { try? FileManager.default.removeItem(at: outURL) }

                print("threads: \(threadCount) (cores: \(ProcessInfo.processInfo.activeProcessorCount))")
                print("synthetic study: \(features) features × \(prompts) prompts × \(magnitudes) magnitudes")
                print(String(format: "figures only: %d figures (PNG + SVG each) in %.3f s = %.1f figures/s",
                             figures.count, figureSeconds, Double(figures.count) / figureSeconds))
                print(String(format: "full report (figures PNG+SVG, HTML, PDF %d pages, CSV): %.3f s = %.1f figures/s",
                             summary.pdfPageCount, total, Double(summary.figureCount) / total))
            } catch {
                Terminal.error("error: " + error.localizedDescription)
                throw ExitCode.failure
            }
        }
    }
}
