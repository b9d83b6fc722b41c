import Analysis
import Foundation
import ModelFormats
import Store
import Tensor
import TextEmbedding

/// Sentence embeddings through the database's `text_embeddings` cache: a text already embedded by the same model
/// is read back instead of recomputed, and new embeddings are stored chunk by chunk, so an interrupted analysis
/// keeps what it computed. The model is loaded only when some text is missing from the cache.
///
/// The cache's model key is "<directory name>@<16 hex digits>" of SHA-256 over config.json, vocab.txt, the size of
/// model.safetensors and its first and last MiB (cheap, and it changes whenever the weights file does in practice).
///
/// A text without tokens (empty or only whitespace/control characters, e.g. a generation that stopped at once)
/// gets the zero vector: its cosine with anything is 0 and the segmenter treats it as maximally dispersed. It is
/// not cached.
final class EmbeddingCache {
    let store: StoreDatabase
    let modelDirectory: String
    let modelKey: String
    let batchSize: Int
    private var embedder: SentenceEmbedder?

    init(store: StoreDatabase, modelDirectory: String, batchSize: Int = 32) throws {
        self.store = store
        let dir = modelDirectory.hasSuffix("/") ? String(modelDirectory.dropLast()) : modelDirectory
        self.modelDirectory = dir
        self.batchSize = batchSize
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TextEmbeddingError.missingFile(path: dir)
        }
        var digest = SHA256Digest()
        for name in ["config.json", "vocab.txt"] {
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else {
                throw TextEmbeddingError.missingFile(path: dir + "/" + name)
            }
            digest.update(data)
        }
        let weights = dir + "/model.safetensors"
        guard let handle = FileHandle(forReadingAtPath: weights) else { throw TextEmbeddingError.missingFile(path: weights) }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        digest.update(Data("\(size)".utf8))
        try handle.seek(toOffset: 0)
        digest.update(try handle.read(upToCount: 1 << 20) ?? Data())
        try handle.seek(toOffset: size > 1 << 20 ? size - (1 << 20) : 0)
        digest.update(try handle.read(upToCount: 1 << 20) ?? Data())
        modelKey = URL(fileURLWithPath: dir).standardizedFileURL.lastPathComponent + "@" + digest.finalizeHex().prefix(16)
    }

    /// SHA-256 (hex) of the text's UTF-8 bytes: the cache key of a text.
    static func hash(_ text: String) -> String { SHA256Digest.hex(of: Data(text.utf8)) }

    /// Whether the text has nothing for the tokenizer (only whitespace and control characters).
    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.properties.isWhitespace || $0.properties.generalCategory == .control
            || $0.properties.generalCategory == .format || $0.value == 0xFFFD }
    }

    func loadedEmbedder() throws -> SentenceEmbedder {
        if let embedder { return embedder }
        let loaded = try SentenceEmbedder.load(directory: modelDirectory)
        embedder = loaded
        return loaded
    }

    /// What the last `embed` call did.
    private(set) var cachedCount = 0
    private(set) var computedCount = 0

    /// Embeddings of `texts` (duplicates computed once), in order.
    func embed(_ texts: [String], progress: ProgressLine? = nil) throws -> [[Float]] {
        var unique: [String] = [], position: [String: Int] = [:]
        for t in texts where position[t] == nil { position[t] = unique.count; unique.append(t) }
        let hashes = unique.map(Self.hash)
        let cached = try store.embeddings(model: modelKey, textHashes: hashes)
        var vectors = [[Float]?](repeating: nil, count: unique.count)
        var missing: [Int] = [], blank: [Int] = []
        for i in unique.indices {
            if let v = cached[hashes[i]], !v.isEmpty { vectors[i] = v }
            else if Self.isBlank(unique[i]) { blank.append(i) }
            else { missing.append(i) }
        }
        cachedCount = unique.count - missing.count - blank.count
        computedCount = missing.count
        let chunk = 512
        var done = 0
        for start in stride(from: 0, to: missing.count, by: chunk) {
            let part = Array(missing[start..<min(start + chunk, missing.count)])
            let embedder = try loadedEmbedder()
            var keep = part
            var computed: [[Float]] = []
            while true {
                do { computed = try embedder.embed(keep.map { unique[$0] }, batchSize: batchSize); break } catch TextEmbeddingError.emptyText(let index) {
                    blank.append(keep.remove(at: index))  // no tokens after all: zero vector below
                    computedCount -= 1
                }
            }
            var records: [TextEmbeddingRecord] = []
            for (i, v) in zip(keep, computed) {
                vectors[i] = v
                records.append(TextEmbeddingRecord(model: modelKey, textHash: hashes[i], values: v))
            }
            try store.saveEmbeddings(records)
            done += part.count
            progress?.update(done: done, total: missing.count, unit: "texts", extra: "embedding")
        }
        progress?.finish()
        if !blank.isEmpty {
            let dimension = try vectors.first { $0 != nil }??.count ?? loadedEmbedder().dimension
            for i in blank { vectors[i] = [Float](repeating: 0, count: dimension) }
        }
        return texts.map { vectors[position[$0]!]! }
    }
}

