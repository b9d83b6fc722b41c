import Analysis
import Foundation
import Testing
@testable import Study

/// What the embedding and analysis benchmarks feed their timed steps (the timings themselves are not tested).
@Suite struct BenchmarkInputTests {
    @Test func shortTextsComeFromTheCorpusInFileOrder() throws {
        let dir = try StudyFixtures.scratch("bench-embed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("c.txt")
        let lines = ["too short", "  The first line that is long enough to count.  ", "%",
                     String(repeating: "x", count: 81), "\tA second line of a good length here.", "A third line, also long enough."]
        try Data(lines.joined(separator: "\n").utf8).write(to: corpus)
        let two = EmbeddingBenchmark.shortTexts(count: 2, corpus: corpus.path)
        #expect(two.source == corpus.path)
        #expect(two.texts == ["The first line that is long enough to count.", "A second line of a good length here."])  // spaces and tabs trimmed
        // More than the corpus holds, or no corpus: the seeded synthetic sentences, the same every time.
        let many = EmbeddingBenchmark.shortTexts(count: 5, corpus: corpus.path)
        #expect(many.source == "synthetic (seed 2008)" && many.texts.count == 5)
        #expect(many.texts == EmbeddingBenchmark.shortTexts(count: 5, corpus: "/nonexistent").texts)
        #expect(many.texts.allSatisfy { $0.hasSuffix(".") && (5...14).contains($0.split(separator: " ").count) })
    }

    /// MiniLM-L6: 6 layers, hidden 384, intermediate 1536: 2 · 6 · (4 · 384² + 2 · 384 · 1536) = 21,233,664.
    @Test func denseArithmeticPerToken() {
        #expect(EmbeddingBenchmark.flopPerToken(layers: 6, hidden: 384, intermediate: 1536) == 21_233_664)
    }

    @Test func embeddedVectorsReplacePromptsThenGenerationsThenExplanations() {
        let input = SyntheticSweep(features: 3, prompts: 2, magnitudes: 2, dimension: 4, seed: 1).input
        let texts = AnalysisBenchmark.texts(of: input)
        #expect(texts.count == input.prompts.count + input.generations.count + input.features.count)
        let vectors = texts.indices.map { [Float($0), 0, 0, 0] }
        let out = AnalysisBenchmark.embedded(input, vectors: vectors)
        #expect(out.prompts.map { $0.embedding[0] } == [0, 1])
        #expect(out.generations.map { $0.embedding[0] } == (2..<(2 + input.generations.count)).map(Float.init))
        #expect(out.generations.allSatisfy { $0.descriptionEmbedding == nil })
        #expect(out.features.map { $0.explanationEmbedding![0] } == (0..<3).map { Float(texts.count - 3 + $0) })
    }

    @Test func syntheticBenchmarkAnalysesTheSyntheticSweep() throws {
        let recorder = RecordingConsole()
        let analysis = try AnalysisBenchmark(features: 4, prompts: 2, magnitudes: 5, dimension: 8, threads: 2, seed: 3,
                                             embeddingModel: "/nonexistent", batchSize: 8, syntheticEmbeddings: true)
            .run(console: recorder.console)
        let direct = try SweepAnalysis.analyze(SyntheticSweep(features: 4, prompts: 2, magnitudes: 5, dimension: 8, seed: 3).input, threads: 2)
        #expect(analysis.headline.meanStageCount == direct.headline.meanStageCount)
        #expect(analysis.headline.degradedShare == direct.headline.degradedShare)
        #expect(recorder.output[0] == "bench analyze: 40 generations (4 features × 2 prompts × 5 magnitudes, embedding dim 8)")
        #expect(recorder.output.contains("  embedding:        skipped (--synthetic-embeddings)"))
    }
}
