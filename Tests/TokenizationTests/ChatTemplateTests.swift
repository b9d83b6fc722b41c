import Foundation
import TestSupport
import ModelFormats
import Testing
@testable import Tokenization

/// The chat-template interpreter against transformers' own rendering (`Tests/Fixtures/reference/chat-smollm2.json`,
/// `Tests/Fixtures/tokenization/chat-*.json`; provenance in `Tests/Fixtures/tokenization/README.md`): every case byte for byte, errors raised by the template included.
enum ChatFixtures {
    static let reference = TokenizerFixtures.root.appendingPathComponent("Tests/Fixtures/reference")
    static let tokenization = TokenizerFixtures.root.appendingPathComponent("Tests/Fixtures/tokenization")

    static func json(_ name: String) throws -> [String: Any] {
        let folder = name == "chat-smollm2.json" ? reference : tokenization
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A mapping value from a JSON object, with keys in sorted order (as the fixtures were rendered).
    static func values(_ object: Any?) -> [String: TemplateValue] {
        guard case let .mapping(m) = TemplateValue(json: object ?? [String: Any]()) else { return [:] }
        return Dictionary(uniqueKeysWithValues: m.pairs)
    }
}

@Suite struct ChatTemplateTests {
    /// SmolLM2's template as stored in the GGUF renders the three reference conversations (default system message
    /// included when there is none), and their ids match transformers' tokenization.
    @Test func smolLM2MatchesTransformers() throws {
        let reference = try ChatFixtures.json("chat-smollm2.json")
        let file = try GGUFFile(path: TokenizerFixtures.modelPath)
        let stored = try #require(file.metadata["tokenizer.chat_template"]?.string)
        #expect(stored == reference["template"] as? String)
        let tokenizer = try TokenizerFixtures.smolLM2()
        let template = try ChatTemplate(stored, origin: "tokenizer.chat_template")
        let cases = try #require(reference["cases"] as? [[String: Any]])
        #expect(cases.count == 3)
        for c in cases {
            let messages = try #require(c["messages"] as? [Any]).map(TemplateValue.init(json:))
            let rendered = try template.render(messages: messages, addGenerationPrompt: true, variables: tokenizer.templateVariables)
            #expect(rendered == c["rendered"] as? String)
            #expect(tokenizer.encode(rendered) == c["ids"] as? [Int])
        }
        // chatPrompt(user:) is the first case's one-turn conversation.
        let copy = try TokenizerFixtures.smolLM2Copy()
        copy.installChatTemplate(stored, origin: "tokenizer.chat_template")
        #expect(try copy.chatPrompt(user: "Tell me a short story about a journey.") == cases[0]["rendered"] as? String)
        #expect(try copy.chatPromptIDs(user: "Tell me a short story about a journey.") == cases[0]["ids"] as? [Int])
    }

    /// Gemma (1 and 2), Gemma 3, Qwen 3, Llama 3 and Llama 3.1 templates on one-turn, system, multi-turn,
    /// whitespace, list-content, thinking, tool and refused conversations.
    @Test func familyTemplatesMatchTransformers() throws {
        let reference = try ChatFixtures.json("chat-families.json")
        let templates = try #require(reference["templates"] as? [String: [String: Any]])
        var parsed: [String: (ChatTemplate, [String: TemplateValue])] = [:]
        for (name, entry) in templates {
            var variables: [String: TemplateValue] = [:]
            if let bos = entry["bos_token"] as? String { variables["bos_token"] = .string(bos) }
            if let eos = entry["eos_token"] as? String { variables["eos_token"] = .string(eos) }
            parsed[name] = (try ChatTemplate(try #require(entry["template"] as? String), origin: name), variables)
        }
        #expect(Set(parsed.keys) == ["gemma", "gemma3", "qwen3", "llama3", "llama3.1"])
        let cases = try #require(reference["cases"] as? [[String: Any]])
        #expect(cases.count >= 25)
        for (i, c) in cases.enumerated() {
            let name = try #require(c["template"] as? String)
            let (template, base) = try #require(parsed[name])
            let messages = try #require(c["messages"] as? [Any]).map(TemplateValue.init(json:))
            let variables = base.merging(ChatFixtures.values(c["variables"])) { _, new in new }
            if let expected = c["rendered"] as? String {
                let rendered = try template.render(messages: messages, addGenerationPrompt: true, variables: variables)
                #expect(rendered == expected, "case \(i) (\(name))")
            } else {
                let message = try #require(c["error"] as? String)
                #expect(throws: BPETokenizerError.chatTemplateRaised(message: message), "case \(i) (\(name))") {
                    try template.render(messages: messages, addGenerationPrompt: true, variables: variables)
                }
            }
        }
    }

    /// Each construct of the subset (operators, loop variables, filters, tests, slices, namespaces, scoping,
    /// whitespace control, macros, loop controls) renders as transformers' Jinja environment renders it.
    @Test func jinjaFeaturesMatchTransformers() throws {
        let reference = try ChatFixtures.json("chat-jinja.json")
        let context = ChatFixtures.values(reference["context"])
        let cases = try #require(reference["cases"] as? [[String: Any]])
        #expect(cases.count >= 15)
        for (i, c) in cases.enumerated() {
            let source = try #require(c["template"] as? String)
            let template = try ChatTemplate(source, origin: "case \(i)")
            var globals = context
            globals["tools"] = nil
            if let expected = c["rendered"] as? String {
                let rendered = try template.render(messages: [], variables: globals)
                #expect(rendered == expected, "case \(i): \(source)")
            } else {
                let error = try #require(c["error"] as? String)
                #expect(throws: BPETokenizerError.self, "case \(i): \(source)") {
                    try template.render(messages: [], variables: globals)
                }
                if error.hasPrefix("TemplateError: ") {
                    #expect(throws: BPETokenizerError.chatTemplateRaised(message: String(error.dropFirst("TemplateError: ".count)))) {
                        try template.render(messages: [], variables: globals)
                    }
                }
            }
        }
    }

