import Foundation
import Units

/// The flat exchange format for sweeps made elsewhere (for example in a SAELens/TransformerLens notebook on a
/// GPU): one row per generation, as CSV (RFC 4180, header row, UTF-8) or JSONL (one JSON object per line).
///
/// Columns (any order in CSV; keys in JSONL):
///
/// | column             | required | type              | meaning                                                        |
/// |--------------------|----------|-------------------|----------------------------------------------------------------|
/// | `feature`          | yes      | integer ≥ 0       | SAE feature (latent) index                                     |
/// | `prompt`           | yes      | text              | the prompt                                                     |
/// | `magnitude`        | yes      | finite number     | steering magnitude as requested, in `magnitude_unit`           |
/// | `magnitude_unit`   | no       | `absolute`, `max-activation` or `factor` | the unit of `magnitude` (one per sweep; default `--units`) |
/// | `absolute_target`  | no       | finite number     | the activation the edit applied (clamp's target, add's increment; none for scale) |
/// | `output`           | yes      | text              | the steered continuation (may be empty)                        |
/// | `baseline`         | no       | text              | the unsteered continuation of the prompt (same on every row of the prompt) |
/// | `description`      | no       | text              | a description of `output` (stored with describer `import`)     |
/// | `explanation`      | no       | text              | an explanation of the feature (same on every row of the feature) |
/// | `fraction_nonzero` | no       | number in [0, 1]  | share of tokens on which the feature fires                     |
/// | `max_activation`   | no       | finite number     | the feature's maximum activation (SAE units)                   |
/// | `model`            | no       | text              | model name or path (one per file)                              |
/// | `sae`              | no       | text              | SAE name or path (one per file)                                |
///
/// Rules: unknown columns are errors (a misspelt column would otherwise be dropped silently); an empty CSV
/// cell, a JSON `null`, a missing key or an empty string mean "absent" for the optional columns; NaN and
/// infinities are refused; each (feature, prompt, magnitude) appears once. Numbers in JSONL may also be
/// given as strings ("1.5"). Export writes CSV with CRLF line ends, quoting only where needed, numbers in
/// their shortest exact form, and only the optional columns that hold a value; so import → export → import
/// reproduces the database rows exactly (unicode, newlines, quotes and commas included).
public enum FlatFormat: String, Sendable, CaseIterable {
    case csv, jsonl

    /// The format of a file from its extension (.csv; .jsonl or .ndjson), or nil.
    public init?(path: String) {
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": self = .csv
        case "jsonl", "ndjson": self = .jsonl
        default: return nil
        }
    }
}

/// A column of the flat format.
public enum FlatColumn: String, Sendable, CaseIterable {
    case feature, prompt, magnitude, magnitudeUnit = "magnitude_unit", absoluteTarget = "absolute_target"
    case output, baseline, description, explanation
    case fractionNonzero = "fraction_nonzero", maxActivation = "max_activation", model, sae

    public static let required: [FlatColumn] = [.feature, .prompt, .magnitude, .output]
}

/// One row of the flat format.
public struct FlatRow: Sendable, Equatable {
    public var feature: Int
    public var prompt: String
    public var magnitude: Double
    public var magnitudeUnit: MagnitudeUnit?
    public var absoluteTarget: Double?
    public var output: String
    public var baseline: String?
    public var description: String?
    public var explanation: String?
    public var fractionNonzero: Double?
    public var maxActivation: Double?
    public var model: String?
    public var sae: String?

    public init(feature: Int, prompt: String, magnitude: Double, magnitudeUnit: MagnitudeUnit? = nil,
                absoluteTarget: Double? = nil, output: String, baseline: String? = nil,
                description: String? = nil, explanation: String? = nil, fractionNonzero: Double? = nil,
                maxActivation: Double? = nil, model: String? = nil, sae: String? = nil) {
        self.magnitudeUnit = magnitudeUnit; self.absoluteTarget = absoluteTarget
        self.feature = feature; self.prompt = prompt; self.magnitude = magnitude; self.output = output
        self.baseline = baseline; self.description = description; self.explanation = explanation
        self.fractionNonzero = fractionNonzero; self.maxActivation = maxActivation; self.model = model; self.sae = sae
    }

