import ArgumentParser
import Study

extension Semprog.Neuronpedia {
    /// `semprog neuronpedia import --db F --sae S [--force] FILE...`
    struct NeuronpediaImport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import Neuronpedia feature JSON files and bulk exports (explanations/ and features/ batch-N.jsonl.gz)",
            discussion: """
                Files: feature JSON as returned by /api/feature/{modelId}/{layer}/{index} (.json), or JSONL bulk \
                exports, gzipped (.jsonl.gz) or not. All files are imported in one transaction; any error leaves \
                the database unchanged. The SAE folder may be of any format semprog reads (SAELens, Gemma Scope 1 \
                and 2, sparsify): it gives d_sae (indices must be below it); a SAELens cfg.json also gives \
                neuronpedia_id (modelId/layer of every record must match it unless --force); without one, all \
                records must agree and their modelId/layer is stored as the SAE's id.
                """)

        @OptionGroup var databaseOptions: DatabaseOptions

        @Option(name: .long, help: "The SAE folder (SAELens, Gemma Scope 1/2, sparsify) or a SAELens cfg.json.")
        var sae: String

        @OptionGroup var options: NeuronpediaStoreOptions

        @Argument(help: "Neuronpedia files (.json, .jsonl, .jsonl.gz).")
        var files: [String]

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one Neuronpedia file") }
        }

        func run() async throws {
            try NeuronpediaRun.importFiles(files, database: databaseOptions.db, sae: sae, options: options.importOptions)
        }
    }
}
