import Foundation

/// The one folder the tests write their files in: `semprog-tests-<pid>-<uuid>` under the system's temporary
/// directory, made on first use and removed with everything in it when the test process exits, so a run of the
/// suite leaves nothing behind in `/tmp` (before, each run left some 110 folders there). Tests make their own
/// uniquely named files and folders inside, so tests running side by side never meet. Set
/// `SEMPROG_KEEP_TEST_FILES=1` to keep the folder for a look after a failure (its path is printed on stderr then).
/// A test process that crashes leaves its folder, as any crash leaves its temporary files.
public enum TestScratch {
    public static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("semprog-tests-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot create the tests' scratch folder \(url.path): \(error)")
        }
        atexit { TestScratch.removeRoot() }
        return url
    }()

    /// Removes `root` (called at exit); keeps it when `SEMPROG_KEEP_TEST_FILES` is set.
    static func removeRoot() {
        if ProcessInfo.processInfo.environment["SEMPROG_KEEP_TEST_FILES"] != nil {
            FileHandle.standardError.write(Data("test files kept in \(root.path)\n".utf8))
            return
        }
        try? FileManager.default.removeItem(at: root)
    }
}
