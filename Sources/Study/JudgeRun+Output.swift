import Analysis
import Foundation
import Store

// What `semprog judge` prints: the counts of what was judged and the best factor, window and RQ3 window
// correlation of each feature, as lines or JSON.

extension JudgeRun {
    /// Opens the database, judges the sweep with `engine` and prints the counts and summary (`table` or `json`).
    public static func judge(database: String, sweep: String?, engine: SteeringJudgeEngine, json: Bool, quiet: Bool,
                             console: StudyConsole = .standard) async throws {
        let store = try StoreDatabase(path: database)
        var run = JudgeRun(store: store, databasePath: database, engine: engine, quiet: quiet)
        run.log = console.diagnostic
        let (counts, summary) = try await run.run(sweepName: sweep)
        console.output(json ? Self.json(counts, summary) : Self.table(counts, summary))
    }

    /// `{"counts": {…}, "summary": {…}}` with sorted keys.
    public static func json(_ counts: Counts, _ summary: SteeringScoreSummary) -> String {
        struct Output: Encodable { var counts: JudgeRun.Counts; var summary: SteeringScoreSummary }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(Output(counts: counts, summary: summary))) ?? Data(), as: UTF8.self)
    }

    /// The counts, then per feature its best factor (score on the report prompts, and on the selection prompts it
    /// was chosen on) and half-best window, the mean best score (0–2) and RQ3's window correlation. The proxy's
    /// numbers are labelled "proxy".
    public static func table(_ c: Counts, _ s: SteeringScoreSummary) -> String {
        let label = s.isProxy ? "proxy steering score" : "steering score (llm judge)"
        var lines = ["judged \(c.total) generations of sweep '\(c.sweep)' with '\(c.judge)': \(c.new) new (\(c.judged) judged), "
                     + "\(c.reused) reused from the cache, \(c.already) already scored"]
        lines.append("best factor per feature (\(label); chosen on prompts \(s.selectionPrompts.map(String.init).joined(separator: ",")), "
                     + "reported on \(s.reportPrompts.map(String.init).joined(separator: ","))):")
        for f in s.features {
            let best = f.bestFactor.map { String(format: "factor %g: %.3f (selection %.3f)", $0.magnitude, $0.reportScore, $0.selectionScore) } ?? "—"
            let window = f.window.map { String(format: "window [%g, %g]", $0.lower, $0.upper) } ?? "no window"
            lines.append("  feature \(f.featureIndex): \(best); \(window)")
        }
        lines.append("mean best \(label): " + (s.meanBestScore.map { String(format: "%.3f", $0) } ?? "—") + " (0–2)")
        if let r = s.sparsityVsScoreWindow {
            lines.append("RQ3 (score window): Spearman ρ " + (r.rho.map { String(format: "%.3f", $0) } ?? "—")
                         + " (p " + (r.pValue.map { String(format: "%.4f", $0) } ?? "—") + ", n \(r.n))"
                         + (r.undefinedReason.map { ": \($0)" } ?? ""))
        } else if let note = s.sparsityVsScoreWindowNote {
            lines.append("RQ3 (score window): \(note)")
        }
        return lines.joined(separator: "\n")
    }
}
