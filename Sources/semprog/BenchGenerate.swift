import ArgumentParser
import Study

extension Semprog {
    /// `semprog bench generate`: prompt processing (pp64, pp512), single-stream generation (tg128) and aggregate
    /// batched generation throughput, with the thread count and peak memory (see `Study.GenerationBenchmark`).
    struct BenchGenerate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Benchmark the language model: pp64, pp512, tg128 and batched generation tokens/s.")

        @OptionGroup var modelOptions: LanguageModelOptions

        @OptionGroup var threadOptions: ThreadOptions

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
            guard repetitions >= 1, genTokens >= 1, batchPromptLength >= 1 else {
                throw ValidationError("--threads, --repetitions, --gen-tokens and --batch-prompt-length must be ≥ 1")
            }
            guard GenerationBenchmark.positiveIntegers(promptLengths) != nil, GenerationBenchmark.positiveIntegers(batches) != nil else {
                throw ValidationError("--prompt-lengths and --batches are comma-separated positive integers")
            }
        }

        func run() async throws {
            try await Terminal.reportingErrors {
                try GenerationBenchmark(
                    model: modelOptions.modelPath, threads: threadOptions.count, repetitions: repetitions,
                    promptLengths: GenerationBenchmark.positiveIntegers(promptLengths) ?? [], generatedTokens: genTokens,
                    batches: GenerationBenchmark.positiveIntegers(batches) ?? [], batchPromptLength: batchPromptLength,
                    compactRows: compactRows).run()
            }
        }
    }
}
