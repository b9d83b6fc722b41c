import Foundation

/// Everything a report shows, filled by the coordinator from the database (`semprog report --db`) or read from
/// a JSON file (`--data`). Plain `Codable` values with snake_case keys; no database or model types.
public struct ReportData: Codable, Sendable, Equatable {
    public var run: RunMetadata
    public var summary: StudySummary
    /// One entry per feature page, in page order.
    public var features: [FeatureReport]

    public init(run: RunMetadata, summary: StudySummary, features: [FeatureReport]) {
        self.run = run; self.summary = summary; self.features = features
    }
}

/// What was run: the title page of the report.
public struct RunMetadata: Codable, Sendable, Equatable {
    public var sweepName: String
    public var model: String
    public var sae: String
    /// Residual-stream hook point, e.g. "blocks.9.hook_resid_post".
    public var hook: String
    /// Steering magnitudes in `magnitudeUnit`, ascending; the columns of every per-magnitude series.
    public var magnitudes: [Double]
    /// Unit of the magnitudes, e.g. "× max activation".
    public var magnitudeUnit: String
    /// Stage segmentation / description method, e.g. "PELT on MiniLM embeddings, penalty 3.0".
    public var method: String
    /// Token positions steered, e.g. "all" or "prompt+generated".
    public var positions: String
    public var seeds: [UInt64]
    public var promptCount: Int
    public var semprogVersion: String
    /// Run date, ISO 8601 UTC ("2026-01-31T12:00:00Z"); pinned into the PDF so output is reproducible.
    public var runDate: String
    /// The SAE's Neuronpedia id "modelId/saeId" (e.g. "gpt2-small/12-res-jb"), when it has one: the explorer
    /// links each feature to `https://www.neuronpedia.org/<id>/<index>`.
    public var neuronpediaId: String?
    /// Full text of each prompt (the rows of every progression strip), for the explorer; nil in older data.
    public var promptTexts: [String]?
    /// Unsteered generation of each prompt (same order as the rows), for the explorer's baseline when the
    /// magnitudes do not include 0; nil when not stored.
    public var baselines: [String]?
    /// How the swept features were chosen (e.g. the demo's rule: by output score per density stratum), when
    /// the caller says so; nil in older data.
    public var featureSelection: String?
    /// The release format the SAE was read as (e.g. "Gemma Scope 1 (params.npz)", "SAELens"), when stored.
    public var saeFormat: String?
    /// The SAE release the folder names give (e.g. "gemma-scope-2b-pt-res"), when known.
    public var saeRelease: String?

    public init(sweepName: String, model: String, sae: String, hook: String, magnitudes: [Double],
                magnitudeUnit: String, method: String, positions: String, seeds: [UInt64], promptCount: Int,
                semprogVersion: String, runDate: String, neuronpediaId: String? = nil, promptTexts: [String]? = nil,
                baselines: [String]? = nil, featureSelection: String? = nil, saeFormat: String? = nil,
                saeRelease: String? = nil) {
        self.sweepName = sweepName; self.model = model; self.sae = sae; self.hook = hook; self.magnitudes = magnitudes
        self.magnitudeUnit = magnitudeUnit; self.method = method; self.positions = positions; self.seeds = seeds
        self.promptCount = promptCount; self.semprogVersion = semprogVersion; self.runDate = runDate
        self.neuronpediaId = neuronpediaId; self.promptTexts = promptTexts; self.baselines = baselines
        self.featureSelection = featureSelection; self.saeFormat = saeFormat; self.saeRelease = saeRelease
    }

    /// "format — release R" for the report's metadata, nil when neither is known.
    public var saeSourceLine: String? {
        switch (saeFormat.flatMap { $0.isEmpty ? nil : $0 }, saeRelease.flatMap { $0.isEmpty ? nil : $0 }) {
        case let (f?, r?): return "\(f) — release \(r)"
        case let (f?, nil): return f
        case let (nil, r?): return "release \(r)"
        case (nil, nil): return nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case sweepName = "sweep_name", model, sae, hook, magnitudes, magnitudeUnit = "magnitude_unit", method, positions
        case seeds, promptCount = "prompt_count", semprogVersion = "semprog_version", runDate = "run_date"
        case neuronpediaId = "neuronpedia_id", promptTexts = "prompt_texts", baselines
        case featureSelection = "feature_selection", saeFormat = "sae_format", saeRelease = "sae_release"
    }
}

/// Headline numbers for RQ1–RQ3.
public struct StudySummary: Codable, Sendable, Equatable {
    public var rq1: StageCountSummary
    /// Mean cosine similarity between the explanation and generations (over features, prompts, magnitudes).
    public var meanExplanationSimilarity: Double
    public var rq2: ConsistencySummary
    public var rq3: SparsityRobustnessSummary
    /// AxBench-style steering scores (`semprog judge`): mean best score and RQ3's score-window measure; nil when
    /// the sweep was not judged.
    public var steering: SteeringScoreHeadline?

