import Foundation
import Store
import Sweep

/// What `semprog neuronpedia import` and `fetch` run: Neuronpedia's explanations, density and max activation of an
/// SAE's features into the database (`StoreDatabase.importNeuronpedia`), from files or from the API (responses
/// cached in the database, `NeuronpediaFetcher`). Each prints one summary line on the diagnostic stream.
public enum NeuronpediaRun {
    /// How imported records are stored: the analysis's preferred explanation, and whether modelId/layer may
    /// differ from the SAE's neuronpedia_id.
    public struct ImportOptions: Sendable {
        public var preference: ExplanationPreference
        public var force: Bool

        public init(preference: ExplanationPreference, force: Bool) {
            self.preference = preference
            self.force = force
        }
    }

    /// Imports Neuronpedia files (feature JSON, JSONL bulk exports, gzipped or not) against the SAE folder `sae`,
    /// in one transaction.
    public static func importFiles(_ files: [String], database: String, sae: String, options: ImportOptions,
                                   console: StudyConsole = .standard) throws {
        let descriptor = try SAEDescriptor.read(anySAEFolder: sae)
        let store = try StoreDatabase(path: database)
        let summary = try store.importNeuronpedia(files: files, sae: descriptor, force: options.force,
                                                  preference: options.preference)
        console.diagnostic("imported \(summary.records) Neuronpedia records: \(summary.features) features, "
            + "\(summary.explanationsAdded) new explanations (preferred: \(options.preference)) for SAE \(descriptor.path)")
    }

    /// `neuronpedia fetch`: which features to fetch, from where, and what to do with them.
    public struct FetchSettings: Sendable {
        public var modelId: String
        public var source: String
        /// Feature indices as written (`0,5,10-20`).
        public var features: String
        public var fetcher: NeuronpediaFetcher
        /// Import the fetched features against this SAE folder (nil: only cache them).
        public var sae: String?
        /// Also write each feature's JSON as `out/INDEX.json`.
        public var out: String?
        public var importOptions: ImportOptions

        public init(modelId: String, source: String, features: String, fetcher: NeuronpediaFetcher, sae: String?,
                    out: String?, importOptions: ImportOptions) {
            self.modelId = modelId; self.source = source; self.features = features; self.fetcher = fetcher
            self.sae = sae; self.out = out; self.importOptions = importOptions
        }
    }

    /// Fetches the features (cached responses reused), writes them into `out`, imports them against `sae`.
    /// An index at or beyond the SAE's d_sae is refused before anything is fetched.
    public static func fetch(_ settings: FetchSettings, database: String, console: StudyConsole = .standard) async throws {
        let indices = try NeuronpediaFetcher.parseIndices(settings.features)
        let descriptor = try settings.sae.map { try SAEDescriptor.read(anySAEFolder: $0) }
        if let descriptor, let bad = indices.first(where: { $0 >= descriptor.dSAE }) {
            throw StudyError.invalidArgument("--features: index \(bad) is beyond the SAE's size (d_sae = \(descriptor.dSAE))")
        }
        let store = try StoreDatabase(path: database)
        let progress = ProgressLine("neuronpedia fetch")
        let (fetched, records) = try await settings.fetcher.fetch(
            modelId: settings.modelId, source: settings.source, indices: indices, store: store) { done, total in
            progress.update(done: done, total: total, unit: "features")
        }
        progress.finish()
        if let out = settings.out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for f in fetched { try f.body.write(to: URL(fileURLWithPath: out).appendingPathComponent("\(f.index).json")) }
        }
        let cached = fetched.filter(\.fromCache).count
        var message = "fetched \(fetched.count) features (\(fetched.count - cached) over HTTP, \(cached) from the cache)"
        if let descriptor {
            let summary = try store.importNeuronpedia(records: records, sae: descriptor, force: settings.importOptions.force,
                                                      preference: settings.importOptions.preference)
            message += "; imported \(summary.features) features, \(summary.explanationsAdded) new explanations"
        }
        console.diagnostic(message)
    }
}
