import Foundation
import SparseAutoencoder

extension FeatureExplanationRun {
    /// `semprog explain`: runs, then prints a line per feature (all of them when `--features` chose them, else the
    /// first 10) and a summary of what was explained and written on the diagnostic stream.
    public func explain(console: StudyConsole = .standard) throws {
        let outcome = try run()
        Self.lines(outcome).forEach(console.output)
        let statistics = outcome.statistics
        console.diagnostic("\(statistics.count) features (\(outcome.explained) explained, \(statistics.count - outcome.explained) "
                           + "never fired on \(outcome.tokens) tokens) → \(outcome.path)")
    }

    /// `#F density D max M: explanation` (density 5 decimals, max activation 2), "(never fired)" without one.
    static func lines(_ outcome: Outcome) -> [String] {
        outcome.statistics.prefix(outcome.selected ? outcome.statistics.count : 10).map { s in
            String(format: "#%d density %.5f max %.2f: ", s.feature, s.fractionNonzero, s.maxActivation)
                + (BuiltInExplainer.explain(s) ?? "(never fired)")
        }
    }
}
