import Foundation

/// Every way the analysis layer can reject its input. Messages name the field, row or feature at fault.
public enum AnalysisError: Error, LocalizedError, Equatable, Sendable {
    /// Two inputs that must pair up element by element have different lengths.
    case lengthMismatch(field: String, expected: Int, got: Int)
    /// A statistic needs more data points than it was given.
    case tooFewPoints(what: String, count: Int, minimum: Int)
    /// A value is NaN or infinite.
    case nonFinite(field: String, index: Int)
    /// A prompt used by the sweep has no unsteered (baseline) output.
    case missingBaseline(promptID: String)
    /// A generation names a feature that is not in the feature list.
    case unknownFeature(featureID: String, generation: Int)
    /// A generation names a prompt that has no baseline entry.
    case unknownPrompt(promptID: String, generation: Int)
    /// The same (feature, prompt, magnitude) appears twice.
    case duplicateGeneration(featureID: String, promptID: String, magnitude: Double)
    /// The same identifier is listed twice.
    case duplicateIdentifier(field: String, id: String)
    /// An embedding has the wrong number of components (or none).
    case embeddingDimension(field: String, expected: Int, got: Int)
    /// A feature's max activation is zero, negative or not finite, so magnitudes cannot be expressed in its units.
    case invalidMaxActivation(featureID: String, value: Double)
    /// RQ3 correlates features: at least three are needed.
    case tooFewFeatures(count: Int)
    /// A setting is out of its valid range.
    case invalidSetting(name: String, value: String, expected: String)

    public var errorDescription: String? {
        switch self {
        case let .lengthMismatch(field, expected, got):
            "\(field): expected \(expected) values to pair with, got \(got)"
        case let .tooFewPoints(what, count, minimum):
            "\(what): needs at least \(minimum) data points, got \(count)"
        case let .nonFinite(field, index):
            "\(field)[\(index)] is not a finite number"
        case let .missingBaseline(promptID):
            "prompt '\(promptID)' has no baseline (unsteered) output: the sweep needs one per prompt"
        case let .unknownFeature(featureID, generation):
            "generation \(generation): feature '\(featureID)' is not in the feature list"
        case let .unknownPrompt(promptID, generation):
            "generation \(generation): prompt '\(promptID)' has no baseline entry"
        case let .duplicateGeneration(featureID, promptID, magnitude):
            "feature '\(featureID)', prompt '\(promptID)': magnitude \(magnitude) appears more than once"
        case let .duplicateIdentifier(field, id):
            "\(field): identifier '\(id)' is listed more than once"
        case let .embeddingDimension(field, expected, got):
            "\(field): embedding has \(got) components, expected \(expected)"
        case let .invalidMaxActivation(featureID, value):
            "feature '\(featureID)': max activation \(value) must be a finite positive number"
        case let .tooFewFeatures(count):
            "the sweep has \(count) feature(s) with outputs: RQ3 correlates features and needs at least 3"
        case let .invalidSetting(name, value, expected):
            "setting \(name) = \(value) is invalid: expected \(expected)"
        }
    }
}
