import Randomness
import Foundation
import TestSupport
import ModelFormats
import Tensor
import Testing
@testable import TextEmbedding

/// Paths found from this file's location: <root>/Tests/TextEmbeddingTests/TextEmbeddingTests.swift.
enum Fixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelDirectory = repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
    static let referencePath = repositoryRoot
        .appendingPathComponent("Tests/Fixtures/reference/minilm.json").path

    struct Reference: Decodable {
        struct Text: Decodable {
            var text: String
            var token_ids: [Int]
            var embedding: [Float]
        }
        var texts: [Text]
        var cosine: [[Float]]
    }

    static func reference() throws -> Reference {
        let data = try #require(FileManager.default.contents(atPath: referencePath), "reference file \(referencePath)")
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    /// One embedder shared by the read-only tests (loading takes a moment).
    static let shared: Result<SentenceEmbedder, Error> = Result { try SentenceEmbedder.load(directory: modelDirectory) }

    static func embedder() throws -> SentenceEmbedder { try shared.get() }

    static func temporaryDirectory() throws -> URL {
        let url = TestScratch.root
            .appendingPathComponent("semprog-embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Collects warnings from a handler that may run on any thread.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func append(_ m: String) { lock.withLock { messages.append(m) } }
    var all: [String] { lock.withLock { messages } }
}

@Suite struct MiniLMReferenceTests {
    @Test func tokenIdsMatchReferenceExactly() throws {
        let embedder = try Fixtures.embedder()
        for item in try Fixtures.reference().texts {
            #expect(embedder.tokenize(item.text) == item.token_ids, "ids of \(item.text)")
        }
    }

    @Test func embeddingsMatchReferenceWithin1e4() throws {
        let embedder = try Fixtures.embedder()
        let reference = try Fixtures.reference()
        let embeddings = try embedder.embed(reference.texts.map(\.text))
        #expect(embeddings.count == reference.texts.count)
        for (item, e) in zip(reference.texts, embeddings) {
            #expect(e.count == 384)
            let worst = zip(item.embedding, e).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-4, "max |Δ| = \(worst) for \(item.text)")
        }
        for i in 0..<embeddings.count {
            for j in 0..<embeddings.count {
                let c = VectorMath.dot(embeddings[i], embeddings[j])
                #expect(abs(c - reference.cosine[i][j]) < 1e-4, "cosine[\(i)][\(j)] = \(c), reference \(reference.cosine[i][j])")
            }
        }
    }

    /// The example from the sentence-transformers documentation for all-MiniLM-L6-v2.
    @Test func publishedExampleCosine() throws {
        let e = try Fixtures.embedder().embed(["A man is eating food.", "A man is eating a piece of bread."])
        let cosine = VectorMath.cosine(e[0], e[1])
        #expect(abs(cosine - 0.7553) < 5e-4, "cosine \(cosine)")
    }
}

@Suite struct EmbeddingPropertyTests {
    static let texts = [
        "The cat sat on the mat.", "Dogs are loyal companions and love long walks in the park.",
        "Quantum chromodynamics describes the strong interaction.", "ok",
        "A rather longer sentence about steering vectors, sparse autoencoders, and how language models drift "
            + "into repetitive gibberish when pushed too far along a single feature direction.",
        "Ünïcödé — ümläuts, 数学 and emojis 🎉!",
    ]

    @Test func unitNormAndSelfCosineOne() throws {
        for e in try Fixtures.embedder().embed(Self.texts) {
            #expect(abs(VectorMath.norm(e) - 1) < 1e-5)
            #expect(abs(VectorMath.cosine(e, e) - 1) < 1e-5)
        }
    }

    @Test func cosineIsSymmetric() throws {
        let e = try Fixtures.embedder().embed(Self.texts)
        for i in 0..<e.count {
            for j in 0..<e.count {
                #expect(VectorMath.cosine(e[i], e[j]) == VectorMath.cosine(e[j], e[i]))
            }
        }
    }

    /// A text's embedding does not depend on its batch (size, neighbours or their lengths).
    @Test(arguments: [1, 2, 3, 32])
    func batchedEqualsSingle(batchSize: Int) throws {
        let embedder = try Fixtures.embedder()
        let batched = try embedder.embed(Self.texts, batchSize: batchSize)
        for (text, b) in zip(Self.texts, batched) {
            let single = try embedder.embed(text)
            let worst = zip(single, b).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-6, "batch \(batchSize): max |Δ| = \(worst) for \(text)")
        }
    }

    /// Seeded random texts from the vocabulary: order of texts in a batch does not change any embedding.
    @Test func permutationInvariance() throws {
        let embedder = try Fixtures.embedder()
        var rng = SplitMix64(seed: 6)
        let words = ["river", "stone", "music", "quietly", "electric", "history", "banana", "the", "of", "runs"]
        let texts = (0..<12).map { _ in
            (0..<(2 + Int(rng.next() % 20))).map { _ in words[Int(rng.next() % UInt64(words.count))] }
                .joined(separator: " ")
        }
        let forward = try embedder.embed(texts, batchSize: 5)
        let reversed = try embedder.embed(texts.reversed(), batchSize: 5).reversed().map { $0 }
        for (a, b) in zip(forward, reversed) {
            #expect(zip(a, b).map { abs($0 - $1) }.max()! < 1e-6)
        }
    }

    @Test func similarTextsAreCloserThanUnrelated() throws {
        let e = try Fixtures.embedder().embed(["I love my dog.", "My puppy is adorable.", "Stock markets fell sharply."])
        #expect(VectorMath.dot(e[0], e[1]) > VectorMath.dot(e[0], e[2]) + 0.2)
    }
}

