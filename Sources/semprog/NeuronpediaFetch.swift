import ArgumentParser
import Foundation
import Store
import Study

extension Semprog.Neuronpedia {
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
        }

        func run() async throws {
            let fetcher = NeuronpediaFetcher(baseURL: URL(string: baseURL)!, requestsPerSecond: rateLimit, retries: retries,
                                             retryDelay: retryDelay, timeout: timeout, refresh: refresh)
            try await NeuronpediaRun.fetch(.init(modelId: modelId, source: source, features: features, fetcher: fetcher, sae: sae,
                                                 out: out, importOptions: options.importOptions), database: databaseOptions.db)
        }
    }
}
