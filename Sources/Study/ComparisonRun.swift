import Foundation
import Report

/// What `semprog compare` runs: two studies loaded from their databases (`ReportRun.loadFromDatabase`), their
/// features matched by explanation similarity (`ExplanationMatching`, MiniLM cosine ≥ `minimumSimilarity`), and
/// the comparison folder written (`Comparison.write`: compare.html, explorer.html, figures/).
public enum ComparisonRun {
    /// Writes the comparison of the runs (database, sweep) `a` and `b` to `out` and returns the line to print.
    public static func run(a: (db: String, sweep: String?), b: (db: String, sweep: String?), embeddingModel: String,
                           minimumSimilarity: Double, out: String, force: Bool) throws -> String {
        let first = try ReportRun.loadFromDatabase(path: a.db, sweep: a.sweep)
        let second = try ReportRun.loadFromDatabase(path: b.db, sweep: b.sweep)
        let embeddings = try ExplanationMatching.embeddings(first, second, embeddingModel: embeddingModel)
        let comparison = Comparison(a: first, b: second, explanationEmbeddings: embeddings, minimumSimilarity: minimumSimilarity)
        try comparison.write(to: URL(fileURLWithPath: out), force: force)
        return "wrote \(out): compare.html, explorer.html, figures/ (\(first.features.count) + \(second.features.count) features; matched \(comparison.matching))"
    }
}
