import Foundation

/// The three ratings AxBench's judge gives one steered output, each on 0…2 (Wu et al. 2025, "AxBench: Steering
/// LLMs? Even Simple Baselines Outperform Sparse Autoencoders", `axbench/evaluators/lm_judge.py`):
/// concept relevance (is the steered concept in the output), instruction relevance (is the output about the
/// prompt) and fluency. Their aggregate is the harmonic mean (`SteeringScore.harmonicMean`), 0 when any is 0.
public struct SteeringRatings: Codable, Sendable, Equatable {
    /// 0 = the concept is absent, 1 = present but minimal or awkward, 2 = fully and naturally incorporated.
    public var concept: Double
    /// 0 = unrelated to the instruction, 1 = somewhat related, 2 = clearly and directly related.
    public var instruction: Double
    /// 0 = not fluent (incomprehensible or repetitive), 1 = somewhat fluent, 2 = fluent and almost perfect.
    public var fluency: Double

    public init(concept: Double, instruction: Double, fluency: Double) {
        self.concept = concept; self.instruction = instruction; self.fluency = fluency
    }

    /// The harmonic mean of the three ratings (0 when any is 0), in 0…2.
    public var aggregate: Double { SteeringScore.harmonicMean([concept, instruction, fluency]) }
}

/// The pure arithmetic of steering scores: AxBench's aggregate, the offline proxy's mappings, AxBench's
/// best-factor protocol (factor chosen on one half of the prompts, reported on the other) and the robustness
/// window of RQ3's second measure. No model, no database.
public enum SteeringScore {
    /// AxBench's aggregate: the harmonic mean n / Σ 1/sᵢ of the ratings, and 0 when any rating is 0 (their
    /// "strict evaluation": an output that misses the concept, the instruction or fluency scores 0). Empty → 0.
    /// Reference: `LMJudgeEvaluator.compute_metrics` in stanfordnlp/axbench `axbench/evaluators/lm_judge.py`.
    public static func harmonicMean(_ scores: [Double]) -> Double {
        guard !scores.isEmpty, scores.allSatisfy({ $0 > 0 }) else { return 0 }
        return Double(scores.count) / scores.reduce(0) { $0 + 1 / $1 }
    }

    // MARK: - The offline proxy

    /// Thresholds of the offline proxy judge (`proxyRatings`); every rating is a step function of one
    /// number with two cut points: value ≥ `two` → 2, ≥ `one` → 1, else 0 (perplexity: ≤ `two` → 2, else 1,
    /// and 0 for outputs the degradation rule calls degraded).
    ///
    /// The defaults were chosen on the committed demo example (`reports/example`: SmolLM2-135M-Instruct, demo SAE,
    /// 12 features × 6 prompts × 16 magnitudes; all-MiniLM-L6-v2) and on the labelled degradation set (388
    /// outputs), as the README ("semprog judge") documents:
    /// - concept, cosine(output, explanation): 1 from 0.2, just above every unsteered answer's cosine with any of
    ///   the 12 explanations (72 pairs: 95th percentile 0.11, maximum 0.199), so a 1 is never what an unsteered
    ///   answer reaches; 2 from 0.4, twice that;
    /// - instruction, cosine(output, the prompt's unsteered answer): 1 from 0.3, above the 99th percentile (0.297)
    ///   of steered outputs' cosines with the *other* prompts' unsteered answers (and above every cosine between
    ///   two prompts' unsteered answers, at most 0.25); 2 from 0.6, twice that;
    /// - fluency: 0 when the stored degradation verdict is "degraded" (perplexity alone cannot see loops: a loop
    ///   is predictable — the labelled degenerate outputs' median perplexity is 7.0, their 5th percentile 2.6 —
    ///   while the degradation rule, which includes perplexity, scores accuracy 0.98 on that set); else 2 up to
    ///   perplexity 10 under the unsteered model (80 % of the labelled fluent outputs; unsteered greedy answers
    ///   are at 2.4–2.5), 1 above.
    public struct ProxyThresholds: Codable, Sendable, Equatable {
        /// Cosine(output, explanation) for concept 1 and 2.
        public var conceptOne: Double
        public var conceptTwo: Double
        /// Cosine(output, unsteered answer) for instruction 1 and 2.
        public var instructionOne: Double
        public var instructionTwo: Double
        /// Largest perplexity (under the unsteered model) that still rates fluency 2.
        public var fluencyTwoMaxPerplexity: Double

