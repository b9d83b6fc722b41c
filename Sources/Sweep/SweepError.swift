import Foundation

/// Errors of the sweep stage (planning and running). Each names the argument, file or row at fault.
public enum SweepError: Error, LocalizedError, Equatable {
    case invalidMagnitudes(String)
    case emptyPromptFile(path: String)
    case malformedPromptLine(path: String, line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case unknownFeature(index: Int, featureCount: Int)
    case invalidFeatureList(String)
    case invalidShard(String)
    case noFeatures
    case missingMaxActivation(feature: Int)
    case invalidSetting(String, String)
    case unitsDoNotApply(units: String, method: String)
    case noScores(sae: String)
    case promptTooLong(index: Int, prompt: String, tokens: Int, maxTokens: Int, contextLength: Int)

    public var errorDescription: String? {
        switch self {
        case let .invalidMagnitudes(reason): "--magnitudes: \(reason)"
        case let .emptyPromptFile(path): "\(path): the prompt file holds no prompts"
        case let .malformedPromptLine(path, line, reason): "\(path):\(line): \(reason)"
        case let .cannotRead(path, reason): "\(path): cannot read: \(reason)"
        case let .unknownFeature(index, count): "feature \(index) does not exist: the SAE has \(count) features (0…\(count - 1))"
        case let .invalidFeatureList(reason): "--features: \(reason)"
        case let .invalidShard(reason): "--shard: \(reason)"
        case .noFeatures: "no features selected: give --features, --feature-file or --top-features"
        case let .missingMaxActivation(feature):
            "feature \(feature) has no max activation: run 'semprog explain' (feature statistics) first, or use --units absolute"
        case let .invalidSetting(option, value): "\(option): '\(value)' is not a valid value"
        case let .noScores(sae):
            "--by output-score: the database holds no output scores for \(sae); run 'semprog screen --sae \(sae) --db …' first"
        case let .unitsDoNotApply(units, method):
            units == "factor"
                ? "--units factor applies to --method scale only (clamp and add take activations: --units max-activation or absolute)"
                : "--units \(units) does not apply to --method \(method): its magnitudes are dimensionless factors (--units factor)"
        case let .promptTooLong(index, prompt, tokens, maxTokens, contextLength):
            "prompt \(index) (\(prompt.count > 40 ? String(prompt.prefix(40)) + "…" : prompt)) has \(tokens) tokens; with --max-tokens \(maxTokens) that exceeds the model's context length of \(contextLength)"
        }
    }
}
