import Randomness
import Foundation
import TestSupport
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Plotting

/// Seeded SplitMix64 for property tests.
struct Seeded {
    var state: UInt64
    mutating func unit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}

/// Pixel helpers over a rendered figure.
extension Raster {
    func distance(_ a: Color, _ b: Color) -> Double {
        max(abs(a.red - b.red), abs(a.green - b.green), abs(a.blue - b.blue))
    }
    func count(in xs: Range<Int>, _ ys: Range<Int>, where predicate: (Color) -> Bool) -> Int {
        var n = 0
        for y in ys { for x in xs where predicate(color(x: x, y: y)) { n += 1 } }
        return n
    }
    func isWhite(_ c: Color) -> Bool { c.red > 0.97 && c.green > 0.97 && c.blue > 0.97 }
    func isAxis(_ c: Color) -> Bool { c.luminance < 0.1 && c.alpha > 0.9 && distance(c, Color(red: c.red, green: c.red, blue: c.red)) < 0.05 }
    /// x positions of columns holding a vertical run of axis-coloured pixels at least `fraction` of the height.
    func verticalAxisColumns(fraction: Double) -> [Int] {
        (0..<width).filter { x in
            var best = 0, run = 0
            for y in 0..<height { if isAxis(color(x: x, y: y)) { run += 1; best = max(best, run) } else { run = 0 } }
            return Double(best) >= fraction * Double(height)
        }
    }
    func horizontalAxisRows(fraction: Double) -> [Int] {
        (0..<height).filter { y in
            var best = 0, run = 0
            for x in 0..<width { if isAxis(color(x: x, y: y)) { run += 1; best = max(best, run) } else { run = 0 } }
            return Double(best) >= fraction * Double(width)
        }
    }
    /// Groups adjacent indices (a 2-pixel-wide line counts once).
    static func clusters(_ xs: [Int]) -> Int {
        var n = 0, last = -10
        for x in xs { if x > last + 2 { n += 1 }; last = x }
        return n
    }
}

func renderRaster(_ figure: Figure, scale: Double = 2) throws -> Raster {
    try Raster(png: FigureRenderer.render(figure, as: .png, scale: scale))
}

let magnitudes = (0..<12).map { Double($0) }

func linePanel() -> Panel {
    Panel(title: "line", x: Axis(label: "magnitude"), y: Axis(label: "similarity"),
          layers: [.band(Band(x: magnitudes, lower: magnitudes.map { 0.1 + $0 / 20 }, upper: magnitudes.map { 0.3 + $0 / 20 },
                              label: "CI")),
                   .line(LineSeries(x: magnitudes, y: magnitudes.map { 0.2 + $0 / 20 }, label: "mean"))],
          legend: .insideTopRight)
}

@Suite struct TickTests {
    @Test func unitRange() throws {
        let t = try NiceTicks(lower: 0, upper: 1)
        #expect(t.values == [0, 0.2, 0.4, 0.6, 0.8, 1.0].map { $0 } || t.values.count == 6)
        #expect(t.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    }

    @Test func niceNumbers() {
        #expect(NiceTicks.niceNumber(0.7, round: true) == 0.5)
        #expect(NiceTicks.niceNumber(23, round: true) == 20)
        #expect(NiceTicks.niceNumber(23, round: false) == 50)
        #expect(NiceTicks.niceNumber(4100, round: true) == 5000)
    }

    @Test func propertiesOverRandomRanges() throws {
        var rng = Seeded(state: 7)
        for _ in 0..<500 {
            let scale = pow(10, rng.unit() * 12 - 6)
            let a = (rng.unit() - 0.5) * scale * 10, b = a + rng.unit() * scale * 5
            let t = try NiceTicks(lower: a, upper: b)
            #expect(t.lower <= min(a, b) + 1e-9 * scale && t.upper >= max(a, b) - 1e-9 * scale)
            #expect(t.values.count >= 2 && t.values.count <= 12, "\(a)…\(b) gave \(t.values.count) ticks")
            let mantissa = t.step / pow(10, floor(log10(t.step)))
            #expect([1, 2, 5, 10].contains { abs(mantissa - Double($0)) < 1e-6 }, "step \(t.step)")
            #expect(Set(t.labels).count == t.labels.count, "labels distinct: \(t.labels)")
        }
    }

    @Test func degenerateAndInvalidRanges() throws {
        let t = try NiceTicks(lower: 5, upper: 5)
        #expect(t.lower < 5 && t.upper > 5)
        #expect(throws: PlotError.self) { try NiceTicks(lower: .nan, upper: 1) }
    }
}

@Suite struct ColourTests {
    @Test func viridisEndsAndLuminanceRises() {
        let v = Colormap.viridis
        #expect(v.color(at: 0) == Color(hex: 0x440154))
        #expect(v.color(at: 1) == Color(hex: 0xFDE725))
        var last = -1.0
        for i in 0...100 {
            let l = v.color(at: Double(i) / 100).luminance
            #expect(l > last, "viridis lightness increases at \(i)")
            last = l
        }
        #expect(v.color(at: .nan) == .missing)
        #expect(v.color(at: 2) == v.color(at: 1))
    }

