import ArgumentParser
import Foundation
import Report
import Study

extension Semprog {
    /// `semprog compare`: two analysed sweeps side by side (compare.html) and one explorer with both.
    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "Compare two analysed sweeps: RQ1–RQ3 side by side, the settings that differ, one explorer.",
            discussion: """
            semprog compare --db A.sqlite [--sweep NAME] --db B.sqlite [--sweep NAME] --out DIR
            Each --sweep applies to the --db before it (default: the only sweep of that database). Writes \
            DIR/compare.html (settings that differ, RQ1–RQ3 of both runs with 95 % intervals and the difference B − A, \
            matched features) and DIR/explorer.html (both runs). Features are matched by index when both runs use the \
            same SAE. DIR follows the report rules: only files an earlier report or comparison wrote are replaced.
            """)

        /// Output folder.
        @Option(name: .long, help: "Output folder.")
        var out: String

        @Flag(name: .long, help: "Write into a non-empty folder without an earlier report; its files are kept.")
        var force = false

        @Option(name: .long, help: "Sentence-embedding model folder, for matching features across SAEs by explanation.")
        var embeddingModel: String = DefaultPaths.embeddingModel

        @Option(name: .long, help: "Least cosine similarity of two explanations to pair their features across SAEs.")
        var minSimilarity: Double = Comparison.defaultMinimumSimilarity

        /// `--db FILE [--sweep NAME]` twice, in order (collected as given, so each --sweep pairs with its --db).
        @Argument(parsing: .allUnrecognized, help: "--db A.sqlite [--sweep NAME] --db B.sqlite [--sweep NAME]")
        var runs: [String] = []

        /// The (database, sweep) pairs in `arguments`, in order.
        static func pairs(_ arguments: [String]) throws -> [(db: String, sweep: String?)] {
            var result: [(db: String, sweep: String?)] = []
            var i = 0
            while i < arguments.count {
                let a = arguments[i]
                guard a == "--db" || a == "--sweep" else {
                    throw ValidationError("unexpected argument '\(a)': give --db A.sqlite [--sweep NAME] --db B.sqlite [--sweep NAME] --out DIR")
                }
                guard i + 1 < arguments.count, !arguments[i + 1].hasPrefix("--") else { throw ValidationError("\(a) needs a value") }
                let value = arguments[i + 1]
                if a == "--db" {
                    result.append((value, nil))
                } else {
                    guard let last = result.indices.last else { throw ValidationError("--sweep \(value) comes before any --db") }
                    guard result[last].sweep == nil else { throw ValidationError("two --sweep options for --db \(result[last].db)") }
                    result[last].sweep = value
                }
                i += 2
            }
            guard result.count == 2 else { throw ValidationError("give exactly two --db options (got \(result.count))") }
            return result
        }

        func validate() throws {
            _ = try Self.pairs(runs)
            guard minSimilarity.isFinite, (-1...1).contains(minSimilarity) else {
                throw ValidationError("--min-similarity must be a cosine in [-1, 1], got \(minSimilarity)")
            }
        }

        func run() async throws {
            do {
                let p = try Self.pairs(runs)
                print(try ComparisonRun.run(a: p[0], b: p[1], embeddingModel: embeddingModel, minimumSimilarity: minSimilarity,
                                            out: out, force: force))
            } catch let e as ValidationError {
                throw e
            } catch {
                Terminal.error("error: " + error.localizedDescription)
                throw ExitCode.failure
            }
        }
    }
}
