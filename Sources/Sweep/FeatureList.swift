/// Parsing of `--features` lists: `"3,17,42"` and ranges `"10-20"` (inclusive), combined with commas.
public enum FeatureList {
    public static func parse(_ text: String) throws -> [Int] {
        var out: [Int] = []
        for raw in text.split(separator: ",") {
            let part = raw.trimmingCharacters(in: .whitespaces)
            if let dash = part.firstIndex(of: "-"), dash != part.startIndex {
                guard let lo = Int(part[..<dash]), let hi = Int(part[part.index(after: dash)...]), lo <= hi, lo >= 0 else {
                    throw SweepError.invalidFeatureList("'\(part)' is not a range LOW-HIGH")
                }
                out.append(contentsOf: lo...hi)
            } else {
                guard let v = Int(part), v >= 0 else { throw SweepError.invalidFeatureList("'\(part)' is not a feature index") }
                out.append(v)
            }
        }
        guard !out.isEmpty else { throw SweepError.invalidFeatureList("the list is empty") }
        var seen = Set<Int>()
        return out.filter { seen.insert($0).inserted }
    }
}