/// Options of one analysis run.
struct AnalysisPipelineOptions {
    /// all-MiniLM-L6-v2 directory.
    var embeddingModel: String
    /// Stage penalty (nil: the analysis default).
    var penalty: Double?
    /// Which describer's descriptions to compare with the explanation (nil: chosen automatically, see
    /// `AnalysisPipeline.chooseDescriber`).
    var describer: String?
    /// Worker threads for the analysis and for OpenBLAS.
    var threads: Int
    /// Perplexities of generations under the unsteered model, when a model was given (`PerplexityScorer`).
    var perplexity: PerplexityScorer.Batch?
    var quiet = false
}

/// The headline of an analysis, printed by `semprog analyze` (table or `--json`) and stored as JSON in
/// `sweep_statistics` (name `summary_json`) so the report and later runs can show it without recomputing.
struct AnalysisRunSummary: Codable, Equatable {
    struct Correlation: Codable, Equatable {
        var n: Int
        var rho: Double?
        var pValue: Double?
        var pPermutation: Double?
        var permutationIsExact: Bool?
        var ciLow: Double?
        var ciHigh: Double?
        var confidenceLevel: Double
        var kendallTau: Double?
        var kendallPValue: Double?
        var undefinedReason: String?
        enum CodingKeys: String, CodingKey {
            case n, rho, pValue = "p_value", pPermutation = "p_permutation", permutationIsExact = "permutation_is_exact"
            case ciLow = "ci_low", ciHigh = "ci_high", confidenceLevel = "confidence_level"
            case kendallTau = "kendall_tau", kendallPValue = "kendall_p_value", undefinedReason = "undefined_reason"
        }
        func encode(to encoder: any Encoder) throws {  // nulls kept, so every field is always present
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(n, forKey: .n); try c.encode(rho, forKey: .rho); try c.encode(pValue, forKey: .pValue)
            try c.encode(pPermutation, forKey: .pPermutation); try c.encode(permutationIsExact, forKey: .permutationIsExact)
            try c.encode(ciLow, forKey: .ciLow); try c.encode(ciHigh, forKey: .ciHigh)
            try c.encode(confidenceLevel, forKey: .confidenceLevel); try c.encode(kendallTau, forKey: .kendallTau)
            try c.encode(kendallPValue, forKey: .kendallPValue); try c.encode(undefinedReason, forKey: .undefinedReason)
        }
    }
    struct Skipped: Codable, Equatable {
        var feature: Int
        var reason: String
    }
    struct PenaltyPoint: Codable, Equatable {
        var penalty: Double
        var meanStageCount: Double
        enum CodingKeys: String, CodingKey { case penalty, meanStageCount = "mean_stage_count" }
    }

