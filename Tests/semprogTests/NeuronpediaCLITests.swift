import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end checks of `semprog neuronpedia import` and `fetch` through the built binary.
@Suite(.serialized) struct NeuronpediaCLITests {
    let dir: URL

    init() throws {
        dir = TestScratch.root.appendingPathComponent("semprog-np-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sae"), withIntermediateDirectories: true)
        // An SAELens-style cfg.json with the neuronpedia_id under metadata.
        try Data(#"{"d_in":768,"d_sae":24576,"hook_name":"blocks.8.hook_resid_pre","metadata":{"neuronpedia_id":"gpt2-small/8-res-jb"}}"#.utf8)
            .write(to: dir.appendingPathComponent("sae/cfg.json"))
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static func feature(_ index: Int, layer: String = "8-res-jb") -> String {
        #"{"modelId":"gpt2-small","layer":"\#(layer)","index":"\#(index)","frac_nonzero":0.002,"maxActApprox":9.5,"explanations":[{"description":"mentions of Paris ✈","typeName":"oai_token-act-pair","explanationModelName":"gpt-4o-mini"},{"description":"French capital","typeName":"np_max-act","explanationModelName":"claude"}],"activations":[{"tokens":["in"," Paris"],"values":[0,9.5],"maxValue":9.5}],"pos_str":[" Paris"],"neg_str":[]}"#
    }

    func counts(_ db: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", db, "SELECT (SELECT COUNT(*) FROM features) || ',' || (SELECT COUNT(*) FROM explanations) || ',' || (SELECT COUNT(*) FROM neuronpedia_cache)"]
        let out = Pipe()
        p.standardOutput = out
        try p.run(); p.waitUntilExit()
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func importFeatureJSONAndBulkFiles() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = path("np.sqlite")
        try Data(Self.feature(7).utf8).write(to: dir.appendingPathComponent("7.json"))
        let bulk = (0..<50).map { #"{"modelId":"gpt2-small","layer":"8-res-jb","index":"\#($0 + 100)","description":"bulk \#($0)","typeName":"t","explanationModelName":"m"}"# }
            .joined(separator: "\n") + "\n"
        try Data(bulk.utf8).write(to: dir.appendingPathComponent("batch-0.jsonl"))
        let gz = Process()  // gzip it with the system tool, independently of semprog's own zlib code
        gz.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gz.arguments = ["gzip", "-k", path("batch-0.jsonl")]
        try gz.run(); gz.waitUntilExit()
        try #require(gz.terminationStatus == 0)

        let result = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", path("sae"), "--prefer", "type:np_max-act",
                                        path("7.json"), path("batch-0.jsonl.gz")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("imported 51 Neuronpedia records: 51 features, 52 new explanations"))
        #expect(try counts(db) == "51,52,0")

        // Bad input: the database is unchanged and the error names the file and line.
        let before = try counts(db)
        try Data((bulk + "{not json\n").utf8).write(to: dir.appendingPathComponent("bad.jsonl"))
        let bad = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", path("sae"), path("bad.jsonl")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("\(path("bad.jsonl")): line 51: malformed JSON"))
        try Data(Self.feature(30000).utf8).write(to: dir.appendingPathComponent("big.json"))
        let beyond = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", path("sae"), path("7.json"), path("big.json")])
        #expect(beyond.status != 0)
        #expect(beyond.stderr.contains("feature index 30000 is beyond the SAE's size (d_sae = 24576"))
        let cut = try Data(contentsOf: dir.appendingPathComponent("batch-0.jsonl.gz"))
        try cut.prefix(cut.count - 10).write(to: dir.appendingPathComponent("cut.jsonl.gz"))
        let truncated = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", path("sae"), path("cut.jsonl.gz")])
        #expect(truncated.status != 0)
        #expect(truncated.stderr.contains("gzip stream cut short"))
        try Data(Self.feature(8, layer: "9-res-jb").utf8).write(to: dir.appendingPathComponent("other.json"))
        let mismatch = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", path("sae"), path("other.json")])
        #expect(mismatch.status != 0)
        #expect(mismatch.stderr.contains("does not match the SAE's neuronpedia_id 'gpt2-small/8-res-jb'"))
        #expect(try counts(db) == before)
        let forced = try CLIRunner.run(["neuronpedia", "import", "--db", db, "--sae", path("sae"), "--force", path("other.json")])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try counts(db) == "52,54,0")
    }

    @Test func fetchFromALocalServerThenOffline() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try TestHTTPServer.paths { path, _ in
            guard path.hasPrefix("/api/feature/gpt2-small/8-res-jb/"), let index = Int(path.split(separator: "/").last ?? "") else {
                return (404, [:], Data())
            }
            return (200, ["Content-Type": "application/json"], Data(NeuronpediaCLITests.feature(index).utf8))
        }
        let db = path("np.sqlite")
        let fetch = try CLIRunner.run(["neuronpedia", "fetch", "--db", db, "--model-id", "gpt2-small", "--source", "8-res-jb",
                                       "--features", "1,3-4", "--base-url", server.baseURL, "--sae", path("sae"),
                                       "--out", path("json"), "--retry-delay", "0.01"])
        server.stop()
        #expect(fetch.status == 0, "\(fetch.stderr)")
        #expect(fetch.stderr.contains("fetched 3 features (3 over HTTP, 0 from the cache)"))
        #expect(server.requests.map(\.path) == ["/api/feature/gpt2-small/8-res-jb/1", "/api/feature/gpt2-small/8-res-jb/3",
                                                "/api/feature/gpt2-small/8-res-jb/4"])
        #expect(try counts(db) == "3,6,3")
        #expect(FileManager.default.fileExists(atPath: path("json/4.json")))

        // The server is gone: cached features still work, a new one is a clear offline error.
        let cached = try CLIRunner.run(["neuronpedia", "fetch", "--db", db, "--model-id", "gpt2-small", "--source", "8-res-jb",
                                        "--features", "1,3", "--base-url", server.baseURL])
        #expect(cached.status == 0, "\(cached.stderr)")
        #expect(cached.stderr.contains("(0 over HTTP, 2 from the cache)"))
        let offline = try CLIRunner.run(["neuronpedia", "fetch", "--db", db, "--model-id", "gpt2-small", "--source", "8-res-jb",
                                         "--features", "1,2", "--base-url", server.baseURL, "--retries", "1", "--retry-delay", "0.01"])
        #expect(offline.status != 0)
        #expect(offline.stderr.contains("you seem to be offline"), "\(offline.stderr)")
        #expect(offline.stderr.contains("1 of 2 features were served from the cache"))
        #expect(try counts(db) == "3,6,3")
    }
}
