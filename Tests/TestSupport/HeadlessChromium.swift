import Foundation

/// Runs Debian's `chromium` headless for the explorer's browser tests: `--dump-dom` of a page (after its scripts
/// ran, optionally under a virtual-time budget) and `--screenshot`. Each run gets its own profile folder, so tests
/// may run side by side. A missing browser is an error that says how to install it (the tests fail, not skip).
public enum HeadlessChromium {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Path of the browser: `$CHROMIUM`, else `chromium` / `chromium-browser` on the PATH.
    public static func executable() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["CHROMIUM"], FileManager.default.isExecutableFile(atPath: p) { return p }
        let path = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init) + ["/usr/bin"]
        for dir in path {
            for name in ["chromium", "chromium-browser"] {
                let p = dir + "/" + name
                if FileManager.default.isExecutableFile(atPath: p) { return p }
            }
        }
        throw Failure(description: "chromium not found (needed for the explorer's browser tests): run `make deps`, which installs Debian's chromium package (apt-get install -y chromium), or set CHROMIUM=/path/to/chromium")
    }

    /// Output of one browser run.
    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var seconds: Double
    }

    /// Runs chromium headless with `arguments` after the common flags; kills it after `timeout` seconds.
    public static func run(_ arguments: [String], timeout: Double = 120) throws -> Run {
        let exe = try executable()
        let scratch = TestScratch.root.appendingPathComponent("chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                       "--disable-extensions", "--disable-background-networking", "--disable-sync",
                       "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                       "--user-data-dir=" + scratch.appendingPathComponent("profile").path] + arguments
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = scratch.path  // keeps ~/.config untouched
        p.environment = environment
        let started = Date()
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            _ = done.wait(timeout: .now() + 5)
            throw Failure(description: "chromium \(arguments) did not finish within \(Int(timeout)) s")
        }
        try out.close(); try err.close()
        return Run(status: p.terminationStatus,
                   stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                   stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                   seconds: Date().timeIntervalSince(started))
    }

    /// The DOM of `url` after its scripts ran; `virtualTimeBudget` (ms) lets timers run before the dump.
    public static func dumpDOM(_ url: String, virtualTimeBudget: Int? = 5000, windowSize: String = "1280,900") throws -> Run {
        var args = ["--window-size=\(windowSize)"]
        if let virtualTimeBudget { args.append("--virtual-time-budget=\(virtualTimeBudget)") }
        let r = try run(args + ["--dump-dom", url])
        guard r.status == 0, r.stdout.contains("<html") else {
            throw Failure(description: "chromium --dump-dom \(url) failed (status \(r.status)): \(r.stderr.suffix(2000))")
        }
        return r
    }

    /// Writes a PNG screenshot of `url` to `png`.
    public static func screenshot(_ url: String, to png: URL, windowSize: String = "1280,1000",
                                  virtualTimeBudget: Int = 3000) throws {
        let r = try run(["--window-size=\(windowSize)", "--virtual-time-budget=\(virtualTimeBudget)",
                         "--screenshot=" + png.path, url])
        guard r.status == 0, FileManager.default.fileExists(atPath: png.path) else {
            throw Failure(description: "chromium --screenshot \(url) failed (status \(r.status)): \(r.stderr.suffix(2000))")
        }
    }

    /// The JSON a page wrote as the text of `<pre id="…">` (the page escapes <, > and & as \u sequences, so the
    /// serialized text is the JSON itself).
    public static func jsonText(inElement id: String, of dom: String) throws -> [String: Any] {
        guard let open = dom.range(of: "id=\"\(id)\""), let start = dom[open.upperBound...].firstIndex(of: ">"),
              let end = dom[start...].range(of: "</pre>") else {
            throw Failure(description: "no <pre id=\"\(id)\"> in the page: \(dom.prefix(600))")
        }
        let text = String(dom[dom.index(after: start)..<end.lowerBound])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw Failure(description: "the text of #\(id) is not a JSON object: \(text.prefix(600))")
        }
        return object
    }
}
