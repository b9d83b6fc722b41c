import CCairo

extension Canvas {
    /// Makes what `draw` paints a hyperlink to `uri` (a PDF link annotation; other surfaces ignore it).
    /// `uri` may be relative ("explorer.html"): viewers resolve it against the PDF's location.
    public func link(uri: String, _ draw: () -> Void) {
        let escaped = uri.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        cairo_tag_begin(cr, "Link", "uri='\(escaped)'")
        draw()
        cairo_tag_end(cr, "Link")
    }
}
