import Foundation

/// Per-generation results.
public struct GenerationAnalysis: Codable, Sendable, Equatable {
    public var featureID: String
    public var promptID: String
    public var magnitude: Double
    public var metrics: DegradationMetrics
    /// Degradation score in [0, 1] (`DegradationRule.score`).
    public var degradationScore: Double
    public var degraded: Bool
    /// cos(explanation embedding, output embedding); nil when the feature has no embedded explanation.
    public var explanationCosineOutput: Double?
    /// cos(explanation embedding, description embedding); nil without explanation or description.
    public var explanationCosineDescription: Double?

    enum CodingKeys: String, CodingKey {
        case featureID = "feature_id", promptID = "prompt_id", magnitude, metrics
        case degradationScore = "degradation_score", degraded
        case explanationCosineOutput = "explanation_cosine_output"
        case explanationCosineDescription = "explanation_cosine_description"
    }
}

/// Results for one (feature, prompt): its magnitude sequence, onset, robustness and stages.
public struct TrajectoryAnalysis: Codable, Sendable, Equatable {
    public var featureID: String
    public var promptID: String
    /// The magnitudes of this (feature, prompt), ascending.
    public var magnitudes: [Double]
    /// Positions in `SweepAnalysisInput.generations` (and `SweepAnalysis.generations`), in magnitude order.
    public var generationIndices: [Int]
    /// Degradation onset (nil: no onset within the sweep).
    public var onset: DegradationOnset?
    /// Largest magnitude before the onset divided by the feature's max activation (0 when degraded from the first
    /// magnitude; the largest magnitude when there is no onset — then `censored` is true).
    public var robustnessInMaxActivations: Double
    /// True when the output never stayed degraded, so robustness is only a lower bound.
    public var censored: Bool
    /// Stages of the outputs before the onset (empty when degraded from the first magnitude).
    public var stages: [Stage]
    /// Stage index per magnitude; −1 from the onset on.
    public var stageLabels: [Int]

    enum CodingKeys: String, CodingKey {
        case featureID = "feature_id", promptID = "prompt_id", magnitudes, generationIndices = "generation_indices"
        case onset, robustnessInMaxActivations = "robustness_in_max_activations", censored, stages
        case stageLabels = "stage_labels"
    }
}

/// RQ2 consistency of one feature at one magnitude.
public struct MagnitudeConsistency: Codable, Sendable, Equatable {
    public var magnitude: Double
    /// Prompts with an output at this magnitude.
    public var promptCount: Int
    /// Mean pairwise cosine of the outputs across prompts.
    public var meanPairwiseCosine: Double
    /// The same for the prompts' baseline outputs (same prompts).
    public var baselineMeanPairwiseCosine: Double
    /// meanPairwiseCosine − baselineMeanPairwiseCosine.
    public var consistency: Double

    enum CodingKeys: String, CodingKey {
        case magnitude, promptCount = "prompt_count", meanPairwiseCosine = "mean_pairwise_cosine"
        case baselineMeanPairwiseCosine = "baseline_mean_pairwise_cosine", consistency
    }
}

/// Per-feature summary (RQ1–RQ3 inputs).
public struct FeatureSummary: Codable, Sendable, Equatable {
    public var featureID: String
    public var maxActivation: Double
    public var log10Density: Double?
    public var promptCount: Int
    /// RQ1: median over prompts of the stage count.
    public var stageCount: Double
    /// RQ3: median over prompts of the robustness (units of max activation).
    public var robustnessInMaxActivations: Double
    /// Prompts whose output never degraded (censored robustness).
    public var censoredPrompts: Int
    /// Similarity of the outputs to the explanation; nil without an embedded explanation.
    public var similarityOutput: ExplanationSimilarity?
    /// Similarity of the descriptions to the explanation; nil without explanation or descriptions.
    public var similarityDescription: ExplanationSimilarity?
    /// RQ2 per magnitude (magnitudes with outputs from at least two prompts).
    public var consistency: [MagnitudeConsistency]
    /// Mean of `consistency` over magnitudes.
    public var meanConsistency: Double?
    /// RQ2: mean pairwise adjusted Rand index of the prompts' stage labelings over the magnitudes all prompts share
    /// (magnitudes from the onset on form one extra "degraded" label); nil for fewer than two prompts.
    public var stageAgreement: Double?

