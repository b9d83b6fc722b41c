import Foundation
import TestSupport
import Testing

@Suite struct StatsCLITests {
    /// A fresh temporary directory for one test.
    static func temporaryDirectory() throws -> URL {
        let url = TestScratch.root.appendingPathComponent("semprog-stats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, to name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func spearmanJSONMatchesScipyFixture() throws {
        // The ties case with n = 25 from Tests/AnalysisTests/Fixtures (made by make_fixtures.py with SciPy).
        let fixtureURL = CLIRunner.repositoryRoot.appendingPathComponent("Tests/AnalysisTests/Fixtures/rank_correlation.json")
        let fixtures = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtureURL)) as! [String: Any]
        let cases = fixtures["cases"] as! [[String: Any]]
        let c = try #require(cases.first { $0["name"] as? String == "ties_n25" })
        let x = c["x"] as! [Double], y = c["y"] as! [Double]
        var csv = "id,\"sparsity, log10\",robustness\n"
        for i in x.indices { csv += "f\(i),\(x[i]),\(y[i])\r\n" }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.write(csv, to: "data.csv", in: dir)

        let r = try CLIRunner.run(["stats", "spearman", "--csv", path, "--x", "sparsity, log10", "--y", "robustness", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["n"] as? Int == 25)
        let rho = try #require(json["rho"] as? Double), p = try #require(json["p_value"] as? Double)
        #expect(abs(rho - (c["rho"] as! Double)) <= 1e-9)
        #expect(abs(p - (c["p_value"] as! Double)) <= 1e-6)
        let pPermutation = try #require(json["p_permutation"] as? Double)
        #expect(pPermutation > 0 && pPermutation < 0.01) // scipy's t p-value is 3.8e-7: strongly significant
        let low = try #require(json["ci_low"] as? Double), high = try #require(json["ci_high"] as? Double)
        #expect(low < rho && rho < high)
        #expect(abs((json["kendall_tau"] as! Double) - (c["kendall_tau"] as! Double)) <= 1e-9)

        // Same seed → same output; the table form names the columns.
        #expect(try CLIRunner.run(["stats", "spearman", "--csv", path, "--x", "sparsity, log10", "--y", "robustness", "--json"]).stdout == r.stdout)
        let table = try CLIRunner.run(["stats", "spearman", "--csv", path, "--x", "sparsity, log10", "--y", "robustness"])
        #expect(table.status == 0 && table.stdout.contains("rho") && table.stdout.contains("robustness"))
    }

    @Test func badCSVNamesFileRowAndColumn() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.write("a,b\n1,2\n2,oops\n3,5\n", to: "bad.csv", in: dir)

        let badCell = try CLIRunner.run(["stats", "spearman", "--csv", path, "--x", "a", "--y", "b"])
        #expect(badCell.status != 0)
        #expect(badCell.stderr.contains("bad.csv row 3, column 'b'") && badCell.stderr.contains("oops"))
        #expect(badCell.stdout.isEmpty)

        let badColumn = try CLIRunner.run(["stats", "spearman", "--csv", path, "--x", "a", "--y", "missing"])
        #expect(badColumn.status != 0)
        #expect(badColumn.stderr.contains("no column 'missing'") && badColumn.stderr.contains("bad.csv"))

        let missing = try CLIRunner.run(["stats", "spearman", "--csv", dir.appendingPathComponent("none.csv").path, "--x", "a", "--y", "b"])
        #expect(missing.status != 0 && missing.stderr.contains("none.csv"))

        let short = try Self.write("a,b\n1,2\n2\n", to: "short.csv", in: dir)
        let shortRow = try CLIRunner.run(["stats", "spearman", "--csv", short, "--x", "a", "--y", "b"])
        #expect(shortRow.status != 0 && shortRow.stderr.contains("short.csv row 3"))

        let two = try Self.write("a,b\n1,2\n2,3\n", to: "two.csv", in: dir)
        let tooFew = try CLIRunner.run(["stats", "spearman", "--csv", two, "--x", "a", "--y", "b"])
        #expect(tooFew.status != 0 && tooFew.stderr.contains("at least 3"))
    }

    @Test func constantColumnIsReportedUndefined() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.write("a,b\n1,4\n2,4\n3,4\n4,4\n", to: "constant.csv", in: dir)
        let r = try CLIRunner.run(["stats", "spearman", "--csv", path, "--x", "a", "--y", "b", "--json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"rho\":null") && !r.stdout.contains("NaN"))
        #expect(r.stderr.contains("column 'b' is constant"))
    }

    @Test func benchAnalyzeRunsASmallSweep() throws {
        let r = try CLIRunner.run(["bench", "analyze", "--features", "5", "--prompts", "3", "--magnitudes", "6", "--dimension", "16", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("90 generations") && r.stdout.contains("threads: 2"))
    }
}