    var sweep: String
    var featureCount: Int
    var promptCount: Int
    var generationCount: Int
    var degradedShare: Double
    /// RQ1.
    var meanStageCount: Double
    var stagePenalty: Double
    /// How the penalty was chosen: "data-driven: κ × δ̂ = …" or "fixed (--penalty)".
    var stagePenaltyRule: String?
    var penaltySensitivity: [PenaltyPoint]
    /// The headline similarity: description–explanation when the sweep is described, else output–explanation.
    var meanExplanationSimilarity: Double?
    /// "description" or "output": what `meanExplanationSimilarity` compares with the explanation.
    var similarityBasis: String
    var meanSimilarityDescription: Double?
    var meanSimilarityOutput: Double?
    /// RQ2.
    var meanConsistency: Double?
    var meanStageAgreement: Double?
    /// RQ3.
    var sparsityVsRobustness: Correlation
    /// Unit of robustness: "max_activation" or the sweep's magnitude units when no max activation is known.
    var robustnessUnits: String
    var describer: String?
    var embeddingModel: String
    var embeddingsCached: Int
    var embeddingsComputed: Int
    var perplexity: Bool
    var skippedFeatures: [Skipped]
    var notes: [String]

    enum CodingKeys: String, CodingKey {
        case sweep, featureCount = "feature_count", promptCount = "prompt_count", generationCount = "generation_count"
        case degradedShare = "degraded_share", meanStageCount = "mean_stage_count", stagePenalty = "stage_penalty"
        case stagePenaltyRule = "stage_penalty_rule"
        case penaltySensitivity = "penalty_sensitivity", meanExplanationSimilarity = "mean_explanation_similarity"
        case similarityBasis = "similarity_basis", meanSimilarityDescription = "mean_similarity_description"
        case meanSimilarityOutput = "mean_similarity_output", meanConsistency = "mean_consistency"
        case meanStageAgreement = "mean_stage_agreement", sparsityVsRobustness = "sparsity_vs_robustness"
        case robustnessUnits = "robustness_units", describer, embeddingModel = "embedding_model"
        case embeddingsCached = "embeddings_cached", embeddingsComputed = "embeddings_computed", perplexity
        case skippedFeatures = "skipped_features", notes
    }

