import Foundation

/// Errors raised while building or rendering a figure. Each message names the figure, panel or file involved.
public enum PlotError: Error, LocalizedError, Equatable {
    /// A Cairo call returned a status other than `CAIRO_STATUS_SUCCESS`.
    case cairo(operation: String, status: String)
    /// Data given to a plot is not usable (empty, non-finite, mismatched lengths); `field` names it.
    case invalidData(field: String, reason: String)
    /// Writing a rendered figure to disk failed.
    case writeFailed(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .cairo(operation, status): "Cairo failed in \(operation): \(status)"
        case let .invalidData(field, reason): "invalid plot data in \(field): \(reason)"
        case let .writeFailed(path, reason): "could not write figure \(path): \(reason)"
        }
    }
}
