import CCairo
import Foundation

/// A rectangle in points, origin top-left.
public struct Rect: Sendable, Equatable {
    public var x: Double, y: Double, width: Double, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public func inset(by d: Double) -> Rect { Rect(x: x + d, y: y + d, width: width - 2 * d, height: height - 2 * d) }
}

/// Drawing primitives over one Cairo context. Every figure and every report page is drawn through this type,
/// so PNG, SVG and PDF output come from the same code.
public final class Canvas {
    public let context: CairoContext
    var cr: OpaquePointer { context.pointer }
    private var currentFont: Font?

    public init(context: CairoContext) { self.context = context }

    /// A canvas on a fresh surface of the given format and size (points).
    public convenience init(format: OutputFormat, width: Double, height: Double, scale: Double = 2) throws {
        try self.init(context: CairoContext(surface: CairoSurface.make(format, width: width, height: height, scale: scale)))
    }

    public var surface: CairoSurface { context.surface }

    // MARK: state
    public func save() { cairo_save(cr) }
    /// Restores the saved state, which includes the font: forget the cached font choice.
    public func restore() { cairo_restore(cr); currentFont = nil }
    public func clip(_ r: Rect) { cairo_rectangle(cr, r.x, r.y, r.width, r.height); cairo_clip(cr) }
    public func translate(_ x: Double, _ y: Double) { cairo_translate(cr, x, y) }

    public func setColor(_ c: Color) { cairo_set_source_rgba(cr, c.red, c.green, c.blue, c.alpha) }

    // MARK: shapes
    public func fill(_ r: Rect, _ c: Color) {
        setColor(c)
        cairo_rectangle(cr, r.x, r.y, r.width, r.height)
        cairo_fill(cr)
    }

    public func stroke(_ r: Rect, _ c: Color, width: Double = 1) {
        setColor(c)
        cairo_set_line_width(cr, width)
        cairo_rectangle(cr, r.x, r.y, r.width, r.height)
        cairo_stroke(cr)
    }

    public func line(from a: (Double, Double), to b: (Double, Double), color: Color, width: Double = 1,
                     dash: [Double] = []) {
        polyline([a, b], color: color, width: width, dash: dash)
    }

