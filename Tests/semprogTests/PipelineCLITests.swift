import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Store
import Testing
import TestSupport

/// End to end without the language model: flat CSV → `import` → `describe` → `analyze --json` → `report`,
/// checking the database tables, the JSON summary and the report files. Needs the MiniLM model in models/.
@Suite(.serialized) struct PipelineCLITests {
    let dir: URL

    init() throws {
        dir = TestScratch.root.appendingPathComponent("semprog-pipeline-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static var embeddingModel: String { CLIRunner.repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path }

    // MARK: The synthetic study

    static let prompts = ["Tell me about your morning.", "Write a note to a neighbour.", "Describe the town square."]
    static let baselines = [
        "I woke up early, made coffee, read the news and walked to the station before work started.",
        "Dear neighbour, thank you for watering my plants last week while I was travelling abroad.",
        "The square has a fountain, a bakery on one corner and benches under old chestnut trees.",
    ]
    static let topics: [(word: String, explanation: String, sentences: [String])] = [
        ("dogs", "references to dogs and puppies",
         ["My dog barked at the mailman while the puppy chased its tail across the garden.",
          "The puppies wagged their tails, and a spaniel fetched sticks near the kennel.",
          "A loyal retriever sniffed the leash; terriers howled beside the dog park gate."]),
        ("ocean", "the sea, waves and sailing",
         ["Waves crashed over the harbour as sailors steered their boat toward the open sea.",
          "The tide rolled across sandy beaches while gulls circled above the salty ocean.",
          "Deep currents carried the ship past coral reefs under a stormy marine sky."]),
        ("cooking", "cooking, recipes and kitchens",
         ["She chopped onions, stirred the soup and seasoned the sauce with fresh basil.",
          "Bake the bread for twenty minutes, then simmer the stew until the carrots soften.",
          "The chef whisked eggs, sliced garlic and roasted peppers in a hot kitchen oven."]),
        ("music", "music, songs and instruments",
         ["The guitarist tuned her strings while the drummer tapped a steady rhythm.",
          "A violin melody drifted over the choir as the orchestra played a gentle song.",
          "Pianists practised scales; the band rehearsed chords for the concert tonight."]),
        ("space", "outer space, planets and astronauts",
         ["Astronauts floated inside the station, watching distant planets and bright stars.",
          "The rocket launched toward the moon, crossing the silent orbit of a comet.",
          "Telescopes revealed galaxies, nebulae and a ringed planet beyond the asteroid belt."]),
        ("law", "legal language, courts and contracts",
         ["The judge reviewed the contract, and the lawyer objected to the disputed clause.",
          "Attorneys filed a motion; the court scheduled a hearing on the breach of agreement.",
          "The jury heard testimony before the plaintiff's counsel cited the relevant statute."]),
    ]
    static let magnitudes: [Double] = [1, 2, 3, 4, 5, 6, 7, 8]
    /// Index of the first degraded magnitude per feature (denser features break later: RQ3 ρ > 0 expected).
    static let onsets = [7, 6, 6, 5, 4, 3]
    static let fillers = ["Meanwhile", "Later", "Afterwards", "Then", "Soon", "Eventually", "Suddenly", "Finally"]

    /// The output of (feature, prompt, magnitude index): near the baseline at low magnitude, about the feature's
    /// topic in the middle, a loop of the topic word from the onset on.
    static func output(feature f: Int, prompt p: Int, magnitude k: Int) -> String {
        let topic = topics[f]
        if k >= onsets[f] { return Array(repeating: topic.word, count: 40).joined(separator: " ") }
        if k < 2 { return fillers[k] + ", " + baselines[p].prefix(1).lowercased() + baselines[p].dropFirst() }
        return fillers[k] + " " + topic.sentences[(p + k) % 3].prefix(1).lowercased() + topic.sentences[(p + k) % 3].dropFirst()
    }

    static func csvField(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// The study as a flat CSV; `withoutExplanation` leaves that feature's explanation empty.
    static func csv(withoutExplanation: Int? = nil) -> String {
        var lines = ["feature,prompt,magnitude,output,baseline,explanation,fraction_nonzero,max_activation"]
        for f in topics.indices {
            let fraction = pow(10, -1 - 0.5 * Double(f)), maxActivation = 4 + Double(f)
            for p in prompts.indices {
                for (k, m) in magnitudes.enumerated() {
                    lines.append([String(100 + f), csvField(prompts[p]), String(m), csvField(output(feature: f, prompt: p, magnitude: k)),
                                  csvField(baselines[p]), 100 + f == withoutExplanation ? "" : csvField(topics[f].explanation), String(fraction), String(maxActivation)]
                        .joined(separator: ","))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func importStudy(withoutExplanation: Int? = nil) throws -> String {
        let input = path("study.csv")
        try Data(Self.csv(withoutExplanation: withoutExplanation).utf8).write(to: URL(fileURLWithPath: input))
        let db = path("study.sqlite")
        let imported = try CLIRunner.run(["import", "--db", db, "--sweep", "study", input])
        #expect(imported.status == 0, "\(imported.stderr)")
        return db
    }

    // MARK: Tests

    @Test func importDescribeAnalyzeReport() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try importStudy()
        let store = try StoreDatabase(path: db)
        let sweepId = try #require(try store.sweep(named: "study")?.id)

        // describe: every generation once; a rerun does no work.
        let described = try CLIRunner.run(["describe", "--db", db])
        #expect(described.status == 0, "\(described.stderr)")
        #expect(described.stdout.contains("144 new"), "\(described.stdout)")
        let descriptions = try store.descriptions(sweepId: sweepId, describer: "contrastive")
        #expect(descriptions.count == 144)
        #expect(descriptions.allSatisfy { !$0.text.isEmpty && !$0.cacheKey.isEmpty })
        // The planted word of a degenerate loop shows up in its description.
        let generations = try store.generations(sweepId: sweepId)
        let dogLoop = try #require(generations.first { $0.featureIndex == 100 && $0.magnitude == 8 })
        let dogDescription = try #require(descriptions.first { $0.generationId == dogLoop.id })
        #expect(dogDescription.text.contains("more about: dogs"), "\(dogDescription.text)")
        let again = try CLIRunner.run(["describe", "--db", db, "--sweep", "study"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("0 new"), "\(again.stdout)")
        #expect(try store.descriptions(sweepId: sweepId, describer: "contrastive").count == 144)

        // analyze --json: the summary fields and the tables.
        let analyzed = try CLIRunner.run(["analyze", "--db", db, "--embedding-model", Self.embeddingModel, "--json", "--threads", "2"])
        #expect(analyzed.status == 0, "\(analyzed.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(analyzed.stdout.utf8)) as? [String: Any])
        #expect(json["feature_count"] as? Int == 6)
        #expect(json["prompt_count"] as? Int == 3)
        #expect(json["generation_count"] as? Int == 144)
        #expect(json["similarity_basis"] as? String == "description")
        #expect(json["describer"] as? String == "contrastive")
        let stages = try #require(json["mean_stage_count"] as? Double)
        #expect(stages >= 1 && stages <= 7)
        let similarity = try #require(json["mean_explanation_similarity"] as? Double)
        #expect(similarity > -1 && similarity < 1)
        #expect(json["mean_consistency"] is Double)
        let rq3 = try #require(json["sparsity_vs_robustness"] as? [String: Any])
        #expect(rq3["n"] as? Int == 6)
        for key in ["rho", "p_value", "p_permutation", "ci_low", "ci_high", "kendall_tau"] {
            #expect(rq3[key] is Double, "RQ3 field \(key) missing: \(rq3)")
        }
        // Denser features (larger fraction_nonzero) break later here: robustness rises with density.
        #expect((rq3["rho"] as? Double ?? 0) > 0.8)
        #expect(json["embeddings_computed"] as? Int ?? 0 > 0)

        let analysis = try store.storedAnalysis(sweepId: sweepId)
        #expect(analysis.metrics.count == 144)
        #expect(analysis.similarities.count == 144)
        #expect(analysis.similarities.values.allSatisfy { $0.descriptionCosine != nil && $0.outputCosine != nil })
        #expect(analysis.onsets.count == 18)
        #expect(analysis.featureSummaries.count == 6)
        #expect(!analysis.stages.isEmpty && analysis.stages.allSatisfy { !$0.label.isEmpty && !$0.exampleText.isEmpty })
        // A stage's example is one of its own fluent outputs, never a degraded one (issue #23).
        for stage in analysis.stages {
            let members = generations.filter { $0.featureIndex == stage.featureIndex && $0.promptId == stage.promptId
                && $0.magnitude >= stage.startMagnitude && $0.magnitude <= stage.endMagnitude }
            #expect(members.contains { $0.text == stage.exampleText && analysis.metrics[$0.id!]?.degraded == false })
        }
        #expect(!analysis.penaltySensitivity.isEmpty)
        #expect(analysis.consistency.count == 6 * 8)
        #expect(analysis.statistics["rq3_rho"]?.value != nil)
        // The loops are degraded, the fluent texts are not; onsets sit where they were planted.
        for g in generations {
            let k = Self.magnitudes.firstIndex(of: g.magnitude)!
            #expect(analysis.metrics[g.id!]?.degraded == (k >= Self.onsets[g.featureIndex - 100]), "feature \(g.featureIndex) magnitude \(g.magnitude)")
        }
        for o in analysis.onsets {
            #expect(o.onsetMagnitude == Self.magnitudes[Self.onsets[o.featureIndex - 100]])
        }

        // A rerun reads every embedding from the cache.
        let rerun = try CLIRunner.run(["analyze", "--db", db, "--embedding-model", Self.embeddingModel, "--json", "--threads", "2"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let rerunJSON = try #require(try JSONSerialization.jsonObject(with: Data(rerun.stdout.utf8)) as? [String: Any])
        #expect(rerunJSON["embeddings_computed"] as? Int == 0)
        #expect(rerunJSON["mean_stage_count"] as? Double == stages)

        // report from the database only.
        let out = path("report")
        let report = try CLIRunner.run(["report", "--db", db, "--out", out, "--format", "html,pdf", "--quiet"])
        #expect(report.status == 0, "\(report.stderr)")
        for file in ["report.html", "report.pdf", "summary.csv"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing")
        }
        let figures = try FileManager.default.contentsOfDirectory(atPath: out + "/figures")
        #expect(figures.contains { $0.hasSuffix(".png") } && figures.contains { $0.hasSuffix(".svg") })
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("references to dogs and puppies"))
        // An imported sweep does not say how its SAE was read: the report claims no format (a semprog sweep
        // stores it with the SAE: SAECLITests.hookOverrideAndGemmaScopeFolders; shown: ReportWriterTests).
        #expect(!html.contains("SAE format"))
        let summaryCSV = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8)
        #expect(summaryCSV.split(separator: "\n").count == 7)

        // explorer.html in Chromium: every feature of the database is listed, and a clicked cell shows exactly
        // that generation's stored text (feature 103, second prompt, magnitude 4).
        #expect(html.contains("href=\"explorer.html\""))
        let explorer = URL(fileURLWithPath: out + "/explorer.html")
        let dom = try HeadlessChromium.dumpDOM(explorer.absoluteString + "#selftest&q=dog&cell=103:1:3")
        let result = try HeadlessChromium.jsonText(inElement: "selftest-result", of: dom.stdout)
        #expect((result["errors"] as? [String]) == [], "\(result["errors"] ?? "")")
        let stored = Set(generations.map(\.featureIndex))
        #expect(stored.count == 6)
        #expect(Set(result["listed"] as? [Int] ?? []) == stored)
        let promptIds = Array(Set(generations.map(\.promptId))).sorted()
        let cell = try #require(generations.first { $0.featureIndex == 103 && $0.promptId == promptIds[1] && $0.magnitude == 4 })
        #expect(result["pinned_text"] as? String == cell.text)
        #expect(result["hover_text"] as? String == cell.text)
        #expect(result["text_filtered"] as? [Int] == [100])

        // compare: the study against a copy of itself (same SAE: matched by index, no difference).
        let copy = path("copy.sqlite")
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: db + suffix) {
            try FileManager.default.copyItem(atPath: db + suffix, toPath: copy + suffix)  // WAL mode: all three
        }
        let comparison = path("compare")
        let compared = try CLIRunner.run(["compare", "--db", db, "--sweep", "study", "--db", copy, "--out", comparison])
        #expect(compared.status == 0, "\(compared.stderr)")
        let page = try String(contentsOfFile: comparison + "/compare.html", encoding: .utf8)
        #expect(page.contains("paired t over 6 matched features"))
        #expect(page.contains("None: the two runs have the same settings."))
        let both = try HeadlessChromium.dumpDOM(URL(fileURLWithPath: comparison + "/explorer.html").absoluteString + "#selftest")
        let listed = try HeadlessChromium.jsonText(inElement: "selftest-result", of: both.stdout)["listed"] as? [Int] ?? []
        #expect(listed.count == 12 && Set(listed) == stored)
        let bad = try CLIRunner.run(["compare", "--sweep", "study", "--db", db, "--db", copy, "--out", comparison])
        #expect(bad.status != 0 && bad.stderr.contains("--sweep study comes before any --db"), "\(bad.stderr)")
        // The copy's SAE renamed: now "another SAE", so features are matched by their explanations' MiniLM
        // embeddings (identical texts: cosine 1, every feature paired with itself), with overlaid curves.
        let sql = Process()
        sql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sql.arguments = ["sqlite3", copy, "UPDATE saes SET path = '/elsewhere/another-sae'"]
        try sql.run(); sql.waitUntilExit()
        try #require(sql.terminationStatus == 0)
        let across = path("compare-across")
        let acrossRun = try CLIRunner.run(["compare", "--db", db, "--db", copy, "--out", across])
        #expect(acrossRun.status == 0, "\(acrossRun.stderr)")
        let acrossPage = try String(contentsOfFile: across + "/compare.html", encoding: .utf8)
        #expect(acrossPage.contains("by explanation similarity") && acrossPage.contains("6 pairs with cosine ≥ 0.6"), "\(acrossRun.stdout)")
        #expect(acrossPage.contains("paired t over 6 matched features") && acrossPage.contains("<th>cosine</th>"))
        for f in ["compare-curves.png", "compare-matched-similarity.svg"] {
            #expect(FileManager.default.fileExists(atPath: across + "/figures/" + f), "\(f)")
        }
    }

    @Test func reportOfAnUnanalysedSweepSaysWhatToRun() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try importStudy()
        let report = try CLIRunner.run(["report", "--db", db, "--out", path("report")])
        #expect(report.status != 0)
        #expect(report.stderr.contains("semprog analyze --db \(db)"), "\(report.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path("report")))
    }

    @Test func analyzeWithoutDescriptionsOrExplanationSaysSo() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = try importStudy(withoutExplanation: 105)
        let analyzed = try CLIRunner.run(["analyze", "--db", db, "--embedding-model", Self.embeddingModel, "--threads", "2"])
        #expect(analyzed.status == 0, "\(analyzed.stderr)")
        #expect(analyzed.stdout.contains("sweep not described"), "\(analyzed.stdout)")
        #expect(analyzed.stdout.contains("mean explanation similarity"))
        #expect(analyzed.stdout.contains("(outputs)"), "\(analyzed.stdout)")
        #expect(analyzed.stdout.contains("105: no explanation"), "\(analyzed.stdout)")
        #expect(analyzed.stdout.contains("RQ3 Spearman ρ"))
        // The feature without explanation is still analysed (stages, RQ3), only its similarity is missing.
        let store = try StoreDatabase(path: db)
        let analysis = try store.storedAnalysis(sweepId: try #require(try store.sweeps().first?.id))
        let summary = try #require(analysis.featureSummaries.first { $0.featureIndex == 105 })
        #expect(summary.simMean == nil && summary.explanation == nil)
        #expect(analysis.featureSummaries.count == 6)
    }

    @Test func analyzeRejectsMissingBaselinesAndTooFewFeatures() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        // No baseline column.
        let noBaseline = path("nobaseline.csv")
        try Data("feature,prompt,magnitude,output,fraction_nonzero\n1,Hi,1,hello there friend,0.1\n2,Hi,1,hello again,0.2\n3,Hi,1,so long,0.3\n".utf8)
            .write(to: URL(fileURLWithPath: noBaseline))
        let db1 = path("a.sqlite")
        #expect(try CLIRunner.run(["import", "--db", db1, noBaseline]).status == 0)
        let r1 = try CLIRunner.run(["analyze", "--db", db1, "--embedding-model", Self.embeddingModel])
        #expect(r1.status != 0)
        #expect(r1.stderr.contains("no baseline"), "\(r1.stderr)")
        #expect(r1.stderr.contains("'Hi'"), "\(r1.stderr)")

        // Two features only.
        let two = path("two.csv")
        try Data("feature,prompt,magnitude,output,baseline,fraction_nonzero\n1,Hi,1,hello there friend,base text,0.1\n2,Hi,1,hello again,base text,0.2\n".utf8)
            .write(to: URL(fileURLWithPath: two))
        let db2 = path("b.sqlite")
        #expect(try CLIRunner.run(["import", "--db", db2, two]).status == 0)
        let r2 = try CLIRunner.run(["analyze", "--db", db2, "--embedding-model", Self.embeddingModel])
        #expect(r2.status != 0)
        #expect(r2.stderr.contains("needs at least 3"), "\(r2.stderr)")
        let store = try StoreDatabase(path: db2)
        let sweepId = try #require(try store.sweeps().first?.id)
        #expect(try store.storedAnalysis(sweepId: sweepId).isEmpty)
    }
}

// MARK: - describe --describer llm against a local OpenAI-compatible server

/// An OpenAI-style chat-completions reply whose message is `content`.
fileprivate func chatReply(_ content: String) -> String {
    let object: [String: Any] = ["id": "x", "object": "chat.completion",
                                 "choices": [["index": 0, "message": ["role": "assistant", "content": content]]]]
    return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

@Suite(.serialized) struct DescribeLLMCLITests {
    static let csv = """
        feature,prompt,magnitude,output,baseline
        1,Hi,1,hello there my friend,hello friend
        1,Hi,2,dogs dogs dogs dogs,hello friend
        2,Hi,1,hello there my friend,hello friend
        2,Yo,1,the sea is calm today,yo there

        """

    func database() throws -> (URL, String) {
        let dir = TestScratch.root.appendingPathComponent("semprog-describe-llm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let input = dir.appendingPathComponent("tiny.csv").path
        try Data(Self.csv.utf8).write(to: URL(fileURLWithPath: input))
        let db = dir.appendingPathComponent("tiny.sqlite").path
        let imported = try CLIRunner.run(["import", "--db", db, input])
        #expect(imported.status == 0, "\(imported.stderr)")
        return (dir, db)
    }

    @Test func llmDescriptionsAreCachedByDescriberAndInputs() throws {
        let (dir, db) = try database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try TestHTTPServer { i, _ in .init(text: chatReply("  talks about topic \(i)\n")) }
        defer { server.stop() }
        // Endpoint and model from the environment; 4 generations but 3 distinct (baseline, output) pairs.
        let env = ["OPENAI_BASE_URL": server.baseURL + "/v1", "SEMPROG_LLM_MODEL": "tiny-model", "OPENAI_API_KEY": "secret"]
        let first = try CLIRunner.run(["describe", "--db", db, "--describer", "llm"], environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("4 new (3 describer calls)"), "\(first.stdout)")
        #expect(server.requests.count == 3)
        #expect(server.requests.map(\.text).allSatisfy { $0.contains("tiny-model") && ($0.contains("hello friend") || $0.contains("yo there")) })
        let store = try StoreDatabase(path: db)
        let sweepId = try #require(try store.sweeps().first?.id)
        let stored = try store.descriptions(sweepId: sweepId, describer: "llm")
        #expect(stored.count == 4)
        #expect(stored.allSatisfy { $0.text.hasPrefix("talks about topic") && !$0.text.hasSuffix("\n") })

        // Same describer and inputs: no request. Another model: new cache key, described again.
        let again = try CLIRunner.run(["describe", "--db", db, "--describer", "llm"], environment: env)
        #expect(again.status == 0 && again.stdout.contains("0 new"), "\(again.stdout) \(again.stderr)")
        #expect(server.requests.count == 3)
        let other = try CLIRunner.run(["describe", "--db", db, "--describer", "llm", "--llm-base-url", server.baseURL + "/v1",
                                       "--llm-model", "other-model"])
        #expect(other.status == 0 && other.stdout.contains("4 new (3 describer calls)"), "\(other.stdout) \(other.stderr)")
        #expect(server.requests.count == 6)
    }

    @Test func malformedReplyFailsAndCachesNothing() throws {
        let (dir, db) = try database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try TestHTTPServer { _, _ in .init(text: "{\"choices\": [") }
        defer { server.stop() }
        let r = try CLIRunner.run(["describe", "--db", db, "--describer", "llm", "--llm-base-url", server.baseURL + "/v1",
                                   "--llm-model", "tiny-model"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("error:"), "\(r.stderr)")
        let store = try StoreDatabase(path: db)
        let sweepId = try #require(try store.sweeps().first?.id)
        #expect(try store.descriptions(sweepId: sweepId, describer: "llm").isEmpty)
    }

    @Test func llmWithoutModelNameSaysWhichOptionIsMissing() throws {
        let (dir, db) = try database()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLIRunner.run(["describe", "--db", db, "--describer", "llm", "--llm-base-url", "http://127.0.0.1:9/v1"],
                                  environment: ["SEMPROG_LLM_MODEL": ""])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--llm-model"), "\(r.stderr)")
    }
}
