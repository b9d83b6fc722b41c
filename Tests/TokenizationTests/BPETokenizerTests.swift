import Testing
import Foundation
import TestSupport
import ModelFormats
@testable import Tokenization

enum TokenizerFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var modelPath: String { root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path }

    nonisolated(unsafe) static var cached: BPETokenizer?
    static let lock = NSLock()

    /// The SmolLM2 tokenizer read straight from the GGUF metadata.
    static func smolLM2() throws -> BPETokenizer {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        let file = try GGUFFile(path: modelPath)
        let types = try #require(file.metadata["tokenizer.ggml.token_type"]?.ints)
        let t = try BPETokenizer(
            tokens: try #require(file.metadata["tokenizer.ggml.tokens"]?.strings),
            merges: try #require(file.metadata["tokenizer.ggml.merges"]?.strings),
            specialIDs: Set(types.indices.filter { types[$0] == 3 || types[$0] == 4 }),
            eosID: try file.int("tokenizer.ggml.eos_token_id"),
            preTokenizer: try file.string("tokenizer.ggml.pre") == "smollm" ? .smollm : .gpt2, source: modelPath)
        cached = t
        return t
    }

    /// A fresh SmolLM2 tokenizer (not the shared one), for tests that change its chat template.
    static func smolLM2Copy() throws -> BPETokenizer {
        let t = try smolLM2()
        return try BPETokenizer(tokens: t.tokens, merges: try #require(GGUFFile(path: modelPath).metadata["tokenizer.ggml.merges"]?.strings),
                                specialIDs: t.specialIDs, eosID: t.eosID, bosID: t.bosID, preTokenizer: t.preTokenizer, source: modelPath)
    }
}

@Suite struct BPEPreTokenizerTests {
    func pieces(_ s: String, _ p: BPEPreTokenizer = .gpt2) -> [String] { p.split(s).map { String($0) } }

    @Test func gpt2PatternCases() {
        #expect(pieces("Hello world") == ["Hello", " world"])
        #expect(pieces("it's we'll they're") == ["it", "'s", " we", "'ll", " they", "'re"])
        #expect(pieces("a   b") == ["a", "  ", " b"])
        #expect(pieces("a\n\nb") == ["a", "\n", "\n", "b"])
        #expect(pieces("x  ") == ["x", "  "])
        #expect(pieces("hi!!! ok") == ["hi", "!!!", " ok"])
        #expect(pieces("year 2024") == ["year", " 2024"])
        #expect(pieces(" \tb") == [" ", "\t", "b"])
    }

    @Test func smollmSplitsEveryDigit() {
        #expect(pieces("year 2024!", .smollm) == ["year", " ", "2", "0", "2", "4", "!"])
        #expect(pieces("a1b", .smollm) == ["a", "1", "b"])
    }

    @Test(arguments: ["Hello, wörld! 你好 🌍🚀  \n\n\t x=3.14159; naïve café",
                      "   leading and trailing   ", "digits 0123456789 and ٣ arabic-indic", "", "'''s 'S"])
    func piecesConcatenateBack(text: String) {
        for p in [BPEPreTokenizer.gpt2, .smollm, .llama3, .qwen2] { #expect(pieces(text, p).joined() == text) }
    }
}

@Suite struct BPETokenizerTests {
    @Test func smolLM2ReferencePromptIDs() throws {
        let t = try TokenizerFixtures.smolLM2()
        #expect(t.encode("Once upon a time") == [6403, 1980, 253, 655])
        #expect(t.encode("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
                == [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198])
        // Built without the GGUF's chat template: --chat is refused, naming the reason.
        #expect(throws: BPETokenizerError.noChatTemplate(source: TokenizerFixtures.modelPath)) { try t.chatPrompt(user: "Hi") }
        #expect(t.eosID == 2)
        #expect(t.decode([504, 3575, 282, 4649, 314, 7042, 30]) == "The capital of France is Paris.")
    }

    @Test func digitsAreSingleTokens() throws {
        let t = try TokenizerFixtures.smolLM2()
        let ids = t.encode("12345")
        #expect(ids.count == 5)
        #expect(t.decode(ids) == "12345")
    }

