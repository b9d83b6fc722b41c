import Testing
import Foundation

@Suite struct RootCommandTests {
    @Test func versionAndHelp() throws {
        let version = try CLIRunner.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("0.1"))
        let help = try CLIRunner.run(["--help"])
        #expect(help.status == 0)
        for verb in ["generate", "sweep", "import", "export", "analyze", "report", "demo", "bench"] {
            #expect(help.stdout.contains(verb), "help lists \(verb)")
        }
    }

    @Test func unknownSubcommandFails() throws {
        let r = try CLIRunner.run(["no-such-verb"])
        #expect(r.status != 0)
        #expect(!r.stderr.isEmpty)
    }
}
