import Analysis
import Foundation

/// The headline of an analysis, printed by `semprog analyze` (table or `--json`) and stored as JSON in
/// `sweep_statistics` (name `summary_json`) so the report and later runs can show it without recomputing.
public struct AnalysisRunSummary: Codable, Equatable {
    public struct Skipped: Codable, Equatable {
        public var feature: Int
        public var reason: String
    }
    public struct PenaltyPoint: Codable, Equatable {
        public var penalty: Double
        public var meanStageCount: Double
        public enum CodingKeys: String, CodingKey { case penalty, meanStageCount = "mean_stage_count" }
    }

    public var sweep: String
    public var featureCount: Int
    public var promptCount: Int
    public var generationCount: Int
    public var degradedShare: Double
    /// RQ1.
    public var meanStageCount: Double
    public var stagePenalty: Double
    /// How the penalty was chosen: "data-driven: κ × δ̂ = …" or "fixed (--penalty)".
    public var stagePenaltyRule: String?
    public var penaltySensitivity: [PenaltyPoint]
    /// The headline similarity: description–explanation when the sweep is described, else output–explanation.
    public var meanExplanationSimilarity: Double?
    /// "description" or "output": what `meanExplanationSimilarity` compares with the explanation.
    public var similarityBasis: String
    public var meanSimilarityDescription: Double?
    public var meanSimilarityOutput: Double?
    /// RQ2.
    public var meanConsistency: Double?
    public var meanStageAgreement: Double?
    /// RQ3: Spearman ρ of log10 density vs robustness over the features in `rq3Features` (the analysis's own type,
    /// stored and reported as is).
    public var sparsityVsRobustness: RankCorrelationSummary
    /// The features RQ3 correlated (those with a density and, when the sweep needs one, a max activation); nil in
    /// summaries written before it was recorded.
    public var rq3Features: [Int]?
    /// Unit of robustness: "max_activation" or the sweep's magnitude units when no max activation is known.
    public var robustnessUnits: String
    public var describer: String?
    public var embeddingModel: String
    public var embeddingsCached: Int
    public var embeddingsComputed: Int
    public var perplexity: Bool
    public var skippedFeatures: [Skipped]
    public var notes: [String]

    public enum CodingKeys: String, CodingKey {
        case sweep, featureCount = "feature_count", promptCount = "prompt_count", generationCount = "generation_count"
        case degradedShare = "degraded_share", meanStageCount = "mean_stage_count", stagePenalty = "stage_penalty"
        case stagePenaltyRule = "stage_penalty_rule"
        case penaltySensitivity = "penalty_sensitivity", meanExplanationSimilarity = "mean_explanation_similarity"
        case similarityBasis = "similarity_basis", meanSimilarityDescription = "mean_similarity_description"
        case meanSimilarityOutput = "mean_similarity_output", meanConsistency = "mean_consistency"
        case meanStageAgreement = "mean_stage_agreement", sparsityVsRobustness = "sparsity_vs_robustness"
        case rq3Features = "rq3_features"
        case robustnessUnits = "robustness_units", describer, embeddingModel = "embedding_model"
        case embeddingsCached = "embeddings_cached", embeddingsComputed = "embeddings_computed", perplexity
        case skippedFeatures = "skipped_features", notes
    }

    public func encode(to encoder: any Encoder) throws {  // explicit nulls: every field of the summary is always present
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sweep, forKey: .sweep); try c.encode(featureCount, forKey: .featureCount)
        try c.encode(promptCount, forKey: .promptCount); try c.encode(generationCount, forKey: .generationCount)
        try c.encode(degradedShare, forKey: .degradedShare); try c.encode(meanStageCount, forKey: .meanStageCount)
        try c.encode(stagePenalty, forKey: .stagePenalty); try c.encode(penaltySensitivity, forKey: .penaltySensitivity)
        try c.encode(stagePenaltyRule, forKey: .stagePenaltyRule)
        try c.encode(meanExplanationSimilarity, forKey: .meanExplanationSimilarity)
        try c.encode(similarityBasis, forKey: .similarityBasis)
        try c.encode(meanSimilarityDescription, forKey: .meanSimilarityDescription)
        try c.encode(meanSimilarityOutput, forKey: .meanSimilarityOutput)
        try c.encode(meanConsistency, forKey: .meanConsistency); try c.encode(meanStageAgreement, forKey: .meanStageAgreement)
        try c.encode(sparsityVsRobustness, forKey: .sparsityVsRobustness)
        try c.encode(rq3Features, forKey: .rq3Features)
        try c.encode(robustnessUnits, forKey: .robustnessUnits); try c.encode(describer, forKey: .describer)
        try c.encode(embeddingModel, forKey: .embeddingModel); try c.encode(embeddingsCached, forKey: .embeddingsCached)
        try c.encode(embeddingsComputed, forKey: .embeddingsComputed); try c.encode(perplexity, forKey: .perplexity)
        try c.encode(skippedFeatures, forKey: .skippedFeatures); try c.encode(notes, forKey: .notes)
    }

    /// The summary stored as JSON; nil when it does not decode. Summaries written before RQ3 was stored as
    /// `RankCorrelationSummary` lack `sparsity_vs_robustness.bootstrap_resamples`: it is read as 0 (unknown).
    public static func decode(_ json: String) -> AnalysisRunSummary? {
        if let summary = try? JSONDecoder().decode(AnalysisRunSummary.self, from: Data(json.utf8)) { return summary }
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              var rq3 = object["sparsity_vs_robustness"] as? [String: Any], rq3["bootstrap_resamples"] == nil,
              let data = try? JSONSerialization.data(withJSONObject: { rq3["bootstrap_resamples"] = 0
                  object["sparsity_vs_robustness"] = rq3; return object }()) else { return nil }
        return try? JSONDecoder().decode(AnalysisRunSummary.self, from: data)
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
