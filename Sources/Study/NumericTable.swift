import Foundation
import Store

/// A CSV file (RFC 4180, read by `Store.CSV`) with a header row, from which numeric columns are taken: what
/// `semprog stats` computes its statistics on. Errors name the file, row (1-based physical line; the header is
/// row 1) and column.
public struct NumericTable {
    public let path: String
    public let header: [String]
    /// Data rows with the 1-based line each starts on.
    let rows: [CSV.Record]

    /// Reads and parses the whole file.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StudyError.invalidArgument("\(path): cannot read the file (missing or unreadable)")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), path: path)
    }

    /// Parses `text` as the contents of `path` (the path is only used in messages).
    public init(text: String, path: String) throws {
        self.path = path
        let records: [CSV.Record]
        do { records = try CSV.parse(text) } catch {
            throw StudyError.invalidArgument("\(path) row \(error.line): \(error.message)")
        }
        guard let first = records.first else { throw StudyError.invalidArgument("\(path): the file is empty (expected a header row)") }
        header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        rows = Array(records.dropFirst())
    }

    /// Number of data rows.
    public var rowCount: Int { rows.count }

    /// The named column as numbers. Throws naming the file, row and column for a missing column, a short row, or
    /// a cell that is empty, not a number, or not finite.
    public func numericColumn(_ name: String) throws -> [Double] {
        guard let column = header.firstIndex(of: name) else {
            throw StudyError.invalidArgument("\(path): no column '\(name)' in the header (columns: \(header.joined(separator: ", ")))")
        }
        return try rows.map { row in
            guard column < row.fields.count else {
                throw StudyError.invalidArgument("\(path) row \(row.line): has \(row.fields.count) field(s), no value for column '\(name)'")
            }
            let cell = row.fields[column].trimmingCharacters(in: .whitespaces)
            guard let value = Double(cell), value.isFinite else {
                throw StudyError.invalidArgument("\(path) row \(row.line), column '\(name)': '\(cell)' is not a finite number")
            }
            return value
        }
    }
}
