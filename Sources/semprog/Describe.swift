import Analysis
import ArgumentParser
import Foundation
import LanguageModel
import ModelFormats
import Store

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

        @Option(name: .long, help: "The semprog database.")
        var db: String

        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        @Option(name: .long, help: "contrastive (default), llm or local.")
        var describer: String = "contrastive"

        @Option(name: .customLong("llm-base-url"), help: "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL).")
        var llmBaseURL: String?

        @Option(name: .customLong("llm-model"), help: "Model name for the llm describer (default: $SEMPROG_LLM_MODEL).")
        var llmModel: String?

        @Option(name: .customLong("llm-api-key"), help: "API key for the llm describer (default: $OPENAI_API_KEY; may be empty for local servers).")
        var llmAPIKey: String?

        @Option(name: .long, help: "Requests (llm) in flight at once.")
        var concurrency: Int = 4

        @Option(name: .long, help: "Seconds before an llm request times out.")
        var timeout: Double = 60

        @Option(name: .long, help: "GGUF model for the local describer (default: models/SmolLM2-135M-Instruct.Q4_1.gguf).")
        var model: String?

        @Option(name: .customLong("max-tokens"), help: "Longest local description, in tokens.")
        var maxTokens: Int = 32

        @Option(name: .long, help: "Threads for the local model (default: all cores).")
        var threads: Int?

        @Flag(name: .long, help: "No progress line.")
        var quiet = false

        func validate() throws {
            guard ["contrastive", "llm", "local"].contains(describer) else {
                throw ValidationError("--describer: unknown describer '\(describer)'; use contrastive, llm or local")
            }
            guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
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
                var settings = try LLMDescriber.Settings.resolve(baseURL: llmBaseURL, model: llmModel, apiKey: llmAPIKey)
                settings.timeoutSeconds = timeout
                settings.maxConcurrentRequests = concurrency
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

/// One way of describing generations: `name` goes to `descriptions.describer`, `identity` into the cache key
/// (what makes two descriptions of the same pair comparable), `describe` maps (baseline, steered) pairs to texts.
struct DescriptionEngine: Sendable {
    var name: String
    var identity: String
    /// Pairs handed to `describe` at once.
    var batchSize: Int
    var describe: @Sendable ([DescriptionPair]) async throws -> [String]

    /// A per-pair describer (contrastive, llm) run on up to `concurrency` pairs at once.
    static func perPair(_ describer: any Describer, name: String, identity: String, concurrency: Int) -> DescriptionEngine {
        DescriptionEngine(name: name, identity: identity, batchSize: max(32, concurrency * 4)) { pairs in
            var results = [String](repeating: "", count: pairs.count)
            var next = 0
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                func submit() {
                    guard next < pairs.count else { return }
                    let i = next, pair = pairs[i]
                    next += 1
                    group.addTask { (i, try await describer.describe(baseline: pair.baseline, steered: pair.steered)) }
                }
                for _ in 0..<max(1, concurrency) { submit() }
                while let (i, text) = try await group.next() {
                    results[i] = text
                    submit()
                }
            }
            return results
        }
    }

    /// The describer prompt answered by the local instruct model (greedy, chat template), 16 pairs per batch.
    static func local(_ lm: LlamaModel, maxTokens: Int) -> DescriptionEngine {
        let file = URL(fileURLWithPath: lm.path).lastPathComponent
        let size = (try? FileManager.default.attributesOfItem(atPath: lm.path)[.size] as? Int) ?? 0
        return DescriptionEngine(name: "local", identity: "local/\(file)@\(size)/greedy-\(maxTokens)/v2", batchSize: 16) { pairs in
            let prompts = try pairs.map { try lm.tokenizer.chatPromptIDs(user: describerPrompt(baseline: $0.baseline, steered: $0.steered)) }
            let results = try lm.generate(prompts: prompts, parameters: GenerateParameters(maxTokens: maxTokens, temperature: 0),
                                          seeds: pairs.map { _ in 0 }, hook: nil)
            return results.map(\.text)
        }
    }
}

struct DescriptionPair: Sendable {
    var baseline: String
    var steered: String
}

