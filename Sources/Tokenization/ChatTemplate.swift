import Foundation

/// A model's chat template: the Jinja program stored with it (GGUF `tokenizer.chat_template`, `chat_template` in
/// tokenizer_config.json, or a `chat_template.jinja` beside it), rendered as transformers'
/// `apply_chat_template(messages, add_generation_prompt=True, tokenize=False)` renders it.
///
/// The interpreter is a subset of Jinja 3.1 with transformers' environment (trim_blocks, lstrip_blocks, its own
/// `tojson`, `raise_exception`, `strftime_now`, the `generation` block): `for` (loop filters, `else`, `loop.*`,
/// `break`/`continue`), `if/elif/else`, `set` (tuples, `namespace()` attributes, blocks), `macro`; filters `trim`,
/// `length`, `tojson`, `default`, `upper`, `lower`, `first`, `last`, `join`, `items`, `selectattr`, …; tests
/// `defined`, `none`, `string`, `mapping`, `iterable`, `true`/`false`, …; string methods `startswith`, `endswith`,
/// `strip`/`lstrip`/`rstrip`, `split`, `upper`, `lower`, `replace`; slices, `in`, `~`. It covers the templates of
/// SmolLM2, Gemma 1/2/3, Qwen 3 and Llama 3/3.1 (tests: `Tests/Fixtures/reference/chat-*.json`, rendered by
/// transformers). Parsing happens once, in `init`; a template using something outside the subset fails there or
/// at rendering with the line and construct named.
public struct ChatTemplate: Sendable {
    /// The template text as stored.
    public let source: String
    /// Where it came from ("tokenizer.chat_template in model.gguf", a file path, …), for messages and provenance.
    public let origin: String
    private let nodes: [TemplateNode]

    public init(_ source: String, origin: String) throws {
        self.source = source
        self.origin = origin
        var parser = TemplateParser(segments: try TemplateLexer.segments(source))
        do {
            nodes = try parser.parseTemplate()
        } catch let error as BPETokenizerError {
            if case let .chatTemplate(line, reason) = error { throw BPETokenizerError.chatTemplate(line: line, reason: "\(origin): \(reason)") }
            throw error
        }
    }

    /// Reads a template file (`--chat-template FILE`, `chat_template.jinja`).
    public init(contentsOfFile path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw BPETokenizerError.cannotRead(path: path, reason: error.localizedDescription)
        }
        try self.init(text, origin: path)
    }

    /// The template of a Hugging Face checkpoint folder: `chat_template.jinja` if present, else the
    /// `chat_template` of tokenizer_config.json (a string, or a list of {name, template} whose "default" entry is
    /// used, as transformers does); nil when neither has one.
    public static func fromCheckpoint(directory: String) throws -> ChatTemplate? {
        let jinja = (directory as NSString).appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinja) { return try ChatTemplate(contentsOfFile: jinja) }
        let config = (directory as NSString).appendingPathComponent("tokenizer_config.json")
        guard let data = FileManager.default.contents(atPath: config) else { return nil }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw BPETokenizerError.malformedField(source: config, field: "<root>", reason: "not a JSON object")
        }
        switch root["chat_template"] {
        case nil, is NSNull: return nil
        case let s as String: return try ChatTemplate(s, origin: "chat_template in \(config)")
        case let list as [[String: Any]]:
            guard let entry = list.first(where: { $0["name"] as? String == "default" }), let s = entry["template"] as? String else {
                throw BPETokenizerError.malformedField(source: config, field: "chat_template", reason: "a list without a \"default\" template")
            }
            return try ChatTemplate(s, origin: "chat_template (default) in \(config)")
        default:
            throw BPETokenizerError.malformedField(source: config, field: "chat_template", reason: "neither a string nor a list of named templates")
        }
    }

    /// Renders a conversation.
    /// - Parameters:
    ///   - messages: the turns, each a mapping with at least "role" and "content" (as transformers takes them).
    ///   - addGenerationPrompt: end with the header of the assistant's turn (`add_generation_prompt`).
    ///   - variables: further names the template sees: `bos_token`, `eos_token`, … (transformers passes the
    ///     tokenizer's special tokens) and keyword arguments such as `enable_thinking` or `date_string`.
    public func render(messages: [TemplateValue], addGenerationPrompt: Bool = true,
                       variables: [String: TemplateValue] = [:]) throws -> String {
        var globals = variables
        // transformers always passes these two (None when absent), so `tools is defined` holds.
        if globals["tools"] == nil { globals["tools"] = TemplateValue.none }
        if globals["documents"] == nil { globals["documents"] = TemplateValue.none }
        globals["messages"] = .list(messages)
        globals["add_generation_prompt"] = .boolean(addGenerationPrompt)
        let evaluator = TemplateEvaluator(globals: globals)
        return try evaluator.render(nodes)
    }

    /// One message `{"role": role, "content": content}`.
    public static func message(role: String, content: String) -> TemplateValue {
        .mapping(TemplateMapping([("role", .string(role)), ("content", .string(content))]))
    }

    /// A 64-bit FNV-1a hash of the UTF-8 source as 16 hex digits: names the template in sweep settings.
    public var fingerprint: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in source.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(format: "%016llx", h)
    }
}
