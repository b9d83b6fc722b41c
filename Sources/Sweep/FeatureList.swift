import Foundation

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

extension FeatureList {
    /// Reads a feature file: one index per line (blank lines and `#` comments skipped).
    public static func read(path: String) throws -> [Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SweepError.cannotRead(path: path, reason: "not a readable UTF-8 file")
        }
        var out: [Int] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            guard let v = Int(line), v >= 0 else {
                throw SweepError.malformedPromptLine(path: path, line: i + 1, reason: "'\(line)' is not a feature index")
            }
            out.append(v)
        }
        guard !out.isEmpty else { throw SweepError.invalidFeatureList("\(path) lists no features") }
        return out
    }
}
