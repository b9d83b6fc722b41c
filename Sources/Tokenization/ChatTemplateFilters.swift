import Foundation

/// The filters, tests, operators and string/mapping methods of the chat-template interpreter, with the
/// semantics of Jinja 3.1 (`filters.py`, `tests.py`) over Python values; `tojson` is transformers' own
/// (`json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`), not Jinja's
/// HTML-safe one.
enum TemplateFilters {
    static func fail(_ reason: String) -> BPETokenizerError { .chatTemplate(line: 0, reason: reason) }

    static func keyword(_ kwargs: [(String, TemplateValue)], _ name: String) -> TemplateValue? { kwargs.first { $0.0 == name }?.1 }

    static func apply(_ name: String, _ value: TemplateValue, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws -> TemplateValue {
        switch name {
        case "trim":
            return .string(strip(value.rendered, args.first.flatMap { $0.isDefined && !isNone($0) ? $0.rendered : nil }, leading: true, trailing: true))
        case "length", "count":
            switch value {
            case let .string(s): return .integer(s.count)
            case let .list(l): return .integer(l.count)
            case let .mapping(m): return .integer(m.keys.count)
            case .undefined: return .integer(0)
            default: throw fail("a \(value.typeName) has no length")
            }
        case "tojson":
            let indent: Int? = { if case let .integer(i)? = args.first ?? keyword(kwargs, "indent") { return i }; return nil }()
            let sortKeys = (keyword(kwargs, "sort_keys") ?? (args.count > 1 ? args[1] : nil))?.isTrue ?? false
            var separators: (String, String) = indent == nil ? (", ", ": ") : (",", ": ")
            if case let .list(sep)? = keyword(kwargs, "separators"), sep.count == 2 { separators = (sep[0].rendered, sep[1].rendered) }
            return .string(try json(value, indent: indent, level: 0, separators: separators, sortKeys: sortKeys))
        case "default", "d":
            let fallback = args.first ?? .string("")
            let boolean = (args.count > 1 ? args[1] : keyword(kwargs, "boolean"))?.isTrue ?? false
            if !value.isDefined || (boolean && !value.isTrue) { return fallback }
            return value
        case "upper": return .string(value.rendered.uppercased())
        case "lower": return .string(value.rendered.lowercased())
        case "capitalize":
            let s = value.rendered
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "title": return .string(value.rendered.capitalized)
        case "string": return .string(value.rendered)
        case "safe": return value
        case "int":
            switch value {
            case let .integer(i): return .integer(i)
            case let .double(d): return .integer(Int(d))
            case let .string(s): return .integer(Int(s.trimmingCharacters(in: .whitespaces)) ?? 0)
            case let .boolean(b): return .integer(b ? 1 : 0)
            default: return .integer(0)
            }
        case "float":
            switch value {
            case let .integer(i): return .double(Double(i))
            case let .double(d): return .double(d)
            case let .string(s): return .double(Double(s.trimmingCharacters(in: .whitespaces)) ?? 0)
            default: return .double(0)
            }
        case "abs":
            switch value {
            case let .integer(i): return .integer(abs(i))
            case let .double(d): return .double(abs(d))
            default: throw fail("abs of a \(value.typeName)")
            }
        case "first", "last", "reverse", "list":
            let items: [TemplateValue]
            switch value {
            case let .list(l): items = l
            case let .string(s): items = s.map { .string(String($0)) }
            case let .mapping(m): items = m.keys.map { .string($0) }
            case .undefined: items = []
            default: throw fail("'\(name)' of a \(value.typeName)")
            }
            if name == "first" { return items.first ?? .undefined("first") }
            if name == "last" { return items.last ?? .undefined("last") }
            if name == "reverse" {
                if case let .string(s) = value { return .string(String(s.reversed())) }
                return .list(items.reversed())
            }
            return .list(items)
        case "join":
            let separator = args.first?.rendered ?? keyword(kwargs, "d")?.rendered ?? ""
            guard case let .list(l) = value else { return .string(value.rendered) }
            if let attribute = keyword(kwargs, "attribute")?.rendered ?? (args.count > 1 ? args[1].rendered : nil) {
                return .string(l.map { element($0, attribute).rendered }.joined(separator: separator))
            }
            return .string(l.map(\.rendered).joined(separator: separator))
        case "replace":
            guard args.count >= 2 else { throw fail("replace needs (old, new)") }
            return .string(value.rendered.replacingOccurrences(of: args[0].rendered, with: args[1].rendered))
        case "items":
            guard case let .mapping(m) = value else {
                if case .undefined = value { return .list([]) }
                throw fail("items of a \(value.typeName)")
            }
            return .list(m.pairs.map { .list([.string($0.0), $0.1]) })
        case "selectattr", "rejectattr":
            guard case let .list(l) = value, let attribute = args.first?.rendered else { throw fail("\(name) needs a list and an attribute") }
            let keep = name == "selectattr"
            return .list(try l.filter { item in
                let v = element(item, attribute)
                let passed = args.count > 1 ? try test(args[1].rendered, v, Array(args.dropFirst(2))) : v.isTrue
                return passed == keep
            })
        case "select", "reject":
            guard case let .list(l) = value else { throw fail("\(name) of a \(value.typeName)") }
            let keep = name == "select"
            return .list(try l.filter { item in
                let passed = args.isEmpty ? item.isTrue : try test(args[0].rendered, item, Array(args.dropFirst()))
                return passed == keep
            })
        case "map":
            guard case let .list(l) = value else { throw fail("map of a \(value.typeName)") }
            if let attribute = keyword(kwargs, "attribute")?.rendered { return .list(l.map { element($0, attribute) }) }
            guard let filterName = args.first?.rendered else { throw fail("map needs a filter or attribute=") }
            return .list(try l.map { try apply(filterName, $0, Array(args.dropFirst()), []) })
        default:
            throw fail("unsupported filter '\(name)'")
        }
    }

    private static func isNone(_ v: TemplateValue) -> Bool { if case .none = v { true } else { false } }

    private static func element(_ item: TemplateValue, _ attribute: String) -> TemplateValue {
        if case let .mapping(m) = item { return m[attribute] ?? .undefined(attribute) }
        return .undefined(attribute)
    }

    static func test(_ name: String, _ value: TemplateValue, _ args: [TemplateValue]) throws -> Bool {
        switch name {
        case "defined": return value.isDefined
        case "undefined": return !value.isDefined
        case "none": return isNone(value)
        case "string": if case .string = value { return true } else { return false }
        case "number": switch value { case .integer, .double: return true; default: return false }
        case "integer": if case .integer = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "boolean": if case .boolean = value { return true } else { return false }
        case "true": if case .boolean(true) = value { return true } else { return false }
        case "false": if case .boolean(false) = value { return true } else { return false }
        case "mapping": switch value { case .mapping: return true; default: return false }
        case "sequence": switch value { case .list, .string, .mapping: return true; default: return false }
        case "iterable": switch value { case .list, .string, .mapping: return true; default: return false }
        case "callable": if case .function = value { return true } else { return false }
        case "even", "odd", "divisibleby":
            guard case let .integer(i) = value else { throw fail("'\(name)' of a \(value.typeName)") }
            if name == "even" { return i % 2 == 0 }
            if name == "odd" { return i % 2 != 0 }
            guard case let .integer(d)? = args.first, d != 0 else { throw fail("divisibleby needs a non-zero integer") }
            return i % d == 0
        case "equalto", "eq", "==": return args.first.map { value.equals($0) } ?? false
        case "ne", "!=": return !(args.first.map { value.equals($0) } ?? false)
        case "sameas":
            guard let other = args.first else { return false }
            switch (value, other) {
            case (.none, .none): return true
            case let (.boolean(a), .boolean(b)): return a == b
            default: return value.equals(other) && value.typeName == other.typeName
            }
        case "lower": return value.rendered == value.rendered.lowercased()
        case "upper": return value.rendered == value.rendered.uppercased()
        case "in": return try binary("in", value, args.first ?? .list([])).isTrue
        case "lt", "<", "gt", ">", "le", "<=", "ge", ">=":
            let op = ["lt": "<", "gt": ">", "le": "<=", "ge": ">="][name] ?? name
            return try binary(op, value, args.first ?? .none).isTrue
        default: throw fail("unsupported test '\(name)'")
        }
    }

    static func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws -> TemplateValue {
        switch op {
        case "==": return .boolean(a.equals(b))
        case "!=": return .boolean(!a.equals(b))
        case "~": return .string(a.rendered + b.rendered)
        case "in", "not in":
            let found: Bool
            switch b {
            case let .string(s): found = a.rendered.isEmpty || s.contains(a.rendered)
            case let .list(l): found = l.contains { $0.equals(a) }
            case let .mapping(m): found = m[a.rendered] != nil
            case .undefined: found = false
            default: throw fail("'in' needs a string, list or mapping on the right, not a \(b.typeName)")
            }
            return .boolean(found == (op == "in"))
        case "<", "<=", ">", ">=":
            let order: Int
            switch (a, b) {
            case let (.string(x), .string(y)): order = x < y ? -1 : x == y ? 0 : 1
            default:
                guard let x = number(a), let y = number(b) else { throw fail("cannot compare a \(a.typeName) with a \(b.typeName)") }
                order = x < y ? -1 : x == y ? 0 : 1
            }
            let result = op == "<" ? order < 0 : op == "<=" ? order <= 0 : op == ">" ? order > 0 : order >= 0
            return .boolean(result)
        case "+":
            switch (a, b) {
            case let (.string(x), .string(y)): return .string(x + y)
            case let (.list(x), .list(y)): return .list(x + y)
            case let (.integer(x), .integer(y)): return .integer(x + y)
            default:
                guard let x = number(a), let y = number(b) else { throw fail("cannot add a \(a.typeName) and a \(b.typeName)") }
                return .double(x + y)
            }
        case "-", "*", "/", "//", "%", "**":
            if op == "*", case let .string(s) = a, case let .integer(n) = b { return .string(String(repeating: s, count: max(n, 0))) }
            if case let .integer(x) = a, case let .integer(y) = b, op != "/" {
                switch op {
                case "-": return .integer(x - y)
                case "*": return .integer(x * y)
                case "**": return y >= 0 ? .integer(Int(pow(Double(x), Double(y)))) : .double(pow(Double(x), Double(y)))
                default:
                    guard y != 0 else { throw fail("integer division or modulo by zero") }
                    let q = Int((Double(x) / Double(y)).rounded(.down))
                    return op == "//" ? .integer(q) : .integer(x - q * y)
                }
            }
            guard let x = number(a), let y = number(b) else { throw fail("cannot apply '\(op)' to a \(a.typeName) and a \(b.typeName)") }
            switch op {
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "**": return .double(pow(x, y))
            case "/": guard y != 0 else { throw fail("division by zero") }; return .double(x / y)
            case "//": guard y != 0 else { throw fail("division by zero") }; return .double((x / y).rounded(.down))
            default: guard y != 0 else { throw fail("modulo by zero") }; return .double(x - (x / y).rounded(.down) * y)
            }
        default: throw fail("unsupported operator '\(op)'")
        }
    }

    private static func number(_ v: TemplateValue) -> Double? {
        switch v {
        case let .integer(i): Double(i)
        case let .double(d): d
        case let .boolean(b): b ? 1 : 0
        default: nil
        }
    }

    // MARK: methods

    static func isPythonSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }

