import Foundation
import Plotting

/// Two analysed sweeps side by side (`semprog compare`): RQ1–RQ3 of each with confidence intervals and their
/// difference, the settings that differ, the features matched across the runs, and one explorer with both.
public struct Comparison: Sendable {
    /// A point estimate with an optional 95 % interval.
    public struct Estimate: Sendable, Equatable {
        public var value: Double
        public var low: Double?
        public var high: Double?
        public init(_ value: Double, _ low: Double? = nil, _ high: Double? = nil) {
            self.value = value; self.low = low; self.high = high
        }
    }

    /// One quantity for run A, run B and B − A, with how the difference's interval was obtained.
    public struct Row: Sendable, Equatable {
        public var name: String
        public var a: Estimate
        public var b: Estimate
        public var difference: Estimate
        public var method: String
    }

    /// A setting whose value differs between the runs.
    public struct Setting: Sendable, Equatable {
        public var name: String
        public var a: String
        public var b: String
    }

    public var a: ReportData
    public var b: ReportData
    public var labels: (String, String)
    /// Pairs of positions in `a.features` and `b.features` showing the same (or, across SAEs, the most similar)
    /// SAE feature.
    public var matches: [(Int, Int)]
    /// The cosine similarity of the two explanations of each match when features were matched by explanation
    /// (same order as `matches`), nil when they were matched by index.
    public var matchSimilarities: [Double?]
    /// How features were matched ("by feature index (same SAE)", "by explanation similarity …") or why they were not.
    public var matching: String

    /// Sentence embeddings of the features' explanations, one per feature of each run in the order of
    /// `a.features` and `b.features` (nil where a feature has no explanation). Any embedding works; cosine is
    /// computed here, so the vectors need not be normalised.
    public struct ExplanationEmbeddings: Sendable {
        public var a: [[Float]?]
        public var b: [[Float]?]
        public init(a: [[Float]?], b: [[Float]?]) { self.a = a; self.b = b }
    }

    /// The default least cosine similarity of two explanations for their features to be paired across SAEs.
    /// 0.6 with all-MiniLM-L6-v2, measured with `semprog embed --json`: the 66 pairs of distinct features'
    /// explanations in the committed example report (semprog's templated "fires on …; promotes …") score
    /// 0.233–0.585 (median 0.429); eight hand-written paraphrases of one concept score 0.599–0.843 and four
    /// unrelated concept descriptions 0.03–0.13. Templated explanations share words, so a pair just above the
    /// threshold deserves a look (compare.html shows every cosine).
    public static let defaultMinimumSimilarity = 0.6

    /// Matches features by index when both runs use the same SAE (same SAE path and Neuronpedia id). Otherwise,
    /// given `explanationEmbeddings`, pairs features by the cosine similarity of their explanations (one to one,
    /// greedily from the most similar pair, pairs below `minimumSimilarity` left out; see
    /// `matchByExplanation`); without embeddings the features stay unmatched.
    public init(a: ReportData, b: ReportData, labels: (String, String) = ("A", "B"),
                explanationEmbeddings: ExplanationEmbeddings? = nil,
                minimumSimilarity: Double = Comparison.defaultMinimumSimilarity) {
        self.a = a; self.b = b; self.labels = labels
        if a.run.sae == b.run.sae && a.run.neuronpediaId == b.run.neuronpediaId {
            let positions = Dictionary(b.features.enumerated().map { ($1.index, $0) }, uniquingKeysWith: { x, _ in x })
            matches = a.features.enumerated().compactMap { i, f in positions[f.index].map { (i, $0) } }
            matchSimilarities = Array(repeating: nil, count: matches.count)
            matching = "by feature index (both runs use the SAE \(a.run.sae)): \(matches.count) features in both"
        } else if let e = explanationEmbeddings, e.a.count == a.features.count, e.b.count == b.features.count {
            let m = Self.matchByExplanation(e.a, e.b, minimumSimilarity: minimumSimilarity)
            matches = m.map { ($0.a, $0.b) }
            matchSimilarities = m.map(\.cosine)
            matching = "by explanation similarity (the runs use different SAEs, \(a.run.sae) and \(b.run.sae)): "
                + "\(matches.count) pairs with cosine ≥ \(Self.format(minimumSimilarity)), one to one, most similar first"
        } else {
            matches = []
            matchSimilarities = []
            matching = "not matched: the runs use different SAEs (\(a.run.sae) and \(b.run.sae)), so feature indices name different features"
        }
    }

