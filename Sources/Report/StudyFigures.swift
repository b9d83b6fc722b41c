import Foundation
import Plotting
import Units

/// Formats a number with `digits` significant digits ("%.3g"), "—" for nil or non-finite.
func format(_ v: Double?, digits: Int = 3) -> String {
    guard let v, v.isFinite else { return "—" }
    return String(format: "%.\(digits)g", v)
}

/// A figure of the study with its file stem and caption.
public struct StudyFigure: Sendable {
    /// File name without extension, e.g. "feature-1037-progression".
    public var name: String
    public var caption: String
    public var figure: Figure
}

/// The figures (a)–(f) of the study, built from `ReportData`.
public enum StudyFigures {
    /// Labels for the magnitude axis: at most `maxLabels` evenly spaced, at cell centres.
    static func magnitudeTicks(_ magnitudes: [Double], maxLabels: Int = 10) -> [Tick] {
        let stride = max(1, (magnitudes.count + maxLabels - 1) / maxLabels)
        return magnitudes.indices.filter { $0 % stride == 0 }.map { Tick(Double($0) + 0.5, format(magnitudes[$0])) }
    }

    /// "magnitude (× max activation)", "magnitude (activation)", "magnitude (scale factor)": the unit's axis
    /// label (`MagnitudeUnit.axisLabel`; a report stores either it or a unit's CLI name), else the stored text.
    static func magnitudeLabel(_ run: RunMetadata) -> String {
        "magnitude (" + TextSanitizer.clean(unitLabel(run.magnitudeUnit), maxCharacters: 40, keepNewlines: false) + ")"
    }

    /// The axis label of a stored unit text (an axis label or a CLI name), else the text itself.
    static func unitLabel(_ stored: String) -> String {
        (MagnitudeUnit(axisLabel: stored) ?? MagnitudeUnit(parsing: stored))?.axisLabel ?? stored
    }

    /// The RQ3 robustness axis: "robustness (last fluent magnitude, × max activation)", or the unit robustness
    /// is kept in ("scale factor" for scale sweeps; the sweep's units when no max activation is known).
    static func robustnessLabel(_ unit: String?) -> String {
        let u = unit.map { stored in stored == "max_activation" ? MagnitudeUnit.maxActivation.axisLabel : stored }
        return "robustness (last fluent magnitude, " + short(u ?? MagnitudeUnit.maxActivation.comparisonLabel, 40) + ")"
    }

    static func short(_ s: String, _ n: Int) -> String { TextSanitizer.clean(s, maxCharacters: n, keepNewlines: false) }

    /// (a) Progression strip: prompts (rows) × magnitudes (columns) coloured by stage, degraded cells hatched,
    /// the degradation onset of each prompt marked by a black bar at the left edge of its first degraded cell.
    public static func progression(_ f: FeatureReport, run: RunMetadata) -> StudyFigure {
        let p = f.progression
        let rows = p.prompts.count
        let values = p.stageIds.map { $0.map { $0 < 0 ? Double.nan : Double($0) } }
        let names = f.stages.enumerated().map { "S\($0.offset + 1): " + short($0.element.label, 24) }
        let heat = Heatmap(values: values,
                           colouring: .categorical(colors: f.stages.indices.map { Palette.color($0) }, names: names),
                           hatched: p.degraded, hatchLabel: "degraded",
                           markers: p.onsetMagnitudeIndex.enumerated().compactMap { r, o in
                               o.map { CellMarker(row: r, column: Double($0)) } },
                           markerLabel: "onset")
        let rowStride = max(1, (rows + 24) / 25)
        let yTicks = (0..<rows).filter { $0 % rowStride == 0 }.map { Tick(Double($0) + 0.5, short(p.prompts[$0], 18)) }
        let panel = Panel(x: Axis(label: magnitudeLabel(run), ticks: magnitudeTicks(run.magnitudes)),
                          y: Axis(label: "prompt", ticks: yTicks, inverted: true),
                          layers: [.heatmap(heat)], legend: .right, grid: false)
        let height = min(560, 90 + 13 * Double(max(rows, 4)))
        return StudyFigure(name: "feature-\(f.index)-progression",
                           caption: "(a) Progression strip of feature \(f.index): stage per prompt and magnitude; hatched = degraded, bar = onset.",
                           figure: Figure(width: 540, height: height, title: "Feature \(f.index): stages by prompt and magnitude",
                                          panels: [panel]))
    }