    @Test func categoricalCycles() {
        #expect(Palette.categorical.count == 10)
        #expect(Palette.color(10) == Palette.color(0))
        #expect(Set(Palette.categorical.map { "\($0.red),\($0.green),\($0.blue)" }).count == 10)
    }
}

@Suite struct FigurePixelTests {
    @Test func linePlotHasAxesAndContent() throws {
        let r = try renderRaster(Figure(width: 400, height: 260, title: "t", panels: [linePanel()]))
        #expect(r.width == 800 && r.height == 520)
        let left = r.verticalAxisColumns(fraction: 0.5)
        let bottom = r.horizontalAxisRows(fraction: 0.5)
        #expect(Raster.clusters(left) == 1, "one y axis, columns \(left)")
        #expect(Raster.clusters(bottom) == 1, "one x axis, rows \(bottom)")
        let x0 = try #require(left.last), y1 = try #require(bottom.first)
        #expect(x0 < 200 && y1 > 300)
        // Inside the plot area: the line's colour and the lighter band both appear.
        let lineColour = Palette.color(0)
        let linePixels = r.count(in: (x0 + 2)..<r.width, 0..<y1) { r.distance($0, lineColour) < 0.08 }
        let bandPixels = r.count(in: (x0 + 2)..<r.width, 0..<y1) { r.distance($0, Color(red: 0.81, green: 0.87, blue: 0.93)) < 0.06 }
        #expect(linePixels > 200)
        #expect(bandPixels > 1000)
        // Left of the y axis there are no data colours.
        #expect(r.count(in: 0..<(x0 - 1), 0..<y1) { r.distance($0, lineColour) < 0.08 } == 0)
    }

    @Test func blankAreaWithoutLayers() throws {
        let empty = Panel(x: Axis(range: 0...1), y: Axis(range: 0...1), layers: [], grid: false)
        let r = try renderRaster(Figure(width: 300, height: 200, panels: [empty]))
        let x0 = try #require(r.verticalAxisColumns(fraction: 0.5).last)
        let y1 = try #require(r.horizontalAxisRows(fraction: 0.5).first)
        #expect(r.count(in: (x0 + 4)..<(r.width - 16), 20..<(y1 - 3)) { !r.isWhite($0) } == 0)
    }

    @Test func heatmapColourBarRunsLowToHigh() throws {
        let values = (0..<10).map { r in (0..<20).map { c in Double(c) / 19 + Double(r) * 0 } }
        let heat = Heatmap(values: values, colouring: .continuous(.viridis, range: 0...1, label: "value"))
        let panel = Panel(x: Axis(label: "column"), y: Axis(label: "row", inverted: true), layers: [.heatmap(heat)], grid: false)
        let r = try renderRaster(Figure(width: 420, height: 260, panels: [panel]))
        func viridisT(_ c: Color) -> Double? {
            var best = (1.0, 0.0)
            for i in 0...200 {
                let t = Double(i) / 200
                let d = r.distance(c, Colormap.viridis.color(at: t))
                if d < best.0 { best = (d, t) }
            }
            return best.0 < 0.04 ? best.1 : nil
        }
        // The colour bar: a column in the right quarter covered by viridis colours, high at the top.
        var found = false
        for x in stride(from: r.width - 1, to: r.width * 3 / 4, by: -1) {
            let ts = (0..<r.height).compactMap { viridisT(r.color(x: x, y: $0)) }
            guard Double(ts.count) > 0.5 * Double(r.height), let top = ts.first, let bottom = ts.last else { continue }
            #expect(top > 0.9 && bottom < 0.1, "colour bar top \(top), bottom \(bottom)")
            let descents = zip(ts, ts.dropFirst()).filter { $0.1 > $0.0 + 0.02 }.count
            #expect(descents == 0, "colour bar is monotone")
            found = true
            break
        }
        #expect(found, "colour bar found")
        // Cells: left columns dark purple, right columns yellow (same row).
        let y = r.height / 2
        let row = (0..<(r.width * 3 / 4)).compactMap { viridisT(r.color(x: $0, y: y)) }
        #expect((row.first ?? 1) < 0.1 && (row.last ?? 0) > 0.85)
    }