    /// Cosine similarity of two vectors (Float64 sums); nil when the lengths differ or either has norm 0.
    static func cosine(_ x: [Float], _ y: [Float]) -> Double? {
        guard x.count == y.count, !x.isEmpty else { return nil }
        var dot = 0.0, nx = 0.0, ny = 0.0
        for k in x.indices {
            let p = Double(x[k]), q = Double(y[k])
            dot += p * q; nx += p * p; ny += q * q
        }
        guard nx > 0, ny > 0 else { return nil }
        return dot / (nx.squareRoot() * ny.squareRoot())
    }

    /// One-to-one matching by cosine similarity: all pairs (i, j) with cosine ≥ `minimumSimilarity`, sorted by
    /// cosine (descending; ties by i, then j), are taken in turn when neither side is taken yet. Greedy matching
    /// keeps every chosen pair the best still available for both features, which is what a reader checks; it is
    /// not the assignment of largest total similarity. Result in order of the first run's positions.
    public static func matchByExplanation(_ a: [[Float]?], _ b: [[Float]?], minimumSimilarity: Double)
        -> [(a: Int, b: Int, cosine: Double)] {
        var candidates: [(a: Int, b: Int, cosine: Double)] = []
        for (i, x) in a.enumerated() {
            guard let x else { continue }
            for (j, y) in b.enumerated() {
                guard let y, let c = cosine(x, y), c >= minimumSimilarity else { continue }
                candidates.append((i, j, c))
            }
        }
        candidates.sort { $0.cosine != $1.cosine ? $0.cosine > $1.cosine : ($0.a != $1.a ? $0.a < $1.a : $0.b < $1.b) }
        var usedA = Set<Int>(), usedB = Set<Int>()
        var result: [(a: Int, b: Int, cosine: Double)] = []
        for c in candidates where !usedA.contains(c.a) && !usedB.contains(c.b) {
            usedA.insert(c.a); usedB.insert(c.b)
            result.append(c)
        }
        return result.sorted { $0.a < $1.a }
    }

    // MARK: Statistics

