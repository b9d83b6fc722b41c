import Foundation
import Tokenization

/// `--chat-template FILE`: a Jinja chat template that replaces the one stored with the model (GGUF
/// `tokenizer.chat_template`, tokenizer_config.json `chat_template`, `chat_template.jinja`); a model without one
/// (a base model such as Gemma 3 270M) needs it for chat prompts. Used by `generate`, `sweep` and `demo`.
public enum ChatTemplateOverride {
    /// Installs the template file at `path` in `tokenizer` (nothing when nil); a template the interpreter cannot
    /// parse is refused here, before anything runs.
    public static func apply(_ path: String?, to tokenizer: BPETokenizer) throws {
        guard let path else { return }
        tokenizer.chatTemplate = try ChatTemplate(contentsOfFile: path)
        tokenizer.chatTemplateProblem = nil
    }
}
