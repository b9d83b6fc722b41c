import Analysis
import ArgumentParser
import Foundation

// Options shared by several subcommands: one declaration, one default, one check each.

/// `--threads`: worker threads (OpenBLAS, the analysis, figure rendering); default: all cores.
struct ThreadOptions: ParsableArguments {
    /// Threads to use; nil means all active cores.
    @Option(name: .long, help: "Threads (default: all cores).")
    var threads: Int?

    /// The thread count to run with: `--threads` or all active cores.
    var count: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }
}

/// `--db`: the semprog SQLite database a command reads or writes.
struct DatabaseOptions: ParsableArguments {
    /// Path of the database file.
    @Option(name: .long, help: "The semprog database (SQLite file).")
    var db: String

    /// Refuses a database that does not exist (for commands that only read or add to one).
    func requireExisting() throws {
        guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("\(db): no such database") }
    }
}

/// `--quiet`: no progress line on stderr.
struct QuietOptions: ParsableArguments {
    /// Suppresses progress lines (they are drawn only on a terminal anyway).
    @Flag(name: .long, help: "No progress line.")
    var quiet = false
}

/// `--model`: the language model; default: SmolLM2-135M-Instruct from `make models`.
struct LanguageModelOptions: ParsableArguments {
    /// A GGUF file or a model directory; nil means the default.
    @Option(name: .long, help: "Language model: a .gguf file or a model directory (default: models/SmolLM2-135M-Instruct.Q4_1.gguf).")
    var model: String?

    /// `--model` or the default model path.
    var modelPath: String { model ?? DefaultPaths.languageModel }
}

/// `--sae` (and `--hook`): the sparse autoencoder a command reads.
struct SAEOptions: ParsableArguments {
    /// The SAE folder, in any format `semprog sae info` reads (SAELens, Gemma Scope 1/2, sparsify).
    @Option(name: .long, help: "SAE folder (SAELens, Gemma Scope 1/2 or sparsify; see 'semprog sae info').")
    var sae: String

    /// A hook that replaces the one the SAE's files give or imply (e.g. for a Gemma Scope folder moved out of its
    /// release layout).
    @Option(name: .long, help: "Hook to use instead of the one the SAE's files give or imply (e.g. blocks.12.hook_resid_post).")
    var hook: String?
}

/// Options that identify the model and SAE of a run: the shared `--model` and `--sae`/`--hook` groups.
struct ModelOptions: ParsableArguments {
    @OptionGroup var languageModel: LanguageModelOptions
    @OptionGroup var saeOptions: SAEOptions

    /// `--model` as given (nil: the default model).
    var model: String? { languageModel.model }
    var sae: String { saeOptions.sae }
    var hook: String? { saeOptions.hook }
    var modelPath: String { languageModel.modelPath }
}

/// `--llm-base-url`, `--llm-model`, `--llm-api-key`, `--concurrency`, `--timeout`: an OpenAI-compatible
/// chat-completions endpoint (the llm describer and the llm judge).
struct LLMEndpointOptions: ParsableArguments {
    @Option(name: .customLong("llm-base-url"), help: "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL).")
    var llmBaseURL: String?

    @Option(name: .customLong("llm-model"), help: "Model name (default: $SEMPROG_LLM_MODEL).")
    var llmModel: String?

    @Option(name: .customLong("llm-api-key"), help: "API key (default: $OPENAI_API_KEY; may be empty for local servers).")
    var llmAPIKey: String?

    @Option(name: .long, help: "Requests (llm) in flight at once.")
    var concurrency: Int = 4

    @Option(name: .long, help: "Seconds before an llm request times out.")
    var timeout: Double = 60

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    /// The endpoint's settings: the options, else the environment (`LLMDescriber.Settings.resolve`).
    func settings() throws -> LLMDescriber.Settings {
        var settings = try LLMDescriber.Settings.resolve(baseURL: llmBaseURL, model: llmModel, apiKey: llmAPIKey)
        settings.timeoutSeconds = timeout
        settings.maxConcurrentRequests = concurrency
        return settings
    }
}