    @Test func categoricalHeatmapHatchesAndMarks() throws {
        let values = [[0.0, 0, 1, 1], [0, 1, 1, 2]]
        let hatched = [[false, false, false, true], [false, false, true, true]]
        let heat = Heatmap(values: values, colouring: .categorical(colors: Array(Palette.categorical.prefix(3)), names: ["a", "b", "c"]),
                           hatched: hatched, markers: [CellMarker(row: 0, column: 3), CellMarker(row: 1, column: 2)])
        let panel = Panel(x: Axis(ticks: [Tick(0.5, "0"), Tick(3.5, "3")]), y: Axis(inverted: true),
                          layers: [.heatmap(heat)], grid: false)
        let r = try renderRaster(Figure(width: 300, height: 200, panels: [panel]), scale: 2)
        let x0 = try #require(r.verticalAxisColumns(fraction: 0.5).last)
        let y1 = try #require(r.horizontalAxisRows(fraction: 0.5).first)
        // Plot area: from the y axis to the last stage-coloured column, from the first coloured row to the x axis.
        let row = y1 - 10
        let x1 = try #require((x0..<r.width).last { r.distance(r.color(x: $0, y: row), Palette.color(2)) < 0.05 || r.distance(r.color(x: $0, y: row), Palette.color(1)) < 0.05 })
        let y0 = try #require((0..<y1).first { r.distance(r.color(x: x0 + 10, y: $0), Palette.color(0)) < 0.05 })
        let cellW = Double(x1 - x0) / 4, cellH = Double(y1 - y0) / 2
        func cell(_ row: Int, _ col: Int) -> (Range<Int>, Range<Int>) {
            let xa = x0 + Int(Double(col) * cellW) + 8, xb = x0 + Int(Double(col + 1) * cellW) - 8
            let ya = y0 + Int(Double(row) * cellH) + 8, yb = y0 + Int(Double(row + 1) * cellH) - 8
            return (xa..<xb, ya..<yb)
        }
        let (xs, ys) = cell(0, 0)
        let plain = r.count(in: xs, ys) { r.distance($0, Palette.color(0)) < 0.05 }
        #expect(plain == xs.count * ys.count, "unhatched cell is uniform")
        let (hx, hy) = cell(1, 3)
        let area = hx.count * hy.count
        let stageColour = r.count(in: hx, hy) { r.distance($0, Palette.color(2)) < 0.05 }
        #expect(stageColour > area / 3, "hatched cell keeps its stage colour")
        #expect(area - stageColour > area / 10, "hatched cell shows hatch lines")
        // Onset marker: a black bar at the left edge of (row 1, column 2).
        let markerX = x0 + Int(2 * cellW)
        let blacks = r.count(in: (markerX - 3)..<(markerX + 3), hy) { $0.luminance < 0.02 }
        #expect(blacks >= hy.count, "onset bar drawn")
    }

    @Test func scatterWithTrendAndHistogram() throws {
        var rng = Seeded(state: 3)
        let xs = (0..<60).map { _ in rng.unit() * 4 - 4 }
        let ys = xs.map { 10 + 2 * $0 + rng.unit() }
        let scatter = Panel(x: Axis(label: "x"), y: Axis(label: "y"),
                            layers: [.scatter(ScatterSeries(x: xs, y: ys, trendLine: true))], annotation: "ρ = 0.9")
        let hist = Panel(x: Axis(label: "stages"), y: Axis(label: "features"), layers: [.histogram(Histogram.integers([2, 3, 3, 4, 4, 4]))])
        let r = try renderRaster(Figure(width: 600, height: 260, panels: [scatter, hist], columns: 2))
        #expect(Raster.clusters(r.verticalAxisColumns(fraction: 0.5)) == 2, "two small multiples")
        let dots = r.count(in: 0..<600, 0..<r.height) { r.distance($0, Palette.color(0).withAlpha(1)) < 0.25 && !r.isWhite($0) && $0.blue > $0.red }
        #expect(dots > 200)
        let bars = r.count(in: 600..<1200, 0..<r.height) { r.distance($0, Palette.color(0)) < 0.05 }
        #expect(bars > 3000)
        let fit = try #require(FigureRenderer.leastSquares(xs, ys))
        #expect(abs(fit.slope - 2) < 0.2)
    }

    @Test func smallMultiplesGrid() throws {
        let panels = (0..<6).map { _ in linePanel() }
        let r = try renderRaster(Figure(width: 720, height: 400, panels: panels, columns: 3))
        #expect(Raster.clusters(r.verticalAxisColumns(fraction: 0.25)) == 3)
        #expect(Raster.clusters(r.horizontalAxisRows(fraction: 0.15)) == 2)
    }
}

@Suite struct FormatTests {
    let figure = Figure(width: 400, height: 260, title: "Similarity ρ", panels: [linePanel()])

