import Foundation
import Randomness
import Testing
import TestSupport
@testable import Analysis
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Contrastive describer

@Suite struct ContrastiveDescriberTests {
    static let filler = ["river", "stone", "music", "quietly", "window", "history", "garden", "runs", "bright",
                         "table", "walked", "evening", "paper", "city", "green", "letter", "morning", "slowly"]

    /// Seeded filler text of `count` words, with `planted` inserted `plantCount` times at seeded positions.
    static func text(seed: UInt64, count: Int, planted: String? = nil, plantCount: Int = 0) -> String {
        var rng = SplitMix64(seed: seed)
        var words = (0..<count).map { _ in filler[Int(rng.next() % UInt64(filler.count))] }
        if let planted {
            for _ in 0..<plantCount { words.insert(planted, at: Int(rng.next() % UInt64(words.count + 1))) }
        }
        return words.joined(separator: " ")
    }

    @Test func plantedWordTopsTheSteeredSide() async throws {
        let baseline = Self.text(seed: 1, count: 120)
        let steered = Self.text(seed: 2, count: 120, planted: "dragon", plantCount: 10)
        let terms = contrastiveTerms(target: [steered], reference: [baseline])
        #expect(terms.first?.term == "dragon")
        #expect((terms.first?.z ?? 0) > 1.96)
        let description = try await ContrastiveDescriber().describe(baseline: baseline, steered: steered)
        #expect(description.hasPrefix("more about: dragon"), "\(description)")
    }

    @Test func plantedWordInBaselineIsLessAbout() async throws {
        let baseline = Self.text(seed: 3, count: 120, planted: "volcano", plantCount: 10)
        let steered = Self.text(seed: 4, count: 120)
        let terms = contrastiveTerms(target: [steered], reference: [baseline])
        #expect(terms.last?.term == "volcano")
        #expect((terms.last?.z ?? 0) < -1.96)
        let description = try await ContrastiveDescriber().describe(baseline: baseline, steered: steered)
        #expect(description.contains("less about: volcano"), "\(description)")
        #expect(!description.contains("more about: volcano"))
    }

