import Foundation
import Store
import Testing
import TestSupport

/// `semprog judge` end to end: the synthetic study of `PipelineCLITests` (6 features × 3 prompts × 8 magnitudes)
/// imported, analysed with the real SmolLM2 (perplexity) and MiniLM, then judged by the offline proxy and by the
/// llm judge against a local stub server. Needs models/.
@Suite(.serialized) struct JudgeCLITests {
    let dir: URL

    init() throws {
        dir = TestScratch.root.appendingPathComponent("semprog-judge-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static var model: String { CLIRunner.repositoryRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path }

    /// The imported, analysed study.
    func analysedStudy() throws -> String {
        let input = path("study.csv")
        try Data(PipelineCLITests.csv().utf8).write(to: URL(fileURLWithPath: input))
        let db = path("study.sqlite")
        let imported = try CLIRunner.run(["import", "--db", db, "--sweep", "study", input])
        try #require(imported.status == 0, "\(imported.stderr)")
        let analysed = try CLIRunner.run(["analyze", "--db", db, "--embedding-model", PipelineCLITests.embeddingModel,
                                          "--model", Self.model, "--threads", "2", "--quiet"])
        try #require(analysed.status == 0, "\(analysed.stderr)")
        return db
    }

    func json(_ r: CLIRunner.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)\n\(r.stderr)")
    }

    @Test func offlineProxyScoresCachesAndSummarises() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try analysedStudy()
        let first = try CLIRunner.run(["judge", "--db", db, "--embedding-model", PipelineCLITests.embeddingModel, "--json", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let out = try json(first)
        let counts = try #require(out["counts"] as? [String: Any])
        #expect(counts["judge"] as? String == "proxy")
        #expect(counts["total"] as? Int == 144 && counts["new"] as? Int == 144)
        let summary = try #require(out["summary"] as? [String: Any])
        #expect(summary["is_proxy"] as? Bool == true)
        // 3 prompts: round(3 × 0.5) = 2 (half to even) are held out, so 1 chooses the factor and 2 report it.
        #expect((summary["selection_prompts"] as? [Int])?.count == 1 && (summary["report_prompts"] as? [Int])?.count == 2)

        // Every stored score obeys the proxy's rules against the stored analysis.
        let store = try StoreDatabase(path: db)
        let sweep = try store.resolveSweep("study")
        let scores = try store.steeringScores(sweepId: sweep.id!, judge: "proxy")
        #expect(scores.count == 144)
        let analysis = try store.storedAnalysis(sweepId: sweep.id!)
        let generations = try store.generations(sweepId: sweep.id!)
        var lowMagnitudeInstruction: [Double] = []
        for g in generations {
            let s = try #require(scores[g.id!])
            let m = try #require(analysis.metrics[g.id!])
            #expect((s.fluency == 0) == m.degraded, "fluency 0 exactly for degraded outputs")
            if !m.degraded, let ppl = m.perplexity { #expect(s.fluency == (ppl <= 10 ? 2 : 1)) }
            let h = [s.concept, s.instruction, s.fluency].contains(0) ? 0 : 3 / (1 / s.concept + 1 / s.instruction + 1 / s.fluency)
            #expect(abs(s.aggregate - h) < 1e-12)
            if g.magnitude < 3 { lowMagnitudeInstruction.append(s.instruction) }
        }
        // Magnitudes 1–2 are the baseline with a filler word: instruction (similarity to the baseline) rates 2.
        #expect(lowMagnitudeInstruction.count == 36 && lowMagnitudeInstruction.allSatisfy { $0 == 2 })
        // The loops of the topic word are degraded: every feature's last magnitude scores 0.
        #expect(generations.filter { $0.magnitude == 8 }.allSatisfy { scores[$0.id!]!.aggregate == 0 })
        let features = try #require(summary["features"] as? [[String: Any]])
        #expect(features.count == 6)
        #expect(features.allSatisfy { ($0["curve"] as? [Any])?.count == 8 })
        #expect(summary["mean_best_score"] is Double)
        let rq3 = try #require(summary["sparsity_vs_score_window"] as? [String: Any])
        #expect(rq3["n"] as? Int == 6)

        // A rerun judges nothing; the table names the proxy.
        let again = try CLIRunner.run(["judge", "--db", db, "--embedding-model", PipelineCLITests.embeddingModel, "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("0 new (0 judged)") && again.stdout.contains("144 already scored"), "\(again.stdout)")
        #expect(again.stdout.contains("proxy steering score"))

        // The report shows the curves and the mean best score, labelled as the proxy's.
        let report = try CLIRunner.run(["report", "--db", db, "--out", path("report"), "--format", "html"])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: path("report/report.html"), encoding: .utf8)
        #expect(html.contains("Mean best proxy steering score"))
        #expect(html.contains("feature-100-steering-score"))
    }

    @Test func llmJudgeAgainstAStubCachesEveryAnswer() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try analysedStudy()
        // Ratings by rubric (concept 2, instruction 1, fluency 2 → 1.5), except the very first reply, which is
        // unreadable and must be asked again.
        let server = try TestHTTPServer { i, request in
            let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any]
            let prompt = ((body?["messages"] as? [[String: String]])?.last?["content"]) ?? ""
            let rating = prompt.contains("[Concept Start]") ? "2" : prompt.contains("[Instruction Start]") ? "1" : "2"
            let content = i == 0 ? "I cannot decide." : "Fine.\nRating: [[\(rating)]]"
            let reply: [String: Any] = ["choices": [["index": 0, "message": ["role": "assistant", "content": content]]]]
            return .init(status: 200, body: try! JSONSerialization.data(withJSONObject: reply))
        }
        defer { server.stop() }
        let arguments = ["judge", "--db", db, "--judge", "llm", "--llm-base-url", server.baseURL + "/v1", "--llm-model", "stub",
                         "--llm-api-key", "", "--json", "--quiet"]
        let first = try CLIRunner.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let out = try json(first)
        let counts = try #require(out["counts"] as? [String: Any])
        #expect(counts["judge"] as? String == "llm" && counts["new"] as? Int == 144)
        let judged = try #require(counts["judged"] as? Int)
        #expect(server.requests.count == 3 * judged + 1, "three rubric prompts per distinct input, plus the refused reply")
        let summary = try #require(out["summary"] as? [String: Any])
        #expect(summary["is_proxy"] as? Bool == false)
        #expect(abs((summary["mean_best_score"] as? Double ?? 0) - 1.5) < 1e-12)
        let store = try StoreDatabase(path: db)
        let scores = try store.steeringScores(sweepId: try store.resolveSweep(nil).id!, judge: "llm")
        #expect(scores.count == 144 && scores.values.allSatisfy { $0.rubricVersion == "axbench-lm-judge-v1" && $0.concept == 2 })

        // The second run asks nothing.
        let before = server.requests.count
        let second = try CLIRunner.run(arguments)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(server.requests.count == before, "a rerun makes zero requests")
        #expect(try json(second)["counts"].flatMap { ($0 as? [String: Any])?["already"] as? Int } == 144)

        // An endpoint that never rates: one clear error naming the aspect, nothing half-written for that chunk.
        let mute = try TestHTTPServer { _, _ in
            .init(status: 200, text: #"{"choices": [{"index": 0, "message": {"role": "assistant", "content": "no idea"}}]}"#)
        }
        defer { mute.stop() }
        let failed = try CLIRunner.run(["judge", "--db", db, "--judge", "llm", "--llm-base-url", mute.baseURL + "/v1",
                                        "--llm-model", "mute", "--quiet"])
        // (Several requests are in flight: the first error cancels the others. That once trapped in
        // swift-corelibs-foundation — see `LLMDescriber.send`, which no longer cancels data tasks.)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("Rating") && failed.stderr.contains("127.0.0.1:\(mute.port)"), "\(failed.stderr)")
    }

    @Test func badInputIsRefused() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let unknown = try CLIRunner.run(["judge", "--db", path("none.sqlite")])
        #expect(unknown.status != 0 && unknown.stderr.contains("none.sqlite"))
        let input = path("study.csv")
        try Data(PipelineCLITests.csv().utf8).write(to: URL(fileURLWithPath: input))
        let db = path("raw.sqlite")
        #expect(try CLIRunner.run(["import", "--db", db, "--sweep", "raw", input]).status == 0)
        let badJudge = try CLIRunner.run(["judge", "--db", db, "--judge", "oracle"])
        #expect(badJudge.status != 0 && badJudge.stderr.contains("--judge"))
        // Not analysed yet: the proxy's fluency needs the degradation metrics.
        let unanalysed = try CLIRunner.run(["judge", "--db", db, "--embedding-model", PipelineCLITests.embeddingModel])
        #expect(unanalysed.status != 0)
        #expect(unanalysed.stderr.contains("semprog analyze"), "\(unanalysed.stderr)")
        let store = try StoreDatabase(path: db)
        #expect(try store.steeringScores(sweepId: try store.resolveSweep(nil).id!, judge: "proxy").isEmpty)
    }
}
