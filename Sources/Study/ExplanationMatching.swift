import Foundation
import Report
import TextEmbedding

/// The explanation embeddings `semprog compare` matches features of different SAEs by.
public enum ExplanationMatching {
    /// all-MiniLM-L6-v2 embeddings of both runs' explanations (nil for a feature without one), when the runs use
    /// different SAEs; nil when they share the SAE (features are then matched by index, see `Comparison`).
    public static func embeddings(_ a: ReportData, _ b: ReportData, embeddingModel: String) throws -> Comparison.ExplanationEmbeddings? {
        guard a.run.sae != b.run.sae || a.run.neuronpediaId != b.run.neuronpediaId else { return nil }
        let embedder = try SentenceEmbedder.load(directory: embeddingModel)
        func embed(_ d: ReportData) throws -> [[Float]?] {
            let texts = d.features.map { $0.explanation.trimmingCharacters(in: .whitespacesAndNewlines) }
            var vectors = try embedder.embed(texts.filter { !$0.isEmpty }).makeIterator()
            return texts.map { $0.isEmpty ? nil : vectors.next() }
        }
        return Comparison.ExplanationEmbeddings(a: try embed(a), b: try embed(b))
    }
}
