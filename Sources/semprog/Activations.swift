import ArgumentParser
import Foundation
import LanguageModel
import SparseAutoencoder
import Tensor

extension Semprog {
    /// `semprog activations`: the top-K SAE features of each token of a text and of the whole text.
    struct Activations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "activations",
            abstract: "Top SAE feature activations of each token of a text and of the whole text.")

        @OptionGroup var modelOptions: LanguageModelOptions
        var model: String { modelOptions.modelPath }

        @OptionGroup var saeOptions: SAEOptions
        var sae: String { saeOptions.sae }
        var hook: String? { saeOptions.hook }

        @Option(help: "The text, tokenized as `generate --prompt` does (no BOS added).")
        var text: String

        @Option(help: "Features listed per token and for the whole text.")
        var top: Int = 5

        @Flag(help: "Include position 0 in the whole-text ranking (its residual norm is ~100× the others).")
        var includeFirstToken = false

        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int { threadOptions.count }

        @Flag(help: "Print {\"tokens\": [{token, id, features: [{index, activation}]}], \"top\": [{index, max_activation}]}.")
        var json = false

        func validate() throws {
            guard top >= 1 else { throw ValidationError("--top must be at least 1") }
            guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
        }

        func run() async throws {
            do { try compute() } catch let error as ExitCode { throw error } catch {
                Terminal.error("Error: \(error.localizedDescription)")
                throw ExitCode.failure
            }
        }

        struct FeatureValue: Codable { var index: Int; var activation: Float }
        struct TokenEntry: Codable { var token: String; var id: Int; var features: [FeatureValue] }
        struct TopEntry: Codable {
            var index: Int; var maxActivation: Float
            enum CodingKeys: String, CodingKey { case index, maxActivation = "max_activation" }
        }
        struct Output: Codable { var tokens: [TokenEntry]; var top: [TopEntry] }

        func compute() throws {
            let autoencoder = try SparseAutoencoder.load(directory: sae, hook: hook)
            let lm = try LlamaModel.load(path: model, threads: threads)
            try autoencoder.check(modelWidth: lm.configuration.dModel, layerCount: lm.configuration.layerCount)
            let ids = lm.tokenizer.promptIDs(text)
            guard !ids.isEmpty else { throw CLIError.invalidArgument("--text: the text is empty") }
            let residual = try autoencoder.hookActivations(model: lm, batch: [ids])[0]
            let a = autoencoder.encode(residual)
            let output = Self.summarise(activations: a, ids: ids, top: top, includeFirstToken: includeFirstToken) {
                lm.tokenizer.decode([$0])
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(output), as: UTF8.self))
            } else {
                for (p, t) in output.tokens.enumerated() {
                    let features = t.features.map { String(format: "#%d %.3f", $0.index, $0.activation) }.joined(separator: "  ")
                    let q = Self.quoted(t.token)
                    print(String(format: "%4d ", p) + q + String(repeating: " ", count: max(1, 17 - q.count)) + features)
                }
                print("whole text" + (includeFirstToken ? "" : " (position 0 excluded)") + ": "
                      + output.top.map { String(format: "#%d %.3f", $0.index, $0.maxActivation) }.joined(separator: "  "))
            }
        }

        static func quoted(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\n", with: "\\n") + "\""
        }

        /// Per token: the `top` non-zero features by activation (descending, ties by index); whole text: the
        /// `top` features by their maximum over the tokens (position 0 excluded unless asked, when there are others).
        static func summarise(activations a: Matrix, ids: [Int], top: Int, includeFirstToken: Bool,
                              token: (Int) -> String) -> Output {
            let m = a.cols
            var maxima = [Float](repeating: 0, count: m)
            var tokens: [TokenEntry] = []
            for r in 0..<a.rows {
                let row = a.row(r)
                let ranked = row.indices.filter { row[$0] > 0 }
                    .sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(top)
                tokens.append(TokenEntry(token: token(ids[r]), id: ids[r],
                                         features: ranked.map { FeatureValue(index: $0, activation: row[$0]) }))
                if r == 0 && !includeFirstToken && a.rows > 1 { continue }
                for j in 0..<m where row[j] > maxima[j] { maxima[j] = row[j] }
            }
            let best = maxima.indices.filter { maxima[$0] > 0 }
                .sorted { maxima[$0] > maxima[$1] || (maxima[$0] == maxima[$1] && $0 < $1) }.prefix(top)
            return Output(tokens: tokens, top: best.map { TopEntry(index: $0, maxActivation: maxima[$0]) })
        }
    }
}
