import Foundation

/// A value of the chat-template language, with Python's semantics as Jinja has them: truthiness (empty strings,
/// lists and mappings, 0 and none are false), `str()` rendering (`None`, `True`, `['a', 1]`), equality across
/// integers and floats. Mappings keep insertion order (as Python dicts, so `tojson` writes keys in order).
public indirect enum TemplateValue: Sendable {
    /// A name that is not defined (Jinja's `Undefined`): renders as "", is false, fails on attribute access.
    case undefined(String)
    case none
    case boolean(Bool)
    case integer(Int)
    case double(Double)
    case string(String)
    case list([TemplateValue])
    /// An ordered mapping from string keys.
    case mapping(TemplateMapping)
    /// A `namespace(…)` object, mutable through `{% set ns.attr = … %}` from inner scopes.
    case namespace(TemplateNamespace)
    case function(TemplateFunction)

    /// A value from Foundation JSON (`JSONSerialization` output): dictionaries become mappings with sorted keys.
    public init(json: Any) {
        switch json {
        case is NSNull: self = .none
        case let s as String: self = .string(s)
        case let n as NSNumber:
            let type = String(cString: n.objCType)
            if type == "c" || type == "B" { self = .boolean(n.boolValue) }
            else if type == "d" || type == "f" { self = .double(n.doubleValue) } else { self = .integer(n.intValue) }
        case let a as [Any]: self = .list(a.map(TemplateValue.init(json:)))
        case let d as [String: Any]:
            self = .mapping(TemplateMapping(d.keys.sorted().map { ($0, TemplateValue(json: d[$0]!)) }))
        default: self = .string(String(describing: json))
        }
    }

    var isTrue: Bool {
        switch self {
        case .undefined, .none: false
        case let .boolean(b): b
        case let .integer(i): i != 0
        case let .double(d): d != 0
        case let .string(s): !s.isEmpty
        case let .list(l): !l.isEmpty
        case let .mapping(m): !m.keys.isEmpty
        case .namespace, .function: true
        }
    }

    var isDefined: Bool { if case .undefined = self { false } else { true } }

    /// Python `str(value)`, as `{{ value }}` prints it.
    var rendered: String {
        switch self {
        case .undefined: ""
        case let .string(s): s
        default: representation
        }
    }

    /// Python `repr(value)` (strings quoted as Python quotes them), used inside lists and mappings.
    var representation: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case let .boolean(b): return b ? "True" : "False"
        case let .integer(i): return String(i)
        case let .double(d): return Self.pythonFloat(d)
        case let .string(s):
            let quote = s.contains("'") && !s.contains("\"") ? "\"" : "'"
            var out = quote
            for ch in s.unicodeScalars {
                switch ch {
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: if String(ch) == quote { out += "\\" + quote } else { out.unicodeScalars.append(ch) }
                }
            }
            return out + quote
        case let .list(l): return "[" + l.map(\.representation).joined(separator: ", ") + "]"
        case let .mapping(m): return "{" + m.pairs.map { "'\($0.0)': \($0.1.representation)" }.joined(separator: ", ") + "}"
        case let .namespace(n): return "<Namespace \(n.values.pairs.map { "'\($0.0)': \($0.1.representation)" }.joined(separator: ", "))>"
        case let .function(f): return "<function \(f.name)>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "none"
        case .boolean: "boolean"
        case .integer: "integer"
        case .double: "float"
        case .string: "string"
        case .list: "list"
        case .mapping: "mapping"
        case .namespace: "namespace"
        case .function: "function"
        }
    }

    /// Python `==` (1 == 1.0; lists and mappings element-wise).
    func equals(_ other: TemplateValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): true
        case let (.boolean(a), .boolean(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.integer(a), .double(b)), let (.double(b), .integer(a)): Double(a) == b
        case let (.double(a), .double(b)): a == b
        case let (.boolean(a), .integer(b)), let (.integer(b), .boolean(a)): (a ? 1 : 0) == b
        case let (.string(a), .string(b)): a == b
        case let (.list(a), .list(b)): a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case let (.mapping(a), .mapping(b)):
            a.keys.count == b.keys.count && a.pairs.allSatisfy { k, v in b[k].map { v.equals($0) } ?? false }
        case let (.namespace(a), .namespace(b)): a === b
        default: false
        }
    }
}

/// An insertion-ordered string-keyed mapping.
public struct TemplateMapping: Sendable {
    public private(set) var keys: [String] = []
    private var storage: [String: TemplateValue] = [:]

    public init(_ pairs: [(String, TemplateValue)] = []) { for (k, v) in pairs { self[k] = v } }

    public subscript(key: String) -> TemplateValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage[key] == nil { keys.append(key) }
                storage[key] = newValue
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var pairs: [(String, TemplateValue)] { keys.map { ($0, storage[$0]!) } }
}

/// The mutable object behind `namespace(…)`.
public final class TemplateNamespace: @unchecked Sendable {
    var values: TemplateMapping
    init(_ values: TemplateMapping) { self.values = values }
}

/// A callable value (`raise_exception`, `namespace`, macros, bound string methods).
public struct TemplateFunction: Sendable {
    let name: String
    let call: @Sendable ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue
}
