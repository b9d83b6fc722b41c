import Foundation
import Plotting

/// One feature's AxBench-style steering score curve (`semprog judge`), on the report's magnitude axis.
public struct SteeringScoreCurve: Codable, Sendable, Equatable {
    /// Mean aggregate score (harmonic mean of concept, instruction, fluency; 0–2) over prompts, one value per
    /// `RunMetadata.magnitudes` entry (nil where no output was scored).
    public var values: [Double?]
    /// Index into `RunMetadata.magnitudes` of the best factor (chosen on the selection prompts), when any.
    public var bestMagnitudeIndex: Int?
    /// The best factor's mean score on the held-out report prompts.
    public var bestScore: Double?
    /// The widest window of magnitudes whose mean score stays ≥ half the best, as indices into the magnitudes.
    public var windowLowIndex: Int?
    public var windowHighIndex: Int?

    public init(values: [Double?], bestMagnitudeIndex: Int? = nil, bestScore: Double? = nil, windowLowIndex: Int? = nil,
                windowHighIndex: Int? = nil) {
        self.values = values; self.bestMagnitudeIndex = bestMagnitudeIndex; self.bestScore = bestScore
        self.windowLowIndex = windowLowIndex; self.windowHighIndex = windowHighIndex
    }

    enum CodingKeys: String, CodingKey {
        case values, bestMagnitudeIndex = "best_magnitude_index", bestScore = "best_score"
        case windowLowIndex = "window_low_index", windowHighIndex = "window_high_index"
    }
}

/// The sweep's steering-score headline for the summary.
public struct SteeringScoreHeadline: Codable, Sendable, Equatable {
    /// "proxy" (offline) or "llm".
    public var judge: String
    /// True when the numbers come from the offline proxy: they are labelled "proxy" wherever they appear and are
    /// not comparable with AxBench's table.
    public var isProxy: Bool
    /// Mean over features of the best factor's score on the report prompts (0–2).
    public var meanBestScore: Double?
    public var selectionPromptCount: Int
    public var reportPromptCount: Int
    /// RQ3's second measure: Spearman ρ of log10 density vs the half-best score window, with its p-value and n.
    public var windowSpearmanRho: Double?
    public var windowPValue: Double?
    public var windowN: Int?

    public init(judge: String, isProxy: Bool, meanBestScore: Double?, selectionPromptCount: Int, reportPromptCount: Int,
                windowSpearmanRho: Double? = nil, windowPValue: Double? = nil, windowN: Int? = nil) {
        self.judge = judge; self.isProxy = isProxy; self.meanBestScore = meanBestScore
        self.selectionPromptCount = selectionPromptCount; self.reportPromptCount = reportPromptCount
        self.windowSpearmanRho = windowSpearmanRho; self.windowPValue = windowPValue; self.windowN = windowN
    }

    /// "proxy steering score" or "steering score (llm judge)".
    public var label: String { isProxy ? "proxy steering score" : "steering score (llm judge)" }

    enum CodingKeys: String, CodingKey {
        case judge, isProxy = "is_proxy", meanBestScore = "mean_best_score", selectionPromptCount = "selection_prompt_count"
        case reportPromptCount = "report_prompt_count", windowSpearmanRho = "window_spearman_rho"
        case windowPValue = "window_p_value", windowN = "window_n"
    }
}

extension StudyFigures {
    /// (h) The feature's steering score (mean over prompts, 0–2) against magnitude on the progression strip's axis
    /// (one column per magnitude, points at the cell centres, same ticks), the best factor marked by a vertical
    /// line and the half-best window's cells shaded; "proxy" in title, axis and caption unless an LLM judged. nil
    /// without scores.
    public static func steeringScore(_ f: FeatureReport, run: RunMetadata, headline: SteeringScoreHeadline?) -> StudyFigure? {
        guard let curve = f.steeringScore, curve.values.contains(where: { $0 != nil }) else { return nil }
        let label = headline?.label ?? "proxy steering score"
        let x = curve.values.indices.map { Double($0) + 0.5 }
        var layers: [PlotLayer] = []
        if let lo = curve.windowLowIndex, let hi = curve.windowHighIndex, lo <= hi {
            // The window's cells, edge to edge as on the strip (a one-magnitude window is one cell wide).
            layers.append(.band(Band(x: [Double(lo), Double(hi) + 1], lower: [0, 0], upper: [2, 2],
                                     color: Palette.color(2).withAlpha(0.15), label: "≥ half the best")))
        }
        layers.append(.line(LineSeries(x: x, y: curve.values.map { $0 ?? .nan }, label: "mean over prompts")))
        if let b = curve.bestMagnitudeIndex, run.magnitudes.indices.contains(b) {
            layers.append(.reference(ReferenceLine(.vertical, at: Double(b) + 0.5, color: Palette.color(3),
                                                   label: "best factor \(format(run.magnitudes[b]))"
                                                       + (curve.bestScore.map { ": \(format($0)) held out" } ?? ""))))
        }
        let panel = Panel(x: Axis(label: magnitudeLabel(run), range: 0...Double(max(curve.values.count, 1)),
                                  ticks: magnitudeTicks(run.magnitudes)),
                          y: Axis(label: label + " (0–2)", range: 0...2), layers: layers, legend: .insideTopRight)
        let capitalised = label.prefix(1).uppercased() + label.dropFirst()
        return StudyFigure(name: "feature-\(f.index)-steering-score",
                           caption: "(h) \(capitalised) of feature \(f.index) by magnitude (AxBench: harmonic mean of "
                               + "concept, instruction and fluency, 0–2); line = best factor, chosen on "
                               + "\(headline?.selectionPromptCount ?? 0) prompt(s) and scored on the other "
                               + "\(headline?.reportPromptCount ?? 0); shaded = the widest window at ≥ half the best.",
                           figure: Figure(width: 540, height: 250, title: "Feature \(f.index): \(label)", panels: [panel]))
    }
}
