import Foundation

/// Where a study run writes: data (tables, JSON, the paths it wrote) to standard output, diagnostics (notes,
/// timings, what was done) to standard error — as a command-line tool should. Tests pass a console that records
/// both streams.
public struct StudyConsole: Sendable {
    /// One line of data (a newline is added).
    public var output: @Sendable (String) -> Void
    /// One line of diagnostics (a newline is added).
    public var diagnostic: @Sendable (String) -> Void

    public init(output: @escaping @Sendable (String) -> Void, diagnostic: @escaping @Sendable (String) -> Void) {
        self.output = output
        self.diagnostic = diagnostic
    }

    /// stdout (`print`) and stderr.
    public static let standard = StudyConsole(
        output: { print($0) },
        diagnostic: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
}
