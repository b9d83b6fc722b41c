import CCairo
import Foundation

/// Draws `Figure`s onto a `Canvas` and encodes them as PNG, SVG or PDF. The same `draw` code serves every
/// format and the pages of the PDF report.
public enum FigureRenderer {
    static let tickFont = Font(size: 8.5)
    static let labelFont = Font(size: 9.5)
    static let titleFont = Font(size: 10.5, bold: true)
    static let figureTitleFont = Font(size: 12, bold: true)
    static let legendFont = Font(size: 8)

    /// Renders `figure` to the encoded bytes of `format` (PNG at `scale` pixels per point).
    public static func render(_ figure: Figure, as format: OutputFormat, scale: Double = 2) throws -> Data {
        let canvas = try Canvas(format: format, width: figure.width, height: figure.height, scale: scale)
        try draw(figure, on: canvas, in: Rect(x: 0, y: 0, width: figure.width, height: figure.height))
        let data = try canvas.finish()
        return format == .svg ? renumberSurfaceIDs(data) : data
    }

    /// Cairo names SVG groups after a process-wide surface counter ("surface795"); renumber them in order of
    /// appearance (surface1, surface2, …) so the same figure gives the same bytes every time.
    static func renumberSurfaceIDs(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        let key = Array("surface".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var map: [ArraySlice<UInt8>: Int] = [:]
        var i = 0
        while i < bytes.count {
            if bytes[i] == key[0], i + key.count < bytes.count, bytes[i..<(i + key.count)].elementsEqual(key),
               (0x30...0x39).contains(bytes[i + key.count]) {
                var j = i + key.count
                while j < bytes.count, (0x30...0x39).contains(bytes[j]) { j += 1 }
                let number = bytes[(i + key.count)..<j]
                let n = map[number] ?? (map.count + 1)
                map[number] = n
                out += key
                out += Array(String(n).utf8)
                i = j
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return Data(out)
    }

    /// Renders and writes `figure` to `url` (format from `format`).
    public static func write(_ figure: Figure, to url: URL, as format: OutputFormat, scale: Double = 2) throws {
        let data = try render(figure, as: format, scale: scale)
        do { try data.write(to: url) } catch {
            throw PlotError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }

    /// Draws `figure` scaled into `rect` of `canvas`.
    public static func draw(_ figure: Figure, on canvas: Canvas, in rect: Rect) throws {
        guard !figure.panels.isEmpty else {
            throw PlotError.invalidData(field: "figure '\(figure.title ?? "untitled")'", reason: "it has no panels")
        }
        canvas.save()
        canvas.translate(rect.x, rect.y)
        cairo_scale(canvas.cr, rect.width / figure.width, rect.height / figure.height)
        canvas.fill(Rect(x: 0, y: 0, width: figure.width, height: figure.height), figure.background)
        var top = 6.0
        if let title = figure.title, !title.isEmpty {
            let t = canvas.truncate(title, toWidth: figure.width - 16, font: figureTitleFont)
            canvas.text(t, x: figure.width / 2, y: 6 + figureTitleFont.size, font: figureTitleFont,
                        color: .black, anchor: .middle)
            top += figureTitleFont.size + 8
        }
        let cols = min(figure.columns, figure.panels.count)
        let rows = (figure.panels.count + cols - 1) / cols
        let cellW = (figure.width - 8) / Double(cols)
        let cellH = (figure.height - top - 4) / Double(rows)
        for (i, panel) in figure.panels.enumerated() {
            let r = Rect(x: 4 + Double(i % cols) * cellW, y: top + Double(i / cols) * cellH, width: cellW, height: cellH)
            try drawPanel(panel, index: i, on: canvas, in: r)
        }
        canvas.restore()
        try canvas.context.checkStatus("drawing figure '\(figure.title ?? "untitled")'")
    }

    // MARK: panel

    struct Scale {
        var lo: Double, hi: Double, start: Double, length: Double, inverted: Bool, vertical: Bool
        func callAsFunction(_ v: Double) -> Double {
            var t = (v - lo) / (hi - lo)
            if inverted { t = 1 - t }
            return vertical ? start + length - t * length : start + t * length
        }
    }

    static func validate(_ panel: Panel, index: Int) throws {
        let name = "panel \(index + 1)" + (panel.title.map { " '\($0)'" } ?? "")
        for layer in panel.layers {
            switch layer {
            case let .line(s) where s.x.count != s.y.count:
                throw PlotError.invalidData(field: "\(name) line '\(s.label ?? "")'",
                                            reason: "x has \(s.x.count) values, y has \(s.y.count)")
            case let .band(b) where b.x.count != b.lower.count || b.x.count != b.upper.count:
                throw PlotError.invalidData(field: "\(name) band", reason: "x, lower and upper lengths differ")
            case let .scatter(s) where s.x.count != s.y.count:
                throw PlotError.invalidData(field: "\(name) scatter '\(s.label ?? "")'",
                                            reason: "x has \(s.x.count) values, y has \(s.y.count)")
            case let .histogram(h) where h.edges.count != h.counts.count + 1:
                throw PlotError.invalidData(field: "\(name) histogram",
                                            reason: "\(h.edges.count) edges for \(h.counts.count) bins")
            case let .heatmap(h):
                if h.values.contains(where: { $0.count != h.columns }) {
                    throw PlotError.invalidData(field: "\(name) heatmap", reason: "rows have different lengths")
                }
                if !h.hatched.isEmpty && (h.hatched.count != h.rows || h.hatched.contains { $0.count != h.columns }) {
                    throw PlotError.invalidData(field: "\(name) heatmap hatching", reason: "shape differs from the values")
                }
                if case let .continuous(_, range, _) = h.colouring, !(range.upperBound > range.lowerBound) {
                    throw PlotError.invalidData(field: "\(name) heatmap colour range", reason: "empty range \(range)")
                }
            default: break
            }
        }
    }

    /// Data extent of the layers along x (`alongX`) or y.
    static func extent(_ panel: Panel, alongX: Bool) -> (Double, Double)? {
        var lo = Double.infinity, hi = -Double.infinity
        func add(_ vs: [Double]) { for v in vs where v.isFinite { lo = min(lo, v); hi = max(hi, v) } }
        for layer in panel.layers {
            switch layer {
            case let .line(s): add(alongX ? s.x : s.y)
            case let .band(b): if alongX { add(b.x) } else { add(b.lower); add(b.upper) }
            case let .scatter(s): add(alongX ? s.x : s.y)
            case let .histogram(h): if alongX { add(h.edges) } else { add(h.counts + [0]) }
            case let .heatmap(h): add(alongX ? [0, Double(h.columns)] : [0, Double(h.rows)])
            case let .reference(r):
                if (r.orientation == .vertical) == alongX { add([r.value]) }
            }
        }
        return lo <= hi ? (lo, hi) : nil
    }

    static func resolve(_ axis: Axis, extent: (Double, Double)?, tight: Bool) throws -> (Double, Double, [Tick]) {
        if let ticks = axis.ticks {
            let lo = axis.range?.lowerBound ?? extent?.0 ?? ticks.map(\.position).min() ?? 0
            var hi = axis.range?.upperBound ?? extent?.1 ?? ticks.map(\.position).max() ?? 1
            if hi <= lo { hi = lo + 1 }
            return (lo, hi, ticks.filter { $0.position >= lo - 1e-9 && $0.position <= hi + 1e-9 })
        }
        if let r = axis.range {
            let nice = try NiceTicks(lower: r.lowerBound, upper: r.upperBound)
            let hi = r.upperBound > r.lowerBound ? r.upperBound : r.lowerBound + 1
            return (r.lowerBound, hi, zip(nice.values, nice.labels).filter { $0.0 >= r.lowerBound - 1e-9 && $0.0 <= hi + 1e-9 }
                .map { Tick($0.0, $0.1) })
        }
        let (a, b) = extent ?? (0, 1)
        let nice = try NiceTicks(lower: a, upper: b)
        if tight {
            let hi = b > a ? b : a + 1
            return (a, hi, zip(nice.values, nice.labels).filter { $0.0 >= a - 1e-9 && $0.0 <= hi + 1e-9 }.map { Tick($0.0, $0.1) })
        }
        return (nice.lower, nice.upper, zip(nice.values, nice.labels).map { Tick($0.0, $0.1) })
    }

    struct LegendEntry {
        enum Swatch { case line(Color, dashed: Bool), box(Color), dot(Color), hatch, marker }
        var swatch: Swatch
        var label: String
    }

    static func legendEntries(_ panel: Panel) -> [LegendEntry] {
        var entries: [LegendEntry] = []
        for layer in panel.layers {
            switch layer {
            case let .line(s): if let l = s.label { entries.append(.init(swatch: .line(s.color, dashed: s.dashed), label: l)) }
            case let .band(b): if let l = b.label { entries.append(.init(swatch: .box(b.color), label: l)) }
            case let .scatter(s): if let l = s.label { entries.append(.init(swatch: .dot(s.color), label: l)) }
            case let .histogram(h): if let l = h.label { entries.append(.init(swatch: .box(h.color), label: l)) }
            case let .reference(r): if let l = r.label { entries.append(.init(swatch: .line(r.color, dashed: true), label: l)) }
            case let .heatmap(h):
                if case let .categorical(colors, names) = h.colouring {
                    for (i, n) in names.enumerated() where i < colors.count {
                        entries.append(.init(swatch: .box(colors[i]), label: n))
                    }
                }
                if let l = h.hatchLabel { entries.append(.init(swatch: .hatch, label: l)) }
                if let l = h.markerLabel { entries.append(.init(swatch: .marker, label: l)) }
            }
        }
        return entries
    }

    static func drawPanel(_ panel: Panel, index: Int, on c: Canvas, in rect: Rect) throws {
        try validate(panel, index: index)
        var area = rect.inset(by: 4)
        if let title = panel.title, !title.isEmpty {
            c.text(c.truncate(title, toWidth: area.width, font: titleFont), x: area.x + area.width / 2,
                   y: area.y + titleFont.size, font: titleFont, color: .black, anchor: .middle)
            area.y += titleFont.size + 6; area.height -= titleFont.size + 6
        }
        let heatmap = panel.layers.lazy.compactMap { if case let .heatmap(h) = $0 { h } else { nil } }.first
        var colourBar: (Colormap, ClosedRange<Double>, String)?
        if let heatmap, case let .continuous(map, range, label) = heatmap.colouring { colourBar = (map, range, label) }
        let entries = panel.legend == .none ? [] : legendEntries(panel)
        // Right-hand reservations: colour bar or outside legend.
        var rightReserve = 0.0
        if colourBar != nil { rightReserve = 58 }
        var legendWidth = 0.0
        if !entries.isEmpty {
            legendWidth = min((entries.map { c.textWidth($0.label, font: legendFont) }.max() ?? 0) + 26, area.width * 0.4)
            if panel.legend == .right { rightReserve += legendWidth + 4 }
        }
        // Scatter panels get a 4 % margin so points on the data's edge are not cut by the axes.
        let hasScatter = panel.layers.contains { if case .scatter = $0 { true } else { false } }
        func padded(_ e: (Double, Double)?) -> (Double, Double)? {
            guard hasScatter, let (a, b) = e else { return e }
            let pad = (b - a) * 0.04
            return (a - pad, b + pad)
        }
        let xRes = try resolve(panel.x, extent: padded(extent(panel, alongX: true)), tight: heatmap != nil)
        let yRes = try resolve(panel.y, extent: padded(extent(panel, alongX: false)), tight: heatmap != nil)
        let yTickWidth = (yRes.2.map { c.textWidth($0.label, font: tickFont) }.max() ?? 0)
        let leftReserve = yTickWidth + 8 + (panel.y.label != nil ? labelFont.size + 6 : 0)
        let bottomReserve = tickFont.size + 8 + (panel.x.label != nil ? labelFont.size + 6 : 0)
        let plot = Rect(x: area.x + leftReserve, y: area.y + 4, width: max(area.width - leftReserve - rightReserve - 6, 10),
                        height: max(area.height - bottomReserve - 6, 10))
        let sx = Scale(lo: xRes.0, hi: xRes.1, start: plot.x, length: plot.width, inverted: panel.x.inverted, vertical: false)
        let sy = Scale(lo: yRes.0, hi: yRes.1, start: plot.y, length: plot.height, inverted: panel.y.inverted, vertical: true)

        // Grid
        if panel.grid && heatmap == nil {
            for t in yRes.2 { c.line(from: (plot.x, sy(t.position)), to: (plot.maxX, sy(t.position)), color: .grid, width: 0.6) }
            for t in xRes.2 { c.line(from: (sx(t.position), plot.y), to: (sx(t.position), plot.maxY), color: .grid, width: 0.6) }
        }
        // Layers, clipped to the plot area.
        c.save()
        c.clip(plot)
        for layer in panel.layers { drawLayer(layer, on: c, sx: sx, sy: sy, plot: plot) }
        c.restore()
        // Axes: left and bottom spines, ticks, labels.
        c.line(from: (plot.x, plot.y), to: (plot.x, plot.maxY), color: .axis, width: 0.9)
        c.line(from: (plot.x, plot.maxY), to: (plot.maxX, plot.maxY), color: .axis, width: 0.9)
        for t in yRes.2 {
            let y = sy(t.position)
            c.line(from: (plot.x - 3, y), to: (plot.x, y), color: .axis, width: 0.8)
            c.text(t.label, x: plot.x - 5, y: y + tickFont.size * 0.35, font: tickFont, anchor: .end)
        }
        var lastLabelEnd = -Double.infinity
        for t in xRes.2 {
            let x = sx(t.position)
            c.line(from: (x, plot.maxY), to: (x, plot.maxY + 3), color: .axis, width: 0.8)
            let w = c.textWidth(t.label, font: tickFont)
            if x - w / 2 > lastLabelEnd + 2 {  // skip labels that would overlap the previous one
                c.text(t.label, x: x, y: plot.maxY + 4 + tickFont.size, font: tickFont, anchor: .middle)
                lastLabelEnd = x + w / 2
            }
        }
        if let l = panel.x.label {
            c.text(c.truncate(l, toWidth: plot.width, font: labelFont), x: plot.x + plot.width / 2,
                   y: plot.maxY + tickFont.size + 8 + labelFont.size + 2, font: labelFont, anchor: .middle)
        }
        if let l = panel.y.label {
            c.text(c.truncate(l, toWidth: plot.height, font: labelFont), x: area.x + labelFont.size,
                   y: plot.y + plot.height / 2, font: labelFont, anchor: .middle, rotated: true)
        }
        if let a = panel.annotation, !a.isEmpty {
            let font = legendFont
            let t = c.truncate(a, toWidth: plot.width - 12, font: font)
            let w = c.textWidth(t, font: font)
            c.fill(Rect(x: plot.x + 4, y: plot.y + 4, width: w + 8, height: font.size + 7), Color.white.withAlpha(0.85))
            c.stroke(Rect(x: plot.x + 4, y: plot.y + 4, width: w + 8, height: font.size + 7), Color(hex: 0xAAAAAA), width: 0.5)
            c.text(t, x: plot.x + 8, y: plot.y + 6 + font.size, font: font, color: .black)
        }
        if let (map, range, label) = colourBar {
            drawColourBar(map, range: range, label: label, on: c,
                          in: Rect(x: plot.maxX + 8, y: plot.y, width: 10, height: plot.height))
        }
        if !entries.isEmpty {
            let lh = legendFont.size + 5
            let h = Double(entries.count) * lh + 6
            let x: Double
            switch panel.legend {
            case .right: x = plot.maxX + 8 + (colourBar != nil ? 58 : 0)
            case .insideTopLeft: x = plot.x + 6
            default: x = plot.maxX - legendWidth - 6
            }
            let box = Rect(x: x, y: plot.y + (panel.legend == .insideTopLeft && panel.annotation != nil ? 24 : 4),
                           width: legendWidth, height: min(h, plot.height))
            c.fill(box, Color.white.withAlpha(0.85))
            c.stroke(box, Color(hex: 0xBBBBBB), width: 0.5)
            for (i, e) in entries.enumerated() {
                let y = box.y + 3 + Double(i) * lh
                if y + lh > box.maxY + 1 { break }
                let sw = Rect(x: box.x + 4, y: y + 1.5, width: 14, height: lh - 4)
                switch e.swatch {
                case let .line(col, dashed):
                    c.line(from: (sw.x, sw.y + sw.height / 2), to: (sw.maxX, sw.y + sw.height / 2), color: col, width: 1.6,
                           dash: dashed ? [3, 2] : [])
                case let .box(col): c.fill(sw, col)
                case let .dot(col): c.circle(center: (sw.x + sw.width / 2, sw.y + sw.height / 2), radius: 3, fill: col)
                case .hatch:
                    c.fill(sw, .white); c.hatch(sw, color: Color.black.withAlpha(0.7)); c.stroke(sw, .axis, width: 0.5)
                case .marker: drawOnsetMarker(on: c, x: sw.x + sw.width / 2, top: sw.y, height: sw.height)
                }
                c.text(c.truncate(e.label, toWidth: box.width - 26, font: legendFont), x: sw.maxX + 4,
                       y: y + legendFont.size + 1, font: legendFont)
            }
        }
    }

    static func drawOnsetMarker(on c: Canvas, x: Double, top: Double, height: Double) {
        c.line(from: (x, top), to: (x, top + height), color: .black, width: 2)
        c.fillPolygon([(x - 3, top), (x + 3, top), (x, top + 4)], color: .black)
    }

    static func drawColourBar(_ map: Colormap, range: ClosedRange<Double>, label: String, on c: Canvas, in r: Rect) {
        let pattern = cairo_pattern_create_linear(r.x, r.maxY, r.x, r.y)!
        defer { cairo_pattern_destroy(pattern) }
        for (i, a) in map.anchors.enumerated() {
            cairo_pattern_add_color_stop_rgb(pattern, Double(i) / Double(map.anchors.count - 1), a.red, a.green, a.blue)
        }
        cairo_set_source(c.cr, pattern)
        cairo_rectangle(c.cr, r.x, r.y, r.width, r.height)
        cairo_fill(c.cr)
        c.stroke(r, .axis, width: 0.6)
        if let ticks = try? NiceTicks(lower: range.lowerBound, upper: range.upperBound) {
            for (v, l) in zip(ticks.values, ticks.labels) where v >= range.lowerBound - 1e-9 && v <= range.upperBound + 1e-9 {
                let y = r.maxY - (v - range.lowerBound) / (range.upperBound - range.lowerBound) * r.height
                c.line(from: (r.maxX, y), to: (r.maxX + 3, y), color: .axis, width: 0.8)
                c.text(l, x: r.maxX + 5, y: y + tickFont.size * 0.35, font: tickFont)
            }
        }
        c.text(c.truncate(label, toWidth: r.height, font: labelFont), x: r.maxX + 44, y: r.y + r.height / 2,
               font: labelFont, anchor: .middle, rotated: true)
    }

    static func drawLayer(_ layer: PlotLayer, on c: Canvas, sx: Scale, sy: Scale, plot: Rect) {
        switch layer {
        case let .band(b):
            // One polygon per run of finite values.
            var i = 0
            while i < b.x.count {
                var run: [Int] = []
                while i < b.x.count, b.x[i].isFinite, b.lower[i].isFinite, b.upper[i].isFinite { run.append(i); i += 1 }
                if run.count >= 2 {
                    let upper = run.map { (sx(b.x[$0]), sy(b.upper[$0])) }
                    let lower = run.reversed().map { (sx(b.x[$0]), sy(b.lower[$0])) }
                    c.fillPolygon(upper + lower, color: b.color)
                }
                i += 1
            }
        case let .line(s):
            var segment: [(Double, Double)] = []
            for (x, y) in zip(s.x, s.y) {
                if x.isFinite && y.isFinite { segment.append((sx(x), sy(y))) } else {
                    c.polyline(segment, color: s.color, width: s.width, dash: s.dashed ? [5, 3] : []); segment = []
                }
            }
            c.polyline(segment, color: s.color, width: s.width, dash: s.dashed ? [5, 3] : [])
            if s.markers {
                for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite {
                    c.circle(center: (sx(x), sy(y)), radius: s.width + 0.8, fill: s.color)
                }
            }
        case let .scatter(s):
            for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite {
                c.circle(center: (sx(x), sy(y)), radius: s.radius, fill: s.color.withAlpha(0.75), stroke: .white)
            }
            if s.trendLine, let (slope, intercept) = leastSquares(s.x, s.y) {
                let x0 = sx.lo, x1 = sx.hi
                c.line(from: (sx(x0), sy(intercept + slope * x0)), to: (sx(x1), sy(intercept + slope * x1)),
                       color: Color(hex: 0x222222), width: 1.2, dash: [5, 3])
            }
        case let .histogram(h):
            for i in 0..<h.counts.count where h.counts[i] > 0 && h.counts[i].isFinite {
                let x0 = sx(h.edges[i]), x1 = sx(h.edges[i + 1])
                let y0 = sy(0), y1 = sy(h.counts[i])
                let r = Rect(x: min(x0, x1) + 0.5, y: min(y0, y1), width: abs(x1 - x0) - 1, height: abs(y1 - y0))
                c.fill(r, h.color)
                c.stroke(r, h.color.withAlpha(1), width: 0.5)
            }
        case let .heatmap(h):
            func colour(_ v: Double) -> Color {
                switch h.colouring {
                case let .continuous(map, range, _):
                    return map.color(at: (v - range.lowerBound) / (range.upperBound - range.lowerBound))
                case let .categorical(colors, _):
                    return v.isFinite && Int(v) >= 0 && Int(v) < colors.count ? colors[Int(v)] : .missing
                }
            }
            func cellRect(_ r: Int, _ c0: Int, _ c1: Int) -> Rect {
                let xa = sx(Double(c0)), xb = sx(Double(c1)), ya = sy(Double(r)), yb = sy(Double(r + 1))
                // Cells overlap by a hair so no seams show between them.
                return Rect(x: min(xa, xb), y: min(ya, yb), width: abs(xb - xa) + 0.3, height: abs(yb - ya) + 0.3)
            }
            var darkHatch: [Rect] = [], lightHatch: [Rect] = []
            for r in 0..<h.rows {
                // Runs of equal colour become one rectangle (smaller SVG/PDF, faster drawing).
                var start = 0
                while start < h.columns {
                    let c0 = colour(h.values[r][start])
                    var end = start + 1
                    while end < h.columns, colour(h.values[r][end]) == c0 { end += 1 }
                    c.fill(cellRect(r, start, end), c0)
                    start = end
                }
                guard !h.hatched.isEmpty else { continue }
                for col in 0..<h.columns where h.hatched[r][col] {
                    let cell = cellRect(r, col, col + 1)
                    if colour(h.values[r][col]).luminance > 0.3 { darkHatch.append(cell) } else { lightHatch.append(cell) }
                }
            }
            c.hatch(darkHatch, color: Color.black.withAlpha(0.75))
            c.hatch(lightHatch, color: Color.white.withAlpha(0.75))
            for m in h.markers where m.row >= 0 && m.row < h.rows {
                let x = sx(m.column), ya = sy(Double(m.row)), yb = sy(Double(m.row + 1))
                drawOnsetMarker(on: c, x: x, top: min(ya, yb), height: abs(yb - ya))
            }
        case let .reference(r):
            switch r.orientation {
            case .horizontal: c.line(from: (plot.x, sy(r.value)), to: (plot.maxX, sy(r.value)), color: r.color, width: 1, dash: [4, 3])
            case .vertical: c.line(from: (sx(r.value), plot.y), to: (sx(r.value), plot.maxY), color: r.color, width: 1, dash: [4, 3])
            }
        }
    }

    /// Ordinary least squares y = a + b x over finite pairs: b = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)², a = ȳ − b x̄.
    /// Nil with fewer than two distinct x values.
    public static func leastSquares(_ x: [Double], _ y: [Double]) -> (slope: Double, intercept: Double)? {
        let pairs = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
        guard pairs.count >= 2 else { return nil }
        let n = Double(pairs.count)
        let mx = pairs.reduce(0) { $0 + $1.0 } / n, my = pairs.reduce(0) { $0 + $1.1 } / n
        var sxy = 0.0, sxx = 0.0
        for (a, b) in pairs { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx) }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        return (slope, my - slope * mx)
    }
}
