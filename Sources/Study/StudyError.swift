import Foundation

/// Errors of the study layer (database → analysis → report glue); each names the sweep, file, row or argument
/// and what to run or fix.
public enum StudyError: Error, LocalizedError {
    case noGenerations(sweep: String)
    case missingBaselines(sweep: String, prompts: [String])
    case tooFewFeatures(sweep: String, withOutputs: Int, withDensity: Int)
    case unknownDescriber(sweep: String, describer: String, available: [String])
    case notAnalysed(sweep: String, database: String)
    /// `semprog judge`: no feature of the sweep has an explanation to rate the concept against.
    case noExplanations(sweep: String)
    /// `semprog judge --judge offline`: generations without the stored analysis the proxy reads.
    case notAnalysedForJudging(sweep: String, database: String, missing: Int)
    /// A command-line argument or input file that cannot be used; the message names it.
    case invalidArgument(String)

    public var errorDescription: String? {
        switch self {
        case let .noGenerations(sweep):
            "sweep '\(sweep)' has no generations: run 'semprog sweep' or 'semprog import' first"
        case let .missingBaselines(sweep, prompts):
            "sweep '\(sweep)': \(prompts.count) prompt(s) have no baseline (unsteered) output: "
                + prompts.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (prompts.count > 5 ? ", …" : "")
                + "; the analysis compares every steered output with its prompt's baseline (import a 'baseline' column or rerun 'semprog sweep')"
        case let .tooFewFeatures(sweep, withOutputs, withDensity):
            "sweep '\(sweep)' has \(withOutputs) feature(s) with outputs, \(withDensity) of them with a fraction_nonzero (sparsity): "
                + "RQ3 correlates features and needs at least 3"
        case let .unknownDescriber(sweep, describer, available):
            "sweep '\(sweep)' has no descriptions by '\(describer)' (" + (available.isEmpty ? "it is not described at all"
                : "it has: " + available.joined(separator: ", ")) + "); run 'semprog describe --describer \(describer)' first"
        case let .notAnalysed(sweep, database):
            "sweep '\(sweep)' has not been analysed yet: run 'semprog analyze --db \(database) --sweep \(sweep)' first"
        case let .noExplanations(sweep):
            "sweep '\(sweep)': no feature has an explanation, and the concept rating compares each output with its "
                + "feature's explanation: run 'semprog explain', 'semprog neuronpedia import' or import an 'explanation' column first"
        case let .notAnalysedForJudging(sweep, database, missing):
            "sweep '\(sweep)': \(missing) generation(s) have no degradation metrics, which the proxy's fluency rating reads: "
                + "run 'semprog analyze --db \(database) --sweep \(sweep) --model M' first"
        case let .invalidArgument(message):
            message
        }
    }
}
