import ArgumentParser
import Study

extension Semprog {
    /// `semprog bench gemm`: GFLOP/s of semprog's packed-panel kernel against OpenBLAS' `cblas_sgemm` on the
    /// language model's shapes (see `Study.GemmBenchmark`).
    struct BenchGemm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gemm",
            abstract: "Benchmark the packed GEMM kernel against OpenBLAS on SmolLM2's or Gemma 3 270M's matrix shapes.")

        @OptionGroup var threadOptions: ThreadOptions

        @Option(help: "Comma-separated row counts (activations per call).")
        var rows: String = "1,8,64,512"

        @Option(help: "Runs per measurement (the median is printed).")
        var repetitions: Int = 3

        @Option(help: "Matrix shapes: smollm2 or gemma3 (Gemma 3 270M's layer matrices).")
        var shapes: String = "smollm2"

        func validate() throws {
            guard repetitions >= 1 else { throw ValidationError("--threads and --repetitions must be ≥ 1") }
            guard GenerationBenchmark.positiveIntegers(rows) != nil else { throw ValidationError("--rows: comma-separated positive integers") }
            guard GemmBenchmark.ShapeSet(rawValue: shapes) != nil else {
                throw ValidationError("--shapes: '\(shapes)' is not one of smollm2, gemma3")
            }
        }

        func run() throws {
            GemmBenchmark(threads: threadOptions.count, rows: GenerationBenchmark.positiveIntegers(rows) ?? [],
                          repetitions: repetitions, shapes: GemmBenchmark.ShapeSet(rawValue: shapes) ?? .smollm2).run()
        }
    }
}
