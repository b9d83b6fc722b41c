/// An sRGB colour with alpha, components in 0…1.
public struct Color: Sendable, Equatable, Codable {
    public var red: Double, green: Double, blue: Double, alpha: Double

    public init(red: Double, green: Double, blue: Double, alpha: Double = 1) {
        self.red = red; self.green = green; self.blue = blue; self.alpha = alpha
    }

    /// `Color(hex: 0x440154)`.
    public init(hex: UInt32, alpha: Double = 1) {
        self.init(red: Double((hex >> 16) & 0xFF) / 255, green: Double((hex >> 8) & 0xFF) / 255,
                  blue: Double(hex & 0xFF) / 255, alpha: alpha)
    }

    public func withAlpha(_ a: Double) -> Color { Color(red: red, green: green, blue: blue, alpha: a) }

    /// Relative luminance (WCAG 2.x): 0.2126 R + 0.7152 G + 0.0722 B on linearised sRGB.
    public var luminance: Double {
        func lin(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055).pow24 }
        return 0.2126 * lin(red) + 0.7152 * lin(green) + 0.0722 * lin(blue)
    }

    public static let black = Color(hex: 0x000000)
    public static let white = Color(hex: 0xFFFFFF)
    public static let axis = Color(hex: 0x333333)
    public static let grid = Color(hex: 0xE6E6E6)
    public static let missing = Color(hex: 0xD9D9D9)
}

private extension Double {
    var pow24: Double { Foundation.pow(self, 2.4) }
}

import Foundation

/// A continuous colour map: piecewise-linear interpolation between evenly spaced anchors.
public struct Colormap: Sendable, Equatable {
    public let name: String
    public let anchors: [Color]

    public init(name: String, anchors: [Color]) {
        precondition(anchors.count >= 2)
        self.name = name
        self.anchors = anchors
    }

    /// The colour at `t` (clamped to 0…1; NaN gives `Color.missing`).
    public func color(at t: Double) -> Color {
        guard t.isFinite else { return .missing }
        let x = min(max(t, 0), 1) * Double(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2)
        let f = x - Double(i)
        let a = anchors[i], b = anchors[i + 1]
        return Color(red: a.red + (b.red - a.red) * f, green: a.green + (b.green - a.green) * f,
                     blue: a.blue + (b.blue - a.blue) * f)
    }

    /// Viridis (van der Walt & Smith, matplotlib 2.0): perceptually uniform, monotone in lightness,
    /// readable in greyscale and by colour-blind readers. Anchors are viridis(0, 0.1, …, 1).
    public static let viridis = Colormap(name: "viridis", anchors: [
        0x440154, 0x482475, 0x414487, 0x355F8D, 0x2A788E, 0x21918C, 0x22A884, 0x44BF70, 0x7AD151, 0xBDDF26, 0xFDE725,
    ].map { Color(hex: $0) })
}

/// Categorical palette for stages and series: matplotlib's "tab10" (Tableau 10) colours.
public enum Palette {
    public static let categorical: [Color] = [
        0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD, 0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF,
    ].map { Color(hex: $0) }

    /// The `i`-th categorical colour (cycles after 10).
    public static func color(_ i: Int) -> Color { categorical[((i % categorical.count) + categorical.count) % categorical.count] }
}
