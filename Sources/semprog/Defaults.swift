import Foundation

/// Where `make models` puts the real models (relative to the working directory, overridable by
/// the SEMPROG_MODELS environment variable).
enum DefaultPaths {
    static var modelsDirectory: String { ProcessInfo.processInfo.environment["SEMPROG_MODELS"] ?? "models" }
    static var languageModel: String { modelsDirectory + "/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var embeddingModel: String { modelsDirectory + "/all-MiniLM-L6-v2" }
    static var corpus: String { modelsDirectory + "/corpus/fortunes.txt" }
}
