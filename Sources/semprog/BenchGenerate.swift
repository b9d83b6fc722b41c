import ArgumentParser
import Foundation
import LanguageModel
import Randomness
import Tensor

extension Semprog {
    /// `semprog bench generate`: prompt processing (pp64, pp512), single-stream generation (tg128) and
    /// aggregate batched generation throughput, with the thread count and peak memory. Prompts are seeded
    /// random token ids (as llama-bench uses); every figure is the median of `--repetitions` runs.
    struct BenchGenerate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Benchmark the language model: pp64, pp512, tg128 and batched generation tokens/s.")

        @OptionGroup var modelOptions: LanguageModelOptions
        var model: String { modelOptions.modelPath }

        @OptionGroup var threadOptions: ThreadOptions
        var threads: Int { threadOptions.count }

        @Option(help: "Runs per measurement (the median is printed).")
        var repetitions: Int = 3

        @Option(help: "Comma-separated prompt lengths for prompt processing.")
        var promptLengths: String = "64,512"

        @Option(help: "Tokens generated per sequence in the generation tests.")
        var genTokens: Int = 128

        @Option(help: "Comma-separated batch sizes for aggregate generation.")
        var batches: String = "1,8,32,64"

        @Option(help: "Prompt length of each sequence in the batched test.")
        var batchPromptLength: Int = 16

        @Option(help: "Decode steps with at most this many rows use the compact Q4_1/Q8_0 kernel (0 = off; default: the model's crossover).")
        var compactRows: Int?

        func validate() throws {
            guard threads >= 1, repetitions >= 1, genTokens >= 1, batchPromptLength >= 1 else {
                throw ValidationError("--threads, --repetitions, --gen-tokens and --batch-prompt-length must be ≥ 1")
            }
            guard parse(promptLengths) != nil, parse(batches) != nil else {
                throw ValidationError("--prompt-lengths and --batches are comma-separated positive integers")
            }
        }

        func parse(_ list: String) -> [Int]? {
            let v = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            return v.map { $0! }
        }

        func run() async throws {
            do {
                let loadStart = Date()
                let compactRows = self.compactRows ?? LlamaModel.defaultCompactRowLimit
                let lm = try LlamaModel.load(path: model, threads: threads, compactWeights: compactRows > 0)
                lm.compactRowLimit = compactRows
                print("model: \(model)")
                print(PackedMatrix.isAccelerated ? "kernels: packed GEMM, \(KernelPath.active) (SEMPROG_KERNELS)" : "kernels: OpenBLAS (no AVX2/FMA, or SEMPROG_KERNELS=portable)")
                print("compact kernel for steps of ≤ \(compactRows) rows")
                print(String(format: "load: %.2f s", Date().timeIntervalSince(loadStart)))
                print("threads: \(BLAS.threads) (OpenBLAS), cores: \(ProcessInfo.processInfo.activeProcessorCount)")
                var rng = SplitMix64(seed: 42)
                let ordinary = lm.configuration.vocabularySize
                func randomPrompt(_ n: Int) -> [Int] {
                    (0..<n).map { _ in 100 + Int(rng.next() % UInt64(ordinary - 100)) }
                }
                func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }
                func time(_ body: () throws -> Void) rethrows -> Double {
                    let t = Date(); try body(); return Date().timeIntervalSince(t)
                }
                for n in parse(promptLengths)! {
                    let prompt = randomPrompt(n)
                    var rates: [Double] = []
                    for _ in 0..<repetitions {
                        let s = try time { _ = try lm.nextTokenLogits(tokens: prompt) }
                        rates.append(Double(n) / s)
                    }
                    print(String(format: "pp%d: %.1f tok/s", n, median(rates)))
                }
                let noStop = GenerateParameters(maxTokens: genTokens, temperature: 0, stopAtEOS: false)
                // Single stream: the exact path, then the optional 8-bit-activation path (llama.cpp's arithmetic).
                for precision in compactRows > 0 ? [ActivationPrecision.float32, .q8] : [.float32] {
                    lm.activationPrecision = precision
                    defer { lm.activationPrecision = .float32 }
                    let prompt = randomPrompt(1)
                    var rates: [Double] = []
                    for _ in 0..<repetitions {
                        let s = try time { _ = try lm.generate(prompts: [prompt], parameters: noStop, seeds: [0], hook: nil) }
                        rates.append(Double(genTokens) / s)
                    }
                    let label = precision == .q8 ? "--activations q8: approximate" : "float32 activations"
                    print(String(format: "tg%d: %.1f tok/s", genTokens, median(rates)) + " (single stream, \(label))")
                }
                // Aggregate rate with the prefill included, and the decode steps alone (as llama-batched-bench's
                // S_TG): the same run minus a run that stops after the first token (prefill + one step).
                let firstOnly = GenerateParameters(maxTokens: 1, temperature: 0, stopAtEOS: false)
                for b in parse(batches)! {
                    let prompts = (0..<b).map { i in randomPrompt(batchPromptLength + i % 5) }
                    let seeds = prompts.indices.map(UInt64.init)
                    var rates: [Double] = [], decodeRates: [Double] = []
                    for _ in 0..<repetitions {
                        let s = try time { _ = try lm.generate(prompts: prompts, parameters: noStop, seeds: seeds, hook: nil) }
                        let s1 = try time { _ = try lm.generate(prompts: prompts, parameters: firstOnly, seeds: seeds, hook: nil) }
                        rates.append(Double(b * genTokens) / s)
                        if genTokens > 1 { decodeRates.append(Double(b * (genTokens - 1)) / max(s - s1, 1e-9)) }
                    }
                    let decode = decodeRates.isEmpty ? "" : String(format: "; decode steps alone %.1f tok/s", median(decodeRates))
                    print(String(format: "batch %d: %.1f tok/s aggregate (%d × %d tokens, prefill included)", b, median(rates), b, genTokens) + decode)
                }
                print(String(format: "peak memory: %.0f MiB (VmHWM)", Self.peakResidentMiB()))
            } catch let error as ExitCode {
                throw error
            } catch {
                Terminal.error("Error: \(error.localizedDescription)")
                throw ExitCode.failure
            }
        }

        /// Peak resident set size from /proc/self/status (VmHWM), MiB.
        static func peakResidentMiB() -> Double {
            guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
            for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
                return kb / 1024
            }
            return .nan
        }
    }
}
