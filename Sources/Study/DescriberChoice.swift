import Analysis
import Foundation
import LanguageModel
import Store

/// Which describer `semprog describe` runs, with what it needs.
public enum DescriberChoice: Sendable {
    /// Offline: words and bigrams over-represented in the output relative to the baseline.
    case contrastive
    /// An OpenAI-compatible chat-completions endpoint; `concurrency` requests in flight.
    case llm(LLMDescriber.Settings, concurrency: Int)
    /// The same question answered by the local instruct model (greedy, chat template), at most `maxTokens`.
    case local(model: String, maxTokens: Int, threads: Int)

    /// The engine: its stored name, its identity in the cache key (what makes two descriptions of the same pair
    /// comparable: the describer, its model and endpoint, the prompt version) and how it describes. The local
    /// model is loaded here; a missing file is refused by name.
    public func engine() throws -> DescriptionEngine {
        switch self {
        case .contrastive:
            return .perPair(ContrastiveDescriber(), name: "contrastive", identity: "contrastive/v2", concurrency: 1)
        case let .llm(settings, concurrency):
            // Stored as describer "llm"; model and endpoint are part of the cache key.
            return .perPair(try LLMDescriber(settings: settings), name: "llm",
                            identity: "llm/\(settings.model)@\(settings.baseURL.absoluteString)/t\(settings.temperature)/v1",
                            concurrency: concurrency)
        case let .local(model, maxTokens, threads):
            guard FileManager.default.fileExists(atPath: model) else {
                throw StudyError.invalidArgument("--model: \(model): no such file (the local describer needs the SmolLM2 instruct GGUF)")
            }
            return .local(try LlamaModel.load(path: model, threads: threads), maxTokens: maxTokens)
        }
    }
}

extension DescribeRun {
    /// `semprog describe`: opens the database, describes what is not described yet under the engine's key, and
    /// prints the counts.
    public static func describe(database: String, sweep: String?, describer: DescriberChoice, quiet: Bool,
                                console: StudyConsole = .standard) async throws {
        let store = try StoreDatabase(path: database)
        let engine = try describer.engine()
        let counts = try await DescribeRun(store: store, engine: engine, quiet: quiet).run(sweepName: sweep)
        console.output("described \(counts.total) generations of sweep '\(counts.sweep)' with '\(engine.name)': "
                       + "\(counts.new) new (\(counts.calls) describer calls), \(counts.reused) reused from the cache, "
                       + "\(counts.already) already described")
    }
}
