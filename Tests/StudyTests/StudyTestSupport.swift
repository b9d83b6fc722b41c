import Foundation
import TestSupport
@testable import Study

/// A console that records what a study run prints, line by line.
final class RecordingConsole: @unchecked Sendable {
    private let lock = NSLock()
    private var outputLines: [String] = []
    private var diagnosticLines: [String] = []

    var output: [String] { lock.withLock { outputLines } }
    var diagnostics: [String] { lock.withLock { diagnosticLines } }
    /// Every output line joined, as it would appear on stdout (a multi-line entry stays one entry above).
    var stdout: String { output.map { $0 + "\n" }.joined() }
    var stderr: String { diagnostics.map { $0 + "\n" }.joined() }

    var console: StudyConsole {
        StudyConsole(output: { line in self.lock.withLock { self.outputLines.append(line) } },
                     diagnostic: { line in self.lock.withLock { self.diagnosticLines.append(line) } })
    }
}

/// Paths of the repository and its test fixtures.
enum StudyFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The tiny random Llama 3 checkpoint (4 blocks, d_model 64, vocabulary 384; Tests/Fixtures/reference/tiny-models).
    static let tinyLlama = repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/tiny-models/llama3").path
    /// The tiny random Qwen 3 checkpoint (the same sizes; no BOS).
    static let tinyQwen = repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/tiny-models/qwen3").path
    static let saeFormats = repositoryRoot.appendingPathComponent("Tests/Fixtures/reference/sae-formats")

    /// A new empty folder under the temporary directory.
    static func scratch(_ name: String) throws -> URL {
        let url = TestScratch.root.appendingPathComponent("study-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A small English corpus in fortune format (documents split at `%` lines).
    static func corpus(in dir: URL, documents: Int = 60) throws -> String {
        let sentences = [
            "The cat sat on the warm mat and watched the birds outside the window.",
            "Dogs bark at strangers, but my old dog only wags his tail and sleeps.",
            "Paris is the capital of France, and Berlin is the capital of Germany.",
            "In 1999 she studied physics and chemistry at a small university.",
            "Water boils at one hundred degrees when the pressure is normal.",
            "He wrote a long letter to his mother every Sunday evening.",
        ]
        var text = ""
        for i in 0..<documents { text += sentences[i % sentences.count] + " " + sentences[(i * 5 + 1) % sentences.count] + "\n%\n" }
        let path = dir.appendingPathComponent("corpus.txt").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// An SAE trained once per test process on the tiny Llama's block 2 (32 latents, TopK k = 4, 1,200 tokens of
    /// `corpus`): the SAE the sweep, activation and info tests steer and read.
    static let tinySAE: Result<String, any Error> = Result {
        let dir = try scratch("tiny-sae")
        let settings = SAETraining.Settings(
            model: tinyLlama, layer: 2, latents: 32, k: 4, l1: nil, corpus: [try corpus(in: dir)], tokens: 1200,
            contextLength: 32, heldOut: 0.1, trainingTokens: 4096, batchSize: 128, learningRate: 1e-3, seed: 3,
            out: dir.appendingPathComponent("sae").path, threads: 2, quiet: true, command: "test")
        try SAETraining(settings: settings).run(console: RecordingConsole().console)
        return settings.out
    }
}
