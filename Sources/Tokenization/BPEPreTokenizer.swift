/// Splits text into the pieces that byte-level BPE merges within, matching the Hugging Face / llama.cpp
/// pre-tokenizers, hand-written over Unicode scalars (no regex engine):
///
/// - `gpt2`: the GPT-2 pattern
///   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
///   (Radford et al. 2019, `encoder.py`).
/// - `smollm`: first every digit (\p{N}) becomes its own piece (HF `Digits(individual_digits: true)`), then
///   the GPT-2 pattern runs within each remaining stretch (llama.cpp `LLAMA_VOCAB_PRE_TYPE_SMOLLM`).
/// - `llama3`: `llama3Pattern` (Llama 3 / 3.1 / 3.2; numbers in runs of at most 3 digits, a letter run may take
///   one leading non-letter, non-digit, non-newline character, newlines end punctuation runs).
/// - `qwen2`: `qwen2Pattern` (Qwen 2, 2.5 and 3): Llama 3's with every digit its own piece.
public enum BPEPreTokenizer: String, Sendable, Codable {
    case gpt2
    case smollm
    case llama3
    case qwen2

    /// The pieces of `text`, concatenating back to `text`.
    public func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = text.unicodeScalars
        var pieces: [Substring.UnicodeScalarView] = []
        switch self {
        case .gpt2:
            Self.gpt2Split(scalars[...], into: &pieces)
        case .smollm:
            var start = scalars.startIndex
            var i = start
            while i < scalars.endIndex {
                if Self.isNumber(scalars[i]) {
                    if start < i { Self.gpt2Split(scalars[start..<i], into: &pieces) }
                    let next = scalars.index(after: i)
                    pieces.append(scalars[i..<next])
                    start = next
                    i = next
                } else {
                    i = scalars.index(after: i)
                }
            }
            if start < scalars.endIndex { Self.gpt2Split(scalars[start...], into: &pieces) }
        case .llama3:
            Self.llama3Split(scalars[...], maxDigits: 3, into: &pieces)
        case .qwen2:
            Self.llama3Split(scalars[...], maxDigits: 1, into: &pieces)
        }
        return pieces
    }

    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { let v = s.value; return (v >= 65 && v <= 90) || (v >= 97 && v <= 122) }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return s.value >= 48 && s.value <= 57 }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always) static func isSpace(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { let v = s.value; return v == 32 || (v >= 9 && v <= 13) }
        return s.properties.isWhitespace
    }

    enum Class { case letter, number, space, other }
    @inline(__always) static func classify(_ s: Unicode.Scalar) -> Class {
        if isLetter(s) { return .letter }
        if isNumber(s) { return .number }
        if isSpace(s) { return .space }
        return .other
    }

    /// The GPT-2 pattern applied left to right, leftmost alternative first, as a regex engine would.
    static func gpt2Split(_ s: Substring.UnicodeScalarView, into pieces: inout [Substring.UnicodeScalarView]) {
        var i = s.startIndex
        let end = s.endIndex
        func after(_ j: Substring.UnicodeScalarView.Index) -> Substring.UnicodeScalarView.Index { s.index(after: j) }
        func run(from j: Substring.UnicodeScalarView.Index, _ cls: Class) -> Substring.UnicodeScalarView.Index {
            var k = j
            while k < end, classify(s[k]) == cls { k = after(k) }
            return k
        }
        while i < end {
            let c = s[i]
            // Contractions: 's 't 're 've 'm 'll 'd
            if c == "'" {
                let j = after(i)
                if j < end {
                    let c1 = s[j]
                    if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" {
                        let k = after(j); pieces.append(s[i..<k]); i = k; continue
                    }
                    let j2 = after(j)
                    if j2 < end {
                        let c2 = s[j2]
                        if (c1 == "r" && c2 == "e") || (c1 == "v" && c2 == "e") || (c1 == "l" && c2 == "l") {
                            let k = after(j2); pieces.append(s[i..<k]); i = k; continue
                        }
                    }
                }
            }
            // Optional single space, then a run of letters, numbers or other symbols.
            var body = i
            if c == " " {
                let j = after(i)
                if j < end, classify(s[j]) != .space { body = j }
            }
            let cls = classify(s[body])
            if cls != .space {
                let k = run(from: body, cls)
                pieces.append(s[i..<k]); i = k; continue
            }
            // Whitespace: \s+(?!\S) takes the run but its last character when a non-space follows; \s+ otherwise.
            let k = run(from: i, .space)
            if k == end {
                pieces.append(s[i..<k]); i = k
            } else {
                var last = i
                var j = i
                while after(j) < k { j = after(j) }
                last = j  // index of the last whitespace scalar in the run
                if last > i {
                    pieces.append(s[i..<last]); i = last
                } else {
                    pieces.append(s[i..<k]); i = k
                }
            }
        }
    }
}

