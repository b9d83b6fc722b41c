import Foundation

/// Errors from loading or running a language model; each names the file or the argument at fault.
public enum LanguageModelError: Error, LocalizedError, Equatable {
    case cannotLoad(path: String, reason: String)
    case wrongArchitecture(path: String, found: String)
    case invalidConfiguration(path: String, reason: String)
    /// A GGUF metadata key the architecture needs (llama.cpp has no default for it) is absent.
    case missingMetadata(path: String, key: String)
    case layerOutOfRange(argument: String, layer: Int, layerCount: Int)
    case vectorLength(source: String, found: Int, expected: Int)
    case tokenOutOfRange(argument: String, id: Int, vocabularySize: Int)
    case invalidArgument(argument: String, reason: String)
    case contextTooLong(tokens: Int, contextLength: Int)
    case steeringVector(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotLoad(path, reason): "\(path): cannot load model: \(reason)"
        case let .wrongArchitecture(path, found): "\(path): architecture '\(found)' is not supported (supported: GGUF general.architecture llama, qwen3, gemma, gemma2, gemma3; config.json model_type llama, qwen3, gemma, gemma2, gemma3_text)"
        case let .missingMetadata(path, key): "\(path): missing metadata key '\(key)'"
        case let .invalidConfiguration(path, reason): "\(path): invalid model configuration: \(reason)"
        case let .layerOutOfRange(argument, layer, count): "\(argument): layer \(layer) is out of range 0..<\(count)"
        case let .vectorLength(source, found, expected): "\(source): vector has \(found) values, the model's d_model is \(expected)"
        case let .tokenOutOfRange(argument, id, size): "\(argument): token id \(id) is outside the vocabulary of \(size)"
        case let .invalidArgument(argument, reason): "\(argument): \(reason)"
        case let .contextTooLong(tokens, context): "\(tokens) tokens exceed the model's context length of \(context)"
        case let .steeringVector(path, reason): "\(path): cannot read steering vector: \(reason)"
        }
    }
}