        public init(conceptOne: Double = 0.2, conceptTwo: Double = 0.4, instructionOne: Double = 0.3,
                    instructionTwo: Double = 0.6, fluencyTwoMaxPerplexity: Double = 10) {
            self.conceptOne = conceptOne; self.conceptTwo = conceptTwo
            self.instructionOne = instructionOne; self.instructionTwo = instructionTwo
            self.fluencyTwoMaxPerplexity = fluencyTwoMaxPerplexity
        }

        public static let standard = ProxyThresholds()

        /// A short text for cache keys and reports, e.g. "concept 0.2/0.4, instruction 0.3/0.6, fluency ppl ≤ 10".
        public var summary: String {
            "concept cos \(fmt(conceptOne))/\(fmt(conceptTwo)), instruction cos \(fmt(instructionOne))/\(fmt(instructionTwo)), "
                + "fluency ppl ≤ \(fmt(fluencyTwoMaxPerplexity)) (0 if degraded)"
        }

        private func fmt(_ x: Double) -> String { String(format: "%g", x) }

        func validate() throws {
            for (name, v) in [("conceptOne", conceptOne), ("conceptTwo", conceptTwo), ("instructionOne", instructionOne),
                              ("instructionTwo", instructionTwo), ("fluencyTwoMaxPerplexity", fluencyTwoMaxPerplexity)] where !v.isFinite {
                throw AnalysisError.invalidSetting(name: "proxy threshold \(name)", value: "\(v)", expected: "a finite number")
            }
            guard conceptOne <= conceptTwo else {
                throw AnalysisError.invalidSetting(name: "proxy thresholds concept", value: "\(conceptOne)/\(conceptTwo)", expected: "one ≤ two")
            }
            guard instructionOne <= instructionTwo else {
                throw AnalysisError.invalidSetting(name: "proxy thresholds instruction", value: "\(instructionOne)/\(instructionTwo)", expected: "one ≤ two")
            }
            guard fluencyTwoMaxPerplexity >= 1 else {
                throw AnalysisError.invalidSetting(name: "proxy threshold fluencyTwoMaxPerplexity", value: "\(fluencyTwoMaxPerplexity)", expected: "at least 1")
            }
        }
    }

    /// A cosine mapped to 0…2: ≥ `two` → 2, ≥ `one` → 1, else 0 (a non-finite cosine → 0).
    public static func level(cosine: Double, one: Double, two: Double) -> Double {
        guard cosine.isFinite else { return 0 }
        return cosine >= two ? 2 : cosine >= one ? 1 : 0
    }

    /// The proxy's fluency: 0 when the output is degraded (the stored `DegradationRule` verdict) or empty; else 2
    /// when its perplexity under the unsteered model is at most `maxPerplexityForTwo`, 1 above it. Without a
    /// perplexity (a sweep analysed without a model) a fluent output rates 2: the degradation verdict is all
    /// there is.
    public static func proxyFluency(perplexity: Double?, degraded: Bool, empty: Bool, maxPerplexityForTwo: Double) -> Double {
        if degraded || empty { return 0 }
        guard let perplexity, perplexity.isFinite else { return perplexity == nil ? 2 : 0 }
        return perplexity <= maxPerplexityForTwo ? 2 : 1
    }

    /// The offline proxy's three ratings (see `ProxyThresholds`).
    public static func proxyRatings(conceptCosine: Double, instructionCosine: Double, perplexity: Double?, degraded: Bool,
                                    empty: Bool, thresholds: ProxyThresholds = .standard) -> SteeringRatings {
        SteeringRatings(
            concept: empty ? 0 : level(cosine: conceptCosine, one: thresholds.conceptOne, two: thresholds.conceptTwo),
            instruction: empty ? 0 : level(cosine: instructionCosine, one: thresholds.instructionOne, two: thresholds.instructionTwo),
            fluency: proxyFluency(perplexity: perplexity, degraded: degraded, empty: empty,
                                  maxPerplexityForTwo: thresholds.fluencyTwoMaxPerplexity))
    }