    public init(rq1: StageCountSummary, meanExplanationSimilarity: Double, rq2: ConsistencySummary,
                rq3: SparsityRobustnessSummary, steering: SteeringScoreHeadline? = nil) {
        self.rq1 = rq1; self.meanExplanationSimilarity = meanExplanationSimilarity; self.rq2 = rq2; self.rq3 = rq3
        self.steering = steering
    }

    enum CodingKeys: String, CodingKey {
        case rq1, meanExplanationSimilarity = "mean_explanation_similarity", rq2, rq3, steering
    }
}

/// RQ1: how many semantic stages a feature passes through as magnitude grows.
public struct StageCountSummary: Codable, Sendable, Equatable {
    public var meanStageCount: Double
    /// Segmentation penalty used for the reported stage counts.
    public var penalty: Double
    /// Mean stage count at other penalties (sensitivity of RQ1 to the penalty).
    public var penaltySensitivity: [PenaltyPoint]

    public init(meanStageCount: Double, penalty: Double, penaltySensitivity: [PenaltyPoint]) {
        self.meanStageCount = meanStageCount; self.penalty = penalty; self.penaltySensitivity = penaltySensitivity
    }

    enum CodingKeys: String, CodingKey {
        case meanStageCount = "mean_stage_count", penalty, penaltySensitivity = "penalty_sensitivity"
    }
}

public struct PenaltyPoint: Codable, Sendable, Equatable {
    public var penalty: Double
    public var meanStageCount: Double
    public init(penalty: Double, meanStageCount: Double) { self.penalty = penalty; self.meanStageCount = meanStageCount }
    enum CodingKeys: String, CodingKey { case penalty, meanStageCount = "mean_stage_count" }
}

/// RQ2: consistency of stages across prompts, per magnitude.
public struct ConsistencySummary: Codable, Sendable, Equatable {
    /// One value per magnitude (same order as `RunMetadata.magnitudes`).
    public var consistency: [IntervalPoint]
    public init(consistency: [IntervalPoint]) { self.consistency = consistency }
}

/// A mean (or point estimate) with an optional confidence interval at one magnitude.
public struct IntervalPoint: Codable, Sendable, Equatable {
    public var magnitude: Double
    public var mean: Double
    public var ciLow: Double?
    public var ciHigh: Double?
    public init(magnitude: Double, mean: Double, ciLow: Double? = nil, ciHigh: Double? = nil) {
        self.magnitude = magnitude; self.mean = mean; self.ciLow = ciLow; self.ciHigh = ciHigh
    }
    enum CodingKeys: String, CodingKey { case magnitude, mean, ciLow = "ci_low", ciHigh = "ci_high" }
}

/// RQ3: does sparsity (log10 activation density) predict robustness to steering?
public struct SparsityRobustnessSummary: Codable, Sendable, Equatable {
    /// Spearman rank correlation ρ.
    public var spearmanRho: Double
    /// p-value of ρ from the t approximation.
    public var pValue: Double
    /// Permutation p-value of ρ.
    public var permutationPValue: Double
    /// Bootstrap confidence interval for ρ.
    public var ciLow: Double
    public var ciHigh: Double
    public var n: Int
    public var kendallTau: Double
    /// The scatter: one point per analysed feature (may include features without a page).
    public var points: [SparsityRobustnessPoint]
    /// Unit of robustness (the last fluent magnitude before the onset): "× max activation" unless the sweep's
    /// features had none; nil (older report data) reads as "× max activation".
    public var robustnessUnit: String?

    public init(spearmanRho: Double, pValue: Double, permutationPValue: Double, ciLow: Double, ciHigh: Double, n: Int,
                kendallTau: Double, points: [SparsityRobustnessPoint], robustnessUnit: String? = nil) {
        self.spearmanRho = spearmanRho; self.pValue = pValue; self.permutationPValue = permutationPValue
        self.ciLow = ciLow; self.ciHigh = ciHigh; self.n = n; self.kendallTau = kendallTau; self.points = points
        self.robustnessUnit = robustnessUnit
    }

