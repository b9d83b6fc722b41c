import Analysis
import Foundation
import ModelFormats
import Report
import Store
import Units

// `semprog judge`'s work, between the database, the embeddings (`EmbeddingCache`) and the judges (Analysis).

/// Which judge scores the outputs.
public enum SteeringJudgeEngine: Sendable {
    /// The offline proxy (`SteeringScore.proxyRatings`) over MiniLM cosines and the stored analysis.
    case proxy(embeddingModel: String, thresholds: SteeringScore.ProxyThresholds)
    /// AxBench's rubric asked of an OpenAI-compatible endpoint.
    case llm(LLMJudge)

    /// Stored as `steering_scores.judge`.
    public var name: String {
        switch self {
        case .proxy: "proxy"
        case .llm: "llm"
        }
    }
}

/// Scores the generations of a sweep that have no score under the judge's current cache key, stores them, and
/// summarises the sweep (curves, best factors, windows) from the stored scores.
public struct JudgeRun {
    public let store: StoreDatabase
    public let databasePath: String
    public let engine: SteeringJudgeEngine
    public var quiet = false
    /// Notes for the user (stderr by default).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(store: StoreDatabase, databasePath: String, engine: SteeringJudgeEngine, quiet: Bool = false) {
        self.store = store; self.databasePath = databasePath; self.engine = engine; self.quiet = quiet
    }

    public struct Counts: Codable, Sendable {
        public var sweep: String
        public var judge: String
        /// Generations of features with an explanation.
        public var total: Int
        /// Generations scored in this run (judged or reused).
        public var new: Int
        /// Distinct inputs judged in this run (llm: each is 3 rubric prompts).
        public var judged: Int
        /// Generations whose score was found under the same key (another generation or sweep).
        public var reused: Int
        public var already: Int
        /// Features left out (no explanation).
        public var skippedFeatures: [Int]
        enum CodingKeys: String, CodingKey {
            case sweep, judge, total, new, judged, reused, already, skippedFeatures = "skipped_features"
        }
    }

    /// SHA-256 hex of the parts joined by U+001F.
    static func cacheKey(_ parts: [String]) -> String {
        SHA256Digest.hex(of: Data(parts.joined(separator: "\u{1F}").utf8))
    }

    /// Judges what is not judged yet under the current cache key, stores it, and summarises the sweep.
    public func run(sweepName: String?) async throws -> (counts: Counts, summary: SteeringScoreSummary) {
        let contents = try store.sweepContents(sweepName)
        let sweep = contents.sweep
        let baselineText = try contents.checkedBaselineTexts()
        var explanation: [Int: String] = [:]
        for (index, e) in contents.explanations {
            let text = e.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { explanation[index] = text }
        }
        let skipped = Array(Set(contents.generations.map(\.featureIndex).filter { explanation[$0] == nil })).sorted()
        let generations = contents.generations.filter { explanation[$0.featureIndex] != nil }
        guard !generations.isEmpty else { throw StudyError.noExplanations(sweep: sweep.name) }
        if !skipped.isEmpty {
            log("note: \(skipped.count) feature(s) without an explanation are not judged: " + skipped.map(String.init).joined(separator: ", "))
        }

        // Inputs and cache keys.
        let metrics: [Int64: GenerationMetricsRecord]
        let identity: String
        var embeddings: EmbeddingCache?
        switch engine {
        case let .proxy(model, thresholds):
            metrics = try store.storedAnalysis(sweepId: sweep.id!).metrics
            let unanalysed = generations.count { metrics[$0.id!] == nil }
            guard unanalysed == 0 else { throw StudyError.notAnalysedForJudging(sweep: sweep.name, database: databasePath, missing: unanalysed) }
            let cache = try EmbeddingCache(store: store, modelDirectory: model)
            embeddings = cache
            identity = "proxy/\(cache.modelKey)/\(thresholds.summary)/proxy-v1"
        case let .llm(judge):
            metrics = [:]
            identity = judge.identity
        }
        let keys: [String] = generations.map { g in
            let base = [identity, explanation[g.featureIndex]!, g.text]
            switch engine {
            case .proxy:
                // The proxy reads the baseline and the stored analysis: both are part of what it judged.
                let m = metrics[g.id!]!
                return Self.cacheKey(base + [baselineText[g.promptId]!, m.perplexity.map { String($0) } ?? "-", m.degraded ? "1" : "0"])
            case .llm:
                return Self.cacheKey(base + [contents.prompts[g.promptId] ?? ""])
            }
        }
        let stored = try store.steeringScores(sweepId: sweep.id!, judge: engine.name)
        let todo = generations.indices.filter { stored[generations[$0].id!]?.cacheKey != keys[$0] }
        var counts = Counts(sweep: sweep.name, judge: engine.name, total: generations.count, new: 0, judged: 0, reused: 0,
                            already: generations.count - todo.count, skippedFeatures: skipped)

        if !todo.isEmpty {
            var waiting: [String: [Int64]] = [:]
            var order: [String] = []
            var example: [String: Int] = [:]
            for i in todo {
                if waiting[keys[i]] == nil { order.append(keys[i]); example[keys[i]] = i }
                waiting[keys[i], default: []].append(generations[i].id!)
            }
            let known = try store.steeringScores(judge: engine.name, cacheKeys: order)
            func records(_ key: String, _ r: SteeringRatings) -> [SteeringScoreRecord] {
                waiting[key]!.map {
                    SteeringScoreRecord(generationId: $0, judge: engine.name, cacheKey: key, rubricVersion: rubricVersion,
                                        concept: r.concept, instruction: r.instruction, fluency: r.fluency, aggregate: r.aggregate)
                }
            }
            var reused: [SteeringScoreRecord] = []
            for key in order {
                if let k = known[key] {
                    reused += records(key, SteeringRatings(concept: k.concept, instruction: k.instruction, fluency: k.fluency))
                }
            }
            let remaining = order.filter { known[$0] == nil }
            switch engine {
            case let .proxy(_, thresholds):
                // Every score of the run in one transaction (they are cheap to recompute).
                let items = remaining.map { generations[example[$0]!] }
                let texts = items.map(\.text) + items.map { explanation[$0.featureIndex]! } + items.map { baselineText[$0.promptId]! }
                let vectors = try embeddings!.embed(texts, progress: ProgressLine("judge", quiet: quiet))
                var computed: [SteeringScoreRecord] = []
                for (k, key) in remaining.enumerated() {
                    let g = items[k], m = metrics[g.id!]!
                    let output = vectors[k], concept = vectors[items.count + k], baseline = vectors[2 * items.count + k]
                    let ratings = SteeringScore.proxyRatings(
                        conceptCosine: cosineSimilarity(output, concept), instructionCosine: cosineSimilarity(output, baseline),
                        perplexity: m.perplexity, degraded: m.degraded,
                        empty: g.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, thresholds: thresholds)
                    computed += records(key, ratings)
                }
                try store.saveSteeringScores(reused + computed)
                counts.new += computed.count
            case let .llm(judge):
                try store.saveSteeringScores(reused)
                let progress = ProgressLine("judge", quiet: quiet)
                let chunkSize = max(8, judge.settings.maxConcurrentRequests * 2)
                for start in stride(from: 0, to: remaining.count, by: chunkSize) {
                    let chunk = Array(remaining[start..<min(start + chunkSize, remaining.count)])
                    let ratings = try await withThrowingTaskGroup(of: (Int, SteeringRatings).self) { group in
                        for (k, key) in chunk.enumerated() {
                            let g = generations[example[key]!]
                            let concept = explanation[g.featureIndex]!, instruction = contents.prompts[g.promptId] ?? ""
                            group.addTask { (k, try await judge.rate(concept: concept, instruction: instruction, output: g.text)) }
                        }
                        var out = [SteeringRatings?](repeating: nil, count: chunk.count)
                        for try await (k, r) in group { out[k] = r }
                        return out.map { $0! }
                    }
                    var batch: [SteeringScoreRecord] = []
                    for (key, r) in zip(chunk, ratings) { batch += records(key, r) }
                    try store.saveSteeringScores(batch)  // one transaction per chunk: an interrupted run keeps its work
                    counts.new += batch.count
                    progress.update(done: start + chunk.count, total: remaining.count, unit: "outputs")
                }
                progress.finish()
            }
            counts.judged = remaining.count
            counts.reused = reused.count
            counts.new += reused.count
        }
        return (counts, try summary(contents: contents, generations: generations))
    }

    var rubricVersion: String {
        switch engine {
        case .proxy: "proxy-v1"
        case .llm: SteeringRubric.version
        }
    }

    /// The sweep's summary from the stored scores of the judged generations.
    func summary(contents: SweepContents, generations: [GenerationRecord]) throws -> SteeringScoreSummary {
        try Self.summary(store: store, contents: contents, judge: engine.name, generations: generations)
    }

    /// The summary of the scores stored by `judge` for `generations` (the report reads it too).
    static func summary(store: StoreDatabase, contents: SweepContents, judge: String,
                        generations: [GenerationRecord]) throws -> SteeringScoreSummary {
        let scores = try store.steeringScores(sweepId: contents.sweep.id!, judge: judge)
        let unit = AnalysisPipeline.magnitudeUnit(of: contents.sweep)
        var byFeature: [Int: [GenerationRecord]] = [:]
        for g in generations where scores[g.id!] != nil { byFeature[g.featureIndex, default: []].append(g) }
        let inputs = byFeature.keys.sorted().map { index -> FeatureSteeringInput in
            let gs = byFeature[index]!
            let record = contents.features[index]
            let density = record?.fractionNonzero.flatMap { $0 > 0 && $0 <= 1 ? log10($0) : nil }
            let scale = unit.comparisonDivisor(maxActivation: record?.maxActivation)
            let s = gs.map { scores[$0.id!]! }
            let n = Double(s.count)
            return FeatureSteeringInput(
                featureIndex: index, log10Density: density, magnitudeScale: scale,
                outputs: gs.map { SteeringScore.ScoredOutput(promptID: $0.promptId, magnitude: $0.magnitude, score: scores[$0.id!]!.aggregate) },
                meanRatings: SteeringRatings(concept: s.map(\.concept).reduce(0, +) / n, instruction: s.map(\.instruction).reduce(0, +) / n,
                                             fluency: s.map(\.fluency).reduce(0, +) / n))
        }
        return try SteeringScore.summarize(inputs, judge: judge, isProxy: judge == "proxy")
    }
}

