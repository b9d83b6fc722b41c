import CKernels
import Foundation
import Randomness
import Tensor

/// How to pick each next token.
public struct GenerateParameters: Codable, Sendable, Equatable {
    /// Most tokens generated per sequence (EOS excluded).
    public var maxTokens: Int
    /// Softmax temperature; 0 means greedy (argmax, lowest id on ties).
    public var temperature: Float
    /// Keep only the k most likely tokens before sampling (0 = all).
    public var topK: Int
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches p (1 = all).
    public var topP: Float
    /// CTRL-style repetition penalty (Keskar et al. 2019) over prompt and generated tokens: a seen token's logit
    /// is divided by the penalty when positive, multiplied when negative (1 = off).
    public var repetitionPenalty: Float
    /// OpenAI-style frequency penalty: logit −= penalty · (times the token was generated so far) (0 = off).
    public var frequencyPenalty: Float
    /// Stop a sequence when it produces the end-of-sequence token.
    public var stopAtEOS: Bool

    enum CodingKeys: String, CodingKey {
        case maxTokens = "max_tokens", temperature, topK = "top_k", topP = "top_p"
        case repetitionPenalty = "repetition_penalty", frequencyPenalty = "frequency_penalty", stopAtEOS = "stop_at_eos"
    }

    public init(maxTokens: Int = 64, temperature: Float = 0, topK: Int = 0, topP: Float = 1,
                repetitionPenalty: Float = 1, frequencyPenalty: Float = 0, stopAtEOS: Bool = true) {
        self.maxTokens = maxTokens; self.temperature = temperature; self.topK = topK; self.topP = topP
        self.repetitionPenalty = repetitionPenalty; self.frequencyPenalty = frequencyPenalty; self.stopAtEOS = stopAtEOS
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GenerateParameters()
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) ?? d.maxTokens
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? d.topK
        topP = try c.decodeIfPresent(Float.self, forKey: .topP) ?? d.topP
        repetitionPenalty = try c.decodeIfPresent(Float.self, forKey: .repetitionPenalty) ?? d.repetitionPenalty
        frequencyPenalty = try c.decodeIfPresent(Float.self, forKey: .frequencyPenalty) ?? d.frequencyPenalty
        stopAtEOS = try c.decodeIfPresent(Bool.self, forKey: .stopAtEOS) ?? d.stopAtEOS
        try validate()
    }

    /// Throws `invalidArgument` naming the field that is out of range.
    public func validate() throws {
        func bad(_ field: String, _ reason: String) -> LanguageModelError { .invalidArgument(argument: field, reason: reason) }
        guard maxTokens >= 0 else { throw bad("max_tokens", "must be ≥ 0, got \(maxTokens)") }
        guard temperature >= 0, temperature.isFinite else { throw bad("temperature", "must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw bad("top_k", "must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw bad("top_p", "must be in (0, 1], got \(topP)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else { throw bad("repetition_penalty", "must be > 0, got \(repetitionPenalty)") }
        guard frequencyPenalty.isFinite else { throw bad("frequency_penalty", "must be finite") }
    }
}

/// Why a sequence stopped.
public enum FinishReason: String, Codable, Sendable {
    case eos
    case maxTokens = "max_tokens"
}

/// One generated sequence.
public struct GenerationResult: Sendable, Equatable, Codable {
    public var promptIDs: [Int]
    /// Generated ids, without the end-of-sequence token.
    public var generatedIDs: [Int]
    public var text: String
    public var finishReason: FinishReason

    enum CodingKeys: String, CodingKey {
        case promptIDs = "prompt_ids", generatedIDs = "generated_ids", text, finishReason = "finish_reason"
    }

    public init(promptIDs: [Int], generatedIDs: [Int], text: String, finishReason: FinishReason) {
        self.promptIDs = promptIDs; self.generatedIDs = generatedIDs; self.text = text; self.finishReason = finishReason
    }
}

/// Picks the next token from logits. Greedy when temperature is 0; otherwise softmax(logits / T) restricted to
/// top-k, then to the top-p nucleus, sampled with the sequence's own seeded generator.
public struct TokenSampler {
    public var parameters: GenerateParameters
    public var random: SplitMix64
    /// How often each token id occurs in prompt + generated text (repetition penalty) and in generated text
    /// (frequency penalty).
    var seen: [Int: Int] = [:]
    var generated: [Int: Int] = [:]

    public init(parameters: GenerateParameters, seed: UInt64, prompt: [Int]) {
        self.parameters = parameters
        self.random = SplitMix64(seed: seed)
        for t in prompt { seen[t, default: 0] += 1 }
    }

    /// Records a generated token for the penalties.
    public mutating func accept(_ token: Int) {
        seen[token, default: 0] += 1
        generated[token, default: 0] += 1
    }

    /// The next token for `logits` (modified in place by the penalties).
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int {
        let p = parameters
        if p.repetitionPenalty != 1 {
            for (t, _) in seen where t < logits.count {
                logits[t] = logits[t] > 0 ? logits[t] / p.repetitionPenalty : logits[t] * p.repetitionPenalty
            }
        }
        if p.frequencyPenalty != 0 {
            for (t, n) in generated where t < logits.count { logits[t] -= p.frequencyPenalty * Float(n) }
        }
        if p.temperature == 0 {
            // The loop `if logits[i] > best` from −∞, vectorised (`ck_argmax`, the same index on every path).
            return logits.count == 0 ? 0 : ck_argmax(logits.baseAddress!, logits.count, 1)
        }
        // Candidates sorted by logit (descending, ties by id), cut to top-k.
        var order = Array(0..<logits.count)
        let k = p.topK > 0 ? min(p.topK, logits.count) : logits.count
        if k < logits.count {
            order.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
            order.removeLast(logits.count - k)
        } else {
            order.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        }
        let maxLogit = Double(logits[order[0]])
        var probs = order.map { exp((Double(logits[$0]) - maxLogit) / Double(p.temperature)) }
        var total = probs.reduce(0, +)
        if p.topP < 1 {
            var cumulative = 0.0
            var keep = probs.count
            for (i, q) in probs.enumerated() {
                cumulative += q / total
                if cumulative >= Double(p.topP) { keep = i + 1; break }
            }
            probs.removeLast(probs.count - keep)
            total = probs.reduce(0, +)
        }
        let u = random.nextUnit() * total
        var acc = 0.0
        for (i, q) in probs.enumerated() {
            acc += q
            if u < acc { return order[i] }
        }
        return order[probs.count - 1]
    }
}
