/// Splits text into the pieces that byte-level BPE merges within, matching the Hugging Face / llama.cpp
/// pre-tokenizers, hand-written over Unicode scalars (no regex engine):
///
/// - `gpt2`: the GPT-2 pattern
///   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
///   (Radford et al. 2019, `encoder.py`).
/// - `smollm`: first every digit (\p{N}) becomes its own piece (HF `Digits(individual_digits: true)`), then
///   the GPT-2 pattern runs within each remaining stretch (llama.cpp `LLAMA_VOCAB_PRE_TYPE_SMOLLM`).
public enum BPEPreTokenizer: String, Sendable, Codable {
    case gpt2
    case smollm

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
