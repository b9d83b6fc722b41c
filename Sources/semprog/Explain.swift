import ArgumentParser
import Foundation
import LanguageModel
import ModelFormats
import SparseAutoencoder
import Store
import Tensor

extension Semprog {
    /// `semprog explain`: feature statistics of an SAE over a text corpus (density, max activation, top contexts,
    /// promoted/suppressed tokens) and semprog's built-in explanation of each feature, written as JSON lines.
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "explain",
            abstract: "Feature statistics over a corpus and built-in explanations of an SAE's features (JSON lines).")

        @Option(help: "Model: a .gguf file or a model directory.")
        var model: String = DefaultPaths.languageModel

        @Option(help: "SAE directory in SAELens format.")
        var sae: String
        @Option(help: "Hook to use instead of the one the SAE's files give or imply (e.g. blocks.12.hook_resid_post).")
        var hook: String?

        @Option(parsing: .upToNextOption, help: "Text files to scan. Default: models/corpus/fortunes.txt.")
        var corpus: [String] = []

        @Option(help: "Corpus tokens to scan (position 0 of each context excluded).")
        var tokens: Int = 50_000

        @Option(help: "Tokens per context fed to the model.")
        var contextLength: Int = 128

        @Option(help: "Comma-separated feature indices (default: all).")
        var features: String?

        @Option(help: "Top activating contexts kept per feature.")
        var contexts: Int = 5

        @Option(help: "Promoted and suppressed tokens kept per feature.")
        var promotedTokens: Int = 10

        @Option(help: "Seed of the corpus shuffle.")
        var seed: UInt64 = 1

        @Option(help: "Output JSON-lines file (default: <sae>/semprog_features.jsonl); one object per feature.")
        var out: String?

        @Option(name: [.customLong("db"), .customLong("database")], help: "SQLite database: also store the statistics (features table) and explanations (source 'semprog') against the SAE.")
        var database: String?

        @Option(help: "OpenBLAS threads (default: all cores).")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "No progress line.")
        var quiet = false

        func validate() throws {
            guard tokens >= 1 else { throw ValidationError("--tokens must be positive") }
            guard contextLength >= 2 else { throw ValidationError("--context-length must be at least 2") }
            guard contexts >= 1, promotedTokens >= 0 else { throw ValidationError("--contexts must be ≥ 1, --promoted-tokens ≥ 0") }
            guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
        }

        func run() async throws {
            do { try explain() } catch let error as ExitCode { throw error } catch {
                Terminal.error("Error: \(error.localizedDescription)")
                throw ExitCode.failure
            }
        }

        /// One line of the output file.
        struct Line: Encodable {
            var statistics: FeatureStatistics
            var explanation: String?
            var source: String
            func encode(to encoder: Encoder) throws {
                try statistics.encode(to: encoder)
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(explanation, forKey: .explanation)
                try c.encode(source, forKey: .source)
            }
            enum Keys: String, CodingKey { case explanation, source }
        }

        /// Registers the SAE (path as given, SHA-256 of its weights, as `semprog sweep` does) and upserts its
        /// features' statistics and built-in explanations in one transaction. `top_contexts` holds the JSON array
        /// of `FeatureContext`, `promoted_tokens` the JSON array of `TokenLogit`.
        static func store(_ statistics: [FeatureStatistics], saePath: String, configuration: SAEConfiguration,
                          weightsPath: String? = nil,
                          database: String) throws {
            let db = try StoreDatabase(path: database)
            // Absolute, standardized path: the store identifies an SAE by path + content hash (as sweep does).
            let saePath = URL(fileURLWithPath: saePath).standardizedFileURL.path
            // The weights file of whichever format the SAE came in (as `SteeringSession` hashes it).
            let sha = try SHA256Digest.hex(ofFile: weightsPath ?? saePath + "/sae_weights.safetensors")
            let saeId = try db.registerSAE(SAERecord(path: saePath, sha256: sha, hook: configuration.hookName,
                                                     dIn: configuration.dIn, dSAE: configuration.dSae,
                                                     architecture: configuration.architecture.rawValue,
                                                     neuronpediaId: configuration.neuronpediaID))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
            var features: [FeatureRecord] = [], explanations: [StoreDatabase.NewExplanation] = []
            for s in statistics {
                features.append(FeatureRecord(saeId: saeId, featureIndex: s.feature, maxActivation: Double(s.maxActivation),
                                              fractionNonzero: s.fractionNonzero, topContexts: try json(s.topContexts),
                                              promotedTokens: try json(s.promotedTokens)))
                if let text = BuiltInExplainer.explain(s) {
                    explanations.append(.init(featureIndex: s.feature, source: BuiltInExplainer.source, text: text))
                }
            }
            try db.saveFeatureStatistics(saeId: saeId, features: features, explanations: explanations)
        }

        func explain() throws {
            let autoencoder = try SparseAutoencoder.load(directory: sae, hook: hook)
            let selected: [Int]?
            if let features {
                var list: [Int] = []
                for part in features.split(separator: ",") {
                    guard let i = Int(part.trimmingCharacters(in: .whitespaces)) else {
                        throw CLIError.invalidArgument("--features: '\(part)' is not a feature index")
                    }
                    do { try autoencoder.checkFeature(i) } catch { throw CLIError.invalidArgument("--features: \(error.localizedDescription)") }
                    list.append(i)
                }
                selected = list
            } else { selected = nil }
            let documents = try TextCorpus.load(paths: corpus.isEmpty ? [DefaultPaths.corpus] : corpus)
            let lm = try LlamaModel.load(path: model, threads: threads)
            try autoencoder.check(modelWidth: lm.configuration.dModel, layerCount: lm.configuration.layerCount)
            let layer = autoencoder.configuration.layer
            let windows = TextCorpus.contexts(documents: documents, tokenize: { lm.tokenizer.encode($0, parseSpecial: false) },
                                              separator: lm.tokenizer.encode("\n\n"), contextLength: contextLength,
                                              tokens: tokens, seed: seed)
            var accumulator = FeatureStatisticsAccumulator(dSae: autoencoder.configuration.dSae, contextCount: contexts)
            let progress = ProgressLine("scanning", quiet: quiet)
            let total = windows.reduce(0) { $0 + $1.count - 1 }
            var done = 0, start = 0
            while start < windows.count {
                let group = Array(windows[start..<min(windows.count, start + 8)])
                let streams = try lm.residualStreams(batch: group, layer: layer)
                for (ids, stream) in zip(group, streams) where stream.rows > 1 {
                    let rows = Matrix(rows: stream.rows - 1, cols: stream.cols, values: Array(stream.values[stream.cols...]))
                    accumulator.add(activations: autoencoder.encode(rows), tokenIDs: ids, firstPosition: 1)
                    done += rows.rows
                }
                progress.update(done: done, total: total, unit: "tok")
                start += group.count
            }
            progress.finish()
            let statistics = accumulator.finish(
                token: { lm.tokenizer.decode([$0]) },
                logits: { lm.unembedDirection(autoencoder.decoderRow($0)) },
                tokenCount: promotedTokens, features: selected)
            let path = out ?? URL(fileURLWithPath: sae).appendingPathComponent("semprog_features.jsonl").path
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var data = Data()
            var explained = 0
            for s in statistics {
                let text = BuiltInExplainer.explain(s)
                if text != nil { explained += 1 }
                data.append(try encoder.encode(Line(statistics: s, explanation: text, source: BuiltInExplainer.source)))
                data.append(0x0A)
            }
            do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw CLIError.invalidArgument("--out: cannot write \(path): \(error.localizedDescription)")
            }
            if let database {
                try Self.store(statistics, saePath: sae, configuration: autoencoder.configuration,
                               weightsPath: autoencoder.source?.weightsPath, database: database)
            }
            for s in statistics.prefix(selected == nil ? 10 : statistics.count) {
                print(String(format: "#%d density %.5f max %.2f: ", s.feature, s.fractionNonzero, s.maxActivation)
                      + (BuiltInExplainer.explain(s) ?? "(never fired)"))
            }
            Terminal.error("\(statistics.count) features (\(explained) explained, \(statistics.count - explained) never fired on \(accumulator.tokens) tokens) → \(path)")
        }
    }
}
