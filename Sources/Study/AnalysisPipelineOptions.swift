import Foundation

/// Options of one analysis run.
public struct AnalysisPipelineOptions {
    /// all-MiniLM-L6-v2 directory.
    public var embeddingModel: String
    /// Stage penalty (nil: the analysis default).
    public var penalty: Double?
    /// Which describer's descriptions to compare with the explanation (nil: chosen automatically, see
    /// `AnalysisPipeline.chooseDescriber`).
    public var describer: String?
    /// Worker threads for the analysis and for OpenBLAS.
    public var threads: Int
    /// Perplexities of generations under the unsteered model, when a model was given (`PerplexityScorer`).
    public var perplexity: PerplexityScorer.Batch?
    public var quiet = false

    public init(embeddingModel: String, penalty: Double? = nil, describer: String? = nil, threads: Int,
                perplexity: PerplexityScorer.Batch? = nil, quiet: Bool = false) {
        self.embeddingModel = embeddingModel
        self.penalty = penalty
        self.describer = describer
        self.threads = threads
        self.perplexity = perplexity
        self.quiet = quiet
    }
}
