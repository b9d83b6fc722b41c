import Foundation
import Store
import Testing
import TestSupport
@testable import Study

/// `semprog neuronpedia import|fetch`'s work (`NeuronpediaRun`) against an SAELens cfg.json with a neuronpedia_id,
/// a database file and a local HTTP server standing in for Neuronpedia.
@Suite(.serialized) struct NeuronpediaRunTests {
    static func feature(_ index: Int) -> String {
        #"{"modelId":"gpt2-small","layer":"8-res-jb","index":"\#(index)","frac_nonzero":0.002,"maxActApprox":9.5,"explanations":[{"description":"mentions of Paris","typeName":"oai","explanationModelName":"gpt-4o-mini"},{"description":"French capital","typeName":"np_max-act","explanationModelName":"claude"}]}"#
    }

    static func folder() throws -> URL {
        let dir = try StudyFixtures.scratch("np")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sae"), withIntermediateDirectories: true)
        try Data(#"{"d_in":768,"d_sae":100,"hook_name":"blocks.8.hook_resid_pre","metadata":{"neuronpedia_id":"gpt2-small/8-res-jb"}}"#.utf8)
            .write(to: dir.appendingPathComponent("sae/cfg.json"))
        return dir
    }

    @Test func importStoresThePreferredExplanationAndSaysSo() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for i in [3, 5] { try Data(Self.feature(i).utf8).write(to: dir.appendingPathComponent("\(i).json")) }
        let db = dir.appendingPathComponent("np.sqlite").path
        let recorder = RecordingConsole()
        try NeuronpediaRun.importFiles([dir.appendingPathComponent("3.json").path, dir.appendingPathComponent("5.json").path],
                                       database: db, sae: dir.appendingPathComponent("sae").path,
                                       options: .init(preference: .typeName("np_max-act"), force: false), console: recorder.console)
        #expect(recorder.diagnostics.count == 1)
        #expect(recorder.diagnostics[0].hasPrefix("imported 2 Neuronpedia records: 2 features, 4 new explanations (preferred: type:np_max-act) for SAE "))
        let store = try StoreDatabase(path: db)
        let saeId = try #require(try store.saes().first?.id)
        let preferred = try store.preferredExplanations(saeId: saeId)
        #expect(preferred.keys.sorted() == [3, 5] && preferred[3]?.text == "French capital")
    }

    @Test func fetchWritesImportsAndRefusesIndicesBeyondTheSAE() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try TestHTTPServer.paths { path, _ in
            guard let index = Int(path.split(separator: "/").last ?? "") else { return (404, [:], Data()) }
            return (200, ["Content-Type": "application/json"], Data(Self.feature(index).utf8))
        }
        defer { server.stop() }
        let db = dir.appendingPathComponent("np.sqlite").path
        let fetcher = NeuronpediaFetcher(baseURL: URL(string: server.baseURL)!, retries: 0, retryDelay: 0.01)
        let options = NeuronpediaRun.ImportOptions(preference: .first, force: false)
        let sae = dir.appendingPathComponent("sae").path
        // Index 100 is beyond d_sae = 100: refused before any request or database.
        await #expect {
            try await NeuronpediaRun.fetch(.init(modelId: "gpt2-small", source: "8-res-jb", features: "1,100", fetcher: fetcher, sae: sae,
                                                 out: nil, importOptions: options), database: db, console: RecordingConsole().console)
        } throws: { $0.localizedDescription == "--features: index 100 is beyond the SAE's size (d_sae = 100)" }
        #expect(server.requests.isEmpty && !FileManager.default.fileExists(atPath: db))

        let recorder = RecordingConsole()
        let out = dir.appendingPathComponent("json").path
        try await NeuronpediaRun.fetch(.init(modelId: "gpt2-small", source: "8-res-jb", features: "1,4-5", fetcher: fetcher, sae: sae,
                                             out: out, importOptions: options), database: db, console: recorder.console)
        #expect(recorder.diagnostics == ["fetched 3 features (3 over HTTP, 0 from the cache); imported 3 features, 6 new explanations"])
        #expect(try String(contentsOfFile: out + "/4.json", encoding: .utf8) == Self.feature(4))
        // Again, without --sae: from the cache, nothing imported.
        let again = RecordingConsole()
        try await NeuronpediaRun.fetch(.init(modelId: "gpt2-small", source: "8-res-jb", features: "4", fetcher: fetcher, sae: nil,
                                             out: nil, importOptions: options), database: db, console: again.console)
        #expect(again.diagnostics == ["fetched 1 features (0 over HTTP, 1 from the cache)"])
        #expect(server.requests.count == 3)
    }
}
