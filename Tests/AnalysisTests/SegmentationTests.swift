import Randomness
import Testing
@testable import Analysis

@Suite struct SegmentationTests {
    /// Embeddings around `centers` directions, `lengths` of each, with per-component noise.
    static func planted(lengths: [Int], dimension: Int = 64, noise: Double = 0.05, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        func g() -> Double { (-2 * Double.log(max(rng.nextUnit(), 1e-300))).squareRoot() * Double.cos(2 * .pi * rng.nextUnit()) }
        var out: [[Float]] = []
        for length in lengths {
            let center = (0..<dimension).map { _ in g() }
            let norm = center.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for _ in 0..<length { out.append(center.map { Float($0 / norm + noise * g()) }) }
        }
        return out
    }

    @Test(arguments: [[16], [4, 12], [3, 5, 8], [2, 4, 3, 5, 2], [5, 1, 6]])
    func recoversPlantedBoundaries(lengths: [Int]) throws {
        for seed in UInt64(1)...5 {
            let embeddings = Self.planted(lengths: lengths, seed: seed)
            let magnitudes = embeddings.indices.map { Double($0) * 10 }
            let stages = try segmentStages(magnitudes: magnitudes, embeddings: embeddings, penalty: 0.5)
            #expect(stages.map(\.memberIndices.count) == lengths, "seed \(seed)")
            #expect(stages.first?.magnitudeLow == 0 && stages.last?.magnitudeHigh == magnitudes.last)
        }
    }

    @Test func dispersionIdentityAndPenaltyMonotonicity() throws {
        let embeddings = Self.planted(lengths: [3, 4, 5], seed: 9)
        let segmenter = StageSegmenter(embeddings: embeddings)
        // D = Σ (1 − cos(u_i, centroid)) computed directly.
        let units = embeddings[2..<7].map(Vectors.unitDouble)
        var centroid = [Double](repeating: 0, count: units[2].count)
        for u in units { for k in u.indices { centroid[k] += u[k] } }
        let n = centroid.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let direct = units.reduce(0) { $0 + 1 - Vectors.dot($1, centroid) / n }
        #expect(abs(segmenter.dispersion(from: 2, to: 7) - direct) < 1e-9)
        #expect(segmenter.dispersion(from: 4, to: 5) < 1e-9)
        // Larger penalty → never more stages; zero penalty separates everything that is not identical.
        var previous = Int.max
        for penalty in [0.0, 0.01, 0.1, 0.5, 1, 3, 10, 100] {
            let count = segmenter.stageCount(penalty: penalty)
            #expect(count <= previous)
            previous = count
        }
        #expect(segmenter.stageCount(penalty: 0) == embeddings.count)
        #expect(segmenter.stageCount(penalty: 100) == 1)
    }

    @Test func emptyAndMismatchedInput() throws {
        #expect(try segmentStages(magnitudes: [], embeddings: [], penalty: 0.5).isEmpty)
        #expect(throws: AnalysisError.lengthMismatch(field: "embeddings", expected: 2, got: 1)) {
            try segmentStages(magnitudes: [1, 2], embeddings: [[1, 0]], penalty: 0.5)
        }
        #expect(throws: AnalysisError.self) { try segmentStages(magnitudes: [1], embeddings: [[1, 0]], penalty: -1) }
    }
}
