import Analysis
import Foundation
import TestSupport
import Report
import Store
import Testing
@testable import Study

/// The analysis pipeline and report assembly on a synthetic sweep imported into an in-memory database. The
/// embeddings are put in the database's cache beforehand (under the key of a stand-in model directory), so the
/// pipeline never loads MiniLM: its RQ3 must equal `Analysis.SweepAnalysis.analyze` run directly on the same
/// vectors, and the report's RQ3 scatter must show exactly the features ρ used.
@Suite struct AnalysisPipelineTests {
    /// A stand-in all-MiniLM-L6-v2 directory: the three files `EmbeddingCache` hashes for its model key.
    static func fakeModelDirectory() throws -> String {
        let dir = TestScratch.root.appendingPathComponent("study-minilm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in [("config.json", "{}"), ("vocab.txt", "[PAD]\n"), ("model.safetensors", "not weights")] {
            try Data(text.utf8).write(to: dir.appendingPathComponent(name))
        }
        return dir.path
    }

    /// Imports `synthetic` as a flat CSV; `withoutMaxActivation` gets no max_activation.
    static func importSweep(_ synthetic: SyntheticSweep, into store: StoreDatabase, withoutMaxActivation: Int) throws {
        let input = synthetic.input
        let feature = Dictionary(uniqueKeysWithValues: input.features.map { ($0.featureID, $0) })
        let baseline = Dictionary(uniqueKeysWithValues: input.prompts.map { ($0.promptID, $0.text) })
        var csv = CSV.line(["feature", "prompt", "magnitude", "output", "baseline", "explanation", "fraction_nonzero", "max_activation"])
        for g in input.generations {
            let f = feature[g.featureID]!, index = Int(g.featureID.split(separator: "-").last!)!
            csv += CSV.line([String(index), g.promptID, String(g.magnitude), g.text, baseline[g.promptID]!, f.explanation!,
                             String(pow(10, f.log10Density!)), index == withoutMaxActivation ? "" : String(f.maxActivation)])
        }
        let parsed = try FlatFile.parse(Data(csv.utf8), format: .csv, file: "synthetic.csv")
        _ = try store.importFlat(parsed, sweepName: "synthetic", file: "synthetic.csv")
    }

    @Test func rq3EqualsTheDirectAnalysisAndTheScatterShowsItsFeatures() throws {
        let synthetic = SyntheticSweep(features: 6, prompts: 3, magnitudes: 8, dimension: 16, noise: 0.02, seed: 11)
        let store = try StoreDatabase.inMemory()
        let left = 4
        try Self.importSweep(synthetic, into: store, withoutMaxActivation: left)
        let modelDirectory = try Self.fakeModelDirectory()
        defer { try? FileManager.default.removeItem(atPath: modelDirectory) }

        // Cache every text's vector as the cache would return it (one vector per distinct text: the first).
        let input = synthetic.input
        var vectorOf: [String: [Float]] = [:]
        for p in input.prompts where vectorOf[p.text] == nil { vectorOf[p.text] = p.embedding }
        for g in input.generations where vectorOf[g.text] == nil { vectorOf[g.text] = g.embedding }
        for f in input.features where vectorOf[f.explanation!] == nil { vectorOf[f.explanation!] = f.explanationEmbedding! }
        let key = try EmbeddingCache(store: store, modelDirectory: modelDirectory).modelKey
        try store.saveEmbeddings(vectorOf.map { TextEmbeddingRecord(model: key, textHash: EmbeddingCache.hash($0.key), values: $0.value) })

        let summary = try AnalysisPipeline(store: store, databasePath: ":memory:",
                                           options: AnalysisPipelineOptions(embeddingModel: modelDirectory, threads: 2, quiet: true))
            .run(sweepName: nil) { _ in }
        #expect(summary.embeddingsComputed == 0)
        #expect(summary.rq3Features == input.features.indices.filter { $0 != left })
        #expect(summary.skippedFeatures.contains { $0.feature == left && $0.reason.contains("max_activation") })

        // Directly: the same vectors; robustness in max activations; the feature without one is left out of RQ3.
        let features = input.features.enumerated().map { i, f in
            FeatureInput(featureID: String(i), maxActivation: i == left ? 1 : f.maxActivation,
                         log10Density: i == left ? nil : log10(pow(10, f.log10Density!)),
                         explanation: f.explanation, explanationEmbedding: f.explanationEmbedding)
        }
        let promptIndex = Dictionary(uniqueKeysWithValues: input.prompts.enumerated().map { ($1.promptID, $0 + 1) })
        let direct = try SweepAnalysis.analyze(SweepAnalysisInput(
            features: features,
            prompts: input.prompts.enumerated().map { PromptBaseline(promptID: String($0 + 1), text: $1.text, embedding: $1.embedding) },
            generations: input.generations.map {
                GenerationInput(featureID: String(Int($0.featureID.split(separator: "-").last!)!),
                                promptID: String(promptIndex[$0.promptID]!), magnitude: $0.magnitude, text: $0.text,
                                embedding: vectorOf[$0.text]!, descriptionEmbedding: nil, perplexity: nil)
            }), threads: 2)
        let expected = direct.headline.sparsityVsRobustness
        let got = summary.sparsityVsRobustness
        #expect(got.n == 5 && expected.n == 5)
        #expect(abs(got.rho! - expected.rho!) < 1e-12)
        #expect(abs(got.pValue! - expected.pValue!) < 1e-12)
        #expect(abs(got.kendallTau! - expected.kendallTau!) < 1e-12)
        #expect(abs(summary.meanStageCount - direct.headline.meanStageCount) < 1e-12)

        // The report: ρ from the summary, and n points — the feature left out of ρ is not drawn.
        let report = try ReportAssembly.reportData(store: store, sweepName: nil, databasePath: ":memory:")
        let rq3 = report.data.summary.rq3
        #expect(rq3.n == 5)
        #expect(rq3.points.count == rq3.n)
        #expect(!rq3.points.contains { $0.featureIndex == left })
        #expect(abs(rq3.spearmanRho - expected.rho!) < 1e-12)
        #expect(rq3.robustnessUnit == "× max activation")
        #expect(report.omitted.contains { $0.feature == left })
        #expect(report.warnings.isEmpty)
    }
}
