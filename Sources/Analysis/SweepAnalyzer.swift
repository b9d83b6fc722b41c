import Foundation

extension SweepAnalysis {
    /// Analyses a whole sweep: degradation per generation, onsets and robustness per (feature, prompt), stages
    /// (RQ1) with the penalty-sensitivity curve, similarity to the explanation, cross-prompt consistency and
    /// stage agreement (RQ2), and sparsity vs robustness (RQ3). Pure: no model, no database.
    ///
    /// - Parameter threads: workers for the per-generation and per-feature work (deterministic output).
    /// - Throws: `AnalysisError` for an empty sweep, a generation whose prompt has no baseline, an unknown
    ///   feature, a duplicate (feature, prompt, magnitude), inconsistent embedding sizes, a non-positive max
    ///   activation, or fewer than 3 features with outputs and a density (RQ3). Features without an explanation
    ///   are not an error: they are listed in `skippedFeatures`.
    public static func analyze(_ input: SweepAnalysisInput, threads: Int = 2) throws -> SweepAnalysis {
        let settings = input.settings
        try settings.validate()

        // Validation and indexing.
        var featureIndex: [String: Int] = [:]
        for (i, f) in input.features.enumerated() {
            guard featureIndex[f.featureID] == nil else { throw AnalysisError.duplicateIdentifier(field: "features", id: f.featureID) }
            guard f.maxActivation.isFinite, f.maxActivation > 0 else {
                throw AnalysisError.invalidMaxActivation(featureID: f.featureID, value: f.maxActivation)
            }
            if let d = f.log10Density, !d.isFinite { throw AnalysisError.nonFinite(field: "features[\(f.featureID)].log10_density", index: i) }
            featureIndex[f.featureID] = i
        }
        guard let firstGeneration = input.generations.first else {
            throw AnalysisError.tooFewFeatures(count: 0)
        }
        guard !input.prompts.isEmpty else { throw AnalysisError.missingBaseline(promptID: firstGeneration.promptID) }
        let dimension = input.prompts[0].embedding.count
        var promptIndex: [String: Int] = [:]
        for (i, p) in input.prompts.enumerated() {
            guard promptIndex[p.promptID] == nil else { throw AnalysisError.duplicateIdentifier(field: "prompts", id: p.promptID) }
            guard p.embedding.count == dimension, dimension > 0 else {
                throw AnalysisError.embeddingDimension(field: "baseline of prompt '\(p.promptID)'", expected: max(dimension, 1), got: p.embedding.count)
            }
            promptIndex[p.promptID] = i
        }
        for f in input.features {
            if let e = f.explanationEmbedding, e.count != dimension {
                throw AnalysisError.embeddingDimension(field: "explanation of feature '\(f.featureID)'", expected: dimension, got: e.count)
            }
        }
        // trajectories[feature][prompt] = generation positions
        var grid = Array(repeating: Array(repeating: [Int](), count: input.prompts.count), count: input.features.count)
        for (g, gen) in input.generations.enumerated() {
            guard let f = featureIndex[gen.featureID] else { throw AnalysisError.unknownFeature(featureID: gen.featureID, generation: g) }
            guard let p = promptIndex[gen.promptID] else { throw AnalysisError.missingBaseline(promptID: gen.promptID) }
            guard gen.magnitude.isFinite else { throw AnalysisError.nonFinite(field: "generations.magnitude", index: g) }
            guard gen.embedding.count == dimension else {
                throw AnalysisError.embeddingDimension(field: "generations[\(g)].embedding", expected: dimension, got: gen.embedding.count)
            }
            if let d = gen.descriptionEmbedding, d.count != dimension {
                throw AnalysisError.embeddingDimension(field: "generations[\(g)].description_embedding", expected: dimension, got: d.count)
            }
            grid[f][p].append(g)
        }
        for f in grid.indices {
            for p in grid[f].indices {
                grid[f][p].sort { input.generations[$0].magnitude < input.generations[$1].magnitude }
                let list = grid[f][p]
                for k in list.indices.dropFirst() where input.generations[list[k]].magnitude == input.generations[list[k - 1]].magnitude {
                    let g = input.generations[list[k]]
                    throw AnalysisError.duplicateGeneration(featureID: g.featureID, promptID: g.promptID, magnitude: g.magnitude)
                }
            }
        }
        let analysedFeatures = input.features.indices.filter { f in grid[f].contains { !$0.isEmpty } }

        var skipped: [SkippedFeature] = []
        for f in input.features {
            let index = featureIndex[f.featureID]!
            if !analysedFeatures.contains(index) {
                skipped.append(SkippedFeature(featureID: f.featureID, reason: "no steered outputs in the sweep"))
                continue
            }
            if f.explanationEmbedding == nil {
                skipped.append(SkippedFeature(featureID: f.featureID, reason: f.explanation == nil
                    ? "no explanation: left out of the similarity-to-explanation summary"
                    : "explanation not embedded: left out of the similarity-to-explanation summary"))
            }
            if f.log10Density == nil {
                skipped.append(SkippedFeature(featureID: f.featureID, reason: "no density: left out of RQ3 (sparsity vs robustness)"))
            }
        }
        let rq3Features = analysedFeatures.filter { input.features[$0].log10Density != nil }
        guard rq3Features.count >= 3 else { throw AnalysisError.tooFewFeatures(count: rq3Features.count) }

        // 1. Per generation: degradation and similarity to the explanation.
        let rule = settings.degradation
        let featureOf = featureIndex
        let explanationUnits: [[Double]?] = input.features.map { $0.explanationEmbedding.map(Vectors.unitDouble) }
        let generations: [GenerationAnalysis] = parallelMap(count: input.generations.count, threads: threads) { g in
            let gen = input.generations[g]
            let metrics = DegradationMetrics(text: gen.text, tokenIDs: gen.tokenIDs, perplexity: gen.perplexity)
            let score = rule.score(metrics)
            var output: Double?, description: Double?
            if let e = explanationUnits[featureOf[gen.featureID]!] {
                output = Vectors.dot(e, Vectors.unitDouble(gen.embedding))
                description = gen.descriptionEmbedding.map { Vectors.dot(e, Vectors.unitDouble($0)) }
            }
            return GenerationAnalysis(featureID: gen.featureID, promptID: gen.promptID, magnitude: gen.magnitude,
                                      metrics: metrics, degradationScore: score, degraded: score >= rule.threshold,
                                      explanationCosineOutput: output, explanationCosineDescription: description)
        }

        // Baseline similarity between prompts, for any subset of prompts.
        let baselineUnits = input.prompts.map { Vectors.unitDouble($0.embedding) }
        let grid_ = grid

        // Onsets, then the penalty (from the fluent prefixes when not fixed).
        var fluentCounts = [[Int]](repeating: [], count: input.features.count)
        var onsets = [[DegradationOnset?]](repeating: [], count: input.features.count)
        var fluentPrefixes: [[[Float]]] = []
        for f in analysedFeatures {
            fluentCounts[f] = Array(repeating: 0, count: input.prompts.count)
            onsets[f] = Array(repeating: nil, count: input.prompts.count)
            for p in input.prompts.indices where !grid[f][p].isEmpty {
                let positions = grid[f][p]
                let onset = try degradationOnsetPosition(magnitudes: positions.map { input.generations[$0].magnitude },
                                                         degraded: positions.map { generations[$0].degraded })
                onsets[f][p] = onset
                fluentCounts[f][p] = onset?.index ?? positions.count
                fluentPrefixes.append(positions[0..<fluentCounts[f][p]].map { input.generations[$0].embedding })
            }
        }
        let selection: PenaltySelection = settings.stagePenalty.map {
            PenaltySelection(penalty: $0, dataDriven: false, noiseEstimate: nil, multiplier: settings.penaltyMultiplier, pairCount: 0)
        } ?? PenaltySelection.choose(fluentPrefixes, multiplier: settings.penaltyMultiplier)
        let stagePenalty = selection.penalty
        let penalties = settings.penaltyGrid.contains(stagePenalty) ? settings.penaltyGrid : (settings.penaltyGrid + [stagePenalty]).sorted()
        let onsets_ = onsets, fluentCounts_ = fluentCounts

        // 2. Per feature: trajectories, stages, summaries.
        struct FeatureWork: Sendable {
            var trajectories: [TrajectoryAnalysis]
            var summary: FeatureSummary
            var stageCountsByPenalty: [Double]
        }
        let work: [FeatureWork] = try parallelMap(count: analysedFeatures.count, threads: threads) { k in
            let f = analysedFeatures[k]
            let feature = input.features[f]
            var trajectories: [TrajectoryAnalysis] = []
            var stageCountsByPenalty = [[Double]](repeating: [], count: penalties.count)
            for p in input.prompts.indices where !grid_[f][p].isEmpty {
                let positions = grid_[f][p]
                let magnitudes = positions.map { input.generations[$0].magnitude }
                let onset = onsets_[f][p]
                let fluentCount = fluentCounts_[f][p]
                let segmenter = StageSegmenter(embeddings: positions[0..<fluentCount].map { input.generations[$0].embedding })
                let stages = segmenter.stages(penalty: stagePenalty, magnitudes: Array(magnitudes[0..<fluentCount]))
                for (i, penalty) in penalties.enumerated() { stageCountsByPenalty[i].append(Double(segmenter.stageCount(penalty: penalty))) }
                var labels = [Int](repeating: -1, count: positions.count)
                for stage in stages { for m in stage.memberIndices { labels[m] = stage.index } }
                let robustness: Double
                if let onset { robustness = onset.index == 0 ? 0 : magnitudes[onset.index - 1] / feature.maxActivation }
                else { robustness = magnitudes[magnitudes.count - 1] / feature.maxActivation }
                trajectories.append(TrajectoryAnalysis(
                    featureID: feature.featureID, promptID: input.prompts[p].promptID, magnitudes: magnitudes,
                    generationIndices: positions, onset: onset, robustnessInMaxActivations: robustness,
                    censored: onset == nil, stages: stages, stageLabels: labels))
            }

            // Similarity to the explanation.
            let all = input.prompts.indices.flatMap { grid_[f][$0] }
            let similarityOutput = ExplanationSimilarity(
                magnitudes: all.compactMap { generations[$0].explanationCosineOutput == nil ? nil : generations[$0].magnitude },
                cosines: all.compactMap { generations[$0].explanationCosineOutput })
            let similarityDescription = ExplanationSimilarity(
                magnitudes: all.compactMap { generations[$0].explanationCosineDescription == nil ? nil : generations[$0].magnitude },
                cosines: all.compactMap { generations[$0].explanationCosineDescription })

            // RQ2 consistency per magnitude.
            var byMagnitude: [Double: [(prompt: Int, generation: Int)]] = [:]
            for p in input.prompts.indices { for g in grid_[f][p] { byMagnitude[input.generations[g].magnitude, default: []].append((p, g)) } }
            var consistency: [MagnitudeConsistency] = []
            for m in byMagnitude.keys.sorted() {
                let members = byMagnitude[m]!
                guard members.count >= 2 else { continue }
                let units = members.map { Vectors.unitDouble(input.generations[$0.generation].embedding) }
                var steered = 0.0, baseline = 0.0, pairs = 0.0
                for a in 0..<members.count {
                    for b in (a + 1)..<members.count {
                        steered += Vectors.dot(units[a], units[b])
                        baseline += Vectors.dot(baselineUnits[members[a].prompt], baselineUnits[members[b].prompt])
                        pairs += 1
                    }
                }
                consistency.append(MagnitudeConsistency(magnitude: m, promptCount: members.count,
                                                        meanPairwiseCosine: steered / pairs,
                                                        baselineMeanPairwiseCosine: baseline / pairs,
                                                        consistency: (steered - baseline) / pairs))
            }

            // Stage agreement over the magnitudes every prompt has.
            var shared = Set(trajectories[0].magnitudes)
            for t in trajectories.dropFirst() { shared.formIntersection(t.magnitudes) }
            let sharedSorted = shared.sorted()
            let labelings: [[Int]] = trajectories.map { t in
                var labelOf: [Double: Int] = [:]
                for (m, l) in zip(t.magnitudes, t.stageLabels) { labelOf[m] = l }
                return sharedSorted.map { labelOf[$0]! }
            }
            let agreement = try Consistency.meanPairwiseAdjustedRandIndex(labelings)

            let summary = FeatureSummary(
                featureID: feature.featureID, maxActivation: feature.maxActivation, log10Density: feature.log10Density,
                promptCount: trajectories.count,
                stageCount: median(trajectories.map { Double($0.stages.count) })!,
                robustnessInMaxActivations: median(trajectories.map(\.robustnessInMaxActivations))!,
                censoredPrompts: trajectories.count { $0.censored },
                similarityOutput: similarityOutput, similarityDescription: similarityDescription,
                consistency: consistency, meanConsistency: mean(consistency.map(\.consistency)),
                stageAgreement: agreement)
            return FeatureWork(trajectories: trajectories, summary: summary,
                               stageCountsByPenalty: stageCountsByPenalty.map { median($0)! })
        }

        let summaries = work.map(\.summary)
        let penaltySensitivity = penalties.indices.map { i in
            PenaltySensitivityPoint(penalty: penalties[i], meanStageCount: mean(work.map { $0.stageCountsByPenalty[i] })!)
        }
        let rq3 = summaries.filter { $0.log10Density != nil }
        let correlation = try RankCorrelation.summary(rq3.map { $0.log10Density! }, rq3.map(\.robustnessInMaxActivations),
                                                      options: settings.correlation,
                                                      xName: "log10 density", yName: "robustness (max activations)")
        let headline = AnalysisHeadline(
            featureCount: summaries.count, promptCount: input.prompts.count, generationCount: generations.count,
            degradedShare: Double(generations.count { $0.degraded }) / Double(generations.count),
            meanStageCount: mean(summaries.map(\.stageCount))!,
            meanSimilarityOutput: mean(summaries.compactMap { $0.similarityOutput?.mean }),
            meanSimilarityDescription: mean(summaries.compactMap { $0.similarityDescription?.mean }),
            baselineMeanPairwiseCosine: input.prompts.count >= 2 ? Consistency.meanPairwiseCosine(input.prompts.map(\.embedding)) : nil,
            meanConsistency: mean(summaries.compactMap(\.meanConsistency)),
            meanStageAgreement: mean(summaries.compactMap(\.stageAgreement)),
            sparsityVsRobustness: correlation)
        return SweepAnalysis(settings: settings, generations: generations, trajectories: work.flatMap(\.trajectories),
                             features: summaries, penaltySensitivity: penaltySensitivity, headline: headline,
                             skippedFeatures: skipped, penaltySelection: selection)
    }
}
