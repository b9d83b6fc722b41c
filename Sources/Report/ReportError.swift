import Foundation

/// Errors raised while checking report data or writing a report; each names the file, field or folder involved.
public enum ReportError: Error, LocalizedError, Equatable {
    /// The sweep exists but has no analysis yet; `command` is what to run first.
    case notAnalysed(sweep: String, command: String)
    /// A field of the report data is inconsistent (`field` is a path such as `features[2].similarity`).
    case invalidData(field: String, reason: String)
    /// The report data file could not be read or decoded.
    case unreadableData(path: String, reason: String)
    case templateDirectoryMissing(path: String)
    case templateMissing(path: String)
    case templateInvalid(path: String, reason: String)
    /// The output folder (or its parent) cannot be written.
    case outputNotWritable(path: String, reason: String)
    /// A figure could not be drawn or encoded.
    case figureFailed(name: String, reason: String)
    /// The output folder holds files but no earlier report (no manifest); `--force` writes beside them.
    case outputNotEmpty(path: String)
    /// Files in the output folder that a report did not write have the names of report files.
    case outputConflict(path: String, files: [String])

    public var errorDescription: String? {
        switch self {
        case let .notAnalysed(sweep, command):
            "sweep '\(sweep)' has not been analysed yet: run `\(command)` first"
        case let .invalidData(field, reason): "invalid report data in \(field): \(reason)"
        case let .unreadableData(path, reason): "cannot read report data \(path): \(reason)"
        case let .templateDirectoryMissing(path):
            "template directory \(path) does not exist (pass --templates DIR or run from the repository root)"
        case let .templateMissing(path): "template \(path) is missing"
        case let .templateInvalid(path, reason): "template \(path) is invalid: \(reason)"
        case let .outputNotWritable(path, reason): "cannot write the report to \(path): \(reason)"
        case let .figureFailed(name, reason): "figure \(name) failed: \(reason)"
        case let .outputNotEmpty(path):
            "the folder \(path) is not empty and holds no earlier report: choose an empty or new folder, or pass --force to write the report beside its files (they are kept)"
        case let .outputConflict(path, files):
            "the folder \(path) holds files a report did not write but would overwrite: "
                + files.prefix(8).joined(separator: ", ") + (files.count > 8 ? " and \(files.count - 8) more" : "")
                + "; move them away or choose another folder (they are never replaced)"
        }
    }
}

extension ReportData {
    /// Checks shapes and values before anything is written: magnitudes ascending and finite, every
    /// per-magnitude series as long as `run.magnitudes`, progression strips prompts × magnitudes, stage ids in
    /// range, run date in ISO 8601. Throws `ReportError.notAnalysed` when there are no feature pages.
    public func validate() throws {
        let m = run.magnitudes
        guard !m.isEmpty else { throw ReportError.invalidData(field: "run.magnitudes", reason: "no magnitudes") }
        for (i, v) in m.enumerated() where !v.isFinite || (i > 0 && v <= m[i - 1]) {
            throw ReportError.invalidData(field: "run.magnitudes[\(i)]", reason: "\(v) is not finite and ascending")
        }
        guard ReportData.parseRunDate(run.runDate) != nil else {
            throw ReportError.invalidData(field: "run.run_date",
                                          reason: "'\(run.runDate)' is not an ISO 8601 date like 2026-01-31T12:00:00Z")
        }
        if features.isEmpty {
            throw ReportError.notAnalysed(sweep: run.sweepName,
                                          command: "semprog analyze --sweep \(run.sweepName)")
        }
        func finite(_ v: Double, _ field: String) throws {
            guard v.isFinite else { throw ReportError.invalidData(field: field, reason: "\(v) is not finite") }
        }
        try finite(summary.rq1.meanStageCount, "summary.rq1.mean_stage_count")
        try finite(summary.meanExplanationSimilarity, "summary.mean_explanation_similarity")
        for (i, p) in summary.rq3.points.enumerated() {
            try finite(p.log10Density, "summary.rq3.points[\(i)].log10_density")
            try finite(p.robustness, "summary.rq3.points[\(i)].robustness")
        }
        for (fi, f) in features.enumerated() {
            let base = "features[\(fi)] (feature \(f.index))"
            try finite(f.maxActivation, "\(base).max_activation")
            try finite(f.log10Density, "\(base).log10_density")
            try finite(f.robustness, "\(base).robustness")
            let p = f.progression
            let rows = p.prompts.count
            guard p.stageIds.count == rows, p.degraded.count == rows, p.onsetMagnitudeIndex.count == rows else {
                throw ReportError.invalidData(field: "\(base).progression",
                    reason: "\(rows) prompts but \(p.stageIds.count) stage_ids rows, \(p.degraded.count) degraded rows, \(p.onsetMagnitudeIndex.count) onsets")
            }
            for r in 0..<rows {
                guard p.stageIds[r].count == m.count, p.degraded[r].count == m.count else {
                    throw ReportError.invalidData(field: "\(base).progression row \(r)",
                        reason: "\(p.stageIds[r].count) stage ids / \(p.degraded[r].count) degraded flags for \(m.count) magnitudes")
                }
                if let bad = p.stageIds[r].first(where: { $0 < -1 || $0 >= f.stages.count }) {
                    throw ReportError.invalidData(field: "\(base).progression.stage_ids[\(r)]",
                                                  reason: "stage id \(bad) but the feature has \(f.stages.count) stages")
                }
                if let o = p.onsetMagnitudeIndex[r], o < 0 || o >= m.count {
                    throw ReportError.invalidData(field: "\(base).progression.onset_magnitude_index[\(r)]",
                                                  reason: "\(o) is outside 0..<\(m.count)")
                }
            }
            for (si, s) in f.similarity.enumerated() {
                try finite(s.magnitude, "\(base).similarity[\(si)].magnitude")
                try finite(s.mean, "\(base).similarity[\(si)].mean")
            }
            if let outputs = f.outputs {
                guard outputs.count == rows, outputs.allSatisfy({ $0.count == m.count }) else {
                    throw ReportError.invalidData(field: "\(base).outputs",
                                                  reason: "expected \(rows) rows of \(m.count) outputs (prompts × magnitudes)")
                }
            }
            for (di, d) in f.degradation.enumerated() where d.values.count != m.count {
                throw ReportError.invalidData(field: "\(base).degradation[\(di)] '\(d.name)'",
                                              reason: "\(d.values.count) values for \(m.count) magnitudes")
            }
        }
    }

    /// Parses the run date (ISO 8601 with time zone, optionally fractional seconds).
    public static func parseRunDate(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s)
    }

    /// Reads report data from a JSON file.
    public static func load(from url: URL) throws -> ReportData {
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch {
            throw ReportError.unreadableData(path: url.path, reason: "the file cannot be read")
        }
        do { return try JSONDecoder().decode(ReportData.self, from: bytes) } catch let DecodingError.keyNotFound(key, ctx) {
            throw ReportError.unreadableData(path: url.path,
                reason: "missing field '\(key.stringValue)' at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx),
                let DecodingError.dataCorrupted(ctx) {
            throw ReportError.unreadableData(path: url.path,
                reason: "\(ctx.debugDescription) at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw ReportError.unreadableData(path: url.path, reason: error.localizedDescription)
        }
    }

    /// JSON with sorted keys (stable bytes).
    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try e.encode(self)
    }
}
