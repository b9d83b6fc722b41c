/// A steered feature as the analysis sees it.
public struct FeatureInput: Codable, Sendable, Equatable {
    public var featureID: String
    /// The feature's maximum activation on the corpus: the unit robustness is expressed in.
    public var maxActivation: Double
    /// log10 of the fraction of corpus tokens on which the feature fires (its sparsity); nil leaves it out of RQ3.
    public var log10Density: Double?
    /// The feature's explanation text (Neuronpedia's or semprog's own); nil when it has none.
    public var explanation: String?
    /// Sentence embedding of the explanation; nil leaves the feature out of the similarity summary.
    public var explanationEmbedding: [Float]?

    public init(featureID: String, maxActivation: Double, log10Density: Double?, explanation: String?,
                explanationEmbedding: [Float]?) {
        self.featureID = featureID; self.maxActivation = maxActivation; self.log10Density = log10Density
        self.explanation = explanation; self.explanationEmbedding = explanationEmbedding
    }

    enum CodingKeys: String, CodingKey {
        case featureID = "feature_id", maxActivation = "max_activation", log10Density = "log10_density"
        case explanation, explanationEmbedding = "explanation_embedding"
    }
}

/// A prompt's unsteered (baseline) output.
public struct PromptBaseline: Codable, Sendable, Equatable {
    public var promptID: String
    public var text: String
    public var embedding: [Float]

    public init(promptID: String, text: String, embedding: [Float]) {
        self.promptID = promptID; self.text = text; self.embedding = embedding
    }

    enum CodingKeys: String, CodingKey { case promptID = "prompt_id", text, embedding }
}

/// One steered generation: (feature, prompt, magnitude) → output.
public struct GenerationInput: Codable, Sendable, Equatable {
    public var featureID: String
    public var promptID: String
    /// Steering magnitude (the sweep's units; divided by the feature's max activation for robustness).
    public var magnitude: Double
    public var text: String
    /// Sentence embedding of `text`.
    public var embedding: [Float]
    /// Sentence embedding of the generation's description (from a describer), when there is one.
    public var descriptionEmbedding: [Float]?
    /// Perplexity of the generated tokens under the unsteered model given the prompt, when computed.
    public var perplexity: Double?
    /// The model's token ids of `text` as generated (the Store's `generations.token_ids`); nil for imported
    /// sweeps, whose repetition measures then run over character units (see `DegradationMetrics`).
    public var tokenIDs: [Int]?

    public init(featureID: String, promptID: String, magnitude: Double, text: String, embedding: [Float],
                descriptionEmbedding: [Float]? = nil, perplexity: Double? = nil, tokenIDs: [Int]? = nil) {
        self.featureID = featureID; self.promptID = promptID; self.magnitude = magnitude; self.text = text
        self.embedding = embedding; self.descriptionEmbedding = descriptionEmbedding; self.perplexity = perplexity
        self.tokenIDs = tokenIDs
    }

    enum CodingKeys: String, CodingKey {
        case featureID = "feature_id", promptID = "prompt_id", magnitude, text, embedding
        case descriptionEmbedding = "description_embedding", perplexity, tokenIDs = "token_ids"
    }
}

/// Settings of one analysis run (stored with the results).
public struct AnalysisSettings: Codable, Sendable, Equatable {
    /// Degradation score and rule.
    public var degradation = DegradationRule()
    /// Segmentation penalty per stage (units of summed 1 − cos; see `StageSegmenter`); nil (the default) chooses
    /// it from the data: `penaltyMultiplier` × the sweep's within-stage noise (see `PenaltySelection`).
    public var stagePenalty: Double? = nil
    /// κ of the data-driven penalty λ = κ · δ̂ (see `PenaltySelection`).
    public var penaltyMultiplier = PenaltySelection.defaultMultiplier
    /// Penalties of the sensitivity curve (mean stage count as the penalty moves).
    public var penaltyGrid: [Double] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
    /// Options of the RQ3 rank correlation.
    public var correlation = RankCorrelationOptions()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case degradation, stagePenalty = "stage_penalty", penaltyMultiplier = "penalty_multiplier"
        case penaltyGrid = "penalty_grid", correlation
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AnalysisSettings()
        degradation = try c.decodeIfPresent(DegradationRule.self, forKey: .degradation) ?? d.degradation
        stagePenalty = try c.decodeIfPresent(Double.self, forKey: .stagePenalty) ?? d.stagePenalty
        penaltyMultiplier = try c.decodeIfPresent(Double.self, forKey: .penaltyMultiplier) ?? d.penaltyMultiplier
        penaltyGrid = try c.decodeIfPresent([Double].self, forKey: .penaltyGrid) ?? d.penaltyGrid
        correlation = try c.decodeIfPresent(RankCorrelationOptions.self, forKey: .correlation) ?? d.correlation
        try validate()
    }

    /// Throws on a negative or non-finite penalty, or an invalid degradation rule.
    public func validate() throws {
        try degradation.validate()
        for p in [stagePenalty ?? 0, penaltyMultiplier] + penaltyGrid where !(p >= 0 && p.isFinite) {
            throw AnalysisError.invalidSetting(name: "stage_penalty/penalty_multiplier/penalty_grid", value: "\(p)", expected: "finite numbers ≥ 0")
        }
    }
}

/// Everything the analysis needs about one sweep, as plain values (texts, magnitudes, embeddings, perplexities).
public struct SweepAnalysisInput: Codable, Sendable, Equatable {
    public var features: [FeatureInput]
    /// One baseline per prompt.
    public var prompts: [PromptBaseline]
    public var generations: [GenerationInput]
    public var settings: AnalysisSettings

    public init(features: [FeatureInput], prompts: [PromptBaseline], generations: [GenerationInput],
                settings: AnalysisSettings = .init()) {
        self.features = features; self.prompts = prompts; self.generations = generations; self.settings = settings
    }
}
