import ArgumentParser
import Foundation
import Tensor
import TextEmbedding

extension Semprog {
    /// `semprog embed`: token ids, sentence embeddings and their cosine similarities (all-MiniLM-L6-v2).
    struct Embed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "embed",
            abstract: "Sentence embeddings with all-MiniLM-L6-v2: token ids, embedding, cosine-similarity matrix.",
            discussion: """
            Each text is lower-cased and split by the BERT basic tokenizer and WordPiece, truncated to 256 tokens, \
            encoded, mean-pooled and L2-normalised. With --json the output has the shape \
            {"texts": [{"text", "token_ids", "embedding"}, …], "cosine": [[…], …]}.
            """)

        /// Directory holding config.json, vocab.txt and model.safetensors.
        @Option(name: .long, help: ArgumentHelp("Model directory (config.json, vocab.txt, model.safetensors).",
                                               valueName: "DIR"))
        var model: String = DefaultPaths.embeddingModel

        /// Print JSON instead of text.
        @Flag(name: .long, help: "Print JSON: {\"texts\": [{\"text\", \"token_ids\", \"embedding\"}], \"cosine\": [[…]]}.")
        var json = false

        /// OpenBLAS threads.
        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int { threadOptions.count }

        /// The texts to embed.
        @Argument(help: "One or more texts.")
        var texts: [String] = []

        func validate() throws {
            guard !texts.isEmpty else { throw ValidationError("give at least one TEXT to embed") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        }

        struct Output: Encodable {
            struct Text: Encodable {
                var text: String
                var token_ids: [Int]
                var embedding: [Float]
            }
            var texts: [Text]
            var cosine: [[Float]]
        }

        func run() async throws {
            BLAS.setThreads(threads)
            let output: Output
            do {
                let embedder = try SentenceEmbedder.load(directory: model)
                let embeddings = try embedder.embed(texts)
                let cosine = embeddings.map { a in embeddings.map { b in VectorMath.dot(a, b) } }
                output = Output(
                    texts: zip(texts, embeddings).map { .init(text: $0, token_ids: embedder.tokenize($0), embedding: $1) },
                    cosine: cosine)
            } catch {
                Terminal.error("semprog embed: \(error.localizedDescription)")
                throw ExitCode.failure
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(output)
                FileHandle.standardOutput.write(data + Data("\n".utf8))
                return
            }
            var lines: [String] = []
            for (i, t) in output.texts.enumerated() {
                lines.append("text \(i + 1): \(t.text)")
                lines.append("  token_ids (\(t.token_ids.count)): \(t.token_ids.map(String.init).joined(separator: " "))")
                lines.append("  embedding (\(t.embedding.count)): "
                             + t.embedding.map { String(format: "%.7f", $0) }.joined(separator: " "))
            }
            if output.texts.count >= 2 {
                lines.append("cosine similarity:")
                let header = "      " + (1...output.texts.count).map { String(format: "%8d", $0) }.joined()
                lines.append(header)
                for (i, row) in output.cosine.enumerated() {
                    lines.append(String(format: "%6d", i + 1) + row.map { String(format: "%8.4f", $0) }.joined())
                }
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