    func encode(to encoder: any Encoder) throws {  // explicit nulls: every field of the summary is always present
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sweep, forKey: .sweep); try c.encode(featureCount, forKey: .featureCount)
        try c.encode(promptCount, forKey: .promptCount); try c.encode(generationCount, forKey: .generationCount)
        try c.encode(degradedShare, forKey: .degradedShare); try c.encode(meanStageCount, forKey: .meanStageCount)
        try c.encode(stagePenalty, forKey: .stagePenalty); try c.encode(penaltySensitivity, forKey: .penaltySensitivity)
        try c.encode(stagePenaltyRule, forKey: .stagePenaltyRule)
        try c.encode(meanExplanationSimilarity, forKey: .meanExplanationSimilarity)
        try c.encode(similarityBasis, forKey: .similarityBasis)
        try c.encode(meanSimilarityDescription, forKey: .meanSimilarityDescription)
        try c.encode(meanSimilarityOutput, forKey: .meanSimilarityOutput)
        try c.encode(meanConsistency, forKey: .meanConsistency); try c.encode(meanStageAgreement, forKey: .meanStageAgreement)
        try c.encode(sparsityVsRobustness, forKey: .sparsityVsRobustness)
        try c.encode(robustnessUnits, forKey: .robustnessUnits); try c.encode(describer, forKey: .describer)
        try c.encode(embeddingModel, forKey: .embeddingModel); try c.encode(embeddingsCached, forKey: .embeddingsCached)
        try c.encode(embeddingsComputed, forKey: .embeddingsComputed); try c.encode(perplexity, forKey: .perplexity)
        try c.encode(skippedFeatures, forKey: .skippedFeatures); try c.encode(notes, forKey: .notes)
    }

    static func decode(_ json: String) -> AnalysisRunSummary? {
        try? JSONDecoder().decode(AnalysisRunSummary.self, from: Data(json.utf8))
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Errors of the database → analysis glue; each names the sweep and what to run or fix.
enum PipelineError: Error, LocalizedError {
    case noGenerations(sweep: String)
    case missingBaselines(sweep: String, prompts: [String])
    case tooFewFeatures(sweep: String, withOutputs: Int, withDensity: Int)
    case unknownDescriber(sweep: String, describer: String, available: [String])
    case notAnalysed(sweep: String, database: String)

    var errorDescription: String? {
        switch self {
        case let .noGenerations(sweep):
            "sweep '\(sweep)' has no generations: run 'semprog sweep' or 'semprog import' first"
        case let .missingBaselines(sweep, prompts):
            "sweep '\(sweep)': \(prompts.count) prompt(s) have no baseline (unsteered) output: "
                + prompts.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (prompts.count > 5 ? ", …" : "")
                + "; the analysis compares every steered output with its prompt's baseline (import a 'baseline' column or rerun 'semprog sweep')"
        case let .tooFewFeatures(sweep, withOutputs, withDensity):
            "sweep '\(sweep)' has \(withOutputs) feature(s) with outputs, \(withDensity) of them with a fraction_nonzero (sparsity): "
                + "RQ3 correlates features and needs at least 3"
        case let .unknownDescriber(sweep, describer, available):
            "sweep '\(sweep)' has no descriptions by '\(describer)' (" + (available.isEmpty ? "it is not described at all"
                : "it has: " + available.joined(separator: ", ")) + "); run 'semprog describe --describer \(describer)' first"
        case let .notAnalysed(sweep, database):
            "sweep '\(sweep)' has not been analysed yet: run 'semprog analyze --db \(database) --sweep \(sweep)' first"
        }
    }
}

/// Database → `SweepAnalysisInput` → `SweepAnalysis` → analysis tables: what `semprog analyze` runs.
///
/// Choices (documented here and in `semprog analyze --help`):
/// - Robustness is in units of the feature's max activation. A sweep made in max-activation units already is
///   (max activation 1); for other units the feature's `max_activation` divides the magnitudes; a feature without
///   one is left out of RQ3 (listed) and its robustness is kept in the sweep's units.
/// - Sparsity is log10(fraction_nonzero); a feature without a positive fraction is left out of RQ3 (listed).
/// - The explanation is the feature's preferred one; a feature without explanation is left out of the similarity
///   summary (listed), not fatal.
/// - A sweep that is not described is analysed with output–explanation cosines only (the headline similarity
///   then says basis "output"); described sweeps use description–explanation cosines as the study did.
/// - Stage labels are the top contrastive terms (log-odds with an informative Dirichlet prior) of the stage's
///   outputs against the prompt's baseline.
struct AnalysisPipeline {
    let store: StoreDatabase
    let databasePath: String
    let options: AnalysisPipelineOptions

    /// Describers in order of preference when `--describer` is not given: imported descriptions (made by the
    /// study's own describer elsewhere), an LLM, the local model, then the offline contrastive one.
    static let describerPreference = ["import", "llm", "local", "contrastive"]

    static func chooseDescriber(available: [String]) -> String? {
        for name in describerPreference where available.contains(name) { return name }
        return available.sorted().first
    }

    /// Sweep units that are already multiples of the feature's max activation.
    static func isRelative(units: String) -> Bool {
        ["max-activation", "max_activation", "max_activations", "maxactivation"].contains(units.lowercased())
    }

    func run(sweepName: String?, log: (String) -> Void) throws -> AnalysisRunSummary {
        let contents = try store.sweepContents(sweepName)
        let sweep = contents.sweep
        guard !contents.generations.isEmpty else { throw PipelineError.noGenerations(sweep: sweep.name) }
        var notes: [String] = []

        // Prompts and baselines.
        let baselineText = Dictionary(contents.baselines.map { ($0.promptId, $0.text) }, uniquingKeysWith: { a, _ in a })
        var promptOrder: [Int64] = []
        var seenPrompts = Set<Int64>()
        for g in contents.generations where seenPrompts.insert(g.promptId).inserted { promptOrder.append(g.promptId) }
        promptOrder.sort()
        let missing = promptOrder.filter { baselineText[$0] == nil }
        guard missing.isEmpty else {
            throw PipelineError.missingBaselines(sweep: sweep.name, prompts: missing.map { Self.preview(contents.prompts[$0] ?? "#\($0)") })
        }

        // Features.
        var featureOrder: [Int] = []
        var seenFeatures = Set<Int>()
        for g in contents.generations where seenFeatures.insert(g.featureIndex).inserted { featureOrder.append(g.featureIndex) }
        featureOrder.sort()
        let relative = Self.isRelative(units: sweep.units)
        let anyMaxActivation = featureOrder.contains { (contents.features[$0]?.maxActivation ?? 0) > 0 }
        let robustnessUnits = relative || anyMaxActivation ? "max_activation" : "sweep magnitude units (\(sweep.units))"
        var extraSkipped: [AnalysisRunSummary.Skipped] = []
        var featureInputs: [FeatureInput] = []
        var explanationTexts: [Int: String] = [:]
        for index in featureOrder {
            let record = contents.features[index]
            var maxActivation = 1.0
            var density = record?.fractionNonzero.flatMap { $0 > 0 && $0 <= 1 ? log10($0) : nil }
            if !relative && anyMaxActivation {
                if let m = record?.maxActivation, m > 0, m.isFinite { maxActivation = m }
                else if density != nil {
                    density = nil
                    extraSkipped.append(.init(feature: index, reason: "no max_activation: robustness not in max-activation units; left out of RQ3"))
                }
            }
            if let f = record?.fractionNonzero, !(f > 0 && f <= 1) {
                extraSkipped.append(.init(feature: index, reason: "fraction_nonzero \(f) is not in (0, 1]: left out of RQ3"))
            }
            let text = contents.explanations[index]?.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if let text, !text.isEmpty { explanationTexts[index] = text }
            featureInputs.append(FeatureInput(featureID: String(index), maxActivation: maxActivation, log10Density: density,
                                              explanation: explanationTexts[index], explanationEmbedding: nil))
        }
        let withDensity = featureInputs.count { $0.log10Density != nil }
        guard featureOrder.count >= 3, withDensity >= 3 else {
            throw PipelineError.tooFewFeatures(sweep: sweep.name, withOutputs: featureOrder.count, withDensity: withDensity)
        }

        // Descriptions.
        let allDescriptions = try store.latestDescriptions(sweepId: sweep.id!)
        let describer: String?
        if let wanted = options.describer {
            guard allDescriptions[wanted] != nil else {
                throw PipelineError.unknownDescriber(sweep: sweep.name, describer: wanted, available: allDescriptions.keys.sorted())
            }
            describer = wanted
        } else {
            describer = Self.chooseDescriber(available: Array(allDescriptions.keys))
        }
        let descriptions = describer.flatMap { allDescriptions[$0] } ?? [:]
        if describer == nil {
            notes.append("sweep not described: similarity to the explanation uses the outputs only (run 'semprog describe' for description similarity)")
        } else if descriptions.count < contents.generations.count {
            notes.append("\(contents.generations.count - descriptions.count) generation(s) have no '\(describer!)' description")
        }

        // Embeddings (cached).
        BLAS.setThreads(options.threads)
        let cache = try EmbeddingCache(store: store, modelDirectory: options.embeddingModel)
        let baselineList = promptOrder.map { baselineText[$0]! }
        let outputs = contents.generations.map(\.text)
        let describedTexts = contents.generations.compactMap { descriptions[$0.id!]?.text }
        let explanationList = featureOrder.compactMap { explanationTexts[$0] }
        let progress = ProgressLine("analyze", quiet: options.quiet)
        let vectors = try cache.embed(baselineList + outputs + describedTexts + explanationList, progress: progress)
        var cursor = 0
        func take(_ n: Int) -> ArraySlice<[Float]> { defer { cursor += n }; return vectors[cursor..<(cursor + n)] }
        let baselineVectors = Array(take(baselineList.count))
        let outputVectors = Array(take(outputs.count))
        var descriptionVectors = Array(take(describedTexts.count)).makeIterator()
        var explanationVectors = Array(take(explanationList.count)).makeIterator()
        for i in featureInputs.indices where explanationTexts[featureOrder[i]] != nil {
            featureInputs[i].explanationEmbedding = explanationVectors.next()!
        }

        // Perplexity (optional).
        var perplexities = [Double?](repeating: nil, count: contents.generations.count)
        if let perplexity = options.perplexity {
            let line = ProgressLine("perplexity", quiet: options.quiet)
            let sweepChatTemplate = (try? JSONDecoder().decode(SweepSettings.self, from: Data(sweep.settingsJSON.utf8)))?.extra["chat_template"]
            let requests = contents.generations.map {
                PerplexityRequest(prompt: contents.prompts[$0.promptId] ?? "", chat: sweep.chat, chatTemplate: sweepChatTemplate,
                                  tokenIDs: $0.tokens.map { $0.map(Int.init) }, text: $0.text)
            }
            perplexities = try perplexity(requests) { line.update(done: $0, total: requests.count, unit: "texts") }
            line.finish()
        }

        var generationInputs: [GenerationInput] = []
        generationInputs.reserveCapacity(contents.generations.count)
        for (i, g) in contents.generations.enumerated() {
            let description = descriptions[g.id!] != nil ? descriptionVectors.next()! : nil
            generationInputs.append(GenerationInput(featureID: String(g.featureIndex), promptID: String(g.promptId),
                                                    magnitude: g.magnitude, text: g.text, embedding: outputVectors[i],
                                                    descriptionEmbedding: description, perplexity: perplexities[i],
                                                    tokenIDs: g.tokens.map { $0.map(Int.init) }))
        }
        var settings = AnalysisSettings()
        if let penalty = options.penalty { settings.stagePenalty = penalty }
        let input = SweepAnalysisInput(
            features: featureInputs,
            prompts: zip(promptOrder, zip(baselineList, baselineVectors)).map { PromptBaseline(promptID: String($0.0), text: $0.1.0, embedding: $0.1.1) },
            generations: generationInputs, settings: settings)
        log("analysing \(generationInputs.count) generations (\(featureOrder.count) features × \(promptOrder.count) prompts) on \(options.threads) thread(s)")
        let result: Analysis.SweepAnalysis
        do { result = try Analysis.SweepAnalysis.analyze(input, threads: options.threads) } catch AnalysisError.tooFewFeatures {
            throw PipelineError.tooFewFeatures(sweep: sweep.name, withOutputs: featureOrder.count, withDensity: withDensity)
        }

        // Records.
        let sweepId = sweep.id!
        var records = Store.SweepAnalysis()
        for (g, analysis) in zip(contents.generations, result.generations) {
            let m = analysis.metrics
            records.metrics.append(GenerationMetricsRecord(
                generationId: g.id!, distinct1: m.distinct1, distinct2: m.distinct2, distinct3: m.distinct3,
                repeatedNgramShare: m.longestRepeatShare, compressionRatio: m.compressionRatio, nonwordShare: m.nonWordShare,
                perplexity: m.perplexity, degradationScore: analysis.degradationScore, degraded: analysis.degraded))
            records.similarities.append(SimilarityRecord(generationId: g.id!, descriptionCosine: analysis.explanationCosineDescription,
                                                         outputCosine: analysis.explanationCosineOutput))
        }
        let baselineByPrompt = Dictionary(uniqueKeysWithValues: zip(promptOrder.map(String.init), baselineList))
        let baselineVectorByPrompt = Dictionary(uniqueKeysWithValues: zip(promptOrder.map(String.init), baselineVectors))
        for t in result.trajectories {
            let feature = Int(t.featureID)!, prompt = Int64(t.promptID)!
            records.onsets.append(OnsetRecord(sweepId: sweepId, featureIndex: feature, promptId: prompt,
                                              onsetMagnitude: t.onset?.magnitude, robustness: t.robustnessInMaxActivations))
            for stage in t.stages {
                let members = stage.memberIndices.map { t.generationIndices[$0] }
                // Label and example from the stage's fluent outputs only (a stage may hold an isolated degraded
                // output before the onset); a stage of degraded outputs only says so.
                let fluent = members.filter { !result.generations[$0].degraded }
                let texts = fluent.map { contents.generations[$0].text }
                let label: String, example: String
                if texts.isEmpty {
                    label = "(degraded outputs only)"
                    example = ""
                } else {
                    let closeness = StageLabel.meanCosine(fluent.map { outputVectors[$0] }, baselineVectorByPrompt[t.promptID] ?? [])
                    label = StageLabel.label(stageTexts: texts, baseline: baselineByPrompt[t.promptID] ?? "",
                                             baselineCosine: closeness)
                    example = texts[texts.count / 2]
                }
                records.stages.append(StageRecord(sweepId: sweepId, featureIndex: feature, promptId: prompt, stageIndex: stage.index,
                                                  startMagnitude: stage.magnitudeLow, endMagnitude: stage.magnitudeHigh,
                                                  label: label, exampleText: example))
            }
        }
        let useDescriptions = describer != nil
        let inputByID = Dictionary(uniqueKeysWithValues: featureInputs.map { ($0.featureID, $0) })
        for f in result.features {
            let index = Int(f.featureID)!
            let similarity = useDescriptions ? (f.similarityDescription ?? f.similarityOutput) : f.similarityOutput
            let density = contents.features[index]?.fractionNonzero.flatMap { $0 > 0 && $0 <= 1 ? log10($0) : nil }
            records.featureSummaries.append(FeatureSummaryRecord(
                sweepId: sweepId, featureIndex: index, stageCount: f.stageCount,
                robustness: f.robustnessInMaxActivations, log10Density: density,
                simMean: similarity?.mean, simMax: similarity?.maximum, simPeakMagnitude: similarity?.peakMagnitude,
                stageAgreementAri: f.stageAgreement, explanation: inputByID[f.featureID]?.explanation))
            for c in f.consistency {
                records.consistency.append(ConsistencyRecord(sweepId: sweepId, featureIndex: Int(f.featureID)!, magnitude: c.magnitude,
                                                             meanPairwiseCosine: c.meanPairwiseCosine,
                                                             baselineCosine: c.baselineMeanPairwiseCosine, adjusted: c.consistency))
            }
        }
        records.penaltySensitivity = result.penaltySensitivity.map {
            PenaltySensitivityRecord(sweepId: sweepId, penalty: $0.penalty, meanStageCount: $0.meanStageCount)
        }

        let h = result.headline
        let c = h.sparsityVsRobustness
        var skipped = extraSkipped
        for s in result.skippedFeatures { skipped.append(.init(feature: Int(s.featureID) ?? -1, reason: s.reason)) }
        skipped.sort { ($0.feature, $0.reason) < ($1.feature, $1.reason) }
        let headlineSimilarity = useDescriptions ? (h.meanSimilarityDescription ?? h.meanSimilarityOutput) : h.meanSimilarityOutput
        let summary = AnalysisRunSummary(
            sweep: sweep.name, featureCount: h.featureCount, promptCount: h.promptCount, generationCount: h.generationCount,
            degradedShare: h.degradedShare, meanStageCount: h.meanStageCount, stagePenalty: result.penaltySelection.penalty,
            stagePenaltyRule: Self.penaltyRule(result.penaltySelection),
            penaltySensitivity: result.penaltySensitivity.map { .init(penalty: $0.penalty, meanStageCount: $0.meanStageCount) },
            meanExplanationSimilarity: headlineSimilarity,
            similarityBasis: useDescriptions && h.meanSimilarityDescription != nil ? "description" : "output",
            meanSimilarityDescription: h.meanSimilarityDescription, meanSimilarityOutput: h.meanSimilarityOutput,
            meanConsistency: h.meanConsistency, meanStageAgreement: h.meanStageAgreement,
            sparsityVsRobustness: .init(n: c.n, rho: c.rho, pValue: c.pValue, pPermutation: c.pPermutation,
                                        permutationIsExact: c.permutationIsExact, ciLow: c.ciLow, ciHigh: c.ciHigh,
                                        confidenceLevel: c.confidenceLevel, kendallTau: c.kendallTau,
                                        kendallPValue: c.kendallPValue, undefinedReason: c.undefinedReason),
            robustnessUnits: robustnessUnits, describer: describer, embeddingModel: cache.modelKey,
            embeddingsCached: cache.cachedCount, embeddingsComputed: cache.computedCount,
            perplexity: options.perplexity != nil, skippedFeatures: skipped, notes: notes)

        func stat(_ name: String, _ value: Double?, _ detail: String? = nil) {
            records.statistics.append(SweepStatisticRecord(sweepId: sweepId, name: name, value: value?.isFinite == true ? value : nil,
                                                           detail: detail))
        }
        stat("feature_count", Double(h.featureCount)); stat("prompt_count", Double(h.promptCount))
        stat("generation_count", Double(h.generationCount)); stat("degraded_share", h.degradedShare)
        stat("mean_stage_count", h.meanStageCount, "RQ1: mean over features of the median stage count over prompts")
        stat("stage_penalty", result.penaltySelection.penalty, Self.penaltyRule(result.penaltySelection))
        stat("stage_penalty_noise_estimate", result.penaltySelection.noiseEstimate,
             "median over adjacent fluent outputs of (1 − cos)/2 (\(result.penaltySelection.pairCount) pairs)")
        stat("mean_explanation_similarity", headlineSimilarity, summary.similarityBasis)
        stat("mean_similarity_description", h.meanSimilarityDescription, describer)
        stat("mean_similarity_output", h.meanSimilarityOutput)
        stat("baseline_mean_pairwise_cosine", h.baselineMeanPairwiseCosine)
        stat("mean_consistency", h.meanConsistency, "RQ2: mean pairwise cosine across prompts minus the same at baseline")
        stat("mean_stage_agreement", h.meanStageAgreement, "RQ2: mean pairwise adjusted Rand index of stage labelings")
        stat("rq3_n", Double(c.n)); stat("rq3_rho", c.rho, c.undefinedReason); stat("rq3_p_value", c.pValue)
        stat("rq3_p_permutation", c.pPermutation, c.permutationIsExact.map { $0 ? "exact" : "seeded Monte Carlo" })
        stat("rq3_ci_low", c.ciLow, "bootstrap percentile, level \(c.confidenceLevel), \(c.bootstrapResamples) resamples")
        stat("rq3_ci_high", c.ciHigh); stat("rq3_kendall_tau", c.kendallTau); stat("rq3_kendall_p_value", c.kendallPValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        stat("analysis_settings", nil, String(decoding: try encoder.encode(settings), as: UTF8.self))
        stat("summary_json", nil, summary.json)
        try store.replaceAnalysis(sweepId: sweepId, records)
        return summary
    }

    /// One line saying how the stage penalty was chosen.
    static func penaltyRule(_ s: Analysis.PenaltySelection) -> String {
        guard s.dataDriven else { return "fixed (--penalty)" }
        guard let d = s.noiseEstimate else { return String(format: "data-driven: no neighbouring outputs differ; minimum %.3f", s.penalty) }
        return String(format: "data-driven: κ %.2g × within-stage noise δ̂ %.4f (median of (1 − cos)/2 over %d adjacent fluent pairs)",
                      s.multiplier, d, s.pairCount)
    }

    static func preview(_ text: String, limit: Int = 40) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}

/// Stage labels: "(like the baseline)" when the stage's outputs are close to the prompt's baseline by embedding
/// (mean cosine ≥ `baselineCosineThreshold`); otherwise the terms most over-represented in the stage's outputs
/// relative to the baseline, by the describers' `contrastiveTerms` (log-odds ratio with an informative Dirichlet
/// prior, Monroe, Colaresi & Quinn 2008), stopwords left out: the `count` terms with the largest positive z, or
/// "(no distinctive terms)" when none stands out although the outputs differ from the baseline.
enum StageLabel {
    /// all-MiniLM-L6-v2 cosine above which an output reads as the baseline (near-paraphrases score ≈ 0.85–1;
    /// outputs on the same topic but saying something else, ≈ 0.5–0.8).
    static let baselineCosineThreshold = 0.85

    /// Mean cosine of `vectors` with `baseline` (0 when either is empty or zero).
    static func meanCosine(_ vectors: [[Float]], _ baseline: [Float]) -> Double {
        guard !vectors.isEmpty, !baseline.isEmpty else { return 0 }
        return vectors.reduce(0) { $0 + cosineSimilarity($1, baseline) } / Double(vectors.count)
    }

    static func label(stageTexts: [String], baseline: String, baselineCosine: Double, count: Int = 3) -> String {
        if baselineCosine >= baselineCosineThreshold { return "(like the baseline)" }
        let terms = contrastiveTerms(target: stageTexts, reference: [baseline], excludingStopwords: true)
        let top = terms.filter { $0.z > 0 }.prefix(count).map(\.term)
        return top.isEmpty ? "(no distinctive terms)" : top.joined(separator: ", ")
    }
}
