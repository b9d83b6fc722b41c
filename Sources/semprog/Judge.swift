import Analysis
import ArgumentParser
import Foundation
import Store
import Study

extension Semprog {
    /// `semprog judge`: AxBench-style steering scores (concept, instruction, fluency, each 0–2, and their harmonic
    /// mean) of every steered output, cached in the database; prints the best factor per feature and the mean.
    struct Judge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "judge",
            abstract: "Steering scores per output (AxBench: concept, instruction, fluency) by an offline proxy or an LLM judge",
            discussion: """
                offline (default) is a PROXY, not AxBench's judge: concept = cosine(output, explanation) ≥ 0.2 → 1, \
                ≥ 0.4 → 2; instruction = cosine(output, the prompt's unsteered answer) ≥ 0.3 → 1, ≥ 0.6 → 2 \
                (all-MiniLM-L6-v2); fluency = 0 if the stored analysis calls the output degraded, else 2 when its \
                perplexity under the unsteered model is ≤ 10, else 1 (run 'semprog analyze' first; --model there \
                adds perplexity). llm asks AxBench's three rubric prompts of any OpenAI-compatible endpoint \
                (--llm-base-url/OPENAI_BASE_URL, --llm-model/SEMPROG_LLM_MODEL, --llm-api-key/OPENAI_API_KEY); a \
                reply without "Rating: [[0-2]]" is refused and asked again (at most 3 times). Scores are cached \
                per (generation, judge, rubric version and inputs): a rerun asks nothing twice. The best factor of \
                each feature is chosen on the first half of the prompts (by id) and reported on the other half.
                """)

        @OptionGroup var database: DatabaseOptions
        var db: String { database.db }

        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        @Option(name: .long, help: "offline (default: the proxy) or llm.")
        var judge: String = "offline"

        @Option(name: .customLong("embedding-model"), help: "all-MiniLM-L6-v2 directory for the proxy (default: models/all-MiniLM-L6-v2).")
        var embeddingModel: String?

        @OptionGroup var endpoint: LLMEndpointOptions
        var concurrency: Int { endpoint.concurrency }

        @Flag(name: .long, help: "Print the counts and the summary as JSON.")
        var json = false

        @OptionGroup var progress: QuietOptions
        var quiet: Bool { progress.quiet }

        func validate() throws {
            guard ["offline", "llm"].contains(judge) else {
                throw ValidationError("--judge: unknown judge '\(judge)'; use offline or llm")
            }
            guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db): no such database") }
        }

        func run() async throws {
            do {
                let store = try StoreDatabase(path: db)
                let engine: SteeringJudgeEngine
                if judge == "llm" {
                    let settings = try endpoint.settings()
                    engine = .llm(try LLMJudge(settings: settings))
                } else {
                    engine = .proxy(embeddingModel: embeddingModel ?? DefaultPaths.embeddingModel, thresholds: .standard)
                }
                let (counts, summary) = try await JudgeRun(store: store, databasePath: db, engine: engine, quiet: quiet).run(sweepName: sweep)
                print(json ? Self.json(counts, summary) : Self.table(counts, summary))
            } catch {
                Terminal.error("error: " + error.localizedDescription)
                throw ExitCode.failure
            }
        }

        static func json(_ counts: JudgeRun.Counts, _ summary: SteeringScoreSummary) -> String {
            struct Output: Encodable { var counts: JudgeRun.Counts; var summary: SteeringScoreSummary }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: (try? encoder.encode(Output(counts: counts, summary: summary))) ?? Data(), as: UTF8.self)
        }

        static func table(_ c: JudgeRun.Counts, _ s: SteeringScoreSummary) -> String {
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
}
