import Foundation
import ModelFormats
import Store

/// Describes the generations of a sweep that have no description under the engine's cache key yet.
public struct DescribeRun {
    public let store: StoreDatabase
    public let engine: DescriptionEngine
    public var quiet = false

    public init(store: StoreDatabase, engine: DescriptionEngine, quiet: Bool = false) {
        self.store = store
        self.engine = engine
        self.quiet = quiet
    }

    public struct Counts {
        public var sweep: String
        public var total: Int
        /// Generations that got a description in this run (computed or reused).
        public var new: Int
        /// Distinct (baseline, output) pairs sent to the describer.
        public var calls: Int
        /// Generations whose description was found under the same key in another generation or sweep.
        public var reused: Int
        /// Generations that already had one.
        public var already: Int
    }

    /// The cache key of a (baseline, output) pair for `identity`: SHA-256 hex of identity ␟ baseline ␟ output.
    public static func cacheKey(identity: String, baseline: String, steered: String) -> String {
        SHA256Digest.hex(of: Data((identity + "\u{1F}" + baseline + "\u{1F}" + steered).utf8))
    }

    /// A stored description: trimmed, never empty.
    public static func clean(_ text: String) -> String {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.isEmpty ? "(no description)" : t
    }

    public func run(sweepName: String?) async throws -> Counts {
        let contents = try store.sweepContents(sweepName)
        let sweep = contents.sweep
        let baselineText = try contents.checkedBaselineTexts()
        let keys = contents.generations.map {
            Self.cacheKey(identity: engine.identity, baseline: baselineText[$0.promptId]!, steered: $0.text)
        }
        let done = try store.describedKeys(sweepId: sweep.id!, describer: engine.name)
        let todo = contents.generations.indices.filter { !done.contains(DescribedKey(generationId: contents.generations[$0].id!, cacheKey: keys[$0])) }
        var counts = Counts(sweep: sweep.name, total: contents.generations.count, new: 0, calls: 0, reused: 0,
                            already: contents.generations.count - todo.count)
        guard !todo.isEmpty else { return counts }

        // Generations waiting for each key, keys in order of first appearance.
        var waiting: [String: [Int64]] = [:]
        var order: [String] = []
        var pairOf: [String: DescriptionPair] = [:]
        for i in todo {
            let g = contents.generations[i], key = keys[i]
            if waiting[key] == nil { order.append(key); pairOf[key] = DescriptionPair(baseline: baselineText[g.promptId]!, steered: g.text) }
            waiting[key, default: []].append(g.id!)
        }
        // Pairs described before (any sweep) are reused.
        let known = try store.descriptionTexts(describer: engine.name, cacheKeys: order)
        var reused: [DescriptionRecord] = []
        for key in order { if let text = known[key] { for id in waiting[key]! { reused.append(DescriptionRecord(generationId: id, describer: engine.name, cacheKey: key, text: text)) } } }
        try store.saveDescriptions(reused)
        counts.reused = reused.count
        counts.new += reused.count
        let remaining = order.filter { known[$0] == nil }

        let progress = ProgressLine("describe", quiet: quiet)
        for start in stride(from: 0, to: remaining.count, by: engine.batchSize) {
            let chunk = Array(remaining[start..<min(start + engine.batchSize, remaining.count)])
            let texts = try await engine.describe(chunk.map { pairOf[$0]! })
            var records: [DescriptionRecord] = []
            for (key, text) in zip(chunk, texts) {
                for id in waiting[key]! { records.append(DescriptionRecord(generationId: id, describer: engine.name, cacheKey: key, text: Self.clean(text))) }
            }
            try store.saveDescriptions(records)  // one transaction per chunk: an interrupted run keeps its work
            counts.calls += chunk.count
            counts.new += records.count
            progress.update(done: start + chunk.count, total: remaining.count, unit: "pairs")
        }
        progress.finish()
        return counts
    }
}
