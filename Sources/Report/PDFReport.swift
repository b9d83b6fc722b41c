import Foundation
import Plotting

/// Lays out the PDF report with Cairo: a title page with the run metadata, a summary page with RQ1–RQ3 and the
/// study-wide figures, then one page (or more) per feature. A4 portrait, page numbers in the footer, creation date
/// pinned to the run date.
enum PDFReport {
    static let pageWidth = 595.28, pageHeight = 841.89
    static let margin = 48.0
    static let body = Font(size: 10)
    static let bold = Font(size: 10, bold: true)
    static let small = Font(size: 8.5)
    static let h1 = Font(size: 20, bold: true)
    static let h2 = Font(size: 14, bold: true)

    /// A cursor flowing down the pages.
    final class Composer {
        let canvas: Canvas
        let footer: String
        var y = margin
        var page = 1
        init(canvas: Canvas, footer: String) { self.canvas = canvas; self.footer = footer }
        var width: Double { pageWidth - 2 * margin }
        var bottom: Double { pageHeight - margin - 12 }

        func newPage() {
            canvas.text("\(footer) · page \(page)", x: pageWidth / 2, y: pageHeight - margin / 2, font: small,
                        color: Color(hex: 0x777777), anchor: .middle)
            canvas.showPage()
            page += 1
            y = margin
        }
        /// Starts a new page unless `height` still fits.
        func ensure(_ height: Double) { if y + height > bottom && y > margin { newPage() } }

        func heading(_ text: String, font: Font) {
            ensure(font.size * 2.5)
            let t = canvas.truncate(text, toWidth: width, font: font)
            canvas.text(t, x: margin, y: y + font.size, font: font, color: .black)
            y += font.size * 1.8
        }
        /// Wrapped text, split across pages line by line.
        func paragraph(_ text: String, font: Font = body, indent: Double = 0, maxLines: Int = 40,
                       color: Color = .axis) {
            let lines = canvas.wrap(text, width: width - indent, font: font, maxLines: maxLines)
            let lh = font.size * 1.35
            for l in lines {
                ensure(lh)
                canvas.text(l, x: margin + indent, y: y + font.size, font: font, color: color)
                y += lh
            }
            y += 4
        }
        func keyValue(_ key: String, _ value: String) {
            let keyWidth = 150.0
            let lines = canvas.wrap(value, width: width - keyWidth, font: body, maxLines: 12)
            let lh = body.size * 1.35
            ensure(lh * Double(max(lines.count, 1)))
            canvas.text(canvas.truncate(key, toWidth: keyWidth - 8, font: bold), x: margin, y: y + body.size, font: bold)
            for (i, l) in lines.enumerated() {
                canvas.text(l, x: margin + keyWidth, y: y + body.size + Double(i) * lh, font: body)
            }
            y += lh * Double(max(lines.count, 1)) + 2
        }
        /// Height `figure` needs at `scale` (figure plus caption).
        func figureHeight(_ f: StudyFigure, scale: Double = 1) -> (figure: Double, caption: Double) {
            let w = min(width, f.figure.width * 0.95) * scale
            return (f.figure.height * w / f.figure.width, canvas.paragraphHeight(f.caption, width: width, font: small) + 14)
        }
        /// Draws figures scaled by one common factor (down to 55 %) so that they fit the rest of the page.
        func figures(_ list: ArraySlice<StudyFigure>) throws {
            let heights = list.map { figureHeight($0) }
            let needed = heights.reduce(0) { $0 + $1.figure }, captions = heights.reduce(0) { $0 + $1.caption }
            let room = bottom - y - captions
            let scale = needed <= room ? 1 : max(0.55, room / needed)
            for f in list { try figure(f, scale: scale) }
        }
        func figure(_ f: StudyFigure, scale: Double = 1) throws {
            var w = min(width, f.figure.width * 0.95) * scale
            var h = f.figure.height * w / f.figure.width
            let captionHeight = canvas.paragraphHeight(f.caption, width: width, font: small) + 6
            // Shrink (down to 60 %) to stay on the current page, else move to the next one.
            let room = bottom - y - captionHeight - 6
            if h > room && room >= 0.6 * h {
                w *= room / h
                h = room
            }
            ensure(h + captionHeight)
            try FigureRenderer.draw(f.figure, on: canvas, in: Rect(x: margin + (width - w) / 2, y: y, width: w, height: h))
            y += h + 2
            paragraph(f.caption, font: small, color: Color(hex: 0x555555))
            y += 4
        }
    }

