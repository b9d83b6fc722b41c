import Analysis
import ArgumentParser
import Study

extension Semprog {
    /// `semprog judge`: AxBench-style steering scores (concept, instruction, fluency, each 0–2, and their harmonic
    /// mean) of every steered output, cached in the database; prints the best factor per feature and the mean.
    struct Judge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "judge",
            abstract: "Steering scores per output (AxBench: concept, instruction, fluency) by an offline proxy or an LLM judge",
            discussion: """
                offline (default) is a PROXY, not AxBench's judge: concept = cosine(output, explanation) ≥ 0.2 → 1, \
                ≥ 0.4 → 2; instruction = cosine(output, the prompt's unsteered answer) ≥ 0.3 → 1, ≥ 0.6 → 2 \
                (all-MiniLM-L6-v2); fluency = 0 if the stored analysis calls the output degraded, else 2 when its \
                perplexity under the unsteered model is ≤ 10, else 1 (run 'semprog analyze' first; --model there \
                adds perplexity). llm asks AxBench's three rubric prompts of any OpenAI-compatible endpoint \
                (--llm-base-url/OPENAI_BASE_URL, --llm-model/SEMPROG_LLM_MODEL, --llm-api-key/OPENAI_API_KEY); a \
                reply without "Rating: [[0-2]]" is refused and asked again (at most 3 times). Scores are cached \
                per (generation, judge, rubric version and inputs): a rerun asks nothing twice. The best factor of \
                each feature is chosen on the first half of the prompts (by id) and reported on the other half.
                """)

        @OptionGroup var database: DatabaseOptions
        var db: String { database.db }

        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        @Option(name: .long, help: "offline (default: the proxy) or llm.")
        var judge: String = "offline"

        @Option(name: .customLong("embedding-model"), help: "all-MiniLM-L6-v2 directory for the proxy (default: models/all-MiniLM-L6-v2).")
        var embeddingModel: String?

        @OptionGroup var endpoint: LLMEndpointOptions

        @Flag(name: .long, help: "Print the counts and the summary as JSON.")
        var json = false

        @OptionGroup var progress: QuietOptions
        var quiet: Bool { progress.quiet }

        func validate() throws {
            guard ["offline", "llm"].contains(judge) else {
                throw ValidationError("--judge: unknown judge '\(judge)'; use offline or llm")
            }
            try database.requireExisting()
        }

        func run() async throws {
            try await Terminal.reportingErrors(prefix: "error: ") {
                let engine: SteeringJudgeEngine
                if judge == "llm" {
                    engine = .llm(try LLMJudge(settings: try endpoint.settings()))
                } else {
                    engine = .proxy(embeddingModel: embeddingModel ?? DefaultPaths.embeddingModel, thresholds: .standard)
                }
                try await JudgeRun.judge(database: db, sweep: sweep, engine: engine, json: json, quiet: quiet)
            }
        }
    }
}
