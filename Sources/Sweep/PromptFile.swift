import Foundation

/// Reads sweep prompts: one prompt per line, or JSONL objects with a `prompt` field (for multi-line prompts).
/// A file is JSONL when its first non-blank line starts with `{`. Blank lines are skipped.
public enum PromptFile {
    public static func read(path: String) throws -> [String] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SweepError.cannotRead(path: path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SweepError.malformedPromptLine(path: path, line: 1, reason: "the file is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> [String] {
        // Split on unicode scalars: "\r\n" is one Swift Character, so Character-based splitting would miss it.
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text  // a UTF-8 byte-order mark
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var scalars = String.UnicodeScalarView(line)
            if scalars.last == "\r" { scalars.removeLast() }
            return String(scalars)
        }
        let firstContent = lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let isJSONL = firstContent?.trimmingCharacters(in: .whitespaces).hasPrefix("{") ?? false
        var prompts: [String] = []
        for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            if line.unicodeScalars.contains("\u{0}") {
                throw SweepError.malformedPromptLine(path: path, line: i + 1,
                                                     reason: "contains a NUL character (U+0000), which semprog does not store")
            }
            if isJSONL {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw SweepError.malformedPromptLine(path: path, line: i + 1, reason: "not a JSON object")
                }
                guard let prompt = object["prompt"] as? String else {
                    throw SweepError.malformedPromptLine(path: path, line: i + 1, reason: "missing string field 'prompt'")
                }
                guard !prompt.isEmpty else {
                    throw SweepError.malformedPromptLine(path: path, line: i + 1, reason: "empty prompt")
                }
                prompts.append(prompt)
            } else {
                prompts.append(line)
            }
        }
        guard !prompts.isEmpty else { throw SweepError.emptyPromptFile(path: path) }
        return prompts
    }
}