    /// (b) Similarity of generations to the explanation vs magnitude: mean over prompts with its CI band.
    public static func similarity(_ f: FeatureReport, run: RunMetadata) -> StudyFigure {
        let x = f.similarity.map(\.magnitude)
        var layers: [PlotLayer] = []
        if f.similarity.contains(where: { $0.ciLow != nil && $0.ciHigh != nil }) {
            layers.append(.band(Band(x: x, lower: f.similarity.map { $0.ciLow ?? .nan },
                                     upper: f.similarity.map { $0.ciHigh ?? .nan }, label: "95% CI")))
        }
        layers.append(.line(LineSeries(x: x, y: f.similarity.map(\.mean), label: "mean over prompts")))
        let panel = Panel(x: Axis(label: magnitudeLabel(run)), y: Axis(label: "cosine similarity"),
                          layers: layers, legend: .insideTopRight)
        return StudyFigure(name: "feature-\(f.index)-similarity",
                           caption: "(b) Similarity of feature \(f.index)'s generations to its explanation (mean ± CI over prompts).",
                           figure: Figure(width: 420, height: 260, title: "Feature \(f.index): similarity to explanation",
                                          panels: [panel]))
    }

    /// (f) Degradation metrics vs magnitude, one small multiple per metric.
    public static func degradation(_ f: FeatureReport, run: RunMetadata) -> StudyFigure {
        let panels = f.degradation.enumerated().map { i, m in
            Panel(title: short(m.name, 40), x: Axis(label: magnitudeLabel(run)), y: Axis(),
                  layers: [.line(LineSeries(x: run.magnitudes, y: m.values.map { $0 ?? .nan }, color: Palette.color(i + 1),
                                            width: 1.3))])
        }
        let cols = min(max(panels.count, 1), 3)
        let rows = (panels.count + cols - 1) / max(cols, 1)
        let fallback = [Panel(title: "no degradation metrics", layers: [])]
        return StudyFigure(name: "feature-\(f.index)-degradation",
                           caption: "(f) Degradation metrics of feature \(f.index) vs magnitude.",
                           figure: Figure(width: 540, height: 40 + 170 * Double(max(rows, 1)),
                                          title: "Feature \(f.index): degradation vs magnitude",
                                          panels: panels.isEmpty ? fallback : panels, columns: cols))
    }

    /// (c) RQ1: distribution of stage counts over features, next to the mean stage count vs segmentation penalty.
    public static func stageCounts(_ d: ReportData) -> StudyFigure {
        let rq1 = d.summary.rq1
        let hist = Panel(title: "stage counts", x: Axis(label: "stages per feature"), y: Axis(label: "features"),
                         layers: [.histogram(Histogram.integers(d.features.map(\.stageCount))),
                                  .reference(ReferenceLine(.vertical, at: rq1.meanStageCount, color: Palette.color(3),
                                                           label: "mean \(format(rq1.meanStageCount))"))],
                         legend: .insideTopRight)
        let sens = rq1.penaltySensitivity
        let curve = Panel(title: "penalty sensitivity", x: Axis(label: "segmentation penalty"),
                          y: Axis(label: "mean stage count"),
                          layers: [.line(LineSeries(x: sens.map(\.penalty), y: sens.map(\.meanStageCount), color: Palette.color(1))),
                                   .reference(ReferenceLine(.vertical, at: rq1.penalty, label: "chosen \(format(rq1.penalty))"))],
                          legend: .insideTopRight)
        return StudyFigure(name: "rq1-stage-counts",
                           caption: "(c) RQ1: distribution of stage counts and sensitivity of the mean to the segmentation penalty.",
                           figure: Figure(width: 540, height: 250, title: "RQ1: stages per feature (mean \(format(rq1.meanStageCount)))",
                                          panels: [hist, curve], columns: 2))
    }

