import Foundation

/// Errors raised by the command-line layer itself (argument combinations, missing files).
enum CLIError: Error, LocalizedError {
    case notYetAvailable(String)
    case invalidArgument(String)

    var errorDescription: String? {
        switch self {
        case let .notYetAvailable(what): "\(what) is not implemented yet in this version of semprog"
        case let .invalidArgument(message): message
        }
    }
}