    /// Swapping target and reference negates every z-score (the pooled prior is symmetric).
    @Test(arguments: [UInt64(5), 6, 7])
    func swappingCorporaNegatesZ(seed: UInt64) {
        let a = [Self.text(seed: seed, count: 60, planted: "comet", plantCount: 4), Self.text(seed: seed + 100, count: 30)]
        let b = [Self.text(seed: seed + 200, count: 80)]
        let forward = Dictionary(uniqueKeysWithValues: contrastiveTerms(target: a, reference: b).map { ($0.term, $0.z) })
        let backward = Dictionary(uniqueKeysWithValues: contrastiveTerms(target: b, reference: a).map { ($0.term, $0.z) })
        #expect(forward.count == backward.count)
        for (term, z) in forward { #expect(abs(z + backward[term]!) < 1e-9, "\(term)") }
    }

    @Test func identicalTextsHaveNothingDistinctive() async throws {
        let text = Self.text(seed: 8, count: 50)
        let terms = contrastiveTerms(target: [text], reference: [text])
        #expect(terms.allSatisfy { abs($0.z) < 1e-12 })
        #expect(try await ContrastiveDescriber().describe(baseline: text, steered: text) == "no distinctive words")
        #expect(contrastiveTerms(target: [], reference: [""]).isEmpty)
    }

    @Test func wordsAndBigramsAreCounted() {
        let counts = contrastiveTermCounts(["The big Dog. Big dog's bone!", "BIG DOG"])
        #expect(counts["big"] == 3)
        #expect(counts["big dog"] == 2)                 // "dog's" is its own word
        #expect(counts["dog's"] == 1)
        #expect(counts["big dog's"] == 1)
        #expect(counts["dog big"] == nil)               // the full stop ends the bigram run
        #expect(counts["the big"] == 1)
    }

    /// Stopwords and bigrams of listed words do not crowd out content words.
    @Test func stopwordsAndRedundantBigramsAreSkipped() async throws {
        let baseline = Self.text(seed: 9, count: 100)
        let steered = Self.text(seed: 10, count: 60) + " the the the the of of of " +
            Array(repeating: "wolf", count: 12).joined(separator: " ")
        let description = try await ContrastiveDescriber(maxTerms: 2).describe(baseline: baseline, steered: steered)
        #expect(description.hasPrefix("more about: wolf"), "\(description)")
        #expect(!description.contains("wolf wolf"))
        #expect(!description.contains("the"))
        #expect(isStopwordTerm("of the") && !isStopwordTerm("the wolf"))
    }

    /// Hand-computed: target "x y", reference "y"; background {x: 1, y: 1}, α0 = 2, so αx = αy = 1.01,
    /// α("x y") = 0.01, α0 = 2 + 3 · 0.01; nᵗ = 3 (x, y, "x y"), nʳ = 1.
    /// zx = [ln(2.01 / 3.02) − ln(1.01 / 2.02)] / √(1/2.01 + 1/1.01) = 0.2345089…
    @Test func logOddsMatchesHandComputation() {
        let prior = LogOddsPrior(background: ["x": 1, "y": 1], strength: 2)
        let terms = Dictionary(uniqueKeysWithValues: contrastiveTerms(target: ["x y"], reference: ["y"], prior: prior)
            .map { ($0.term, $0.z) })
        #expect(abs(terms["x"]! - 0.23450890918840986) < 1e-12)
        #expect(abs(terms["y"]! - -1.0881644560101402) < 1e-12)
        #expect(abs(terms["x y"]! - 0.4307822120563044) < 1e-12)
        #expect(terms.count == 3)
    }

    /// The default prior (α0 = 0.2 · n) lets a word seen several times on one side only reach z > 1.96.
    @Test func defaultPriorStrength() {
        let steered = [Self.text(seed: 11, count: 40) + " zebra zebra zebra zebra zebra zebra zebra zebra"]
        let baseline = [Self.text(seed: 12, count: 40)]
        let pooled = contrastiveTerms(target: steered, reference: baseline).first { $0.term == "zebra" }!.z
        let strong = contrastiveTerms(target: steered, reference: baseline, prior: .init(relativeStrength: 1))
            .first { $0.term == "zebra" }!.z
        #expect(pooled > 1.96, "z = \(pooled)")
        #expect(strong < pooled, "a stronger prior shrinks: \(strong) vs \(pooled)")
    }

    @Test func promptCarriesBothTextsAndTheQuestion() {
        let prompt = describerPrompt(baseline: "BASE TEXT", steered: "STEERED TEXT")
        #expect(prompt.contains("BASE TEXT") && prompt.contains("STEERED TEXT"))
        #expect(prompt.range(of: "BASE TEXT")!.lowerBound < prompt.range(of: "STEERED TEXT")!.lowerBound)
        #expect(prompt.contains("In a few words, how does Text B differ from Text A?"))
    }
}

// MARK: - The local server (TestSupport's TestHTTPServer), at an OpenAI-style /v1 base URL

fileprivate extension TestHTTPServer {
    var v1: URL { URL(string: baseURL + "/v1")! }
}

fileprivate func describerChatReply(_ content: String) -> String {
    let object: [String: Any] = ["id": "x", "object": "chat.completion",
                                 "choices": [["index": 0, "message": ["role": "assistant", "content": content]]]]
    return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

// MARK: - LLM describer against the local server

@Suite(.serialized) struct LLMDescriberTests {
    fileprivate func describer(_ server: TestHTTPServer, timeout: Double = 5, retries: Int = 2, concurrency: Int = 4,
                   key: String? = "test-key") throws -> LLMDescriber {
        try LLMDescriber(settings: .init(baseURL: server.v1, model: "tiny-model", apiKey: key,
                                         timeoutSeconds: timeout, maxRetries: retries, initialBackoffSeconds: 0.05,
                                         maxBackoffSeconds: 0.2, maxConcurrentRequests: concurrency))
    }

    @Test func successSendsPromptAndReturnsTrimmedAnswer() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: describerChatReply("  more about dogs\n")) }
        defer { server.stop() }
        let llm = try describer(server)
        #expect(llm.name == "llm:tiny-model")
        let answer = try await llm.describe(baseline: "The weather is mild.", steered: "Dogs dogs puppies.")
        #expect(answer == "more about dogs")
        let requests = server.requests
        try #require(requests.count == 1)
        #expect(requests[0].method == "POST")
        #expect(requests[0].path == "/v1/chat/completions")
        #expect(requests[0].headers["authorization"] == "Bearer test-key")
        let body = try #require(try JSONSerialization.jsonObject(with: requests[0].body) as? [String: Any])
        #expect(body["model"] as? String == "tiny-model")
        let messages = try #require(body["messages"] as? [[String: String]])
        #expect(messages.last?["role"] == "user")
        #expect(messages.last?["content"] == describerPrompt(baseline: "The weather is mild.", steered: "Dogs dogs puppies."))
    }

    @Test func serverErrorIsRetriedThenSucceeds() async throws {
        let server = try TestHTTPServer { i, _ in
            i == 0 ? .init(status: 500, text: #"{"error": {"message": "overloaded"}}"#) : .init(status: 200, text: describerChatReply("calmer tone"))
        }
        defer { server.stop() }
        let answer = try await describer(server).describe(baseline: "a", steered: "b")
        #expect(answer == "calmer tone")
        #expect(server.requests.count == 2)
    }

    @Test func rateLimitExhaustsRetries() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 429, text: "slow down", headers: ["Retry-After": "0"]) }
        defer { server.stop() }
        await #expect(throws: DescriberError.httpStatus(url: server.v1.absoluteString + "/chat/completions",
                                                        status: 429, body: "slow down", attempts: 3)) {
            try await describer(server, retries: 2).describe(baseline: "a", steered: "b")
        }
        #expect(server.requests.count == 3)
    }

    @Test func clientErrorIsNotRetried() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 401, text: #"{"error": "bad key"}"#) }
        defer { server.stop() }
        do {
            _ = try await describer(server, retries: 3).describe(baseline: "a", steered: "b")
            Issue.record("401 accepted")
        } catch let error as DescriberError {
            guard case let .httpStatus(_, status, _, attempts) = error else { Issue.record("\(error)"); return }
            #expect(status == 401 && attempts == 1)
            #expect(error.localizedDescription.contains("HTTP 401"))
            #expect(error.localizedDescription.contains("127.0.0.1:\(server.port)"))
        }
        #expect(server.requests.count == 1)
    }

    @Test(arguments: ["this is not json", #"{"choices": []}"#, #"{"choices": [{"message": {"content": 42}}]}"#, "[1, 2]"])
    func malformedJSONIsAnError(body: String) async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: body) }
        defer { server.stop() }
        do {
            _ = try await describer(server).describe(baseline: "a", steered: "b")
            Issue.record("malformed body accepted: \(body)")
        } catch let error as DescriberError {
            guard case .malformedResponse = error else { Issue.record("\(error)"); return }
            #expect(error.localizedDescription.contains("malformed"))
        }
        #expect(server.requests.count == 1)  // not retried
    }

    @Test func emptyAnswerIsAnError() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: describerChatReply("   ")) }
        defer { server.stop() }
        await #expect(throws: DescriberError.self) { try await describer(server).describe(baseline: "a", steered: "b") }
    }

    @Test func slowResponseTimesOutAndIsRetried() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: describerChatReply("late"), delaySeconds: 3) }
        defer { server.stop() }
        let start = Date()
        do {
            _ = try await describer(server, timeout: 0.3, retries: 1).describe(baseline: "a", steered: "b")
            Issue.record("slow response accepted")
        } catch let error as DescriberError {
            guard case let .timedOut(_, seconds, attempts) = error else { Issue.record("\(error)"); return }
            #expect(seconds == 0.3 && attempts == 2)
        }
        #expect(Date().timeIntervalSince(start) < 2.5)
        #expect(server.requests.count == 2)
    }

    /// Cancelling the caller returns at once, without waiting for the server, and without calling
    /// `URLSessionTask.cancel()` (which can trap in swift-corelibs-foundation when the task is completing).
    @Test func cancellationReturnsPromptly() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: describerChatReply("late"), delaySeconds: 3) }
        defer { server.stop() }
        let llm = try describer(server, timeout: 10, retries: 0)
        let start = Date()
        let task = Task { try await llm.describe(baseline: "a", steered: "b") }
        try await Task.sleep(nanoseconds: 200_000_000)
        task.cancel()
        let outcome = await task.result
        #expect(Date().timeIntervalSince(start) < 2, "the cancelled call waited for the server")
        guard case let .failure(error) = outcome else { Issue.record("a cancelled call returned an answer"); return }
        #expect(error is CancellationError, "\(error)")
    }

    /// Cancellations that land before, during and after the reply (seeded offsets of 0–3 ms against a server that
    /// answers at once, 800 calls): each call ends with the answer or a CancellationError, and the process survives.
    /// The former `send`, which cancelled the data task, trapped in one of five runs of 200 calls.
    @Test func cancellationRacingTheReplyIsSafe() async throws {
        let server = try TestHTTPServer { i, _ in .init(status: 200, text: describerChatReply("answer \(i)")) }
        defer { server.stop() }
        let llm = try describer(server, timeout: 10, retries: 0, concurrency: 8)
        var rng = SplitMix64(seed: 17)
        var answered = 0, cancelled = 0
        for _ in 0..<100 {
            let offsets = (0..<8).map { _ in UInt64(rng.next() % 3_000_000) }
            let tasks = offsets.map { offset in
                Task { () -> Result<String, Error> in
                    let inner = Task { try await llm.describe(baseline: "a", steered: "b") }
                    try? await Task.sleep(nanoseconds: offset)
                    inner.cancel()
                    return await inner.result
                }
            }
            for t in tasks {
                switch await t.value {
                case let .success(answer): #expect(answer.hasPrefix("answer")); answered += 1
                case let .failure(error): #expect(error is CancellationError, "\(error)"); cancelled += 1
                }
            }
        }
        #expect(answered + cancelled == 800)
    }

    @Test func concurrencyIsLimited() async throws {
        let server = try TestHTTPServer { i, _ in .init(status: 200, text: describerChatReply("answer \(i)"), delaySeconds: 0.2) }
        defer { server.stop() }
        let llm = try describer(server, concurrency: 2)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<6 { group.addTask { try await llm.describe(baseline: "base \(i)", steered: "steered \(i)") } }
            var out: [String] = []
            for try await a in group { out.append(a) }
            return out
        }
        #expect(answers.count == 6)
        #expect(Set(answers).count == 6)
        #expect(server.maxConcurrentConnections <= 2)
        #expect(server.maxConcurrentConnections >= 1)
    }

    @Test func unreachableHostIsATransportError() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: describerChatReply("x")) }
        server.stop()  // nothing listens on the port any more
        do {
            _ = try await describer(server).describe(baseline: "a", steered: "b")
            Issue.record("closed port answered")
        } catch let error as DescriberError {
            guard case .transport = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func settingsFromOptionsOrEnvironment() throws {
        let env = ["OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "k", "SEMPROG_LLM_MODEL": "env-model"]
        let fromEnv = try LLMDescriber.Settings.resolve(baseURL: nil, model: nil, apiKey: nil, environment: env)
        #expect(fromEnv.baseURL.absoluteString == "http://127.0.0.1:9/v1")
        #expect(fromEnv.model == "env-model" && fromEnv.apiKey == "k")
        let explicit = try LLMDescriber.Settings.resolve(baseURL: "https://example.test/api", model: "m", apiKey: "",
                                                         environment: env)
        #expect(explicit.baseURL.host == "example.test" && explicit.model == "m" && explicit.apiKey == nil)
        #expect(throws: DescriberError.self) {
            try LLMDescriber.Settings.resolve(baseURL: nil, model: nil, apiKey: nil, environment: [:])
        }
        #expect(throws: DescriberError.self) {
            try LLMDescriber.Settings.resolve(baseURL: "ftp://x", model: "m", apiKey: nil, environment: [:])
        }
        #expect(throws: DescriberError.invalidArgument(name: "maxConcurrentRequests", reason: "must be at least 1")) {
            try LLMDescriber(settings: .init(baseURL: URL(string: "http://127.0.0.1:9")!, model: "m",
                                             maxConcurrentRequests: 0))
        }
    }
}
