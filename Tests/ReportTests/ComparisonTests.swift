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
        #expect(files == ["compare.html", "explorer.html", "figures/compare-curves.svg", "figures/compare-curves.png",
                          "figures/compare-matched-similarity.svg", "figures/compare-matched-similarity.png"])
        for f in files where f.hasSuffix(".png") {
            let png = try Data(contentsOf: out.appendingPathComponent(f))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 2000, "\(f): \(png.count) bytes")
        }
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

    /// Unit vectors along axes, and mixtures, whose cosines are known by hand.
    static func v(_ x: Float, _ y: Float, _ z: Float) -> [Float] { [x, y, z] }

    @Test func explanationMatchingIsGreedyOneToOneAboveTheThreshold() {
        // a0 = e1, a1 = e2, a2 = (e1 + e2)/√2 (unnormalised: the norm must not matter), a3 has no explanation.
        // b0 = e1 (cos 1 with a0, 0.707 with a2), b1 = (e1 + e2) (cos 0.707 with a0, a1; 1 with a2),
        // b2 = e3 (cos 0 with all).
        let a: [[Float]?] = [Self.v(1, 0, 0), Self.v(0, 1, 0), Self.v(3, 3, 0), nil]
        let b: [[Float]?] = [Self.v(2, 0, 0), Self.v(1, 1, 0), Self.v(0, 0, 1)]
        let m = Comparison.matchByExplanation(a, b, minimumSimilarity: 0.5)
        // Cos 1 pairs first: (0, 0) and (2, 1); then a1's best, b1, is taken, and its cos with b0 (0) or b2 (0)
        // is below 0.5, so a1 stays unmatched.
        #expect(m.map(\.a) == [0, 2] && m.map(\.b) == [0, 1])
        #expect(m.allSatisfy { abs($0.cosine - 1) < 1e-12 })
        // Lowering the threshold below 0 lets a1 take what is left (b2, cos 0; ties by index).
        let all = Comparison.matchByExplanation(a, b, minimumSimilarity: -1)
        #expect(all.map(\.a) == [0, 1, 2] && all.map(\.b) == [0, 2, 1])
        #expect(abs(all[1].cosine) < 1e-12)
        // A zero vector has no direction: never matched.
        #expect(Comparison.matchByExplanation([Self.v(0, 0, 0)], [Self.v(1, 0, 0)], minimumSimilarity: -1).isEmpty)
    }

    @Test func differentSAEsAreMatchedByExplanationWhenEmbeddingsAreGiven() throws {
        let (a, b0) = pair()
        var b = b0
        b.run.sae = "another SAE"
        for i in b.features.indices { b.features[i].index += 1000 }
        // Run B's feature k says what run A's feature (4 − k) says; one run-B feature says something else.
        let basis: [[Float]] = (0..<5).map { k in (0..<6).map { $0 == k ? 1 : 0 } }
        var eb: [[Float]?] = (0..<5).map { basis[4 - $0] }
        eb[2] = (0..<6).map { $0 == 5 ? 1 : 0 }
        let c = Comparison(a: a, b: b, explanationEmbeddings: .init(a: basis, b: eb))
        #expect(c.matches.map(\.0) == [0, 1, 3, 4] && c.matches.map(\.1) == [4, 3, 1, 0])
        #expect(c.matchSimilarities.allSatisfy { $0 != nil && abs($0! - 1) < 1e-12 })
        #expect(c.matching.contains("by explanation similarity") && c.matching.contains("4 pairs"))
        // The paired interval now runs over the 4 matched pairs.
        let rq1 = try #require(c.rows().first { $0.name.hasPrefix("RQ1") })
        #expect(rq1.method.contains("paired") && rq1.method.contains("4"))
        let page = c.html()
        #expect(page.contains("<th>cosine</th>") && page.contains(">\(b.features[4].index)<") && page.contains("1.000"))
        #expect(page.contains("figures/compare-matched-similarity.svg"))
        // Embeddings of the wrong count are not used.
        #expect(Comparison(a: a, b: b, explanationEmbeddings: .init(a: basis, b: [])).matches.isEmpty)
    }

    @Test func overlaidCurvesAreTheMeansOfEachRun() throws {
        var (a, b) = pair()
        // Degraded cells: run A has 1 of the 15 cells (5 features × 3 prompts) at magnitude 2 degraded.
        for i in a.features.indices { a.features[i].progression.degraded = Array(repeating: Array(repeating: false, count: 6), count: 3) }
        a.features[1].progression.degraded[2][2] = true
        let share = Comparison.degradedShareCurve(a)
        #expect(share[2] == 1.0 / 15 && share[0] == 0)
        let mean = Comparison.meanSimilarityCurve(a)
        let expected3 = a.features.map { $0.similarity[3].mean }.reduce(0, +) / 5
        #expect(abs(mean[3] - expected3) < 1e-12)
        // Different units: the x axis is the magnitude step, and says both units.
        b.run.magnitudeUnit = "factor"
        let c = Comparison(a: a, b: b)
        let axis = c.curveAxis()
        #expect(axis.xb == [0, 1, 2, 3, 4, 5] && axis.label.contains("factor") && axis.label.contains(a.run.magnitudeUnit))
        #expect(c.curveFigures().map(\.name) == ["compare-curves", "compare-matched-similarity"])
        #expect(Comparison(a: a, b: b).curveFigures()[1].figure.panels.count == 5)
    }
}
