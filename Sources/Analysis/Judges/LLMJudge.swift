import Foundation

/// AxBench's judge rubric: the three prompts its `LMJudgeEvaluator` sends, each answered with an explanation and
/// "Rating: [[score]]" on 0…2 (stanfordnlp/axbench, `axbench/evaluators/prompt_templates.py`:
/// `UNIDIRECTIONAL_PAIRWISE_EVALUATION_{CONCEPT_RELEVANCE,INSTRUCTION_RELEVANCE,FLUENCY}_TEMPLATE`). The texts
/// are AxBench's, so that scores are comparable with their table; `version` goes into every cache key.
public enum SteeringRubric {
    /// Bumped whenever a template or the parsing changes: cached scores of another version are not reused.
    public static let version = "axbench-lm-judge-v1"

    /// The three ratings, in the order they are asked.
    public enum Aspect: String, CaseIterable, Sendable {
        case concept, instruction, fluency
    }

    /// The concept-relevance prompt.
    public static func conceptPrompt(concept: String, output: String) -> String {
        """
        [System]
        Please act as an impartial judge and evaluate whether the specified concept is \
        presented in the sentence fragment provided below. Focus solely on whether the concept is \
        clearly incorporated, without regard for grammar or logical coherence.

        Begin your evaluation by providing a short explanation of whether the concept is \
        clearly incorporated. Point out references to the concept in the fragment, noting any \
        minimal or awkward incorporations. After providing your explanation, rate the concept's \
        relevance on a scale from 0 to 2, where 0 indicates the concept is not present at all, \
        1 indicates the concept is somewhat present but minimally or awkwardly incorporated, \
        and 2 indicates the concept is more fully and effectively incorporated, with stronger and \
        more natural integration. Provide your rating using this exact format: "Rating: [[score]]".

        [Concept Start]
        \(concept)
        [Concept End]

        [Sentence Fragment Start]
        \(output)
        [Sentence Fragment End]

        """
    }

    /// The instruction-relevance prompt.
    public static func instructionPrompt(instruction: String, output: String) -> String {
        """
        [System]
        Please act as an impartial judge and evaluate whether the \
        sentence fragment provided below is related to the instruction. Focus solely \
        on the degree of relatedness in terms of topic, regardless of grammar, coherence, or \
        informativeness.

        Begin your evaluation by providing a brief explanation of whether the \
        sentence is related to the instruction, and point out references \
        related to the instruction. After providing your explanation, rate the instruction \
        relevance on a scale from 0 to 2, where 0 indicates the sentence is unrelated to the \
        instruction, 1 indicates it is somewhat related but only minimally or indirectly relevant in terms of topic, \
        and 2 indicates it is more clearly and directly related to the instruction. Provide your rating \
        using this exact format: "Rating: [[score]]".

        [Instruction Start]
        \(instruction)
        [Instruction End]

        [Sentence Fragment Start]
        \(output)
        [Sentence Fragment End]

        """
    }

    /// The fluency prompt.
    public static func fluencyPrompt(output: String) -> String {
        """
        [System]
        Please act as an impartial judge and evaluate the fluency of the \
        sentence fragment provided below. Focus solely on fluency, disregarding \
        its completeness, relevance, coherence with any broader context, or informativeness.

        Begin your evaluation by briefly describing the fluency of the sentence, noting any \
        unnatural phrasing, awkward transitions, grammatical errors, or repetitive structures that \
        may hinder readability. After providing your explanation, rate the sentence's fluency \
        on a scale from 0 to 2, where 0 indicates the sentence is not fluent and highly unnatural \
        (e.g., incomprehensible or repetitive), 1 indicates it is somewhat fluent but contains noticeable \
        errors or awkward phrasing, and 2 indicates the sentence is fluent and almost perfect. \
        Provide your rating using this exact format: "Rating: [[score]]".

        [Sentence Fragment Start]
        \(output)
        [Sentence Fragment End]

        """
    }

    /// The prompt of one aspect.
    public static func prompt(_ aspect: Aspect, concept: String, instruction: String, output: String) -> String {
        switch aspect {
        case .concept: conceptPrompt(concept: concept, output: output)
        case .instruction: instructionPrompt(instruction: instruction, output: output)
        case .fluency: fluencyPrompt(output: output)
        }
    }