    enum CodingKeys: String, CodingKey {
        case spearmanRho = "spearman_rho", pValue = "p_value", permutationPValue = "permutation_p_value"
        case ciLow = "ci_low", ciHigh = "ci_high", n, kendallTau = "kendall_tau", points
        case robustnessUnit = "robustness_unit"
    }
}

public struct SparsityRobustnessPoint: Codable, Sendable, Equatable {
    public var featureIndex: Int
    public var log10Density: Double
    /// Robustness: magnitude (in max activations) at which degradation sets in.
    public var robustness: Double
    public init(featureIndex: Int, log10Density: Double, robustness: Double) {
        self.featureIndex = featureIndex; self.log10Density = log10Density; self.robustness = robustness
    }
    enum CodingKeys: String, CodingKey { case featureIndex = "feature_index", log10Density = "log10_density", robustness }
}

/// One feature's page.
public struct FeatureReport: Codable, Sendable, Equatable {
    public var index: Int
    /// Explanation text (untrusted: escaped and wrapped by the writer).
    public var explanation: String
    public var maxActivation: Double
    /// log10 of the fraction of tokens on which the feature is nonzero.
    public var log10Density: Double
    public var robustness: Double
    public var stageCount: Int
    public var stages: [StageReport]
    public var progression: ProgressionStrip
    /// Similarity of generations to the explanation, one point per magnitude.
    public var similarity: [IntervalPoint]
    /// Degradation metrics, each with one value per magnitude.
    public var degradation: [MetricSeries]
    /// The stored generation of every cell, `outputs[prompt][magnitude]` (nil where none is stored), for the
    /// explorer (untrusted text); nil in older data.
    public var outputs: [[String?]]?
    /// Output score (Arad, Mueller & Belinkov 2025; `semprog screen`), in [0, 1]; nil when not screened.
    public var outputScore: Double?
    /// Steering score by magnitude with the best factor (`semprog judge`); nil when the sweep was not judged.
    public var steeringScore: SteeringScoreCurve?

    public init(index: Int, explanation: String, maxActivation: Double, log10Density: Double, robustness: Double,
                stageCount: Int, stages: [StageReport], progression: ProgressionStrip, similarity: [IntervalPoint],
                degradation: [MetricSeries], outputs: [[String?]]? = nil, outputScore: Double? = nil,
                steeringScore: SteeringScoreCurve? = nil) {
        self.index = index; self.explanation = explanation; self.maxActivation = maxActivation
        self.log10Density = log10Density; self.robustness = robustness; self.stageCount = stageCount
        self.stages = stages; self.progression = progression; self.similarity = similarity; self.degradation = degradation
        self.outputs = outputs
        self.outputScore = outputScore
        self.steeringScore = steeringScore
    }

    enum CodingKeys: String, CodingKey {
        case index, explanation, maxActivation = "max_activation", log10Density = "log10_density", robustness
        case stageCount = "stage_count", stages, progression, similarity, degradation, outputs
        case outputScore = "output_score", steeringScore = "steering_score"
    }
}

/// A semantic stage: a magnitude range with a label and an example generation (untrusted text).
public struct StageReport: Codable, Sendable, Equatable {
    public var magnitudeLow: Double
    public var magnitudeHigh: Double
    public var label: String
    public var exampleOutput: String
    public init(magnitudeLow: Double, magnitudeHigh: Double, label: String, exampleOutput: String) {
        self.magnitudeLow = magnitudeLow; self.magnitudeHigh = magnitudeHigh; self.label = label
        self.exampleOutput = exampleOutput
    }
    enum CodingKeys: String, CodingKey {
        case magnitudeLow = "magnitude_low", magnitudeHigh = "magnitude_high", label, exampleOutput = "example_output"
    }
}

/// Prompts × magnitudes: the stage of each generation, whether it degraded, and each prompt's onset.
public struct ProgressionStrip: Codable, Sendable, Equatable {
    /// Short prompt labels (rows).
    public var prompts: [String]
    /// `stageIds[prompt][magnitude]`: index into the feature's `stages`, or -1 when unassigned.
    public var stageIds: [[Int]]
    public var degraded: [[Bool]]
    /// Per prompt: index of the first degraded magnitude, nil if it never degraded.
    public var onsetMagnitudeIndex: [Int?]

    public init(prompts: [String], stageIds: [[Int]], degraded: [[Bool]], onsetMagnitudeIndex: [Int?]) {
        self.prompts = prompts; self.stageIds = stageIds; self.degraded = degraded
        self.onsetMagnitudeIndex = onsetMagnitudeIndex
    }
    enum CodingKeys: String, CodingKey {
        case prompts, stageIds = "stage_ids", degraded, onsetMagnitudeIndex = "onset_magnitude_index"
    }
}

/// A named metric with one value per magnitude (NaN not allowed in JSON: use nil for missing).
public struct MetricSeries: Codable, Sendable, Equatable {
    public var name: String
    public var values: [Double?]
    public init(name: String, values: [Double?]) { self.name = name; self.values = values }
}
