import Foundation
import LanguageModel

extension DemoPlan.Subject {
    /// Reads what the demo needs of a model (`semprog demo --model PATH`): its name (the file or folder name
    /// without extension), its block count and whether it has a chat template. Loads the model once. nil when
    /// `modelPath` is `defaultModel` (the built-in demo).
    public static func inspect(modelPath: String, defaultModel: String) throws -> DemoPlan.Subject? {
        let url = URL(fileURLWithPath: modelPath).standardizedFileURL
        if url.path == URL(fileURLWithPath: defaultModel).standardizedFileURL.path { return nil }
        let model = try LlamaModel.load(path: modelPath)
        let name = url.pathExtension == "gguf" ? url.deletingPathExtension().lastPathComponent : url.lastPathComponent
        return DemoPlan.Subject(name: name, layerCount: model.configuration.layerCount,
                                hasChatTemplate: model.tokenizer.chatTemplate != nil)
    }
}
