import Foundation
import LanguageModel
import SparseAutoencoder
import Testing
@testable import Study

/// `semprog train-sae`'s work (`SAETraining`) on the tiny Llama checkpoint and a written corpus.
@Suite struct SAETrainingTests {
    func settings(out: String, corpus: [String], l1: Float? = nil, k: Int? = 4, trainingTokens: Int? = 2048,
                  seed: UInt64 = 1) -> SAETraining.Settings {
        SAETraining.Settings(model: StudyFixtures.tinyLlama, layer: 1, latents: 24, k: k, l1: l1, corpus: corpus, tokens: 600,
                             contextLength: 24, heldOut: 0.25, trainingTokens: trainingTokens, batchSize: 64,
                             learningRate: 1e-3, seed: seed, out: out, threads: 2, quiet: true, command: "semprog train-sae …")
    }

    @Test func heldOutContextsAreTheRoundedShareAndAtLeastOne() {
        #expect(SAETraining.heldOutCount(contexts: 40, share: 0.25) == 10)
        #expect(SAETraining.heldOutCount(contexts: 25, share: 0.1) == 3)   // 2.5 rounds away from zero
        #expect(SAETraining.heldOutCount(contexts: 24, share: 0.1) == 2)
        #expect(SAETraining.heldOutCount(contexts: 3, share: 0.1) == 1)    // never zero
    }

    @Test func trainerSettingsFollowTheOptions() {
        let topK = SAETraining(settings: settings(out: "x", corpus: [], k: nil, trainingTokens: nil))
            .trainingConfiguration(trainingRows: 1000)
        #expect(topK.k == 32 && topK.l1Coefficient == nil)          // TopK with k = 32 unless told otherwise
        #expect(topK.trainingTokens == 3000)                        // three passes over the training rows
        #expect(topK.deadAfterTokens == 10_000)                     // half the rows, at least 10,000
        let l1 = SAETraining(settings: settings(out: "x", corpus: [], l1: 0.5, k: nil)).trainingConfiguration(trainingRows: 50_000)
        #expect(l1.k == nil && l1.l1Coefficient == 0.5 && l1.trainingTokens == 2048)
        #expect(l1.deadAfterTokens == 25_000)
        #expect(SAETraining(settings: settings(out: "x", corpus: [])).trainingConfiguration(trainingRows: 1_000_000).deadAfterTokens == 100_000)
    }

    @Test func trainsSavesAndReportsTheHeldOutMetrics() throws {
        let dir = try StudyFixtures.scratch("train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = try StudyFixtures.corpus(in: dir)
        let out = dir.appendingPathComponent("sae").path
        let recorder = RecordingConsole()
        try SAETraining(settings: settings(out: out, corpus: [corpus])).run(console: recorder.console)
        for file in ["cfg.json", "sae_weights.safetensors", "sparsity.safetensors", SAETrainingReport.fileName] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file)")
        }
        let report = try JSONDecoder().decode(SAETrainingReport.self,
                                              from: Data(contentsOf: URL(fileURLWithPath: out + "/" + SAETrainingReport.fileName)))
        // Every scored token of the corpus contexts is an activation, split between training and held-out.
        #expect(report.trainingActivations + report.heldOutActivations == 600)
        #expect(report.heldOutActivations > 0 && report.heldOutActivations < report.trainingActivations)
        #expect(report.layer == 1 && report.contextLength == 24 && report.command == "semprog train-sae …")
        #expect(report.settings.k == 4 && report.settings.latents == 24 && report.settings.trainingTokens == 2048)
        #expect(report.heldOut.l0 > 0 && report.heldOut.l0 <= 4, "\(report.heldOut)")
        #expect(report.heldOut.explainedVariance <= 1 && report.heldOut.mse >= 0)
        #expect(recorder.output.count == 2)
        #expect(recorder.output[0].hasPrefix("held-out (\(report.heldOutActivations) tokens): L0 "))
        #expect(recorder.output[1].hasSuffix("saved \(out)"))
        #expect(recorder.diagnostics.contains { $0.hasPrefix("collected \(report.trainingActivations) training + \(report.heldOutActivations) held-out activations at blocks.1.hook_resid_post") })
        let json = try String(contentsOfFile: out + "/" + SAETrainingReport.fileName, encoding: .utf8)
        for key in ["\"held_out\"", "\"explained_variance\"", "\"training_activations\"", "\"training_dead_fraction\""] {
            #expect(json.contains(key), "\(key)")
        }

