import ArgumentParser
import Study

extension Semprog {
    /// `semprog analyze`: degradation, onsets, stages (RQ1), similarity to the explanation, consistency (RQ2) and
    /// sparsity vs robustness (RQ3) of a sweep, stored in the analysis tables; prints a summary (see `Study.AnalysisRun`).
    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Analyse a sweep: degradation, stages, similarity, RQ1-RQ3 (stored in the database)",
            discussion: """
                Every analysis row of the sweep is replaced in one transaction; embeddings are cached in the \
                database (text_embeddings), so a rerun only embeds new texts.
                Descriptions: the similarity to the explanation compares the explanation with each generation's \
                description (as the study did) when the sweep is described — by default the descriptions of \
                'import', else 'llm', else 'local', else 'contrastive' (choose with --describer). A sweep that is \
                not described is analysed with output–explanation cosines only; the summary says which basis it used.
                Features without an explanation are left out of the similarity summary and listed; features \
                without fraction_nonzero are left out of RQ3 and listed; RQ3 needs at least 3 features.
                """)

        @OptionGroup var databaseOptions: DatabaseOptions

        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        @Option(name: .customLong("embedding-model"), help: "all-MiniLM-L6-v2 directory (default: models/all-MiniLM-L6-v2).")
        var embeddingModel: String?

        @Option(name: .long, help: "GGUF language model: adds the perplexity of each output under the unsteered model.")
        var model: String?

        @Option(name: .long, help: "Stage segmentation penalty (summed 1 − cos per extra stage; default: chosen from the data, 2 × the within-stage noise).")
        var penalty: Double?

        @Option(name: .long, help: "Use the descriptions of this describer (import, contrastive, llm, local).")
        var describer: String?

        @OptionGroup var threadOptions: ThreadOptions

        @Flag(name: .long, help: "Print the summary as JSON.")
        var json = false

        @OptionGroup var quietOptions: QuietOptions

        func validate() throws {
            if let penalty, !(penalty >= 0 && penalty.isFinite) { throw ValidationError("--penalty must be a finite number ≥ 0") }
            try databaseOptions.requireExisting()
        }

        func run() async throws {
            try await Terminal.reportingErrors(prefix: "error: ") {
                try AnalysisRun(database: databaseOptions.db, sweep: sweep, embeddingModel: embeddingModel ?? DefaultPaths.embeddingModel,
                                model: model, penalty: penalty, describer: describer, threads: threadOptions.count,
                                json: json, quiet: quietOptions.quiet).run()
            }
        }
    }
}
