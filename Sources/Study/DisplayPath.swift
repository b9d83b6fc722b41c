import Foundation


/// A stored (absolute) path as the report shows it: relative to the working directory when inside it
/// (`models/demo-sae`), so a committed report names no machine's directories; unchanged otherwise.
public func displayPath(_ path: String, relativeTo directory: String = FileManager.default.currentDirectoryPath) -> String {
    let base = directory.hasSuffix("/") ? directory : directory + "/"
    return path.hasPrefix(base) && path.count > base.count ? String(path.dropFirst(base.count)) : path
}