/// Describes the generations of a sweep that have no description under the engine's cache key yet.
struct DescribeRun {
    let store: StoreDatabase
    let engine: DescriptionEngine
    var quiet = false

    struct Counts {
        var sweep: String
        var total: Int
        /// Generations that got a description in this run (computed or reused).
        var new: Int
        /// Distinct (baseline, output) pairs sent to the describer.
        var calls: Int
        /// Generations whose description was found under the same key in another generation or sweep.
        var reused: Int
        /// Generations that already had one.
        var already: Int
    }

    /// The cache key of a (baseline, output) pair for `identity`: SHA-256 hex of identity ␟ baseline ␟ output.
    static func cacheKey(identity: String, baseline: String, steered: String) -> String {
        SHA256Digest.hex(of: Data((identity + "\u{1F}" + baseline + "\u{1F}" + steered).utf8))
    }

    /// A stored description: trimmed, never empty.
    static func clean(_ text: String) -> String {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? "(no description)" : t
    }

    func run(sweepName: String?) async throws -> Counts {
        let contents = try store.sweepContents(sweepName)
        let sweep = contents.sweep
        guard !contents.generations.isEmpty else { throw PipelineError.noGenerations(sweep: sweep.name) }
        let baselineText = Dictionary(contents.baselines.map { ($0.promptId, $0.text) }, uniquingKeysWith: { a, _ in a })
        let missing = Array(Set(contents.generations.map(\.promptId).filter { baselineText[$0] == nil })).sorted()
        guard missing.isEmpty else {
            throw PipelineError.missingBaselines(sweep: sweep.name, prompts: missing.map { AnalysisPipeline.preview(contents.prompts[$0] ?? "#\($0)") })
        }
        let keys = contents.generations.map {
            Self.cacheKey(identity: engine.identity, baseline: baselineText[$0.promptId]!, steered: $0.text)
        }
        let done = try store.describedKeys(sweepId: sweep.id!, describer: engine.name)
        let todo = contents.generations.indices.filter { !done.contains(DescribedKey(generationId: contents.generations[$0].id!, cacheKey: keys[$0])) }
        var counts = Counts(sweep: sweep.name, total: contents.generations.count, new: 0, calls: 0, reused: 0,
                            already: contents.generations.count - todo.count)
        guard !todo.isEmpty else { return counts }

        // Generations waiting for each key, keys in order of first appearance.
        var waiting: [String: [Int64]] = [:]
        var order: [String] = []
        var pairOf: [String: DescriptionPair] = [:]
        for i in todo {
            let g = contents.generations[i], key = keys[i]
            if waiting[key] == nil { order.append(key); pairOf[key] = DescriptionPair(baseline: baselineText[g.promptId]!, steered: g.text) }
            waiting[key, default: []].append(g.id!)
        }
        // Pairs described before (any sweep) are reused.
        let known = try store.descriptionTexts(describer: engine.name, cacheKeys: order)
        var reused: [DescriptionRecord] = []
        for key in order { if let text = known[key] { for id in waiting[key]! { reused.append(DescriptionRecord(generationId: id, describer: engine.name, cacheKey: key, text: text)) } } }
        try store.saveDescriptions(reused)
        counts.reused = reused.count
        counts.new += reused.count
        let remaining = order.filter { known[$0] == nil }

        let progress = ProgressLine("describe", quiet: quiet)
        for start in stride(from: 0, to: remaining.count, by: engine.batchSize) {
            let chunk = Array(remaining[start..<min(start + engine.batchSize, remaining.count)])
            let texts = try await engine.describe(chunk.map { pairOf[$0]! })
            var records: [DescriptionRecord] = []
            for (key, text) in zip(chunk, texts) {
                for id in waiting[key]! { records.append(DescriptionRecord(generationId: id, describer: engine.name, cacheKey: key, text: Self.clean(text))) }
            }
            try store.saveDescriptions(records)  // one transaction per chunk: an interrupted run keeps its work
            counts.calls += chunk.count
            counts.new += records.count
            progress.update(done: start + chunk.count, total: remaining.count, unit: "pairs")
        }
        progress.finish()
        return counts
    }
}