    // MARK: - AxBench's best-factor protocol

    /// The prompts on which the factor is chosen and those on which it is reported.
    public struct PromptSplit: Sendable, Equatable {
        public var selection: [Int64]
        public var report: [Int64]
        public init(selection: [Int64], report: [Int64]) { self.selection = selection; self.report = report }
    }

    /// AxBench's split (`data_generator` in `axbench/scripts/evaluate.py`, `winrate_split_ratio` 0.5): with the n
    /// prompts in ascending id order, the first n − round(n · reportShare) choose the factor and the rest report
    /// it (round half to even, as Python's `round`). Deterministic: the prompt ids alone decide. With a single
    /// prompt both halves are that prompt (nothing is held out; callers say so).
    public static func split(promptIDs: [Int64], reportShare: Double = 0.5) -> PromptSplit {
        let ids = Array(Set(promptIDs)).sorted()
        guard ids.count >= 2 else { return PromptSplit(selection: ids, report: ids) }
        let held = Int((Double(ids.count) * reportShare).rounded(.toNearestOrEven))
        let selectionCount = max(1, min(ids.count - 1, ids.count - held))
        return PromptSplit(selection: Array(ids[..<selectionCount]), report: Array(ids[selectionCount...]))
    }

    /// One scored output of a feature.
    public struct ScoredOutput: Sendable, Equatable {
        public var promptID: Int64
        public var magnitude: Double
        /// The aggregate (harmonic mean) of its ratings, 0…2.
        public var score: Double
        public init(promptID: Int64, magnitude: Double, score: Double) {
            self.promptID = promptID; self.magnitude = magnitude; self.score = score
        }
    }

    /// One point of a feature's score curve: the mean aggregate over prompts at one magnitude.
    public struct CurvePoint: Codable, Sendable, Equatable {
        public var magnitude: Double
        public var meanScore: Double
        /// Outputs averaged.
        public var count: Int
        public init(magnitude: Double, meanScore: Double, count: Int) {
            self.magnitude = magnitude; self.meanScore = meanScore; self.count = count
        }
    }

    /// The mean score per magnitude over the outputs of `prompts` (all when nil), magnitudes ascending.
    public static func curve(_ outputs: [ScoredOutput], prompts: Set<Int64>? = nil) -> [CurvePoint] {
        var sums: [Double: (Double, Int)] = [:]
        for o in outputs where prompts?.contains(o.promptID) ?? true {
            let s = sums[o.magnitude] ?? (0, 0)
            sums[o.magnitude] = (s.0 + o.score, s.1 + 1)
        }
        return sums.keys.sorted().map { CurvePoint(magnitude: $0, meanScore: sums[$0]!.0 / Double(sums[$0]!.1), count: sums[$0]!.1) }
    }

    /// The best factor of one feature by AxBench's protocol.
    public struct BestFactor: Codable, Sendable, Equatable {
        /// The magnitude with the highest mean score on the selection prompts (ties: the smallest magnitude, as
        /// `np.argmax` over factors in ascending order).
        public var magnitude: Double
        /// Its mean score on the selection prompts.
        public var selectionScore: Double
        /// Its mean score on the held-out report prompts: the number AxBench reports.
        public var reportScore: Double
        public var selectionPrompts: Int
        public var reportPrompts: Int
        enum CodingKeys: String, CodingKey {
            case magnitude, selectionScore = "selection_score", reportScore = "report_score"
            case selectionPrompts = "selection_prompts", reportPrompts = "report_prompts"
        }
    }

