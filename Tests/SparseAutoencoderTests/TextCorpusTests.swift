import Testing
@testable import SparseAutoencoder

/// `TextCorpus.contexts`: packing documents into contexts, with and without a BOS token at position 0.
struct TextCorpusTests {
    /// Documents of `n` tokens each, token = 100 · document + position (so every id says where it came from).
    static let documents = (0..<12).map { "doc\($0)" }
    static func tokenize(_ text: String) -> [Int] {
        let d = Int(text.dropFirst(3))!
        return (0..<(3 + d % 5)).map { 100 * (d + 1) + $0 }
    }

    @Test func packsDocumentsUpToTheTokenBudget() {
        let contexts = TextCorpus.contexts(documents: Self.documents, tokenize: Self.tokenize, separator: [7],
                                           contextLength: 10, tokens: 40, seed: 3)
        #expect(contexts.reduce(0) { $0 + $1.count - 1 } == 40, "scored tokens = every position but the first")
        for c in contexts {
            #expect(c.count >= 2 && c.count <= 10)
            #expect(c[0] != 7 && c[0] % 100 == 0, "a context starts at a document's first token")
        }
        // Every document's tokens appear in order, joined by the separator.
        let flat = contexts.flatMap { $0 }.filter { $0 != 7 }
        for (a, b) in zip(flat, flat.dropFirst()) where b % 100 != 0 { #expect(b == a + 1) }
    }

    /// With a BOS id, every context starts with it, is at most `contextLength` long, and the scored tokens (all
    /// but position 0, the BOS) are the same count; the text tokens are the same documents in the same order.
    @Test func bosOpensEveryContext() {
        let plain = TextCorpus.contexts(documents: Self.documents, tokenize: Self.tokenize, separator: [7],
                                        contextLength: 10, tokens: 40, seed: 3)
        let withBOS = TextCorpus.contexts(documents: Self.documents, tokenize: Self.tokenize, separator: [7],
                                          contextLength: 10, tokens: 40, seed: 3, bos: 2)
        #expect(withBOS.reduce(0) { $0 + $1.count - 1 } == 40)
        for c in withBOS {
            #expect(c[0] == 2 && c.count >= 2 && c.count <= 10)
            #expect(!c.dropFirst().contains(2), "BOS only at position 0")
            #expect(c[1] % 100 == 0, "the text starts at a document's first token")
        }
        // The same documents in the same (seeded) order.
        let firstTokens = { (cs: [[Int]], skip: Int) in cs.flatMap { $0.dropFirst(skip) }.filter { $0 % 100 == 0 } }
        let a = firstTokens(plain, 0), b = firstTokens(withBOS, 1)
        #expect(Array(a.prefix(3)) == Array(b.prefix(3)))
    }
}
