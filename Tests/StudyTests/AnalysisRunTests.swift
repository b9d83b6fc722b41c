import Analysis
import Foundation
import Store
import Testing
@testable import Study

/// `semprog analyze`'s work (`AnalysisRun`) and its printed table, on a synthetic sweep imported into a database
/// file whose embeddings are cached beforehand (no model runs).
@Suite struct AnalysisRunTests {
    /// A database file with the synthetic sweep and the embedding cache filled; returns (database, model folder).
    static func analysedSweepDatabase(in dir: URL, withoutMaxActivation: Int = 4) throws -> (String, String) {
        let synthetic = SyntheticSweep(features: 6, prompts: 3, magnitudes: 8, dimension: 16, noise: 0.02, seed: 11)
        let db = dir.appendingPathComponent("a.sqlite").path
        let store = try StoreDatabase(path: db)
        try AnalysisPipelineTests.importSweep(synthetic, into: store, withoutMaxActivation: withoutMaxActivation)
        let modelDirectory = try AnalysisPipelineTests.fakeModelDirectory()
        let input = synthetic.input
        var vectorOf: [String: [Float]] = [:]
        for p in input.prompts where vectorOf[p.text] == nil { vectorOf[p.text] = p.embedding }
        for g in input.generations where vectorOf[g.text] == nil { vectorOf[g.text] = g.embedding }
        for f in input.features where vectorOf[f.explanation!] == nil { vectorOf[f.explanation!] = f.explanationEmbedding! }
        let key = try EmbeddingCache(store: store, modelDirectory: modelDirectory).modelKey
        try store.saveEmbeddings(vectorOf.map { TextEmbeddingRecord(model: key, textHash: EmbeddingCache.hash($0.key), values: $0.value) })
        return (db, modelDirectory)
    }

    @Test func tablePrintsTheStoredSummary() throws {
        let dir = try StudyFixtures.scratch("analyze")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (db, model) = try Self.analysedSweepDatabase(in: dir)
        defer { try? FileManager.default.removeItem(atPath: model) }
        let run = AnalysisRun(database: db, sweep: nil, embeddingModel: model, model: nil, penalty: nil, describer: nil,
                              threads: 2, json: false, quiet: true)
        let recorder = RecordingConsole()
        let summary = try run.run(console: recorder.console)
        #expect(recorder.output.count == 1 && recorder.output[0] == summary.table)
        #expect(recorder.diagnostics.last?.hasPrefix("stored in \(db) (") == true)
        let lines = summary.table.split(separator: "\n").map(String.init)
        func value(_ key: String) -> String? {
            lines.first { $0.hasPrefix(key + " ") }.map { String($0.dropFirst(key.count)).trimmingCharacters(in: .whitespaces) }
        }
        #expect(value("sweep") == "synthetic")
        #expect(value("features × prompts") == "6 × 3 (\(summary.generationCount) generations)")
        #expect(value("RQ3 n") == "5")
        #expect(value("RQ3 Spearman ρ") == String(format: "%.3f", summary.sparsityVsRobustness.rho!))
        #expect(value("robustness units") == "× max activation")
        #expect(value("embeddings")?.hasPrefix("0 computed, ") == true)
        // Every value starts in one column, two spaces after the longest key; the skipped features' lines continue
        // in that column.
        let width = "RQ2 consistency (vs baseline)".count
        #expect(lines.allSatisfy { $0.count > width + 2 && $0.dropFirst(width + 2).first != " " })
        #expect(lines[0] == "sweep" + String(repeating: " ", count: width - 5 + 2) + "synthetic")
        let skipped = try #require(lines.firstIndex { $0.hasPrefix("skipped (partly)") })
        #expect(lines[skipped].dropFirst(width + 2).hasPrefix("4: "))

        // --json prints the summary itself (and no notes on stderr).
        let json = RecordingConsole()
        var again = run
        again.json = true
        try again.run(console: json.console)
        let printed = try #require(json.output.first)
        let decoded = try #require(AnalysisRunSummary.decode(printed))
        #expect(decoded == summary)   // every embedding was cached both times: the same analysis
        #expect(json.diagnostics.isEmpty)
    }

    @Test func numbersAndPValuesInTheTable() {
        #expect(AnalysisRunSummary.number(nil) == "—" && AnalysisRunSummary.number(.nan) == "—")
        #expect(AnalysisRunSummary.number(0.12345) == "0.123" && AnalysisRunSummary.number(2, 2) == "2.00")
        #expect(AnalysisRunSummary.pValue(0.0123456) == "0.0123" && AnalysisRunSummary.pValue(0.000123) == "1.23e-04")
        #expect(AnalysisRunSummary.pValue(.infinity) == "—")
    }
}
