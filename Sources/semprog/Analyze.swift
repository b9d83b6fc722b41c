import ArgumentParser
import Foundation
import LanguageModel
import Store
import Study
import Units

extension Semprog {
    /// `semprog analyze`: degradation, onsets, stages (RQ1), similarity to the explanation, consistency (RQ2) and
    /// sparsity vs robustness (RQ3) of a sweep, stored in the analysis tables; prints a summary.
    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "analyze",
            abstract: "Analyse a sweep: degradation, stages, similarity, RQ1-RQ3 (stored in the database)",
            discussion: """
                Every analysis row of the sweep is replaced in one transaction; embeddings are cached in the \
                database (text_embeddings), so a rerun only embeds new texts.
                Descriptions: the similarity to the explanation compares the explanation with each generation's \
                description (as the study did) when the sweep is described — by default the descriptions of \
                'import', else 'llm', else 'local', else 'contrastive' (choose with --describer). A sweep that is \
                not described is analysed with output–explanation cosines only; the summary says which basis it used.
                Features without an explanation are left out of the similarity summary and listed; features \
                without fraction_nonzero are left out of RQ3 and listed; RQ3 needs at least 3 features.
                """)

        @OptionGroup var databaseOptions: DatabaseOptions
        var db: String { databaseOptions.db }

        @Option(name: .long, help: "Sweep name (default: the only sweep in the database).")
        var sweep: String?

        @Option(name: .customLong("embedding-model"), help: "all-MiniLM-L6-v2 directory (default: models/all-MiniLM-L6-v2).")
        var embeddingModel: String?

        @Option(name: .long, help: "GGUF language model: adds the perplexity of each output under the unsteered model.")
        var model: String?

        @Option(name: .long, help: "Stage segmentation penalty (summed 1 − cos per extra stage; default: chosen from the data, 2 × the within-stage noise).")
        var penalty: Double?

        @Option(name: .long, help: "Use the descriptions of this describer (import, contrastive, llm, local).")
        var describer: String?

        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int? { threadOptions.threads }

        @Flag(name: .long, help: "Print the summary as JSON.")
        var json = false

        @OptionGroup var quietOptions: QuietOptions
        var quiet: Bool { quietOptions.quiet }

        func validate() throws {
            if let penalty, !(penalty >= 0 && penalty.isFinite) { throw ValidationError("--penalty must be a finite number ≥ 0") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db): no such database") }
        }

        func run() async throws {
            do {
                let store = try StoreDatabase(path: db)
                let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
                let perplexity = try model.map { try PerplexityScorer.make(modelPath: $0, threads: threadCount) }
                let options = AnalysisPipelineOptions(
                    embeddingModel: embeddingModel ?? DefaultPaths.embeddingModel, penalty: penalty, describer: describer,
                    threads: threadCount, perplexity: perplexity, quiet: quiet)
                let start = Date()
                let summary = try AnalysisPipeline(store: store, databasePath: db, options: options)
                    .run(sweepName: sweep) { if !json { Terminal.error($0) } }
                if json {
                    print(summary.json)
                } else {
                    print(Self.table(summary))
                    Terminal.error(String(format: "stored in %@ (%.1f s)", db, Date().timeIntervalSince(start)))
                }
            } catch let error as ValidationError {
                throw error
            } catch {
                Terminal.error("error: " + error.localizedDescription)
                throw ExitCode.failure
            }
        }

        static func number(_ v: Double?, _ digits: Int = 3) -> String {
            guard let v, v.isFinite else { return "—" }
            return String(format: "%.\(digits)f", v)
        }

        static func pValue(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "—" }
            return v < 1e-3 ? String(format: "%.2e", v) : String(format: "%.4f", v)
        }

        /// The summary as an aligned two-column table.
        static func table(_ s: AnalysisRunSummary) -> String {
            let c = s.sparsityVsRobustness
            var rows: [(String, String)] = [
                ("sweep", s.sweep),
                ("features × prompts", "\(s.featureCount) × \(s.promptCount) (\(s.generationCount) generations)"),
                ("degraded share", number(s.degradedShare)),
                ("RQ1 mean stage count", number(s.meanStageCount, 2) + " (penalty \(number(s.stagePenalty, 3)))"),
                ("RQ1 penalty rule", s.stagePenaltyRule ?? "—"),
                ("RQ1 penalty sensitivity", s.penaltySensitivity.map { "\(number($0.penalty, 2))→\(number($0.meanStageCount, 2))" }.joined(separator: " ")),
                ("mean explanation similarity", number(s.meanExplanationSimilarity) + " (\(s.similarityBasis)s"
                    + (s.describer.map { ", describer \($0)" } ?? "") + ")"),
                ("RQ2 consistency (vs baseline)", number(s.meanConsistency)),
                ("RQ2 stage agreement (ARI)", number(s.meanStageAgreement)),
                ("RQ3 n", "\(c.n)"),
                ("RQ3 Spearman ρ", number(c.rho) + (c.undefinedReason.map { " (\($0))" } ?? "")),
                ("RQ3 p (t)", pValue(c.pValue)),
                ("RQ3 p (permutation)", pValue(c.pPermutation) + (c.permutationIsExact == true ? " exact" : "")),
                ("RQ3 \(Int((c.confidenceLevel * 100).rounded())) % CI", "[\(number(c.ciLow)), \(number(c.ciHigh))]"),
                ("RQ3 Kendall τ-b", number(c.kendallTau) + " (p \(pValue(c.kendallPValue)))"),
                ("robustness units", MagnitudeUnit(parsing: s.robustnessUnits)?.axisLabel ?? s.robustnessUnits),
                ("embeddings", "\(s.embeddingsComputed) computed, \(s.embeddingsCached) cached (\(s.embeddingModel))"),
            ]
            if !s.skippedFeatures.isEmpty {
                rows.append(("skipped (partly)", s.skippedFeatures.map { "\($0.feature): \($0.reason)" }.joined(separator: "\n")))
            }
            for note in s.notes { rows.append(("note", note)) }
            let width = rows.map(\.0.count).max() ?? 0
            return rows.map { key, value in
                let pad = String(repeating: " ", count: width - key.count)
                let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
                return ([key + pad + "  " + (lines.first.map(String.init) ?? "")]
                        + lines.dropFirst().map { String(repeating: " ", count: width + 2) + $0 }).joined(separator: "\n")
            }.joined(separator: "\n")
        }
    }
}
