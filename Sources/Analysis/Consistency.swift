/// Cross-prompt consistency measures (RQ2).
public enum Consistency {
    /// Mean pairwise cosine similarity of a set of embeddings:
    /// (2 / (P(P−1))) Σ_{p<q} cos(e_p, e_q), unitless in [−1, 1]; nil for fewer than two embeddings.
    /// RQ2 uses it per feature and magnitude across prompts and subtracts the same quantity for the prompts'
    /// unsteered outputs, so similarity that comes from the prompts themselves is not counted.
    public static func meanPairwiseCosine(_ embeddings: [[Float]]) -> Double? {
        guard embeddings.count >= 2 else { return nil }
        let units = embeddings.map(Vectors.unitDouble)
        var sum = 0.0, pairs = 0
        for p in 0..<units.count {
            for q in (p + 1)..<units.count {
                sum += Vectors.dot(units[p], units[q]); pairs += 1
            }
        }
        return sum / Double(pairs)
    }

    /// Adjusted Rand index of two labelings of the same items (Hubert & Arabie 1985, J. Classification 2:193),
    /// in the pair-counting form used by scikit-learn:
    /// with pair counts TP (same cluster in both), FP, FN, TN,
    /// ARI = 2 (TP·TN − FN·FP) / ((TP + FN)(FN + TN) + (TP + FP)(FP + TN)); 1 when the labelings agree on every
    /// pair (including the degenerate case of one cluster in both). 1 = identical partitions, ≈ 0 = chance.
    /// - Throws: `AnalysisError.lengthMismatch` when the labelings differ in length.
    public static func adjustedRandIndex(_ a: [Int], _ b: [Int]) throws -> Double {
        guard a.count == b.count else { throw AnalysisError.lengthMismatch(field: "labels", expected: a.count, got: b.count) }
        var tp = 0.0, fp = 0.0, fn = 0.0, tn = 0.0
        for i in 0..<a.count {
            for j in (i + 1)..<a.count where j < a.count {
                let sameA = a[i] == a[j], sameB = b[i] == b[j]
                switch (sameA, sameB) {
                case (true, true): tp += 1
                case (false, true): fp += 1
                case (true, false): fn += 1
                case (false, false): tn += 1
                }
            }
        }
        if fn == 0 && fp == 0 { return 1 }
        return 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
    }

    /// Mean ARI over all pairs of labelings (nil for fewer than two).
    public static func meanPairwiseAdjustedRandIndex(_ labelings: [[Int]]) throws -> Double? {
        guard labelings.count >= 2 else { return nil }
        var sum = 0.0, pairs = 0
        for p in 0..<labelings.count {
            for q in (p + 1)..<labelings.count {
                sum += try adjustedRandIndex(labelings[p], labelings[q]); pairs += 1
            }
        }
        return sum / Double(pairs)
    }
}