@Suite struct TruncationAndBadInputTests {
    @Test func longTextIsTruncatedAndReportedOnce() throws {
        let embedder = try SentenceEmbedder.load(directory: Fixtures.modelDirectory)
        let log = WarningLog()
        embedder.warningHandler = { log.append($0) }
        let long = Array(repeating: "word", count: 400).joined(separator: " ")
        let ids = embedder.tokenize(long)
        #expect(ids.count == 256)
        #expect(ids.first == 101 && ids.last == 102)
        let (_, fullLength) = embedder.tokenizeReportingLength(long)
        #expect(fullLength == 402)
        let first = try embedder.embed([long, "short text", long + " more"])
        let second = try embedder.embed([long])
        #expect(log.all.count == 1, "\(log.all)")
        #expect(log.all.first?.contains("truncated to 256") == true)
        #expect(embedder.truncatedTextCount == 3)
        // Truncation keeps the first 254 word pieces: extra words past the limit change nothing.
        #expect(zip(first[0], second[0]).map { abs($0 - $1) }.max()! < 1e-6)
        #expect(zip(first[0], first[2]).map { abs($0 - $1) }.max()! < 1e-6)
        // Short texts are not reported.
        let quiet = try SentenceEmbedder.load(directory: Fixtures.modelDirectory)
        let quietLog = WarningLog()
        quiet.warningHandler = { quietLog.append($0) }
        _ = try quiet.embed(["short text"])
        #expect(quietLog.all.isEmpty)
    }

    @Test(arguments: ["", "   ", "\u{7}\u{200B}\t\n"])
    func emptyTextIsAnError(text: String) throws {
        let embedder = try Fixtures.embedder()
        #expect(throws: TextEmbeddingError.emptyText(index: 1)) { try embedder.embed(["fine", text]) }
        #expect(embedder.tokenize(text) == [101, 102])
    }

    @Test func badBatchSize() throws {
        #expect(throws: TextEmbeddingError.invalidBatchSize(0)) { try Fixtures.embedder().embed(["a"], batchSize: 0) }
    }

