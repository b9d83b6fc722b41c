import Foundation
import GRDB

// Analysis results, written by `semprog analyze` and read by the report. Replace them per sweep with
// `StoreDatabase.replaceAnalysis(sweepId:_:)` so a re-run never mixes old and new rows.

/// Degradation metrics of one generation (`generation_metrics`). Shares are in 0…1; `compressionRatio` is
/// compressed/raw byte size; `perplexity` under the reference model when computed.
public struct GenerationMetricsRecord: Codable, Sendable, Equatable {
    public var generationId: Int64
    public var distinct1: Double
    public var distinct2: Double
    public var distinct3: Double
    public var repeatedNgramShare: Double
    public var compressionRatio: Double
    public var nonwordShare: Double
    public var perplexity: Double?
    public var degradationScore: Double
    public var degraded: Bool
    public init(generationId: Int64, distinct1: Double, distinct2: Double, distinct3: Double, repeatedNgramShare: Double,
                compressionRatio: Double, nonwordShare: Double, perplexity: Double?, degradationScore: Double, degraded: Bool) {
        self.generationId = generationId; self.distinct1 = distinct1; self.distinct2 = distinct2; self.distinct3 = distinct3
        self.repeatedNgramShare = repeatedNgramShare; self.compressionRatio = compressionRatio
        self.nonwordShare = nonwordShare; self.perplexity = perplexity; self.degradationScore = degradationScore
        self.degraded = degraded
    }
    enum CodingKeys: String, CodingKey {
        case generationId = "generation_id", distinct1, distinct2, distinct3, repeatedNgramShare = "repeated_ngram_share"
        case compressionRatio = "compression_ratio", nonwordShare = "nonword_share", perplexity
        case degradationScore = "degradation_score", degraded
    }
}

/// A cached sentence embedding (`text_embeddings`): `vector` is little-endian Float32 (see `values`).
public struct TextEmbeddingRecord: Codable, Sendable, Equatable {
    public var model: String
    public var textHash: String
    public var vector: Data
    public init(model: String, textHash: String, values: [Float]) {
        self.model = model; self.textHash = textHash; self.vector = BlobCoding.encode(floats: values)
    }
    public var values: [Float] { BlobCoding.decodeFloats(vector) ?? [] }
    enum CodingKeys: String, CodingKey { case model, textHash = "text_hash", vector }
}

/// Degradation onset of one (feature, prompt) series (`onsets`); magnitudes in the sweep's units.
public struct OnsetRecord: Codable, Sendable, Equatable {
    public var sweepId: Int64
    public var featureIndex: Int
    public var promptId: Int64
    public var onsetMagnitude: Double?
    public var robustness: Double?
    public init(sweepId: Int64, featureIndex: Int, promptId: Int64, onsetMagnitude: Double?, robustness: Double?) {
        self.sweepId = sweepId; self.featureIndex = featureIndex; self.promptId = promptId
        self.onsetMagnitude = onsetMagnitude; self.robustness = robustness
    }
    enum CodingKeys: String, CodingKey {
        case sweepId = "sweep_id", featureIndex = "feature_index", promptId = "prompt_id"
        case onsetMagnitude = "onset_magnitude", robustness
    }
}

/// One stage of a segmented (feature, prompt) series (`stages`).
public struct StageRecord: Codable, Sendable, Equatable {
    public var sweepId: Int64
    public var featureIndex: Int
    public var promptId: Int64
    public var stageIndex: Int
    public var startMagnitude: Double
    public var endMagnitude: Double
    public var label: String
    public var exampleText: String
    public init(sweepId: Int64, featureIndex: Int, promptId: Int64, stageIndex: Int, startMagnitude: Double,
                endMagnitude: Double, label: String, exampleText: String) {
        self.sweepId = sweepId; self.featureIndex = featureIndex; self.promptId = promptId; self.stageIndex = stageIndex
        self.startMagnitude = startMagnitude; self.endMagnitude = endMagnitude; self.label = label
        self.exampleText = exampleText
    }
    enum CodingKeys: String, CodingKey {
        case sweepId = "sweep_id", featureIndex = "feature_index", promptId = "prompt_id", stageIndex = "stage_index"
        case startMagnitude = "start_magnitude", endMagnitude = "end_magnitude", label, exampleText = "example_text"
    }
}

