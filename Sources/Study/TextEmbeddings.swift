import Foundation
import Tensor
import TextEmbedding

/// What `semprog embed` prints: each text's token ids and all-MiniLM-L6-v2 sentence embedding (lower-cased, BERT
/// basic tokenizer and WordPiece, truncated to 256 tokens, mean-pooled, L2-normalised) and the matrix of their
/// cosine similarities (dot products of the unit vectors). JSON: `{"texts": [{"text", "token_ids", "embedding"}, …],
/// "cosine": [[…], …]}` with sorted keys.
public struct TextEmbeddings: Encodable, Sendable {
    public struct Text: Encodable, Sendable {
        public var text: String
        public var tokenIDs: [Int]
        public var embedding: [Float]
        enum CodingKeys: String, CodingKey { case text, tokenIDs = "token_ids", embedding }
    }
    public var texts: [Text]
    public var cosine: [[Float]]

    /// Loads the model (OpenBLAS on `threads` threads) and embeds `texts`.
    public static func compute(model: String, texts: [String], threads: Int) throws -> TextEmbeddings {
        BLAS.setThreads(threads)
        let embedder = try SentenceEmbedder.load(directory: model)
        let embeddings = try embedder.embed(texts)
        return TextEmbeddings(texts: zip(texts, embeddings).map { Text(text: $0, tokenIDs: embedder.tokenize($0), embedding: $1) },
                              cosine: embeddings.map { a in embeddings.map { b in VectorMath.dot(a, b) } })
    }

    /// One line of JSON, sorted keys, slashes unescaped.
    public var json: String {
        get throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }

    /// Per text: the text, its ids and its embedding (7 decimals); with two or more texts, the cosine matrix
    /// (4 decimals) under 1-based column numbers.
    public var text: String {
        var lines: [String] = []
        for (i, t) in texts.enumerated() {
            lines.append("text \(i + 1): \(t.text)")
            lines.append("  token_ids (\(t.tokenIDs.count)): \(t.tokenIDs.map(String.init).joined(separator: " "))")
            lines.append("  embedding (\(t.embedding.count)): " + t.embedding.map { String(format: "%.7f", $0) }.joined(separator: " "))
        }
        if texts.count >= 2 {
            lines.append("cosine similarity:")
            lines.append("      " + (1...texts.count).map { String(format: "%8d", $0) }.joined())
            for (i, row) in cosine.enumerated() {
                lines.append(String(format: "%6d", i + 1) + row.map { String(format: "%8.4f", $0) }.joined())
            }
        }
        return lines.joined(separator: "\n")
    }
}
