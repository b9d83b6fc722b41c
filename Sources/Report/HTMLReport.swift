import Foundation
import Mustache
import Plotting

/// Builds the Mustache context for report.html and renders it. All text from the data is sanitised
/// (`TextSanitizer`) and left to Mustache's `{{ }}` HTML escaping; only the CSS and the figures' SVG (generated
/// by Cairo, not from user text) are inserted raw.
enum HTMLReport {
    static func render(_ d: ReportData, figures: [StudyFigure], svgs: [Data], library: MustacheLibrary,
                       css: String) throws -> String {
        var figureContexts: [[String: Any]] = []
        for (i, (f, svg)) in zip(figures, svgs).enumerated() {
            figureContexts.append(["name": f.name, "caption": f.caption, "svg": inlineSVG(svg, prefix: "f\(i)-")])
        }
        let run = d.run
        let wide = StudyFigures.studyWide(d).count
        var metadata: [(String, String)] = [
            ("Sweep", run.sweepName), ("Model", run.model), ("SAE", run.sae), ("Hook", run.hook),
            ("Magnitudes", run.magnitudes.map { format($0) }.joined(separator: ", ") + " (\(run.magnitudeUnit))"),
            ("Method", run.method), ("Positions", run.positions), ("Prompts", String(run.promptCount)),
            ("Seeds", run.seeds.map(String.init).joined(separator: ", ")),
            ("semprog version", run.semprogVersion), ("Run date", run.runDate),
        ]
        if let selection = run.featureSelection { metadata.insert(("Feature selection", selection), at: 4) }
        if let source = run.saeSourceLine { metadata.insert(("SAE format", source), at: 3) }
        let s = d.summary
        let rq3 = s.rq3
        var summary: [(String, String)] = [
            ("RQ1 mean stage count", "\(format(s.rq1.meanStageCount)) (penalty \(format(s.rq1.penalty)))"),
            ("Mean explanation similarity", format(s.meanExplanationSimilarity)),
            ("RQ2 consistency by magnitude", s.rq2.consistency.map { "\(format($0.magnitude)): \(format($0.mean))" }
                .joined(separator: "; ")),
            ("RQ3 Spearman ρ", "\(format(rq3.spearmanRho)) [95% CI \(format(rq3.ciLow)), \(format(rq3.ciHigh))]"),
            ("RQ3 p (t approx.) / p (permutation)", "\(format(rq3.pValue)) / \(format(rq3.permutationPValue))"),
            ("RQ3 Kendall τ, n", "\(format(rq3.kendallTau)), n = \(rq3.n)"),
        ]
        if let st = s.steering {
            summary.append(("Mean best " + st.label, format(st.meanBestScore) + " (0–2; factor chosen on \(st.selectionPromptCount) prompt(s), scored on \(st.reportPromptCount))"
                            + (st.isProxy ? "; offline proxy, not comparable with AxBench" : "; AxBench rubric")))
            summary.append(("RQ3 Spearman ρ, score window", "\(format(st.windowSpearmanRho)) (p \(format(st.windowPValue)), n = \(st.windowN.map(String.init) ?? "—"))"))
        }
        var features: [[String: Any]] = []
        var figureStart = wide
        for f in d.features {
            let count = StudyFigures.perFeature(f, d).count
            defer { figureStart += count }
            let stages: [[String: Any]] = f.stages.enumerated().map { si, st in
                ["number": si + 1, "range": "\(format(st.magnitudeLow)) – \(format(st.magnitudeHigh))",
                 "label": TextSanitizer.clean(st.label, maxCharacters: 300, keepNewlines: false),
                 "example": TextSanitizer.clean(st.exampleOutput, maxCharacters: 3000)]
            }
            var stats: [(String, String)] = [
                ("Max activation", format(f.maxActivation)), ("log10 density", format(f.log10Density)),
                ("Robustness", format(f.robustness)), ("Stages", String(f.stageCount)),
            ]
            if let score = f.outputScore { stats.append(("Output score", format(score))) }
            if let c = f.steeringScore, let b = c.bestMagnitudeIndex, d.run.magnitudes.indices.contains(b) {
                stats.append(("Best factor (" + (s.steering?.label ?? "proxy steering score") + ")",
                              "\(format(d.run.magnitudes[b])): \(format(c.bestScore)) held out"))
            }
            features.append([
                "index": f.index, "anchor": "feature-\(f.index)",
                "explanation": TextSanitizer.clean(f.explanation, maxCharacters: 4000),
                "stats": stats.map { ["key": $0.0, "value": $0.1] },
                "stages": stages,
                "figures": Array(figureContexts[figureStart..<(figureStart + count)]),
            ])
        }
        let context: [String: Any] = [
            "title": "semprog report — " + TextSanitizer.clean(run.sweepName, maxCharacters: 200, keepNewlines: false),
            "sweep_name": TextSanitizer.clean(run.sweepName, maxCharacters: 200, keepNewlines: false),
            "run_date": run.runDate,
            "css": css,
            "metadata": metadata.map { ["key": $0.0, "value": TextSanitizer.clean($0.1, maxCharacters: 2000)] },
            "summary": summary.map { ["key": $0.0, "value": $0.1] },
            "figures": Array(figureContexts.prefix(wide)),
            "features": features,
            "feature_count": d.features.count,
        ]
        guard let html = library.render(context, withTemplate: "report.html") else {
            throw ReportError.templateMissing(path: "report.html.mustache")
        }
        return html
    }

    /// Cairo's SVG with the XML declaration removed and every id prefixed, so several SVGs can share one page
    /// (Cairo names glyphs "glyph0-1", clips "clip1" … in every file).
    static func inlineSVG(_ data: Data, prefix: String) -> String {
        var bytes = [UInt8](data)
        if bytes.starts(with: Array("<?xml".utf8)), let end = firstIndex(of: Array("?>".utf8), in: bytes, from: 0) {
            bytes.removeSubrange(0..<(end + 2))
        }
        let p = Array(prefix.utf8)
        let patterns: [[UInt8]] = [Array("id=\"".utf8), Array("href=\"#".utf8), Array("url(#".utf8)]
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + bytes.count / 20)
        var i = 0
        scan: while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "i") || b == UInt8(ascii: "h") || b == UInt8(ascii: "u") {
                for pat in patterns where pat[0] == b && i + pat.count <= bytes.count && bytes[i..<(i + pat.count)].elementsEqual(pat) {
                    out += pat
                    out += p
                    i += pat.count
                    continue scan
                }
            }
            out.append(b)
            i += 1
        }
        var start = 0, end = out.count
        while start < end, out[start] == 0x0A || out[start] == 0x20 { start += 1 }
        while end > start, out[end - 1] == 0x0A || out[end - 1] == 0x20 { end -= 1 }
        return String(decoding: out[start..<end], as: UTF8.self)
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var i = from
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
