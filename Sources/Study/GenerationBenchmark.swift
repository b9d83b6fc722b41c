import Foundation
import LanguageModel
import Randomness
import Tensor

/// What `semprog bench generate` measures: prompt processing (pp64, pp512), single-stream generation (tg128) and
/// aggregate batched generation throughput (tokens/s), with the thread count and peak memory. Prompts are seeded
/// random token ids (SplitMix64 seed 42, ids ≥ 100, as llama-bench uses random ids); every figure is the median
/// of `repetitions` runs. Not a test: the numbers depend on the machine.
public struct GenerationBenchmark {
    public var model: String
    public var threads: Int
    public var repetitions: Int
    /// Prompt lengths of the prompt-processing runs.
    public var promptLengths: [Int]
    /// Tokens generated per sequence.
    public var generatedTokens: Int
    /// Batch sizes of the aggregate runs.
    public var batches: [Int]
    /// Prompt length of each sequence in the batched runs (plus 0–4, so the sequences differ).
    public var batchPromptLength: Int
    /// Decode steps with at most this many rows use the compact Q4_1/Q8_0 kernel (0: off; nil: the model's default).
    public var compactRows: Int?

    public init(model: String, threads: Int, repetitions: Int, promptLengths: [Int], generatedTokens: Int,
                batches: [Int], batchPromptLength: Int, compactRows: Int?) {
        self.model = model; self.threads = threads; self.repetitions = repetitions; self.promptLengths = promptLengths
        self.generatedTokens = generatedTokens; self.batches = batches; self.batchPromptLength = batchPromptLength
        self.compactRows = compactRows
    }

    /// A comma-separated list of positive integers (`64,512`), or nil.
    public static func positiveIntegers(_ list: String) -> [Int]? {
        let v = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return v.map { $0! }
    }

    /// The upper median (element ⌊n/2⌋ of the sorted values; the median for odd n).
    static func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

    /// Runs every measurement and prints one line each.
    public func run(console: StudyConsole = .standard) throws {
        let loadStart = Date()
        let compactRows = self.compactRows ?? LlamaModel.defaultCompactRowLimit
        let lm = try LlamaModel.load(path: model, threads: threads, compactWeights: compactRows > 0)
        lm.compactRowLimit = compactRows
        console.output("model: \(model)")
        console.output(PackedMatrix.isAccelerated ? "kernels: packed GEMM, \(KernelPath.active) (SEMPROG_KERNELS)"
                       : "kernels: OpenBLAS (no AVX2/FMA, or SEMPROG_KERNELS=portable)")
        console.output("compact kernel for steps of ≤ \(compactRows) rows")
        console.output(String(format: "load: %.2f s", Date().timeIntervalSince(loadStart)))
        console.output("threads: \(BLAS.threads) (OpenBLAS), cores: \(ProcessInfo.processInfo.activeProcessorCount)")
        var rng = SplitMix64(seed: 42)
        let ordinary = lm.configuration.vocabularySize
        func randomPrompt(_ n: Int) -> [Int] { (0..<n).map { _ in 100 + Int(rng.next() % UInt64(ordinary - 100)) } }
        func time(_ body: () throws -> Void) rethrows -> Double { let t = Date(); try body(); return Date().timeIntervalSince(t) }
        for n in promptLengths {
            let prompt = randomPrompt(n)
            var rates: [Double] = []
            for _ in 0..<repetitions {
                let s = try time { _ = try lm.nextTokenLogits(tokens: prompt) }
                rates.append(Double(n) / s)
            }
            console.output(String(format: "pp%d: %.1f tok/s", n, Self.median(rates)))
        }
        let noStop = GenerateParameters(maxTokens: generatedTokens, temperature: 0, stopAtEOS: false)
        // Single stream: the exact path, then the optional 8-bit-activation path (llama.cpp's arithmetic).
        for precision in compactRows > 0 ? [ActivationPrecision.float32, .q8] : [.float32] {
            lm.activationPrecision = precision
            defer { lm.activationPrecision = .float32 }
            let prompt = randomPrompt(1)
            var rates: [Double] = []
            for _ in 0..<repetitions {
                let s = try time { _ = try lm.generate(prompts: [prompt], parameters: noStop, seeds: [0], hook: nil) }
                rates.append(Double(generatedTokens) / s)
            }
            let label = precision == .q8 ? "--activations q8: approximate" : "float32 activations"
            console.output(String(format: "tg%d: %.1f tok/s", generatedTokens, Self.median(rates)) + " (single stream, \(label))")
        }
        // Aggregate rate with the prefill included, and the decode steps alone (as llama-batched-bench's S_TG): the
        // same run minus a run that stops after the first token (prefill + one step).
        let firstOnly = GenerateParameters(maxTokens: 1, temperature: 0, stopAtEOS: false)
        for b in batches {
            let prompts = (0..<b).map { i in randomPrompt(batchPromptLength + i % 5) }
            let seeds = prompts.indices.map(UInt64.init)
            var rates: [Double] = [], decodeRates: [Double] = []
            for _ in 0..<repetitions {
                let s = try time { _ = try lm.generate(prompts: prompts, parameters: noStop, seeds: seeds, hook: nil) }
                let s1 = try time { _ = try lm.generate(prompts: prompts, parameters: firstOnly, seeds: seeds, hook: nil) }
                rates.append(Double(b * generatedTokens) / s)
                if generatedTokens > 1 { decodeRates.append(Double(b * (generatedTokens - 1)) / max(s - s1, 1e-9)) }
            }
            let decode = decodeRates.isEmpty ? "" : String(format: "; decode steps alone %.1f tok/s", Self.median(decodeRates))
            console.output(String(format: "batch %d: %.1f tok/s aggregate (%d × %d tokens, prefill included)", b,
                                  Self.median(rates), b, generatedTokens) + decode)
        }
        console.output(String(format: "peak memory: %.0f MiB (VmHWM)", Self.peakResidentMiB()))
    }

    /// Peak resident set size (VmHWM) in MiB, from the text of /proc/self/status; NaN when it is not there.
    static func peakResidentMiB(status: String? = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) -> Double {
        guard let status else { return .nan }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
            return kb / 1024
        }
        return .nan
    }
}
