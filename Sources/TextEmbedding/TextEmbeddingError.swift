import Foundation

/// Errors from loading or running a sentence-embedding model. Every case names the file, field or text index.
public enum TextEmbeddingError: Error, LocalizedError, Equatable {
    /// A required model file is absent.
    case missingFile(path: String)
    /// `config.json` could not be parsed or a field is invalid.
    case invalidConfiguration(path: String, field: String, reason: String)
    /// `vocab.txt` is unusable.
    case invalidVocabulary(path: String, reason: String)
    /// The weights file is unreadable, lacks a tensor or has a tensor of the wrong shape.
    case invalidWeights(path: String, reason: String)
    /// Input text number `index` (from 0) has no tokens (empty or only whitespace/control characters).
    case emptyText(index: Int)
    /// The batch size argument is not positive.
    case invalidBatchSize(Int)

    public var errorDescription: String? {
        switch self {
        case let .missingFile(path):
            "\(path): file not found (an all-MiniLM-L6-v2 directory needs config.json, vocab.txt and model.safetensors)"
        case let .invalidConfiguration(path, field, reason): "\(path): field '\(field)': \(reason)"
        case let .invalidVocabulary(path, reason): "\(path): invalid vocabulary: \(reason)"
        case let .invalidWeights(path, reason): reason.hasPrefix(path) ? reason : "\(path): \(reason)"
        case let .emptyText(index): "text \(index + 1) is empty: it has no tokens to embed"
        case let .invalidBatchSize(size): "batch size must be at least 1 (got \(size))"
        }
    }
}
