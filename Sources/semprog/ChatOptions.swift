import ArgumentParser
import Foundation
import Tokenization

/// `--chat-template FILE`: the Jinja chat template used by `--chat` instead of the one stored with the model
/// (GGUF `tokenizer.chat_template`, tokenizer_config.json `chat_template`, `chat_template.jinja`). A model without
/// a template (a base model such as Gemma 3 270M) needs one for `--chat`. Shared by `generate`, `sweep` and `demo`.
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

    /// Installs the template file in `tokenizer` (nothing when none was given); a template the interpreter cannot
    /// parse is refused here, before anything runs.
    func apply(to tokenizer: BPETokenizer) throws {
        guard let chatTemplate else { return }
        tokenizer.chatTemplate = try ChatTemplate(contentsOfFile: chatTemplate)
        tokenizer.chatTemplateProblem = nil
    }

    /// The options again as command-line arguments, to pass on to a subcommand.
    var arguments: [String] { chatTemplate.map { ["--chat-template", $0] } ?? [] }
}