    @Test func svgIsWellFormedWithGlyphsAndPaths() throws {
        let svg = try FigureRenderer.render(figure, as: .svg)
        let text = String(decoding: svg, as: UTF8.self)
        #expect(text.hasPrefix("<?xml"))
        #expect(text.contains("width=\"400pt\"") && text.contains("height=\"260pt\""))
        #expect(text.contains("<symbol") || text.contains("glyph"), "text drawn as glyphs")
        #expect(text.components(separatedBy: "<path").count > 10)
        final class Counter: NSObject, XMLParserDelegate {
            var elements: [String: Int] = [:]
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) { elements[name, default: 0] += 1 }
        }
        let parser = XMLParser(data: svg)
        let counter = Counter()
        parser.delegate = counter
        #expect(parser.parse(), "SVG parses as XML")
        #expect(counter.elements["svg"] == 1)
        #expect((counter.elements["path"] ?? 0) > 10)
    }

    @Test func pdfAndPngHeaders() throws {
        let pdf = try FigureRenderer.render(figure, as: .pdf)
        #expect(String(decoding: pdf.prefix(5), as: UTF8.self) == "%PDF-")
        let png = try FigureRenderer.render(figure, as: .png, scale: 2)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(try Raster(png: png).width == 800)
    }

    @Test(arguments: OutputFormat.allCases)
    func renderingIsDeterministic(_ format: OutputFormat) throws {
        let a = try FigureRenderer.render(figure, as: format)
        let b = try FigureRenderer.render(figure, as: format)
        #expect(a == b)
        #expect(a.count > 500)
    }

    @Test func writesToDiskAndReportsBadPaths() throws {
        let dir = TestScratch.root.appendingPathComponent("plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FigureRenderer.write(figure, to: dir.appendingPathComponent("f.svg"), as: .svg)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("f.svg").path))
        #expect(throws: PlotError.self) {
            try FigureRenderer.write(figure, to: dir.appendingPathComponent("missing/f.png"), as: .png)
        }
    }
}

@Suite struct InvalidInputTests {
    @Test func mismatchedSeriesNamesThePanel() {
        let bad = Panel(title: "sim", layers: [.line(LineSeries(x: [1, 2, 3], y: [1, 2], label: "mean"))])
        do {
            _ = try FigureRenderer.render(Figure(panels: [bad]), as: .png)
            Issue.record("expected an error")
        } catch let e as PlotError {
            #expect(e.localizedDescription.contains("'sim'") && e.localizedDescription.contains("3 values"))
        } catch { Issue.record("wrong error \(error)") }
    }

    @Test func emptyFigureAndBadSize() {
        #expect(throws: PlotError.self) { try FigureRenderer.render(Figure(panels: []), as: .svg) }
        #expect(throws: PlotError.self) { try FigureRenderer.render(Figure(width: 0, height: 10, panels: [linePanel()]), as: .png) }
        let ragged = Heatmap(values: [[1, 2], [1]], colouring: .continuous(.viridis, range: 0...1, label: ""))
        #expect(throws: PlotError.self) { try FigureRenderer.render(Figure(panels: [Panel(layers: [.heatmap(ragged)])]), as: .png) }
    }

    @Test func nonFiniteValuesAreSkippedNotFatal() throws {
        let p = Panel(layers: [.line(LineSeries(x: [0, 1, 2, 3], y: [1, .nan, .infinity, 2]))])
        let png = try FigureRenderer.render(Figure(panels: [p]), as: .png)
        #expect(png.count > 100)
    }
}

@Suite struct TextTests {
    @Test func sanitizerRemovesControlsAndBidiOverridesKeepsRTL() {
        let s = TextSanitizer.clean("a\u{0}b\u{7}c\u{1B}[31m\u{202E}evil\u{2066}x\u{2069} עברית\tend\r\n", maxCharacters: 100)
        #expect(!s.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(!s.unicodeScalars.contains { (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value) })
        #expect(s.contains("עברית"))
        #expect(s.contains("abc[31mevilx"))
        let long = TextSanitizer.clean(String(repeating: "x", count: 10_000), maxCharacters: 50)
        #expect(long.count == 50 && long.hasSuffix("…"))
    }

    @Test func wrapKeepsEveryLineWithinWidth() throws {
        let canvas = try Canvas(format: .pdf, width: 300, height: 300)
        let font = Font(size: 10)
        let text = "short words then " + String(repeating: "W", count: 400) + " and العربية text " + String(repeating: "ab ", count: 100)
        let lines = canvas.wrap(text, width: 120, font: font)
        #expect(lines.count > 10)
        for l in lines { #expect(canvas.textWidth(l, font: font) <= 120.01, "line '\(l)'") }
        let capped = canvas.wrap(text, width: 120, font: font, maxLines: 3)
        #expect(capped.count == 3 && capped[2].hasSuffix("…"))
        #expect(canvas.wrap("", width: 50, font: font) == [""])
    }
}