    @Test(arguments: ["Mixed ünïcödé: 你好世界, emoji 🌍🚀👩‍👩‍👧, math ∑∫≠ and Ελληνικά.",
                      "Whitespace   runs\n\n\n\tand  tabs\t\t  end   ",
                      "Digits 3.14159, 2024-11-25, 1e10, ١٢٣",
                      "Special <|im_start|> inside <|im_end|> text<|endoftext|>"])
    func roundTrip(text: String) throws {
        let t = try TokenizerFixtures.smolLM2()
        let ids = t.encode(text)
        #expect(!ids.isEmpty)
        #expect(t.decode(ids) == text)
    }

    @Test func specialTokensOnlyWhenParsed() throws {
        let t = try TokenizerFixtures.smolLM2()
        #expect(t.encode("<|im_end|>") == [2])
        #expect(!t.encode("<|im_end|>", parseSpecial: false).contains(2))
        #expect(t.decode([2], skipSpecial: true) == "")
    }

    @Test func partialUTF8IsHeldBackWhenStreaming() throws {
        let t = try TokenizerFixtures.smolLM2()
        let text = "🌍 ok 你好"
        var decoder = StreamingDecoder()
        var out = ""
        for id in t.encode(text) {
            let piece = decoder.append(t.bytes(for: id))
            #expect(!piece.contains("\u{FFFD}"))
            out += piece
        }
        out += decoder.flush()
        #expect(out == text)
        // A character cut in half decodes to U+FFFD instead of failing.
        let bytes = Array("🌍".utf8)
        var d2 = StreamingDecoder()
        #expect(d2.append(Array(bytes.prefix(2))) == "")
        #expect(d2.flush() == "\u{FFFD}")
    }

    @Test func tokenizerJSONMatchesGGUF() throws {
        let t = try TokenizerFixtures.smolLM2()
        // Write the same vocabulary as a Hugging Face tokenizer.json and read it back.
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (i, tok) in t.tokens.enumerated() {
            if t.specialIDs.contains(i) { added.append(["id": i, "content": tok, "special": true]) } else { vocab[tok] = i }
        }
        let file = try GGUFFile(path: TokenizerFixtures.modelPath)
        let json: [String: Any] = [
            "added_tokens": added,
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], ["type": "ByteLevel"]]],
            "model": ["type": "BPE", "vocab": vocab, "merges": try #require(file.metadata["tokenizer.ggml.merges"]?.strings)],
        ]
        let path = TestScratch.root.appendingPathComponent("semprog-tokenizer-\(UUID().uuidString).json").path
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let h = try BPETokenizer(tokenizerJSON: path)
        #expect(h.preTokenizer == .smollm)
        #expect(h.eosID == 2)
        for text in ["Once upon a time, 42 dogs ran.", "<|im_start|>user\nHi<|im_end|>"] { #expect(h.encode(text) == t.encode(text)) }
    }

    @Test func malformedInputsThrowNamedErrors() throws {
        #expect(throws: BPETokenizerError.self) {
            _ = try BPETokenizer(tokens: [], merges: [], specialIDs: [], eosID: 0, preTokenizer: .gpt2, source: "empty")
        }
        let bytes = ByteLevel.byteToCharacter.map { String($0) }
        #expect(throws: BPETokenizerError.malformedField(source: "m", field: "merges", reason: "rule #0 'x y' names unknown tokens")) {
            _ = try BPETokenizer(tokens: bytes, merges: ["x y"], specialIDs: [], eosID: 0, preTokenizer: .gpt2, source: "m")
        }
        #expect(throws: BPETokenizerError.tokenIDOutOfRange(source: "e", id: 999, vocabularySize: 256)) {
            _ = try BPETokenizer(tokens: bytes, merges: [], specialIDs: [], eosID: 999, preTokenizer: .gpt2, source: "e")
        }
        #expect(throws: BPETokenizerError.self) { _ = try BPETokenizer(tokenizerJSON: "/nonexistent/tokenizer.json") }
    }
}
