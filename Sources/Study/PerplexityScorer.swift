import Foundation
import LanguageModel
import Tokenization

/// One output to score: its prompt (as the sweep sent it) and what was generated.
public struct PerplexityRequest: Sendable {
    public var prompt: String
    /// Whether the sweep wrapped the prompt in the chat template.
    public var chat: Bool
    /// The chat template the sweep used (its settings' `chat_template`); nil: the model's own.
    public var chatTemplate: String? = nil
    /// The generated token ids as stored by the sweep; nil (imported sweeps) re-encodes `text`.
    public var tokenIDs: [Int]?
    public var text: String
}

/// Perplexity of steered outputs under the unsteered language model (an input of the degradation score):
/// exp of the mean negative log-likelihood (nats) of the generated tokens, teacher-forced, given the prompt's
/// tokens exactly as the sweep encoded them (`SweepRunner.promptTokens`: the chat template when the sweep used
/// it). The stored token ids are scored when there are any, so the value is that of the tokens the model
/// produced; an imported sweep's text is re-encoded (without parsing special tokens). nil for an empty output.
/// Items are scored `batchSize` at a time through `LlamaModel.perplexities`, many sequences per forward pass.
public enum PerplexityScorer {
    public typealias Batch = @Sendable (_ requests: [PerplexityRequest], _ progress: (Int) -> Void) throws -> [Double?]

    public static func make(modelPath: String, threads: Int, batchSize: Int = 32) throws -> Batch {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw StudyError.invalidArgument("--model: \(modelPath): no such file")
        }
        let lm = try LlamaModel.load(path: modelPath, threads: threads)
        return { requests, progress in
            var contextCache: [String: [Int]] = [:]
            var items: [(context: [Int], continuation: [Int])] = [], positions: [Int] = []
            for (i, r) in requests.enumerated() {
                let key = (r.chat ? "1" + (r.chatTemplate ?? "") : "0") + "\u{1F}" + r.prompt
                let context = try contextCache[key] ?? (!r.chat ? lm.tokenizer.encode(r.prompt)
                    : r.chatTemplate.map { lm.tokenizer.encode(try ChatTemplate($0, origin: "the sweep's chat_template setting")
                        .render(messages: [ChatTemplate.message(role: "user", content: r.prompt)], variables: lm.tokenizer.templateVariables)) }
                    ?? lm.tokenizer.chatPromptIDs(user: r.prompt))
                contextCache[key] = context
                let continuation = r.tokenIDs ?? lm.tokenizer.encode(r.text, parseSpecial: false)
                guard !context.isEmpty, !continuation.isEmpty else { continue }
                items.append((context, continuation)); positions.append(i)
            }
            var out = [Double?](repeating: nil, count: requests.count)
            for start in stride(from: 0, to: items.count, by: max(1, batchSize)) {
                let end = min(items.count, start + max(1, batchSize))
                let values = try lm.perplexities(Array(items[start..<end]))
                for (k, v) in values.enumerated() { out[positions[start + k]] = v }
                progress(end)
            }
            return out
        }
    }
}
