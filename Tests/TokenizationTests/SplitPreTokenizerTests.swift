import Foundation
import TestSupport
import Testing
@testable import Tokenization

/// The Llama 3 and Qwen 2 pre-tokenizer patterns against Hugging Face tokenizers (`pretokenizers.json`, made by
/// `pre_tokenizers.Split(Regex(pattern), behavior="isolated")`): numbers of 1–7 digits, contractions in both
/// cases, CJK, emoji with joiners, tabs, CR LF, no-break and em spaces, runs of newlines, empty text.
@Suite struct SplitPreTokenizerTests {
    static func reference() throws -> [String: Any] {
        let url = TokenizerFixtures.root.appendingPathComponent("Tests/Fixtures/tokenization/pretokenizers.json")
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    @Test func piecesMatchHuggingFace() throws {
        let reference = try Self.reference()
        let cases = try #require(reference["cases"] as? [[String: Any]])
        #expect(cases.count >= 30)
        for c in cases {
            let pre: BPEPreTokenizer = try #require(c["pattern"] as? String) == "llama3" ? .llama3 : .qwen2
            let text = try #require(c["text"] as? String)
            let pieces = pre.split(text).map { String(String.UnicodeScalarView($0)) }
            #expect(pieces == c["pieces"] as? [String], "\(pre) \(text.debugDescription)")
            #expect(pieces.joined() == text)
        }
    }

    /// The patterns are recognised from the text of a tokenizer.json Split (and llama.cpp's spelling of Qwen's).
    @Test func patternsAreRecognised() throws {
        let reference = try Self.reference()
        let patterns = try #require(reference["patterns"] as? [String: String])
        #expect(BPEPreTokenizer.matching(splitPattern: try #require(patterns["llama3"])) == .llama3)
        #expect(BPEPreTokenizer.matching(splitPattern: try #require(patterns["qwen2"])) == .qwen2)
        let llamaCppQwen = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        #expect(BPEPreTokenizer.matching(splitPattern: llamaCppQwen) == .qwen2)
        #expect(BPEPreTokenizer.matching(splitPattern: #"\p{N}+|\s+"#) == nil)
    }

    /// Whole encodings through a tokenizer.json whose pre_tokenizer is Sequence[Split(pattern), ByteLevel]: the
    /// tiny Llama 3 and Qwen 3 vocabularies with the real patterns, ids exact.
    @Test(arguments: ["llama3", "qwen3"])
    func splitTokenizerJSONMatchesHuggingFace(model: String) throws {
        let reference = try Self.reference()
        let path = TokenizerFixtures.root.appendingPathComponent("Tests/Fixtures/tokenization/\(model)-tokenizer-split.json").path
        // EOS is id 1 (config.json eos_token_id) in both tiny checkpoints.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let added = try #require(json["added_tokens"] as? [[String: Any]])
        let eos = try #require(added.first { ($0["id"] as? Int) == 1 }?["content"] as? String)
        let tokenizer = try BPETokenizer(tokenizerJSON: path, eosToken: eos)
        #expect(tokenizer.preTokenizer == (model == "llama3" ? .llama3 : .qwen2))
        let encodings = try #require(reference["encodings"] as? [[String: Any]]).filter { $0["model"] as? String == model }
        #expect(encodings.count >= 15)
        for e in encodings {
            let text = try #require(e["text"] as? String)
            #expect(tokenizer.encode(text, parseSpecial: false) == e["ids"] as? [Int], "\(model) \(text.debugDescription)")
        }
    }

    /// An unknown Split pattern is refused, quoting it.
    @Test func unknownSplitPatternIsRefused() throws {
        let source = TokenizerFixtures.root.appendingPathComponent("Tests/Fixtures/tokenization/llama3-tokenizer-split.json")
        var root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        root["pre_tokenizer"] = ["type": "Split", "pattern": ["Regex": "\\p{N}+"], "behavior": "Isolated", "invert": false]
        let path = TestScratch.root.appendingPathComponent("split-\(UUID().uuidString).json").path
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try BPETokenizer(tokenizerJSON: path)
            Issue.record("an unknown Split pattern was accepted")
        } catch let e as BPETokenizerError {
            #expect(e.localizedDescription.contains("Split pattern"))
        }
    }
}
