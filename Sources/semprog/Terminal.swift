import Foundation

/// Diagnostics go to stderr, data to stdout.
enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Whether stderr is an interactive terminal (progress lines are drawn only then).
    static var stderrIsTTY: Bool { isatty(2) == 1 }
}
