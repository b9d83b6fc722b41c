import Foundation

/// BERT's "basic" pre-tokenizer: splits raw text into words before WordPiece runs.
///
/// Steps, in the order of Hugging Face's `BasicTokenizer.tokenize` (transformers, `tokenization_bert.py`),
/// all on Unicode scalars (Python code points), not grapheme clusters:
/// 1. clean: drop U+0000, U+FFFD and control characters (general category C*, except tab, newline and
///    carriage return, which count as whitespace); map whitespace (space, `\t`, `\n`, `\r`, category Zs) to a space;
/// 2. put spaces around CJK ideographs (the CJK Unified Ideographs blocks and their extensions, and the
///    compatibility ideographs), so each becomes its own word;
/// 3. NFC-normalise and split on whitespace;
/// 4. per word, when `lowercase`: lower-case, then strip accents (NFD, drop combining marks, category Mn);
/// 5. split off every punctuation character (ASCII 33–47, 58–64, 91–96, 123–126, or category P*) as its own word.
///
/// Reference: Devlin et al. 2019 (BERT) and the `BasicTokenizer` of Hugging Face transformers, which
/// all-MiniLM-L6-v2's tokenizer (`do_lower_case = true`, `tokenize_chinese_chars = true`) follows.
public struct BertBasicTokenizer: Sendable {
    /// Lower-case and strip accents (the "uncased" models).
    public var lowercase: Bool
    /// Put spaces around CJK ideographs.
    public var splitCJK: Bool

    public init(lowercase: Bool = true, splitCJK: Bool = true) {
        self.lowercase = lowercase
        self.splitCJK = splitCJK
    }

    /// The words of `text`, in order.
    public func words(_ text: String) -> [String] {
        // Steps 1 and 2: clean and isolate CJK ideographs.
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isBertWhitespace(scalar) {
                cleaned.append(" ")
            } else if splitCJK && Self.isCJKIdeograph(value) {
                cleaned.append(" "); cleaned.append(scalar); cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        // Step 3: NFC, then split on whitespace (Python's `str.split()`). ASCII text is already in NFC and has
        // no accents to strip, so it skips the normalisations.
        let isASCII = text.utf8.allSatisfy { $0 < 0x80 }
        let normalized = isASCII ? String(cleaned) : String(cleaned).precomposedStringWithCanonicalMapping
        var words: [String] = []
        for raw in Self.splitOnWhitespace(normalized) {
            var word = raw
            if lowercase {
                // Step 4: lower-case, then strip accents.
                word = isASCII ? word.lowercased() : String(Self.stripAccents(word.lowercased()))
            }
            // Step 5: punctuation splitting.
            Self.splitPunctuation(word, into: &words)
        }
        return words
    }

    // MARK: - Character classes (mirroring transformers' `_is_whitespace`, `_is_control`, `_is_punctuation`)

    /// Space, tab, newline, carriage return, or general category Zs.
    static func isBertWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        default: return s.properties.generalCategory == .spaceSeparator
        }
    }

    /// General category Cc, Cf, Cn, Co or Cs, except tab, newline and carriage return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        default: break
        }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// ASCII non-alphanumeric printable characters, or general category P*.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph ranges of transformers' `_is_chinese_char` (Hangul, kana etc. are not included).
    static func isCJKIdeograph(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// Python's `str.isspace()` for one code point (used by `str.split()`): White_Space characters.
    static func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x1C...0x1F: return true  // Python counts the ASCII information separators as whitespace
        default: return s.properties.isWhitespace
        }
    }

    static func splitOnWhitespace(_ text: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if isPythonWhitespace(s) {
                if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }

    /// NFD, then drop nonspacing marks (category Mn).
    static func stripAccents(_ text: String) -> String.UnicodeScalarView {
        var out = String.UnicodeScalarView()
        for s in text.decomposedStringWithCanonicalMapping.unicodeScalars
        where s.properties.generalCategory != .nonspacingMark {
            out.append(s)
        }
        return out
    }

    static func splitPunctuation(_ word: String, into words: inout [String]) {
        var current = String.UnicodeScalarView()
        for s in word.unicodeScalars {
            if isPunctuation(s) {
                if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
                words.append(String(s))
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(String(current)) }
    }
}
