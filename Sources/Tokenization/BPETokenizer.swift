import Foundation

/// A byte-level BPE tokenizer (GPT-2 family: SmolLM2, Llama 3, …).
///
/// Encoding: the text is split at special tokens (matched verbatim, longest first), each stretch is split by the
/// pre-tokenizer (`BPEPreTokenizer`), each piece's UTF-8 bytes are mapped to printable characters with GPT-2's
/// `bytes_to_unicode` table, and adjacent symbols are merged repeatedly, lowest merge rank first, until no ranked
/// pair remains (Sennrich et al. 2016; Radford et al. 2019). No BOS is added. Decoding reverses the byte map;
/// bytes that do not form complete UTF-8 are replaced by U+FFFD only at the very end (see `StreamingDecoder`
/// for incremental output that never splits a character).
public final class BPETokenizer: @unchecked Sendable {
    /// Where the tokenizer was built from (a file path), used in error messages.
    public let source: String
    public let preTokenizer: BPEPreTokenizer
    /// Token strings by id (byte-level mapped, e.g. "Ġthe").
    public let tokens: [String]
    public let eosID: Int
    public let bosID: Int?
    /// Whether prompts start with `bosID` (`promptIDs`): GGUF `tokenizer.ggml.add_bos_token`, or the family's
    /// default / tokenizer_config.json `add_bos_token` for Hugging Face checkpoints. False for SmolLM2.
    public let addsBOS: Bool
    /// Ids of tokens matched verbatim in input text and rendered verbatim in output.
    public let specialIDs: Set<Int>
    /// Whether a pre-tokenized piece that is itself a (non-special) token becomes that token without merging
    /// (Hugging Face tokenizers' BPE `ignore_merges`, set in Llama 3's tokenizer.json; llama.cpp does it for the
    /// llama-bpe pre-tokenizer).
    public let ignoresMerges: Bool
    /// Set for SentencePiece-style BPE (Gemma): no byte-level map; see `SentencePieceBPE`.
    let sentencePiece: SentencePieceBPE?
    /// Whether this is a SentencePiece-style tokenizer (Gemma) rather than byte-level BPE.
    public var isSentencePiece: Bool { sentencePiece != nil }

    let vocabulary: [String: Int]
    /// (left id << 32 | right id) → (rank, merged id)
    let merges: [UInt64: (rank: Int32, id: Int32)]
    private let byteToken: [Int32]               // byte → token id of its single-character symbol
    private let tokenBytes: [[UInt8]]            // id → bytes it decodes to
    private let specials: [(text: [UInt8], id: Int)]
    private let specialFirstBytes: Set<UInt8>
    private let cacheLock = NSLock()
    private var cache: [String: [Int]] = [:]

    public var vocabularySize: Int { tokens.count }