    /// The rating in a judge's reply, as AxBench reads it (`_get_rating_from_completion`): the text after the last
    /// "Rating:", its first line, without brackets, a trailing period, quotes or asterisks, as a number; it must be
    /// finite and within 0…2. Unlike AxBench — which records 0 for a reply it cannot read — nil here: the caller
    /// refuses the reply and asks again.
    public static func parseRating(_ reply: String) -> Double? {
        guard let range = reply.range(of: "Rating:", options: .backwards) else { return nil }
        var text = String(reply[range.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
        text = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
        text = text.replacingOccurrences(of: "[", with: "").replacingOccurrences(of: "]", with: "")
        while text.hasSuffix(".") { text.removeLast() }
        text = text.trimmingCharacters(in: CharacterSet(charactersIn: "\"'*").union(.whitespaces))
        guard !text.isEmpty, let value = Double(text), value.isFinite, (0...2).contains(value) else { return nil }
        return value
    }
}

/// Errors of the steering judges; every case names the endpoint, aspect or argument involved.
public enum SteeringJudgeError: Error, LocalizedError, Equatable {
    /// The judge's replies to one prompt never contained a readable rating.
    case unreadableRating(url: String, aspect: String, attempts: Int, lastReply: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadableRating(url, aspect, attempts, lastReply):
            "\(url): the judge's \(aspect) reply had no rating \"Rating: [[0|1|2]]\" within 0…2 after \(attempts) attempt(s); last reply: \(lastReply)"
        }
    }
}

/// AxBench's LLM judge over any OpenAI-compatible chat-completions endpoint, configured exactly as the llm
/// describer (`LLMDescriber.Settings`: base URL, model, key, timeout, HTTP retries with backoff, concurrency).
///
/// For one steered output it asks the three `SteeringRubric` prompts, each as the single user message (as AxBench
/// does; no system message), at the settings' temperature (0 by default for reproducibility; AxBench uses the
/// client's default), and reads each reply's rating. A reply without a readable rating in 0…2 is refused and the
/// prompt asked again, at most `maxUnreadableRetries` more times; then `SteeringJudgeError.unreadableRating`
/// names the aspect. HTTP failures are retried by the describer's policy and reported as `DescriberError`.
public final class LLMJudge: Sendable {
    public let settings: LLMDescriber.Settings
    /// Extra attempts after the first for a reply without a readable rating.
    public let maxUnreadableRetries: Int
    private let transport: LLMDescriber
    private let limiter: ConcurrencyLimiter

    /// `settings.maxTokens` below 256 is raised to 256: the rubric asks for an explanation before the rating.
    public init(settings: LLMDescriber.Settings, maxUnreadableRetries: Int = 2) throws {
        var s = settings
        s.maxTokens = max(s.maxTokens, 256)
        guard maxUnreadableRetries >= 0 else {
            throw DescriberError.invalidArgument(name: "maxUnreadableRetries", reason: "must be at least 0")
        }
        self.settings = s
        self.maxUnreadableRetries = maxUnreadableRetries
        transport = try LLMDescriber(settings: s)
        limiter = ConcurrencyLimiter(limit: s.maxConcurrentRequests)
    }

    /// What makes two judgements comparable: model, endpoint, temperature and rubric version.
    public var identity: String {
        "llm/\(settings.model)@\(settings.baseURL.absoluteString)/t\(settings.temperature)/\(SteeringRubric.version)"
    }

    /// The chat-completions request body of one rubric prompt.
    func requestBody(prompt: String) throws -> Data {
        let object: [String: Any] = [
            "model": settings.model,
            "messages": [["role": "user", "content": prompt]],
            "temperature": settings.temperature,
            "max_tokens": settings.maxTokens,
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// The rating of one aspect: asks until a reply has a readable rating (bounded, see the type's comment).
    public func rate(_ aspect: SteeringRubric.Aspect, concept: String, instruction: String, output: String) async throws -> Double {
        let body = try requestBody(prompt: SteeringRubric.prompt(aspect, concept: concept, instruction: instruction, output: output))
        var lastReply = ""
        for _ in 0...maxUnreadableRetries {
            await limiter.acquire()
            let reply: String
            do {
                reply = try await transport.complete(body: body)
                await limiter.release()
            } catch DescriberError.emptyDescription {
                await limiter.release()
                lastReply = "(empty)"
                continue
            } catch {
                await limiter.release()
                throw error
            }
            if let rating = SteeringRubric.parseRating(reply) { return rating }
            lastReply = LLMDescriber.snippet(Data(reply.utf8))
        }
        throw SteeringJudgeError.unreadableRating(url: transport.endpoint.absoluteString, aspect: aspect.rawValue,
                                                  attempts: maxUnreadableRetries + 1, lastReply: lastReply)
    }

    /// The three ratings of one steered output (asked concurrently, within the concurrency limit).
    public func rate(concept: String, instruction: String, output: String) async throws -> SteeringRatings {
        async let c = rate(.concept, concept: concept, instruction: instruction, output: output)
        async let i = rate(.instruction, concept: concept, instruction: instruction, output: output)
        async let f = rate(.fluency, concept: concept, instruction: instruction, output: output)
        return try await SteeringRatings(concept: c, instruction: i, fluency: f)
    }
}
