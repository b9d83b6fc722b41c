import Foundation
import LanguageModel
import Store
import Sweep
import Tensor

/// What `semprog bench sweep` measures: a sweep of 8 features × 4 prompts × 16 absolute clamp magnitudes
/// (0, 4, …, 60) × `maxTokens` new tokens through the real sweep engine (in-memory database, chat template),
/// against plain batched generation of the same batch size; generations/s, tokens/s and their ratio. Not a
/// test: the numbers depend on the machine.
public struct SweepBenchmark {
    public var model: String
    public var sae: String
    public var batchSize: Int
    public var maxTokens: Int

    public init(model: String, sae: String, batchSize: Int, maxTokens: Int) {
        self.model = model; self.sae = sae; self.batchSize = batchSize; self.maxTokens = maxTokens
    }

    public func run(console: StudyConsole = .standard) throws {
        let session = try SteeringSession.load(modelPath: model, saePath: sae)
        let prompts = Array(DemoPlan.prompts.prefix(4))
        let features = Array(0..<8)
        let configuration = SweepConfiguration(
            modelPath: session.modelPath, modelSHA256: session.modelSHA256, saePath: session.saePath,
            saeSHA256: session.saeSHA256, hookName: session.sae.configuration.hookName, features: features,
            prompts: prompts, magnitudes: (0..<16).map { Double($0) * 4 }, units: .absolute, method: "clamp",
            positions: "all", maxTokens: maxTokens, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1,
            frequencyPenalty: 0, seed: 0, chat: true, batchSize: batchSize)
        let runner = try SweepRunner(model: session.model, sae: session.sae, store: try StoreDatabase.inMemory(),
                                     configuration: configuration, maxActivations: [:])
        console.output("threads: \(BLAS.threads) (OpenBLAS), machine cores: \(ProcessInfo.processInfo.activeProcessorCount)")
        console.output("sweep: \(features.count) features × \(prompts.count) prompts × 16 magnitudes × \(maxTokens) tokens, batch \(batchSize), SAE \(sae)")
        let summary = try runner.run(name: "bench")
        let steeredRate: Double = Double(summary.tokens) / summary.seconds
        console.output(String(format: "sweep: %d generations (incl. %d baselines) in %.1f s: %.1f generations/s, %.1f tokens/s",
                              summary.generations, prompts.count, summary.seconds,
                              Double(summary.generations) / summary.seconds, steeredRate))
        // The same batch shape without steering, for the ratio the issue asks for.
        let tokens = try session.model.tokenizer.chatPromptIDs(user: prompts[0])
        var parameters = GenerateParameters()
        parameters.maxTokens = maxTokens
        parameters.stopAtEOS = false
        let start = Date()
        let results = try session.model.generate(prompts: Array(repeating: tokens, count: batchSize), parameters: parameters,
                                                 seeds: (0..<batchSize).map { UInt64($0) }, hook: nil)
        let plainSeconds = Date().timeIntervalSince(start)
        let plainRate = Double(results.reduce(0) { $0 + $1.generatedIDs.count }) / plainSeconds
        console.output(String(format: "plain batched generation, batch %d: %.1f tokens/s (prefill included) → sweep/plain = %.2f",
                              batchSize, plainRate, Double(steeredRate / plainRate)))
    }
}
