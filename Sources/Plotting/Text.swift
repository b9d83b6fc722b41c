import Foundation

/// Makes untrusted text (model outputs, explanations) safe to lay out: control characters and
/// bidirectional embedding/override/isolate controls are removed (they could reorder or hide the text
/// around them), tabs become spaces, runs of blank lines collapse, and the result is cut to
/// `maxCharacters` grapheme clusters with a trailing "…". Right-to-left letters are kept as they are.
public enum TextSanitizer {
    public static func clean(_ text: String, maxCharacters: Int = 4000, keepNewlines: Bool = true) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            switch s.value {
            case 0x0A: scalars.append(keepNewlines ? s : " ")
            case 0x09: scalars.append(" ")
            case 0x0D: continue
            case 0x00...0x1F, 0x7F...0x9F: continue          // C0 / C1 controls
            case 0x202A...0x202E, 0x2066...0x2069: continue  // bidi embeddings, overrides, isolates
            case 0x2028, 0x2029: scalars.append(keepNewlines ? "\n" : " ")
            case 0xFEFF, 0xFFF9...0xFFFB: continue             // BOM / interlinear annotation controls
            case 0xD800...0xDFFF: continue
            default: scalars.append(s)
            }
        }
        var result = String(scalars)
        if result.count > maxCharacters {
            result = String(result.prefix(max(maxCharacters - 1, 0))) + "…"
        }
        return result
    }
}

/// A font for text drawn through Cairo's fontconfig backend.
public struct Font: Sendable, Equatable {
    public var family: String
    public var size: Double
    public var bold: Bool
    public var italic: Bool

    public init(size: Double, bold: Bool = false, italic: Bool = false, family: String = "DejaVu Sans") {
        self.family = family; self.size = size; self.bold = bold; self.italic = italic
    }
}

/// Horizontal anchoring of a text run relative to its x coordinate.
public enum TextAnchor: Sendable { case start, middle, end }
