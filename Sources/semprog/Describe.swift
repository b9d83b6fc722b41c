import ArgumentParser
import Study

extension Semprog {
    /// `semprog describe`: how each steered output differs from its prompt's baseline, by one describer; the
    /// descriptions are cached in the database keyed by describer + inputs, so a rerun does no work.
    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe",
            abstract: "Describe how steered outputs differ from baselines (contrastive, llm or local describer)",
            discussion: """
                Describers: contrastive (offline, default: words and bigrams over-represented in the output \
                relative to the baseline, log-odds with an informative Dirichlet prior), llm (any OpenAI-compatible \
                chat-completions endpoint: --llm-base-url/OPENAI_BASE_URL, --llm-model/SEMPROG_LLM_MODEL, \
                --llm-api-key/OPENAI_API_KEY), local (the same question answered by the local SmolLM2 instruct \
                model, --model). Each description is stored with a cache key: SHA-256 of the describer's identity \
                (name, model, endpoint, prompt version) and the (baseline, output) pair. Generations already \
                described under the same key are skipped; the same pair described in another sweep is reused.
                """)

        @OptionGroup var databaseOptions: DatabaseOptions

        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        @Option(name: .long, help: "contrastive (default), llm or local.")
        var describer: String = "contrastive"

        @OptionGroup var endpoint: LLMEndpointOptions

        @OptionGroup var modelOptions: LanguageModelOptions

        @Option(name: .customLong("max-tokens"), help: "Longest local description, in tokens.")
        var maxTokens: Int = 32

        @OptionGroup var threadOptions: ThreadOptions

        @OptionGroup var quietOptions: QuietOptions

        func validate() throws {
            guard ["contrastive", "llm", "local"].contains(describer) else {
                throw ValidationError("--describer: unknown describer '\(describer)'; use contrastive, llm or local")
            }
            guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
            try databaseOptions.requireExisting()
        }

        func run() async throws {
            try await Terminal.reportingErrors(prefix: "error: ") {
                let choice: DescriberChoice
                switch describer {
                case "contrastive": choice = .contrastive
                case "llm": choice = .llm(try endpoint.settings(), concurrency: endpoint.concurrency)
                default: choice = .local(model: modelOptions.modelPath, maxTokens: maxTokens, threads: threadOptions.count)
                }
                try await DescribeRun.describe(database: databaseOptions.db, sweep: sweep, describer: choice, quiet: quietOptions.quiet)
            }
        }
    }
}
