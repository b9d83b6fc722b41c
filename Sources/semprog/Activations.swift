import ArgumentParser
import Study

extension Semprog {
    /// `semprog activations`: the top-K SAE features of each token of a text and of the whole text
    /// (see `Study.FeatureActivations`).
    struct Activations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "activations",
            abstract: "Top SAE feature activations of each token of a text and of the whole text.")

        @OptionGroup var modelOptions: LanguageModelOptions

        @OptionGroup var saeOptions: SAEOptions

        @Option(help: "The text, tokenized as `generate --prompt` does (no BOS added).")
        var text: String

        @Option(help: "Features listed per token and for the whole text.")
        var top: Int = 5

        @Flag(help: "Include position 0 in the whole-text ranking (its residual norm is ~100× the others).")
        var includeFirstToken = false

        @OptionGroup var threadOptions: ThreadOptions

        @Flag(help: "Print {\"tokens\": [{token, id, features: [{index, activation}]}], \"top\": [{index, max_activation}]}.")
        var json = false

        func validate() throws {
            guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        }

        func run() async throws {
            try await Terminal.reportingErrors {
                let output = try FeatureActivations.compute(
                    model: modelOptions.modelPath, sae: saeOptions.sae, hook: saeOptions.hook, text: text, top: top,
                    includeFirstToken: includeFirstToken, threads: threadOptions.count)
                print(try json ? output.json : output.text)
            }
        }
    }
}