    /// Malformed templates are refused when parsed, naming the line and the construct.
    @Test(arguments: [
        ("{% if x %}never closed", "ends before"),
        ("a\n{{ x ", "never closed"),
        ("{% for %}{% endfor %}", "loop variable"),
        ("{% frobnicate %}", "unsupported statement"),
        ("{{ x | nosuchfilter }}", "unsupported filter"),
        ("{{ 'unterminated }}", "never closed"),
        ("{% endif %}", "unexpected"),
    ])
    func malformedTemplatesAreRefused(source: String, reason: String) throws {
        do {
            let t = try ChatTemplate(source, origin: "bad.jinja")
            _ = try t.render(messages: [], variables: ["x": .integer(1)])
            Issue.record("'\(source)' was accepted")
        } catch let e as BPETokenizerError {
            #expect(e.localizedDescription.contains(reason), "\(e.localizedDescription)")
        }
    }

    /// The template file of --chat-template and a checkpoint folder's chat_template.jinja / tokenizer_config.json.
    @Test func templatesFromFilesAndCheckpoints() throws {
        let dir = TestScratch.root.appendingPathComponent("chat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try ChatTemplate.fromCheckpoint(directory: dir.path) == nil)
        let config = dir.appendingPathComponent("tokenizer_config.json")
        try Data(#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ messages[0].content }}"}]}"#.utf8).write(to: config)
        #expect(try ChatTemplate.fromCheckpoint(directory: dir.path)?.render(messages: [ChatTemplate.message(role: "user", content: "x")]) == "Dx")
        try Data(#"{"chat_template": "C{{ messages | length }}"}"#.utf8).write(to: config)
        #expect(try ChatTemplate.fromCheckpoint(directory: dir.path)?.render(messages: []) == "C0")
        // chat_template.jinja wins over tokenizer_config.json; its one trailing newline is dropped, as Jinja does.
        let jinja = dir.appendingPathComponent("chat_template.jinja")
        try Data("J{{ add_generation_prompt }}\n".utf8).write(to: jinja)
        let fromFile = try #require(try ChatTemplate.fromCheckpoint(directory: dir.path))
        #expect(try fromFile.render(messages: []) == "JTrue")
        #expect(fromFile.origin == jinja.path)
        #expect(try ChatTemplate(contentsOfFile: jinja.path).fingerprint == fromFile.fingerprint)
        #expect(try ChatTemplate("other", origin: "x").fingerprint != fromFile.fingerprint)
        #expect(throws: BPETokenizerError.self) { try ChatTemplate(contentsOfFile: dir.appendingPathComponent("missing.jinja").path) }
    }

    /// A template that fails to parse does not fail the model's load: chatPrompt reports it.
    @Test func brokenStoredTemplateIsReportedOnUse() throws {
        let t = try TokenizerFixtures.smolLM2Copy()
        t.installChatTemplate("{% if %}", origin: "tokenizer.chat_template in m.gguf")
        #expect(t.chatTemplate == nil)
        do {
            _ = try t.chatPrompt(user: "Hi")
            Issue.record("a broken template rendered")
        } catch let e as BPETokenizerError {
            #expect(e.localizedDescription.contains("tokenizer.chat_template in m.gguf"))
        }
    }
}
