/// Ranking with ties.
public enum Ranking {
    /// Ranks 1…n with ties given the average of the ranks they span (scipy.stats.rankdata, method="average").
    /// Example: [10, 20, 20, 30] → [1, 2.5, 2.5, 4].
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let n = values.count
        let order = (0..<n).sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: n)
        var start = 0
        while start < n {
            var end = start + 1
            while end < n && values[order[end]] == values[order[start]] { end += 1 }
            // positions start..<end (0-based) hold ranks start+1 … end; their mean is (start + 1 + end) / 2
            let rank = Double(start + 1 + end) / 2
            for k in start..<end { ranks[order[k]] = rank }
            start = end
        }
        return ranks
    }

    /// Sizes of the groups of tied values (groups of one included).
    static func tieGroupSizes(_ values: [Double]) -> [Int] {
        let sorted = values.sorted()
        var sizes: [Int] = []
        var start = 0
        while start < sorted.count {
            var end = start + 1
            while end < sorted.count && sorted[end] == sorted[start] { end += 1 }
            sizes.append(end - start)
            start = end
        }
        return sizes
    }
}
