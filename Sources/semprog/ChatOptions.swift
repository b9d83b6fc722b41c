import ArgumentParser
import Foundation

/// `--chat-template FILE`: the Jinja chat template used by `--chat` instead of the one stored with the model
/// (see `Study.ChatTemplateOverride`). Shared by `generate`, `sweep` and `demo`.
struct ChatOptions: ParsableArguments {
    @Option(name: .customLong("chat-template"), help: ArgumentHelp(
        "A Jinja chat template file for --chat, replacing the model's own (needed by a model without one).",
        valueName: "file"))
    var chatTemplate: String?

    func validate() throws {
        if let chatTemplate, !FileManager.default.fileExists(atPath: chatTemplate) {
            throw ValidationError("--chat-template: \(chatTemplate): no such file")
        }
    }

    /// The options again as command-line arguments, to pass on to a subcommand.
    var arguments: [String] { chatTemplate.map { ["--chat-template", $0] } ?? [] }
}