    @Test func missingDirectoryAndFiles() throws {
        #expect(throws: TextEmbeddingError.missingFile(path: "/nonexistent/model")) {
            try SentenceEmbedder.load(directory: "/nonexistent/model")
        }
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        do {
            _ = try SentenceEmbedder.load(directory: dir.path)
            Issue.record("loading a directory without vocab.txt succeeded")
        } catch let error as TextEmbeddingError {
            guard case let .missingFile(path) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path.hasSuffix("vocab.txt"))
            #expect(error.localizedDescription.contains("vocab.txt"))
        }
    }

    /// A copy of the real config and vocabulary with a weights file whose word embeddings have the wrong shape.
    @Test func wrongTensorShapeNamesTensor() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = URL(fileURLWithPath: Fixtures.modelDirectory)
        for name in ["config.json", "vocab.txt"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        try SafetensorsWriter.write(
            [.init(name: "embeddings.word_embeddings.weight", shape: [10, 384], values: Array(repeating: 0, count: 3840))],
            to: dir.appendingPathComponent("model.safetensors").path)
        do {
            _ = try SentenceEmbedder.load(directory: dir.path)
            Issue.record("wrong shape accepted")
        } catch let error as TextEmbeddingError {
            let message = error.localizedDescription
            #expect(message.contains("model.safetensors"), "\(message)")
            #expect(message.contains("embeddings.word_embeddings.weight"), "\(message)")
            #expect(message.contains("[10, 384]"), "\(message)")
        }
    }

    @Test func unsupportedConfigurationNamesField() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"hidden_act": "relu"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: TextEmbeddingError.self) { try BertConfiguration.load(path: dir.appendingPathComponent("config.json").path) }
        do {
            _ = try BertConfiguration.load(path: dir.appendingPathComponent("config.json").path)
        } catch let error as TextEmbeddingError {
            guard case let .invalidConfiguration(_, field, _) = error else { Issue.record("\(error)"); return }
            #expect(field == "hidden_act")
        }
        try Data(#"{"hidden_size": "wide"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        do {
            _ = try BertConfiguration.load(path: dir.appendingPathComponent("config.json").path)
            Issue.record("string hidden_size accepted")
        } catch let error as TextEmbeddingError {
            guard case let .invalidConfiguration(_, field, _) = error else { Issue.record("\(error)"); return }
            #expect(field == "hidden_size")
        }
    }

    @Test func vocabularySizeMismatch() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = URL(fileURLWithPath: Fixtures.modelDirectory)
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"),
                                         to: dir.appendingPathComponent("config.json"))
        try Data("[PAD]\n[UNK]\n[CLS]\n[SEP]\n".utf8).write(to: dir.appendingPathComponent("vocab.txt"))
        try Data().write(to: dir.appendingPathComponent("model.safetensors"))
        do {
            _ = try SentenceEmbedder.load(directory: dir.path)
            Issue.record("short vocabulary accepted")
        } catch let error as TextEmbeddingError {
            guard case .invalidVocabulary = error else { Issue.record("\(error)"); return }
            #expect(error.localizedDescription.contains("vocab_size 30522"))
        }
    }
}

@Suite struct ActivationTests {
    /// GELU with the fast erf (AVX2 and portable paths) stays within 1e-6 of x·½(1 + erff(x/√2)) from the C
    /// library, on a 0.001 grid over [−8, 8] (|GELU| ≤ 8 there, so that is ~1 ulp at the ends).
    @Test(arguments: [true, false])
    func geluMatchesLibm(simd: Bool) {
        var values: [Float] = stride(from: -8, through: 8, by: 0.001).map { Float($0) }
        let expected = values.map { 0.5 * $0 * (1 + erff($0 / Float(2).squareRoot())) }
        values.withUnsafeMutableBufferPointer { Activation.geluInPlace($0, simd: simd) }
        let worst = zip(values, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6, "max |GELU − reference| = \(worst)")
    }
}
