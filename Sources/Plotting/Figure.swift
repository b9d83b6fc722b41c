import Foundation

/// A tick at a data coordinate with its label (for categorical or explicitly labelled axes).
public struct Tick: Sendable, Equatable {
    public var position: Double
    public var label: String
    public init(_ position: Double, _ label: String) { self.position = position; self.label = label }
}

/// One axis of a panel.
public struct Axis: Sendable {
    public var label: String?
    /// Fixed data range; nil = from the data, extended to nice ticks.
    public var range: ClosedRange<Double>?
    /// Explicit ticks; nil = nice-number ticks.
    public var ticks: [Tick]?
    /// Draws larger values downward (y) or leftward (x); used for heatmap rows listed top to bottom.
    public var inverted: Bool
    public init(label: String? = nil, range: ClosedRange<Double>? = nil, ticks: [Tick]? = nil, inverted: Bool = false) {
        self.label = label; self.range = range; self.ticks = ticks; self.inverted = inverted
    }
}

/// A line through (x, y) points; NaN y values break the line.
public struct LineSeries: Sendable {
    public var x: [Double], y: [Double]
    public var label: String?
    public var color: Color
    public var width: Double
    public var dashed: Bool
    public var markers: Bool
    public init(x: [Double], y: [Double], label: String? = nil, color: Color = Palette.color(0), width: Double = 1.6,
                dashed: Bool = false, markers: Bool = true) {
        self.x = x; self.y = y; self.label = label; self.color = color; self.width = width
        self.dashed = dashed; self.markers = markers
    }
}

/// A shaded band between `lower` and `upper` (e.g. a 95 % confidence interval) over `x`.
public struct Band: Sendable {
    public var x: [Double], lower: [Double], upper: [Double]
    public var color: Color
    public var label: String?
    public init(x: [Double], lower: [Double], upper: [Double], color: Color = Palette.color(0).withAlpha(0.22),
                label: String? = nil) {
        self.x = x; self.lower = lower; self.upper = upper; self.color = color; self.label = label
    }
}

/// Points, optionally with an ordinary-least-squares trend line and a text annotation (e.g. "ρ = 0.41").
public struct ScatterSeries: Sendable {
    public var x: [Double], y: [Double]
    public var label: String?
    public var color: Color
    public var radius: Double
    public var trendLine: Bool
    public init(x: [Double], y: [Double], label: String? = nil, color: Color = Palette.color(0), radius: Double = 3,
                trendLine: Bool = false) {
        self.x = x; self.y = y; self.label = label; self.color = color; self.radius = radius; self.trendLine = trendLine
    }
}

/// Bars over bins `edges[i]…edges[i+1]` with heights `counts[i]`.
public struct Histogram: Sendable {
    public var edges: [Double], counts: [Double]
    public var color: Color
    public var label: String?
    public init(edges: [Double], counts: [Double], color: Color = Palette.color(0), label: String? = nil) {
        self.edges = edges; self.counts = counts; self.color = color; self.label = label
    }

    /// One unit-wide bin per integer from min to max of `values` (for counts such as stages per feature).
    public static func integers(_ values: [Int], color: Color = Palette.color(0), label: String? = nil) -> Histogram {
        guard let lo = values.min(), let hi = values.max() else { return Histogram(edges: [0, 1], counts: [0]) }
        var counts = [Double](repeating: 0, count: hi - lo + 1)
        for v in values { counts[v - lo] += 1 }
        return Histogram(edges: (lo...(hi + 1)).map { Double($0) - 0.5 }, counts: counts, color: color, label: label)
    }

    /// `binCount` equal-width bins over the finite values.
    public static func equalWidth(_ values: [Double], binCount: Int, color: Color = Palette.color(0)) -> Histogram {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi0 = finite.max(), binCount > 0 else { return Histogram(edges: [0, 1], counts: [0]) }
        let hi = hi0 > lo ? hi0 : lo + 1
        let w = (hi - lo) / Double(binCount)
        var counts = [Double](repeating: 0, count: binCount)
        for v in finite { counts[min(Int((v - lo) / w), binCount - 1)] += 1 }
        return Histogram(edges: (0...binCount).map { lo + Double($0) * w }, counts: counts, color: color)
    }
}

