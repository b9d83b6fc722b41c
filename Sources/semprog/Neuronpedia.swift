import ArgumentParser
import Foundation
import Store
import Study
import Sweep

extension Semprog {
    /// `semprog neuronpedia import|fetch`: Neuronpedia explanations, density and max activation for an SAE.
    struct Neuronpedia: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "neuronpedia",
            abstract: "Import or fetch Neuronpedia explanations, density and max activation for an SAE's features",
            subcommands: [NeuronpediaImport.self, NeuronpediaFetch.self])
    }
}

/// Options shared by `neuronpedia import` and `fetch`.
struct NeuronpediaStoreOptions: ParsableArguments {
    /// How the analysis's preferred explanation is chosen; see Sources/Store/Neuronpedia.swift.
    @Option(name: .long, help: ArgumentHelp(
        "Which explanation becomes the preferred one the analysis uses: first (Neuronpedia's first, default), "
            + "type:NAME (first with that typeName), model:NAME (first with that explanationModelName), "
            + "or keep (leave an existing preferred explanation).",
        valueName: "first|type:NAME|model:NAME|keep"))
    var prefer: String = "first"

    @Flag(name: .long, help: "Import even when modelId/layer does not match the SAE's neuronpedia_id.")
    var force = false

    var preference: ExplanationPreference {
        get throws {
            guard let p = ExplanationPreference(argument: prefer) else {
                throw ValidationError("--prefer must be first, keep, type:NAME or model:NAME, not '\(prefer)'")
            }
            return p
        }
    }
}

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
        var db: String { databaseOptions.db }

        @Option(name: .long, help: "The SAE folder (SAELens, Gemma Scope 1/2, sparsify) or a SAELens cfg.json.")
        var sae: String

        @OptionGroup var options: NeuronpediaStoreOptions

        @Argument(help: "Neuronpedia files (.json, .jsonl, .jsonl.gz).")
        var files: [String]

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one Neuronpedia file") }
            _ = try options.preference
        }

        func run() async throws {
            let descriptor = try SAEDescriptor.read(anySAEFolder: sae)
            let store = try StoreDatabase(path: db)
            let summary = try store.importNeuronpedia(files: files, sae: descriptor, force: options.force,
                                                      preference: try options.preference)
            Terminal.error("imported \(summary.records) Neuronpedia records: \(summary.features) features, "
                + "\(summary.explanationsAdded) new explanations (preferred: \(try options.preference)) for SAE \(descriptor.path)")
        }
    }

    /// `semprog neuronpedia fetch --db F --model-id ID --source SOURCE --features LIST [--base-url URL]`
    struct NeuronpediaFetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fetch",
            abstract: "Fetch feature JSON from Neuronpedia's API (cached in the database), optionally importing it",
            discussion: """
                Responses are cached in the database, so a second run works offline. With --sae the fetched \
                features are imported as by 'semprog neuronpedia import'; with --out each is also written as \
                OUT/INDEX.json.
                """)

        @OptionGroup var databaseOptions: DatabaseOptions
        var db: String { databaseOptions.db }

        @Option(name: .customLong("model-id"), help: "Neuronpedia model id, e.g. gpt2-small.")
        var modelId: String

        @Option(name: .long, help: "Neuronpedia source (layer) id, e.g. 8-res-jb.")
        var source: String

        @Option(name: .long, help: "Feature indices, e.g. 0,5,10-20.")
        var features: String

        @Option(name: .customLong("base-url"), help: "API base URL.")
        var baseURL: String = NeuronpediaFetcher.defaultBaseURL.absoluteString

        @Option(name: .long, help: "Import the fetched features against this SAE (any format's folder, or a cfg.json).")
        var sae: String?

        @Option(name: .long, help: "Also write each feature's JSON into this folder.")
        var out: String?

        @Option(name: .customLong("rate-limit"), help: "Maximum requests per second.")
        var rateLimit: Double = 2

        @Option(name: .long, help: "Retries per feature after a failed request (transport error, HTTP 429 or 5xx).")
        var retries: Int = 3

        @Option(name: .customLong("retry-delay"), help: "Base delay of the exponential backoff between retries (seconds).")
        var retryDelay: Double = 1

        @Option(name: .long, help: "Per-request timeout (seconds).")
        var timeout: Double = 30

        @Flag(name: .long, help: "Ignore cached responses and fetch again.")
        var refresh = false

        @OptionGroup var options: NeuronpediaStoreOptions

        func validate() throws {
            guard let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--base-url must be an http(s) URL, not '\(baseURL)'")
            }
            guard rateLimit > 0 else { throw ValidationError("--rate-limit must be positive") }
            guard retries >= 0 else { throw ValidationError("--retries must be ≥ 0") }
            guard retryDelay >= 0, timeout > 0 else { throw ValidationError("--retry-delay must be ≥ 0 and --timeout positive") }
            do { _ = try NeuronpediaFetcher.parseIndices(features) } catch { throw ValidationError(error.localizedDescription) }
            _ = try options.preference
        }

        func run() async throws {
            let indices = try NeuronpediaFetcher.parseIndices(features)
            let descriptor = try sae.map { try SAEDescriptor.read(anySAEFolder: $0) }
            if let descriptor, let bad = indices.first(where: { $0 >= descriptor.dSAE }) {
                throw CLIError.invalidArgument("--features: index \(bad) is beyond the SAE's size (d_sae = \(descriptor.dSAE))")
            }
            let store = try StoreDatabase(path: db)
            let fetcher = NeuronpediaFetcher(baseURL: URL(string: baseURL)!, requestsPerSecond: rateLimit, retries: retries,
                                             retryDelay: retryDelay, timeout: timeout, refresh: refresh)
            let progress = ProgressLine("neuronpedia fetch")
            let (fetched, records) = try await fetcher.fetch(modelId: modelId, source: source, indices: indices, store: store) { done, total in
                progress.update(done: done, total: total, unit: "features")
            }
            progress.finish()
            if let out {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                for f in fetched { try f.body.write(to: URL(fileURLWithPath: out).appendingPathComponent("\(f.index).json")) }
            }
            let cached = fetched.filter(\.fromCache).count
            var message = "fetched \(fetched.count) features (\(fetched.count - cached) over HTTP, \(cached) from the cache)"
            if let descriptor {
                let summary = try store.importNeuronpedia(records: records, sae: descriptor, force: options.force,
                                                          preference: try options.preference)
                message += "; imported \(summary.features) features, \(summary.explanationsAdded) new explanations"
            }
            Terminal.error(message)
        }
    }
}
