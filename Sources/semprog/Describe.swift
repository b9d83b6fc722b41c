import Analysis
import ArgumentParser
import Foundation
import LanguageModel
import ModelFormats
import Store
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
        var db: String { databaseOptions.db }

        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        @Option(name: .long, help: "contrastive (default), llm or local.")
        var describer: String = "contrastive"

        @OptionGroup var endpoint: LLMEndpointOptions
        var concurrency: Int { endpoint.concurrency }

        @OptionGroup var modelOptions: LanguageModelOptions
        var model: String? { modelOptions.model }

        @Option(name: .customLong("max-tokens"), help: "Longest local description, in tokens.")
        var maxTokens: Int = 32

        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int? { threadOptions.threads }

        @OptionGroup var quietOptions: QuietOptions
        var quiet: Bool { quietOptions.quiet }

        func validate() throws {
            guard ["contrastive", "llm", "local"].contains(describer) else {
                throw ValidationError("--describer: unknown describer '\(describer)'; use contrastive, llm or local")
            }
            guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db): no such database") }
        }

        func run() async throws {
            do {
                let store = try StoreDatabase(path: db)
                let engine = try makeEngine()
                let counts = try await DescribeRun(store: store, engine: engine, quiet: quiet).run(sweepName: sweep)
                print("described \(counts.total) generations of sweep '\(counts.sweep)' with '\(engine.name)': "
                      + "\(counts.new) new (\(counts.calls) describer calls), \(counts.reused) reused from the cache, "
                      + "\(counts.already) already described")
            } catch {
                Terminal.error("error: " + error.localizedDescription)
                throw ExitCode.failure
            }
        }

        func makeEngine() throws -> DescriptionEngine {
            switch describer {
            case "contrastive":
                return .perPair(ContrastiveDescriber(), name: "contrastive", identity: "contrastive/v2", concurrency: 1)
            case "llm":
                let settings = try endpoint.settings()
                let llm = try LLMDescriber(settings: settings)
                // Stored as describer "llm"; model and endpoint are part of the cache key.
                return .perPair(llm, name: "llm", identity: "llm/\(settings.model)@\(settings.baseURL.absoluteString)/t\(settings.temperature)/v1",
                                concurrency: concurrency)
            default:
                let path = model ?? DefaultPaths.languageModel
                guard FileManager.default.fileExists(atPath: path) else {
                    throw CLIError.invalidArgument("--model: \(path): no such file (the local describer needs the SmolLM2 instruct GGUF)")
                }
                let lm = try LlamaModel.load(path: path, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
                return .local(lm, maxTokens: maxTokens)
            }
        }
    }
}
