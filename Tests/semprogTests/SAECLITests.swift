import Foundation
import TestSupport
import Store
import Testing

/// End-to-end tests of `semprog activations`, `train-sae`, `explain` and `bench sae` on the real SmolLM2 model
/// (models/, `make models`) and the jumprelu reference SAE in Tests/Fixtures/reference.
@Suite(.serialized) struct SAECLITests {
    static let root = CLIRunner.repositoryRoot
    static let referenceSAE = root.appendingPathComponent("Tests/Fixtures/reference/sae-jumprelu-blocks6").path

    static func scratch(_ name: String) -> URL {
        let url = TestScratch.root.appendingPathComponent("sae-cli-\(getpid())-\(name)")
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A small English corpus file (fortune format) written by the test.
    static func corpus(in dir: URL) throws -> String {
        let sentences = [
            "The cat sat on the warm mat and watched the birds outside the window.",
            "Dogs bark at strangers, but my old dog only wags his tail and sleeps.",
            "Paris is the capital of France, and Berlin is the capital of Germany.",
            "In 1999 she studied physics and chemistry at a small university.",
            "Water boils at one hundred degrees when the pressure is normal.",
            "He wrote a long letter to his mother every Sunday evening.",
            "The stock market fell sharply after the announcement on Monday.",
            "Bake the bread for forty minutes until the crust is golden brown.",
        ]
        var text = ""
        for i in 0..<60 { text += sentences[i % sentences.count] + " " + sentences[(i * 3 + 1) % sentences.count] + "\n%\n" }
        let path = dir.appendingPathComponent("corpus.txt").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    struct ActivationsOutput: Decodable {
        struct Feature: Decodable { var index: Int; var activation: Float }
        struct Token: Decodable { var token: String; var id: Int; var features: [Feature] }
        struct Top: Decodable { var index: Int; var max_activation: Float }
        var tokens: [Token]
        var top: [Top]
    }

    struct Expected: Decodable { var text: String; var ids: [Int]; var activations: [[Float]] }

    @Test func activationsJSONMatchesTheReferenceSAE() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.referenceSAE + "/expected.json")))
        let r = try CLIRunner.run(["activations", "--sae", Self.referenceSAE, "--text", expected.text, "--top", "3", "--json", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try JSONDecoder().decode(ActivationsOutput.self, from: Data(r.stdout.utf8))
        #expect(out.tokens.map(\.id) == expected.ids)
        #expect(out.tokens.map(\.token).joined() == expected.text)
        for (t, row) in zip(out.tokens, expected.activations) {
            #expect(t.features.count == min(3, row.filter { $0 > 0 }.count))
            #expect(t.features.map(\.activation) == t.features.map(\.activation).sorted(by: >))
            // the strongest feature agrees with the float64 reference (2 % relative tolerance on its value)
            let best = row.indices.max { row[$0] < row[$1] }!
            if let first = t.features.first {
                #expect(abs(row[first.index] - row[best]) <= 0.02 * row[best], "token \(t.token)")
            }
        }
        // whole text: max over positions ≥ 1, sorted descending
        #expect(out.top.count == 3)
        let maxima = (0..<64).map { j in expected.activations.dropFirst().map { $0[j] }.max()! }
        #expect(abs(out.top[0].max_activation - maxima.max()!) <= 0.02 * maxima.max()!)
        #expect(out.top.map(\.max_activation) == out.top.map(\.max_activation).sorted(by: >))

        let text = try CLIRunner.run(["activations", "--sae", Self.referenceSAE, "--text", "Hello world", "--top", "2"])
        #expect(text.status == 0 && text.stdout.contains("whole text") && text.stdout.contains("\"Hello\""))
    }

    /// `--hook` replaces the SAE's own hook in activations, screen and sweep; a Gemma Scope folder (params.npz, hook from
    /// the folder names) is steered and screened like any SAELens folder.
    @Test func hookOverrideAndGemmaScopeFolders() throws {
        let gemmaScope = Self.root.appendingPathComponent("Tests/Fixtures/reference/sae-formats/gemma-scope-2b-pt-res/layer_6/width_16k/average_l0_20").path
        struct Output: Decodable { struct Token: Decodable { var features: [Feature] }; struct Feature: Decodable { var index: Int; var activation: Float }; var tokens: [Token] }
        func activations(_ extra: [String], sae: String) throws -> Output? {
            let r = try CLIRunner.run(["activations", "--sae", sae, "--text", "The weather today is sunny", "--top", "3", "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try? JSONDecoder().decode(Output.self, from: Data(r.stdout.utf8))
        }
        let own = try #require(try activations([], sae: Self.referenceSAE))
        let moved = try #require(try activations(["--hook", "blocks.3.hook_resid_post"], sae: Self.referenceSAE))
        #expect(own.tokens.map { $0.features.map(\.activation) } != moved.tokens.map { $0.features.map(\.activation) },
                "another hook reads another residual stream")
        let refused = try CLIRunner.run(["activations", "--sae", Self.referenceSAE, "--text", "hi", "--hook", "hook_embed"])
        #expect(refused.status != 0 && refused.stderr.contains("hook_embed"), "\(refused.stderr)")
        _ = try #require(try activations([], sae: gemmaScope))

        let dir = Self.scratch("gemmascope")
        let db = dir.appendingPathComponent("g.sqlite").path
        let screen = try CLIRunner.run(["screen", "--sae", gemmaScope, "--db", db, "--features", "0-3", "--json", "--quiet"])
        #expect(screen.status == 0, "\(screen.stderr)")
        let prompts = dir.appendingPathComponent("p.txt").path
        try "Hello\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        let sweep = try CLIRunner.run(["sweep", "--sae", gemmaScope, "--hook", "blocks.4.hook_resid_post", "--features", "1",
                                       "--prompts", prompts, "--magnitudes", "0,10", "--units", "absolute", "--max-tokens", "2",
                                       "--db", db, "--quiet"])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let store = try StoreDatabase(path: db, access: .readOnly)
        let settings = try store.resolveSweep(nil).settings()
        #expect(settings.extra["hook"] == "blocks.4.hook_resid_post", "the sweep records the hook it steered: \(settings.extra)")
        // The SAE is stored with the format and release it was read as (the report names them).
        let record = try #require(try store.saes().first { $0.path.hasSuffix("average_l0_20") })
        #expect(record.format == "gemma-scope" && record.release == "gemma-scope-2b-pt-res" && record.dSAE == 96, "\(record)")

        // Neuronpedia explanations import against a Gemma Scope folder (no cfg.json): d_sae (96) from params.npz.
        let np = dir.appendingPathComponent("np.jsonl").path
        try #"{"modelId":"gemma-2-2b","layer":"6-gemmascope-res-16k","index":"5","description":"weather words","typeName":"t","explanationModelName":"m"}"#
            .appending("\n").write(toFile: np, atomically: true, encoding: .utf8)
        let imported = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", gemmaScope, np])
        #expect(imported.status == 0, "\(imported.stderr)")
        let beyond = dir.appendingPathComponent("beyond.jsonl").path
        try #"{"modelId":"gemma-2-2b","layer":"6-gemmascope-res-16k","index":"96","description":"x","typeName":"t","explanationModelName":"m"}"#
            .appending("\n").write(toFile: beyond, atomically: true, encoding: .utf8)
        let refusedIndex = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", gemmaScope, beyond])
        #expect(refusedIndex.status != 0 && refusedIndex.stderr.contains("d_sae = 96") && refusedIndex.stderr.contains("beyond.jsonl"),
                "\(refusedIndex.stderr)")
        let after = try StoreDatabase(path: db, access: .readOnly)
        let stored = try #require(try after.saes().first { $0.path.hasSuffix("average_l0_20") })
        #expect(stored.neuronpediaId == "gemma-2-2b/6-gemmascope-res-16k" && stored.format == "gemma-scope", "\(stored)")
        #expect(try after.preferredExplanations(saeId: stored.id!).mapValues(\.text) == [5: "weather words"])
    }

    @Test func activationsBadInput() throws {
        let missing = try CLIRunner.run(["activations", "--sae", "/nonexistent/sae", "--text", "hi"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/sae"))
        // An SAE whose d_in does not match the model (d_in 2 vs 576).
        let dir = Self.scratch("wrongwidth")
        let cfg = #"{"architecture": "standard", "d_in": 2, "d_sae": 3, "apply_b_dec_to_input": true, "normalize_activations": "none", "metadata": {"hook_name": "blocks.3.hook_resid_post"}}"#
        try Data(cfg.utf8).write(to: dir.appendingPathComponent("cfg.json"))
        try Self.safetensors(["W_enc": [2, 3], "W_dec": [3, 2], "b_enc": [3], "b_dec": [2]]).write(to: dir.appendingPathComponent("sae_weights.safetensors"))
        let wrong = try CLIRunner.run(["activations", "--sae", dir.path, "--text", "hi"])
        #expect(wrong.status != 0 && wrong.stderr.contains("d_in") && wrong.stderr.contains("cfg.json"), "\(wrong.stderr)")
        #expect(wrong.stdout.isEmpty)
    }

    @Test func trainExplainAndReload() throws {
        let dir = Self.scratch("train")
        let corpus = try Self.corpus(in: dir)
        let out = dir.appendingPathComponent("sae").path
        let args = ["train-sae", "--layer", "3", "--latents", "128", "--k", "8", "--corpus", corpus, "--tokens", "3000",
                    "--context-length", "64", "--training-tokens", "8192", "--batch-size", "256", "--seed", "5",
                    "--threads", "2", "--out", out]
        let r = try CLIRunner.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("explained variance") && r.stdout.contains("L0"))
        for file in ["cfg.json", "sae_weights.safetensors", "sparsity.safetensors", "semprog_training.json"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/cfg.json"))) as! [String: Any]
        #expect(cfg["architecture"] as? String == "topk" && cfg["k"] as? Int == 8 && cfg["d_in"] as? Int == 576)
        #expect((cfg["metadata"] as? [String: Any])?["hook_name"] as? String == "blocks.3.hook_resid_post")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/semprog_training.json"))) as! [String: Any]
        let heldOut = report["held_out"] as! [String: Double]
        #expect(heldOut["l0"]! <= 8 && heldOut["explained_variance"]! > 0.2, "\(heldOut)")

        // Same seed → same weights.
        let again = dir.appendingPathComponent("again").path
        let r2 = try CLIRunner.run(Array(args.dropLast()) + [again])
        #expect(r2.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/sae_weights.safetensors"))
                == Data(contentsOf: URL(fileURLWithPath: again + "/sae_weights.safetensors")))

        // The trained SAE reads real text.
        let act = try CLIRunner.run(["activations", "--sae", out, "--text", "The cat sat on the mat.", "--json"])
        #expect(act.status == 0, "\(act.stderr)")
        let parsed = try JSONDecoder().decode(ActivationsOutput.self, from: Data(act.stdout.utf8))
        #expect(parsed.tokens.dropFirst().allSatisfy { $0.features.count >= 1 && $0.features.count <= 5 })

        // Feature statistics and built-in explanations.
        let stats = dir.appendingPathComponent("features.jsonl").path
        let database = dir.appendingPathComponent("store.sqlite").path
        let e = try CLIRunner.run(["explain", "--sae", out, "--corpus", corpus, "--tokens", "1500", "--features", "0,1,2,3",
                                   "--out", stats, "--database", database, "--threads", "2"])
        #expect(e.status == 0, "\(e.stderr)")
        let lines = try String(contentsOfFile: stats, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        var explained = 0
        for (i, line) in lines.enumerated() {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(o["feature"] as? Int == i && o["source"] as? String == "semprog")
            let density = o["fraction_nonzero"] as! Double
            #expect(density >= 0 && density <= 1)
            #expect((o["promoted_tokens"] as! [Any]).count == 10)
            if let text = o["explanation"] as? String {
                explained += 1
                #expect(text.hasPrefix("fires on") && (o["max_activation"] as! Double) > 0)
                #expect(!(o["top_contexts"] as! [Any]).isEmpty)
            }
        }
        #expect(explained >= 1)
        // The same statistics and explanations are in the database.
        #expect(FileManager.default.fileExists(atPath: database))
        let sqlite = try Data(contentsOf: URL(fileURLWithPath: database))
        #expect(sqlite.count > 0 && String(decoding: sqlite.prefix(15), as: UTF8.self) == "SQLite format 3")
        let bad = try CLIRunner.run(["explain", "--sae", out, "--features", "0,128", "--out", stats])
        #expect(bad.status != 0 && bad.stderr.contains("128"))
    }

    @Test func trainBadInput() throws {
        let dir = Self.scratch("trainbad")
        let noCorpus = try CLIRunner.run(["train-sae", "--layer", "3", "--latents", "64", "--corpus", "/nonexistent.txt", "--out", dir.path + "/x"])
        #expect(noCorpus.status != 0 && noCorpus.stderr.contains("/nonexistent.txt"))
        let badLayer = try CLIRunner.run(["train-sae", "--layer", "30", "--latents", "64", "--corpus", try Self.corpus(in: dir), "--out", dir.path + "/x"])
        #expect(badLayer.status != 0 && badLayer.stderr.contains("--layer"))
        let both = try CLIRunner.run(["train-sae", "--layer", "3", "--latents", "64", "--k", "4", "--l1", "1", "--out", dir.path + "/x"])
        #expect(both.status != 0 && both.stderr.contains("--l1"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/x"))
    }

    @Test func benchPrintsThreadsAndRates() throws {
        let r = try CLIRunner.run(["bench", "sae", "--latents", "256", "--rows", "1024", "--training-tokens", "2048", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("threads: 2") && r.stdout.contains("rows/s") && r.stdout.contains("tokens/s"))
    }

    /// A safetensors file of zero-filled F32 tensors.
    static func safetensors(_ shapes: [String: [Int]]) -> Data {
        var header: [String] = [], offset = 0
        for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            let bytes = shape.reduce(1, *) * 4
            header.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        let json = Array(("{" + header.joined(separator: ",") + "}").utf8)
        var data = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(contentsOf: json)
        data.append(Data(count: offset))
        return data
    }
}
