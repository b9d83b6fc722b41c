import ArgumentParser
import Study
import Sweep

extension Semprog {
    /// `semprog screen`: output and input scores of an SAE's features (Arad, Mueller & Belinkov 2025; see `Study.ScreenRun`).
    struct Screen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "screen",
            abstract: "Score features by how they steer: output score (and input score) of Arad et al. (2025).",
            discussion: """
            For each feature: raise its activation at the last token of a neutral prompt by --factor × the largest \
            activation there (error-preserving), read the next-token distribution, and compare it with the feature's \
            --logit-lens-k logit-lens tokens (U · RMSNorm(W_dec[f])): output score = (1 − best rank / vocabulary) × \
            their largest probability. The input score is the share of the feature's top contexts (from 'semprog \
            explain') that peak on a logit-lens token. Scores are stored per feature in --db; use them with \
            'semprog sweep --top-features N --by output-score'.
            """)

        @OptionGroup var models: ModelOptions
        @OptionGroup var databaseOptions: DatabaseOptions
        @Option(help: "Feature indices: comma-separated, ranges allowed (default: every feature).")
        var features: String?
        @Option(help: "The neutral prompt.")
        var prompt: String = FeatureScreenSettings().neutralPrompt
        @Option(help: "Amplification: added activation = factor × the largest activation at the last token.")
        var factor: Float = FeatureScreenSettings().factor
        @Option(name: .customLong("logit-lens-k"), help: "Logit-lens tokens per feature.")
        var logitLensK: Int = FeatureScreenSettings().logitLensTokens
        @Option(name: .customLong("batch-size"), help: "Features scored per forward pass.")
        var batchSize: Int = FeatureScreenSettings().batchSize
        @Flag(help: "Print a JSON list of {feature, output_score, input_score} to stdout.")
        var json = false
        @OptionGroup var quietOptions: QuietOptions

        func run() async throws {
            var settings = FeatureScreenSettings()
            settings.neutralPrompt = prompt
            settings.factor = factor
            settings.logitLensTokens = logitLensK
            settings.batchSize = batchSize
            try ScreenRun.screen(model: models.modelPath, sae: models.sae, hook: models.hook, database: databaseOptions.db,
                                 features: features, settings: settings, json: json, quiet: quietOptions.quiet)
        }
    }
}
