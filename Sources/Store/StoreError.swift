import Foundation

/// Every error the Store module throws. Messages name the file, row (1-based data row or line) and
/// column/field involved, so that a user can fix the input without reading code.
public enum StoreError: Error, LocalizedError, Equatable, Sendable {
    /// The database file was written by a newer semprog (it records migrations this build does not know).
    case newerSchema(path: String, unknownMigrations: [String])
    /// The file could not be opened as a SQLite database.
    case cannotOpen(path: String, reason: String)
    /// A command that only reads was given a path where no database exists.
    case noDatabase(path: String)
    /// A command that only reads was given a database of an older schema (upgrading it would write).
    case olderSchema(path: String)
    /// A sweep of this name exists with different settings.
    case settingsMismatch(sweep: String, setting: String, stored: String, requested: String)
    /// No sweep of this name.
    case unknownSweep(String)
    /// `--sweep` was omitted but the database holds zero or several sweeps.
    case ambiguousSweep(available: [String])
    /// A malformed or invalid input row: file, where (1-based data row of a CSV, line of a JSONL), column, message.
    case badInput(file: String, at: InputPosition?, column: String?, message: String)
    /// A file that could not be read at all.
    case unreadable(file: String, reason: String)
    /// A gzip stream that is damaged or cut short.
    case gzip(file: String, reason: String)
    /// A Neuronpedia `modelId/layer` that does not match the SAE (without `--force`).
    case neuronpediaMismatch(file: String, row: Int?, found: String, expected: String)
    /// Fetching over HTTP failed (offline, HTTP error after retries, …).
    case network(url: String, reason: String)
    /// Merge refused (e.g. an input is also the output).
    case merge(String)
    /// Anything else that is a caller mistake (invalid argument).
    case invalidArgument(String)

    public var errorDescription: String? {
        switch self {
        case let .newerSchema(path, unknown):
            return "\(path): the database was written by a newer version of semprog (unknown schema migrations: "
                + unknown.sorted().joined(separator: ", ") + "); upgrade semprog to open it"
        case let .cannotOpen(path, reason):
            return "\(path): cannot open the database: \(reason)"
        case let .noDatabase(path):
            return "\(path): no such database"
        case let .olderSchema(path):
            return "\(path): the database was written by an older version of semprog; a command that writes to it "
                + "(for example 'semprog analyze') upgrades it first"
        case let .settingsMismatch(sweep, setting, stored, requested):
            return "sweep '\(sweep)' already exists with a different setting '\(setting)': stored \(stored), "
                + "requested \(requested); use another sweep name or the stored settings"
        case let .unknownSweep(name):
            return "no sweep named '\(name)' in the database"
        case let .ambiguousSweep(available):
            return available.isEmpty
                ? "the database holds no sweep"
                : "the database holds several sweeps (\(available.joined(separator: ", "))); name one with --sweep"
        case let .badInput(file, position, column, message):
            var location = file
            if let position { location += ": \(position)" }
            if let column { location += (position == nil ? ": " : ", ") + "column '\(column)'" }
            return "\(location): \(message)"
        case let .unreadable(file, reason):
            return "\(file): cannot read: \(reason)"
        case let .gzip(file, reason):
            return "\(file): \(reason)"
        case let .neuronpediaMismatch(file, row, found, expected):
            let at = row.map { ": line \($0)" } ?? ""
            return "\(file)\(at): Neuronpedia source '\(found)' does not match the SAE's neuronpedia_id '\(expected)'"
                + " (pass --force to import anyway)"
        case let .network(url, reason):
            return "\(url): \(reason)"
        case let .merge(message):
            return message
        case let .invalidArgument(message):
            return message
        }
    }
}

/// Where in an input file a problem is.
public enum InputPosition: Equatable, Sendable, CustomStringConvertible {
    /// The CSV header row.
    case header
    /// A 1-based CSV data row (the header is not counted) and the physical line it starts on.
    case row(Int, line: Int)
    /// A 1-based line of a JSONL file.
    case line(Int)

    public var description: String {
        switch self {
        case .header: "header row"
        case let .row(row, line): row + 1 == line ? "row \(row)" : "row \(row) (line \(line))"
        case let .line(line): "line \(line)"
        }
    }
}
