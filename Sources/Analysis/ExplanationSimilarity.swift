/// How close a feature's steered generations come to its explanation.
///
/// Inputs are cosines cos(embedding of the explanation, embedding of a generation's output or description), one
/// per generation, computed with the same sentence-embedding model. The profile over magnitudes is the mean over
/// prompts at each magnitude; its peak is the "on-concept window". Unitless cosines in [−1, 1].
public struct ExplanationSimilarity: Codable, Sendable, Equatable {
    /// Mean over every generation of the feature.
    public var mean: Double
    /// Largest single-generation cosine.
    public var maximum: Double
    /// Largest value of the profile (mean over prompts at one magnitude).
    public var peakProfile: Double
    /// Magnitude at which the profile peaks (the smallest one on ties).
    public var peakMagnitude: Double
    /// Generations counted.
    public var count: Int

    enum CodingKeys: String, CodingKey {
        case mean, maximum, peakProfile = "peak_profile", peakMagnitude = "peak_magnitude", count
    }

    /// Summarises (magnitude, cosine) pairs of one feature (any number of prompts); nil when empty.
    public init?(magnitudes: [Double], cosines: [Double]) {
        guard !cosines.isEmpty, magnitudes.count == cosines.count else { return nil }
        mean = cosines.reduce(0, +) / Double(cosines.count)
        maximum = cosines.max()!
        var byMagnitude: [Double: (sum: Double, count: Int)] = [:]
        for (m, c) in zip(magnitudes, cosines) { byMagnitude[m, default: (0, 0)].sum += c; byMagnitude[m, default: (0, 0)].count += 1 }
        var best = -Double.infinity, bestMagnitude = 0.0
        for m in byMagnitude.keys.sorted() {
            let v = byMagnitude[m]!.sum / Double(byMagnitude[m]!.count)
            if v > best { best = v; bestMagnitude = m }
        }
        peakProfile = best
        peakMagnitude = bestMagnitude
        count = cosines.count
    }
}
