import Foundation
import Store
import Sweep

/// The sizes of the demo study (full, or `--quick` for tests).
public struct DemoPlan {
    public var quick: Bool

    public init(quick: Bool) { self.quick = quick }

    /// Six varied prompts of the demo's own (asked in the chat template of the instruct model).
    public static let prompts = [
        "Tell me a short story about a journey.",
        "Describe your ideal weekend.",
        "What do you think the future of technology looks like?",
        "Explain how to cook a simple dinner.",
        "Write a few sentences about the ocean.",
        "Give me advice for a job interview.",
    ]

    public var saeDirectoryName: String { quick ? "demo-sae-quick" : "demo-sae" }
    public var featureCount: Int { quick ? 3 : 12 }
    public var promptList: [String] { quick ? Array(Self.prompts.prefix(2)) : Self.prompts }
    public var magnitudes: String { quick ? "0,2,8,30" : SweepDefaults.magnitudes }
    public var maxTokens: Int { quick ? 8 : 32 }

    /// `train-sae` settings: block 12 of 30 (the middle of the network, as the study steered a middle layer).
    public var trainArguments: [String] {
        quick ? ["--layer", "12", "--latents", "256", "--k", "16", "--tokens", "6000", "--seed", "0"]
              : ["--layer", "12", "--latents", "4096", "--k", "32", "--tokens", "120000", "--seed", "0"]
    }
    public var explainArguments: [String] { quick ? ["--tokens", "3000"] : ["--tokens", "40000"] }
    public var analyzeArguments: [String] { [] }

    /// Writes the prompt file (JSONL) next to the database and returns its path.
    public func writePrompts(beside database: String) throws -> String {
        let path = database + ".prompts.jsonl"
        let lines = try promptList.map { prompt -> String in
            String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": prompt], options: [.sortedKeys]), as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
