import Foundation
import Plotting
import Testing
import TestSupport
@testable import Report

/// Model text that would run script if it were inserted as markup.
let markupOutputs = [
    "<img src=x onerror=\"window.__pwned='img'\"> look",
    "</script><script>window.__pwned='script'</script> end",
    "<!-- <b>bold</b> & &amp; \"quotes\" 'single'",
]

/// A small study whose outputs are unique per cell and include markup.
func explorerData() -> ReportData {
    var d = ReportData.synthetic(featureCount: 6, promptCount: 4, magnitudeCount: 6, seed: 11)
    let explanations = ["dogs and puppies", "ocean waves", "cooking recipes", "dog shows and kennels", "legal contracts",
                        "music and songs"]
    for fi in d.features.indices {
        d.features[fi].explanation = explanations[fi]
        for p in 0..<4 {
            for m in 0..<6 {
                d.features[fi].outputs![p][m] = "f\(d.features[fi].index) p\(p) m\(m): " + d.features[fi].outputs![p][m]!
            }
        }
    }
    d.features[1].outputs![2][3] = markupOutputs[0]
    d.features[1].outputs![2][4] = markupOutputs[1]
    d.features[1].outputs![3][0] = markupOutputs[2]
    d.features[2].explanation = "<img src=x onerror=\"window.__pwned='explanation'\">recipes"
    d.features[2].stages[0].label = "</script><b>stage</b>"
    return d
}

func writeExplorer(_ d: ReportData, in dir: URL) throws -> URL {
    let url = dir.appendingPathComponent(Explorer.fileName)
    try Data(try Explorer.render(d).utf8).write(to: url)
    return url
}

/// The JSON embedded in the page, decoded.
func embeddedData(_ html: String) throws -> [String: Any] {
    let open = try #require(html.range(of: "<script type=\"application/json\" id=\"explorer-data\">"))
    let close = try #require(html[open.upperBound...].range(of: "</script>"))
    let json = String(html[open.upperBound..<close.lowerBound])
    #expect(!json.contains("<"), "no raw < inside the data")
    return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
}

@Suite struct ExplorerPageTests {
    @Test func dataIsEmbeddedSoMarkupCannotBreakOut() throws {
        let d = explorerData()
        let html = try Explorer.render(d)
        // Exactly two script elements (data + code): the </script> in model text did not end one.
        #expect(html.components(separatedBy: "</script>").count - 1 == 2)
        #expect(html.components(separatedBy: "<script").count - 1 == 2)
        #expect(!html.contains("<img"))
        #expect(!html.contains("<!-- <b>"))
        // The JSON decodes back to exactly the stored text.
        let data = try embeddedData(html)
        let features = try #require(data["features"] as? [[String: Any]])
        #expect(features.count == 6)
        let outputs = try #require(features[1]["outputs"] as? [[String]])
        #expect(outputs[2][3] == markupOutputs[0] && outputs[2][4] == markupOutputs[1] && outputs[3][0] == markupOutputs[2])
        #expect((features[2]["explanation"] as? String) == d.features[2].explanation)
        // Self-contained: no network or external resources.
        for needle in ["src=\"http", "href=\"http", "url(http", "<link ", "import(", "fetch(", "XMLHttpRequest"] {
            #expect(!html.contains(needle), "\(needle)")
        }
        #expect(html.contains("Content-Security-Policy"))
    }

    @Test func tableColumnsAreComputedFromTheReport() throws {
        var d = ReportData.synthetic(featureCount: 2, promptCount: 3, magnitudeCount: 5, seed: 3)
        d.features[0].progression.onsetMagnitudeIndex = [1, nil, 4]
        d.features[1].progression.onsetMagnitudeIndex = [nil, nil, nil]
        let m = d.run.magnitudes
        #expect(Explorer.onsetSpread(d.features[0], magnitudes: m) == m[4] - m[1])
        #expect(Explorer.onsetSpread(d.features[1], magnitudes: m) == nil)
        let sims = d.features[0].similarity.map(\.mean)
        let stats = Explorer.similarityStats(d.features[0])
        #expect(abs(stats.mean! - sims.reduce(0, +) / Double(sims.count)) < 1e-12)
        #expect(stats.peak == sims.max())
        let data = try embeddedData(try Explorer.render(d))
        let f0 = try #require((data["features"] as? [[String: Any]])?.first)
        #expect(f0["onset_spread"] as? Double == m[4] - m[1])
        #expect(abs((f0["density"] as? Double ?? 0) - pow(10, d.features[0].log10Density)) < 1e-12)
        #expect((f0["degraded"] as? [[Int]])?.count == 3)
    }

