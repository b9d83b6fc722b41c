import Foundation
import Testing

@Suite struct EmbedCLITests {
    struct Output: Decodable {
        struct Text: Decodable {
            var text: String
            var token_ids: [Int]
            var embedding: [Float]
        }
        var texts: [Text]
        var cosine: [[Float]]
    }

    static var referencePath: String {
        CLIRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/minilm.json").path
    }

    @Test func jsonMatchesReference() throws {
        let reference = try JSONDecoder().decode(
            Output.self, from: try #require(FileManager.default.contents(atPath: Self.referencePath)))
        let r = try CLIRunner.run(["embed", "--json"] + reference.texts.map(\.text))
        #expect(r.status == 0, "\(r.stderr)")
        let output = try JSONDecoder().decode(Output.self, from: Data(r.stdout.utf8))
        try #require(output.texts.count == reference.texts.count)
        for (o, ref) in zip(output.texts, reference.texts) {
            #expect(o.text == ref.text)
            #expect(o.token_ids == ref.token_ids)
            #expect(zip(o.embedding, ref.embedding).map { abs($0 - $1) }.max()! < 1e-4)
        }
        for i in 0..<reference.cosine.count {
            for j in 0..<reference.cosine.count { #expect(abs(output.cosine[i][j] - reference.cosine[i][j]) < 1e-4) }
        }
    }

    @Test func textOutputShowsIdsAndCosineMatrix() throws {
        let r = try CLIRunner.run(["embed", "--model", "models/all-MiniLM-L6-v2",
                                   "A man is eating food.", "A man is eating a piece of bread."])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("token_ids (8): 101 1037 2158 2003 5983 2833 1012 102"))
        #expect(r.stdout.contains("embedding (384):"))
        #expect(r.stdout.contains("cosine similarity:"))
        #expect(r.stdout.contains("0.7553"))
        let single = try CLIRunner.run(["embed", "hello"])
        #expect(single.status == 0)
        #expect(!single.stdout.contains("cosine similarity"))
    }

    @Test func longTextIsTruncatedWithOneWarning() throws {
        let long = Array(repeating: "steering", count: 300).joined(separator: " ")
        let r = try CLIRunner.run(["embed", "--json", long, long])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.components(separatedBy: "truncated").count - 1 == 1, "\(r.stderr)")
        let output = try JSONDecoder().decode(Output.self, from: Data(r.stdout.utf8))
        #expect(output.texts.allSatisfy { $0.token_ids.count == 256 })
    }

    @Test func badInputFailsCleanly() throws {
        let missing = try CLIRunner.run(["embed", "--model", "/nonexistent/minilm", "text"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent/minilm"))
        #expect(missing.stdout.isEmpty)

        let empty = try CLIRunner.run(["embed", "--json", "fine", "  "])
        #expect(empty.status != 0)
        #expect(empty.stderr.contains("text 2 is empty"), "\(empty.stderr)")
        #expect(empty.stdout.isEmpty)

        let none = try CLIRunner.run(["embed"])
        #expect(none.status != 0)
        #expect(none.stderr.contains("at least one TEXT"))
    }

    @Test func benchCommandReportsThreadsAndRate() throws {
        let r = try CLIRunner.run(["bench", "embed", "--count", "40", "--repeats", "1", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("threads: 2"))
        #expect(r.stdout.contains("sentences/s"))
        #expect(r.stdout.contains("40 texts"))
        let bad = try CLIRunner.run(["bench", "embed", "--batch-size", "0"])
        #expect(bad.status != 0)
    }
}
