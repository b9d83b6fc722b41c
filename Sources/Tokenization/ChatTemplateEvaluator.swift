import Foundation

/// Renders parsed template nodes (the last stage of the chat-template interpreter). Scoping follows Jinja: each
/// iteration of a `for` body and each macro call has its own scope (a `set` there does not leak out), `if` has none;
/// `namespace` objects carry values out of loops. Undefined names render as "" and are false; an attribute of an
/// undefined value is an error, as with Jinja's default `Undefined`.
final class TemplateEvaluator: @unchecked Sendable {
    private var scopes: [[String: TemplateValue]]

    init(globals: [String: TemplateValue]) {
        var base = globals
        base["raise_exception"] = .function(TemplateFunction(name: "raise_exception") { args, _ in
            throw BPETokenizerError.chatTemplateRaised(message: args.first?.rendered ?? "")
        })
        base["namespace"] = .function(TemplateFunction(name: "namespace") { args, kwargs in
            var m = TemplateMapping()
            if case let .mapping(initial)? = args.first { for (k, v) in initial.pairs { m[k] = v } }
            for (k, v) in kwargs { m[k] = v }
            return .namespace(TemplateNamespace(m))
        })
        base["dict"] = .function(TemplateFunction(name: "dict") { _, kwargs in .mapping(TemplateMapping(kwargs)) })
        base["range"] = .function(TemplateFunction(name: "range") { args, _ in
            let n = try args.map { v -> Int in
                guard case let .integer(i) = v else { throw BPETokenizerError.chatTemplate(line: 0, reason: "range() takes integers, not \(v.typeName)") }
                return i
            }
            let (start, stop, step) = n.count == 1 ? (0, n[0], 1) : n.count == 2 ? (n[0], n[1], 1) : n.count == 3 ? (n[0], n[1], n[2]) : (0, 0, 1)
            guard step != 0 else { throw BPETokenizerError.chatTemplate(line: 0, reason: "range() step must not be zero") }
            return .list(Swift.stride(from: start, to: stop, by: step).map { .integer($0) })
        })
        if base["strftime_now"] == nil {
            base["strftime_now"] = .function(TemplateFunction(name: "strftime_now") { args, _ in
                var t = time(nil)
                var parts = tm()
                localtime_r(&t, &parts)
                var buffer = [Int8](repeating: 0, count: 256)
                let n = strftime(&buffer, buffer.count, args.first?.rendered ?? "", &parts)
                return .string(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
            })
        }
        scopes = [base]
    }

    private enum Flow { case normal, breakLoop, continueLoop }

    func render(_ nodes: [TemplateNode]) throws -> String {
        var out = ""
        _ = try run(nodes, into: &out)
        return out
    }

    private func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return .undefined(name)
    }

    private func assign(_ name: String, _ value: TemplateValue) { scopes[scopes.count - 1][name] = value }

