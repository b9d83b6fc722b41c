import Foundation
import LanguageModel

extension DemoPlan.Subject {
    /// Reads what the demo needs of a model (`semprog demo --model PATH`): its name (the file or folder name
    /// without extension), its block count and whether it has a chat template. Loads the model once.
    public static func inspect(modelPath: String) throws -> DemoPlan.Subject {
        let model = try LlamaModel.load(path: modelPath)
        let url = URL(fileURLWithPath: modelPath).standardizedFileURL
        let name = url.pathExtension == "gguf" ? url.deletingPathExtension().lastPathComponent : url.lastPathComponent
        return DemoPlan.Subject(name: name, layerCount: model.configuration.layerCount,
                                hasChatTemplate: model.tokenizer.chatTemplate != nil)
    }
}
