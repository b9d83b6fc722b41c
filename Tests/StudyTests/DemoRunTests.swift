import Foundation
import ModelFormats
import Store
import Testing
@testable import Study

/// `semprog demo`'s orchestration (`DemoRun`) with the subcommands recorded instead of run: a cached SAE and a
/// database that already holds the SAE's statistics, explanations and output scores, so every step that needs a
/// model is skipped and only the subcommands are left.
@Suite struct DemoRunTests {
    final class Recorder: @unchecked Sendable {
        var commands: [[String]] = []
    }

    /// A models folder with a stand-in model file, corpus and cached quick demo SAE; the database at `db` with
    /// eight features of that SAE (densities 1e-3 … 0.1, one dense feature and one unexplained) and output scores.
    static func prepare(in dir: URL, db: String, plan: DemoPlan = DemoPlan(quick: true)) throws -> (paths: DemoRun.Paths, saeDir: String, expected: [Int]) {
        let models = dir.appendingPathComponent("models")
        let saeDir = models.appendingPathComponent(plan.saeDirectoryName)
        try FileManager.default.createDirectory(at: saeDir, withIntermediateDirectories: true)
        try Data("not a model".utf8).write(to: models.appendingPathComponent("lm.gguf"))
        try Data("A corpus.\n".utf8).write(to: models.appendingPathComponent("corpus.txt"))
        try Data("stand-in weights".utf8).write(to: saeDir.appendingPathComponent("sae_weights.safetensors"))
        let store = try StoreDatabase(path: db)
        let saePath = saeDir.standardizedFileURL.path
        let saeId = try store.registerSAE(SAERecord(path: saePath, sha256: try SHA256Digest.hex(ofFile: saeDir.path + "/sae_weights.safetensors")))
        let densities = [1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.5]
        let features = densities.enumerated().map { i, d in
            FeatureRecord(saeId: saeId, featureIndex: 10 + i, maxActivation: 2 + Double(i), fractionNonzero: d)
        }
        let explanations = features.filter { $0.featureIndex != 12 }.map {
            StoreDatabase.NewExplanation(featureIndex: $0.featureIndex, source: "semprog", text: "fires on thing \($0.featureIndex)")
        }
        try store.saveFeatureStatistics(saeId: saeId, features: features, explanations: explanations)
        try store.saveFeatureScores(saeId: saeId, features.map {
            FeatureScoreRecord(featureIndex: $0.featureIndex, outputScore: Double($0.featureIndex % 4) / 4, inputScore: nil,
                               logitLensTokens: [], settings: "{}")
        })
        let expected = DemoFeatureChoice.choose(statistics: features, explanations: try store.preferredExplanations(saeId: saeId),
                                                outputScores: Dictionary(uniqueKeysWithValues: features.map { ($0.featureIndex, Double($0.featureIndex % 4) / 4) }),
                                                count: 3)
        let paths = DemoRun.Paths(modelsDirectory: models.path, languageModel: models.appendingPathComponent("lm.gguf").path,
                                  corpus: models.appendingPathComponent("corpus.txt").path)
        return (paths, saeDir.path, expected)
    }

    @Test func runsTheRemainingStepsAsSubcommands() async throws {
        let dir = try StudyFixtures.scratch("demo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report").path
        let db = out + ".sqlite"
        let (paths, saeDir, expected) = try Self.prepare(in: dir, db: db)
        #expect(expected.count == 3 && !expected.contains(12) && !expected.contains(17))   // no unexplained or dense feature
        let recorder = Recorder(), console = RecordingConsole()
        let run = DemoRun(plan: DemoPlan(quick: true), out: out + "/", database: nil, paths: paths, quiet: true,
                          sweepArguments: ["--chat-template", "t.jinja"]) { recorder.commands.append($0) }
        #expect(run.databasePath == db)
        try await run.run(console: console.console)

        #expect(recorder.commands.map { $0[0] } == ["sweep", "describe", "analyze", "judge", "report"])
        let sweep = recorder.commands[0]
        func value(_ option: String, in command: [String]) -> String? {
            command.firstIndex(of: option).map { command[$0 + 1] }
        }
        #expect(value("--features", in: sweep) == expected.map(String.init).joined(separator: ","))
        #expect(value("--magnitudes", in: sweep) == "0,2,8,30" && value("--max-tokens", in: sweep) == "8")
        #expect(value("--sae", in: sweep) == saeDir && value("--model", in: sweep) == paths.languageModel)
        #expect(value("--db", in: sweep) == db && value("--name", in: sweep) == "demo")
        #expect(sweep.contains("--chat") && sweep.suffix(3) == ["--chat-template", "t.jinja", "--quiet"])
        let prompts = try String(contentsOfFile: try #require(value("--prompts", in: sweep)), encoding: .utf8)
        #expect(prompts.split(separator: "\n").count == 2 && prompts.contains(DemoPlan.prompts[0]))
        #expect(value("--judge", in: recorder.commands[3]) == "offline")
        #expect(value("--out", in: recorder.commands[4]) == out + "/")
        #expect(value("--feature-selection", in: recorder.commands[4]) == DemoFeatureChoice.rule)
        #expect(console.output == ["report: \(out)//report.html", "report: \(out)//report.pdf", "report: \(out)//explorer.html"])
        #expect(console.diagnostics.contains("demo: using the cached SAE in \(saeDir)"))
        #expect(console.diagnostics.contains { $0.hasPrefix("demo: features " + expected.map(String.init).joined(separator: ",")) })
    }

    @Test func aMissingModelStopsBeforeAnything() async throws {
        let dir = try StudyFixtures.scratch("demo-nomodel")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recorder = Recorder()
        let paths = DemoRun.Paths(modelsDirectory: dir.path, languageModel: dir.path + "/absent.gguf", corpus: dir.path + "/c.txt")
        let run = DemoRun(plan: DemoPlan(quick: true), out: dir.path + "/r", database: nil, paths: paths, quiet: false,
                          sweepArguments: []) { recorder.commands.append($0) }
        await #expect { try await run.run(console: RecordingConsole().console) } throws: {
            $0.localizedDescription == "\(dir.path)/absent.gguf is missing: run 'make models' first"
        }
        #expect(recorder.commands.isEmpty && !FileManager.default.fileExists(atPath: dir.path + "/r.sqlite"))
    }

