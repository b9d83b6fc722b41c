/// One stage of a (feature, prompt): a maximal run of consecutive magnitudes whose outputs are alike.
public struct Stage: Codable, Sendable, Equatable {
    /// Stage number, 0-based, in order of magnitude.
    public var index: Int
    /// Positions (in the magnitude-sorted sequence) of the outputs in this stage: contiguous.
    public var memberIndices: [Int]
    /// Smallest and largest magnitude in the stage (units of the sweep's magnitudes).
    public var magnitudeLow: Double
    public var magnitudeHigh: Double
    /// Within-stage cosine dispersion Σᵢ (1 − cos(eᵢ, centroid)) (unitless, ≥ 0).
    public var dispersion: Double

    enum CodingKeys: String, CodingKey {
        case index, memberIndices = "member_indices", magnitudeLow = "magnitude_low"
        case magnitudeHigh = "magnitude_high", dispersion
    }
}

/// Optimal partitioning of a sequence of embeddings into contiguous stages (RQ1).
///
/// Cost of a segment S of unit-normalised embeddings uᵢ: the cosine dispersion
/// D(S) = Σ_{i∈S} (1 − cos(uᵢ, c_S)) = |S| − ‖Σ_{i∈S} uᵢ‖, where c_S is the segment's centroid direction
/// (the identity holds because Σ uᵢ·c/‖c‖ = ‖c‖ for c = Σ uᵢ). The partition minimises
/// Σ_segments D(S) + penalty × (number of segments), found exactly by dynamic programming
/// F(0) = 0, F(j) = min_{i<j} F(i) + D(i..<j) + penalty, in O(T² d) for T embeddings of dimension d
/// (prefix sums make each D an O(d) evaluation). Ties prefer fewer segments. The penalty is in dispersion units
/// (one segment is worth splitting when that removes more than `penalty` of summed 1 − cos).
/// Reference: Jackson et al. (2005), "An algorithm for optimal partitioning of data on an interval",
/// IEEE Signal Processing Letters 12:105 (the Optimal Partitioning recursion); Killick et al. (2012), JASA 107:1590.
public struct StageSegmenter: Sendable {
    /// Unit embeddings, one per magnitude, in magnitude order.
    let count: Int
    /// cost[i][j] = D(i..<j), for 0 ≤ i < j ≤ count (flattened (count+1)²).
    let cost: [Double]

    /// Precomputes the segment costs of `embeddings` (any non-zero length; zero vectors count as maximally
    /// dispersed members).
    public init(embeddings: [[Float]]) {
        count = embeddings.count
        let units = embeddings.map(Vectors.unitDouble)
        let d = units.first?.count ?? 0
        let stride = count + 1
        var cost = [Double](repeating: 0, count: stride * stride)
        var sum = [Double](repeating: 0, count: d)
        for i in 0..<count {
            for k in 0..<d { sum[k] = 0 }
            for j in (i + 1)...count {
                let u = units[j - 1]
                var squared = 0.0
                for k in 0..<d { sum[k] += u[k]; squared += sum[k] * sum[k] }
                cost[i * stride + j] = max(0, Double(j - i) - squared.squareRoot())
            }
        }
        self.cost = cost
    }

    /// D(i..<j): dispersion of the segment of positions i..<j.
    public func dispersion(from i: Int, to j: Int) -> Double { cost[i * (count + 1) + j] }

    /// Segment boundaries [b₀ = 0, b₁, …, b_K = T] of the optimal partition for `penalty` (≥ 0); [0] when T = 0.
    public func boundaries(penalty: Double) -> [Int] {
        guard count > 0 else { return [0] }
        var best = [Double](repeating: .infinity, count: count + 1)
        var segments = [Int](repeating: 0, count: count + 1)
        var previous = [Int](repeating: 0, count: count + 1)
        best[0] = 0
        for j in 1...count {
            for i in 0..<j {
                let value = best[i] + dispersion(from: i, to: j) + penalty
                let tolerance = 1e-12 * max(1, abs(value))
                if value < best[j] - tolerance || (abs(value - best[j]) <= tolerance && segments[i] + 1 < segments[j]) {
                    best[j] = value; previous[j] = i; segments[j] = segments[i] + 1
                }
            }
        }
        var cuts = [count]
        var j = count
        while j > 0 { j = previous[j]; cuts.append(j) }
        return cuts.reversed()
    }

    /// The optimal stages for `penalty`, with magnitude ranges from `magnitudes` (sorted, same length as the
    /// embeddings).
    public func stages(penalty: Double, magnitudes: [Double]) -> [Stage] {
        let b = boundaries(penalty: penalty)
        return (0..<(b.count - 1)).map { s in
            let members = Array(b[s]..<b[s + 1])
            return Stage(index: s, memberIndices: members, magnitudeLow: magnitudes[b[s]],
                         magnitudeHigh: magnitudes[b[s + 1] - 1], dispersion: dispersion(from: b[s], to: b[s + 1]))
        }
    }

    /// Number of stages for `penalty`.
    public func stageCount(penalty: Double) -> Int { boundaries(penalty: penalty).count - 1 }
}

