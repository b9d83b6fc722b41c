import Foundation

/// The list of files a report wrote into its folder (`.semprog-report-manifest`, one relative path a line), so a
/// later report replaces exactly those and nothing else.
enum ReportManifest {
    static let fileName = ".semprog-report-manifest"
    /// Prefix of the temporary folder a report renders into when it shares its folder with other files.
    static let partialPrefix = ".semprog-report-partial-"
    static let header = "# semprog report manifest: the files this report wrote; a rerun replaces only these"

    /// Regular files (and links) under a folder, as relative paths, and its subfolders; skips a report's
    /// temporary folders.
    struct Contents: Equatable {
        var files: Set<String>
        var directories: Set<String>
    }

    static func contents(of folder: URL) throws -> Contents {
        let fm = FileManager.default
        var files = Set<String>(), directories = Set<String>()
        let paths: [String]
        do { paths = try fm.subpathsOfDirectory(atPath: folder.path) } catch {
            throw ReportError.outputNotWritable(path: folder.path, reason: "cannot list it: \(error.localizedDescription)")
        }
        for p in paths {
            if p.hasPrefix(partialPrefix) { continue }
            var isDir: ObjCBool = false
            let full = folder.appendingPathComponent(p).path
            let attributes = try? fm.attributesOfItem(atPath: full)
            if attributes?[.type] as? FileAttributeType != .typeSymbolicLink,
               fm.fileExists(atPath: full, isDirectory: &isDir), isDir.boolValue {
                directories.insert(p)
            } else {
                files.insert(p)
            }
        }
        return Contents(files: files, directories: directories)
    }

    /// The paths listed by the folder's manifest (only plain relative paths; nil without a manifest).
    static func read(in folder: URL) -> Set<String>? {
        guard let text = try? String(contentsOf: folder.appendingPathComponent(fileName), encoding: .utf8) else { return nil }
        var paths = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            let p = String(line)
            let parts = p.split(separator: "/", omittingEmptySubsequences: false)
            guard !p.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { continue }
            paths.insert(p)
        }
        return paths
    }

    static func write(_ files: [String], in folder: URL) throws {
        let text = ([header] + files.sorted()).joined(separator: "\n") + "\n"
        do { try Data(text.utf8).write(to: folder.appendingPathComponent(fileName)) } catch {
            throw ReportError.outputNotWritable(path: folder.path, reason: error.localizedDescription)
        }
    }

    /// A report written before manifests existed: only report.html / report.pdf / summary.csv / explorer.html and
    /// figures/*.png|svg, with a summary.csv that starts with the report's header.
    static func isLegacyReport(_ c: Contents, in folder: URL) -> Bool {
        guard c.files.contains("summary.csv"), c.directories.isSubset(of: ["figures"]) else { return false }
        let top: Set<String> = ["report.html", "report.pdf", "summary.csv", Explorer.fileName]
        for f in c.files {
            if top.contains(f) { continue }
            let parts = f.split(separator: "/")
            guard parts.count == 2, parts[0] == "figures", f.hasSuffix(".png") || f.hasSuffix(".svg") else { return false }
        }
        guard let csv = try? String(contentsOf: folder.appendingPathComponent("summary.csv"), encoding: .utf8) else { return false }
        return csv.hasPrefix(SummaryCSV.header.joined(separator: ",") + "\n")
    }
}