    static func render(_ d: ReportData, figures: [StudyFigure],
                       progress: @Sendable (ReportProgress) -> Void) throws -> (Data, Int) {
        let canvas = try Canvas(format: .pdf, width: pageWidth, height: pageHeight)
        let run = d.run
        let sweep = TextSanitizer.clean(run.sweepName, maxCharacters: 120, keepNewlines: false)
        try canvas.surface.setPDFMetadata(title: "semprog report — \(sweep)", author: nil, creationDate: run.runDate)
        let c = Composer(canvas: canvas, footer: "semprog report · \(canvas.truncate(sweep, toWidth: 200, font: small))")
        func clean(_ s: String, _ n: Int = 2000) -> String { TextSanitizer.clean(s, maxCharacters: n) }

        // Title page
        c.y = 160
        c.heading("semprog report", font: h1)
        c.paragraph("Steering sweep “\(sweep)”", font: Font(size: 14))
        c.y += 20
        c.keyValue("Model", clean(run.model))
        c.keyValue("SAE", clean(run.sae))
        if let source = run.saeSourceLine { c.keyValue("SAE format", clean(source)) }
        c.keyValue("Hook", clean(run.hook))
        c.keyValue("Magnitudes", run.magnitudes.map { format($0) }.joined(separator: ", ") + " (\(clean(run.magnitudeUnit, 60)))")
        c.keyValue("Method", clean(run.method))
        c.keyValue("Positions", clean(run.positions))
        if let selection = run.featureSelection { c.keyValue("Feature selection", clean(selection)) }
        c.keyValue("Prompts", String(run.promptCount))
        c.keyValue("Seeds", run.seeds.map(String.init).joined(separator: ", "))
        c.keyValue("semprog version", clean(run.semprogVersion, 60))
        c.keyValue("Run date", clean(run.runDate, 60))
        c.keyValue("Features", String(d.features.count))
        // Link to the interactive explorer written beside the PDF.
        canvas.link(uri: Explorer.fileName) {
            c.keyValue("Explorer", "\(Explorer.fileName) (beside this PDF): every output of every cell, interactive")
        }
        c.newPage()

        // Summary
        let s = d.summary, rq3 = s.rq3
        c.heading("Summary", font: h2)
        c.keyValue("RQ1 mean stage count", "\(format(s.rq1.meanStageCount)) (segmentation penalty \(format(s.rq1.penalty)))")
        c.keyValue("Explanation similarity", "mean \(format(s.meanExplanationSimilarity))")
        c.keyValue("RQ2 consistency", s.rq2.consistency.map { "\(format($0.magnitude)): \(format($0.mean))" }.joined(separator: "; "))
        c.keyValue("RQ3 Spearman ρ", "\(format(rq3.spearmanRho)), 95% CI [\(format(rq3.ciLow)), \(format(rq3.ciHigh))], n = \(rq3.n)")
        c.keyValue("RQ3 p-values", "t approximation \(format(rq3.pValue)), permutation \(format(rq3.permutationPValue))")
        c.keyValue("RQ3 Kendall τ", format(rq3.kendallTau))
        if let st = s.steering {
            c.keyValue("Mean best " + st.label, format(st.meanBestScore) + " (0–2, held-out prompts)"
                       + (st.isProxy ? "; offline proxy, not AxBench" : "; AxBench rubric"))
            c.keyValue("RQ3 ρ, score window", "\(format(st.windowSpearmanRho)) (p \(format(st.windowPValue)), n = \(st.windowN.map(String.init) ?? "—"))")
        }
        c.y += 8
        let wide = StudyFigures.studyWide(d).count
        try c.figures(figures.prefix(wide))
        c.newPage()

        // One page per feature
        var figureStart = wide
        for (fi, f) in d.features.enumerated() {
            let figureCount = StudyFigures.perFeature(f, d).count
            defer { figureStart += figureCount }
            c.heading("Feature \(f.index)", font: h2)
            c.paragraph(clean(f.explanation, 4000), font: Font(size: 10.5), maxLines: 10, color: Color(hex: 0x1F3B5A))
            c.paragraph("max activation \(format(f.maxActivation)) · log10 density \(format(f.log10Density)) · robustness \(format(f.robustness)) · \(f.stageCount) stages"
                        + (f.outputScore.map { " · output score \(format($0))" } ?? ""),
                        font: small)
            let shown = f.stages.prefix(8)
            for (si, st) in shown.enumerated() {
                c.paragraph("S\(si + 1)  [\(format(st.magnitudeLow)) – \(format(st.magnitudeHigh))]  "
                            + TextSanitizer.clean(st.label, maxCharacters: 200, keepNewlines: false), font: bold, maxLines: 2)
                c.paragraph(clean(st.exampleOutput, 1500), font: small, indent: 14, maxLines: 4, color: Color(hex: 0x444444))
            }
            if f.stages.count > shown.count { c.paragraph("… and \(f.stages.count - shown.count) more stages", font: small) }
            try c.figures(figures[figureStart..<(figureStart + figureCount)])
            c.newPage()
            progress(ReportProgress(phase: "pdf", done: fi + 1, total: d.features.count))
        }
        let pages = c.page - 1
        return (try canvas.finish(), pages)
    }
}
