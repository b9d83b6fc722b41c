import Foundation

/// Errors from reading or writing model files (GGUF, safetensors). Every case names the file.
public enum ModelFormatError: Error, LocalizedError, Equatable {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String, found: String)
    case truncated(path: String, what: String)
    case malformedHeader(path: String, reason: String)
    case unsupportedType(path: String, tensor: String, type: String)
    case offsetOutOfRange(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    case missingTensor(path: String, tensor: String)
    case unexpectedTensor(path: String, tensor: String)
    case unsupportedVersion(path: String, version: Int)
    case nonFinite(path: String, tensor: String)
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open: \(reason)"
        case let .badMagic(path, found): "\(path): not a recognised model file (magic \(found))"
        case let .truncated(path, what): "\(path): file is truncated while reading \(what)"
        case let .malformedHeader(path, reason): "\(path): malformed header: \(reason)"
        case let .unsupportedType(path, tensor, type): "\(path): tensor '\(tensor)' has unsupported type \(type)"
        case let .offsetOutOfRange(path, tensor): "\(path): tensor '\(tensor)' points past the end of the file"
        case let .shapeMismatch(path, tensor, expected, found):
            "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .missingTensor(path, tensor): "\(path): missing tensor '\(tensor)'"
        case let .unexpectedTensor(path, tensor): "\(path): unexpected tensor '\(tensor)'"
        case let .unsupportedVersion(path, version): "\(path): unsupported format version \(version)"
        case let .nonFinite(path, tensor): "\(path): tensor '\(tensor)' contains NaN or infinity"
        case let .writeFailed(path, reason): "\(path): cannot write: \(reason)"
        }
    }
}
