import Analysis
import Foundation
import Store
import Tensor
import Units

/// Database → `SweepAnalysisInput` → `SweepAnalysis` → analysis tables: what `semprog analyze` runs.
///
/// Choices (documented here and in `semprog analyze --help`):
/// - Robustness is in units of the feature's max activation (`MagnitudeUnit.comparisonDivisor`). A sweep made
///   in max-activation units already is (max activation 1); for absolute activations (and imported sweeps, whose
///   units are read as absolute) the feature's `max_activation` divides the magnitudes, and a feature without
///   one is left out of RQ3 (listed) with its robustness kept in the sweep's units; a scale factor is relative to
///   the feature's own activation already and is kept as is (unit "scale factor").
/// - Sparsity is log10(fraction_nonzero); a feature without a positive fraction is left out of RQ3 (listed).
/// - The explanation is the feature's preferred one; a feature without explanation is left out of the similarity
///   summary (listed), not fatal.
/// - A sweep that is not described is analysed with output–explanation cosines only (the headline similarity
///   then says basis "output"); described sweeps use description–explanation cosines as the study did.
/// - Stage labels are the top contrastive terms (log-odds with an informative Dirichlet prior) of the stage's
///   outputs against the prompt's baseline.
public struct AnalysisPipeline {
    public let store: StoreDatabase
    public let databasePath: String
    public let options: AnalysisPipelineOptions

    public init(store: StoreDatabase, databasePath: String, options: AnalysisPipelineOptions) {
        self.store = store
        self.databasePath = databasePath
        self.options = options
    }

    /// Describers in order of preference when `--describer` is not given: imported descriptions (made by the
    /// study's own describer elsewhere), an LLM, the local model, then the offline contrastive one.
    public static let describerPreference = ["import", "llm", "local", "contrastive"]

    public static func chooseDescriber(available: [String]) -> String? {
        for name in describerPreference where available.contains(name) { return name }
        return available.sorted().first
    }

    /// The unit of a sweep's magnitudes (`sweeps.units` parsed; `imported` and unknown names read as absolute
    /// activations, as they always were).
    public static func magnitudeUnit(of sweep: SweepRecord) -> MagnitudeUnit { magnitudeUnit(units: sweep.units) }

    /// The unit of a stored `sweeps.units` text (see `magnitudeUnit(of:)`).
    public static func magnitudeUnit(units: String) -> MagnitudeUnit { MagnitudeUnit(parsing: units) ?? .absolute }

    /// How robustness is made comparable across features: whether each feature's max activation divides the
    /// magnitudes (absolute units, when any feature has one), and the unit stored in `robustness_units`
    /// ("max_activation", "scale factor", or the sweep's units when no max activation is known).
    static func robustnessBasis(unit: MagnitudeUnit, sweepUnits: String, anyMaxActivation: Bool)
        -> (dividesByMaxActivation: Bool, units: String) {
        switch unit {
        case .maxActivation: return (false, "max_activation")
        case .factor: return (false, unit.comparisonLabel)
        case .absolute: return (anyMaxActivation, anyMaxActivation ? "max_activation" : "sweep magnitude units (\(sweepUnits))")
        }
    }

    public func run(sweepName: String?, log: (String) -> Void) throws -> AnalysisRunSummary {
        let contents = try store.sweepContents(sweepName)
        let sweep = contents.sweep
        guard !contents.generations.isEmpty else { throw StudyError.noGenerations(sweep: sweep.name) }
        var notes: [String] = []

        // Prompts and baselines.
        let baselineText = Dictionary(contents.baselines.map { ($0.promptId, $0.text) }, uniquingKeysWith: { a, _ in a })
        var promptOrder: [Int64] = []
        var seenPrompts = Set<Int64>()
        for g in contents.generations where seenPrompts.insert(g.promptId).inserted { promptOrder.append(g.promptId) }
        promptOrder.sort()
        let missing = promptOrder.filter { baselineText[$0] == nil }
        guard missing.isEmpty else {
            throw StudyError.missingBaselines(sweep: sweep.name, prompts: missing.map { Self.preview(contents.prompts[$0] ?? "#\($0)") })
        }

        // Features.
        var featureOrder: [Int] = []
        var seenFeatures = Set<Int>()
        for g in contents.generations where seenFeatures.insert(g.featureIndex).inserted { featureOrder.append(g.featureIndex) }
        featureOrder.sort()
        let anyMaxActivation = featureOrder.contains { (contents.features[$0]?.maxActivation ?? 0) > 0 }
        let (dividesByMaxActivation, robustnessUnits) = Self.robustnessBasis(
            unit: Self.magnitudeUnit(of: sweep), sweepUnits: sweep.units, anyMaxActivation: anyMaxActivation)
        var extraSkipped: [AnalysisRunSummary.Skipped] = []
        var featureInputs: [FeatureInput] = []
        var explanationTexts: [Int: String] = [:]
        for index in featureOrder {
            let record = contents.features[index]
            var maxActivation = 1.0
            var density = record?.fractionNonzero.flatMap { $0 > 0 && $0 <= 1 ? log10($0) : nil }
            if dividesByMaxActivation {
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
            throw StudyError.tooFewFeatures(sweep: sweep.name, withOutputs: featureOrder.count, withDensity: withDensity)
        }

        // Descriptions.
        let allDescriptions = try store.latestDescriptions(sweepId: sweep.id!)
        let describer: String?
        if let wanted = options.describer {
            guard allDescriptions[wanted] != nil else {
                throw StudyError.unknownDescriber(sweep: sweep.name, describer: wanted, available: allDescriptions.keys.sorted())
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
            throw StudyError.tooFewFeatures(sweep: sweep.name, withOutputs: featureOrder.count, withDensity: withDensity)
        }

        // Records.
        let sweepId = sweep.id!
        var records = StoredSweepAnalysis()
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
            // The density RQ3 used (nil for a feature it left out, e.g. one without max activation), so the report's
            // scatter shows exactly the features of ρ.
            let density = f.log10Density
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
            sparsityVsRobustness: c,
            rq3Features: result.features.filter { $0.log10Density != nil }.map { Int($0.featureID)! }.sorted(),
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
    public static func penaltyRule(_ s: Analysis.PenaltySelection) -> String {
        guard s.dataDriven else { return "fixed (--penalty)" }
        guard let d = s.noiseEstimate else { return String(format: "data-driven: no neighbouring outputs differ; minimum %.3f", s.penalty) }
        return String(format: "data-driven: κ %.2g × within-stage noise δ̂ %.4f (median of (1 − cos)/2 over %d adjacent fluent pairs)",
                      s.multiplier, d, s.pairCount)
    }

    public static func preview(_ text: String, limit: Int = 40) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > limit ? String(flat.prefix(limit)) + "…" : flat
    }
}
