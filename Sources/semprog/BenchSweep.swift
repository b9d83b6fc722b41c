import ArgumentParser
import Foundation
import LanguageModel
import SparseAutoencoder
import Store
import Study
import Sweep
import Tensor

extension Semprog {
    /// `semprog bench sweep`: a sweep of 8 features × 4 prompts × 16 magnitudes × 32 new tokens through the real
    /// sweep engine (in-memory database), against plain batched generation of the same batch size.
    struct BenchSweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep", abstract: "Benchmark: a sweep of 8 features × 4 prompts × 16 magnitudes × 32 tokens.")

        @OptionGroup var modelOptions: LanguageModelOptions
        var model: String? { modelOptions.model }
        @Option(help: "SAE directory (default: the demo SAE, models/demo-sae).")
        var sae: String?
        @Option(name: .customLong("batch-size"), help: "Sequences decoded together.")
        var batchSize: Int = 64
        @Option(name: .customLong("max-tokens"), help: "New tokens per generation.")
        var maxTokens: Int = 32

        func run() async throws {
            let saePath = sae ?? DefaultPaths.modelsDirectory + "/demo-sae"
            let session = try SteeringSession.load(modelPath: model ?? DefaultPaths.languageModel, saePath: saePath)
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
            print("threads: \(BLAS.threads) (OpenBLAS), machine cores: \(ProcessInfo.processInfo.activeProcessorCount)")
            print("sweep: \(features.count) features × \(prompts.count) prompts × 16 magnitudes × \(maxTokens) tokens, batch \(batchSize), SAE \(saePath)")
            let summary = try runner.run(name: "bench")
            let steeredRate: Double = Double(summary.tokens) / summary.seconds
            print(String(format: "sweep: %d generations (incl. %d baselines) in %.1f s: %.1f generations/s, %.1f tokens/s",
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
            print(String(format: "plain batched generation, batch %d: %.1f tokens/s (prefill included) → sweep/plain = %.2f",
                         batchSize, plainRate, Double(steeredRate / plainRate)))
        }
    }
}