    /// The value of a column as text (nil when absent); numbers in their shortest exact form.
    public func text(_ column: FlatColumn) -> String? {
        switch column {
        case .feature: String(feature)
        case .prompt: prompt
        case .magnitude: FlatFile.format(magnitude)
        case .magnitudeUnit: magnitudeUnit?.rawValue
        case .absoluteTarget: absoluteTarget.map(FlatFile.format)
        case .output: output
        case .baseline: baseline
        case .description: description
        case .explanation: explanation
        case .fractionNonzero: fractionNonzero.map(FlatFile.format)
        case .maxActivation: maxActivation.map(FlatFile.format)
        case .model: model
        case .sae: sae
        }
    }
}

/// Reading and writing flat files.
public enum FlatFile {
    /// A parsed file: its rows and where each came from (for error messages about later conflicts).
    public struct Parsed: Sendable {
        public var rows: [FlatRow]
        public var positions: [InputPosition]
    }

    /// Shortest text that parses back to the same Double ("2.0", "0.1", "1e-05").
    public static func format(_ value: Double) -> String { "\(value)" }

    /// Parses and validates a whole file. `file` is the name used in errors.
    public static func parse(_ data: Data, format: FlatFormat, file: String) throws -> Parsed {
        guard let text = String(data: data, encoding: .utf8) else {
            throw StoreError.unreadable(file: file, reason: "the file is not valid UTF-8")
        }
        let parsed: Parsed
        switch format {
        case .csv: parsed = try parseCSV(text, file: file)
        case .jsonl: parsed = try parseJSONL(text, file: file)
        }
        // Duplicate cells.
        struct Key: Hashable { var feature: Int; var prompt: String; var magnitude: Double }
        var seen: [Key: InputPosition] = [:]
        for (row, position) in zip(parsed.rows, parsed.positions) {
            let key = Key(feature: row.feature, prompt: row.prompt, magnitude: row.magnitude)
            if let first = seen[key] {
                throw StoreError.badInput(file: file, at: position, column: "magnitude",
                                          message: "duplicate (feature, prompt, magnitude) = (\(row.feature), \(preview(row.prompt)), \(Self.format(row.magnitude))); first at \(first)")
            }
            seen[key] = position
        }
        return parsed
    }

