import ArgumentParser
import Foundation
import LanguageModel
import SparseAutoencoder
import Tensor

extension Semprog {
    /// `semprog sae …`: commands about SAE folders.
    struct SAECommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sae",
            abstract: "Inspect SAE folders (SAELens, Gemma Scope 1 and 2, sparsify).",
            subcommands: [Info.self])
    }
}

extension Semprog.SAECommand {
    /// `semprog sae info DIR`: what semprog read from an SAE folder: format, architecture, hook, d_in, d_sae,
    /// dtype and the settings that change encode; with `--model` and `--text`, L0 and the explained variance of
    /// the reconstruction on that text (positions after the first).
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Show the format, architecture, hook, sizes and encode settings of an SAE folder.")

        @Argument(help: "The SAE folder.")
        var directory: String

        @Option(help: "Hook to use instead of the one the files give or imply (e.g. blocks.6.hook_resid_post).")
        var hook: String?

        @Option(help: "Model (a .gguf file or model directory) for L0 and explained variance on --text.")
        var model: String?

        @Option(help: "Text whose residuals are encoded (needs --model).")
        var text: String?

        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int { threadOptions.count }

        @Flag(help: "Print the same as one JSON object.")
        var json = false

        func validate() throws {
            if (model == nil) != (text == nil) { throw ValidationError("give --model and --text together") }
            guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
        }

        struct Output: Codable {
            var directory: String
            var format: String
            var formatTitle: String
            var release: String?
            var architecture: String
            var declaredArchitecture: String
            var hook: String
            var hookSource: String
            var dIn: Int
            var dSae: Int
            var dtype: String
            var storedDType: String
            var k: Int?
            var applyBDecToInput: Bool
            var normalizeActivations: String
            var rescaleActsByDecoderNorm: Bool?
            var normScalingFactor: Double?
            var modelName: String?
            var configFile: String?
            var weightsFile: String
            var adjustments: [String]
            var steerable: Bool
            var tokens: Int?
            var meanL0: Double?
            var explainedVariance: Double?

            enum CodingKeys: String, CodingKey {
                case directory, format, release, architecture, hook, dtype, k, adjustments, steerable, tokens
                case formatTitle = "format_title", declaredArchitecture = "declared_architecture", hookSource = "hook_source"
                case dIn = "d_in", dSae = "d_sae", storedDType = "stored_dtype", applyBDecToInput = "apply_b_dec_to_input"
                case normalizeActivations = "normalize_activations", rescaleActsByDecoderNorm = "rescale_acts_by_decoder_norm"
                case normScalingFactor = "norm_scaling_factor", modelName = "model_name", configFile = "config_file"
                case weightsFile = "weights_file", meanL0 = "mean_l0", explainedVariance = "explained_variance"
            }
        }

        func run() async throws {
            do { try show() } catch let error as ExitCode { throw error } catch {
                Terminal.error("Error: \(error.localizedDescription)")
                throw ExitCode.failure
            }
        }

        func show() throws {
            let sae = try SparseAutoencoder.read(directory: directory, hook: hook)
            let c = sae.configuration
            guard let source = sae.source else { throw CLIError.invalidArgument("\(directory): no source information") }
            var out = Output(
                directory: directory, format: source.format.rawValue, formatTitle: source.format.title, release: source.release,
                architecture: c.architecture.rawValue, declaredArchitecture: c.declaredArchitecture, hook: c.hookName,
                hookSource: source.hookField, dIn: c.dIn, dSae: c.dSae, dtype: c.dtype, storedDType: source.storedDType, k: c.k,
                applyBDecToInput: c.applyBDecToInput, normalizeActivations: c.normalizeActivations.rawValue,
                rescaleActsByDecoderNorm: c.architecture == .topk ? c.rescaleActsByDecoderNorm : nil,
                normScalingFactor: c.normScalingFactor, modelName: c.modelName, configFile: source.configPath,
                weightsFile: source.weightsPath, adjustments: source.adjustments, steerable: c.isSteerableHook)
            if let model, let text {
                let lm = try LlamaModel.load(path: model, threads: threads)
                try sae.check(modelWidth: lm.configuration.dModel, layerCount: lm.configuration.layerCount)
                let ids = lm.tokenizer.encode(text)
                guard ids.count >= 2 else { throw CLIError.invalidArgument("--text: needs at least 2 tokens (position 0 is left out), got \(ids.count)") }
                let all = try sae.hookActivations(model: lm, batch: [ids])[0]
                let d = all.cols
                let x = Matrix(rows: all.rows - 1, cols: d, values: Array(all.values[d...]))
                let a = sae.encode(x)
                let y = sae.reconstruct(x)
                var mean = [Double](repeating: 0, count: d)
                for r in 0..<x.rows { for j in 0..<d { mean[j] += Double(x.values[r * d + j]) / Double(x.rows) } }
                var sse = 0.0, sst = 0.0
                for r in 0..<x.rows { for j in 0..<d {
                    let v = Double(x.values[r * d + j])
                    sse += (v - Double(y.values[r * d + j])) * (v - Double(y.values[r * d + j]))
                    sst += (v - mean[j]) * (v - mean[j])
                } }
                out.tokens = x.rows
                out.meanL0 = Double(a.values.filter { $0 != 0 }.count) / Double(x.rows)
                out.explainedVariance = sst > 0 ? 1 - sse / sst : nil
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(out), as: UTF8.self))
                return
            }
            var lines: [(String, String)] = [
                ("format", source.format.title + (source.release.map { " — release \($0)" } ?? "")),
                ("architecture", c.architecture.rawValue + (c.declaredArchitecture != c.architecture.rawValue && !c.declaredArchitecture.isEmpty ? " (declared \(c.declaredArchitecture))" : "")),
                ("hook", "\(c.hookName) (from \(source.hookField))" + (c.isSteerableHook ? "" : " — not a hook semprog's models expose (resid_post, resid_pre, mlp_out): semprog cannot steer it")),
                ("d_in", String(c.dIn)), ("d_sae", String(c.dSae)),
                ("dtype", "\(c.dtype) declared, \(source.storedDType) stored; computed in float32"),
            ]
            if let modelName = c.modelName { lines.append(("model", modelName)) }
            lines.append(("encode", c.encodeSettings.joined(separator: ", ")))
            for a in source.adjustments { lines.append(("loader", a)) }
            if let config = source.configPath { lines.append(("config", config)) }
            lines.append(("weights", source.weightsPath))
            if let tokens = out.tokens, let l0 = out.meanL0 {
                lines.append(("L0", String(format: "%.2f mean active latents over %d tokens", l0, tokens)))
                lines.append(("explained variance", out.explainedVariance.map { String(format: "%.4f", $0) } ?? "n/a (constant residuals)"))
            }
            let width = lines.map(\.0.count).max() ?? 0
            for (k, v) in lines { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
        }
    }
}
