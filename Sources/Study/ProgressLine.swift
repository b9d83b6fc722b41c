import Foundation

/// A single progress line on stderr, redrawn in place; silent when stderr is not a TTY or when quiet.
public final class ProgressLine: @unchecked Sendable {
    private let label: String
    private let enabled: Bool
    private var lastDraw = Date.distantPast
    private let start = Date()

    public init(_ label: String, quiet: Bool = false) {
        self.label = label
        self.enabled = !quiet && isatty(2) == 1
    }

    /// Draws "label done/total (rate/s, ETA …) extra" at most ten times a second.
    public func update(done: Int, total: Int, unit: String = "", extra: String = "", force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        var line = "\(label) \(done)/\(total)"
        if rate > 0 { line += String(format: " (%.1f %@/s, ETA %@)", rate, unit.isEmpty ? "items" : unit, Self.format(seconds: eta)) }
        if !extra.isEmpty { line += " " + extra }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Clears the line.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    public static func format(seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
