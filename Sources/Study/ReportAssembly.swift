import Analysis
import Foundation
import Report
import SparseAutoencoder
import Store
import Units

/// Fills `ReportData` from the database only: the analysis tables written by `semprog analyze` (no statistic is
/// recomputed; per-magnitude series are means over the stored per-generation rows with a t-interval).
///
/// Mapping choices:
/// - Stages are segmented per (feature, prompt); a feature page lists its stages by ordinal (stage 1, 2, …): the
///   magnitude range is the median over prompts of that ordinal's start and end (a union of the prompts'
///   ranges would overlap the next stage's), label and example come from the first prompt (lowest id) that has
///   it with a fluent example (examples are never degraded outputs). The progression strip colours each cell by its stage ordinal.
/// - Similarity vs magnitude uses the description–explanation cosine when the analysis used descriptions,
///   otherwise the output–explanation cosine (the analysis summary's `similarity_basis`).
/// - Features without a sparsity (no fraction_nonzero) get no page (the report needs a finite log10 density);
///   they are returned in `omitted` so the CLI can say so.
public enum ReportAssembly {
    public struct Result {
        public var data: ReportData
        /// Feature indices left without a page, with the reason.
        public var omitted: [(feature: Int, reason: String)]
        public var warnings: [String]
    }

    /// Median (mean of the two middle values for an even count); the values must not be empty.
    public static func median(_ values: [Double]) -> Double {
        let v = values.sorted()
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    public static func reportData(store: StoreDatabase, sweepName: String?, databasePath: String,
                           featureSelection: String? = nil) throws -> Result {
        let contents = try store.sweepContents(sweepName)
        let outputScores = try (contents.sae?.id).map { try store.featureScores(saeId: $0) } ?? [:]
        let sweep = contents.sweep
        let stored = try store.storedAnalysis(sweepId: sweep.id!)
        let command = "semprog analyze --db \(databasePath)" + (sweepName.map { " --sweep \($0)" } ?? "")
        guard !stored.isEmpty, !stored.featureSummaries.isEmpty else {
            throw ReportError.notAnalysed(sweep: sweep.name, command: command)
        }
        let summary = stored.statistics["summary_json"]?.detail.flatMap(AnalysisRunSummary.decode)
        var warnings: [String] = []
        func statistic(_ name: String) -> Double? { stored.statistics[name]?.value }

        let magnitudes = Array(Set(contents.generations.map(\.magnitude))).sorted()
        let magnitudeIndex = Dictionary(uniqueKeysWithValues: magnitudes.enumerated().map { ($1, $0) })
        let promptIds = Array(Set(contents.generations.map(\.promptId))).sorted()
        let promptRow = Dictionary(uniqueKeysWithValues: promptIds.enumerated().map { ($1, $0) })
        let useDescriptions = summary?.similarityBasis == "description"
        // Steering scores (`semprog judge`), when the sweep was judged: per-feature curves and the headline.
        let steering = try JudgeRun.reportSteering(store: store, contents: contents, magnitudes: magnitudes)

        // Run metadata.
        let unit = AnalysisPipeline.magnitudeUnit(of: sweep)
        let settings = try? sweep.settings()
        let penalty = summary?.stagePenalty ?? statistic("stage_penalty") ?? .nan
        var method = "steering method \(sweep.method); stages: optimal partitioning of all-MiniLM-L6-v2 embeddings, penalty \(format(penalty))"
        if let d = summary?.describer { method += "; descriptions: \(d)" }
        let iso = ISO8601DateFormatter()
        iso.timeZone = TimeZone(identifier: "UTC")
        let run = RunMetadata(
            sweepName: sweep.name,
            model: displayPath(contents.model?.path ?? settings?.model ?? "unknown"),
            sae: displayPath((contents.sae?.path).flatMap { $0.isEmpty ? nil : $0 } ?? settings?.sae ?? "unknown"),
            // The hook the sweep steered (its settings; `--hook` may differ from the SAE's own), else the SAE's.
            hook: settings?.extra["hook"] ?? (contents.sae?.hook).flatMap { $0.isEmpty ? nil : $0 } ?? "unknown",
            magnitudes: magnitudes, magnitudeUnit: unit.axisLabel,
            method: method, positions: sweep.positions, seeds: [UInt64(bitPattern: sweep.seed)],
            promptCount: promptIds.count, semprogVersion: SemprogVersion.current, runDate: iso.string(from: sweep.createdAt),
            neuronpediaId: (contents.sae?.neuronpediaId).flatMap { $0.isEmpty ? nil : $0 },
            promptTexts: promptIds.map { contents.prompts[$0] ?? "#\($0)" },
            baselines: {
                let byPrompt = Dictionary(contents.baselines.map { ($0.promptId, $0.text) }, uniquingKeysWith: { a, _ in a })
                let texts = promptIds.map { byPrompt[$0] }
                return texts.contains(nil) ? nil : texts.map { $0! }
            }(),
            featureSelection: featureSelection,
            saeFormat: (contents.sae?.format).flatMap { $0.isEmpty ? nil : (SAEFormat(rawValue: $0)?.title ?? $0) },
            saeRelease: contents.sae?.release)

        // Per-generation rows by feature.
        var generationsByFeature: [Int: [GenerationRecord]] = [:]
        for g in contents.generations { generationsByFeature[g.featureIndex, default: []].append(g) }
        var stagesByFeature: [Int: [Int64: [StageRecord]]] = [:]
        for s in stored.stages { stagesByFeature[s.featureIndex, default: [:]][s.promptId, default: []].append(s) }
        var onsetsByFeature: [Int: [Int64: OnsetRecord]] = [:]
        for o in stored.onsets { onsetsByFeature[o.featureIndex, default: [:]][o.promptId] = o }

        var pages: [FeatureReport] = []
        var omitted: [(Int, String)] = []
        for fs in stored.featureSummaries {
            let index = fs.featureIndex
            guard let density = fs.log10Density, density.isFinite else {
                omitted.append((index, "left out of RQ3 (no fraction_nonzero in (0, 1], or no max activation)")); continue
            }
            guard let robustness = fs.robustness, robustness.isFinite else {
                omitted.append((index, "no robustness")); continue
            }
            let generations = generationsByFeature[index] ?? []
            let stagesByPrompt = stagesByFeature[index] ?? [:]

            // Feature stages by ordinal.
            let ordinalCount = stagesByPrompt.values.map(\.count).max() ?? 0
            var stages: [StageReport] = []
            for k in 0..<ordinalCount {
                let members = promptIds.compactMap { p in stagesByPrompt[p]?.first { $0.stageIndex == k } }
                guard let first = members.first else { continue }
                // The median range over the prompts that have this stage (a union would overlap the next
                // stage's); label and example from the first prompt with a fluent example.
                let shown = members.first { !$0.exampleText.isEmpty } ?? first
                stages.append(StageReport(magnitudeLow: Self.median(members.map(\.startMagnitude)),
                                          magnitudeHigh: Self.median(members.map(\.endMagnitude)),
                                          label: shown.label, exampleOutput: shown.exampleText))
            }

            // Progression strip.
            var stageIds = Array(repeating: Array(repeating: -1, count: magnitudes.count), count: promptIds.count)
            var degraded = Array(repeating: Array(repeating: false, count: magnitudes.count), count: promptIds.count)
            var outputs = Array(repeating: Array(repeating: String?.none, count: magnitudes.count), count: promptIds.count)
            for g in generations {
                guard let r = promptRow[g.promptId], let c = magnitudeIndex[g.magnitude] else { continue }
                if outputs[r][c] == nil { outputs[r][c] = g.text }
                degraded[r][c] = stored.metrics[g.id!]?.degraded ?? false
                if let s = stagesByPrompt[g.promptId]?.first(where: { $0.startMagnitude <= g.magnitude && g.magnitude <= $0.endMagnitude }),
                   s.stageIndex < stages.count {
                    stageIds[r][c] = s.stageIndex
                }
            }
            let onsets: [Int?] = promptIds.map { p in
                (onsetsByFeature[index]?[p]?.onsetMagnitude).flatMap { magnitudeIndex[$0] }
            }
            let progression = ProgressionStrip(prompts: promptIds.map { AnalysisPipeline.preview(contents.prompts[$0] ?? "#\($0)", limit: 28) },
                                               stageIds: stageIds, degraded: degraded, onsetMagnitudeIndex: onsets)

            // Similarity and degradation per magnitude.
            var cosines: [Int: [Double]] = [:]
            var metricValues: [String: [Int: [Double]]] = [:]
            for g in generations {
                guard let c = magnitudeIndex[g.magnitude] else { continue }
                if let s = stored.similarities[g.id!], let v = useDescriptions ? (s.descriptionCosine ?? nil) : s.outputCosine {
                    cosines[c, default: []].append(v)
                }
                if let m = stored.metrics[g.id!] {
                    var pairs: [(String, Double)] = [("distinct-1", m.distinct1), ("distinct-2", m.distinct2),
                                                     ("longest repeat share", m.repeatedNgramShare),
                                                     ("compression ratio", m.compressionRatio), ("non-word share", m.nonwordShare),
                                                     ("degradation score", m.degradationScore)]
                    if let p = m.perplexity { pairs.append(("log10 perplexity", log10(p))) }
                    for (name, v) in pairs where v.isFinite { metricValues[name, default: [:]][c, default: []].append(v) }
                }
            }
            let similarity = magnitudes.indices.compactMap { c -> IntervalPoint? in
                guard let values = cosines[c], !values.isEmpty else { return nil }
                let (mean, low, high) = meanInterval(values)
                return IntervalPoint(magnitude: magnitudes[c], mean: mean, ciLow: low, ciHigh: high)
            }
            let metricOrder = ["degradation score", "distinct-1", "distinct-2", "longest repeat share", "compression ratio",
                               "non-word share", "log10 perplexity"]
            let degradation = metricOrder.compactMap { name -> MetricSeries? in
                guard let byMagnitude = metricValues[name] else { return nil }
                return MetricSeries(name: name, values: magnitudes.indices.map { c in byMagnitude[c].map { meanInterval($0).mean } })
            }

            pages.append(FeatureReport(
                index: index, explanation: fs.explanation ?? "(no explanation)",
                maxActivation: contents.features[index]?.maxActivation ?? (unit.isRelative ? 1 : 0),
                log10Density: density, robustness: robustness, stageCount: Int(fs.stageCount.rounded()),
                stages: stages, progression: progression, similarity: similarity, degradation: degradation,
                outputs: outputs, outputScore: outputScores[index]?.outputScore, steeringScore: steering.curves[index]))
        }

        // RQ2: consistency per magnitude over features.
        var consistencyByMagnitude: [Double: [Double]] = [:]
        for c in stored.consistency where c.adjusted.isFinite { consistencyByMagnitude[c.magnitude, default: []].append(c.adjusted) }
        let rq2 = consistencyByMagnitude.keys.sorted().map { m -> IntervalPoint in
            let (mean, low, high) = meanInterval(consistencyByMagnitude[m]!)
            return IntervalPoint(magnitude: m, mean: mean, ciLow: low, ciHigh: high)
        }

        // RQ3 from the stored analysis summary (the analysis's `RankCorrelationSummary`), else the statistics rows
        // of older databases. The scatter shows exactly the features ρ used.
        let rq3Set = summary?.rq3Features.map(Set.init)
        let points = stored.featureSummaries.compactMap { fs -> SparsityRobustnessPoint? in
            guard let d = fs.log10Density, let r = fs.robustness, d.isFinite, r.isFinite,
                  rq3Set?.contains(fs.featureIndex) ?? true else { return nil }
            return SparsityRobustnessPoint(featureIndex: fs.featureIndex, log10Density: d, robustness: r)
        }
        let rq3: SparsityRobustnessSummary
        if let c = summary?.sparsityVsRobustness {
            rq3 = SparsityRobustnessSummary(
                spearmanRho: c.rho ?? .nan, pValue: c.pValue ?? .nan, permutationPValue: c.pPermutation ?? .nan,
                ciLow: c.ciLow ?? .nan, ciHigh: c.ciHigh ?? .nan, n: c.n, kendallTau: c.kendallTau ?? .nan, points: points,
                robustnessUnit: Self.robustnessUnit(summary?.robustnessUnits))
        } else {
            rq3 = SparsityRobustnessSummary(
                spearmanRho: statistic("rq3_rho") ?? .nan, pValue: statistic("rq3_p_value") ?? .nan,
                permutationPValue: statistic("rq3_p_permutation") ?? .nan, ciLow: statistic("rq3_ci_low") ?? .nan,
                ciHigh: statistic("rq3_ci_high") ?? .nan, n: Int(statistic("rq3_n") ?? Double(points.count)),
                kendallTau: statistic("rq3_kendall_tau") ?? .nan, points: points)
        }
        if points.count != rq3.n {
            warnings.append("RQ3: the scatter has \(points.count) point(s) but ρ was computed over \(rq3.n) feature(s)")
        }

        var similarityMean = statistic("mean_explanation_similarity")
        if similarityMean == nil {
            warnings.append("no feature has an embedded explanation: the report shows a mean explanation similarity of 0")
            similarityMean = 0
        }
        let rq1 = StageCountSummary(
            meanStageCount: statistic("mean_stage_count") ?? summary?.meanStageCount ?? .nan, penalty: penalty,
            penaltySensitivity: stored.penaltySensitivity.map { PenaltyPoint(penalty: $0.penalty, meanStageCount: $0.meanStageCount) })
        let data = ReportData(run: run,
                              summary: StudySummary(rq1: rq1, meanExplanationSimilarity: similarityMean!,
                                                    rq2: ConsistencySummary(consistency: rq2), rq3: rq3,
                                                    steering: steering.headline),
                              features: pages)
        return Result(data: data, omitted: omitted, warnings: warnings)
    }

    /// Mean of `values` with a 95 % Student-t interval mean ± t₀.₉₇₅,ₙ₋₁ · s/√n (nil bounds for n < 2).
    public static func meanInterval(_ values: [Double]) -> (mean: Double, low: Double?, high: Double?) {
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        guard values.count >= 2 else { return (mean, nil, nil) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        let half = SpecialFunctions.studentTCriticalValue(alpha: 0.05, degreesOfFreedom: Double(values.count - 1)) * (variance / n).squareRoot()
        return (mean, mean - half, mean + half)
    }

    /// The unit of robustness as an axis label says it: "× max activation", "scale factor", or the sweep's own
    /// units (stored `robustness_units`, see `AnalysisPipeline.robustnessBasis`).
    static func robustnessUnit(_ stored: String?) -> String {
        guard let stored, stored != "max_activation" else { return "× max activation" }
        return stored
    }

    public static func format(_ v: Double) -> String { v.isFinite ? String(format: "%g", v) : "—" }
}
