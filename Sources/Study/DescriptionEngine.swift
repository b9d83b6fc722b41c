import Analysis
import Foundation
import LanguageModel

/// One way of describing generations: `name` goes to `descriptions.describer`, `identity` into the cache key
/// (what makes two descriptions of the same pair comparable), `describe` maps (baseline, steered) pairs to texts.
public struct DescriptionEngine: Sendable {
    public var name: String
    public var identity: String
    /// Pairs handed to `describe` at once.
    public var batchSize: Int
    public var describe: @Sendable ([DescriptionPair]) async throws -> [String]

    /// A per-pair describer (contrastive, llm) run on up to `concurrency` pairs at once.
    public static func perPair(_ describer: any Describer, name: String, identity: String, concurrency: Int) -> DescriptionEngine {
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
    public static func local(_ lm: LlamaModel, maxTokens: Int) -> DescriptionEngine {
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

public struct DescriptionPair: Sendable {
    public var baseline: String
    public var steered: String
}
