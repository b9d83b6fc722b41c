import Foundation
import Plotting

/// `explorer.html`: one self-contained page (inline CSS, JavaScript and data; no network, no framework) to browse
/// a study: a sortable, filterable feature table and, per feature, the prompts × magnitudes grid with every stored
/// output, pinned beside the baseline and the neighbouring magnitude with a word-level diff, the stages and the
/// similarity and degradation curves.
///
/// Safety: the data goes into a `<script type="application/json">` element with every `<` written as `\u003c`
/// (so `</script>` or `<!--` in model text cannot end the element), and the page inserts all text from the data
/// with `textContent`, never as markup.
public enum Explorer {
    /// File name of the explorer inside a report folder.
    public static let fileName = "explorer.html"

    /// The compact data the page reads (arrays aligned with `run.magnitudes`).
    struct Model: Encodable {
        struct Run: Encodable {
            var label: String
            var sweep: String, model: String, sae: String, hook: String, unit: String, method: String
            var magnitudes: [Double]
            var neuronpedia: String?
            var promptTexts: [String]?
            var baselines: [String]?
            var date: String
            enum CodingKeys: String, CodingKey {
                case label, sweep, model, sae, hook, unit, method, magnitudes, neuronpedia, promptTexts = "prompt_texts"
                case baselines, date
            }
        }
        struct Stage: Encodable { var lo: Double, hi: Double, label: String }
        struct Metric: Encodable { var name: String, values: [Double?] }
        struct Feature: Encodable {
            /// Position of the feature's run in `runs`.
            var run: Int
            /// Position in `features` of the same feature in the other run (comparisons), if matched.
            var match: Int?
            var index: Int, explanation: String
            var density: Double, log10Density: Double, maxActivation: Double, robustness: Double
            var stageCount: Int
            var meanSimilarity: Double?, peakSimilarity: Double?, onsetSpread: Double?
            var stages: [Stage]
            var prompts: [String]
            var stageIds: [[Int]]
            /// 1 where degraded (shorter than booleans).
            var degraded: [[Int]]
            var onsets: [Int?]
            var similarity: [Double?], similarityLow: [Double?], similarityHigh: [Double?]
            var metrics: [Metric]
            var outputs: [[String?]]
            enum CodingKeys: String, CodingKey {
                case run, match, index, explanation, density, log10Density = "log10_density", maxActivation = "max_activation"
                case robustness, stageCount = "stage_count", meanSimilarity = "mean_similarity"
                case peakSimilarity = "peak_similarity", onsetSpread = "onset_spread", stages, prompts
                case stageIds = "stage_ids", degraded, onsets, similarity, similarityLow = "similarity_low"
                case similarityHigh = "similarity_high", metrics, outputs
            }
        }
        var version = 1
        var runs: [Run]
        var features: [Feature]
    }

    /// Mean and peak of a feature's per-magnitude similarity means (nil without similarity).
    public static func similarityStats(_ f: FeatureReport) -> (mean: Double?, peak: Double?) {
        let values = f.similarity.map(\.mean).filter(\.isFinite)
        guard !values.isEmpty else { return (nil, nil) }
        return (values.reduce(0, +) / Double(values.count), values.max())
    }

    /// Onset spread: largest minus smallest degradation-onset magnitude over the prompts that degrade (in the
    /// run's magnitude unit); nil when no prompt degrades.
    public static func onsetSpread(_ f: FeatureReport, magnitudes: [Double]) -> Double? {
        let onsets = f.progression.onsetMagnitudeIndex.compactMap { $0 }.filter { magnitudes.indices.contains($0) }
            .map { magnitudes[$0] }
        guard let lo = onsets.min(), let hi = onsets.max() else { return nil }
        return hi - lo
    }

    static func model(_ d: ReportData) -> Model { model(runs: [("A", d)], matches: []) }

    /// One or more runs in one explorer; `matches` pairs (run 0 feature position, run 1 feature position).
    static func model(runs: [(label: String, data: ReportData)], matches: [(Int, Int)]) -> Model {
        var features: [Model.Feature] = []
        var offsets: [Int] = []
        for (ri, run) in runs.enumerated() {
            offsets.append(features.count)
            features += featureModels(run.data, run: ri)
        }
        if runs.count > 1 {
            for (a, b) in matches {
                features[offsets[0] + a].match = offsets[1] + b
                features[offsets[1] + b].match = offsets[0] + a
            }
        }
        return Model(runs: runs.map { label, d in
            let r = d.run
            return Model.Run(label: label, sweep: r.sweepName, model: r.model, sae: r.sae, hook: r.hook, unit: r.magnitudeUnit,
                             method: r.method, magnitudes: r.magnitudes, neuronpedia: r.neuronpediaId,
                             promptTexts: r.promptTexts, baselines: r.baselines, date: r.runDate)
        }, features: features)
    }

