import Foundation
@testable import Report
import Testing

/// The steering-score curve (h) on a feature page and the summary's mean best score, labelled "proxy" unless an
/// LLM judged.
@Suite struct SteeringScoreReportTests {
    static func judged(isProxy: Bool) -> ReportData {
        var d = ReportData.synthetic(featureCount: 3, promptCount: 4, magnitudeCount: 6)
        d.features[1].steeringScore = SteeringScoreCurve(values: [0, 0.5, 1.4, 1.2, nil, 0], bestMagnitudeIndex: 2, bestScore: 1.25,
                                                         windowLowIndex: 1, windowHighIndex: 3)
        d.summary.steering = SteeringScoreHeadline(judge: isProxy ? "proxy" : "llm", isProxy: isProxy, meanBestScore: 1.25,
                                                   selectionPromptCount: 2, reportPromptCount: 2, windowSpearmanRho: -0.5,
                                                   windowPValue: 0.67, windowN: 3)
        return d
    }

    @Test func figureSitsOnTheJudgedFeaturesPageWithItsBestFactor() throws {
        let d = Self.judged(isProxy: true)
        #expect(StudyFigures.perFeature(d.features[0], d).count == 3, "no scores, no figure")
        let page = StudyFigures.perFeature(d.features[1], d)
        #expect(page.count == 4)
        let figure = try #require(page.last)
        #expect(figure.name == "feature-\(d.features[1].index)-steering-score")
        #expect((figure.figure.title ?? "").contains("proxy steering score"))
        #expect(figure.caption.contains("Proxy steering score") && figure.caption.contains("chosen on 2 prompt(s)"))
        #expect(StudyFigures.all(d).count == StudyFigures.studyWide(d).count + 3 + 4 + 3)
        let llm = try #require(StudyFigures.steeringScore(d.features[1], run: d.run, headline: Self.judged(isProxy: false).summary.steering))
        #expect((llm.figure.title ?? "").contains("llm judge") && !(llm.figure.title ?? "").contains("proxy"))
    }

    @Test func reportShowsTheCurveAndTheMeanBestScore() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = Self.judged(isProxy: true)
        let out = dir.appendingPathComponent("report")
        let summary = try ReportWriter(templateDirectory: templates, threads: 2).write(d, to: out)
        #expect(summary.figureCount == StudyFigures.studyWide(d).count + 10)
        let name = "feature-\(d.features[1].index)-steering-score"
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("figures/\(name).png").path))
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("Mean best proxy steering score"))
        #expect(html.contains("offline proxy, not comparable with AxBench"))
        // The figure is on the page of the feature it belongs to: after its anchor, before the next feature's.
        let own = try #require(html.range(of: "id=\"feature-\(d.features[1].index)\""))
        let next = try #require(html.range(of: "id=\"feature-\(d.features[2].index)\""))
        let figure = try #require(html.range(of: name))
        #expect(own.lowerBound < figure.lowerBound && figure.lowerBound < next.lowerBound)
        let text = try poppler("pdftotext", [out.appendingPathComponent("report.pdf").path, "-"])
        #expect(text.contains("proxy steering score"))
        // Old data without scores still decodes (the fields are optional).
        let encoded = try JSONEncoder().encode(ReportData.synthetic(featureCount: 1, promptCount: 2, magnitudeCount: 3))
        #expect(!String(decoding: encoded, as: UTF8.self).contains("steering"))
        _ = try JSONDecoder().decode(ReportData.self, from: encoded)
    }
}