    static func preview(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: "⏎")
        return "\"" + (flat.count > 40 ? String(flat.prefix(40)) + "…" : flat) + "\""
    }

    /// A cell before validation.
    enum RawValue {
        case text(String)
        case number(Double, isInteger: Bool)
        case absent
        case invalid(String)  // a JSON type that is neither string, number nor null
    }

    private static func parseCSV(_ text: String, file: String) throws -> Parsed {
        let records: [CSV.Record]
        do {
            records = try CSV.parse(text)
        } catch {
            let position: InputPosition = error.record == 1 ? .header : .row(error.record - 1, line: error.line)
            let column = error.header.flatMap { error.field < $0.count ? $0[error.field] : nil }
            throw StoreError.badInput(file: file, at: position, column: column, message: error.message)
        }
        guard let header = records.first else {
            throw StoreError.badInput(file: file, at: .header, column: nil, message: "the file is empty (a header row is required)")
        }
        var columns: [FlatColumn] = []
        for name in header.fields {
            guard let column = FlatColumn(rawValue: name) else {
                throw StoreError.badInput(file: file, at: .header, column: name, message: "unknown column (known: \(FlatColumn.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if columns.contains(column) {
                throw StoreError.badInput(file: file, at: .header, column: name, message: "column appears twice")
            }
            columns.append(column)
        }
        for required in FlatColumn.required where !columns.contains(required) {
            throw StoreError.badInput(file: file, at: .header, column: required.rawValue, message: "required column is missing")
        }
        var rows: [FlatRow] = [], positions: [InputPosition] = []
        for (index, record) in records.dropFirst().enumerated() {
            let position = InputPosition.row(index + 1, line: record.line)
            guard record.fields.count == columns.count else {
                let column = record.fields.count < columns.count ? columns[record.fields.count].rawValue : nil
                throw StoreError.badInput(file: file, at: position, column: column,
                                          message: "the row has \(record.fields.count) fields but the header has \(columns.count)")
            }
            var values: [FlatColumn: RawValue] = [:]
            for (column, field) in zip(columns, record.fields) { values[column] = field.isEmpty ? .absent : .text(field) }
            // Required text columns may be empty strings in CSV.
            for column in [FlatColumn.prompt, .output] where values[column].map({ if case .absent = $0 { true } else { false } }) ?? false {
                values[column] = .text("")
            }
            rows.append(try makeRow(values, file: file, at: position))
            positions.append(position)
        }
        return Parsed(rows: rows, positions: positions)
    }

    private static func parseJSONL(_ text: String, file: String) throws -> Parsed {
        var rows: [FlatRow] = [], positions: [InputPosition] = []
        var lineNumber = 0
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text  // a UTF-8 byte-order mark
        // Split on unicode scalars: "\r\n" is one Swift Character, so Character-based splitting would keep CRLF
        // lines together (and JSONSerialization then meets the next line's text).
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var scalars = String.UnicodeScalarView(rawLine)
            if scalars.last == "\r" { scalars.removeLast() }
            let line = String(scalars)
            if line.allSatisfy(\.isWhitespace) { continue }
            let position = InputPosition.line(lineNumber)
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [])
            } catch {
                throw StoreError.badInput(file: file, at: position, column: nil, message: "malformed JSON: \(jsonErrorReason(error))")
            }
            guard let dictionary = object as? [String: Any] else {
                throw StoreError.badInput(file: file, at: position, column: nil, message: "expected a JSON object")
            }
            var values: [FlatColumn: RawValue] = [:]
            for (key, value) in dictionary {
                guard let column = FlatColumn(rawValue: key) else {
                    throw StoreError.badInput(file: file, at: position, column: key, message: "unknown column (known: \(FlatColumn.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                values[column] = rawValue(value)
            }
            for required in FlatColumn.required where values[required] == nil {
                throw StoreError.badInput(file: file, at: position, column: required.rawValue, message: "required column is missing")
            }
            rows.append(try makeRow(values, file: file, at: position))
            positions.append(position)
        }
        return Parsed(rows: rows, positions: positions)
    }

    static func jsonErrorReason(_ error: Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }

    static func rawValue(_ value: Any) -> RawValue {
        if value is NSNull { return .absent }
        if let s = value as? String { return .text(s) }
        if let n = value as? NSNumber {
            let type = String(cString: n.objCType)
            if type == "c" { return .invalid("a boolean") }  // JSON true/false (`is Bool` also matches 0 and 1 on Linux)
            let d = n.doubleValue
            return .number(d, isInteger: d.rounded() == d && type != "d" && type != "f")
        }
        if value is [Any] { return .invalid("an array") }
        return .invalid("an object")
    }

    private static func makeRow(_ values: [FlatColumn: RawValue], file: String, at position: InputPosition) throws -> FlatRow {
        func fail(_ column: FlatColumn, _ message: String) -> StoreError {
            StoreError.badInput(file: file, at: position, column: column.rawValue, message: message)
        }
        func text(_ column: FlatColumn, required: Bool) throws -> String? {
            switch values[column] ?? .absent {
            case .absent: if required { throw fail(column, "required value is missing") } else { return nil }
            case let .text(s):
                // SQLite's C strings end at U+0000: a NUL would silently cut the stored text.
                if s.unicodeScalars.contains("\u{0}") {
                    throw fail(column, "contains a NUL character (U+0000), which semprog does not store")
                }
                return required || !s.isEmpty ? s : nil
            case .number: throw fail(column, "expected text, found a number")
            case let .invalid(kind): throw fail(column, "expected text, found \(kind)")
            }
        }
        func number(_ column: FlatColumn, required: Bool) throws -> Double? {
            let value: Double
            switch values[column] ?? .absent {
            case .absent:
                if required { throw fail(column, "required value is missing") }
                return nil
            case let .text(s):
                if s.isEmpty && !required { return nil }
                guard let d = Double(s) else { throw fail(column, "'\(s)' is not a number") }
                value = d
            case let .number(d, _): value = d
            case let .invalid(kind): throw fail(column, "expected a number, found \(kind)")
            }
            guard value.isFinite else { throw fail(column, "NaN and infinity are not allowed") }
            return value == 0 ? 0 : value  // -0 → 0
        }
        let feature: Int
        switch values[.feature] ?? .absent {
        case let .text(s):
            guard let i = Int(s), i >= 0 else { throw fail(.feature, "'\(s)' is not a feature index (an integer ≥ 0)") }
            feature = i
        case let .number(d, isInteger):
            guard isInteger, d >= 0, d < 9.0e15 else { throw fail(.feature, "\(d) is not a feature index (an integer ≥ 0)") }
            feature = Int(d)
        case .absent: throw fail(.feature, "required value is missing")
        case let .invalid(kind): throw fail(.feature, "expected an integer, found \(kind)")
        }
        var unit: MagnitudeUnit?
        if let u = try text(.magnitudeUnit, required: false) {
            guard let parsed = MagnitudeUnit(parsing: u), u != "imported" else {
                throw fail(.magnitudeUnit, "'\(u)' is not a magnitude unit (\(MagnitudeUnit.cliNames.joined(separator: ", ")))")
            }
            unit = parsed
        }
        let fraction = try number(.fractionNonzero, required: false)
        if let fraction, !(0...1).contains(fraction) {
            throw fail(.fractionNonzero, "\(fraction) is outside [0, 1]")
        }
        return FlatRow(feature: feature, prompt: try text(.prompt, required: true)!,
                       magnitude: try number(.magnitude, required: true)!, magnitudeUnit: unit,
                       absoluteTarget: try number(.absoluteTarget, required: false), output: try text(.output, required: true)!,
                       baseline: try text(.baseline, required: false), description: try text(.description, required: false),
                       explanation: try text(.explanation, required: false), fractionNonzero: fraction,
                       maxActivation: try number(.maxActivation, required: false),
                       model: try text(.model, required: false), sae: try text(.sae, required: false))
    }

    // MARK: Writing

    /// Serialises rows with the given columns (required ones are always written first).
    public static func write(_ rows: [FlatRow], optionalColumns: [FlatColumn], format: FlatFormat) -> Data {
        let columns = FlatColumn.required + FlatColumn.allCases.filter { optionalColumns.contains($0) && !FlatColumn.required.contains($0) }
        var out = ""
        switch format {
        case .csv:
            out += CSV.line(columns.map(\.rawValue))
            for row in rows { out += CSV.line(columns.map { row.text($0) ?? "" }) }
        case .jsonl:
            for row in rows {
                var parts: [String] = []
                for column in columns {
                    guard let value = row.text(column) else { continue }
                    let encoded: String
                    switch column {
                    case .feature, .magnitude, .absoluteTarget, .fractionNonzero, .maxActivation: encoded = value
                    default: encoded = jsonString(value)
                    }
                    parts.append(jsonString(column.rawValue) + ":" + encoded)
                }
                out += "{" + parts.joined(separator: ",") + "}\n"
            }
        }
        return Data(out.utf8)
    }

    /// A JSON string literal (RFC 8259 escapes; non-ASCII written as is).
    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
