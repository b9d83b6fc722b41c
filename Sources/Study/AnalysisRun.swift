import Foundation
import Store

/// What `semprog analyze` runs: the analysis pipeline on one sweep of a database (every analysis row replaced in
/// one transaction), with the perplexity of each output under the unsteered model when a model is given; prints
/// the summary as a table (`AnalysisRunSummary.table`) or JSON.
public struct AnalysisRun {
    public var database: String
    /// Sweep name (nil: the only sweep).
    public var sweep: String?
    /// all-MiniLM-L6-v2 directory.
    public var embeddingModel: String
    /// A language model for perplexities (nil: none).
    public var model: String?
    public var penalty: Double?
    public var describer: String?
    public var threads: Int
    public var json: Bool
    public var quiet: Bool

    public init(database: String, sweep: String?, embeddingModel: String, model: String?, penalty: Double?,
                describer: String?, threads: Int, json: Bool, quiet: Bool) {
        self.database = database; self.sweep = sweep; self.embeddingModel = embeddingModel; self.model = model
        self.penalty = penalty; self.describer = describer; self.threads = threads; self.json = json; self.quiet = quiet
    }

    /// Analyses and prints; the pipeline's notes go to the diagnostic stream (not with `json`).
    @discardableResult
    public func run(console: StudyConsole = .standard) throws -> AnalysisRunSummary {
        let store = try StoreDatabase(path: database)
        let perplexity = try model.map { try PerplexityScorer.make(modelPath: $0, threads: threads) }
        let options = AnalysisPipelineOptions(embeddingModel: embeddingModel, penalty: penalty, describer: describer,
                                              threads: threads, perplexity: perplexity, quiet: quiet)
        let start = Date()
        let summary = try AnalysisPipeline(store: store, databasePath: database, options: options)
            .run(sweepName: sweep) { if !json { console.diagnostic($0) } }
        if json {
            console.output(summary.json)
        } else {
            console.output(summary.table)
            console.diagnostic(String(format: "stored in %@ (%.1f s)", database, Date().timeIntervalSince(start)))
        }
        return summary
    }
}