/// How heatmap cell values map to colours.
public enum CellColouring: Sendable {
    /// Values mapped linearly from `range` onto the colour map; a colour bar titled `label` is drawn.
    case continuous(Colormap, range: ClosedRange<Double>, label: String)
    /// Values are category indices into `colors` (NaN or out of range = missing); `names` go into the legend.
    case categorical(colors: [Color], names: [String])
}

/// A marker placed on a heatmap at (column, row) in cell units, e.g. degradation onset.
public struct CellMarker: Sendable {
    public var row: Int
    public var column: Double
    public init(row: Int, column: Double) { self.row = row; self.column = column }
}

/// A grid of cells: `values[row][column]`; row 0 is drawn on top. Cell (r, c) spans x c…c+1, y r…r+1.
public struct Heatmap: Sendable {
    public var values: [[Double]]
    public var colouring: CellColouring
    /// Cells drawn hatched (e.g. degraded generations); same shape as `values` or empty.
    public var hatched: [[Bool]]
    public var hatchLabel: String?
    public var markers: [CellMarker]
    public var markerLabel: String?
    public init(values: [[Double]], colouring: CellColouring, hatched: [[Bool]] = [], hatchLabel: String? = nil,
                markers: [CellMarker] = [], markerLabel: String? = nil) {
        self.values = values; self.colouring = colouring; self.hatched = hatched; self.hatchLabel = hatchLabel
        self.markers = markers; self.markerLabel = markerLabel
    }
    public var rows: Int { values.count }
    public var columns: Int { values.first?.count ?? 0 }
}

/// A horizontal or vertical reference line at a data coordinate.
public struct ReferenceLine: Sendable {
    public enum Orientation: Sendable { case horizontal, vertical }
    public var orientation: Orientation
    public var value: Double
    public var color: Color
    public var label: String?
    public init(_ orientation: Orientation, at value: Double, color: Color = Color(hex: 0x666666), label: String? = nil) {
        self.orientation = orientation; self.value = value; self.color = color; self.label = label
    }
}

/// One thing drawn inside a panel.
public enum PlotLayer: Sendable {
    case band(Band)
    case line(LineSeries)
    case scatter(ScatterSeries)
    case histogram(Histogram)
    case heatmap(Heatmap)
    case reference(ReferenceLine)
}

/// Where a panel's legend goes.
public enum LegendPlacement: Sendable { case none, insideTopRight, insideTopLeft, right }

/// One set of axes with its layers.
public struct Panel: Sendable {
    public var title: String?
    public var x: Axis
    public var y: Axis
    public var layers: [PlotLayer]
    public var legend: LegendPlacement
    /// Text in a box in the top-left corner of the plot area (e.g. a trend or rank statistic).
    public var annotation: String?
    public var grid: Bool
    public init(title: String? = nil, x: Axis = Axis(), y: Axis = Axis(), layers: [PlotLayer] = [],
                legend: LegendPlacement = .none, annotation: String? = nil, grid: Bool = true) {
        self.title = title; self.x = x; self.y = y; self.layers = layers; self.legend = legend
        self.annotation = annotation; self.grid = grid
    }
}

/// A figure: one panel or a grid of small multiples, `width` × `height` points, drawn by `FigureRenderer`.
public struct Figure: Sendable {
    public var width: Double
    public var height: Double
    public var title: String?
    public var panels: [Panel]
    /// Number of columns of the small-multiples grid.
    public var columns: Int
    public var background: Color
    public init(width: Double = 480, height: Double = 300, title: String? = nil, panels: [Panel], columns: Int = 1,
                background: Color = .white) {
        self.width = width; self.height = height; self.title = title; self.panels = panels
        self.columns = max(1, columns); self.background = background
    }
}
