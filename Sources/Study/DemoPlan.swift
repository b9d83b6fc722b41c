import Foundation
import Store
import Sweep

/// The sizes of the demo study (full, or `--quick` for tests), on SmolLM2 (the built-in default) or another model
/// (`demo --model`, a `Subject`): that model gets its own SAE on its middle block, cached under its own name, and
/// its own report folder; a model without a chat template (a base model such as Gemma 3 270M) is given plain-text
/// openings instead of chat requests.
public struct DemoPlan {
    /// A model other than the default, as the demo needs to know it.
    public struct Subject: Sendable, Equatable {
        /// The model file's (or folder's) name without extension, e.g. `gemma-3-270m-q4_k_m`.
        public var name: String
        public var layerCount: Int
        public var hasChatTemplate: Bool

        public init(name: String, layerCount: Int, hasChatTemplate: Bool) {
            self.name = name; self.layerCount = layerCount; self.hasChatTemplate = hasChatTemplate
        }
    }

    public var quick: Bool
    /// nil: SmolLM2-135M-Instruct, the built-in default.
    public var subject: Subject?

    public init(quick: Bool, subject: Subject? = nil) { self.quick = quick; self.subject = subject }

    /// Six varied prompts of the demo's own (asked in the chat template of the instruct model).
    public static let prompts = [
        "Tell me a short story about a journey.",
        "Describe your ideal weekend.",
        "What do you think the future of technology looks like?",
        "Explain how to cook a simple dinner.",
        "Write a few sentences about the ocean.",
        "Give me advice for a job interview.",
    ]

    /// The same six topics as openings a base model continues.
    public static let openings = [
        "Here is a short story about a journey:",
        "My ideal weekend would be",
        "In the future, technology will",
        "To cook a simple dinner, you first",
        "The ocean is",
        "My best advice for a job interview is",
    ]

    /// The SAE's folder under the models folder: `demo-sae` for SmolLM2, `demo-sae-NAME` for another model.
    public var saeDirectoryName: String {
        let base = subject.map { "demo-sae-\($0.name)" } ?? "demo-sae"
        return quick ? base + "-quick" : base
    }
    /// The report folder when `--out` is not given.
    public var defaultOut: String { subject.map { "reports/demo-\($0.name)" } ?? "reports/demo" }
    /// Whether prompts are asked in the model's chat template (SmolLM2 and models with a template).
    public var usesChat: Bool { subject?.hasChatTemplate ?? true }
    /// The block the SAE reads: 12 of SmolLM2's 30; the middle block (count / 2) of another model.
    public var layer: Int { subject.map { $0.layerCount / 2 } ?? 12 }
    public var featureCount: Int { quick ? 3 : 12 }
    public var promptList: [String] {
        let all = usesChat ? Self.prompts : Self.openings
        return quick ? Array(all.prefix(2)) : all
    }
    public var magnitudes: String { quick ? "0,2,8,30" : SweepDefaults.magnitudes }
    public var maxTokens: Int { quick ? 8 : 32 }

    /// `train-sae` settings: a middle block (`layer`), as the study steered a middle layer.
    public var trainArguments: [String] {
        quick ? ["--layer", String(layer), "--latents", "256", "--k", "16", "--tokens", "6000", "--seed", "0"]
              : ["--layer", String(layer), "--latents", "4096", "--k", "32", "--tokens", "120000", "--seed", "0"]
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