    /// (d) RQ2: consistency of stages across prompts vs magnitude.
    public static func consistency(_ d: ReportData) -> StudyFigure {
        let c = d.summary.rq2.consistency
        var layers: [PlotLayer] = []
        if c.contains(where: { $0.ciLow != nil }) {
            layers.append(.band(Band(x: c.map(\.magnitude), lower: c.map { $0.ciLow ?? .nan },
                                     upper: c.map { $0.ciHigh ?? .nan }, color: Palette.color(2).withAlpha(0.22),
                                     label: "95% CI")))
        }
        layers.append(.line(LineSeries(x: c.map(\.magnitude), y: c.map(\.mean), label: "consistency", color: Palette.color(2))))
        return StudyFigure(name: "rq2-consistency", caption: "(d) RQ2: consistency of stages across prompts vs magnitude.",
                           figure: Figure(width: 540, height: 250, title: "RQ2: consistency across prompts",
                                          panels: [Panel(x: Axis(label: magnitudeLabel(d.run)), y: Axis(label: "consistency"),
                                                         layers: layers, legend: .insideTopRight)]))
    }

    /// (e) RQ3: sparsity (log10 density) vs robustness, with ρ, p and CI in the title and a trend line.
    public static func sparsityRobustness(_ d: ReportData) -> StudyFigure {
        let r = d.summary.rq3
        let title = "RQ3: ρ = \(format(r.spearmanRho)) [\(format(r.ciLow)), \(format(r.ciHigh))], p = \(format(r.pValue)), n = \(r.n)"
        let panel = Panel(x: Axis(label: "log10 activation density"), y: Axis(label: robustnessLabel(r.robustnessUnit)),
                          layers: [.scatter(ScatterSeries(x: r.points.map(\.log10Density), y: r.points.map(\.robustness),
                                                          trendLine: true))],
                          annotation: "Kendall τ = \(format(r.kendallTau)), permutation p = \(format(r.permutationPValue))")
        return StudyFigure(name: "rq3-sparsity-robustness",
                           caption: "(e) RQ3: sparsity vs robustness per feature, with least-squares trend.",
                           figure: Figure(width: 540, height: 300, title: title, panels: [panel]))
    }

    /// (g) Output score (Arad et al. 2025) against robustness and against stage count, when features were
    /// screened (nil otherwise).
    public static func outputScores(_ d: ReportData) -> StudyFigure? {
        let scored = d.features.filter { $0.outputScore?.isFinite ?? false }
        guard !scored.isEmpty else { return nil }
        let x = scored.map { $0.outputScore! }
        let robustness = Panel(x: Axis(label: "output score"), y: Axis(label: robustnessLabel(d.summary.rq3.robustnessUnit)),
                               layers: [.scatter(ScatterSeries(x: x, y: scored.map(\.robustness), trendLine: scored.count > 2))])
        let stages = Panel(x: Axis(label: "output score"), y: Axis(label: "stages"),
                           layers: [.scatter(ScatterSeries(x: x, y: scored.map { Double($0.stageCount) }, trendLine: scored.count > 2))])
        return StudyFigure(name: "output-score",
                           caption: "(g) Output score (Arad et al. 2025, semprog screen) against robustness and stage count, n = \(scored.count).",
                           figure: Figure(width: 640, height: 280, title: "Do features that steer the output last longer?",
                                          panels: [robustness, stages], columns: 2))
    }

    /// The study-wide figures that come before the per-feature ones.
    public static func studyWide(_ d: ReportData) -> [StudyFigure] {
        [stageCounts(d), consistency(d), sparsityRobustness(d)] + (outputScores(d).map { [$0] } ?? [])
    }

    /// All figures: the study-wide ones (`studyWide`), then (a), (b), (f) for each feature, and (h) its steering
    /// score when the sweep was judged (`perFeature`).
    public static func all(_ d: ReportData) -> [StudyFigure] {
        studyWide(d) + d.features.flatMap { perFeature($0, d) }
    }

    /// The figures of one feature's page, in order.
    public static func perFeature(_ f: FeatureReport, _ d: ReportData) -> [StudyFigure] {
        [progression(f, run: d.run), similarity(f, run: d.run), degradation(f, run: d.run)]
            + (steeringScore(f, run: d.run, headline: d.summary.steering).map { [$0] } ?? [])
    }
}