    /// Python `str.strip/lstrip/rstrip(chars)`: whitespace when `chars` is nil.
    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func drop(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isPythonSpace(c) }
        var scalars = Array(s.unicodeScalars)[...]
        if leading { while let f = scalars.first, drop(f) { scalars.removeFirst() } }
        if trailing { while let l = scalars.last, drop(l) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    /// Python `str.split(sep, maxsplit)`: on runs of whitespace (dropping empty parts) when `sep` is nil.
    static func split(_ s: String, _ sep: String?, maxSplit: Int) -> [String] {
        if let sep {
            var parts: [String] = []
            var rest = Substring(s)
            while maxSplit < 0 || parts.count < maxSplit, let r = rest.range(of: sep) {
                parts.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            }
            parts.append(String(rest))
            return parts
        }
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        var scalars = Array(s.unicodeScalars)[...]
        while let c = scalars.first {
            if isPythonSpace(c) {
                if !current.isEmpty {
                    parts.append(String(current)); current = String.UnicodeScalarView()
                    if maxSplit >= 0, parts.count == maxSplit {
                        while let f = scalars.first, isPythonSpace(f) { scalars.removeFirst() }
                        if !scalars.isEmpty { parts.append(String(String.UnicodeScalarView(scalars))) }
                        return parts
                    }
                }
            } else {
                current.append(c)
            }
            scalars.removeFirst()
        }
        if !current.isEmpty { parts.append(String(current)) }
        return parts
    }

    static func stringMethod(_ s: String, _ name: String) -> TemplateValue? {
        func method(_ body: @escaping @Sendable ([TemplateValue], [(String, TemplateValue)]) throws -> TemplateValue) -> TemplateValue {
            .function(TemplateFunction(name: "str.\(name)", call: body))
        }
        @Sendable func chars(_ args: [TemplateValue]) -> String? {
            guard let a = args.first else { return nil }
            if case .none = a { return nil }
            return a.rendered
        }
        switch name {
        case "strip": return method { a, _ in .string(strip(s, chars(a), leading: true, trailing: true)) }
        case "lstrip": return method { a, _ in .string(strip(s, chars(a), leading: true, trailing: false)) }
        case "rstrip": return method { a, _ in .string(strip(s, chars(a), leading: false, trailing: true)) }
        case "upper": return method { _, _ in .string(s.uppercased()) }
        case "lower": return method { _, _ in .string(s.lowercased()) }
        case "title": return method { _, _ in .string(s.capitalized) }
        case "capitalize": return method { _, _ in .string(s.prefix(1).uppercased() + s.dropFirst().lowercased()) }
        case "startswith", "endswith":
            return method { a, _ in
                let candidates: [String]
                if case let .list(l)? = a.first { candidates = l.map(\.rendered) } else { candidates = [a.first?.rendered ?? ""] }
                let bytes = Array(s.utf8)
                return .boolean(candidates.contains { c in
                    let cb = Array(c.utf8)
                    return cb.count <= bytes.count && (name == "startswith" ? Array(bytes.prefix(cb.count)) == cb : Array(bytes.suffix(cb.count)) == cb)
                })
            }
        case "split":
            return method { a, kw in
                let sep = chars(a) ?? keyword(kw, "sep").flatMap { isNone($0) ? nil : $0.rendered }
                var maxSplit = -1
                if a.count > 1, case let .integer(m) = a[1] { maxSplit = m } else if case let .integer(m)? = keyword(kw, "maxsplit") { maxSplit = m }
                if let sep, sep.isEmpty { throw fail("split: empty separator") }
                return .list(split(s, sep, maxSplit: maxSplit).map { .string($0) })
            }
        case "replace":
            return method { a, _ in
                guard a.count >= 2 else { throw fail("replace needs (old, new)") }
                return .string(s.replacingOccurrences(of: a[0].rendered, with: a[1].rendered))
            }
        case "join":
            return method { a, _ in
                guard case let .list(l)? = a.first else { throw fail("join needs a list") }
                return .string(l.map(\.rendered).joined(separator: s))
            }
        case "find":
            return method { a, _ in
                guard let needle = a.first?.rendered else { return .integer(-1) }
                guard let r = s.range(of: needle) else { return .integer(-1) }
                return .integer(s.distance(from: s.startIndex, to: r.lowerBound))
            }
        default: return nil
        }
    }

    static func mappingMethod(_ m: TemplateMapping, _ name: String) -> TemplateValue? {
        switch name {
        case "items": return .function(TemplateFunction(name: "dict.items") { _, _ in .list(m.pairs.map { .list([.string($0.0), $0.1]) }) })
        case "keys": return .function(TemplateFunction(name: "dict.keys") { _, _ in .list(m.keys.map { .string($0) }) })
        case "values": return .function(TemplateFunction(name: "dict.values") { _, _ in .list(m.pairs.map(\.1)) })
        case "get": return .function(TemplateFunction(name: "dict.get") { a, _ in
            guard let key = a.first?.rendered else { return .none }
            return m[key] ?? (a.count > 1 ? a[1] : .none)
        })
        default: return nil
        }
    }

    // MARK: JSON

    /// Python `json.dumps` with `ensure_ascii=False`.
    static func json(_ v: TemplateValue, indent: Int?, level: Int, separators: (String, String), sortKeys: Bool) throws -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) } ?? ""
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        switch v {
        case .none: return "null"
        case let .boolean(b): return b ? "true" : "false"
        case let .integer(i): return String(i)
        case let .double(d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
            return TemplateValue.pythonFloat(d)
        case let .string(s): return jsonString(s)
        case let .list(l):
            if l.isEmpty { return "[]" }
            return "[" + newline + (try l.map { try json($0, indent: indent, level: level + 1, separators: separators, sortKeys: sortKeys) })
                .joined(separator: separators.0 + newline) + closing + "]"
        case let .mapping(m):
            if m.keys.isEmpty { return "{}" }
            let pairs = sortKeys ? m.pairs.sorted { $0.0 < $1.0 } : m.pairs
            return "{" + newline + (try pairs.map { jsonString($0.0) + separators.1 + (try json($0.1, indent: indent, level: level + 1, separators: separators, sortKeys: sortKeys)) })
                .joined(separator: separators.0 + newline) + closing + "}"
        case let .namespace(ns): return try json(.mapping(ns.values), indent: indent, level: level, separators: separators, sortKeys: sortKeys)
        case .undefined, .function: throw fail("a \(v.typeName) is not JSON serializable")
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
