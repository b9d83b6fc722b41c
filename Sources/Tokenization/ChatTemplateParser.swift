import Foundation

/// An expression of the chat-template language (the Jinja subset chat templates use).
indirect enum TemplateExpression {
    case literal(TemplateValue)
    case name(String)
    case list([TemplateExpression])
    case dictionary([(TemplateExpression, TemplateExpression)])
    case attribute(TemplateExpression, String)
    case item(TemplateExpression, TemplateExpression)
    case slice(TemplateExpression, TemplateExpression?, TemplateExpression?, TemplateExpression?)
    case call(TemplateExpression, [TemplateExpression], [(String, TemplateExpression)])
    case filter(TemplateExpression, String, [TemplateExpression], [(String, TemplateExpression)])
    case test(TemplateExpression, String, [TemplateExpression], negated: Bool)
    case unary(String, TemplateExpression)
    case binary(String, TemplateExpression, TemplateExpression)
    case conditional(TemplateExpression, condition: TemplateExpression, otherwise: TemplateExpression?)
}

/// A node of a parsed template.
indirect enum TemplateNode {
    case text(String)
    case output(TemplateExpression)
    case ifChain([(TemplateExpression, [TemplateNode])], otherwise: [TemplateNode])
    case forLoop(targets: [String], iterable: TemplateExpression, filter: TemplateExpression?, body: [TemplateNode], otherwise: [TemplateNode])
    /// `set a = …`, `set a, b = …` or `set ns.attr = …` (namespace attribute when `attribute` is set).
    case set(targets: [String], attribute: String?, value: TemplateExpression)
    case setBlock(name: String, body: [TemplateNode])
    case macro(name: String, parameters: [(String, TemplateExpression?)], body: [TemplateNode])
    case breakLoop
    case continueLoop
}

// Immutable trees of Sendable values (tuples keep the compiler from inferring it).
extension TemplateExpression: @unchecked Sendable {}
extension TemplateNode: @unchecked Sendable {}

/// Parses the segments of `TemplateLexer` into nodes: statements `if/elif/else/endif`, `for … in … [if …]
/// /else/endfor`, `set`, `set … endset`, `macro/endmacro`, `break`, `continue`, `generation/endgeneration`
/// (transformers' assistant-mask extension: renders its body). Expressions follow Jinja 3.1's precedence
/// (`parser.py`): conditional < or < and < not < comparisons (== != < <= > >= in, not in) < + - < ~ < * / // %
/// < ** < unary - < postfix (. [] () slices) with filters `|` and tests `is` binding tightest.
struct TemplateParser {
    private var segments: [TemplateSegment]
    private var position = 0

    init(segments: [TemplateSegment]) { self.segments = segments }

    mutating func parseTemplate() throws -> [TemplateNode] {
        let (nodes, end) = try parseBlock(until: [])
        if let end { throw BPETokenizerError.chatTemplate(line: end.line, reason: "unexpected {% \(end.keyword) %}") }
        return nodes
    }

    private struct BlockEnd { let keyword: String; let rest: [TemplateToken]; let line: Int }

    private mutating func parseBlock(until keywords: Set<String>) throws -> ([TemplateNode], BlockEnd?) {
        var nodes: [TemplateNode] = []
        while position < segments.count {
            let segment = segments[position]
            position += 1
            switch segment {
            case let .text(t): nodes.append(.text(t))
            case let .output(source, line):
                var p = ExpressionParser(tokens: try TemplateTokenizer.tokens(source, line: line), line: line)
                let e = try p.parseExpression()
                try p.expectEnd()
                nodes.append(.output(e))
            case let .statement(source, line):
                let tokens = try TemplateTokenizer.tokens(source, line: line)
                guard case let .name(keyword)? = tokens.first else {
                    throw BPETokenizerError.chatTemplate(line: line, reason: "empty or malformed statement '{% \(source) %}'")
                }
                let rest = Array(tokens.dropFirst())
                if keywords.contains(keyword) { return (nodes, BlockEnd(keyword: keyword, rest: rest, line: line)) }
                nodes.append(contentsOf: try parseStatement(keyword, rest, line: line, source: source))
            }
        }
        if !keywords.isEmpty {
            throw BPETokenizerError.chatTemplate(line: 0, reason: "the template ends before {% \(keywords.sorted().joined(separator: " / ")) %}")
        }
        return (nodes, nil)
    }

