import Analysis
import Foundation
import Testing
import TestSupport

private func chatReply(_ content: String) -> String {
    let object: [String: Any] = ["id": "x", "object": "chat.completion",
                                 "choices": [["index": 0, "message": ["role": "assistant", "content": content]]]]
    return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

/// The user message of a chat-completions request body.
private func userMessage(_ request: TestHTTPServer.Request) -> String {
    let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any]
    let messages = body?["messages"] as? [[String: String]]
    return messages?.last?["content"] ?? ""
}

/// AxBench's LLM judge against a local stub of an OpenAI-compatible endpoint (loopback only).
@Suite(.serialized) struct LLMJudgeTests {
    func judge(_ server: TestHTTPServer, unreadableRetries: Int = 2) throws -> LLMJudge {
        try LLMJudge(settings: .init(baseURL: URL(string: server.baseURL + "/v1")!, model: "judge-model", apiKey: "k",
                                     timeoutSeconds: 5, maxRetries: 1, initialBackoffSeconds: 0.01, maxBackoffSeconds: 0.05,
                                     maxConcurrentRequests: 3),
                     maxUnreadableRetries: unreadableRetries)
    }

    @Test func sendsTheRubricAndParsesTheThreeRatings() async throws {
        // The stub answers by rubric: concept 2, instruction 1, fluency 2.
        let server = try TestHTTPServer { _, request in
            let prompt = userMessage(request)
            let rating = prompt.contains("[Concept Start]") ? "2" : prompt.contains("[Instruction Start]") ? "1" : "2"
            return .init(status: 200, text: chatReply("The fragment is fine.\nRating: [[\(rating)]]"))
        }
        defer { server.stop() }
        let ratings = try await judge(server).rate(concept: "dogs and puppies", instruction: "Tell me about your morning.",
                                                   output: "My dog woke me up at dawn.")
        #expect(ratings == SteeringRatings(concept: 2, instruction: 1, fluency: 2))
        #expect(abs(ratings.aggregate - 1.5) < 1e-12)
        let requests = server.requests
        try #require(requests.count == 3)
        let prompts = Set(requests.map(userMessage))
        #expect(prompts == [SteeringRubric.conceptPrompt(concept: "dogs and puppies", output: "My dog woke me up at dawn."),
                            SteeringRubric.instructionPrompt(instruction: "Tell me about your morning.", output: "My dog woke me up at dawn."),
                            SteeringRubric.fluencyPrompt(output: "My dog woke me up at dawn.")])
        for r in requests {
            #expect(r.path == "/v1/chat/completions")
            #expect(r.headers["authorization"] == "Bearer k")
            let body = try #require(try JSONSerialization.jsonObject(with: r.body) as? [String: Any])
            #expect(body["model"] as? String == "judge-model")
            #expect((body["messages"] as? [Any])?.count == 1, "one user message, as AxBench sends")
            #expect(body["temperature"] as? Double == 0)
        }
    }

    @Test func unreadableRepliesAreRefusedAndAskedAgain() async throws {
        // First two replies have no usable rating (none, then out of range); the third does.
        let server = try TestHTTPServer { i, _ in
            switch i {
            case 0: .init(status: 200, text: chatReply("I would say it is quite fluent."))
            case 1: .init(status: 200, text: chatReply("Rating: [[7]]"))
            default: .init(status: 200, text: chatReply("Rating: [[1]]"))
            }
        }
        defer { server.stop() }
        let value = try await judge(server).rate(.fluency, concept: "c", instruction: "i", output: "o")
        #expect(value == 1)
        #expect(server.requests.count == 3)
    }

    @Test func persistentlyUnreadableRepliesAreReportedByAspect() async throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: chatReply("no rating here")) }
        defer { server.stop() }
        do {
            _ = try await judge(server, unreadableRetries: 1).rate(.concept, concept: "c", instruction: "i", output: "o")
            Issue.record("an unreadable reply was accepted")
        } catch let error as SteeringJudgeError {
            guard case let .unreadableRating(url, aspect, attempts, lastReply) = error else { Issue.record("\(error)"); return }
            #expect(aspect == "concept" && attempts == 2 && lastReply == "no rating here")
            #expect(url.contains("127.0.0.1:\(server.port)"))
            #expect(error.localizedDescription.contains("concept"))
        }
        #expect(server.requests.count == 2, "bounded: one retry")
    }

    @Test func emptyRepliesAreRetriedLikeUnreadableOnes() async throws {
        let server = try TestHTTPServer { i, _ in .init(status: 200, text: chatReply(i == 0 ? "   " : "Rating: [[0]]")) }
        defer { server.stop() }
        #expect(try await judge(server).rate(.instruction, concept: "c", instruction: "i", output: "o") == 0)
        #expect(server.requests.count == 2)
    }

    @Test func identityNamesModelEndpointAndRubricVersion() throws {
        let server = try TestHTTPServer { _, _ in .init(status: 200, text: chatReply("Rating: [[1]]")) }
        defer { server.stop() }
        let j = try judge(server)
        #expect(j.identity.contains("judge-model") && j.identity.contains(server.baseURL) && j.identity.contains(SteeringRubric.version))
        #expect(j.settings.maxTokens >= 256)
    }
}