    /// Chooses the factor on `split.selection` and reports it on `split.report`. nil when the selection prompts
    /// have no outputs or the report prompts none at the chosen magnitude.
    public static func bestFactor(_ outputs: [ScoredOutput], split: PromptSplit) -> BestFactor? {
        let selection = curve(outputs, prompts: Set(split.selection))
        guard var best = selection.first else { return nil }
        for p in selection.dropFirst() where p.meanScore > best.meanScore { best = p }
        let report = curve(outputs.filter { $0.magnitude == best.magnitude }, prompts: Set(split.report))
        guard let reported = report.first else { return nil }
        return BestFactor(magnitude: best.magnitude, selectionScore: best.meanScore, reportScore: reported.meanScore,
                          selectionPrompts: split.selection.count, reportPrompts: split.report.count)
    }

    // MARK: - RQ3's second robustness measure

    /// A run of consecutive magnitudes of a score curve.
    public struct ScoreWindow: Codable, Sendable, Equatable {
        public var lower: Double
        public var upper: Double
        public init(lower: Double, upper: Double) { self.lower = lower; self.upper = upper }
        /// upper − lower, in the curve's magnitude units (0 for a single magnitude).
        public var width: Double { upper - lower }
    }

    /// The widest window of consecutive magnitudes over which the curve's mean score stays at least half its best:
    /// with b = max m s(m), the longest-in-magnitude run [mᵢ, mⱼ] of consecutive curve points with every
    /// s(m) ≥ b / 2 (ties: the lowest such run). Width mⱼ − mᵢ in the curve's units (× max activation in the
    /// study). A feature that never scores (b = 0) has no window: nil (callers count its width as 0).
    /// How long steering stays useful as it grows — the score-based companion of the degradation onset.
    public static func halfBestWindow(_ curve: [CurvePoint]) -> ScoreWindow? {
        let points = curve.sorted { $0.magnitude < $1.magnitude }
        guard let best = points.map(\.meanScore).max(), best > 0 else { return nil }
        var bestWindow: ScoreWindow?
        var start: Int?
        for i in points.indices {
            if points[i].meanScore >= best / 2 {
                if start == nil { start = i }
                let w = ScoreWindow(lower: points[start!].magnitude, upper: points[i].magnitude)
                if bestWindow == nil || w.width > bestWindow!.width { bestWindow = w }
            } else {
                start = nil
            }
        }
        return bestWindow
    }

    /// RQ3 with the score window: Spearman ρ (and the rest of `RankCorrelation.summary`) between log10 density and
    /// the half-best window width of each feature (0 for a feature without a window).
    public static func sparsityVsScoreWindow(log10Density: [Double], windowWidth: [Double],
                                             options: RankCorrelationOptions = .init()) throws -> RankCorrelationSummary {
        try RankCorrelation.summary(log10Density, windowWidth, options: options,
                                    xName: "log10 density", yName: "score window (half best)")
    }
}

// MARK: - Per feature and per sweep

/// What `SteeringScore.summarize` needs of one feature.
public struct FeatureSteeringInput: Sendable {
    public var featureIndex: Int
    /// log10(fraction nonzero); nil leaves the feature out of the window correlation.
    public var log10Density: Double?
    /// Divides the sweep's magnitudes to express the window in max activations (1 when the sweep is in those
    /// units already); nil keeps the sweep's units and leaves the feature out of the correlation.
    public var magnitudeScale: Double?
    public var outputs: [SteeringScore.ScoredOutput]
    /// Mean concept, instruction and fluency ratings over the feature's outputs.
    public var meanRatings: SteeringRatings?
    public init(featureIndex: Int, log10Density: Double?, magnitudeScale: Double?, outputs: [SteeringScore.ScoredOutput],
                meanRatings: SteeringRatings? = nil) {
        self.featureIndex = featureIndex; self.log10Density = log10Density; self.magnitudeScale = magnitudeScale
        self.outputs = outputs; self.meanRatings = meanRatings
    }
}

