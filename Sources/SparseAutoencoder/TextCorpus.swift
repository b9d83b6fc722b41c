import Foundation
import Randomness
import Tensor

/// Real-text corpora for activation collection: files are split into documents (fortune files at lines
/// holding only `%`, other text at blank lines), documents are shuffled with a seed and packed into contexts.
public enum TextCorpus {
    /// Documents of one text: split at lines that are exactly `%` (the fortune-file format) or empty;
    /// whitespace-only documents are dropped.
    public static func documents(in text: String) -> [String] {
        var documents: [String] = []
        var current: [Substring] = []
        func flush() {
            let doc = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            if !doc.isEmpty { documents.append(doc) }
            current.removeAll()
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "%" || trimmed.isEmpty { flush() } else { current.append(line) }
        }
        flush()
        return documents
    }

    /// The documents of every file, in order. Throws naming the file when it is missing, not UTF-8 or empty.
    public static func load(paths: [String]) throws -> [String] {
        var all: [String] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SAEError.cannotRead(path: path, reason: "no such file or not readable")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw SAEError.cannotRead(path: path, reason: "not UTF-8 text")
            }
            let docs = documents(in: text)
            guard !docs.isEmpty else { throw SAEError.cannotRead(path: path, reason: "holds no text") }
            all += docs
        }
        return all
    }

    /// Packs documents (visited in a seeded random order) into contexts of at most `contextLength` tokens,
    /// documents joined by `separator`; stops once the contexts hold `tokens` scored tokens (every position but
    /// the first of each context). A document longer than a context is cut. With `bos` (a model whose tokenizer
    /// adds BOS, as Gemma's does: SAELens' `prepend_bos`), every context starts with it, so position 0, which is
    /// never scored, is the BOS token and every text token is; without it position 0 is the first text token.
    public static func contexts(documents: [String], tokenize: (String) -> [Int], separator: [Int],
                                contextLength: Int, tokens: Int, seed: UInt64, bos: Int? = nil) -> [[Int]] {
        var order = Array(documents.indices)
        var rng = SplitMix64(seed: seed)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let opening: [Int] = bos.map { [$0] } ?? []
        var contexts: [[Int]] = []
        var current = opening
        var scored = 0
        func close() {
            if current.count >= 2 { contexts.append(current); scored += current.count - 1 }
            current = opening
        }
        for index in order {
            if scored >= tokens { break }
            let ids = tokenize(documents[index])
            guard !ids.isEmpty else { continue }
            var piece = current.count == opening.count ? ids : separator + ids
            if current.count + piece.count > contextLength {
                if current.count > opening.count { close() }
                piece = ids
            }
            current += piece.prefix(max(0, contextLength - current.count))
            // Trim the last context so the total is exact.
            if scored + max(current.count - 1, 0) >= tokens {
                current = Array(current.prefix(tokens - scored + 1))
                close()
                break
            }
            if current.count >= contextLength { close() }
        }
        if scored < tokens { close() }
        return contexts
    }
}
