import Analysis
import Foundation
import SparseAutoencoder
@testable import Sweep
import Testing
@testable import Study

/// What describe, stats, embed, screen and explain print, and how describe picks its engine, on made-up inputs.
@Suite struct CommandOutputTests {
    @Test func describerEnginesAndTheirCacheIdentities() throws {
        let contrastive = try DescriberChoice.contrastive.engine()
        #expect(contrastive.name == "contrastive" && contrastive.identity == "contrastive/v2")
        let settings = try LLMDescriber.Settings.resolve(baseURL: "http://127.0.0.1:9/v1", model: "m-1", apiKey: "")
        let llm = try DescriberChoice.llm(settings, concurrency: 3).engine()
        // Stored as "llm"; the model and endpoint belong to the cache key, so another model is another description.
        #expect(llm.name == "llm" && llm.identity == "llm/m-1@http://127.0.0.1:9/v1/t\(settings.temperature)/v1")
        #expect(llm.batchSize == 32)
        #expect { try DescriberChoice.local(model: "/nonexistent.gguf", maxTokens: 8, threads: 1).engine() } throws: {
            $0.localizedDescription == "--model: /nonexistent.gguf: no such file (the local describer needs the SmolLM2 instruct GGUF)"
        }
    }

    /// A monotone pair of columns: ρ = 1 exactly, all 5! permutations enumerated (exact test).
    @Test func spearmanLinesOfTwoColumns() throws {
        let dir = try StudyFixtures.scratch("stats")
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = dir.appendingPathComponent("t.csv")
        try Data("a,b,c\n1,10,5\n2,20,5\n3,35,5\n4,41,5\n5,90,5\n".utf8).write(to: csv)
        let correlation = ColumnCorrelation(csv: csv.path, xColumn: "a", yColumn: "b", seed: 1, resamples: 200)
        let recorder = RecordingConsole()
        try correlation.run(json: false, console: recorder.console)
        #expect(recorder.output[0] == "Spearman b ~ a  (n = 5)")
        #expect(recorder.output[1] == "  rho            1")
        #expect(recorder.output[3].hasPrefix("  p (permutation, exact) "))
        #expect(recorder.output[4].hasSuffix("(percentile bootstrap, 200 resamples)"))
        #expect(recorder.diagnostics.isEmpty)
        // A constant column: ρ undefined, said on stderr, null in JSON.
        let constant = RecordingConsole()
        try ColumnCorrelation(csv: csv.path, xColumn: "a", yColumn: "c", seed: 1, resamples: 200).run(json: true, console: constant.console)
        #expect(constant.diagnostics.count == 1 && constant.diagnostics[0].hasPrefix(csv.path + ": "))
        #expect(constant.output[0].contains("\"rho\":null"))
    }

    @Test func embeddingsTextShowsIdsVectorsAndTheCosineMatrix() {
        let e = TextEmbeddings(texts: [.init(text: "a b", tokenIDs: [101, 7, 102], embedding: [0.6, 0.8]),
                                       .init(text: "c", tokenIDs: [101, 9, 102], embedding: [1, 0])],
                               cosine: [[1, 0.6], [0.6, 1]])
        #expect(e.text.split(separator: "\n").map(String.init) == [
            "text 1: a b", "  token_ids (3): 101 7 102", "  embedding (2): 0.6000000 0.8000000",
            "text 2: c", "  token_ids (3): 101 9 102", "  embedding (2): 1.0000000 0.0000000",
            "cosine similarity:", "             1       2", "     1  1.0000  0.6000", "     2  0.6000  1.0000",
        ])
        // One text: no matrix.
        #expect(!TextEmbeddings(texts: [e.texts[0]], cosine: [[1]]).text.contains("cosine"))
    }

    @Test func screenResultsAsTableAndJSON() throws {
        func result(_ feature: Int, logits: [Float], input: Double?) throws -> FeatureScreenResult {
            FeatureScreenResult(feature: feature, output: try FeatureScores.output(logits: logits, logitLensTokens: [0]),
                                inputScore: input, logitLensTokens: [0])
        }
        let results = try [result(3, logits: [0, 0, 0, 0], input: 0.5), result(9, logits: [5, 0, 0, 0], input: nil)]
        let table = ScreenRun.table(results)
        #expect(table.count == 2 && table[0].hasPrefix("feature     9  output ") && table[0].hasSuffix("input —"))
        #expect(table[1] == String(format: "feature     3  output %.4f  input 0.50", results[0].output.score))
        let json = try JSONSerialization.jsonObject(with: Data(ScreenRun.json(results).utf8)) as! [[String: Any]]
        #expect(json.map { $0["feature"] as? Int } == [3, 9])   // screening order
        #expect(json[1]["input_score"] is NSNull && (json[0]["output_score"] as? Double) == results[0].output.score)
        // Only the 20 best are listed.
        #expect(ScreenRun.table(try (0..<25).map { try result($0, logits: [Float($0), 0], input: nil) }).count == 20)
    }

    @Test func explainLinesListTenUnlessChosen() throws {
        func statistics(_ feature: Int, fired: Bool) throws -> FeatureStatistics {
            let contexts = fired ? #"[{"token_ids": [1, 2], "tokens": ["the", " dog"], "max_index": 1, "activations": [0, 3.5], "activation": 3.5}]"# : "[]"
            let json = #"{"feature": \#(feature), "fraction_nonzero": 0.0125, "max_activation": \#(fired ? 3.5 : 0), "mean_active_activation": 1, "top_contexts": \#(contexts), "promoted_tokens": [], "suppressed_tokens": []}"#
            return try JSONDecoder().decode(FeatureStatistics.self, from: Data(json.utf8))
        }
        let all = try (0..<12).map { try statistics($0, fired: $0 != 1) }
        let outcome = FeatureExplanationRun.Outcome(statistics: all, explained: 11, tokens: 100, path: "f.jsonl", selected: false)
        let lines = FeatureExplanationRun.lines(outcome)
        #expect(lines.count == 10)
        #expect(lines[1] == "#1 density 0.01250 max 0.00: (never fired)")
        #expect(lines[0].hasPrefix("#0 density 0.01250 max 3.50: fires on \" dog\""))
        var chosen = outcome
        chosen.selected = true
        #expect(FeatureExplanationRun.lines(chosen).count == 12)
    }

    @Test func cpuNameFromCpuinfo() {
        #expect(ScreenBenchmark.cpuName(cpuinfo: "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t: x\n")
                == "Intel(R) Xeon(R) Platinum 8481C")
        #expect(ScreenBenchmark.cpuName(cpuinfo: "processor\t: 0\n") == "unknown CPU")
        #expect(ScreenBenchmark.cpuName(cpuinfo: nil) == "unknown CPU")
    }
}