    /// t₀.₉₇₅ for 1…30 degrees of freedom (NIST/SEMATECH e-Handbook §1.3.6.7.2), 1.96 above.
    static func t975(_ df: Double) -> Double {
        let table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
                     2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
                     2.045, 2.042]
        let k = Int(df.rounded(.down))
        return k >= 1 && k <= 30 ? table[k - 1] : 1.96
    }

    static func meanVariance(_ v: [Double]) -> (mean: Double, variance: Double) {
        let n = Double(v.count)
        let mean = v.reduce(0, +) / n
        let variance = v.count > 1 ? v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : .nan
        return (mean, variance)
    }

    /// Mean with a Student-t interval (no interval for fewer than two values).
    static func mean(_ v: [Double]) -> Estimate {
        guard !v.isEmpty else { return Estimate(.nan) }
        let (m, s2) = meanVariance(v)
        guard v.count > 1 else { return Estimate(m) }
        let half = t975(Double(v.count - 1)) * (s2 / Double(v.count)).squareRoot()
        return Estimate(m, m - half, m + half)
    }

    /// B − A: paired over matched features when there are at least two, else Welch's interval.
    static func difference(_ a: [Double], _ b: [Double], paired: [(Double, Double)]) -> (Estimate, String) {
        if paired.count >= 2 {
            let d = mean(paired.map { $0.1 - $0.0 })
            return (d, "paired t over \(paired.count) matched features")
        }
        guard a.count > 1, b.count > 1 else {
            return (Estimate(meanVariance(b).mean - meanVariance(a).mean), "too few features for an interval")
        }
        let (ma, va) = meanVariance(a), (mb, vb) = meanVariance(b)
        let na = Double(a.count), nb = Double(b.count)
        let se2 = va / na + vb / nb
        let df = se2 * se2 / ((va / na) * (va / na) / (na - 1) + (vb / nb) * (vb / nb) / (nb - 1))
        let half = t975(df.isFinite ? df : 1) * se2.squareRoot()
        return (Estimate(mb - ma, mb - ma - half, mb - ma + half), "Welch t (independent features)")
    }

    /// Per-feature values of both runs and their matched pairs.
    func perFeature(_ value: (FeatureReport) -> Double?) -> ([Double], [Double], [(Double, Double)]) {
        let va = a.features.compactMap(value).filter(\.isFinite), vb = b.features.compactMap(value).filter(\.isFinite)
        let pairs = matches.compactMap { i, j -> (Double, Double)? in
            guard let x = value(a.features[i]), let y = value(b.features[j]), x.isFinite, y.isFinite else { return nil }
            return (x, y)
        }
        return (va, vb, pairs)
    }

    /// RQ1–RQ3 for both runs with intervals and B − A.
    public func rows() -> [Row] {
        var rows: [Row] = []
        func perFeatureRow(_ name: String, _ value: (FeatureReport) -> Double?) {
            let (va, vb, pairs) = perFeature(value)
            let (d, method) = Self.difference(va, vb, paired: pairs)
            rows.append(Row(name: name, a: Self.mean(va), b: Self.mean(vb), difference: d, method: method))
        }
        perFeatureRow("RQ1 stages per feature") { Double($0.stageCount) }
        perFeatureRow("explanation similarity (feature mean)") { Explorer.similarityStats($0).mean }
        perFeatureRow("robustness (onset of degradation)") { $0.robustness }
        // RQ2 at the magnitudes both runs share: each run's interval, the difference with the half-widths
        // combined as independent normal errors.
        let cb = Dictionary(b.summary.rq2.consistency.map { ($0.magnitude, $0) }, uniquingKeysWith: { x, _ in x })
        for pa in a.summary.rq2.consistency {
            guard let pb = cb[pa.magnitude] else { continue }
            let ea = Estimate(pa.mean, pa.ciLow, pa.ciHigh), eb = Estimate(pb.mean, pb.ciLow, pb.ciHigh)
            var d = Estimate(pb.mean - pa.mean)
            if let la = pa.ciLow, let ha = pa.ciHigh, let lb = pb.ciLow, let hb = pb.ciHigh {
                let half = (pow((ha - la) / 2, 2) + pow((hb - lb) / 2, 2)).squareRoot()
                d = Estimate(d.value, d.value - half, d.value + half)
            }
            rows.append(Row(name: "RQ2 consistency at magnitude \(Self.format(pa.magnitude))", a: ea, b: eb, difference: d,
                            method: "independent normal errors"))
        }
        // RQ3: Spearman ρ with each run's bootstrap interval; the difference's interval by Zou (2007) from them.
        let ra = a.summary.rq3, rb = b.summary.rq3
        let d = rb.spearmanRho - ra.spearmanRho
        let low = d - (pow(rb.spearmanRho - rb.ciLow, 2) + pow(ra.ciHigh - ra.spearmanRho, 2)).squareRoot()
        let high = d + (pow(rb.ciHigh - rb.spearmanRho, 2) + pow(ra.spearmanRho - ra.ciLow, 2)).squareRoot()
        rows.append(Row(name: "RQ3 Spearman ρ (sparsity vs robustness)", a: Estimate(ra.spearmanRho, ra.ciLow, ra.ciHigh),
                        b: Estimate(rb.spearmanRho, rb.ciLow, rb.ciHigh),
                        difference: low.isFinite && high.isFinite ? Estimate(d, low, high) : Estimate(d),
                        method: "Zou (2007) from the bootstrap intervals (independent samples)"))
        return rows
    }

    /// The run settings that differ (sweep name included).
    public func differingSettings() -> [Setting] {
        let x = a.run, y = b.run
        func list(_ v: [Double]) -> String { v.map(Self.format).joined(separator: ", ") }
        let pairs: [(String, String, String)] = [
            ("sweep", x.sweepName, y.sweepName), ("model", x.model, y.model), ("SAE", x.sae, y.sae), ("SAE format", x.saeSourceLine ?? "—", y.saeSourceLine ?? "—"),
            ("Neuronpedia id", x.neuronpediaId ?? "—", y.neuronpediaId ?? "—"), ("hook", x.hook, y.hook),
            ("magnitudes", list(x.magnitudes), list(y.magnitudes)), ("magnitude unit", x.magnitudeUnit, y.magnitudeUnit),
            ("method", x.method, y.method), ("positions", x.positions, y.positions),
            ("seeds", x.seeds.map(String.init).joined(separator: ", "), y.seeds.map(String.init).joined(separator: ", ")),
            ("prompts", String(x.promptCount), String(y.promptCount)),
            ("prompt texts", x.promptTexts == y.promptTexts ? "same" : "\(x.promptTexts?.count ?? 0) prompts",
             x.promptTexts == y.promptTexts ? "same" : "\(y.promptTexts?.count ?? 0) prompts (different texts)"),
            ("features with a page", String(a.features.count), String(b.features.count)),
            ("semprog version", x.semprogVersion, y.semprogVersion),
        ]
        return pairs.filter { $0.1 != $0.2 }.map { Setting(name: $0.0, a: $0.1, b: $0.2) }
    }

    static func format(_ v: Double) -> String {
        guard v.isFinite else { return "—" }
        return String(format: "%.4g", v)
    }

    static func format(_ e: Estimate) -> String {
        var s = format(e.value)
        if let l = e.low, let h = e.high, l.isFinite, h.isFinite { s += " [\(format(l)), \(format(h))]" }
        return s
    }

    // MARK: Curves

    /// The magnitude axis both runs share: their magnitudes when the units agree, else the step index (the
    /// runs' magnitudes then measure different things and are not put on one scale).
    func curveAxis() -> (label: String, xa: [Double], xb: [Double]) {
        if a.run.magnitudeUnit == b.run.magnitudeUnit {
            return ("magnitude (" + TextSanitizer.clean(a.run.magnitudeUnit, maxCharacters: 40, keepNewlines: false) + ")",
                    a.run.magnitudes, b.run.magnitudes)
        }
        let unitA = TextSanitizer.clean(a.run.magnitudeUnit, maxCharacters: 30, keepNewlines: false)
        let unitB = TextSanitizer.clean(b.run.magnitudeUnit, maxCharacters: 30, keepNewlines: false)
        return ("magnitude step (\(labels.0): \(unitA), \(labels.1): \(unitB))",
                a.run.magnitudes.indices.map(Double.init), b.run.magnitudes.indices.map(Double.init))
    }

    /// Mean over a run's features of the per-feature mean similarity to the explanation, per magnitude (NaN where
    /// no feature has a value).
    static func meanSimilarityCurve(_ d: ReportData) -> [Double] {
        d.run.magnitudes.indices.map { k in
            let v = d.features.compactMap { f in k < f.similarity.count ? f.similarity[k].mean : nil }.filter(\.isFinite)
            return v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count)
        }
    }

    /// Share of a run's cells (features × prompts) judged degraded, per magnitude (NaN where there are none).
    static func degradedShareCurve(_ d: ReportData) -> [Double] {
        d.run.magnitudes.indices.map { k in
            var n = 0, degraded = 0
            for f in d.features { for row in f.progression.degraded where k < row.count { n += 1; if row[k] { degraded += 1 } } }
            return n == 0 ? .nan : Double(degraded) / Double(n)
        }
    }

    /// Matched pairs drawn as small multiples (the first this many, in the order of `matches`).
    public static let maximumOverlaidPairs = 24

    /// The overlaid curves of compare.html: (1) both runs' mean similarity to the explanation and share of
    /// degraded cells vs magnitude; (2) for matched features, each pair's similarity curves in one panel.
    public func curveFigures() -> [StudyFigure] {
        let (label, xa, xb) = curveAxis()
        let ca = Palette.color(0), cb = Palette.color(1)
        func lines(_ ya: [Double], _ yb: [Double]) -> [PlotLayer] {
            [.line(LineSeries(x: xa, y: ya, label: labels.0, color: ca, markers: true)),
             .line(LineSeries(x: xb, y: yb, label: labels.1, color: cb, dashed: true, markers: true))]
        }
        var figures: [StudyFigure] = []
        let mean = Panel(title: "similarity to the explanation (mean over features)", x: Axis(label: label),
                         y: Axis(label: "cosine similarity"),
                         layers: lines(Self.meanSimilarityCurve(a), Self.meanSimilarityCurve(b)), legend: .insideTopRight)
        let degraded = Panel(title: "degraded outputs", x: Axis(label: label), y: Axis(label: "share of cells", range: 0...1),
                             layers: lines(Self.degradedShareCurve(a), Self.degradedShareCurve(b)), legend: .insideTopLeft)
        figures.append(StudyFigure(name: "compare-curves",
                                   caption: "Run \(labels.0) (solid) and run \(labels.1) (dashed): mean similarity of the generations to the "
                                       + "explanation and share of degraded outputs, per magnitude.",
                                   figure: Figure(width: 860, height: 300, title: "Both runs over magnitude",
                                                  panels: [mean, degraded], columns: 2)))
        let shown = matches.prefix(Self.maximumOverlaidPairs)
        if !shown.isEmpty {
            let panels = shown.enumerated().map { k, m -> Panel in
                let fa = a.features[m.0], fb = b.features[m.1]
                var title = fa.index == fb.index && matchSimilarities[k] == nil
                    ? "feature \(fa.index)" : "\(labels.0) \(fa.index) · \(labels.1) \(fb.index)"
                if let c = matchSimilarities[k] { title += String(format: " (cos %.2f)", c) }
                return Panel(title: title, x: Axis(label: label), y: Axis(label: "similarity"),
                             layers: lines(fa.similarity.map(\.mean), fb.similarity.map(\.mean)),
                             legend: k == 0 ? .insideTopRight : .none)
            }
            let columns = min(3, panels.count)
            let rows = (panels.count + columns - 1) / columns
            let more = matches.count > shown.count ? " (the first \(shown.count) of \(matches.count) pairs)" : ""
            figures.append(StudyFigure(name: "compare-matched-similarity",
                                       caption: "Matched features\(more): similarity to the explanation per magnitude, run \(labels.0) "
                                           + "solid, run \(labels.1) dashed.",
                                       figure: Figure(width: 300 * Double(columns), height: 40 + 210 * Double(rows),
                                                      title: "Matched features, overlaid", panels: panels, columns: columns)))
        }
        return figures
    }

    // MARK: Output

    /// compare.html: settings, RQ table and matched features (all text escaped; links to explorer.html).
    public func html() -> String {
        let (la, lb) = (Explorer.escapeHTML(labels.0), Explorer.escapeHTML(labels.1))
        func e(_ s: String) -> String { Explorer.escapeHTML(TextSanitizer.clean(s, maxCharacters: 2000, keepNewlines: false)) }
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="generator" content="semprog">
        <title>semprog comparison — \(e(a.run.sweepName)) vs \(e(b.run.sweepName))</title>
        <style>
        body { font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; color: #1d2330; margin: 16px 24px 48px; max-width: 72em; }
        table { border-collapse: collapse; margin: 8px 0 18px; }
        th, td { border-bottom: 1px solid #d5d9e0; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #f3f5f8; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .muted { color: #5b6475; }
        </style></head><body>
        <h1>semprog comparison</h1>
        <p>Run \(la): sweep <bdi>\(e(a.run.sweepName))</bdi> (\(e(a.run.model)), \(a.features.count) features) ·
        run \(lb): sweep <bdi>\(e(b.run.sweepName))</bdi> (\(e(b.run.model)), \(b.features.count) features).
        <a href="\(Explorer.fileName)">Open both runs in the explorer</a>.</p>
        <h2 id="settings">Settings that differ</h2>

        """
        let settings = differingSettings()
        if settings.isEmpty {
            h += "<p>None: the two runs have the same settings.</p>\n"
        } else {
            h += "<table><tr><th>setting</th><th>\(la)</th><th>\(lb)</th></tr>\n"
            for s in settings { h += "<tr><td>\(e(s.name))</td><td><bdi>\(e(s.a))</bdi></td><td><bdi>\(e(s.b))</bdi></td></tr>\n" }
            h += "</table>\n"
        }
        h += "<h2 id=\"rq\">RQ1–RQ3 side by side</h2>\n<p class=\"muted\">Estimates with 95 % intervals; the difference is \(lb) − \(la).</p>\n"
        h += "<table><tr><th>quantity</th><th>\(la)</th><th>\(lb)</th><th>\(lb) − \(la)</th><th>interval of the difference</th></tr>\n"
        for r in rows() {
            h += "<tr><td>\(e(r.name))</td><td class=\"num\">\(e(Self.format(r.a)))</td><td class=\"num\">\(e(Self.format(r.b)))</td>"
                + "<td class=\"num\">\(e(Self.format(r.difference)))</td><td class=\"muted\">\(e(r.method))</td></tr>\n"
        }
        h += "</table>\n<h2 id=\"features\">Features</h2>\n<p>Matched \(e(matching)).</p>\n"
        if !matches.isEmpty {
            let byExplanation = matchSimilarities.contains { $0 != nil }
            h += byExplanation
                ? "<table><tr><th>feature \(la)</th><th>feature \(lb)</th><th>cosine</th><th>explanation \(la)</th><th>explanation \(lb)</th>"
                : "<table><tr><th>feature</th><th>explanation</th>"
            h += "<th>stages \(la)</th><th>stages \(lb)</th><th>robustness \(la)</th><th>robustness \(lb)</th><th>mean sim. \(la)</th><th>mean sim. \(lb)</th></tr>\n"
            for (k, (i, j)) in matches.enumerated() {
                let fa = a.features[i], fb = b.features[j]
                let sa = Explorer.similarityStats(fa).mean, sb = Explorer.similarityStats(fb).mean
                if byExplanation {
                    h += "<tr><td class=\"num\">\(fa.index)</td><td class=\"num\">\(fb.index)</td>"
                        + "<td class=\"num\">\(matchSimilarities[k].map { String(format: "%.3f", $0) } ?? "—")</td>"
                        + "<td><bdi>\(e(fa.explanation))</bdi></td><td><bdi>\(e(fb.explanation))</bdi></td>"
                } else {
                    h += "<tr><td class=\"num\">\(fa.index)</td><td><bdi>\(e(fa.explanation))</bdi></td>"
                }
                h += "<td class=\"num\">\(fa.stageCount)</td><td class=\"num\">\(fb.stageCount)</td>"
                    + "<td class=\"num\">\(Self.format(fa.robustness))</td><td class=\"num\">\(Self.format(fb.robustness))</td>"
                    + "<td class=\"num\">\(sa.map(Self.format) ?? "—")</td><td class=\"num\">\(sb.map(Self.format) ?? "—")</td></tr>\n"
            }
            h += "</table>\n"
        }
        let figures = curveFigures()
        if !figures.isEmpty {
            h += "<h2 id=\"curves\">Curves, overlaid</h2>\n"
            for f in figures {
                h += "<figure><img src=\"figures/\(f.name).svg\" alt=\"\(e(f.caption))\"><figcaption>\(e(f.caption))</figcaption></figure>\n"
            }
        }
        h += "</body></html>\n"
        return h
    }

    /// Writes compare.html and explorer.html (both runs) into `folder` under the report folder rules (only files
    /// an earlier report or comparison wrote are replaced; see `ReportWriter.write(_:to:force:progress:)`).
    @discardableResult
    public func write(to folder: URL, force: Bool = false) throws -> [String] {
        try a.validate()
        try b.validate()
        let explorer = try Explorer.render(comparing: a, label: labels.0, with: b, label: labels.1, matches: matches)
        let page = html()
        let figures = curveFigures()
        var written: [String] = []
        try ReportWriter.writeFolder(folder, force: force) { temp in
            var files: [(String, Data)] = [("compare.html", Data(page.utf8)), (Explorer.fileName, Data(explorer.utf8))]
            for f in figures {
                do {
                    files.append(("figures/\(f.name).svg", try FigureRenderer.render(f.figure, as: .svg)))
                    files.append(("figures/\(f.name).png", try FigureRenderer.render(f.figure, as: .png, scale: 2)))
                } catch {
                    throw ReportError.figureFailed(name: f.name, reason: error.localizedDescription)
                }
            }
            if !figures.isEmpty {
                do {
                    try FileManager.default.createDirectory(at: temp.appendingPathComponent("figures"), withIntermediateDirectories: true)
                } catch {
                    throw ReportError.outputNotWritable(path: temp.appendingPathComponent("figures").path, reason: error.localizedDescription)
                }
            }
            for (name, data) in files {
                do { try data.write(to: temp.appendingPathComponent(name)) } catch {
                    throw ReportError.outputNotWritable(path: temp.appendingPathComponent(name).path, reason: error.localizedDescription)
                }
            }
            written = files.map(\.0)
            return written
        }
        return written
    }
}
