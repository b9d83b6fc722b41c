import ArgumentParser
import Foundation

/// Diagnostics go to stderr, data to stdout.
enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Whether stderr is an interactive terminal (progress lines are drawn only then).
    static var stderrIsTTY: Bool { isatty(2) == 1 }

    /// Runs a command's work: an error is printed as `prefix` + its message on stderr and ends the command with
    /// exit code 1 (one clear line, no usage text); the argument parser's own errors and exit codes pass through.
    static func reportingErrors(prefix: String = "Error: ", _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            Self.error(prefix + error.localizedDescription)
            throw ExitCode.failure
        }
    }
}
