import Foundation
import GRDB
import Randomness
import Testing
@testable import Store

/// Fixtures written from Neuronpedia's documented field names.
enum NeuronpediaFixtures {
    static func featureJSON(index: String = "42", modelId: String = "gpt2-small", layer: String = "8-res-jb") -> String {
        """
        {"modelId":"\(modelId)","layer":"\(layer)","index":"\(index)","frac_nonzero":0.000123,"maxActApprox":31.5,
         "explanations":[
           {"description":"références aux chats 🐱","typeName":"oai_token-act-pair","explanationModelName":"gpt-4o-mini"},
           {"description":"cats and kittens","typeName":"np_max-act-logits","explanationModelName":"claude-3-5-haiku"}],
         "activations":[
           {"tokens":["the"," cat"],"values":[0,12.5],"maxValue":12.5},
           {"tokens":["a"," kitten"],"values":[0,30.25],"maxValue":30.25}],
         "pos_str":[" cats"," kitten"],"neg_str":[" dog"],"unknownField":{"x":1}}
        """
    }

    /// Bulk export lines: `count` features of gpt2-small/8-res-jb.
    static func bulkExplanations(count: Int, source: String = "8-res-jb") -> String {
        (0..<count).map { i in
            #"{"modelId":"gpt2-small","layer":"\#(source)","index":"\#(i)","description":"feature \#(i) — «\#(i % 7)»","typeName":"oai_token-act-pair","explanationModelName":"gpt-3.5-turbo"}"#
        }.joined(separator: "\n") + "\n"
    }

    static func bulkFeatures(count: Int) -> String {
        (0..<count).map { i in
            #"{"modelId":"gpt2-small","layer":"8-res-jb","index":\#(i),"frac_nonzero":\#(Double(i % 100) / 1000),"maxActApprox":\#(Double(i) / 4),"pos_str":["a"],"neg_str":[],"freqHistogram":[1,2]}"#
        }.joined(separator: "\n") + "\n"
    }
}

@Suite struct GzipTests {
    @Test func roundTripsAndReadsConcatenatedMembers() throws {
        var rng = SplitMix64(seed: 3)
        let payload = Data((0..<300_000).map { _ in UInt8.random(in: 0...15, using: &rng) })
        let gz = try Gzip.compress(payload)
        #expect(gz.count < payload.count)
        #expect(Array(gz.prefix(2)) == [0x1F, 0x8B])
        #expect(try Gzip.decompress(gz, file: "x.gz") == payload)
        let two = try Gzip.compress(Data("hello ".utf8)) + Gzip.compress(Data("world".utf8))
        #expect(try Gzip.decompress(two, file: "x.gz") == Data("hello world".utf8))
        let empty = try Gzip.compress(Data())
        #expect(empty.count >= 18)  // a gzip member: 10-byte header, empty deflate block, CRC32 and length
        #expect(try Gzip.decompress(empty, file: "empty.gz") == Data())
    }

    @Test func truncatedOrDamagedStreamsAreErrors() throws {
        let gz = try Gzip.compress(Data(NeuronpediaFixtures.bulkFeatures(count: 200).utf8))
        for cut in [gz.count - 4, gz.count / 2, 12] {
            do {
                _ = try Gzip.decompress(gz.prefix(cut), file: "batch-0.jsonl.gz")
                Issue.record("a stream cut at \(cut) of \(gz.count) bytes must fail")
            } catch {
                #expect(error.localizedDescription.contains("batch-0.jsonl.gz: gzip stream cut short"), "\(error.localizedDescription)")
            }
        }
        var damaged = gz
        damaged[damaged.count / 2] ^= 0xFF
        damaged[damaged.count / 2 + 1] ^= 0xFF
        #expect(throws: StoreError.self) { _ = try Gzip.decompress(damaged, file: "d.gz") }
        #expect(throws: StoreError.self) { _ = try Gzip.decompress(Data("not gzip at all".utf8), file: "n.gz") }
    }
}

