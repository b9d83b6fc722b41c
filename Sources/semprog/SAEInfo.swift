import ArgumentParser
import Study

extension Semprog {
    /// `semprog sae …`: commands about SAE folders.
    struct SAECommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sae",
            abstract: "Inspect SAE folders (SAELens, Gemma Scope 1 and 2, sparsify).",
            subcommands: [Info.self])
    }
}

extension Semprog.SAECommand {
    /// `semprog sae info DIR`: what semprog read from an SAE folder (see `Study.SAEInfoReport`); with `--model` and
    /// `--text`, L0 and the explained variance of the reconstruction on that text.
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Show the format, architecture, hook, sizes and encode settings of an SAE folder.")

        @Argument(help: "The SAE folder.")
        var directory: String

        @Option(help: "Hook to use instead of the one the files give or imply (e.g. blocks.6.hook_resid_post).")
        var hook: String?

        @Option(help: "Model (a .gguf file or model directory) for L0 and explained variance on --text.")
        var model: String?

        @Option(help: "Text whose residuals are encoded (needs --model).")
        var text: String?

        @OptionGroup var threadOptions: ThreadOptions

        @Flag(help: "Print the same as one JSON object.")
        var json = false

        func validate() throws {
            if (model == nil) != (text == nil) { throw ValidationError("give --model and --text together") }
        }

        func run() async throws {
            try await Terminal.reportingErrors {
                try SAEInfoReport.show(directory: directory, hook: hook, model: model, text: text,
                                       threads: threadOptions.count, json: json)
            }
        }
    }
}