    /// 82 features × 8 prompts × 16 magnitudes = 10,496 outputs of 600 characters (≈ 128 tokens) each.
    @Test func studySizeStaysUnderTenMegabytes() throws {
        let d = studySizedData()
        let cells = d.features.reduce(0) { $0 + ($1.outputs ?? []).reduce(0) { $0 + $1.compactMap { $0 }.count } }
        #expect(cells == 10_496)
        let html = try Explorer.render(d)
        let bytes = html.utf8.count
        #expect(bytes < 10_000_000, "explorer.html is \(bytes) bytes")
        #expect(bytes > 10_496 * 600, "every output is embedded")
    }
}

/// The study's size, with long outputs (600 characters each, unique per cell).
func studySizedData() -> ReportData {
    var d = ReportData.synthetic(featureCount: 82, promptCount: 8, magnitudeCount: 16, seed: 19)
    let words = ["weddings", "the", "ocean", "was", "calm", "and", "we", "talked", "about", "contracts", "cats", "bread"]
    for fi in d.features.indices {
        for p in 0..<8 {
            for m in 0..<16 {
                var s = "feature \(d.features[fi].index) prompt \(p) magnitude \(m):"
                var k = fi * 31 + p * 7 + m
                while s.utf8.count < 600 { s += " " + words[k % words.count]; k = (k &* 1103515245 &+ 12345) & 0x7fffffff }
                d.features[fi].outputs![p][m] = String(s.prefix(600))
            }
        }
    }
    return d
}

/// Drives explorer.html in headless Chromium (`#selftest` runs scripted clicks and keys inside the page).
@Suite(.serialized) struct ExplorerBrowserTests {
    /// Expected table order: by `key` (ties by index), ascending or descending.
    func sorted(_ d: ReportData, by key: String, descending: Bool) -> [Int] {
        func v(_ f: FeatureReport) -> Double {
            switch key {
            case "robustness": f.robustness
            case "density": pow(10, f.log10Density)
            case "max_activation": f.maxActivation
            case "stage_count": Double(f.stageCount)
            default: Double(f.index)
            }
        }
        return d.features.sorted { a, b in
            if key == "explanation" {
                if a.explanation != b.explanation { return descending ? a.explanation > b.explanation : a.explanation < b.explanation }
            } else if v(a) != v(b) {
                return descending ? v(a) > v(b) : v(a) < v(b)
            }
            return a.index < b.index
        }.map(\.index)
    }

