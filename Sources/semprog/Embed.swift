import ArgumentParser
import Study

extension Semprog {
    /// `semprog embed`: token ids, sentence embeddings and their cosine similarities (all-MiniLM-L6-v2; see
    /// `Study.TextEmbeddings`).
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

        /// The texts to embed.
        @Argument(help: "One or more texts.")
        var texts: [String] = []

        func validate() throws {
            guard !texts.isEmpty else { throw ValidationError("give at least one TEXT to embed") }
        }

        func run() async throws {
            try await Terminal.reportingErrors(prefix: "semprog embed: ") {
                let output = try TextEmbeddings.compute(model: model, texts: texts, threads: threadOptions.count)
                print(try json ? output.json : output.text)
            }
        }
    }
}
