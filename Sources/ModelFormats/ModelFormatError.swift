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
    /// A tensor's dtype is a valid one but not what the caller reads from it (F32 data labelled I32, say).
    case unexpectedType(path: String, tensor: String, type: String, expected: [String])
    /// `data_offsets` whose end lies before their begin.
    case offsetsReversed(path: String, tensor: String, begin: Int, end: Int)
    /// Two tensors whose byte ranges overlap (or alias each other).
    case overlappingTensors(path: String, first: String, second: String, firstRange: Range<Int>, secondRange: Range<Int>)
    /// Bytes of the data section that no tensor covers, before tensor `before`.
    case dataGap(path: String, begin: Int, end: Int, before: String)
    /// The tensors end before the data section does.
    case trailingData(path: String, indexed: Int, dataSection: Int)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open: \(reason)"
        case let .badMagic(path, found): "\(path): not a recognised model file (magic \(found))"
        case let .truncated(path, what): "\(path): file is truncated while reading \(what)"
        case let .malformedHeader(path, reason): "\(path): malformed header: \(reason)"
        case let .unsupportedType(path, tensor, type): "\(path): tensor \(Self.quote(tensor)) has unsupported type \(type)"
        case let .offsetOutOfRange(path, tensor): "\(path): tensor \(Self.quote(tensor)) points past the end of the file"
        case let .shapeMismatch(path, tensor, expected, found):
            "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .missingTensor(path, tensor): "\(path): missing tensor '\(tensor)'"
        case let .unexpectedTensor(path, tensor): "\(path): unexpected tensor '\(tensor)'"
        case let .unsupportedVersion(path, version): "\(path): unsupported format version \(version)"
        case let .nonFinite(path, tensor): "\(path): tensor '\(tensor)' contains NaN or infinity"
        case let .writeFailed(path, reason): "\(path): cannot write: \(reason)"
        case let .unexpectedType(path, tensor, type, expected):
            "\(path): tensor \(Self.quote(tensor)) has dtype \(type), expected one of \(expected.joined(separator: ", "))"
        case let .offsetsReversed(path, tensor, begin, end):
            "\(path): tensor \(Self.quote(tensor)) has data_offsets [\(begin), \(end)]: the end precedes the begin"
        case let .overlappingTensors(path, first, second, a, b):
            "\(path): tensors \(Self.quote(first)) (bytes \(a.lowerBound)..<\(a.upperBound)) and \(Self.quote(second)) (bytes \(b.lowerBound)..<\(b.upperBound)) overlap"
        case let .dataGap(path, begin, end, before):
            "\(path): bytes \(begin)..<\(end) of the data section belong to no tensor (a gap before \(Self.quote(before)))"
        case let .trailingData(path, indexed, dataSection):
            "\(path): the tensors cover \(indexed) bytes but the data section holds \(dataSection)"
        }
    }

    /// A name or value read from a file, fit for an error message: single-quoted (unless `quotes` is false),
    /// control and invisible format characters escaped, cut to `limit` characters.
    public static func quote(_ text: String, limit: Int = 80, quotes: Bool = true) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit { out += "…"; break }
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.properties.generalCategory == .format {
                out += scalar.escaped(asASCII: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return quotes ? "'\(out)'" : out
    }
}