    public func polyline(_ points: [(Double, Double)], color: Color, width: Double = 1, dash: [Double] = []) {
        guard points.count >= 2 else { return }
        setColor(color)
        cairo_set_line_width(cr, width)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT)
        if !dash.isEmpty { cairo_set_dash(cr, dash, Int32(dash.count), 0) }
        cairo_move_to(cr, points[0].0, points[0].1)
        for p in points.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        cairo_stroke(cr)
        if !dash.isEmpty { cairo_set_dash(cr, nil, 0, 0) }
    }

    public func fillPolygon(_ points: [(Double, Double)], color: Color) {
        guard points.count >= 3 else { return }
        setColor(color)
        cairo_move_to(cr, points[0].0, points[0].1)
        for p in points.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        cairo_close_path(cr)
        cairo_fill(cr)
    }

    public func circle(center: (Double, Double), radius: Double, fill: Color, stroke: Color? = nil) {
        cairo_new_sub_path(cr)
        cairo_arc(cr, center.0, center.1, radius, 0, 2 * .pi)
        setColor(fill)
        if let stroke {
            cairo_fill_preserve(cr)
            setColor(stroke)
            cairo_set_line_width(cr, 0.6)
            cairo_stroke(cr)
        } else {
            cairo_fill(cr)
        }
    }

    /// Diagonal hatching (45°, `spacing` points apart) clipped to `r`.
    public func hatch(_ r: Rect, color: Color, spacing: Double = 3.5, width: Double = 0.7) {
        hatch([r], color: color, spacing: spacing, width: width)
    }

    /// Diagonal hatching over the union of `rects`: one clip and one set of lines, however many cells.
    public func hatch(_ rects: [Rect], color: Color, spacing: Double = 3.5, width: Double = 0.7) {
        guard let first = rects.first else { return }
        var bounds = first
        for q in rects.dropFirst() {
            let x0 = min(bounds.x, q.x), y0 = min(bounds.y, q.y)
            bounds = Rect(x: x0, y: y0, width: max(bounds.maxX, q.maxX) - x0, height: max(bounds.maxY, q.maxY) - y0)
        }
        let r = bounds
        save()
        cairo_new_path(cr)
        for q in rects { cairo_rectangle(cr, q.x, q.y, q.width, q.height) }
        cairo_clip(cr)
        setColor(color)
        cairo_set_line_width(cr, width)
        var d = -r.height
        while d < r.width {
            cairo_move_to(cr, r.x + d, r.maxY)
            cairo_line_to(cr, r.x + d + r.height, r.y)
            d += spacing
        }
        cairo_stroke(cr)
        restore()
    }

    // MARK: text
    public func setFont(_ f: Font) {
        guard f != currentFont else { return }
        currentFont = f
        cairo_select_font_face(cr, f.family, f.italic ? CAIRO_FONT_SLANT_ITALIC : CAIRO_FONT_SLANT_NORMAL,
                               f.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, f.size)
    }

    /// Advance width of `text` in points.
    public func textWidth(_ text: String, font: Font) -> Double {
        setFont(font)
        var e = cairo_text_extents_t()
        cairo_text_extents(cr, text, &e)
        return e.x_advance
    }

    /// Draws one line of text with its baseline at `y`; `rotated` turns it 90° counter-clockwise around (x, y).
    public func text(_ text: String, x: Double, y: Double, font: Font, color: Color = .axis,
                     anchor: TextAnchor = .start, rotated: Bool = false) {
        guard !text.isEmpty else { return }
        let w = anchor == .start ? 0 : textWidth(text, font: font)
        setFont(font)
        setColor(color)
        let dx = anchor == .start ? 0 : anchor == .middle ? -w / 2 : -w
        if rotated {
            save()
            cairo_translate(cr, x, y)
            cairo_rotate(cr, -.pi / 2)
            cairo_move_to(cr, dx, 0)
            cairo_show_text(cr, text)
            restore()
        } else {
            cairo_move_to(cr, x + dx, y)
            cairo_show_text(cr, text)
        }
    }

    /// Cuts `text` to fit `maxWidth`, ending with "…" when shortened.
    public func truncate(_ text: String, toWidth maxWidth: Double, font: Font) -> String {
        if textWidth(text, font: font) <= maxWidth { return text }
        var chars = Array(text)
        var lo = 0, hi = chars.count
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if textWidth(String(chars[..<mid]) + "…", font: font) <= maxWidth { lo = mid } else { hi = mid - 1 }
        }
        chars = Array(chars[..<lo])
        return String(chars) + "…"
    }

    /// Greedy word wrap of (sanitised) `text` into lines no wider than `width`; words longer than a line are
    /// broken between characters. At most `maxLines` lines; the last is ended with "…" if text was left over.
    public func wrap(_ text: String, width: Double, font: Font, maxLines: Int = .max) -> [String] {
        var lines: [String] = []
        var truncated = false
        outer: for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var current = ""
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
                let candidate = current.isEmpty ? String(word) : current + " " + word
                if textWidth(candidate, font: font) <= width { current = candidate; continue }
                if !current.isEmpty {
                    lines.append(current)
                    current = ""
                    if lines.count >= maxLines { truncated = true; break outer }
                }
                var rest = Substring(word)
                while textWidth(String(rest), font: font) > width {
                    // Longest prefix that fits (at least one character).
                    var lo = 1, hi = rest.count
                    while lo < hi {
                        let mid = (lo + hi + 1) / 2
                        if textWidth(String(rest.prefix(mid)), font: font) <= width { lo = mid } else { hi = mid - 1 }
                    }
                    lines.append(String(rest.prefix(lo)))
                    rest = rest.dropFirst(lo)
                    if lines.count >= maxLines { truncated = !rest.isEmpty; break outer }
                }
                current = String(rest)
            }
            lines.append(current)
            if lines.count >= maxLines { truncated = true; break }
        }
        if lines.count > maxLines { lines = Array(lines.prefix(maxLines)); truncated = true }
        if truncated, let last = lines.last {
            lines[lines.count - 1] = truncate(last + " …", toWidth: width, font: font)
        }
        return lines
    }

    /// Draws wrapped text starting with the first baseline at `y + font.size`; returns the height used.
    @discardableResult
    public func paragraph(_ text: String, x: Double, y: Double, width: Double, font: Font, color: Color = .axis,
                          lineSpacing: Double = 1.3, maxLines: Int = .max) -> Double {
        let lines = wrap(text, width: width, font: font, maxLines: maxLines)
        let lh = font.size * lineSpacing
        for (i, l) in lines.enumerated() {
            self.text(l, x: x, y: y + font.size + Double(i) * lh, font: font, color: color)
        }
        return Double(lines.count) * lh
    }

    /// Height `paragraph` would use.
    public func paragraphHeight(_ text: String, width: Double, font: Font, lineSpacing: Double = 1.3,
                                maxLines: Int = .max) -> Double {
        Double(wrap(text, width: width, font: font, maxLines: maxLines).count) * font.size * lineSpacing
    }

    /// Ends the current page (PDF) — the next drawing goes on a new page.
    public func showPage() { cairo_show_page(cr) }

    /// Checks the context status, then finishes and encodes the surface.
    public func finish() throws -> Data {
        try context.checkStatus("drawing")
        return try surface.finish()
    }
}
