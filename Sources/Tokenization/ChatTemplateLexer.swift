import Foundation

/// The first stage of the chat-template interpreter: the template source cut into text, `{{ … }}` outputs and
/// `{% … %}` statements, with Jinja's whitespace rules applied as transformers configures them
/// (`jinja2.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`, Jinja 3.1 `lexer.py`):
/// - `{%-` / `{{-` / `{#-` strip all whitespace before the tag, `-%}` / `-}}` / `-#}` all whitespace after it;
/// - lstrip_blocks: spaces and tabs between the start of a line and a `{%` or `{#` tag are removed (`{%+` keeps them);
/// - trim_blocks: the first newline after a `%}` or `#}` is removed;
/// - comments `{# … #}` vanish; a single trailing newline of the source is dropped (`keep_trailing_newline=False`),
///   and "\r\n" / "\r" line ends become "\n".
enum TemplateSegment: Equatable {
    case text(String)
    /// The inside of `{{ … }}` and the line it starts on (1-based), for error messages.
    case output(String, line: Int)
    /// The inside of `{% … %}`.
    case statement(String, line: Int)
}

enum TemplateLexer {
    static func segments(_ raw: String) throws -> [TemplateSegment] {
        var source = raw.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if source.hasSuffix("\n") { source.removeLast() }
        let s = Array(source.unicodeScalars)
        var out: [TemplateSegment] = []
        var text: [Unicode.Scalar] = []
        var i = 0
        var line = 1
        var stripNextLeading = false       // after a "-%}" style end
        func flush() {
            if !text.isEmpty { out.append(.text(String(String.UnicodeScalarView(text)))) }
            text.removeAll()
        }
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\u{0B}" || c == "\u{0C}" }
        while i < s.count {
            let c = s[i]
            if c == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" {
                let kind = s[i + 1]
                var j = i + 2
                var stripBefore = false
                var keepIndent = false
                if j < s.count, s[j] == "-" { stripBefore = true; j += 1 } else if j < s.count, s[j] == "+" { keepIndent = true; j += 1 }
                if stripBefore {
                    while let last = text.last, isSpace(last) { text.removeLast() }
                } else if kind != "{" && !keepIndent {
                    // lstrip_blocks: only spaces/tabs since the start of the line
                    var k = text.count
                    while k > 0, text[k - 1] == " " || text[k - 1] == "\t" { k -= 1 }
                    let atLineStart = k > 0 ? text[k - 1] == "\n" : (i - text.count == 0 || s[i - text.count - 1] == "\n")
                    if atLineStart { text.removeSubrange(k...) }
                }
                flush()
                let closing: Unicode.Scalar = kind == "{" ? "}" : kind == "%" ? "%" : "#"
                // find the end tag, skipping string literals inside expressions and statements
                var k = j
                var quote: Unicode.Scalar? = nil
                var end = -1
                while k < s.count {
                    let ch = s[k]
                    if let q = quote {
                        if ch == "\\" { k += 2; continue }
                        if ch == q { quote = nil }
                    } else if kind != "#" && (ch == "'" || ch == "\"") {
                        quote = ch
                    } else if ch == closing, k + 1 < s.count, s[k + 1] == "}" {
                        end = k
                        break
                    }
                    k += 1
                }
                guard end >= 0 else {
                    throw BPETokenizerError.chatTemplate(line: line, reason: "a '{\(kind)' tag is never closed")
                }
                var innerEnd = end
                var stripAfter = false
                if innerEnd > j, s[innerEnd - 1] == "-" { stripAfter = true; innerEnd -= 1 }
                let inner = String(String.UnicodeScalarView(s[j..<innerEnd]))
                let startLine = line
                line += s[i..<(end + 2)].filter { $0 == "\n" }.count
                i = end + 2
                switch kind {
                case "{": out.append(.output(inner, line: startLine))
                case "%": out.append(.statement(inner, line: startLine))
                default: break
                }
                stripNextLeading = stripAfter
                if stripAfter {
                    while i < s.count, isSpace(s[i]) { if s[i] == "\n" { line += 1 }; i += 1 }
                } else if kind != "{", i < s.count, s[i] == "\n" {
                    i += 1; line += 1     // trim_blocks
                }
                continue
            }
            _ = stripNextLeading
            if c == "\n" { line += 1 }
            text.append(c)
            i += 1
        }
        flush()
        return out
    }
}

/// A token of an expression inside a tag.
enum TemplateToken: Equatable {
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    /// Punctuation and operators: ( ) [ ] { } . , : | ~ + - * / // % ** == != < <= > >= =
    case op(String)
}

enum TemplateTokenizer {
    static func tokens(_ text: String, line: Int) throws -> [TemplateToken] {
        let s = Array(text.unicodeScalars)
        var out: [TemplateToken] = []
        var i = 0
        let twoChar: Set<String> = ["//", "**", "==", "!=", "<=", ">="]
        let oneChar: Set<Unicode.Scalar> = ["(", ")", "[", "]", "{", "}", ".", ",", ":", "|", "~", "+", "-", "*", "/", "%", "<", ">", "="]
        while i < s.count {
            let c = s[i]
            if c == " " || c == "\t" || c == "\n" { i += 1; continue }
            if c == "'" || c == "\"" {
                var value = String.UnicodeScalarView()
                var j = i + 1
                var closed = false
                while j < s.count {
                    let ch = s[j]
                    if ch == c { closed = true; break }
                    if ch == "\\", j + 1 < s.count {
                        let e = s[j + 1]
                        switch e {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        case "\\": value.append("\\")
                        case "'": value.append("'")
                        case "\"": value.append("\"")
                        case "0": value.append("\0")
                        default: value.append("\\"); value.append(e)
                        }
                        j += 2
                        continue
                    }
                    value.append(ch)
                    j += 1
                }
                guard closed else { throw BPETokenizerError.chatTemplate(line: line, reason: "unterminated string literal") }
                out.append(.string(String(value)))
                i = j + 1
                continue
            }
            if c.properties.numericType != nil, ("0"..."9").contains(c) {
                var j = i
                while j < s.count, ("0"..."9").contains(s[j]) || s[j] == "_" { j += 1 }
                var isFloat = false
                if j + 1 < s.count, s[j] == ".", ("0"..."9").contains(s[j + 1]) {
                    isFloat = true
                    j += 1
                    while j < s.count, ("0"..."9").contains(s[j]) { j += 1 }
                }
                let literal = String(String.UnicodeScalarView(s[i..<j])).replacingOccurrences(of: "_", with: "")
                if isFloat { out.append(.float(Double(literal) ?? 0)) } else {
                    guard let v = Int(literal) else { throw BPETokenizerError.chatTemplate(line: line, reason: "integer \(literal) is too large") }
                    out.append(.integer(v))
                }
                i = j
                continue
            }
            if c == "_" || c.properties.isAlphabetic {
                var j = i
                while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
                out.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
                continue
            }
            if i + 1 < s.count {
                let pair = String(String.UnicodeScalarView([c, s[i + 1]]))
                if twoChar.contains(pair) { out.append(.op(pair)); i += 2; continue }
            }
            if oneChar.contains(c) { out.append(.op(String(c))); i += 1; continue }
            throw BPETokenizerError.chatTemplate(line: line, reason: "unexpected character '\(c)' in '\(text)'")
        }
        return out
    }
}