extension BPEPreTokenizer {
    /// The Llama 3 pattern (tiktoken cl100k; Hugging Face `Split` in Meta-Llama-3's tokenizer.json, llama.cpp
    /// `LLAMA_VOCAB_PRE_TYPE_LLAMA3`, GGUF `tokenizer.ggml.pre` "llama-bpe").
    public static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// The Qwen 2/2.5/3 pattern: Llama 3's with single digits (llama.cpp `LLAMA_VOCAB_PRE_TYPE_QWEN2`, "qwen2").
    public static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The pre-tokenizer whose pattern is `regex` (a tokenizer.json `Split` pattern), if one is implemented.
    /// llama.cpp spells the contractions of Qwen's pattern without `(?i:…)`; both spellings are recognised.
    public static func matching(splitPattern regex: String) -> BPEPreTokenizer? {
        let qwenSpelled = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"#
        let normal = regex.replacingOccurrences(of: qwenSpelled, with: "(?i:'s|'t|'re|'ve|'m|'ll|'d)")
        if normal == llama3Pattern { return .llama3 }
        if normal == qwen2Pattern { return .qwen2 }
        return nil
    }

    /// The Llama 3 / Qwen 2 pattern applied left to right, leftmost alternative first, as a regex engine would;
    /// `maxDigits` is 3 (Llama 3) or 1 (Qwen 2).
    static func llama3Split(_ s: Substring.UnicodeScalarView, maxDigits: Int, into pieces: inout [Substring.UnicodeScalarView]) {
        var i = s.startIndex
        let end = s.endIndex
        func after(_ j: Substring.UnicodeScalarView.Index) -> Substring.UnicodeScalarView.Index { s.index(after: j) }
        func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar { c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c }
        while i < end {
            let c = s[i]
            // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == "'" {
                let j = after(i)
                if j < end {
                    let c1 = lower(s[j])
                    let j2 = after(j)
                    if j2 < end, (c1 == "r" && lower(s[j2]) == "e") || (c1 == "v" && lower(s[j2]) == "e") || (c1 == "l" && lower(s[j2]) == "l") {
                        let k = after(j2); pieces.append(s[i..<k]); i = k; continue
                    }
                    if c1 == "s" || c1 == "t" || c1 == "m" || c1 == "d" { pieces.append(s[i..<j2]); i = j2; continue }
                }
            }
            let cls = classify(c)
            // 2. [^\r\n\p{L}\p{N}]?\p{L}+
            if cls == .letter || (cls != .number && !isNewline(c)) {
                var j = i
                if cls != .letter { j = after(i) }
                if j < end, isLetter(s[j]) {
                    while j < end, isLetter(s[j]) { j = after(j) }
                    pieces.append(s[i..<j]); i = j; continue
                }
            }
            // 3. \p{N}{1,maxDigits}
            if cls == .number {
                var j = i, n = 0
                while j < end, n < maxDigits, isNumber(s[j]) { j = after(j); n += 1 }
                pieces.append(s[i..<j]); i = j; continue
            }
            // 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var body = i
            if c == " ", after(i) < end, classify(s[after(i)]) == .other { body = after(i) }
            if classify(s[body]) == .other {
                var j = body
                while j < end, classify(s[j]) == .other { j = after(j) }
                while j < end, isNewline(s[j]) { j = after(j) }
                pieces.append(s[i..<j]); i = j; continue
            }
            // Whitespace from here on (c is \s).
            var runEnd = i
            var lastNewline: Substring.UnicodeScalarView.Index?
            while runEnd < end, isSpace(s[runEnd]) {
                if isNewline(s[runEnd]) { lastNewline = runEnd }
                runEnd = after(runEnd)
            }
            // 5. \s*[\r\n]+ : through the run's last newline
            if let lastNewline {
                let k = after(lastNewline); pieces.append(s[i..<k]); i = k; continue
            }
            // 6. \s+(?!\S) : all of the run at the end of the text, else all but its last character; 7. \s+
            if runEnd < end {
                var last = i
                var j = i
                while after(j) < runEnd { j = after(j) }
                last = j
                if last > i { pieces.append(s[i..<last]); i = last; continue }
            }
            pieces.append(s[i..<runEnd]); i = runEnd
        }
    }
}