        // The same seed gives the same weights; another seed does not.
        let again = dir.appendingPathComponent("again").path
        try SAETraining(settings: settings(out: again, corpus: [corpus])).run(console: RecordingConsole().console)
        let weights = { (folder: String) in try Data(contentsOf: URL(fileURLWithPath: folder + "/sae_weights.safetensors")) }
        #expect(try weights(out) == weights(again))
        let other = dir.appendingPathComponent("other").path
        try SAETraining(settings: settings(out: other, corpus: [corpus], seed: 2)).run(console: RecordingConsole().console)
        #expect(try weights(out) != weights(other))
    }

    /// `--hook blocks.1.hook_mlp_out`: the activations are block 1's feed-forward outputs (not the residual stream),
    /// cfg.json names that hook (so `sae info`, steering and the sweep read and edit the SAE there), and the report
    /// records it; an unknown hook is refused by name before anything is written.
    @Test func trainsAtAnotherHook() throws {
        let dir = try StudyFixtures.scratch("train-hook")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = try StudyFixtures.corpus(in: dir)
        let out = dir.appendingPathComponent("sae").path
        var s = settings(out: out, corpus: [corpus])
        s.hook = "blocks.1.hook_mlp_out"
        let recorder = RecordingConsole()
        try SAETraining(settings: s).run(console: recorder.console)
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/cfg.json"))) as! [String: Any]
        // SAELens 6 keeps the hook in cfg.json's "metadata".
        #expect((cfg["metadata"] as? [String: Any])?["hook_name"] as? String == "blocks.1.hook_mlp_out")
        let sae = try SparseAutoencoder.load(directory: out)
        #expect(sae.configuration.modelHook?.site == .mlpOut && sae.configuration.modelHook?.layer == 1)
        let report = try JSONDecoder().decode(SAETrainingReport.self,
                                              from: Data(contentsOf: URL(fileURLWithPath: out + "/" + SAETrainingReport.fileName)))
        #expect(report.hook == "blocks.1.hook_mlp_out" && report.layer == 1)
        #expect(recorder.diagnostics.contains { $0.contains("activations at blocks.1.hook_mlp_out") })

        // The collector reads block 1's MLP output (position 0 dropped), which is not the residual stream.
        let lm = try LlamaModel.load(path: StudyFixtures.tinyLlama, threads: 1)
        let contexts = [Array(lm.tokenizer.encode("Hello there, general Kenobi.").prefix(6)), Array(lm.tokenizer.encode("A second line of text").prefix(5))]
        let mlp = try ResidualCollector.collect(model: lm, site: .mlpOut, layer: 1, contexts: contexts)
        let direct = try lm.activations(batch: contexts, site: .mlpOut, layer: 1)
        let d = lm.configuration.dModel
        #expect(mlp.values == direct.flatMap { Array($0.values[d...]) })
        let resid = try ResidualCollector.collect(model: lm, layer: 1, contexts: contexts)
        #expect(resid.rows == mlp.rows && resid.values != mlp.values)

        var bad = settings(out: dir.appendingPathComponent("bad").path, corpus: [corpus])
        bad.hook = "blocks.1.attn.hook_z"
        #expect { try SAETraining(settings: bad).run(console: RecordingConsole().console) } throws: { error in
            error.localizedDescription.hasPrefix("--hook: 'blocks.1.attn.hook_z' is not a hook semprog reads")
        }
        #expect(!FileManager.default.fileExists(atPath: bad.out))
    }

    @Test func tooLittleTextIsRefusedByName() throws {
        let dir = try StudyFixtures.scratch("train-short")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("one.txt")
        try Data("Hi.".utf8).write(to: corpus)
        let out = dir.appendingPathComponent("sae").path
        #expect {
            try SAETraining(settings: settings(out: out, corpus: [corpus.path])).run(console: RecordingConsole().console)
        } throws: { error in
            error.localizedDescription == "--corpus: too little text for two contexts"
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