extension JudgeRun {
    /// The report's steering-score view of a sweep: the llm judge's scores when there are any, else the proxy's;
    /// (nil, [:]) when the sweep was never judged. Curves are on `magnitudes` (the report's axis).
    public static func reportSteering(store: StoreDatabase, contents: SweepContents,
                               magnitudes: [Double]) throws -> (headline: SteeringScoreHeadline?, curves: [Int: SteeringScoreCurve]) {
        let judges = try store.steeringJudges(sweepId: contents.sweep.id!)
        guard let judge = ["llm", "proxy"].first(where: { (judges[$0] ?? 0) > 0 }) else { return (nil, [:]) }
        let s = try summary(store: store, contents: contents, judge: judge, generations: contents.generations)
        let index = Dictionary(uniqueKeysWithValues: magnitudes.enumerated().map { ($1, $0) })
        var curves: [Int: SteeringScoreCurve] = [:]
        for f in s.features {
            var values = [Double?](repeating: nil, count: magnitudes.count)
            for p in f.curve { if let i = index[p.magnitude] { values[i] = p.meanScore } }
            curves[f.featureIndex] = SteeringScoreCurve(
                values: values, bestMagnitudeIndex: f.bestFactor.flatMap { index[$0.magnitude] }, bestScore: f.bestFactor?.reportScore,
                windowLowIndex: f.window.flatMap { index[$0.lower] }, windowHighIndex: f.window.flatMap { index[$0.upper] })
        }
        let r = s.sparsityVsScoreWindow
        let headline = SteeringScoreHeadline(judge: judge, isProxy: s.isProxy, meanBestScore: s.meanBestScore,
                                             selectionPromptCount: s.selectionPrompts.count, reportPromptCount: s.reportPrompts.count,
                                             windowSpearmanRho: r?.rho, windowPValue: r?.pValue, windowN: r?.n)
        return (headline, curves)
    }
}
