import Foundation
import Sweep

/// What `semprog screen` runs: the output (and input) scores of an SAE's features (Arad, Mueller & Belinkov 2025;
/// `FeatureScreen`), stored in the database, printed as the 20 best by output score or as a JSON list.
public enum ScreenRun {
    /// Loads the model and SAE, screens `features` (indices as written; nil: every feature), stores and prints.
    public static func screen(model: String, sae: String, hook: String?, database: String, features: String?,
                              settings: FeatureScreenSettings, json: Bool, quiet: Bool, console: StudyConsole = .standard) throws {
        let list = try features.map(FeatureList.parse)
        let session = try SteeringSession.load(modelPath: model, saePath: sae, hook: hook)
        let line = ProgressLine("screen", quiet: quiet)
        let start = Date()
        let results = try FeatureScreen.screenAndStore(session: session, databasePath: database, features: list,
                                                       settings: settings) { done, total in
            line.update(done: done, total: total, unit: "features")
        }
        line.finish()
        let seconds = Date().timeIntervalSince(start)
        if json { console.output(Self.json(results)) } else { Self.table(results).forEach(console.output) }
        console.diagnostic(String(format: "screen: %d features in %.1f s (%.1f features/s) → %@",
                                  results.count, seconds, Double(results.count) / max(seconds, 1e-9), database))
    }

    /// `[{"feature": F, "output_score": S, "input_score": I or null}, …]`, one feature per line, in screening order.
    public static func json(_ results: [FeatureScreenResult]) -> String {
        let rows: [String] = results.map { r in
            let input = r.inputScore.map { "\($0)" } ?? "null"
            return "{\"feature\": \(r.feature), \"output_score\": \(r.output.score), \"input_score\": \(input)}"
        }
        return "[" + rows.joined(separator: ",\n ") + "]"
    }

    /// The 20 features with the highest output score, best first: `feature F  output S  input I` ("—" without one).
    public static func table(_ results: [FeatureScreenResult]) -> [String] {
        results.sorted(by: { $0.output.score > $1.output.score }).prefix(20).map { r in
            String(format: "feature %5d  output %.4f  input %@", r.feature, r.output.score,
                   r.inputScore.map { String(format: "%.2f", $0) } ?? "—")
        }
    }
}
