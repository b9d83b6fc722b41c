import Foundation
import GRDB

/// Neuronpedia interoperability: feature JSON as returned by `GET /api/feature/{modelId}/{layer}/{index}` and the
/// bulk exports `explanations/batch-N.jsonl.gz` / `features/batch-N.jsonl.gz`.
///
/// Fields read (all others are ignored): `modelId`, `layer` (the source id, e.g. `12-res-jb`), `index` (a string
/// or an integer), `explanations[].description` with `typeName` and `explanationModelName` (feature JSON), or
/// `description`, `typeName`, `explanationModelName` on explanation rows; `frac_nonzero` (share of tokens on which
/// the feature fires, 0…1), `maxActApprox` (max activation, SAE units), `activations[]` (`tokens`, `values`,
/// `maxValue`; stored ordered by `maxValue`, largest first), `pos_str`/`neg_str` (promoted/suppressed tokens).
///
/// Which explanation the analysis uses (`ExplanationPreference`, option `--prefer`): every feature has at most
/// one explanation with `is_preferred`. By default (`first`) an import makes the first Neuronpedia explanation of
/// the feature preferred — the first of its `explanations` array, or of its rows in file order for bulk files —
/// which is the one Neuronpedia lists first on the feature's page. `type:NAME` / `model:NAME` pick the first
/// explanation whose `typeName` / `explanationModelName` equals NAME (falling back to the first), and `keep`
/// leaves an existing preferred explanation (e.g. one made by `semprog explain`) in place.
public enum Neuronpedia {}

/// Which explanation of a feature becomes preferred on import (see `Neuronpedia`).
public enum ExplanationPreference: Sendable, Equatable, CustomStringConvertible {
    case first
    case typeName(String)
    case modelName(String)
    case keep

    /// Parses `first`, `keep`, `type:NAME` or `model:NAME`.
    public init?(argument: String) {
        if argument == "first" { self = .first; return }
        if argument == "keep" { self = .keep; return }
        if argument.hasPrefix("type:"), argument.count > 5 { self = .typeName(String(argument.dropFirst(5))); return }
        if argument.hasPrefix("model:"), argument.count > 6 { self = .modelName(String(argument.dropFirst(6))); return }
        return nil
    }

    public var description: String {
        switch self {
        case .first: "first"
        case .keep: "keep"
        case let .typeName(n): "type:\(n)"
        case let .modelName(n): "model:\(n)"
        }
    }
}

/// What semprog needs to know about an SAE to attach Neuronpedia data to it, read from SAELens' `cfg.json`.
public struct SAEDescriptor: Sendable, Equatable {
    public var path: String
    public var dSAE: Int
    public var dIn: Int
    public var hook: String
    public var architecture: String
    /// "modelId/layer", e.g. "gpt2-small/12-res-jb", when the config names it.
    public var neuronpediaId: String?

    public init(path: String, dSAE: Int, dIn: Int = 0, hook: String = "", architecture: String = "", neuronpediaId: String? = nil) {
        self.path = path; self.dSAE = dSAE; self.dIn = dIn; self.hook = hook; self.architecture = architecture
        self.neuronpediaId = neuronpediaId
    }

    /// Reads `cfg.json` in the SAE folder `path` (or `path` itself when it is a file). `d_sae` is required;
    /// `d_in`, `hook_name`, `architecture` and `neuronpedia_id` are read at the top level or under `metadata`.
    public static func read(saePath path: String) throws -> SAEDescriptor {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError.unreadable(file: path, reason: "no such SAE folder or cfg.json")
        }
        let cfg = isDirectory.boolValue ? (path as NSString).appendingPathComponent("cfg.json") : path
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: cfg)) } catch {
            throw StoreError.unreadable(file: cfg, reason: error.localizedDescription)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StoreError.badInput(file: cfg, at: nil, column: nil, message: "not a JSON object")
        }
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        func value(_ key: String) -> Any? {
            if let v = object[key], !(v is NSNull) { return v }
            if let v = metadata[key], !(v is NSNull) { return v }
            return nil
        }
        func integer(_ key: String) throws -> Int? {
            guard let v = value(key) else { return nil }
            guard let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded(), n.intValue >= 0 else {
                throw StoreError.badInput(file: cfg, at: nil, column: key, message: "expected a non-negative integer")
            }
            return n.intValue
        }
        guard let dSAE = try integer("d_sae"), dSAE > 0 else {
            throw StoreError.badInput(file: cfg, at: nil, column: "d_sae", message: "required positive integer is missing")
        }
        let folder = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        return SAEDescriptor(path: URL(fileURLWithPath: folder).standardizedFileURL.path, dSAE: dSAE,
                             dIn: try integer("d_in") ?? 0, hook: value("hook_name") as? String ?? "",
                             architecture: value("architecture") as? String ?? "",
                             neuronpediaId: value("neuronpedia_id") as? String)
    }
}