    private mutating func parseStatement(_ keyword: String, _ rest: [TemplateToken], line: Int, source: String) throws -> [TemplateNode] {
        var p = ExpressionParser(tokens: rest, line: line)
        switch keyword {
        case "if":
            var branches: [(TemplateExpression, [TemplateNode])] = []
            var condition = try p.parseExpression()
            try p.expectEnd()
            var otherwise: [TemplateNode] = []
            while true {
                let (body, end) = try parseBlock(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard let end else { break }
                if end.keyword == "elif" {
                    var q = ExpressionParser(tokens: end.rest, line: end.line)
                    condition = try q.parseExpression()
                    try q.expectEnd()
                    continue
                }
                if end.keyword == "else" {
                    let (elseBody, _) = try parseBlock(until: ["endif"])
                    otherwise = elseBody
                }
                break
            }
            return [.ifChain(branches, otherwise: otherwise)]
        case "for":
            var targets: [String] = []
            repeat {
                guard case let .name(n)? = p.next() else { throw BPETokenizerError.chatTemplate(line: line, reason: "for: expected a loop variable in '\(source)'") }
                targets.append(n)
            } while p.accept(.op(","))
            guard p.accept(.name("in")) else { throw BPETokenizerError.chatTemplate(line: line, reason: "for: expected 'in' in '\(source)'") }
            let iterable = try p.parseExpression(allowConditional: false)
            var filter: TemplateExpression?
            if p.accept(.name("if")) { filter = try p.parseExpression(allowConditional: false) }
            _ = p.accept(.name("recursive"))
            try p.expectEnd()
            let (body, end) = try parseBlock(until: ["else", "endfor"])
            var otherwise: [TemplateNode] = []
            if end?.keyword == "else" { otherwise = try parseBlock(until: ["endfor"]).0 }
            return [.forLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise)]
        case "set":
            var targets: [String] = []
            var attribute: String?
            guard case let .name(first)? = p.next() else { throw BPETokenizerError.chatTemplate(line: line, reason: "set: expected a name in '\(source)'") }
            targets.append(first)
            if p.accept(.op(".")) {
                guard case let .name(a)? = p.next() else { throw BPETokenizerError.chatTemplate(line: line, reason: "set: expected an attribute in '\(source)'") }
                attribute = a
            } else {
                while p.accept(.op(",")) {
                    guard case let .name(n)? = p.next() else { throw BPETokenizerError.chatTemplate(line: line, reason: "set: expected a name in '\(source)'") }
                    targets.append(n)
                }
            }
            if p.atEnd, attribute == nil, targets.count == 1 {
                let (body, _) = try parseBlock(until: ["endset"])
                return [.setBlock(name: first, body: body)]
            }
            guard p.accept(.op("=")) else { throw BPETokenizerError.chatTemplate(line: line, reason: "set: expected '=' in '\(source)'") }
            let value = try p.parseTuple()
            try p.expectEnd()
            return [.set(targets: targets, attribute: attribute, value: value)]
        case "macro":
            guard case let .name(name)? = p.next(), p.accept(.op("(")) else {
                throw BPETokenizerError.chatTemplate(line: line, reason: "macro: expected name(…) in '\(source)'")
            }
            var parameters: [(String, TemplateExpression?)] = []
            if !p.accept(.op(")")) {
                repeat {
                    guard case let .name(n)? = p.next() else { throw BPETokenizerError.chatTemplate(line: line, reason: "macro: bad parameter in '\(source)'") }
                    parameters.append((n, p.accept(.op("=")) ? try p.parseExpression() : nil))
                } while p.accept(.op(","))
                guard p.accept(.op(")")) else { throw BPETokenizerError.chatTemplate(line: line, reason: "macro: expected ')' in '\(source)'") }
            }
            try p.expectEnd()
            let (body, _) = try parseBlock(until: ["endmacro"])
            return [.macro(name: name, parameters: parameters, body: body)]
        case "generation":
            return try parseBlock(until: ["endgeneration"]).0
        case "break": return [.breakLoop]
        case "continue": return [.continueLoop]
        case "elif", "else", "endif", "endfor", "endset", "endmacro", "endgeneration":
            throw BPETokenizerError.chatTemplate(line: line, reason: "unexpected {% \(keyword) %} (no block open)")
        default:
            throw BPETokenizerError.chatTemplate(line: line, reason: "unsupported statement '{% \(keyword) %}'")
        }
    }
}

