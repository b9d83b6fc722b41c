import Testing
import Foundation
import TestSupport

/// End-to-end `semprog generate` on the real SmolLM2 model (short: at most 24 tokens).
@Suite(.serialized) struct GenerateCLITests {
    static var referenceDirectory: URL { CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/reference") }
    /// The references were made with ChatML without SmolLM2's default system turn: that template, given as a file.
    static var chatML: String { CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/tokenization/chatml-without-system.jinja").path }

    @Test func chatJSONMatchesReference() throws {
        let r = try CLIRunner.run(["generate", "--chat", "What is the capital of France?", "--chat-template", Self.chatML, "--max-tokens", "24", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["prompt_ids", "generated_ids", "text", "finish_reason"])
        #expect(object["prompt_ids"] as? [Int] == [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198])
        #expect(object["generated_ids"] as? [Int] == [504, 3575, 282, 4649, 314, 7042, 30])
        #expect(object["text"] as? String == "The capital of France is Paris.")
        #expect(object["finish_reason"] as? String == "eos")
    }

    @Test func steeredPlainTextMatchesReference() throws {
        let vector = Self.referenceDirectory.appendingPathComponent("steer_dogs.json").path
        let r = try CLIRunner.run(["generate", "--chat", "What is the capital of France?", "--chat-template", Self.chatML, "--max-tokens", "24",
                                   "--steer-vector", vector, "--steer-layer", "12", "--steer-coefficient", "60"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.trimmingCharacters(in: .newlines) == "The capital of France is Paris, and it is the largest city in the world.")
    }

    @Test func badArgumentsFailWithOneClearError() throws {
        let vector = Self.referenceDirectory.appendingPathComponent("steer_dogs.json").path
        let layer = try CLIRunner.run(["generate", "--prompt", "Hi", "--steer-vector", vector, "--steer-layer", "30"])
        #expect(layer.status != 0)
        #expect(layer.stderr.contains("--steer-layer") && layer.stderr.contains("30"))
        let both = try CLIRunner.run(["generate", "--prompt", "Hi", "--chat", "Hi"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("--prompt"))
        let model = try CLIRunner.run(["generate", "--prompt", "Hi", "--model", "/nonexistent/model.gguf"])
        #expect(model.status != 0)
        #expect(model.stderr.contains("/nonexistent/model.gguf"))
        #expect(model.stdout.isEmpty)
        let shortVector = TestScratch.root.appendingPathComponent("semprog-cli-vec-\(UUID().uuidString).json")
        try Data("[0.5, 1.0]".utf8).write(to: shortVector)
        defer { try? FileManager.default.removeItem(at: shortVector) }
        let length = try CLIRunner.run(["generate", "--prompt", "Hi", "--steer-vector", shortVector.path, "--steer-layer", "3"])
        #expect(length.status != 0)
        #expect(length.stderr.contains(shortVector.path) && length.stderr.contains("576"))
    }
}