/// One Neuronpedia record after parsing: a feature (with or without explanations) or a bulk explanation row.
public struct NeuronpediaRecord: Sendable, Equatable {
    public struct Explanation: Sendable, Equatable {
        public var description: String
        public var typeName: String?
        public var explanationModelName: String?
    }
    public var modelId: String
    public var layer: String
    public var index: Int
    public var explanations: [Explanation]
    public var fractionNonzero: Double?
    public var maxActivation: Double?
    /// JSON text of the top activations (`tokens`, `values`, `max_value`), largest `maxValue` first.
    public var topContexts: String?
    /// JSON text `{"pos": pos_str, "neg": neg_str}`.
    public var promotedTokens: String?
    /// Where the record came from (file, line) for error messages.
    public var file: String
    public var line: Int?

    /// "modelId/layer", the form of SAELens' `neuronpedia_id`.
    public var source: String { "\(modelId)/\(layer)" }
}

/// What an import stored.
public struct NeuronpediaImportSummary: Sendable, Equatable {
    public var records: Int
    public var features: Int
    public var explanationsAdded: Int
    public var saeId: Int64
}

extension Neuronpedia {
    /// Reads a file: `.gz` is gunzipped first; `.json` holds one feature object (or an array of them); anything
    /// else is JSONL (one object per line; blank lines skipped).
    public static func parse(file: String) throws -> [NeuronpediaRecord] {
        var data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw StoreError.unreadable(file: file, reason: error.localizedDescription)
        }
        var name = file
        if file.lowercased().hasSuffix(".gz") {
            data = try Gzip.decompress(data, file: file)
            name = String(file.dropLast(3))
        }
        return try parse(data: data, file: file, singleDocument: name.lowercased().hasSuffix(".json"))
    }

    /// Parses JSON (`singleDocument`) or JSONL bytes; `file` names the source in errors.
    public static func parse(data: Data, file: String, singleDocument: Bool) throws -> [NeuronpediaRecord] {
        if singleDocument {
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: data) } catch {
                throw StoreError.badInput(file: file, at: nil, column: nil, message: "malformed JSON: \(FlatFile.jsonErrorReason(error))")
            }
            if let array = object as? [Any] {
                return try array.map { try record($0, file: file, line: nil) }
            }
            return [try record(object, file: file, line: nil)]
        }
        var records: [NeuronpediaRecord] = []
        var lineNumber = 0
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            lineNumber += 1
            let line = data[start..<end]
            start = end == data.endIndex ? end : data.index(after: end)
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: Data(line)) } catch {
                throw StoreError.badInput(file: file, at: .line(lineNumber), column: nil,
                                          message: "malformed JSON: \(FlatFile.jsonErrorReason(error))")
            }
            records.append(try record(object, file: file, line: lineNumber))
        }
        return records
    }

    static func record(_ object: Any, file: String, line: Int?) throws -> NeuronpediaRecord {
        let position = line.map { InputPosition.line($0) }
        func fail(_ field: String?, _ message: String) -> StoreError {
            StoreError.badInput(file: file, at: position, column: field, message: message)
        }
        guard let o = object as? [String: Any] else { throw fail(nil, "expected a JSON object") }
        func string(_ key: String, required: Bool) throws -> String? {
            guard let v = o[key], !(v is NSNull) else {
                if required { throw fail(key, "required field is missing") }
                return nil
            }
            guard let s = v as? String else { throw fail(key, "expected a string") }
            return s
        }
        func number(_ key: String) throws -> Double? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            let d: Double
            if let n = v as? NSNumber, String(cString: n.objCType) != "c" { d = n.doubleValue }
            else if let s = v as? String, let parsed = Double(s) { d = parsed }
            else { throw fail(key, "expected a number") }
            guard d.isFinite else { throw fail(key, "NaN and infinity are not allowed") }
            return d
        }
        let modelId = try string("modelId", required: true)!
        let layer = try string("layer", required: true)!
        let index: Int
        switch o["index"] {
        case let s as String:
            guard let i = Int(s), i >= 0 else { throw fail("index", "'\(s)' is not a feature index") }
            index = i
        case let n as NSNumber where String(cString: n.objCType) != "c" && n.doubleValue == n.doubleValue.rounded() && n.doubleValue >= 0:
            index = n.intValue
        case nil, is NSNull:
            throw fail("index", "required field is missing")
        default:
            throw fail("index", "expected a feature index (a string or an integer)")
        }
        var explanations: [NeuronpediaRecord.Explanation] = []
        if let description = try string("description", required: false) {  // bulk explanation row
            explanations.append(.init(description: description, typeName: try string("typeName", required: false),
                                      explanationModelName: try string("explanationModelName", required: false)))
        }
        if let list = o["explanations"], !(list is NSNull) {
            guard let array = list as? [Any] else { throw fail("explanations", "expected an array") }
            for (i, item) in array.enumerated() {
                guard let e = item as? [String: Any], let d = e["description"] as? String else {
                    throw fail("explanations[\(i)].description", "expected an object with a string description")
                }
                explanations.append(.init(description: d, typeName: e["typeName"] as? String,
                                          explanationModelName: e["explanationModelName"] as? String))
            }
        }
        let fraction = try number("frac_nonzero")
        if let fraction, !(0...1).contains(fraction) { throw fail("frac_nonzero", "\(fraction) is outside [0, 1]") }
        var maxActivation = try number("maxActApprox")
        var topContexts: String?
        if let list = o["activations"], !(list is NSNull) {
            guard let array = list as? [Any] else { throw fail("activations", "expected an array") }
            var contexts: [(Double, [String: Any])] = []
            for (i, item) in array.enumerated() {
                guard let a = item as? [String: Any] else { throw fail("activations[\(i)]", "expected an object") }
                guard let mv = a["maxValue"] as? NSNumber, mv.doubleValue.isFinite else {
                    throw fail("activations[\(i)].maxValue", "expected a number")
                }
                var context: [String: Any] = ["max_value": mv.doubleValue]
                if let tokens = a["tokens"] as? [String] { context["tokens"] = tokens }
                if let values = a["values"] as? [NSNumber] { context["values"] = values.map(\.doubleValue) }
                contexts.append((mv.doubleValue, context))
            }
            contexts.sort { $0.0 > $1.0 }
            if maxActivation == nil, let top = contexts.first { maxActivation = top.0 }
            if !contexts.isEmpty { topContexts = jsonText(contexts.map(\.1)) }
        }
        var promoted: [String: Any] = [:]
        if let pos = o["pos_str"] as? [String] { promoted["pos"] = pos }
        if let neg = o["neg_str"] as? [String] { promoted["neg"] = neg }
        return NeuronpediaRecord(modelId: modelId, layer: layer, index: index, explanations: explanations,
                                 fractionNonzero: fraction, maxActivation: maxActivation, topContexts: topContexts,
                                 promotedTokens: promoted.isEmpty ? nil : jsonText(promoted), file: file, line: line)
    }

    static func jsonText(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension StoreDatabase {
    /// Imports Neuronpedia files (feature JSON, bulk JSONL, gzipped or not) against an SAE in ONE transaction:
    /// all files are parsed and checked before anything is written, so any error leaves the database unchanged.
    ///
    /// Checks: every index must be < the SAE's `d_sae` (always an error); every record's `modelId/layer` must equal
    /// the SAE's `neuronpedia_id` (from cfg.json, else as stored earlier); without one, all records must agree and
    /// their source is stored as the SAE's `neuronpedia_id`. Mapping errors are waived by `force`.
    /// Re-importing the same files adds nothing (explanations are matched by text, type and model).
    @discardableResult
    public func importNeuronpedia(files: [String], sae: SAEDescriptor, force: Bool = false,
                                  preference: ExplanationPreference = .first) throws -> NeuronpediaImportSummary {
        var records: [NeuronpediaRecord] = []
        for file in files { records += try Neuronpedia.parse(file: file) }
        return try importNeuronpedia(records: records, sae: sae, force: force, preference: preference)
    }

    /// Imports parsed records (see `importNeuronpedia(files:…)`).
    public func importNeuronpedia(records: [NeuronpediaRecord], sae: SAEDescriptor, force: Bool = false,
                                  preference: ExplanationPreference = .first) throws -> NeuronpediaImportSummary {
        for r in records where r.index >= sae.dSAE {
            throw StoreError.badInput(file: r.file, at: r.line.map { .line($0) }, column: "index",
                                      message: "feature index \(r.index) is beyond the SAE's size (d_sae = \(sae.dSAE), \(sae.path))")
        }
        let stored = try read { db in
            try SAERecord.filter(Column("path") == sae.path).fetchOne(db)?.neuronpediaId
        }
        var expected = sae.neuronpediaId ?? stored
        if !force {
            if expected == nil, let first = records.first { expected = first.source }
            if let expected, let bad = records.first(where: { $0.source != expected }) {
                throw StoreError.neuronpediaMismatch(file: bad.file, row: bad.line, found: bad.source, expected: expected)
            }
        }
        let neuronpediaId = sae.neuronpediaId ?? stored ?? (force ? nil : expected)
        return try write { db in
            let saeId = try Self.registerSAE(db, SAERecord(path: sae.path, hook: sae.hook, dIn: sae.dIn, dSAE: sae.dSAE,
                                                           architecture: sae.architecture, neuronpediaId: neuronpediaId))
            let updateStats = try db.cachedStatement(sql: """
                UPDATE features SET fraction_nonzero = COALESCE(?, fraction_nonzero), max_activation = COALESCE(?, max_activation),
                    top_contexts = COALESCE(?, top_contexts), promoted_tokens = COALESCE(?, promoted_tokens) WHERE id = ?
                """)
            let findExplanation = try db.cachedStatement(sql: """
                SELECT id FROM explanations WHERE feature_id = ? AND source = 'neuronpedia' AND text = ?
                    AND type_name IS ? AND model_name IS ?
                """)
            let insertExplanation = try db.cachedStatement(sql: """
                INSERT INTO explanations (feature_id, source, type_name, model_name, text, is_preferred)
                VALUES (?, 'neuronpedia', ?, ?, ?, 0)
                """)
            var candidates: [Int64: [(id: Int64, explanation: NeuronpediaRecord.Explanation)]] = [:]
            var featureOrder: [Int64] = []
            var added = 0
            for r in records {
                let featureId = try Self.featureId(db, saeId: saeId, featureIndex: r.index)
                if candidates[featureId] == nil { candidates[featureId] = []; featureOrder.append(featureId) }
                try updateStats.execute(arguments: [r.fractionNonzero, r.maxActivation, r.topContexts, r.promotedTokens, featureId])
                for e in r.explanations {
                    let id: Int64
                    if let existing = try Int64.fetchOne(findExplanation, arguments: [featureId, e.description, e.typeName, e.explanationModelName]) {
                        id = existing
                    } else {
                        try insertExplanation.execute(arguments: [featureId, e.typeName, e.explanationModelName, e.description])
                        id = db.lastInsertedRowID
                        added += 1
                    }
                    if !candidates[featureId]!.contains(where: { $0.id == id }) { candidates[featureId]!.append((id, e)) }
                }
            }
            let hasPreferred = try db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM explanations WHERE feature_id = ? AND is_preferred)")
            let prefer = try db.cachedStatement(sql: "UPDATE explanations SET is_preferred = (id = ?) WHERE feature_id = ?")
            for featureId in featureOrder {
                let list = candidates[featureId]!
                guard let fallback = list.first else { continue }
                let chosen: Int64
                switch preference {
                case .first: chosen = fallback.id
                case .keep:
                    if try Bool.fetchOne(hasPreferred, arguments: [featureId]) ?? false { continue }
                    chosen = fallback.id
                case let .typeName(name): chosen = (list.first { $0.explanation.typeName == name } ?? fallback).id
                case let .modelName(name): chosen = (list.first { $0.explanation.explanationModelName == name } ?? fallback).id
                }
                try prefer.execute(arguments: [chosen, featureId])
            }
            return NeuronpediaImportSummary(records: records.count, features: featureOrder.count, explanationsAdded: added, saeId: saeId)
        }
    }
}