/// Recursive-descent parser of one tag's expression tokens.
struct ExpressionParser {
    let tokens: [TemplateToken]
    let line: Int
    var position = 0

    init(tokens: [TemplateToken], line: Int) { self.tokens = tokens; self.line = line }

    var atEnd: Bool { position >= tokens.count }
    func peek(_ offset: Int = 0) -> TemplateToken? { position + offset < tokens.count ? tokens[position + offset] : nil }
    mutating func next() -> TemplateToken? { defer { position += 1 }; return peek() }
    mutating func accept(_ t: TemplateToken) -> Bool {
        if peek() == t { position += 1; return true }
        return false
    }
    func fail(_ reason: String) -> BPETokenizerError { .chatTemplate(line: line, reason: reason) }
    mutating func expect(_ t: TemplateToken) throws {
        guard accept(t) else { throw fail("expected \(describe(t)) but found \(peek().map(describe) ?? "the end of the tag")") }
    }
    mutating func expectEnd() throws {
        if let t = peek() { throw fail("unexpected \(describe(t))") }
    }
    func describe(_ t: TemplateToken) -> String {
        switch t {
        case let .name(n): "'\(n)'"
        case let .string(s): "string '\(s)'"
        case let .integer(i): "\(i)"
        case let .float(d): "\(d)"
        case let .op(o): "'\(o)'"
        }
    }

    /// `a, b` (a tuple, as a list) or a single expression.
    mutating func parseTuple() throws -> TemplateExpression {
        let first = try parseExpression()
        guard peek() == .op(",") else { return first }
        var items = [first]
        while accept(.op(",")) { if atEnd { break }; items.append(try parseExpression()) }
        return .list(items)
    }

    mutating func parseExpression(allowConditional: Bool = true) throws -> TemplateExpression {
        let value = try parseOr()
        guard allowConditional, accept(.name("if")) else { return value }
        let condition = try parseOr()
        let otherwise = accept(.name("else")) ? try parseExpression() : nil
        return .conditional(value, condition: condition, otherwise: otherwise)
    }