    /// Without the cached SAE the first step trains it with the plan's settings.
    @Test func trainsTheSAEWhenItIsNotCached() async throws {
        let dir = try StudyFixtures.scratch("demo-train")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("m".utf8).write(to: dir.appendingPathComponent("lm.gguf"))
        let recorder = Recorder()
        let paths = DemoRun.Paths(modelsDirectory: dir.path, languageModel: dir.path + "/lm.gguf", corpus: dir.path + "/c.txt")
        let run = DemoRun(plan: DemoPlan(quick: false), out: dir.path + "/r", database: dir.path + "/d.sqlite", paths: paths,
                          quiet: false, sweepArguments: []) { recorder.commands.append($0) }
        // The recorder trains nothing, so the step after it finds no weights to hash.
        await #expect(throws: (any Error).self) { try await run.run(console: RecordingConsole().console) }
        #expect(recorder.commands == [["train-sae", "--model", paths.languageModel, "--corpus", paths.corpus,
                                       "--out", dir.path + "/demo-sae"] + DemoPlan(quick: false).trainArguments])
    }

    /// Another model (`demo --model`): its own SAE folder and report folder, the SAE on its middle block, and for a
    /// model without a chat template the plain-text openings without `--chat`.
    @Test func anotherModelGetsItsOwnSAEAndOpenings() async throws {
        let subject = DemoPlan.Subject(name: "gemma-3-270m-q4_k_m", layerCount: 18, hasChatTemplate: false)
        let plan = DemoPlan(quick: true, subject: subject)
        #expect(plan.saeDirectoryName == "demo-sae-gemma-3-270m-q4_k_m-quick" && DemoPlan(quick: false, subject: subject).saeDirectoryName == "demo-sae-gemma-3-270m-q4_k_m")
        #expect(plan.defaultOut == "reports/demo-gemma-3-270m-q4_k_m" && DemoPlan(quick: false).defaultOut == "reports/demo")
        #expect(plan.layer == 9 && plan.trainArguments.prefix(2) == ["--layer", "9"] && DemoPlan(quick: false).trainArguments.prefix(2) == ["--layer", "12"])
        #expect(!plan.usesChat && DemoPlan(quick: true, subject: DemoPlan.Subject(name: "x", layerCount: 4, hasChatTemplate: true)).usesChat)

        let dir = try StudyFixtures.scratch("demo-subject")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report").path
        let (paths, saeDir, _) = try Self.prepare(in: dir, db: out + ".sqlite", plan: plan)
        let recorder = Recorder()
        let run = DemoRun(plan: plan, out: out, database: nil, paths: paths, quiet: true, sweepArguments: []) { recorder.commands.append($0) }
        try await run.run(console: RecordingConsole().console)
        let sweep = try #require(recorder.commands.first)
        #expect(sweep[0] == "sweep" && !sweep.contains("--chat") && sweep.contains(saeDir))
        let promptFile = try #require(sweep.firstIndex(of: "--prompts").map { sweep[$0 + 1] })
        let prompts = try String(contentsOfFile: promptFile, encoding: .utf8)
        #expect(prompts.contains(DemoPlan.openings[0]) && !prompts.contains(DemoPlan.prompts[0]))
    }

    /// `demo --model`: what the demo reads of the model (the tiny Llama 3 checkpoint: 4 blocks, no chat template);
    /// the default model's path, however written, is the built-in demo.
    @Test func inspectReadsTheModel() throws {
        let subject = try #require(try DemoPlan.Subject.inspect(modelPath: StudyFixtures.tinyLlama, defaultModel: "models/x.gguf"))
        #expect(subject == DemoPlan.Subject(name: "llama3", layerCount: 4, hasChatTemplate: false))
        #expect(try DemoPlan.Subject.inspect(modelPath: StudyFixtures.tinyLlama + "/", defaultModel: StudyFixtures.tinyLlama) == nil)
        #expect(throws: (any Error).self) { try DemoPlan.Subject.inspect(modelPath: "/nonexistent/m.gguf", defaultModel: "models/x.gguf") }
    }
}
