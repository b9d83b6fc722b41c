import Foundation

/// Errors from building or using a byte-level BPE tokenizer; each names the source and the field.
public enum BPETokenizerError: Error, LocalizedError, Equatable {
    case missingField(source: String, field: String)
    case malformedField(source: String, field: String, reason: String)
    case unsupported(source: String, what: String)
    case unknownToken(source: String, token: String)
    case tokenIDOutOfRange(source: String, id: Int, vocabularySize: Int)
    case cannotRead(path: String, reason: String)
    /// A chat template that cannot be parsed or rendered (line 0: while rendering).
    case chatTemplate(line: Int, reason: String)
    /// The template itself refused the conversation (`raise_exception(message)`).
    case chatTemplateRaised(message: String)
    /// `--chat` on a model whose files carry no chat template.
    case noChatTemplate(source: String)

    public var errorDescription: String? {
        switch self {
        case let .missingField(source, field): "\(source): tokenizer field '\(field)' is missing"
        case let .malformedField(source, field, reason): "\(source): tokenizer field '\(field)' is malformed: \(reason)"
        case let .unsupported(source, what): "\(source): unsupported tokenizer: \(what)"
        case let .unknownToken(source, token): "\(source): the vocabulary has no token for '\(token)'"
        case let .tokenIDOutOfRange(source, id, size): "\(source): token id \(id) is outside the vocabulary of \(size)"
        case let .cannotRead(path, reason): "\(path): cannot read tokenizer: \(reason)"
        case let .chatTemplate(line, reason): line > 0 ? "chat template, line \(line): \(reason)" : "chat template: \(reason)"
        case let .chatTemplateRaised(message): "the chat template refused the conversation: \(message)"
        case let .noChatTemplate(source): "\(source) has no chat template (a base model?): give one with --chat-template FILE, or use --prompt"
        }
    }
}
