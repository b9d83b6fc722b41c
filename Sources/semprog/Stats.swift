import ArgumentParser
import Study

extension Semprog {
    /// Statistics on any table, so users can compute the study's RQ statistics on their own data.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Statistics on any table (spearman).",
            subcommands: [StatsSpearman.self]
        )
    }

    /// `semprog stats spearman --csv FILE --x COL --y COL [--json]` (see `Study.ColumnCorrelation`).
    struct StatsSpearman: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "spearman",
            abstract: "Spearman ρ of two CSV columns: t-test and permutation p-values, bootstrap 95% CI, Kendall τ-b.",
            discussion: """
            ρ uses average ranks for ties; p_value is two-sided by Student's t with n−2 df (as scipy.stats.spearmanr); \
            p_permutation is exact for n ≤ 8, else from seeded random permutations; the CI is a seeded percentile \
            bootstrap. A constant column leaves ρ undefined (null in JSON, said on stderr).
            """
        )

        /// The CSV file: a header row naming the columns, then one row per observation.
        @Option(name: .customLong("csv"), help: "CSV file with a header row.")
        var csv: String

        @Option(name: .customLong("x"), help: "Name of the first column.")
        var xColumn: String

        @Option(name: .customLong("y"), help: "Name of the second column.")
        var yColumn: String

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        @Option(name: .long, help: "Seed of the permutation test and the bootstrap.")
        var seed: UInt64 = 20_240_607

        @Option(name: .long, help: "Random permutations (when n > 8) and bootstrap resamples.")
        var resamples: Int = 10_000

        func validate() throws {
            guard resamples > 0 else { throw ValidationError("--resamples must be positive") }
        }

        func run() async throws {
            try ColumnCorrelation(csv: csv, xColumn: xColumn, yColumn: yColumn, seed: seed, resamples: resamples).run(json: json)
        }
    }
}
