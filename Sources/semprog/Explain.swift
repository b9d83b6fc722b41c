import ArgumentParser
import Study

extension Semprog {
    /// `semprog explain`: feature statistics of an SAE over a text corpus (density, max activation, top contexts,
    /// promoted/suppressed tokens) and semprog's built-in explanation of each feature, written as JSON lines.
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "explain",
            abstract: "Feature statistics over a corpus and built-in explanations of an SAE's features (JSON lines).")

        @OptionGroup var modelOptions: LanguageModelOptions

        @OptionGroup var saeOptions: SAEOptions

        @Option(parsing: .upToNextOption, help: "Text files to scan. Default: models/corpus/fortunes.txt.")
        var corpus: [String] = []

        @Option(help: "Corpus tokens to scan (position 0 of each context excluded).")
        var tokens: Int = 50_000

        @Option(help: "Tokens per context fed to the model.")
        var contextLength: Int = 128

        @Option(help: "Comma-separated feature indices (default: all).")
        var features: String?

        @Option(help: "Top activating contexts kept per feature.")
        var contexts: Int = 5

        @Option(help: "Promoted and suppressed tokens kept per feature.")
        var promotedTokens: Int = 10

        @Option(help: "Seed of the corpus shuffle.")
        var seed: UInt64 = 1

        @Option(help: "Output JSON-lines file (default: <sae>/semprog_features.jsonl); one object per feature.")
        var out: String?

        @Option(name: [.customLong("db"), .customLong("database")], help: "SQLite database: also store the statistics (features table) and explanations (source 'semprog') against the SAE.")
        var database: String?

        @OptionGroup var threadOptions: ThreadOptions

        @OptionGroup var quietOptions: QuietOptions

        func validate() throws {
            guard tokens >= 1 else { throw ValidationError("--tokens must be positive") }
            guard contextLength >= 2 else { throw ValidationError("--context-length must be at least 2") }
            guard contexts >= 1, promotedTokens >= 0 else { throw ValidationError("--contexts must be ≥ 1, --promoted-tokens ≥ 0") }
        }

        func run() async throws {
            try await Terminal.reportingErrors {
                try FeatureExplanationRun(settings: .init(
                    model: modelOptions.modelPath, sae: saeOptions.sae, hook: saeOptions.hook,
                    corpus: corpus.isEmpty ? [DefaultPaths.corpus] : corpus, tokens: tokens, contextLength: contextLength,
                    features: features, contexts: contexts, promotedTokens: promotedTokens, seed: seed, out: out,
                    database: database, threads: threadOptions.count, quiet: quietOptions.quiet)).explain()
            }
        }
    }
}
