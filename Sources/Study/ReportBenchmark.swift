import Foundation
import Report

/// What `semprog bench report` measures: the figures alone, then the full report (figures PNG + SVG, HTML, PDF,
/// CSV) of a synthetic study (`ReportData.synthetic`), as figures per second and total time. Not a test: the
/// numbers depend on the machine.
public struct ReportBenchmark {
    public var features: Int
    public var prompts: Int
    public var magnitudes: Int
    public var threads: Int
    /// Output folder (nil: a temporary folder, removed afterwards).
    public var out: String?
    public var templates: String
    /// Also write the synthetic ReportData as JSON here (input for the matplotlib peer).
    public var exportData: String?

    public init(features: Int, prompts: Int, magnitudes: Int, threads: Int, out: String?, templates: String, exportData: String?) {
        self.features = features; self.prompts = prompts; self.magnitudes = magnitudes; self.threads = threads
        self.out = out; self.templates = templates; self.exportData = exportData
    }

    public func run(console: StudyConsole = .standard) throws {
        let data = ReportData.synthetic(featureCount: features, promptCount: prompts, magnitudeCount: magnitudes)
        if let exportData { try data.encoded().write(to: URL(fileURLWithPath: exportData)) }
        let writer = ReportWriter(templateDirectory: URL(fileURLWithPath: templates), threads: threads)
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

        console.output("threads: \(threads) (cores: \(ProcessInfo.processInfo.activeProcessorCount))")
        console.output("synthetic study: \(features) features × \(prompts) prompts × \(magnitudes) magnitudes")
        console.output(String(format: "figures only: %d figures (PNG + SVG each) in %.3f s = %.1f figures/s",
                              figures.count, figureSeconds, Double(figures.count) / figureSeconds))
        console.output(String(format: "full report (figures PNG+SVG, HTML, PDF %d pages, CSV): %.3f s = %.1f figures/s",
                              summary.pdfPageCount, total, Double(summary.figureCount) / total))
    }
}