/// Stages of one (feature, prompt): segment the embeddings of the outputs at increasing magnitudes up to (not
/// including) the degradation onset. `magnitudes` and `embeddings` pair up and must be sorted by magnitude.
/// - Throws: `AnalysisError` on length mismatch or a negative or non-finite penalty.
public func segmentStages(magnitudes: [Double], embeddings: [[Float]], penalty: Double) throws -> [Stage] {
    guard magnitudes.count == embeddings.count else {
        throw AnalysisError.lengthMismatch(field: "embeddings", expected: magnitudes.count, got: embeddings.count)
    }
    guard penalty >= 0, penalty.isFinite else {
        throw AnalysisError.invalidSetting(name: "penalty", value: "\(penalty)", expected: "a finite number ≥ 0")
    }
    return StageSegmenter(embeddings: embeddings).stages(penalty: penalty, magnitudes: magnitudes)
}

/// How the segmentation penalty λ of a sweep was chosen.
///
/// Data-driven rule (the default): λ = κ · δ̂, where δ̂ estimates the within-stage dispersion of one output,
/// E[1 − cos(uᵢ, c)], from the sweep itself:
///   δ̂ = median over adjacent outputs (i, i+1) of every (feature, prompt)'s fluent prefix of (1 − cos(uᵢ, uᵢ₊₁)) / 2,
/// leaving out identical neighbours (1 − cos < 10⁻⁹, e.g. greedy outputs equal to the baseline). For outputs
/// u = (c + n)/‖c + n‖ around a stage direction c with noise ‖n‖² = r, 1 − cos(uᵢ, uᵢ₊₁) ≈ 2 (1 − cos(u, c)),
/// and the median is robust to the few adjacent pairs that straddle a stage boundary (a difference-based noise
/// scale, as the MAD of first differences in change-point detection; Killick et al. 2012, JASA 107:1590; Fryzlewicz
/// 2014, Ann. Stat. 42:2243). Splitting n same-stage outputs lowers the summed dispersion by about δ per extra
/// segment, while a real boundary between runs of n₁ and n₂ outputs with centre cosine ρ lowers it by about
/// (1 − δ)(n₁ + n₂ − ‖n₁c₁ + n₂c₂‖) ≫ δ; κ (default `defaultMultiplier`) sits between the two and was chosen on
/// synthetic sweeps with planted stages at noise levels from tight to loose stages (within-stage cosine 0.9 to
/// 0.35; `SegmentationRecoveryTests`: mean stage count within 10 % of planted and ARI ≥ 0.9 at every level; κ from
/// 1.75 to 2 kept the count within 4 % at all of them, κ = 2.5 under-counted by 11 % at the loosest, and the former
/// fixed λ = 0.5 over-segments there, ARI 0.80). λ is at least `minimumPenalty`. A fixed λ (`AnalysisSettings.stagePenalty`) bypasses the rule.
public struct PenaltySelection: Codable, Sendable, Equatable {
    public static let defaultMultiplier = 2.0
    public static let minimumPenalty = 0.02
    /// The penalty used.
    public var penalty: Double
    /// Whether it came from the data (false: fixed in the settings).
    public var dataDriven: Bool
    /// δ̂ (nil when the penalty is fixed or no two neighbouring outputs differ).
    public var noiseEstimate: Double?
    public var multiplier: Double
    /// Number of adjacent pairs behind δ̂.
    public var pairCount: Int

    enum CodingKeys: String, CodingKey {
        case penalty, dataDriven = "data_driven", noiseEstimate = "noise_estimate", multiplier, pairCount = "pair_count"
    }

    public init(penalty: Double, dataDriven: Bool, noiseEstimate: Double?, multiplier: Double, pairCount: Int) {
        self.penalty = penalty; self.dataDriven = dataDriven; self.noiseEstimate = noiseEstimate
        self.multiplier = multiplier; self.pairCount = pairCount
    }

    /// δ̂ of the trajectories (each a magnitude-ordered list of embeddings) and the number of pairs used.
    public static func noiseEstimate(_ trajectories: [[[Float]]]) -> (estimate: Double, pairs: Int)? {
        var halves: [Double] = []
        for t in trajectories where t.count >= 2 {
            let units = t.map(Vectors.unitDouble)
            for i in 1..<units.count {
                let d = 1 - Vectors.dot(units[i - 1], units[i])
                if d > 1e-9 { halves.append(d / 2) }
            }
        }
        guard let m = median(halves) else { return nil }
        return (m, halves.count)
    }

    /// λ = max(κ · δ̂, `minimumPenalty`), or `minimumPenalty` when no neighbours differ (then every trajectory is
    /// one stage for any λ > 0).
    public static func choose(_ trajectories: [[[Float]]], multiplier: Double = defaultMultiplier) -> PenaltySelection {
        let estimate = noiseEstimate(trajectories)
        let penalty = max(minimumPenalty, multiplier * (estimate?.estimate ?? 0))
        return PenaltySelection(penalty: penalty, dataDriven: true, noiseEstimate: estimate?.estimate,
                                multiplier: multiplier, pairCount: estimate?.pairs ?? 0)
    }
}