/// Cosine similarities of a generation (`similarities`): to the feature's explanation and to the baseline output.
public struct SimilarityRecord: Codable, Sendable, Equatable {
    public var generationId: Int64
    public var descriptionCosine: Double?
    public var outputCosine: Double?
    public init(generationId: Int64, descriptionCosine: Double?, outputCosine: Double?) {
        self.generationId = generationId; self.descriptionCosine = descriptionCosine; self.outputCosine = outputCosine
    }
    enum CodingKeys: String, CodingKey {
        case generationId = "generation_id", descriptionCosine = "description_cosine", outputCosine = "output_cosine"
    }
}

/// Per-feature summary of a sweep (`feature_summaries`).
public struct FeatureSummaryRecord: Codable, Sendable, Equatable {
    public var sweepId: Int64
    public var featureIndex: Int
    public var stageCount: Double
    public var robustness: Double?
    public var log10Density: Double?
    public var simMean: Double?
    public var simMax: Double?
    public var simPeakMagnitude: Double?
    public var stageAgreementAri: Double?
    public var explanation: String?
    public init(sweepId: Int64, featureIndex: Int, stageCount: Double, robustness: Double? = nil,
                log10Density: Double? = nil, simMean: Double? = nil, simMax: Double? = nil,
                simPeakMagnitude: Double? = nil, stageAgreementAri: Double? = nil, explanation: String? = nil) {
        self.sweepId = sweepId; self.featureIndex = featureIndex; self.stageCount = stageCount
        self.robustness = robustness; self.log10Density = log10Density; self.simMean = simMean; self.simMax = simMax
        self.simPeakMagnitude = simPeakMagnitude; self.stageAgreementAri = stageAgreementAri
        self.explanation = explanation
    }
    enum CodingKeys: String, CodingKey {
        case sweepId = "sweep_id", featureIndex = "feature_index", stageCount = "stage_count", robustness
        case log10Density = "log10_density", simMean = "sim_mean", simMax = "sim_max"
        case simPeakMagnitude = "sim_peak_magnitude", stageAgreementAri = "stage_agreement_ari", explanation
    }
}

/// Output consistency across prompts at one magnitude (`consistency`).
public struct ConsistencyRecord: Codable, Sendable, Equatable {
    public var sweepId: Int64
    public var featureIndex: Int
    public var magnitude: Double
    public var meanPairwiseCosine: Double
    public var baselineCosine: Double
    public var adjusted: Double
    public init(sweepId: Int64, featureIndex: Int, magnitude: Double, meanPairwiseCosine: Double,
                baselineCosine: Double, adjusted: Double) {
        self.sweepId = sweepId; self.featureIndex = featureIndex; self.magnitude = magnitude
        self.meanPairwiseCosine = meanPairwiseCosine; self.baselineCosine = baselineCosine; self.adjusted = adjusted
    }
    enum CodingKeys: String, CodingKey {
        case sweepId = "sweep_id", featureIndex = "feature_index", magnitude
        case meanPairwiseCosine = "mean_pairwise_cosine", baselineCosine = "baseline_cosine", adjusted
    }
}

/// Mean stage count at one segmentation penalty (`penalty_sensitivity`).
public struct PenaltySensitivityRecord: Codable, Sendable, Equatable {
    public var sweepId: Int64
    public var penalty: Double
    public var meanStageCount: Double
    public init(sweepId: Int64, penalty: Double, meanStageCount: Double) {
        self.sweepId = sweepId; self.penalty = penalty; self.meanStageCount = meanStageCount
    }
    enum CodingKeys: String, CodingKey { case sweepId = "sweep_id", penalty, meanStageCount = "mean_stage_count" }
}

