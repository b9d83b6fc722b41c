import Foundation
import LanguageModel
import Testing
@testable import Study

/// `semprog generate`'s work (`TextGenerationRun`) on the tiny Qwen 3 checkpoint, against the ids Hugging Face
/// transformers produced (Tests/Fixtures/reference/tiny-models/qwen3/reference.json; Qwen 3 adds no BOS, so its
/// reference continues exactly the prompt ids it lists — the Llama 3 reference's continuations omit its BOS).
@Suite struct TextGenerationRunTests {
    struct Reference: Decodable {
        struct Prompt: Decodable { var prompt: String; var prompt_ids: [Int]; var generated_ids: [Int]; var margins: [Double] }
        var prompts: [Prompt]
    }
    struct Printed: Decodable { var prompt_ids: [Int]; var generated_ids: [Int]; var text: String; var finish_reason: String }

    func run(_ prompt: TextGenerationRun.Prompt, tokens: Int, steering: TextGenerationRun.Steering? = nil,
             json: Bool = true) throws -> String {
        let recorder = RecordingConsole()
        try TextGenerationRun(model: StudyFixtures.tinyQwen, prompt: prompt, chatTemplate: nil,
                              parameters: GenerateParameters(maxTokens: tokens, temperature: 0, stopAtEOS: false), seed: 0,
                              steering: steering, threads: 2, activations: .float32, json: json).run(console: recorder.console)
        return try #require(recorder.output.first)
    }

    @Test func greedyIdsMatchTransformers() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: StudyFixtures.tinyQwen + "/reference.json")))
        for p in reference.prompts {
            let printed = try JSONDecoder().decode(Printed.self, from: Data(try run(.text(p.prompt), tokens: p.generated_ids.count).utf8))
            #expect(printed.prompt_ids == p.prompt_ids)
            #expect(printed.finish_reason == "max_tokens" && printed.generated_ids.count == p.generated_ids.count)
            // Equal up to the first step whose top-2 margin is a near tie (< 1e-3), where float32 may pick the other.
            let tie = p.margins.firstIndex { $0 < 1e-3 } ?? p.generated_ids.count
            #expect(Array(printed.generated_ids.prefix(tie)) == Array(p.generated_ids.prefix(tie)))
            // Plain output is the same text.
            #expect(try run(.text(p.prompt), tokens: p.generated_ids.count, json: false) == printed.text)
        }
    }

    @Test func steeringVectorChangesTheOutputAndIsChecked() throws {
        let dir = try StudyFixtures.scratch("steer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let zero = dir.appendingPathComponent("zero.json"), big = dir.appendingPathComponent("big.json")
        try Data(("[" + Array(repeating: "0", count: 64).joined(separator: ",") + "]").utf8).write(to: zero)
        try Data(("[" + (0..<64).map { $0 % 2 == 0 ? "3" : "-3" }.joined(separator: ",") + "]").utf8).write(to: big)
        let plain = try run(.text("Water boils at"), tokens: 12)
        #expect(try run(.text("Water boils at"), tokens: 12, steering: .init(vectorPath: zero.path, layer: 1, coefficient: 5)) == plain)
        #expect(try run(.text("Water boils at"), tokens: 12, steering: .init(vectorPath: big.path, layer: 1, coefficient: 20)) != plain)
        #expect { try run(.text("Water"), tokens: 2, steering: .init(vectorPath: zero.path, layer: 9, coefficient: 1)) }
            throws: { $0.localizedDescription.contains("--steer-layer") }
        let short = dir.appendingPathComponent("short.json")
        try Data("[1, 2]".utf8).write(to: short)
        #expect { try run(.text("Water"), tokens: 2, steering: .init(vectorPath: short.path, layer: 1, coefficient: 1)) }
            throws: { $0.localizedDescription.contains(short.path) }
    }

    @Test func jsonLineKeepsItsKeyOrderAndEscapes() {
        let line = TextGenerationRun.jsonLine(GenerationResult(promptIDs: [1, 2], generatedIDs: [3], text: "a \"b\"/c\n", finishReason: .eos))
        #expect(line == #"{"prompt_ids": [1,2], "generated_ids": [3], "text": "a \"b\"/c\n", "finish_reason": "eos"}"#)
    }
}
