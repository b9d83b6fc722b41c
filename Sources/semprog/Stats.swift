import Analysis
import ArgumentParser
import Foundation

extension Semprog {
    /// Statistics on any table, so users can compute the study's RQ statistics on their own data.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Statistics on any table (spearman).",
            subcommands: [StatsSpearman.self]
        )
    }

    /// `semprog stats spearman --csv FILE --x COL --y COL [--json]`.
    struct StatsSpearman: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "spearman",
            abstract: "Spearman ρ of two CSV columns: t-test and permutation p-values, bootstrap 95% CI, Kendall τ-b.",
            discussion: """
            ρ uses average ranks for ties; p_value is two-sided by Student's t with n−2 df (as scipy.stats.spearmanr); \
            p_permutation is exact for n ≤ 8, else from seeded random permutations; the CI is a seeded percentile \
            bootstrap. A constant column leaves ρ undefined (null in JSON, said on stderr).
            """
        )

        /// The CSV file: a header row naming the columns, then one row per observation.
        @Option(name: .customLong("csv"), help: "CSV file with a header row.")
        var csv: String

        @Option(name: .customLong("x"), help: "Name of the first column.")
        var xColumn: String

        @Option(name: .customLong("y"), help: "Name of the second column.")
        var yColumn: String

        @Flag(name: .long, help: "Print the result as JSON.")
        var json = false

        @Option(name: .long, help: "Seed of the permutation test and the bootstrap.")
        var seed: UInt64 = 20_240_607

        @Option(name: .long, help: "Random permutations (when n > 8) and bootstrap resamples.")
        var resamples: Int = 10_000

        func validate() throws {
            guard resamples > 0 else { throw ValidationError("--resamples must be positive") }
        }

        func run() async throws {
            let table = try CSVTable(path: csv)
            let x = try table.numericColumn(xColumn)
            let y = try table.numericColumn(yColumn)
            var options = RankCorrelationOptions()
            options.seed = seed
            options.permutationResamples = resamples
            options.bootstrapResamples = resamples
            let summary: RankCorrelationSummary
            do {
                summary = try RankCorrelation.summary(x, y, options: options, xName: "column '\(xColumn)'", yName: "column '\(yColumn)'")
            } catch let error as AnalysisError {
                throw CLIError.invalidArgument("\(csv): \(error.localizedDescription)")
            }
            if let reason = summary.undefinedReason { Terminal.error("\(csv): \(reason)") }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            } else {
                func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "undefined" }
                print("Spearman \(yColumn) ~ \(xColumn)  (n = \(summary.n))")
                print("  rho            \(f(summary.rho))")
                print("  p (t, n-2 df)  \(f(summary.pValue))")
                print("  p (permutation\(summary.permutationIsExact == true ? ", exact" : ", \(resamples) random")) \(f(summary.pPermutation))")
                print("  95% CI         [\(f(summary.ciLow)), \(f(summary.ciHigh))]  (percentile bootstrap, \(resamples) resamples)")
                print("  Kendall tau-b  \(f(summary.kendallTau))  p = \(f(summary.kendallPValue))")
            }
        }
    }
}

/// A CSV file read whole (RFC 4180: comma-separated, double-quoted fields with "" escapes, CRLF or LF).
fileprivate struct CSVTable {
    let path: String
    let header: [String]
    /// Data rows with their 1-based line numbers in the file (the header is row 1).
    let rows: [(line: Int, fields: [String])]

    init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError.invalidArgument("\(path): cannot read the file (missing or unreadable)")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let records = try Self.parse(text, path: path)
        guard let first = records.first else { throw CLIError.invalidArgument("\(path): the file is empty (expected a header row)") }
        header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        rows = Array(records.dropFirst())
    }

    static func parse(_ text: String, path: String) throws -> [(line: Int, fields: [String])] {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = [], field = "", inQuotes = false, line = 1, recordLine = 1, fieldWasQuoted = false
        var chars = Array(text.unicodeScalars)[...]
        func endRecord() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty && !fieldWasQuoted) { records.append((recordLine, fields)) }
            fields = []; field = ""; fieldWasQuoted = false
        }
        while let c = chars.popFirst() {
            if inQuotes {
                if c == "\"" {
                    if chars.first == "\"" { chars.removeFirst(); field.unicodeScalars.append("\"") } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: inQuotes = true; fieldWasQuoted = true
            case ",": fields.append(field); field = ""; fieldWasQuoted = false
            case "\r" where chars.first == "\n": break
            case "\n", "\r":
                endRecord(); line += 1; recordLine = line
            default: field.unicodeScalars.append(c)
            }
        }
        if inQuotes { throw CLIError.invalidArgument("\(path) row \(recordLine): a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { endRecord() }
        return records
    }

    /// The named column as numbers. Throws naming the file, row and column for a missing column, a short row, or
    /// a cell that is empty, not a number, or not finite.
    func numericColumn(_ name: String) throws -> [Double] {
        guard let column = header.firstIndex(of: name) else {
            throw CLIError.invalidArgument("\(path): no column '\(name)' in the header (columns: \(header.joined(separator: ", ")))")
        }
        return try rows.map { row in
            guard column < row.fields.count else {
                throw CLIError.invalidArgument("\(path) row \(row.line): has \(row.fields.count) field(s), no value for column '\(name)'")
            }
            let cell = row.fields[column].trimmingCharacters(in: .whitespaces)
            guard let value = Double(cell), value.isFinite else {
                throw CLIError.invalidArgument("\(path) row \(row.line), column '\(name)': '\(cell)' is not a finite number")
            }
            return value
        }
    }
}