/// A named sweep-level statistic (`sweep_statistics`), e.g. a correlation with its p-value in `detail`.
public struct SweepStatisticRecord: Codable, Sendable, Equatable {
    public var sweepId: Int64
    public var name: String
    public var value: Double?
    public var detail: String?
    public init(sweepId: Int64, name: String, value: Double?, detail: String? = nil) {
        self.sweepId = sweepId; self.name = name; self.value = value; self.detail = detail
    }
    enum CodingKeys: String, CodingKey { case sweepId = "sweep_id", name, value, detail }
}

extension GenerationMetricsRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "generation_metrics" }
extension TextEmbeddingRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "text_embeddings" }
extension OnsetRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "onsets" }
extension StageRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "stages" }
extension SimilarityRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "similarities" }
extension FeatureSummaryRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "feature_summaries" }
extension ConsistencyRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "consistency" }
extension PenaltySensitivityRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "penalty_sensitivity" }
extension SweepStatisticRecord: FetchableRecord, PersistableRecord { public static let databaseTableName = "sweep_statistics" }

/// All analysis rows of one sweep as the database stores them (not `Analysis.SweepAnalysis`, the in-memory result), to be written together by `StoreDatabase.replaceAnalysis`.
public struct StoredSweepAnalysis: Sendable {
    public var metrics: [GenerationMetricsRecord] = []
    public var onsets: [OnsetRecord] = []
    public var stages: [StageRecord] = []
    public var similarities: [SimilarityRecord] = []
    public var featureSummaries: [FeatureSummaryRecord] = []
    public var consistency: [ConsistencyRecord] = []
    public var penaltySensitivity: [PenaltySensitivityRecord] = []
    public var statistics: [SweepStatisticRecord] = []
    public init() {}
}

extension StoreDatabase {
    /// Replaces every analysis row of the sweep (metrics, similarities of its generations, onsets, stages,
    /// summaries, consistency, penalty sensitivity, statistics) in ONE transaction. `text_embeddings` is a
    /// cache shared by sweeps and is left alone.
    public func replaceAnalysis(sweepId: Int64, _ analysis: StoredSweepAnalysis) throws {
        try write { db in
            try Self.deleteAnalysis(db, sweepId: sweepId)
            for r in analysis.metrics { try r.insert(db) }
            for r in analysis.onsets { try r.insert(db) }
            for r in analysis.stages { try r.insert(db) }
            for r in analysis.similarities { try r.insert(db) }
            for r in analysis.featureSummaries { try r.insert(db) }
            for r in analysis.consistency { try r.insert(db) }
            for r in analysis.penaltySensitivity { try r.insert(db) }
            for r in analysis.statistics { try r.insert(db) }
        }
    }

    /// Deletes the analysis rows of a sweep inside the caller's transaction.
    public static func deleteAnalysis(_ db: Database, sweepId: Int64) throws {
        let generations = "SELECT id FROM generations WHERE sweep_id = ?"
        try db.execute(sql: "DELETE FROM generation_metrics WHERE generation_id IN (\(generations))", arguments: [sweepId])
        try db.execute(sql: "DELETE FROM similarities WHERE generation_id IN (\(generations))", arguments: [sweepId])
        for table in ["onsets", "stages", "feature_summaries", "consistency", "penalty_sensitivity", "sweep_statistics"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE sweep_id = ?", arguments: [sweepId])
        }
    }

    /// Stores an embedding in the shared cache (replacing one with the same model and text hash).
    public func saveEmbeddings(_ records: [TextEmbeddingRecord]) throws {
        try write { db in for r in records { try r.save(db) } }
    }

    /// Cached embeddings of `model` for the given text hashes (missing ones are absent from the result).
    public func embeddings(model: String, textHashes: [String]) throws -> [String: [Float]] {
        try read { db in
            var out: [String: [Float]] = [:]
            for chunk in stride(from: 0, to: textHashes.count, by: 500) {
                let part = Array(textHashes[chunk..<min(chunk + 500, textHashes.count)])
                let rows = try TextEmbeddingRecord.filter(Column("model") == model && part.contains(Column("text_hash"))).fetchAll(db)
                for r in rows { out[r.textHash] = r.values }
            }
            return out
        }
    }
}