@Suite struct NeuronpediaImportTests {
    let sae = SAEDescriptor(path: "/saes/gpt2-small-res-jb-8", dSAE: 24576, dIn: 768, neuronpediaId: "gpt2-small/8-res-jb")

    @Test func featureJSONIsStoredAgainstTheSAE() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let file = try dir.write("42.json", NeuronpediaFixtures.featureJSON())
        let store = try StoreDatabase.inMemory()
        let summary = try store.importNeuronpedia(files: [file], sae: sae)
        #expect(summary.features == 1 && summary.explanationsAdded == 2 && summary.records == 1)
        let feature = try #require(try store.features(saeId: summary.saeId)[42])
        #expect(feature.fractionNonzero == 0.000123)
        #expect(feature.maxActivation == 31.5)
        let contexts = try #require(try JSONSerialization.jsonObject(with: Data(feature.topContexts!.utf8)) as? [[String: Any]])
        #expect(contexts.map { $0["max_value"] as? Double } == [30.25, 12.5])
        #expect(contexts[0]["tokens"] as? [String] == ["a", " kitten"])
        #expect(feature.promotedTokens == #"{"neg":[" dog"],"pos":[" cats"," kitten"]}"#)
        let explanations = try store.explanations(saeId: summary.saeId, featureIndex: 42)
        #expect(explanations.map(\.text) == ["références aux chats 🐱", "cats and kittens"])
        #expect(explanations[0].isPreferred && !explanations[1].isPreferred)
        #expect(explanations[0].typeName == "oai_token-act-pair" && explanations[0].modelName == "gpt-4o-mini")
        #expect(explanations.allSatisfy { $0.source == "neuronpedia" })

