import Foundation

extension BPETokenizer {
    /// Reads a Hugging Face `tokenizer.json` whose model is byte-level BPE.
    ///
    /// Uses `model.vocab`, `model.merges` ("a b" strings or ["a", "b"] pairs) and `added_tokens`; the
    /// pre-tokenizer is `smollm` when the file's `pre_tokenizer` contains `Digits` with `individual_digits`,
    /// `gpt2` otherwise; `model.ignore_merges` (Llama 3) is honoured. The end-of-sequence token is `eosToken` if given, else `<|im_end|>` / `<|endoftext|>` /
    /// `</s>`, whichever exists first.
    ///
    /// A BPE model with `byte_fallback` (Gemma) is SentencePiece-style (`init(sentencePieceTokens:…)`): its
    /// normalizer must replace " " by "▁" (optionally prepending "▁"), and `bosToken` / `eosToken` / `addsBOS`
    /// come from the checkpoint's other files (config.json, tokenizer_config.json).
    public convenience init(tokenizerJSON path: String, eosToken: String? = nil, bosToken: String? = nil,
                            addsBOS: Bool = false) throws {
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
        let index = Dictionary(entries.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        if (model["byte_fallback"] as? Bool) == true {
            let normalizer = String(describing: root["normalizer"] ?? "")
            guard normalizer.contains("Replace"), normalizer.contains("\u{2581}") else {
                throw BPETokenizerError.unsupported(source: path, what: "byte_fallback BPE whose normalizer does not replace \" \" by \"\u{2581}\"")
            }
            if let pre = root["pre_tokenizer"], !(pre is NSNull) {
                throw BPETokenizerError.unsupported(source: path, what: "byte_fallback BPE with a pre_tokenizer (\(pre))")
            }
            func id(_ name: String?, _ field: String) throws -> Int? {
                guard let name else { return nil }
                guard let i = index[name] else { throw BPETokenizerError.unknownToken(source: path, token: name) }
                return i
            }
            guard let eos = try id(eosToken, "eos") else { throw BPETokenizerError.missingField(source: path, field: "eos token (from the checkpoint's config)") }
            try self.init(sentencePieceTokens: tokens, merges: merges, scores: nil, specialIDs: specialIDs, eosID: eos,
                          bosID: try id(bosToken, "bos"), addsBOS: addsBOS,
                          unknownID: (model["unk_token"] as? String).flatMap { index[$0] },
                          addSpacePrefix: normalizer.contains("Prepend"), source: path)
            return
        }
        let preDescription = String(describing: root["pre_tokenizer"] ?? "")
        var pre: BPEPreTokenizer = preDescription.contains("Digits") && preDescription.contains("individual_digits") ? .smollm : .gpt2
        if preDescription.contains("Split") {
            // Llama 3 / Qwen: Sequence[Split(Regex pattern, Isolated), ByteLevel(use_regex: false)].
            let parts = (root["pre_tokenizer"] as? [String: Any]).map { ($0["pretokenizers"] as? [[String: Any]]) ?? [$0] } ?? []
            let splits = parts.filter { $0["type"] as? String == "Split" }
            guard splits.count == 1, let pattern = (splits[0]["pattern"] as? [String: Any])?["Regex"] as? String,
                  let known = BPEPreTokenizer.matching(splitPattern: pattern) else {
                throw BPETokenizerError.unsupported(source: path, what: "pre_tokenizer Split pattern (implemented: the Llama 3 and Qwen 2 patterns): \(preDescription.prefix(300))")
            }
            guard (splits[0]["behavior"] as? String ?? "Isolated") == "Isolated", (splits[0]["invert"] as? Bool ?? false) == false else {
                throw BPETokenizerError.unsupported(source: path, what: "pre_tokenizer Split behaviour other than Isolated, invert false")
            }
            pre = known
        }
        let candidates = [eosToken, "<|im_end|>", "<|endoftext|>", "</s>"].compactMap { $0 }
        guard let eos = candidates.lazy.compactMap({ index[$0] }).first else {
            throw BPETokenizerError.missingField(source: path, field: "eos token (\(candidates.joined(separator: ", ")))")
        }
        if let eosToken, index[eosToken] == nil { throw BPETokenizerError.unknownToken(source: path, token: eosToken) }
        var bos: Int?
        if let bosToken {
            guard let b = index[bosToken] else { throw BPETokenizerError.unknownToken(source: path, token: bosToken) }
            bos = b
        }
        try self.init(tokens: tokens, merges: merges, specialIDs: specialIDs, eosID: eos, bosID: bos, addsBOS: addsBOS,
                      ignoresMerges: (model["ignore_merges"] as? Bool) ?? false, preTokenizer: pre, source: path)
    }
}
