import ArgumentParser
import LanguageModel
import Study

extension Semprog {
    /// `semprog generate`: one completion from the language model, optionally steered by adding c·v to the residual
    /// stream after block L at every position (see `Study.TextGenerationRun`).
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Generate text with the language model, optionally steered by a residual-stream vector.")

        @OptionGroup var modelOptions: LanguageModelOptions

        @Option(help: "Prompt text, used verbatim (ChatML markup such as <|im_start|> is parsed as special tokens).")
        var prompt: String?

        @Option(help: "A user message, wrapped in the model's chat template (or --chat-template's), up to the assistant's turn.")
        var chat: String?

        @OptionGroup var chatOptions: ChatOptions

        @Option(help: "Most tokens to generate.")
        var maxTokens: Int = 64

        @Option(help: "Sampling temperature; 0 is greedy.")
        var temperature: Float = 0

        @Option(help: "Sample only among the k most likely tokens (0 = all).")
        var topK: Int = 0

        @Option(help: "Nucleus sampling probability mass (1 = off).")
        var topP: Float = 1

        @Option(help: "Repetition penalty over prompt and generated tokens (1 = off).")
        var repetitionPenalty: Float = 1

        @Option(help: "Frequency penalty per earlier occurrence in the generated text (0 = off).")
        var frequencyPenalty: Float = 0

        @Option(help: "Seed of the sampler (same seed, same text).")
        var seed: UInt64 = 0

        @Option(help: "Steering vector: a JSON array of d_model floats, or a safetensors file with one tensor.")
        var steerVector: String?

        @Option(help: "Block after which the steering vector is added (0-based, resid_post).")
        var steerLayer: Int?

        @Option(help: "Steering coefficient c (the edit adds c·v).")
        var steerCoefficient: Float = 1

        @OptionGroup var threadOptions: ThreadOptions

        @Option(help: "Activations of decode steps: float32 (exact; default) or q8 (8-bit, as llama.cpp: faster, approximate).")
        var activations: ActivationPrecision = .float32

        @Flag(help: "Print one JSON object {prompt_ids, generated_ids, text, finish_reason}.")
        var json = false

        func validate() throws {
            guard (prompt == nil) != (chat == nil) else { throw ValidationError("give exactly one of --prompt and --chat") }
            guard (steerVector == nil) == (steerLayer == nil) else {
                throw ValidationError("--steer-vector and --steer-layer go together")
            }
            guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
        }

        func run() async throws {
            var steering: TextGenerationRun.Steering?
            if let steerVector, let steerLayer {
                steering = .init(vectorPath: steerVector, layer: steerLayer, coefficient: steerCoefficient)
            }
            let parameters = GenerateParameters(maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
                                                repetitionPenalty: repetitionPenalty, frequencyPenalty: frequencyPenalty)
            try await Terminal.reportingErrors {
                try TextGenerationRun(model: modelOptions.modelPath, prompt: chat.map { .chat($0) } ?? .text(prompt ?? ""),
                                      chatTemplate: chatOptions.chatTemplate, parameters: parameters, seed: seed,
                                      steering: steering, threads: threadOptions.count, activations: activations, json: json).run()
            }
        }
    }
}

extension ActivationPrecision: ExpressibleByArgument {}
