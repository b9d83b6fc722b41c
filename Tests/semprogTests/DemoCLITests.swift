import Foundation
import TestSupport
import Store
import Testing

/// `semprog demo --quick`: the whole pipeline (SAE training, statistics, explanations, sweep, describe,
/// analyse, report) at tiny sizes on the real SmolLM2 model and MiniLM embeddings.
@Suite(.serialized) struct DemoCLITests {
    @Test func quickDemoWritesTheReportAndTheSummary() throws {
        let dir = TestScratch.root.appendingPathComponent("semprog-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("demo").path
        let result = try CLIRunner.run(["demo", "--quick", "--quiet", "--out", out])
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        for file in ["report.html", "report.pdf", "summary.csv"] {
            let path = out + "/" + file
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            #expect(size > 500, "\(file) written (\(size) bytes)")
        }
        let figures = (try? FileManager.default.contentsOfDirectory(atPath: out + "/figures")) ?? []
        #expect(figures.contains { $0.hasSuffix(".png") } && figures.contains { $0.hasSuffix(".svg") })
        // The RQ1–RQ3 summary and the report paths are printed at the end.
        for key in ["RQ1 mean stage count", "mean explanation similarity", "RQ2 consistency", "RQ3 Spearman ρ",
                    "RQ3 p (t)", "% CI", "RQ3 n", "report.html", "report.pdf"] {
            #expect(result.stdout.contains(key), "stdout names \(key)")
        }
        // The database holds a complete sweep: 3 features × 2 prompts × 4 magnitudes, and its analysis.
        let store = try StoreDatabase(path: out + ".sqlite")
        let sweep = try store.resolveSweep("demo")
        #expect(try store.generations(sweepId: sweep.id!).count == 3 * 2 * 4)
        #expect(try store.baselines(sweepId: sweep.id!).count == 2)
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg"))
        // The demo judges its outputs with the offline proxy (labelled so) and names how the SAE was read.
        #expect(html.contains("Mean best proxy steering score"), "the demo runs 'judge --judge offline'")
        #expect(html.contains("SAE format") && html.contains("SAELens (v6 cfg.json)"))
        // Paths inside the working directory are shown relative to it: the report names no machine's directories.
        #expect(html.contains("models/demo-sae-quick"))
        #expect(!html.contains(CLIRunner.repositoryRoot.path + "/models"))
        // A rerun resumes: everything is found done and the report is rewritten identically.
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/report.html"))
        let again = try CLIRunner.run(["demo", "--quick", "--quiet", "--out", out])
        #expect(again.status == 0, "\(again.stderr.suffix(2000))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/report.html")) == before)
        // A fresh database beside the same cached SAE: statistics and explanations come from the cache beside
        // the SAE (no corpus scan), and the study's summary is the same.
        let other = dir.appendingPathComponent("other").path
        let fresh = try CLIRunner.run(["demo", "--quick", "--quiet", "--out", other])
        #expect(fresh.status == 0, "\(fresh.stderr.suffix(2000))")
        #expect(fresh.stderr.contains("feature statistics and explanations from the cache"), "\(fresh.stderr.suffix(2000))")
        func summary(_ stdout: String) -> [Substring] {
            stdout.split(separator: "\n").filter { $0.hasPrefix("RQ") || $0.hasPrefix("mean explanation") || $0.hasPrefix("degraded") }
        }
        #expect(!summary(fresh.stdout).isEmpty && summary(fresh.stdout) == summary(result.stdout))
    }
}