    mutating func parseOr() throws -> TemplateExpression {
        var left = try parseAnd()
        while accept(.name("or")) { left = .binary("or", left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> TemplateExpression {
        var left = try parseNot()
        while accept(.name("and")) { left = .binary("and", left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws -> TemplateExpression {
        if accept(.name("not")) { return .unary("not", try parseNot()) }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> TemplateExpression {
        var left = try parseAdditive()
        while true {
            if case let .op(o)? = peek(), ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                position += 1
                left = .binary(o, left, try parseAdditive())
            } else if accept(.name("in")) {
                left = .binary("in", left, try parseAdditive())
            } else if peek() == .name("not"), peek(1) == .name("in") {
                position += 2
                left = .binary("not in", left, try parseAdditive())
            } else {
                return left
            }
        }
    }

    mutating func parseAdditive() throws -> TemplateExpression {
        var left = try parseConcat()
        while case let .op(o)? = peek(), o == "+" || o == "-" {
            position += 1
            left = .binary(o, left, try parseConcat())
        }
        return left
    }

    mutating func parseConcat() throws -> TemplateExpression {
        var left = try parseMultiplicative()
        while accept(.op("~")) { left = .binary("~", left, try parseMultiplicative()) }
        return left
    }

    mutating func parseMultiplicative() throws -> TemplateExpression {
        var left = try parsePower()
        while case let .op(o)? = peek(), ["*", "/", "//", "%"].contains(o) {
            position += 1
            left = .binary(o, left, try parsePower())
        }
        return left
    }

    mutating func parsePower() throws -> TemplateExpression {
        var left = try parseUnary()
        while accept(.op("**")) { left = .binary("**", left, try parseUnary()) }
        return left
    }

    mutating func parseUnary() throws -> TemplateExpression {
        if accept(.op("-")) { return try parseFilters(.unary("-", try parseUnary())) }
        if accept(.op("+")) { return try parseFilters(try parseUnary()) }
        return try parseFilters(try parsePostfix(try parsePrimary()))
    }

    mutating func parsePrimary() throws -> TemplateExpression {
        guard let t = next() else { throw fail("expected an expression") }
        switch t {
        case let .string(s):
            var value = s
            while case let .string(more)? = peek() { value += more; position += 1 }   // adjacent literals join
            return .literal(.string(value))
        case let .integer(i): return .literal(.integer(i))
        case let .float(d): return .literal(.double(d))
        case let .name(n):
            switch n {
            case "true", "True": return .literal(.boolean(true))
            case "false", "False": return .literal(.boolean(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .op("("):
            if accept(.op(")")) { return .list([]) }
            let e = try parseTuple()
            try expect(.op(")"))
            return e
        case .op("["):
            var items: [TemplateExpression] = []
            while !accept(.op("]")) {
                items.append(try parseExpression())
                if !accept(.op(",")) { try expect(.op("]")); break }
            }
            return .list(items)
        case .op("{"):
            var pairs: [(TemplateExpression, TemplateExpression)] = []
            while !accept(.op("}")) {
                let k = try parseExpression()
                try expect(.op(":"))
                pairs.append((k, try parseExpression()))
                if !accept(.op(",")) { try expect(.op("}")); break }
            }
            return .dictionary(pairs)
        default:
            throw fail("unexpected \(describe(t))")
        }
    }

    mutating func parsePostfix(_ base: TemplateExpression) throws -> TemplateExpression {
        var e = base
        while true {
            if accept(.op(".")) {
                guard case let .name(n)? = next() else { throw fail("expected an attribute name after '.'") }
                e = .attribute(e, n)
            } else if accept(.op("[")) {
                var parts: [TemplateExpression?] = [nil]
                var sawColon = false
                while !accept(.op("]")) {
                    if accept(.op(":")) { sawColon = true; parts.append(nil); continue }
                    guard parts[parts.count - 1] == nil else { throw fail("expected ']'") }
                    parts[parts.count - 1] = try parseExpression()
                }
                if sawColon {
                    guard parts.count <= 3 else { throw fail("a slice has at most three parts") }
                    while parts.count < 3 { parts.append(nil) }
                    e = .slice(e, parts[0], parts[1], parts[2])
                } else {
                    guard let index = parts[0] else { throw fail("empty subscript") }
                    e = .item(e, index)
                }
            } else if peek() == .op("(") {
                position += 1
                let (args, kwargs) = try parseArguments()
                e = .call(e, args, kwargs)
            } else {
                return e
            }
        }
    }

    /// Arguments after an opening parenthesis, through the closing one.
    mutating func parseArguments() throws -> ([TemplateExpression], [(String, TemplateExpression)]) {
        var args: [TemplateExpression] = []
        var kwargs: [(String, TemplateExpression)] = []
        while !accept(.op(")")) {
            if case let .name(n)? = peek(), peek(1) == .op("=") {
                position += 2
                kwargs.append((n, try parseExpression()))
            } else {
                args.append(try parseExpression())
            }
            if !accept(.op(",")) { try expect(.op(")")); break }
        }
        return (args, kwargs)
    }

    mutating func parseFilters(_ base: TemplateExpression) throws -> TemplateExpression {
        var e = base
        while true {
            if accept(.op("|")) {
                guard case let .name(n)? = next() else { throw fail("expected a filter name after '|'") }
                var args: [TemplateExpression] = []
                var kwargs: [(String, TemplateExpression)] = []
                if accept(.op("(")) { (args, kwargs) = try parseArguments() }
                e = .filter(e, n, args, kwargs)
            } else if accept(.name("is")) {
                let negated = accept(.name("not"))
                guard case let .name(n)? = next() else { throw fail("expected a test name after 'is'") }
                var args: [TemplateExpression] = []
                if accept(.op("(")) {
                    args = try parseArguments().0
                } else if let t = peek(), Self.startsArgument(t) {
                    args = [try parsePostfix(try parsePrimary())]
                }
                e = .test(e, n, args, negated: negated)
            } else {
                return e
            }
        }
    }

    /// Whether a token can start the single bare argument of a test (`is divisibleby 3`, `is sameas false`).
    static func startsArgument(_ t: TemplateToken) -> Bool {
        switch t {
        case .string, .integer, .float: true
        case let .name(n): !["and", "or", "not", "in", "is", "if", "else"].contains(n)
        case let .op(o): o == "[" || o == "{"
        }
    }
}