/// One feature's steering scores: the curve over magnitudes, the best factor and the half-best window.
public struct FeatureSteeringScores: Codable, Sendable, Equatable {
    public var featureIndex: Int
    /// Mean aggregate per magnitude over all prompts (sweep units).
    public var curve: [SteeringScore.CurvePoint]
    public var bestFactor: SteeringScore.BestFactor?
    /// The widest half-best window of `curve` (sweep units); nil when the feature never scores.
    public var window: SteeringScore.ScoreWindow?
    /// The window's width in max activations (0 without a window); nil when the scale is unknown.
    public var windowWidthInMaxActivations: Double?
    public var meanRatings: SteeringRatings?
    enum CodingKeys: String, CodingKey {
        case featureIndex = "feature", curve, bestFactor = "best_factor", window
        case windowWidthInMaxActivations = "window_width_max_activations", meanRatings = "mean_ratings"
    }
}

/// The sweep's steering scores by one judge.
public struct SteeringScoreSummary: Codable, Sendable, Equatable {
    /// "proxy" or "llm".
    public var judge: String
    /// True for the offline proxy: its numbers are not AxBench's and must be labelled "proxy".
    public var isProxy: Bool
    public var selectionPrompts: [Int64]
    public var reportPrompts: [Int64]
    public var features: [FeatureSteeringScores]
    /// Mean over features of the best factor's score on the report prompts (AxBench's headline), 0…2.
    public var meanBestScore: Double?
    /// RQ3's second measure: log10 density vs the half-best window width (max activations).
    public var sparsityVsScoreWindow: RankCorrelationSummary?
    /// Why `sparsityVsScoreWindow` is missing (fewer than 3 features with density and scale), when it is.
    public var sparsityVsScoreWindowNote: String?
    enum CodingKeys: String, CodingKey {
        case judge, isProxy = "is_proxy", selectionPrompts = "selection_prompts", reportPrompts = "report_prompts"
        case features, meanBestScore = "mean_best_score", sparsityVsScoreWindow = "sparsity_vs_score_window"
        case sparsityVsScoreWindowNote = "sparsity_vs_score_window_note"
    }
}

extension SteeringScore {
    /// Curves, best factors (prompts split by `split(promptIDs:reportShare:)` over all the features' prompts),
    /// half-best windows, the mean best score and the window correlation of a sweep.
    public static func summarize(_ features: [FeatureSteeringInput], judge: String, isProxy: Bool, reportShare: Double = 0.5,
                                 correlation: RankCorrelationOptions = .init()) throws -> SteeringScoreSummary {
        let promptSplit = split(promptIDs: features.flatMap { $0.outputs.map(\.promptID) }, reportShare: reportShare)
        var out: [FeatureSteeringScores] = []
        for f in features.sorted(by: { $0.featureIndex < $1.featureIndex }) {
            let c = curve(f.outputs)
            let w = halfBestWindow(c)
            let widthMax = f.magnitudeScale.map { (w?.width ?? 0) / $0 }
            out.append(FeatureSteeringScores(featureIndex: f.featureIndex, curve: c, bestFactor: bestFactor(f.outputs, split: promptSplit),
                                             window: w, windowWidthInMaxActivations: widthMax, meanRatings: f.meanRatings))
        }
        let best = out.compactMap { $0.bestFactor?.reportScore }
        var summary = SteeringScoreSummary(judge: judge, isProxy: isProxy, selectionPrompts: promptSplit.selection,
                                           reportPrompts: promptSplit.report, features: out,
                                           meanBestScore: best.isEmpty ? nil : best.reduce(0, +) / Double(best.count))
        let density = Dictionary(features.map { ($0.featureIndex, $0.log10Density) }, uniquingKeysWith: { a, _ in a })
        let pairs = out.compactMap { f -> (Double, Double)? in
            guard let d = density[f.featureIndex] ?? nil, let w = f.windowWidthInMaxActivations else { return nil }
            return (d, w)
        }
        if pairs.count >= 3 {
            summary.sparsityVsScoreWindow = try sparsityVsScoreWindow(log10Density: pairs.map(\.0), windowWidth: pairs.map(\.1), options: correlation)
        } else {
            summary.sparsityVsScoreWindowNote = "\(pairs.count) feature(s) with a density and a max activation: the correlation needs at least 3"
        }
        return summary
    }
}
