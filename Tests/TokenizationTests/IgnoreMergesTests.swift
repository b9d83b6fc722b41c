import Testing
import Foundation
import TestSupport
import ModelFormats
@testable import Tokenization

/// `ignore_merges` (Hugging Face tokenizers' BPE option, set in Llama 3's tokenizer.json; llama.cpp applies it for
/// the llama-bpe pre-tokenizer): a pre-tokenized piece that is a token whole is taken before any merge.
@Suite struct IgnoreMergesTests {
    /// Vocabulary a, b, c, ab, bc, abc with merges "b c" (rank 0), "a b" (rank 1): merging "abc" gives [a, bc]
    /// ("a bc" is no rule), while the whole piece is the token abc.
    static func tokenizer(ignoresMerges: Bool) throws -> BPETokenizer {
        try BPETokenizer(tokens: ["a", "b", "c", "ab", "bc", "abc", "Ġ", "<eos>"], merges: ["b c", "a b"], specialIDs: [7],
                         eosID: 7, ignoresMerges: ignoresMerges, preTokenizer: .llama3, source: "toy")
    }

    @Test func wholePieceWinsOnlyWhenMergesAreIgnored() throws {
        #expect(try Self.tokenizer(ignoresMerges: false).encode("abc") == [0, 4])
        #expect(try Self.tokenizer(ignoresMerges: true).encode("abc") == [5])
        // A piece that is not a token merges as usual.
        #expect(try Self.tokenizer(ignoresMerges: true).encode("abcab") == [0, 4, 3])
        #expect(try Self.tokenizer(ignoresMerges: false).encode("abcab") == [0, 4, 3])
    }

    /// tokenizer.json `model.ignore_merges` reaches the tokenizer.
    @Test func readFromTokenizerJSON() throws {
        let dir = TestScratch.root.appendingPathComponent("ignore-merges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for flag in [true, false] {
            let json: [String: Any] = [
                "model": ["type": "BPE", "ignore_merges": flag, "merges": ["b c", "a b"],
                          "vocab": ["a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "Ġ": 6]],
                "added_tokens": [["id": 7, "content": "<|end_of_text|>", "special": true]],
                "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]]
            let path = dir.appendingPathComponent("tokenizer-\(flag).json").path
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
            let t = try BPETokenizer(tokenizerJSON: path, eosToken: "<|end_of_text|>")
            #expect(t.ignoresMerges == flag)
            #expect(t.encode("abc") == (flag ? [5] : [0, 4]))
        }
    }
}
