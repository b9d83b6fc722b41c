import Foundation

extension BPETokenizer {
    /// Reads a Hugging Face `tokenizer.json` whose model is byte-level BPE.
    ///
    /// Uses `model.vocab`, `model.merges` ("a b" strings or ["a", "b"] pairs) and `added_tokens`; the
    /// pre-tokenizer is `smollm` when the file's `pre_tokenizer` contains `Digits` with `individual_digits`,
    /// `gpt2` otherwise. The end-of-sequence token is `eosToken` if given, else `<|im_end|>` / `<|endoftext|>` /
    /// `</s>`, whichever exists first.
    public convenience init(tokenizerJSON path: String, eosToken: String? = nil) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BPETokenizerError.cannotRead(path: path, reason: error.localizedDescription)
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw BPETokenizerError.malformedField(source: path, field: "<root>", reason: "not a JSON object")
        }
        guard let model = root["model"] as? [String: Any] else { throw BPETokenizerError.missingField(source: path, field: "model") }
        if let type = model["type"] as? String, type != "BPE" {
            throw BPETokenizerError.unsupported(source: path, what: "model type \(type) (only BPE)")
        }
        guard let vocab = model["vocab"] as? [String: Any] else { throw BPETokenizerError.missingField(source: path, field: "model.vocab") }
        var entries: [(String, Int)] = []
        for (k, v) in vocab {
            guard let id = (v as? NSNumber)?.intValue, id >= 0, id < 10_000_000 else {
                throw BPETokenizerError.malformedField(source: path, field: "model.vocab", reason: "'\(k)' has no valid id")
            }
            entries.append((k, id))
        }
        var specialIDs = Set<Int>()
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = (entry["id"] as? NSNumber)?.intValue, let content = entry["content"] as? String, id >= 0, id < 10_000_000 else {
                throw BPETokenizerError.malformedField(source: path, field: "added_tokens", reason: "entry without id/content")
            }
            entries.append((content, id))
            specialIDs.insert(id)
        }
        let size = (entries.map(\.1).max() ?? -1) + 1
        var tokens = [String](repeating: "", count: size)
        for (t, id) in entries { tokens[id] = t }
        var merges: [String] = []
        for (i, m) in (model["merges"] as? [Any] ?? []).enumerated() {
            if let s = m as? String { merges.append(s) } else if let pair = m as? [String], pair.count == 2 {
                merges.append(pair[0] + " " + pair[1])
            } else {
                throw BPETokenizerError.malformedField(source: path, field: "model.merges", reason: "rule #\(i) is neither \"a b\" nor [a, b]")
            }
        }
        let preDescription = String(describing: root["pre_tokenizer"] ?? "")
        let pre: BPEPreTokenizer = preDescription.contains("Digits") && preDescription.contains("individual_digits") ? .smollm : .gpt2
        let index = Dictionary(entries.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        let candidates = [eosToken, "<|im_end|>", "<|endoftext|>", "</s>"].compactMap { $0 }
        guard let eos = candidates.lazy.compactMap({ index[$0] }).first else {
            throw BPETokenizerError.missingField(source: path, field: "eos token (\(candidates.joined(separator: ", ")))")
        }
        try self.init(tokens: tokens, merges: merges, specialIDs: specialIDs, eosID: eos, bosID: nil,
                      preTokenizer: pre, source: path)
    }
}
