import Analysis
import Foundation

/// What `semprog stats spearman` computes on any CSV table: Spearman ρ of two numeric columns with its t-test and
/// permutation p-values, a bootstrap CI and Kendall τ-b (`Analysis.RankCorrelation.summary`), printed as lines or
/// JSON. A constant column leaves ρ undefined (said on the diagnostic stream, null in JSON).
public struct ColumnCorrelation {
    public var csv: String
    public var xColumn: String
    public var yColumn: String
    /// Seed of the permutation test and the bootstrap.
    public var seed: UInt64
    /// Random permutations (when n > 8) and bootstrap resamples.
    public var resamples: Int

    public init(csv: String, xColumn: String, yColumn: String, seed: UInt64, resamples: Int) {
        self.csv = csv; self.xColumn = xColumn; self.yColumn = yColumn; self.seed = seed; self.resamples = resamples
    }

    /// Reads the two columns and correlates them; an analysis error names the file.
    public func summary() throws -> RankCorrelationSummary {
        let table = try NumericTable(path: csv)
        let x = try table.numericColumn(xColumn)
        let y = try table.numericColumn(yColumn)
        var options = RankCorrelationOptions()
        options.seed = seed
        options.permutationResamples = resamples
        options.bootstrapResamples = resamples
        do {
            return try RankCorrelation.summary(x, y, options: options, xName: "column '\(xColumn)'", yName: "column '\(yColumn)'")
        } catch let error as AnalysisError {
            throw StudyError.invalidArgument("\(csv): \(error.localizedDescription)")
        }
    }

    /// The summary as `semprog stats spearman` prints it (6 significant digits; "undefined" for a missing value).
    public func lines(_ s: RankCorrelationSummary) -> [String] {
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "undefined" }
        return [
            "Spearman \(yColumn) ~ \(xColumn)  (n = \(s.n))",
            "  rho            \(f(s.rho))",
            "  p (t, n-2 df)  \(f(s.pValue))",
            "  p (permutation\(s.permutationIsExact == true ? ", exact" : ", \(resamples) random")) \(f(s.pPermutation))",
            "  95% CI         [\(f(s.ciLow)), \(f(s.ciHigh))]  (percentile bootstrap, \(resamples) resamples)",
            "  Kendall tau-b  \(f(s.kendallTau))  p = \(f(s.kendallPValue))",
        ]
    }

    /// Computes and prints (JSON with sorted keys, or `lines`).
    public func run(json: Bool, console: StudyConsole = .standard) throws {
        let s = try summary()
        if let reason = s.undefinedReason { console.diagnostic("\(csv): \(reason)") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            console.output(String(decoding: try encoder.encode(s), as: UTF8.self))
        } else {
            lines(s).forEach(console.output)
        }
    }
}