    private func run(_ nodes: [TemplateNode], into out: inout String) throws -> Flow {
        for node in nodes {
            switch node {
            case let .text(t): out += t
            case let .output(e): out += try evaluate(e).rendered
            case let .ifChain(branches, otherwise):
                var taken = false
                for (condition, body) in branches where try evaluate(condition).isTrue {
                    taken = true
                    let flow = try run(body, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try run(otherwise, into: &out)
                    if flow != .normal { return flow }
                }
            case let .forLoop(targets, iterableExpression, filter, body, otherwise):
                var items = try iterate(try evaluate(iterableExpression))
                if let filter {
                    items = try items.filter { item in
                        scopes.append([:])
                        defer { scopes.removeLast() }
                        bind(targets, item)
                        return try evaluate(filter).isTrue
                    }
                }
                if items.isEmpty {
                    let flow = try run(otherwise, into: &out)
                    if flow != .normal { return flow }
                    continue
                }
                for (index, item) in items.enumerated() {
                    var loop = TemplateMapping()
                    loop["index"] = .integer(index + 1)
                    loop["index0"] = .integer(index)
                    loop["revindex"] = .integer(items.count - index)
                    loop["revindex0"] = .integer(items.count - index - 1)
                    loop["first"] = .boolean(index == 0)
                    loop["last"] = .boolean(index == items.count - 1)
                    loop["length"] = .integer(items.count)
                    loop["previtem"] = index > 0 ? items[index - 1] : .undefined("loop.previtem")
                    loop["nextitem"] = index + 1 < items.count ? items[index + 1] : .undefined("loop.nextitem")
                    loop["cycle"] = .function(TemplateFunction(name: "loop.cycle") { args, _ in
                        args.isEmpty ? .undefined("loop.cycle") : args[index % args.count]
                    })
                    scopes.append(["loop": .mapping(loop)])
                    bind(targets, item)
                    let flow = try run(body, into: &out)
                    scopes.removeLast()
                    if flow == .breakLoop { break }
                }
            case let .set(targets, attribute, valueExpression):
                let value = try evaluate(valueExpression)
                if let attribute {
                    guard case let .namespace(ns) = lookup(targets[0]) else {
                        throw BPETokenizerError.chatTemplate(line: 0, reason: "cannot set '\(attribute)' on '\(targets[0])', which is not a namespace")
                    }
                    ns.values[attribute] = value
                } else if targets.count == 1 {
                    assign(targets[0], value)
                } else {
                    let parts = try iterate(value)
                    guard parts.count == targets.count else {
                        throw BPETokenizerError.chatTemplate(line: 0, reason: "cannot unpack \(parts.count) values into \(targets.count) names")
                    }
                    for (t, v) in zip(targets, parts) { assign(t, v) }
                }
            case let .setBlock(name, body):
                var captured = ""
                _ = try run(body, into: &captured)
                assign(name, .string(captured))
            case let .macro(name, parameters, body):
                let defaults = try parameters.map { ($0.0, try $0.1.map { try evaluate($0) }) }
                assign(name, .function(TemplateFunction(name: name) { [unowned self] args, kwargs in
                    var scope: [String: TemplateValue] = [:]
                    for (i, (p, d)) in defaults.enumerated() {
                        scope[p] = i < args.count ? args[i] : kwargs.first { $0.0 == p }?.1 ?? d ?? .undefined(p)
                    }
                    self.scopes.append(scope)
                    defer { self.scopes.removeLast() }
                    var text = ""
                    _ = try self.run(body, into: &text)
                    return .string(text)
                }))
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    private func bind(_ targets: [String], _ item: TemplateValue) {
        if targets.count == 1 { assign(targets[0], item); return }
        let parts: [TemplateValue]
        if case let .list(l) = item { parts = l } else { parts = [] }
        for (i, t) in targets.enumerated() { assign(t, i < parts.count ? parts[i] : .undefined(t)) }
    }

    private func iterate(_ value: TemplateValue) throws -> [TemplateValue] {
        switch value {
        case .undefined: return []
        case let .list(l): return l
        case let .mapping(m): return m.keys.map { .string($0) }
        case let .string(s): return s.map { .string(String($0)) }
        default: throw BPETokenizerError.chatTemplate(line: 0, reason: "a \(value.typeName) is not iterable")
        }
    }

    // MARK: expressions

    func evaluate(_ e: TemplateExpression) throws -> TemplateValue {
        switch e {
        case let .literal(v): return v
        case let .name(n): return lookup(n)
        case let .list(items): return .list(try items.map(evaluate))
        case let .dictionary(pairs):
            var m = TemplateMapping()
            for (k, v) in pairs { m[try evaluate(k).rendered] = try evaluate(v) }
            return .mapping(m)
        case let .attribute(base, name): return try attribute(try evaluate(base), name)
        case let .item(base, index):
            let b = try evaluate(base)
            let i = try evaluate(index)
            if case let .string(key) = i, case .mapping = b { return try attribute(b, key, methods: false) }
            return try item(b, i)
        case let .slice(base, start, stop, step):
            return try slice(try evaluate(base), try start.map(evaluate), try stop.map(evaluate), try step.map(evaluate))
        case let .call(callee, args, kwargs):
            let f = try evaluate(callee)
            guard case let .function(function) = f else {
                throw BPETokenizerError.chatTemplate(line: 0, reason: "\(describe(callee)) is a \(f.typeName), not a function")
            }
            return try function.call(try args.map(evaluate), try kwargs.map { ($0.0, try evaluate($0.1)) })
        case let .filter(base, name, args, kwargs):
            return try TemplateFilters.apply(name, try evaluate(base), try args.map(evaluate), try kwargs.map { ($0.0, try evaluate($0.1)) })
        case let .test(base, name, args, negated):
            let result = try TemplateFilters.test(name, try evaluate(base), try args.map(evaluate))
            return .boolean(result != negated)
        case let .unary(op, operand):
            let v = try evaluate(operand)
            if op == "not" { return .boolean(!v.isTrue) }
            switch v {
            case let .integer(i): return .integer(-i)
            case let .double(d): return .double(-d)
            default: throw BPETokenizerError.chatTemplate(line: 0, reason: "cannot negate a \(v.typeName)")
            }
        case let .binary(op, l, r):
            if op == "and" { let a = try evaluate(l); return a.isTrue ? try evaluate(r) : a }
            if op == "or" { let a = try evaluate(l); return a.isTrue ? a : try evaluate(r) }
            return try TemplateFilters.binary(op, try evaluate(l), try evaluate(r))
        case let .conditional(value, condition, otherwise):
            if try evaluate(condition).isTrue { return try evaluate(value) }
            return try otherwise.map(evaluate) ?? .undefined("conditional")
        }
    }

    private func describe(_ e: TemplateExpression) -> String {
        switch e {
        case let .name(n): "'\(n)'"
        case let .attribute(b, n): "\(describe(b)).\(n)"
        default: "the expression"
        }
    }

    func attribute(_ base: TemplateValue, _ name: String, methods: Bool = true) throws -> TemplateValue {
        switch base {
        case let .undefined(n):
            throw BPETokenizerError.chatTemplate(line: 0, reason: "'\(n)' is undefined (reading '\(name)')")
        case let .mapping(m):
            if let v = m[name] { return v }
            if methods, let method = TemplateFilters.mappingMethod(m, name) { return method }
            return .undefined(name)
        case let .namespace(ns): return ns.values[name] ?? .undefined(name)
        case let .string(s):
            if methods, let method = TemplateFilters.stringMethod(s, name) { return method }
            return .undefined(name)
        default:
            return .undefined(name)
        }
    }

    func item(_ base: TemplateValue, _ index: TemplateValue) throws -> TemplateValue {
        switch (base, index) {
        case let (.undefined(n), _):
            throw BPETokenizerError.chatTemplate(line: 0, reason: "'\(n)' is undefined (reading an item)")
        case let (.list(l), .integer(i)):
            let k = i < 0 ? l.count + i : i
            return k >= 0 && k < l.count ? l[k] : .undefined("item \(i)")
        case let (.string(s), .integer(i)):
            let chars = Array(s)
            let k = i < 0 ? chars.count + i : i
            return k >= 0 && k < chars.count ? .string(String(chars[k])) : .undefined("item \(i)")
        case let (.mapping(m), key): return m[key.rendered] ?? .undefined(key.rendered)
        case let (.namespace(ns), key): return ns.values[key.rendered] ?? .undefined(key.rendered)
        default: return .undefined("item")
        }
    }

    /// Python slicing `base[start:stop:step]` of a list or string.
    func slice(_ base: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ step: TemplateValue?) throws -> TemplateValue {
        func int(_ v: TemplateValue?) throws -> Int? {
            switch v {
            case nil, .none?: return nil
            case let .integer(i)?: return i
            case let v?: throw BPETokenizerError.chatTemplate(line: 0, reason: "slice indices must be integers, not \(v.typeName)")
            }
        }
        let st = try int(step) ?? 1
        guard st != 0 else { throw BPETokenizerError.chatTemplate(line: 0, reason: "slice step cannot be zero") }
        func pick<T>(_ items: [T]) throws -> [T] {
            let n = items.count
            func clamp(_ v: Int?, _ dflt: Int) -> Int {
                guard var v else { return dflt }
                if v < 0 { v += n }
                return st > 0 ? min(max(v, 0), n) : min(max(v, -1), n - 1)
            }
            let a = clamp(try int(start), st > 0 ? 0 : n - 1)
            let b = clamp(try int(stop), st > 0 ? n : -1)
            var out: [T] = []
            var i = a
            while st > 0 ? i < b : i > b { out.append(items[i]); i += st }
            return out
        }
        switch base {
        case let .list(l): return .list(try pick(l))
        case let .string(s): return .string(String(try pick(Array(s))))
        case let .undefined(n): throw BPETokenizerError.chatTemplate(line: 0, reason: "'\(n)' is undefined (slicing)")
        default: throw BPETokenizerError.chatTemplate(line: 0, reason: "cannot slice a \(base.typeName)")
        }
    }
}
