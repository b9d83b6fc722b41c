import Foundation

/// Errors of the SparseAutoencoder module. Every case names the file (or argument) and the field at fault.
public enum SAEError: Error, LocalizedError, Equatable {
    /// A file or directory could not be read.
    case cannotRead(path: String, reason: String)
    /// A `cfg.json` field is missing, has the wrong type or an invalid value.
    case invalidConfiguration(path: String, field: String, reason: String)
    /// `architecture` / `activation_fn_str` names an architecture semprog does not implement.
    case unknownArchitecture(path: String, field: String, value: String)
    /// A weights file lacks a tensor the architecture needs.
    case missingTensor(path: String, tensor: String)
    /// A weights file holds a tensor the architecture does not use.
    case unexpectedTensor(path: String, tensor: String)
    /// A tensor's shape disagrees with `d_in`/`d_sae` from cfg.json.
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    /// A tensor holds NaN or ±infinity.
    case nonFinite(path: String, tensor: String)
    /// The SAE does not fit the language model (d_in ≠ model width, hook layer beyond the model's blocks).
    case modelMismatch(path: String, field: String, reason: String)
    /// A feature index outside 0..<d_sae.
    case featureOutOfRange(feature: Int, dSae: Int)
    /// Bad training input or settings (argument named in the message).
    case invalidTraining(argument: String, reason: String)
    /// Writing the SAE directory failed.
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .invalidConfiguration(path, field, reason): "\(path): field '\(field)': \(reason)"
        case let .unknownArchitecture(path, field, value):
            "\(path): field '\(field)': unknown SAE architecture '\(value)' (supported: standard, jumprelu, topk, gated, and the inference forms of batchtopk and matryoshka_batchtopk)"
        case let .missingTensor(path, tensor): "\(path): missing tensor '\(tensor)'"
        case let .unexpectedTensor(path, tensor): "\(path): unexpected tensor '\(tensor)' for this architecture"
        case let .shapeMismatch(path, tensor, expected, found):
            "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .nonFinite(path, tensor): "\(path): tensor '\(tensor)' contains NaN or infinity"
        case let .modelMismatch(path, field, reason): "\(path): field '\(field)': \(reason)"
        case let .featureOutOfRange(feature, dSae): "feature index \(feature) is out of range 0..<\(dSae)"
        case let .invalidTraining(argument, reason): "\(argument): \(reason)"
        case let .writeFailed(path, reason): "\(path): cannot write: \(reason)"
        }
    }
}
