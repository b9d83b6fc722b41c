import Foundation

/// RFC 4180 CSV: records separated by CRLF (LF accepted on input), fields separated by commas; a field that
/// contains a comma, a double quote, CR or LF is enclosed in double quotes and its quotes are doubled.
/// Blank lines are skipped on input; a leading UTF-8 byte-order mark is ignored.
public enum CSV {
    /// One parsed record: its fields and the 1-based physical line it starts on.
    public struct Record: Sendable, Equatable {
        public var fields: [String]
        public var line: Int
    }

    /// A syntax error: 1-based record number (header = 1), line, 0-based field index, message.
    public struct SyntaxError: Error, Sendable {
        public var record: Int
        public var line: Int
        public var field: Int
        public var message: String
        /// The fields of the first record (the header) when it was read before the error.
        public var header: [String]?
    }

    /// Parses all records of `text`.
    public static func parse(_ text: String) throws(SyntaxError) -> [Record] {
        let bytes = Array(text.utf8)
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let n = bytes.count
        var line = 1
        var records: [Record] = []
        while i < n {
            let startLine = line
            var fields: [String] = []
            var sawQuotedField = false
            var recordDone = false
            while !recordDone {
                var field: [UInt8] = []
                if i < n, bytes[i] == quote {
                    sawQuotedField = true
                    let fieldLine = line
                    i += 1
                    var closed = false
                    while i < n {
                        let b = bytes[i]
                        if b == quote {
                            if i + 1 < n, bytes[i + 1] == quote { field.append(quote); i += 2; continue }
                            i += 1; closed = true; break
                        }
                        if b == lf { line += 1 }
                        field.append(b); i += 1
                    }
                    if !closed {
                        throw SyntaxError(record: records.count + 1, line: fieldLine, field: fields.count,
                                          message: "unterminated quoted field (a \" opened on line \(fieldLine) is never closed)",
                                          header: records.first?.fields)
                    }
                    if i < n, bytes[i] != comma, bytes[i] != cr, bytes[i] != lf {
                        throw SyntaxError(record: records.count + 1, line: line, field: fields.count,
                                          message: "unexpected character after a closing quote (quotes inside a quoted field must be doubled)",
                                          header: records.first?.fields)
                    }
                } else {
                    while i < n, bytes[i] != comma, bytes[i] != cr, bytes[i] != lf {
                        if bytes[i] == quote {
                            throw SyntaxError(record: records.count + 1, line: line, field: fields.count,
                                              message: "a double quote inside an unquoted field (enclose the field in quotes and double the quote)",
                                              header: records.first?.fields)
                        }
                        field.append(bytes[i]); i += 1
                    }
                }
                fields.append(String(decoding: field, as: UTF8.self))
                if i < n, bytes[i] == comma {
                    i += 1
                    if i >= n { fields.append("") ; recordDone = true }
                } else {
                    if i < n, bytes[i] == cr { i += 1 }
                    if i < n, bytes[i] == lf { i += 1 }
                    line += 1
                    recordDone = true
                }
            }
            if fields.count == 1, fields[0].isEmpty, !sawQuotedField { continue }  // blank line
            records.append(Record(fields: fields, line: startLine))
        }
        return records
    }

    /// One field, quoted when needed.
    public static func escape(_ field: String) -> String {
        if field.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") })
            || field.isEmpty == false && (field.first!.isWhitespace || field.last!.isWhitespace) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }

    /// A record line ending in CRLF.
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\r\n"
    }
}
