import Foundation
import Testing
@testable import LanguageModel

@Suite struct BatchedPerplexityTests {
    /// Many sequences per forward pass give each item's own `perplexity(context:continuation:)`, however the
    /// items are packed (maxPrefillRows small enough to split them into several passes, or one item per pass).
    @Test func batchedEqualsOneByOne() throws {
        let m = try TinyLlama.load()
        let texts = [("the cat", " sat down"), ("a dog", " ran"), ("the cat", " the cat the cat"), ("sat", " down the dog")]
        let items = texts.map { (context: m.tokenizer.encode($0.0), continuation: m.tokenizer.encode($0.1)) }
        let single = try items.map { try m.perplexity(context: $0.context, continuation: $0.continuation) }
        for rows in [512, 9, 1] {
            m.maxPrefillRows = rows
            let batched = try m.perplexities(items)
            for (a, b) in zip(batched, single) {
                #expect(abs(a - b) / b < 1e-5, "maxPrefillRows \(rows): batched \(a), single \(b)")
            }
        }
        #expect(throws: LanguageModelError.self) { _ = try m.perplexities([(context: [], continuation: items[0].continuation)]) }
        #expect(try m.perplexities([]).isEmpty)
    }
}
