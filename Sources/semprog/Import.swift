import ArgumentParser
import Foundation
import Store
import Units

extension Semprog {
    /// `semprog import --db FILE.sqlite [--sweep NAME] [--units U] INPUT.csv|INPUT.jsonl`: imports a sweep made elsewhere
    /// (flat format, see Sources/Store/FORMAT.md) in one transaction.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import a sweep made elsewhere (flat CSV or JSONL: feature, prompt, magnitude, output, …)",
            discussion: """
                Columns: feature, prompt, magnitude, output (required) and magnitude_unit, absolute_target, baseline, \
                description, explanation, fraction_nonzero, max_activation, model, sae (optional). The magnitudes \
                are in the rows' magnitude_unit, else in --units (absolute, max-activation or factor), one unit per \
                sweep; with neither the sweep's units are 'imported' (read as absolute activations). The whole file is imported in one \
                transaction: any bad row leaves the database unchanged.
                """)

        @OptionGroup var databaseOptions: DatabaseOptions
        var db: String { databaseOptions.db }

        @Option(name: .long, help: "Sweep name (default: the input file name without extension).")
        var sweep: String?

        @Option(name: .long, help: "Unit of the magnitudes of rows without a magnitude_unit: absolute, max-activation or factor.")
        var units: MagnitudeUnit?

        @Argument(help: "The input file (.csv, .jsonl or .ndjson).")
        var input: String

        func validate() throws {
            guard FlatFormat(path: input) != nil else {
                throw ValidationError("\(input): unknown file type (expected .csv, .jsonl or .ndjson)")
            }
            guard FileManager.default.fileExists(atPath: input) else { throw ValidationError("\(input): no such file") }
        }

        func run() async throws {
            let store = try StoreDatabase(path: db)
            let summary = try store.importFlatFile(at: input, sweepName: sweep, units: units)
            Terminal.error("imported \(summary.generations) generations (\(summary.prompts) prompts, \(summary.baselines) baselines, "
                + "\(summary.features) features) into sweep '\(summary.sweepName)' of \(db)")
        }
    }
}
