import Foundation
import Testing

/// `scripts/check-imports.py`: Package.swift declares exactly the modules each target imports, and
/// docs/ARCHITECTURE.md's module table says the same (python3 standard library, no network, no SwiftPM).
@Suite struct PackageImportsTests {
    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func check(root: URL) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", StudyFixtures.repositoryRoot.appendingPathComponent("scripts/check-imports.py").path,
                       "--root", root.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    @Test func everyTargetDeclaresExactlyWhatItImports() throws {
        let r = try Self.check(root: StudyFixtures.repositoryRoot)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("semprog: ") && r.stdout.contains("StudyTests: "))
    }

    /// A made-up package: A declares B but imports C (and re-exports it), the table lists B for A.
    @Test func differencesAreNamedAndFail() throws {
        let root = try StudyFixtures.scratch("imports")
        defer { try? FileManager.default.removeItem(at: root) }
        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try write("Package.swift", """
            // swift-tools-version: 6.1
            import PackageDescription
            let package = Package(name: "p", targets: [
                .target(name: "A", dependencies: ["B", .product(name: "Dep", package: "dep")]),  // "C" in a comment is no dependency
                .target(name: "B"), .target(name: "C"),
                .executableTarget(name: "tool", dependencies: ["A"]),
                .testTarget(name: "ATests", dependencies: ["A", "tool"]),
            ])
            """)
        try write("Sources/A/a.swift", "import Foundation\n@_exported import C\nimport Dep\n// import B (in a comment)\n")
        try write("Sources/B/b.swift", "public let b = 1\n")
        try write("Sources/C/c.swift", "public let c = 1\n")
        try write("Sources/tool/main.swift", "import A\n")
        try write("Tests/ATests/t.swift", "import Testing\n@testable import A\nimport Glibc\n")
        try write("docs/ARCHITECTURE.md", "| module | imports | why |\n|---|---|---|\n| `A` | B, Dep | a |\n| `B`, `C` | — | leaves |\n")
        let r = try Self.check(root: root)
        #expect(r.status == 1)
        #expect(r.stderr.contains("A: imports C (Sources/A/a.swift) but Package.swift does not declare it"), "\(r.stderr)")
        #expect(r.stderr.contains("A: Package.swift declares B but no file of A imports it"))
        #expect(r.stderr.contains("A: @_exported import in Sources/A/a.swift"))
        #expect(r.stderr.contains("docs/ARCHITECTURE.md: no row for module tool"))
        // ATests' dependency on the executable is a build dependency; Glibc and Testing belong to the platform.
        #expect(!r.stderr.contains("ATests"))
        #expect(r.stderr.contains("4 difference(s)"))

        // Fixed: the same package passes.
        try write("Package.swift", """
            // swift-tools-version: 6.1
            import PackageDescription
            let package = Package(name: "p", targets: [
                .target(name: "A", dependencies: ["C", .product(name: "Dep", package: "dep")]),
                .target(name: "B"), .target(name: "C"),
                .executableTarget(name: "tool", dependencies: ["A"]),
                .testTarget(name: "ATests", dependencies: ["A", "tool"]),
            ])
            """)
        try write("Sources/A/a.swift", "import Foundation\nimport C\nimport Dep\n")
        try write("docs/ARCHITECTURE.md", "| module | imports | why |\n|---|---|---|\n| `A` | C, Dep | a |\n| `B`, `C` | — | leaves |\n| `tool` | A | the CLI |\n")
        let fixed = try Self.check(root: root)
        #expect(fixed.status == 0, "\(fixed.stderr)")
    }
}