    enum CodingKeys: String, CodingKey {
        case featureID = "feature_id", maxActivation = "max_activation", log10Density = "log10_density"
        case promptCount = "prompt_count", stageCount = "stage_count"
        case robustnessInMaxActivations = "robustness_in_max_activations", censoredPrompts = "censored_prompts"
        case similarityOutput = "similarity_output", similarityDescription = "similarity_description"
        case consistency, meanConsistency = "mean_consistency", stageAgreement = "stage_agreement"
    }
}

/// Dataset mean stage count at one penalty.
public struct PenaltySensitivityPoint: Codable, Sendable, Equatable {
    public var penalty: Double
    public var meanStageCount: Double

    enum CodingKeys: String, CodingKey { case penalty, meanStageCount = "mean_stage_count" }
}

/// A feature left out of some part of the analysis, and why.
public struct SkippedFeature: Codable, Sendable, Equatable {
    public var featureID: String
    public var reason: String

    enum CodingKeys: String, CodingKey { case featureID = "feature_id", reason }
}

/// The study's headline numbers.
public struct AnalysisHeadline: Codable, Sendable, Equatable {
    public var featureCount: Int
    public var promptCount: Int
    public var generationCount: Int
    /// Share of generations judged degraded.
    public var degradedShare: Double
    /// RQ1: mean over features of the per-feature median stage count, at the chosen penalty.
    public var meanStageCount: Double
    /// Mean over features (with an embedded explanation) of the mean output–explanation cosine.
    public var meanSimilarityOutput: Double?
    /// Mean over features of the mean description–explanation cosine.
    public var meanSimilarityDescription: Double?
    /// Mean cosine of the prompts' baseline outputs to one another.
    public var baselineMeanPairwiseCosine: Double?
    /// RQ2: mean over features of the mean consistency.
    public var meanConsistency: Double?
    /// RQ2: mean over features of the stage agreement (ARI).
    public var meanStageAgreement: Double?
    /// RQ3: Spearman (and Kendall) of robustness (median, max-activation units) against log10 density over the
    /// features that have a density.
    public var sparsityVsRobustness: RankCorrelationSummary

    enum CodingKeys: String, CodingKey {
        case featureCount = "feature_count", promptCount = "prompt_count", generationCount = "generation_count"
        case degradedShare = "degraded_share", meanStageCount = "mean_stage_count"
        case meanSimilarityOutput = "mean_similarity_output", meanSimilarityDescription = "mean_similarity_description"
        case baselineMeanPairwiseCosine = "baseline_mean_pairwise_cosine", meanConsistency = "mean_consistency"
        case meanStageAgreement = "mean_stage_agreement", sparsityVsRobustness = "sparsity_vs_robustness"
    }
}

/// The whole analysis of one sweep: what the store keeps and the report reads.
public struct SweepAnalysis: Codable, Sendable, Equatable {
    public var settings: AnalysisSettings
    /// Same order as `SweepAnalysisInput.generations`.
    public var generations: [GenerationAnalysis]
    /// One per (feature, prompt) with outputs, features in input order, prompts in input order.
    public var trajectories: [TrajectoryAnalysis]
    /// One per feature with outputs, in input order.
    public var features: [FeatureSummary]
    public var penaltySensitivity: [PenaltySensitivityPoint]
    public var headline: AnalysisHeadline
    /// Features left out of some summaries (no outputs, no explanation, no density), with the reason.
    public var skippedFeatures: [SkippedFeature]
    /// The stage penalty used and how it was chosen (see `PenaltySelection`).
    public var penaltySelection: PenaltySelection

    enum CodingKeys: String, CodingKey {
        case settings, generations, trajectories, features, penaltySensitivity = "penalty_sensitivity", headline
        case skippedFeatures = "skipped_features", penaltySelection = "penalty_selection"
    }
}
