import Randomness
import Testing
@testable import Analysis

@Suite struct ConsistencyTests {
    @Test func adjustedRandIndexKnownValues() throws {
        // Identical partitions (any label names) → 1.
        #expect(try Consistency.adjustedRandIndex([0, 0, 1, 1, 2], [5, 5, 7, 7, 9]) == 1)
        #expect(try Consistency.adjustedRandIndex([0, 0, 0], [1, 1, 1]) == 1)
        // scikit-learn's documented examples: adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) = 0.5714285714285714,
        // adjusted_rand_score([0, 0, 1, 2], [0, 0, 1, 1]) ≈ 0.57, and [0,0,0,0] vs [0,1,2,3] → 0.
        #expect(abs(try Consistency.adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]) - 0.5714285714285714) < 1e-12)
        #expect(try Consistency.adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]) == 0)
        // Hand-computed: a = [0,0,1,1,1], b = [0,0,0,1,1]: TP = 2, FP = 2, FN = 2, TN = 4 → 2(8 − 4)/(4·6 + 4·6) = 1/6.
        #expect(abs(try Consistency.adjustedRandIndex([0, 0, 1, 1, 1], [0, 0, 0, 1, 1]) - 1.0 / 6) < 1e-12)
        #expect(throws: AnalysisError.self) { try Consistency.adjustedRandIndex([0], [0, 1]) }
    }

    @Test func adjustedRandIndexIsSymmetric() throws {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20 {
            let a = (0..<16).map { _ in rng.nextIndex(below: 4) }, b = (0..<16).map { _ in rng.nextIndex(below: 3) }
            #expect(abs(try Consistency.adjustedRandIndex(a, b) - Consistency.adjustedRandIndex(b, a)) < 1e-12)
        }
    }

    @Test func meanPairwiseCosine() {
        #expect(Consistency.meanPairwiseCosine([[1, 0]]) == nil)
        let value = Consistency.meanPairwiseCosine([[1, 0], [0, 2], [3, 3]])!
        // pairs: 0, 1/√2, 1/√2 → mean √2/3
        #expect(abs(value - 2.0.squareRoot() / 3) < 1e-6)
        // Scale invariance and symmetry of cosine.
        #expect(abs(cosineSimilarity([1, 2, 3], [4, 5, 6]) - cosineSimilarity([8, 10, 12], [0.5, 1, 1.5])) < 1e-6)
        #expect(cosineSimilarity([1, 2, 3], [4, 5, 6]) == cosineSimilarity([4, 5, 6], [1, 2, 3]))
    }

    @Test func explanationSimilaritySummary() throws {
        let s = try #require(ExplanationSimilarity(magnitudes: [1, 1, 2, 2, 3, 3], cosines: [0.1, 0.3, 0.5, 0.3, 0.6, 0.0]))
        #expect(abs(s.mean - 1.8 / 6) < 1e-12)
        #expect(s.maximum == 0.6)
        #expect(abs(s.peakProfile - 0.4) < 1e-12 && s.peakMagnitude == 2)
        #expect(ExplanationSimilarity(magnitudes: [], cosines: []) == nil)
    }
}