        // Re-importing adds nothing.
        let before = try tableCounts(store)
        let again = try store.importNeuronpedia(files: [file], sae: sae)
        #expect(again.explanationsAdded == 0)
        #expect(try tableCounts(store) == before)
    }

    @Test func missingOptionalFieldsAndIntegerIndex() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let file = try dir.write("min.json", #"{"modelId":"gpt2-small","layer":"8-res-jb","index":7}"#)
        let store = try StoreDatabase.inMemory()
        let summary = try store.importNeuronpedia(files: [file], sae: sae)
        let feature = try #require(try store.features(saeId: summary.saeId)[7])
        #expect(feature.fractionNonzero == nil && feature.maxActivation == nil && feature.topContexts == nil)
        #expect(try store.explanations(saeId: summary.saeId, featureIndex: 7).isEmpty)
        // maxActApprox missing: the largest activation's maxValue is used.
        let other = try dir.write("acts.json", #"{"modelId":"gpt2-small","layer":"8-res-jb","index":"8","activations":[{"maxValue":2},{"maxValue":5.5}]}"#)
        try store.importNeuronpedia(files: [other], sae: sae)
        #expect(try store.features(saeId: summary.saeId)[8]?.maxActivation == 5.5)
    }

    @Test(arguments: [
        (ExplanationPreference.first, "références aux chats 🐱"),
        (.typeName("np_max-act-logits"), "cats and kittens"),
        (.modelName("claude-3-5-haiku"), "cats and kittens"),
        (.modelName("no-such-model"), "références aux chats 🐱"),
    ])
    func preferenceChoosesTheExplanation(preference: ExplanationPreference, expected: String) throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let file = try dir.write("42.json", NeuronpediaFixtures.featureJSON())
        let store = try StoreDatabase.inMemory()
        let summary = try store.importNeuronpedia(files: [file], sae: sae, preference: preference)
        #expect(try store.preferredExplanations(saeId: summary.saeId)[42]?.text == expected)
        #expect(try store.explanations(saeId: summary.saeId, featureIndex: 42).filter(\.isPreferred).count == 1)
    }

    @Test func keepLeavesAnEarlierPreference() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let store = try StoreDatabase.inMemory()
        let saeId = try store.registerSAE(SAERecord(path: sae.path, dSAE: sae.dSAE))
        try store.write { db in
            let fid = try StoreDatabase.featureId(db, saeId: saeId, featureIndex: 42)
            _ = try ExplanationRecord(featureId: fid, source: "semprog", text: "ours", isPreferred: true).inserted(db)
        }
        let file = try dir.write("42.json", NeuronpediaFixtures.featureJSON())
        try store.importNeuronpedia(files: [file], sae: sae, preference: .keep)
        #expect(try store.preferredExplanations(saeId: saeId)[42]?.text == "ours")
        try store.importNeuronpedia(files: [file], sae: sae, preference: .first)
        #expect(try store.preferredExplanations(saeId: saeId)[42]?.text == "références aux chats 🐱")
        #expect(ExplanationPreference(argument: "type:x") == .typeName("x"))
        #expect(ExplanationPreference(argument: "model:") == nil)
    }

    @Test func tenThousandRowGzippedExportInOneTransaction() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let explanations = dir.path("explanations/batch-0.jsonl.gz")
        let features = dir.path("features/batch-0.jsonl.gz")
        try FileManager.default.createDirectory(atPath: dir.path("explanations"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path("features"), withIntermediateDirectories: true)
        try Gzip.compress(Data(NeuronpediaFixtures.bulkExplanations(count: 10_000).utf8)).write(to: URL(fileURLWithPath: explanations))
        try Gzip.compress(Data(NeuronpediaFixtures.bulkFeatures(count: 10_000).utf8)).write(to: URL(fileURLWithPath: features))
        let store = try StoreDatabase(path: dir.path("np.sqlite"))
        let summary = try store.importNeuronpedia(files: [explanations, features], sae: sae)
        #expect(summary.records == 20_000 && summary.features == 10_000 && summary.explanationsAdded == 10_000)
        let stored = try store.features(saeId: summary.saeId)
        #expect(stored.count == 10_000)
        #expect(stored[9_999]?.maxActivation == 9_999.0 / 4)
        #expect(stored[123]?.fractionNonzero == 0.023)
        #expect(try store.preferredExplanations(saeId: summary.saeId)[5_000]?.text == "feature 5000 — «2»")

        // The same files with a broken last line: one transaction, so nothing at all is written.
        var text = NeuronpediaFixtures.bulkExplanations(count: 10_000, source: "8-res-jb")
        text = text.replacingOccurrences(of: #""index":"9999""#, with: #""index":"9999"#)
        let broken = dir.path("explanations/batch-1.jsonl.gz")
        try Gzip.compress(Data(text.utf8)).write(to: URL(fileURLWithPath: broken))
        let fresh = try StoreDatabase(path: dir.path("fresh.sqlite"))
        #expect(throws: StoreError.badInput(file: broken, at: .line(10_000), column: nil,
                                            message: "malformed JSON: \(malformedReason(text.components(separatedBy: "\n")[9_999]))")) {
            try fresh.importNeuronpedia(files: [features, broken], sae: sae)
        }
        #expect(try tableCounts(fresh).values.allSatisfy { $0 == 0 })
    }

    func malformedReason(_ line: String) -> String {
        do { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)); return "" } catch { return FlatFile.jsonErrorReason(error) }
    }

    @Test func badInputLeavesTheDatabaseUnchanged() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let store = try StoreDatabase(path: dir.path("np.sqlite"))
        try store.importNeuronpedia(files: [try dir.write("42.json", NeuronpediaFixtures.featureJSON())], sae: sae)
        let before = try tableCounts(store)

        let malformed = try dir.write("bad.jsonl", NeuronpediaFixtures.bulkExplanations(count: 3) + "{\"modelId\": oops}\n")
        do { try store.importNeuronpedia(files: [malformed], sae: sae); Issue.record("malformed line must fail") } catch {
            #expect(error.localizedDescription.hasPrefix("\(malformed): line 4: malformed JSON"))
        }
        let beyond = try dir.write("beyond.jsonl", NeuronpediaFixtures.bulkExplanations(count: 2) +
            #"{"modelId":"gpt2-small","layer":"8-res-jb","index":"24576","description":"too far"}"# + "\n")
        do { try store.importNeuronpedia(files: [beyond], sae: sae); Issue.record("index beyond d_sae must fail") } catch {
            #expect(error.localizedDescription.contains("\(beyond): line 3, column 'index': feature index 24576 is beyond the SAE's size (d_sae = 24576"))
        }
        let gz = try Gzip.compress(Data(NeuronpediaFixtures.bulkExplanations(count: 500).utf8))
        let cut = dir.path("cut.jsonl.gz")
        try gz.prefix(gz.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
        do { try store.importNeuronpedia(files: [cut], sae: sae); Issue.record("cut gzip must fail") } catch {
            #expect(error.localizedDescription.hasPrefix("\(cut): gzip stream cut short"))
        }
        let other = try dir.write("other.json", NeuronpediaFixtures.featureJSON(index: "43", layer: "9-res-jb"))
        #expect(throws: StoreError.neuronpediaMismatch(file: other, row: nil, found: "gpt2-small/9-res-jb", expected: "gpt2-small/8-res-jb")) {
            try store.importNeuronpedia(files: [other], sae: sae)
        }
        #expect(try tableCounts(store) == before)
        // --force imports despite the mismatch (but never beyond d_sae).
        try store.importNeuronpedia(files: [other], sae: sae, force: true)
        #expect(try tableCounts(store) != before)
        #expect(throws: StoreError.self) { try store.importNeuronpedia(files: [beyond], sae: sae, force: true) }
    }

    @Test func withoutAnIdInTheConfigTheFirstSourceIsRecordedAndChecked() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        let store = try StoreDatabase.inMemory()
        let plain = SAEDescriptor(path: "/saes/own", dSAE: 100)
        try store.importNeuronpedia(files: [try dir.write("a.json", NeuronpediaFixtures.featureJSON(index: "1"))], sae: plain)
        #expect(try store.read { db in try String.fetchOne(db, sql: "SELECT neuronpedia_id FROM saes") } == "gpt2-small/8-res-jb")
        let other = try dir.write("b.json", NeuronpediaFixtures.featureJSON(index: "2", modelId: "gemma-2-2b"))
        #expect(throws: StoreError.self) { try store.importNeuronpedia(files: [other], sae: plain) }
    }

    @Test func saeConfigIsReadAtTopLevelOrUnderMetadata() throws {
        let dir = try TemporaryDirectory(); defer { dir.cleanup() }
        try dir.write("a/cfg.json", #"{"d_in":768,"d_sae":24576,"hook_name":"blocks.8.hook_resid_pre","architecture":"standard","neuronpedia_id":"gpt2-small/8-res-jb"}"#)
        let a = try SAEDescriptor.read(saePath: dir.path("a"))
        #expect(a.dSAE == 24576 && a.dIn == 768 && a.neuronpediaId == "gpt2-small/8-res-jb" && a.hook == "blocks.8.hook_resid_pre")
        try dir.write("b/cfg.json", #"{"d_in":2304,"d_sae":16384,"metadata":{"neuronpedia_id":"gemma-2-2b/12-gemmascope-res-16k","hook_name":"blocks.12.hook_resid_post"}}"#)
        let b = try SAEDescriptor.read(saePath: dir.path("b/cfg.json"))
        #expect(b.dSAE == 16384 && b.neuronpediaId == "gemma-2-2b/12-gemmascope-res-16k" && b.hook == "blocks.12.hook_resid_post")
        #expect(b.path == dir.path("b"))
        try dir.write("c/cfg.json", #"{"d_in":2304}"#)
        #expect(throws: StoreError.badInput(file: dir.path("c/cfg.json"), at: nil, column: "d_sae", message: "required positive integer is missing")) {
            _ = try SAEDescriptor.read(saePath: dir.path("c"))
        }
    }
}