    static func featureModels(_ d: ReportData, run: Int) -> [Model.Feature] {
        let m = d.run.magnitudes
        return d.features.map { f -> Model.Feature in
            let (mean, peak) = similarityStats(f)
            var sim = [Double?](repeating: nil, count: m.count)
            var low = sim, high = sim
            for p in f.similarity {
                guard let c = m.firstIndex(of: p.magnitude) else { continue }
                sim[c] = p.mean.isFinite ? p.mean : nil
                low[c] = p.ciLow.flatMap { $0.isFinite ? $0 : nil }
                high[c] = p.ciHigh.flatMap { $0.isFinite ? $0 : nil }
            }
            let rows = f.progression.prompts.count
            let outputs = f.outputs ?? Array(repeating: Array(repeating: nil, count: m.count), count: rows)
            return Model.Feature(
                run: run, match: nil, index: f.index, explanation: f.explanation, density: pow(10, f.log10Density),
                log10Density: f.log10Density, maxActivation: f.maxActivation, robustness: f.robustness,
                stageCount: f.stageCount, meanSimilarity: mean, peakSimilarity: peak,
                onsetSpread: onsetSpread(f, magnitudes: m),
                stages: f.stages.map { Model.Stage(lo: $0.magnitudeLow, hi: $0.magnitudeHigh, label: $0.label) },
                prompts: f.progression.prompts, stageIds: f.progression.stageIds,
                degraded: f.progression.degraded.map { $0.map { $0 ? 1 : 0 } },
                onsets: f.progression.onsetMagnitudeIndex, similarity: sim, similarityLow: low, similarityHigh: high,
                metrics: f.degradation.map { Model.Metric(name: $0.name, values: $0.values.map { v in v.flatMap { $0.isFinite ? $0 : nil } }) },
                outputs: outputs)
        }
    }

    /// The data as JSON safe to embed in a `<script>` element: sorted keys (stable bytes), and `<`, U+2028 and
    /// U+2029 written as `\u` escapes (JSON's escape syntax, so the value is unchanged).
    static func embeddedJSON(_ model: Model) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try e.encode(model) } catch {
            throw ReportError.invalidData(field: "explorer", reason: error.localizedDescription)
        }
        var out = [UInt8]()
        out.reserveCapacity(data.count + data.count / 50)
        let lt = Array("\\u003c".utf8), ls = Array("\\u2028".utf8), ps = Array("\\u2029".utf8)
        var i = data.startIndex
        while i < data.endIndex {
            let b = data[i]
            if b == UInt8(ascii: "<") {
                out += lt
            } else if b == 0xE2, i + 2 < data.endIndex, data[i + 1] == 0x80, data[i + 2] == 0xA8 || data[i + 2] == 0xA9 {
                out += data[i + 2] == 0xA8 ? ls : ps
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The complete page for `d`.
    public static func render(_ d: ReportData) throws -> String {
        try render(model(d), title: d.run.sweepName)
    }

    /// One explorer for two runs (`semprog compare`): both runs' features in one table (a "run" column), matched
    /// features linked to each other. `matches` are pairs of positions in `a.features` and `b.features`.
    public static func render(comparing a: ReportData, label la: String, with b: ReportData, label lb: String,
                              matches: [(Int, Int)]) throws -> String {
        try render(model(runs: [(la, a), (lb, b)], matches: matches), title: "\(a.run.sweepName) vs \(b.run.sweepName)")
    }

    static func render(_ model: Model, title name: String) throws -> String {
        let json = try embeddedJSON(model)
        let title = "semprog explorer — " + escapeHTML(TextSanitizer.clean(name, maxCharacters: 200, keepNewlines: false))
        return ExplorerPage.head(title: title) + "<script type=\"application/json\" id=\"explorer-data\">" + json
            + "</script>\n<script>\n" + ExplorerPage.script + "\n</script>\n</body>\n</html>\n"
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