    /// Builds a tokenizer from its parts.
    /// - Parameters:
    ///   - tokens: token strings by id (byte-level mapped).
    ///   - merges: merge rules in rank order, each "left right".
    ///   - specialIDs: ids of special tokens (GGUF token types CONTROL/USER_DEFINED, HF `added_tokens`).
    ///   - source: named in errors.
    ///   - ignoresMerges: take a piece that is a token whole, before merging (`ignoresMerges`).
    public init(tokens: [String], merges mergeLines: [String], specialIDs: Set<Int>, eosID: Int, bosID: Int? = nil,
                addsBOS: Bool = false, ignoresMerges: Bool = false, preTokenizer: BPEPreTokenizer, source: String) throws {
        self.source = source
        self.ignoresMerges = ignoresMerges
        self.tokens = tokens
        self.preTokenizer = preTokenizer
        self.eosID = eosID
        self.bosID = bosID
        self.addsBOS = addsBOS && bosID != nil
        self.sentencePiece = nil
        guard !tokens.isEmpty else { throw BPETokenizerError.missingField(source: source, field: "tokens") }
        guard eosID >= 0, eosID < tokens.count else {
            throw BPETokenizerError.tokenIDOutOfRange(source: source, id: eosID, vocabularySize: tokens.count)
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocabulary[t] == nil { vocabulary[t] = i }
        self.vocabulary = vocabulary
        let table = ByteLevel.byteToCharacter
        var byteToken = [Int32](repeating: -1, count: 256)
        // A byte without a token of its own (a few control bytes in some vocabularies) is dropped when
        // encoding, as llama.cpp does.
        for b in 0..<256 { if let id = vocabulary[String(table[b])] { byteToken[b] = Int32(id) } }
        guard byteToken.contains(where: { $0 >= 0 }) else {
            throw BPETokenizerError.malformedField(source: source, field: "tokens", reason: "no byte-level tokens at all")
        }
        self.byteToken = byteToken
        self.merges = try Self.mergeTable(mergeLines, vocabulary: vocabulary, source: source)
        let inverse = ByteLevel.characterToByte
        var specialList: [(text: [UInt8], id: Int)] = []
        var specialSet = Set<Int>()
        for id in specialIDs {
            guard id >= 0, id < tokens.count else {
                throw BPETokenizerError.tokenIDOutOfRange(source: source, id: id, vocabularySize: tokens.count)
            }
            specialSet.insert(id)
            if !tokens[id].isEmpty { specialList.append((Array(tokens[id].utf8), id)) }
        }
        specialList.sort { $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id }
        self.specials = specialList
        self.specialIDs = specialSet
        self.specialFirstBytes = Set(specialList.compactMap(\.text.first))
        self.tokenBytes = tokens.enumerated().map { id, t in
            if specialSet.contains(id) { return Array(t.utf8) }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(t.unicodeScalars.count)
            for ch in t.unicodeScalars {
                if let b = inverse[ch] { bytes.append(b) } else { bytes.append(contentsOf: Array(String(ch).utf8)) }
            }
            return bytes
        }
    }

    /// A SentencePiece-style BPE tokenizer (Gemma; Kudo & Richardson 2018 with BPE pieces): spaces become "▁"
    /// (with a leading "▁" when `addSpacePrefix`), the text between special tokens is one piece, its UTF-8
    /// characters are merged pairwise, and a character without a token becomes its bytes' `<0xXX>` tokens.
    /// Pairs merge in order of `merges` rank (Hugging Face tokenizer.json) or, without merges, of the merged
    /// token's `scores` entry, highest first (GGUF `tokenizer.ggml.scores`, llama.cpp's `llm_tokenizer_spm`);
    /// ties go to the leftmost pair.
    public init(sentencePieceTokens tokens: [String], merges mergeLines: [String]?, scores: [Float]?,
                specialIDs: Set<Int>, eosID: Int, bosID: Int?, addsBOS: Bool, unknownID: Int?,
                addSpacePrefix: Bool, source: String) throws {
        self.source = source
        self.tokens = tokens
        self.preTokenizer = .gpt2
        self.eosID = eosID
        self.bosID = bosID
        self.addsBOS = addsBOS
        self.ignoresMerges = false
        guard !tokens.isEmpty else { throw BPETokenizerError.missingField(source: source, field: "tokens") }
        for id in [eosID] + [bosID, unknownID].compactMap({ $0 }) where id < 0 || id >= tokens.count {
            throw BPETokenizerError.tokenIDOutOfRange(source: source, id: id, vocabularySize: tokens.count)
        }
        if addsBOS && bosID == nil { throw BPETokenizerError.missingField(source: source, field: "bos token id (the tokenizer adds BOS)") }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocabulary[t] == nil { vocabulary[t] = i }
        self.vocabulary = vocabulary
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        if let mergeLines {
            merges = try Self.mergeTable(mergeLines, vocabulary: vocabulary, source: source)
        } else {
            guard let scores, scores.count == tokens.count else {
                throw BPETokenizerError.malformedField(source: source, field: "scores", reason: "\(scores?.count ?? 0) scores for \(tokens.count) tokens (needed without merges)")
            }
        }
        self.merges = merges
        var byteFallback = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { if let id = vocabulary[String(format: "<0x%02X>", b)] { byteFallback[b] = Int32(id) } }
        let piece = SentencePieceBPE(scores: mergeLines == nil ? scores : nil, byteFallback: byteFallback,
                                     unknownID: unknownID, addSpacePrefix: addSpacePrefix)
        self.sentencePiece = piece
        self.byteToken = byteFallback
        var specialList: [(text: [UInt8], id: Int)] = []
        var specialSet = Set<Int>()
        for id in specialIDs {
            guard id >= 0, id < tokens.count else {
                throw BPETokenizerError.tokenIDOutOfRange(source: source, id: id, vocabularySize: tokens.count)
            }
            if byteFallback.contains(Int32(id)) { continue }   // <0xXX> decodes to its byte, is never typed
            specialSet.insert(id)
            if !tokens[id].isEmpty { specialList.append((Array(tokens[id].utf8), id)) }
        }
        specialList.sort { $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id }
        self.specials = specialList
        self.specialIDs = specialSet
        self.specialFirstBytes = Set(specialList.compactMap(\.text.first))
        var byteOf = [Int: UInt8]()
        for (b, id) in byteFallback.enumerated() where id >= 0 { byteOf[Int(id)] = UInt8(b) }
        self.tokenBytes = tokens.enumerated().map { id, t in
            if let b = byteOf[id] { return [b] }
            if specialSet.contains(id) { return Array(t.utf8) }
            return Array(t.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
        }
    }

    /// The ids of a prompt: `encode(text)`, after `bosID` when the tokenizer adds BOS (`addsBOS`).
    public func promptIDs(_ text: String, parseSpecial: Bool = true) -> [Int] {
        (addsBOS ? [bosID!] : []) + encode(text, parseSpecial: parseSpecial)
    }

    /// The id of a token string, if in the vocabulary.
    public func id(for token: String) -> Int? { vocabulary[token] }

    /// The token string of `id` (byte-level mapped), or nil when out of range.
    public func token(for id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    /// Token ids of `text` (no BOS). Special-token strings in the text become their ids when `parseSpecial`.
    /// The merge rules "left right" as a table (left id << 32 | right id) → (rank, merged id); the first rule of a
    /// pair wins. A rule naming a token the vocabulary lacks is refused by its number.
    static func mergeTable(_ lines: [String], vocabulary: [String: Int], source: String) throws -> [UInt64: (rank: Int32, id: Int32)] {
        var merges: [UInt64: (rank: Int32, id: Int32)] = [:]
        merges.reserveCapacity(lines.count)
        for (rank, line) in lines.enumerated() {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let l = vocabulary[String(parts[0])], let r = vocabulary[String(parts[1])],
                  let m = vocabulary[String(parts[0]) + String(parts[1])] else {
                throw BPETokenizerError.malformedField(source: source, field: "merges", reason: "rule #\(rank) '\(line)' names unknown tokens")
            }
            let key = UInt64(l) << 32 | UInt64(r)
            if merges[key] == nil { merges[key] = (Int32(rank), Int32(m)) }
        }
        return merges
    }

    public func encode(_ text: String, parseSpecial: Bool = true) -> [Int] {
        var out: [Int] = []
        let bytes = Array(text.utf8)
        var start = 0
        var i = 0
        if parseSpecial, !specials.isEmpty {
            while i < bytes.count {
                if specialFirstBytes.contains(bytes[i]), let s = matchSpecial(bytes, at: i) {
                    if start < i { encodeOrdinary(bytes[start..<i], into: &out) }
                    out.append(s.id)
                    i += s.text.count
                    start = i
                } else {
                    i += 1
                }
            }
        }
        if start < bytes.count { encodeOrdinary(bytes[start...], into: &out) }
        return out
    }

    private func matchSpecial(_ bytes: [UInt8], at i: Int) -> (text: [UInt8], id: Int)? {
        for s in specials where s.text.count <= bytes.count - i {
            var equal = true
            for k in 0..<s.text.count where bytes[i + k] != s.text[k] { equal = false; break }
            if equal { return s }
        }
        return nil
    }

    private func encodeOrdinary(_ bytes: ArraySlice<UInt8>, into out: inout [Int]) {
        if let sentencePiece {
            out.append(contentsOf: sentencePiece.encode(bytes, tokenizer: self, atStart: bytes.startIndex == 0))
            return
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for piece in preTokenizer.split(text) {
            let word = String(piece)
            cacheLock.lock()
            let cached = cache[word]
            cacheLock.unlock()
            if let cached { out.append(contentsOf: cached); continue }
            let ids = wholeToken(word).map { [$0] } ?? mergeWord(Array(word.utf8))
            cacheLock.lock()
            if cache.count > 100_000 { cache.removeAll(keepingCapacity: true) }
            cache[word] = ids
            cacheLock.unlock()
            out.append(contentsOf: ids)
        }
    }

    /// With `ignoresMerges`, the id of the ordinary token whose byte-level text is the whole piece.
    private func wholeToken(_ word: String) -> Int? {
        guard ignoresMerges else { return nil }
        var mapped = String.UnicodeScalarView()
        for b in word.utf8 { mapped.append(ByteLevel.byteToCharacter[Int(b)]) }
        guard let id = vocabulary[String(mapped)], !specialIDs.contains(id) else { return nil }
        return id
    }

    /// Applies the merges to one pre-tokenized piece: repeatedly merge the adjacent pair of lowest rank
    /// (leftmost on ties).
    private func mergeWord(_ bytes: [UInt8]) -> [Int] {
        var symbols = bytes.map { byteToken[Int($0)] }.filter { $0 >= 0 }
        while symbols.count > 1 {
            var bestRank = Int32.max, bestAt = -1, bestID: Int32 = 0
            for k in 0..<(symbols.count - 1) {
                if let m = merges[UInt64(symbols[k]) << 32 | UInt64(symbols[k + 1])], m.rank < bestRank {
                    bestRank = m.rank; bestAt = k; bestID = m.id
                }
            }
            if bestAt < 0 { break }
            symbols[bestAt] = bestID
            symbols.remove(at: bestAt + 1)
        }
        return symbols.map(Int.init)
    }

    /// The bytes token `id` stands for (special tokens: their text; empty when out of range).
    public func bytes(for id: Int) -> [UInt8] { id >= 0 && id < tokenBytes.count ? tokenBytes[id] : [] }

    /// The text of `ids`; special tokens are rendered as their text unless `skipSpecial`. Invalid or incomplete
    /// UTF-8 (e.g. a character cut by the end of generation) becomes U+FFFD.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var out: [UInt8] = []
        for id in ids where !(skipSpecial && specialIDs.contains(id)) { out.append(contentsOf: bytes(for: id)) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The model's chat template (GGUF `tokenizer.chat_template`, tokenizer_config.json `chat_template`, or
    /// `chat_template.jinja`), or one supplied with `--chat-template`; nil for a model without one (a base model).
    /// Set when the model is loaded, before the tokenizer is shared.
    public var chatTemplate: ChatTemplate?
    /// Why the stored template could not be used (it failed to parse), reported when a chat prompt is asked for.
    public var chatTemplateProblem: BPETokenizerError?

    /// The names a template sees besides `messages` and `add_generation_prompt`: `bos_token` and `eos_token` as
    /// text (transformers passes the tokenizer's special tokens; a tokenizer without BOS passes none).
    public var templateVariables: [String: TemplateValue] {
        var v: [String: TemplateValue] = ["eos_token": .string(tokens[eosID])]
        if let bosID { v["bos_token"] = .string(tokens[bosID]) }
        return v
    }

    /// The model's chat prompt for one user turn (and an optional system turn), ending where the assistant's answer
    /// begins: the chat template rendered as transformers' `apply_chat_template(add_generation_prompt=True)`.
    /// SmolLM2's template adds its default system message ("You are a helpful AI assistant named SmolLM, trained
    /// by Hugging Face") when the conversation has none. Throws when the model has no template.
    public func chatPrompt(user: String, system: String? = nil) throws -> String {
        guard let chatTemplate else {
            if let chatTemplateProblem { throw chatTemplateProblem }
            throw BPETokenizerError.noChatTemplate(source: source)
        }
        var messages: [TemplateValue] = []
        if let system { messages.append(ChatTemplate.message(role: "system", content: system)) }
        messages.append(ChatTemplate.message(role: "user", content: user))
        return try chatTemplate.render(messages: messages, addGenerationPrompt: true, variables: templateVariables)
    }

    /// The ids of `chatPrompt(user:)`: the rendered text encoded with special tokens parsed and no BOS added (the
    /// templates that want BOS write `bos_token` themselves), as transformers' `apply_chat_template(tokenize=True)`.
    public func chatPromptIDs(user: String, system: String? = nil) throws -> [Int] {
        encode(try chatPrompt(user: user, system: system), parseSpecial: true)
    }

    /// Installs the template stored in a model's files: parses `source`, keeping the problem (for `chatPrompt`)
    /// instead of failing the load when the template uses something the interpreter lacks.
    public func installChatTemplate(_ source: String?, origin: String) {
        guard let source else { return }
        do { chatTemplate = try ChatTemplate(source, origin: origin) } catch let e as BPETokenizerError {
            chatTemplateProblem = e
        } catch {
            chatTemplateProblem = .chatTemplate(line: 0, reason: "\(origin): \(error)")
        }
    }
}

/// Turns a stream of token ids into text without ever splitting a UTF-8 character: bytes of an incomplete
/// character are held back until the token that completes it arrives.
public struct StreamingDecoder {
    private var pending: [UInt8] = []
    public init() {}

    /// Appends `bytes` and returns the text that is now complete.
    public mutating func append(_ bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        let keep = Self.incompleteSuffixLength(pending)
        let ready = pending[..<(pending.count - keep)]
        let text = String(decoding: ready, as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Whatever is still held back (as U+FFFD if incomplete).
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of a trailing, possibly completable UTF-8 sequence that is not yet complete.
    static func incompleteSuffixLength(_ b: [UInt8]) -> Int {
        var k = 0
        var i = b.count - 1
        while i >= 0, k < 4, b[i] & 0xC0 == 0x80 { i -= 1; k += 1 }
        guard i >= 0 else { return 0 }
        let lead = b[i]
        let need: Int = lead >= 0xF0 && lead < 0xF8 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return need > k + 1 ? k + 1 : 0
    }
}

/// GPT-2's reversible byte ↔ printable-character table (`bytes_to_unicode`): printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100 onward in byte order.
public enum ByteLevel {
    public static let byteToCharacter: [Unicode.Scalar] = {
        var printable = Set<Int>()
        for r in [33...126, 161...172, 174...255] { for b in r { printable.insert(b) } }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var n = 0
        for b in 0..<256 {
            if printable.contains(b) { table[b] = Unicode.Scalar(UInt32(b))! } else { table[b] = Unicode.Scalar(UInt32(256 + n))!; n += 1 }
        }
        return table
    }()

    public static let characterToByte: [Unicode.Scalar: UInt8] = {
        var d: [Unicode.Scalar: UInt8] = [:]
        for (b, c) in byteToCharacter.enumerated() { d[c] = UInt8(b) }
        return d
    }()
}
