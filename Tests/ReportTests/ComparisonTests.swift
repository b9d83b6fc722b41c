import Foundation
import Testing
import TestSupport
@testable import Report

@Suite struct ComparisonTests {
    /// Two runs of the same SAE (same feature indices) that differ in hook and magnitudes.
    func pair() -> (ReportData, ReportData) {
        let a = ReportData.synthetic(featureCount: 5, promptCount: 3, magnitudeCount: 6, seed: 4)
        var b = ReportData.synthetic(featureCount: 5, promptCount: 3, magnitudeCount: 6, seed: 4)
        b.run.hook = "blocks.6.hook_resid_post"
        b.run.sweepName = "layer6"
        for i in b.features.indices { b.features[i].stageCount += i % 2 == 0 ? 1 : 2 }
        b.summary.rq3.spearmanRho = 0.2
        b.summary.rq3.ciLow = 0.05
        b.summary.rq3.ciHigh = 0.4
        return (a, b)
    }

    @Test func sameSAEMatchesByIndexAndPairsTheDifference() throws {
        let (a, b) = pair()
        let c = Comparison(a: a, b: b)
        #expect(c.matches.map(\.0) == [0, 1, 2, 3, 4] && c.matches.map(\.1) == [0, 1, 2, 3, 4])
        let rows = c.rows()
        let rq1 = try #require(rows.first { $0.name.hasPrefix("RQ1") })
        // Differences are 1, 2, 1, 2, 1: mean 1.4, s = 0.5477, t(4) = 2.776.
        #expect(abs(rq1.difference.value - 1.4) < 1e-12)
        let half = 2.776 * (0.3 / 5).squareRoot()
        #expect(abs(rq1.difference.low! - (1.4 - half)) < 1e-9 && abs(rq1.difference.high! - (1.4 + half)) < 1e-9)
        #expect(rq1.method.contains("paired") && rq1.method.contains("5"))
        #expect(abs(rq1.b.value - rq1.a.value - 1.4) < 1e-12)
        // RQ3: ρ_B − ρ_A with Zou's interval from the two bootstrap intervals.
        let rq3 = try #require(rows.first { $0.name.hasPrefix("RQ3") })
        let ra = a.summary.rq3
        #expect(abs(rq3.difference.value - (0.2 - ra.spearmanRho)) < 1e-12)
        let low = (0.2 - ra.spearmanRho) - (pow(0.2 - 0.05, 2) + pow(ra.ciHigh - ra.spearmanRho, 2)).squareRoot()
        #expect(abs(rq3.difference.low! - low) < 1e-12)
        // RQ2 at every shared magnitude.
        #expect(rows.filter { $0.name.hasPrefix("RQ2") }.count == 6)
        // Settings: exactly what was changed.
        #expect(c.differingSettings().map(\.name) == ["sweep", "hook"])
    }

    @Test func differentSAEsAreNotMatchedAndUseWelch() throws {
        let (a, b0) = pair()
        var b = b0
        b.run.sae = "another SAE"
        b.features.removeLast()
        let c = Comparison(a: a, b: b)
        #expect(c.matches.isEmpty && c.matching.contains("different SAEs"))
        let rq1 = try #require(c.rows().first { $0.name.hasPrefix("RQ1") })
        let ma = Double(a.features.map(\.stageCount).reduce(0, +)) / 5, mb = Double(b.features.map(\.stageCount).reduce(0, +)) / 4
        #expect(abs(rq1.difference.value - (mb - ma)) < 1e-12)
        #expect(rq1.method.contains("Welch"))
        #expect(rq1.difference.low! < mb - ma && rq1.difference.high! > mb - ma)
        #expect(c.differingSettings().map(\.name).contains("SAE"))
        #expect(c.differingSettings().map(\.name).contains("features with a page"))
    }

    @Test func writesThePageAndOneExplorerWithBothRuns() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var (a, b) = pair()
        a.features[0].explanation = "<script>window.__pwned='cmp'</script>"
        b.features[2].outputs![1][3] = "</script><img src=x onerror=\"window.__pwned='b'\">"
        let out = dir.appendingPathComponent("cmp")
        let files = try Comparison(a: a, b: b).write(to: out)
        #expect(files == ["compare.html", "explorer.html"])
        let page = try String(contentsOf: out.appendingPathComponent("compare.html"), encoding: .utf8)
        #expect(page.contains("href=\"explorer.html\"") && page.contains("blocks.6.hook_resid_post"))
        #expect(!page.contains("<script") && page.contains("&lt;script&gt;"))
        #expect(page.contains("paired t over 5 matched features"))
        // The explorer lists both runs' features; a run-B cell shows its stored output as text.
        let url = out.appendingPathComponent("explorer.html")
        let dom = try HeadlessChromium.dumpDOM(url.absoluteString + "#selftest&q=&fragment=\(b.features[2].index):1:3")
        let r = try HeadlessChromium.jsonText(inElement: "selftest-result", of: dom.stdout)
        #expect((r["errors"] as? [String]) == [], "\(r["errors"] ?? "")")
        #expect((r["listed"] as? [Int]) == a.features.map(\.index) + b.features.map(\.index))
        #expect(r["pwned"] is NSNull && r["images"] as? Int == 0)
        // The fragment names run 0 (A) by default; run B's view is reached with run=1.
        let dom2 = try HeadlessChromium.dumpDOM(url.absoluteString + "#feature=\(b.features[2].index)&run=1&prompt=1&m=3")
        #expect(dom2.stdout.contains("run B"))
        #expect(dom2.stdout.contains("&lt;/script&gt;&lt;img") && dom2.stdout.contains("onerror=\"window.__pwned='b'\"&gt;"))
        #expect(dom2.stdout.contains("id=\"matched\""))
        #expect(!dom2.stdout.contains("<img"))
        // A rerun replaces the comparison (manifest) without --force.
        try Comparison(a: a, b: b).write(to: out)
    }
}
