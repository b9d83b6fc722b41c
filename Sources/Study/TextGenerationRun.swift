import Foundation
import LanguageModel

/// What `semprog generate` runs: one completion of a prompt (verbatim, or a user message in the chat template),
/// optionally steered by adding c·v to the residual stream after block L at every position
/// (`SteeringVectorHook`); printed as text or as one JSON object.
public struct TextGenerationRun {
    /// What is completed.
    public enum Prompt: Sendable, Equatable {
        /// Used verbatim (ChatML markup such as `<|im_start|>` is parsed as special tokens).
        case text(String)
        /// A user message wrapped in the chat template, up to the assistant's turn.
        case chat(String)
    }

    /// A steering vector added after a block.
    public struct Steering: Sendable, Equatable {
        /// A JSON array of d_model floats, or a safetensors file with one tensor.
        public var vectorPath: String
        /// Block after which c·v is added (0-based, resid_post).
        public var layer: Int
        /// The coefficient c.
        public var coefficient: Float

        public init(vectorPath: String, layer: Int, coefficient: Float) {
            self.vectorPath = vectorPath; self.layer = layer; self.coefficient = coefficient
        }
    }

    public var model: String
    public var prompt: Prompt
    /// A chat template file replacing the model's (`ChatTemplateOverride`).
    public var chatTemplate: String?
    public var parameters: GenerateParameters
    public var seed: UInt64
    public var steering: Steering?
    public var threads: Int
    public var activations: ActivationPrecision
    /// Print `jsonLine` instead of the text.
    public var json: Bool

    public init(model: String, prompt: Prompt, chatTemplate: String?, parameters: GenerateParameters, seed: UInt64,
                steering: Steering?, threads: Int, activations: ActivationPrecision, json: Bool) {
        self.model = model; self.prompt = prompt; self.chatTemplate = chatTemplate; self.parameters = parameters
        self.seed = seed; self.steering = steering; self.threads = threads; self.activations = activations; self.json = json
    }

    /// Loads the model, generates and prints the result.
    public func run(console: StudyConsole = .standard) throws {
        let lm = try LlamaModel.load(path: model, threads: threads)
        lm.activationPrecision = activations
        try ChatTemplateOverride.apply(chatTemplate, to: lm.tokenizer)
        let ids: [Int]
        switch prompt {
        case let .chat(message): ids = try lm.tokenizer.chatPromptIDs(user: message)
        case let .text(text): ids = lm.tokenizer.promptIDs(text)
        }
        guard !ids.isEmpty else { throw StudyError.invalidArgument("--prompt: the prompt is empty") }
        var hook: SteeringVectorHook?
        if let steering {
            try lm.validate(layer: steering.layer, argument: "--steer-layer")
            let v = try SteeringVectorHook.loadVector(path: steering.vectorPath, expectedLength: lm.configuration.dModel)
            hook = SteeringVectorHook(layer: steering.layer, vector: v, coefficient: steering.coefficient)
        }
        let result = try lm.generate(prompts: [ids], parameters: parameters, seeds: [seed], hook: hook)[0]
        console.output(json ? Self.jsonLine(result) : result.text)
    }

    /// `{"prompt_ids": [...], "generated_ids": [...], "text": "...", "finish_reason": "..."}` in that order.
    public static func jsonLine(_ r: GenerationResult) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        func encode<T: Encodable>(_ v: T) -> String { String(decoding: (try? encoder.encode(v)) ?? Data("null".utf8), as: UTF8.self) }
        return "{\"prompt_ids\": \(encode(r.promptIDs)), \"generated_ids\": \(encode(r.generatedIDs)), "
            + "\"text\": \(encode(r.text)), \"finish_reason\": \(encode(r.finishReason.rawValue))}"
    }
}