    @Test func selftestClicksKeysAndFiltersInChromium() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = explorerData()
        let url = try writeExplorer(d, in: dir)
        let f1 = d.features[1]
        // Range: robustness between the 2nd and 4th smallest values (inclusive).
        let robust = d.features.map(\.robustness).sorted()
        let range = "robustness:\(robust[1]):\(robust[3])"
        let fragment = "\(d.features[4].index):1:2"
        let dom = try HeadlessChromium.dumpDOM(url.absoluteString
            + "#selftest&q=DOG&sortkeys=robustness,explanation,stage_count&range=\(range)&cell=\(f1.index):2:3&fragment=\(fragment)")
        let r = try HeadlessChromium.jsonText(inElement: "selftest-result", of: dom.stdout)
        #expect((r["errors"] as? [String]) == [], "\(r["errors"] ?? "")")
        #expect(r["done"] as? Bool == true)
        // Every feature listed, in page order.
        #expect(r["listed"] as? [Int] == d.features.map(\.index))
        #expect(r["row_count"] as? String == "6 of 6 features")
        // Sorting.
        let s = try #require(r["sorted"] as? [String: [Int]])
        for key in ["robustness", "explanation", "stage_count"] {
            #expect(s[key + ":asc"] == sorted(d, by: key, descending: false), "\(key) ascending")
            #expect(s[key + ":desc"] == sorted(d, by: key, descending: true), "\(key) descending")
        }
        // Text filter (case-insensitive substring of the explanation), range filter (inclusive).
        let dogs = d.features.filter { $0.explanation.lowercased().contains("dog") }.map(\.index)
        #expect(dogs.count == 2)
        #expect(Set(r["text_filtered"] as? [Int] ?? []) == Set(dogs))
        #expect(r["text_cleared"] as? Int == 6)
        let inRange = Set(d.features.filter { $0.robustness >= robust[1] && $0.robustness <= robust[3] }.map(\.index))
        #expect(inRange.count == 3)
        #expect(Set((r["range_filtered"] as? [String: [Int]])?[range] ?? []) == inRange)
        // The feature view: stages, Neuronpedia link, grid, degraded marks.
        #expect(r["opened"] as? Int == f1.index)
        #expect(r["neuronpedia"] as? String == "https://www.neuronpedia.org/gpt2-small/12-res-jb/\(f1.index)")
        #expect(r["stage_labels"] as? [String] == f1.stages.map(\.label))
        #expect(r["grid_cells"] as? Int == 4 * 6)
        let degraded = (r["degraded_cells"] as? [[Int]] ?? []).map { "\($0[0]):\($0[1])" }
        var expectedDegraded: [String] = []
        for p in 0..<4 { for m in 0..<6 where f1.progression.degraded[p][m] { expectedDegraded.append("\(p):\(m)") } }
        #expect(degraded == expectedDegraded)
        // Hover and click show exactly the stored output (markup as text), pinned beside the baseline and neighbour.
        #expect(r["hover_text"] as? String == markupOutputs[0])
        #expect(r["hover_marker"] as? String == "3")
        #expect(r["pinned_text"] as? String == markupOutputs[0])
        #expect(r["baseline_text"] as? String == f1.outputs![2][0])  // magnitude 0 of prompt 2
        #expect(r["neighbour_text"] as? String == f1.outputs![2][2])
        #expect((r["selected_cell"] as? [[Int]]) == [[2, 3]])
        // Word diff: "look" and the markup words are new against the baseline; no baseline word survives.
        let inserted = r["inserted_words"] as? [String] ?? []
        #expect(inserted.contains("look") && inserted.contains("onerror=\"window.__pwned='img'\">"))
        #expect(!(r["deleted_words"] as? [String] ?? []).isEmpty)
        // Keys: → → ↓ ← ↑ move within the grid, j j k step through the table order (last sort: stage_count desc).
        let keys = try #require(r["keys"] as? [String: String])
        let order = sorted(d, by: "stage_count", descending: true)
        let at = try #require(order.firstIndex(of: f1.index))
        // j and k stop at the ends of the table.
        let i1 = min(at + 1, order.count - 1), i2 = min(i1 + 1, order.count - 1), i3 = max(i2 - 1, 0)
        let next = order[i1], next2 = order[i2], back = order[i3]
        #expect(keys["1:ArrowRight"] == "#feature=\(f1.index)&prompt=2&m=4")
        #expect(keys["2:ArrowRight"] == "#feature=\(f1.index)&prompt=2&m=5")
        #expect(keys["3:ArrowDown"] == "#feature=\(f1.index)&prompt=3&m=5")
        #expect(keys["4:ArrowLeft"] == "#feature=\(f1.index)&prompt=3&m=4")
        #expect(keys["5:ArrowUp"] == "#feature=\(f1.index)&prompt=2&m=4")
        #expect(keys["6:j"] == "#feature=\(next)&prompt=2&m=4")
        #expect(keys["7:j"] == "#feature=\(next2)&prompt=2&m=4")
        #expect(keys["8:k"] == "#feature=\(back)&prompt=2&m=4")
        let nextFeature = try #require(d.features.first { $0.index == back })
        #expect(r["after_keys_text"] as? String == nextFeature.outputs![2][4])
        #expect(r["after_escape"] as? String == "table")
        // A shared fragment opens its view with the cell pinned.
        #expect(r["fragment_view"] as? Int == d.features[4].index)
        #expect(r["fragment_text"] as? String == d.features[4].outputs![1][2])
        // Nothing from the model text ran or became an element.
        #expect(r["pwned"] is NSNull, "markup in model text ran: \(r["pwned"] ?? "")")
        #expect(r["images"] as? Int == 0)
        #expect(r["scripts"] as? Int == 2)
        #expect(!dom.stdout.contains("<img"))
    }

    @Test func screenshotOfTheFeatureViewIsNotBlank() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = explorerData()
        let url = try writeExplorer(d, in: dir)
        let png = dir.appendingPathComponent("feature.png")
        try HeadlessChromium.screenshot(url.absoluteString + "#feature=\(d.features[0].index)&prompt=1&m=2", to: png)
        let raster = try Raster(png: Data(contentsOf: png))
        #expect(raster.width == 1280 && raster.height == 1000)
        var colours = Set<UInt32>()
        for p in raster.pixels { colours.insert(p & 0xFF_FFFF) }
        #expect(colours.count > 1, "the screenshot has \(colours.count) colour(s)")
        // The grid's stage colours are on screen (stage 1 and 2 of the palette).
        #expect(colours.contains(0x8FB8DE) && colours.contains(0xF2B77A), "stage colours in the screenshot")
    }

    /// The study-size page opens in Chromium and is ready (table rendered) within a second of navigation start.
    @Test func studySizedExplorerPaintsQuickly() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = studySizedData()
        let url = try writeExplorer(d, in: dir)
        // The best of up to three loads (the machine's two cores are shared; one quick load shows the page can).
        var times: [Int] = []
        for _ in 0..<3 {
            let dom = try HeadlessChromium.dumpDOM(url.absoluteString, virtualTimeBudget: nil)
            #expect(dom.stdout.components(separatedBy: "<tr data-feature=").count - 1 == 82)
            let ready = try #require(dom.stdout.firstMatch(of: /data-ready-ms="([0-9]+)"/).flatMap { Int($0.1) })
            times.append(ready)
            if ready < 1000 { break }
        }
        print("explorer: \(try Data(contentsOf: url).count) bytes, ready after \(times) ms from navigation start")
        #expect(times.min()! < 1000, "ready after \(times) ms")
    }
}
