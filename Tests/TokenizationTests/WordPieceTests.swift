import Foundation
import Testing
@testable import Tokenization

@Suite struct BertBasicTokenizerTests {
    let basic = BertBasicTokenizer()

    @Test func lowercasesAndSplitsPunctuation() {
        #expect(basic.words("Hello, World!") == ["hello", ",", "world", "!"])
        #expect(basic.words("U.S. presidents") == ["u", ".", "s", ".", "presidents"])
        #expect(basic.words("don't stop") == ["don", "'", "t", "stop"])
        #expect(basic.words("a$b^c`d~e") == ["a", "$", "b", "^", "c", "`", "d", "~", "e"])
    }

    @Test func stripsAccentsAfterLowercasing() {
        #expect(basic.words("Naïve CAFÉ Émojis") == ["naive", "cafe", "emojis"])
        // Decomposed input (e + combining acute) gives the same words as composed input.
        #expect(basic.words("cafe\u{301}") == ["cafe"])
        #expect(BertBasicTokenizer(lowercase: false).words("Café") == ["Café"])
    }

    @Test func unicodePunctuationAndSymbols() {
        // Em dash is punctuation (Pd); '&' is ASCII punctuation; emoji (So) is not punctuation.
        #expect(basic.words("text — with & 🎉!") == ["text", "—", "with", "&", "🎉", "!"])
        #expect(basic.words("«quoted»") == ["«", "quoted", "»"])
    }

    @Test func cjkIdeographsAreSeparateWords() {
        #expect(basic.words("数学abc中文") == ["数", "学", "abc", "中", "文"])
        // Hiragana is not in the CJK ideograph ranges and stays one word; as in uncased BERT, accent stripping
        // removes the voicing mark (が → か + U+3099, a nonspacing mark).
        #expect(basic.words("ひらがな") == ["ひらかな"])
        #expect(BertBasicTokenizer(lowercase: false).words("ひらがな") == ["ひらがな"])
    }

    @Test func controlCharactersDroppedAndWhitespaceNormalised() {
        #expect(basic.words("a\u{0}b\u{7}c\u{FFFD}d") == ["abcd"])
        #expect(basic.words("  one\ttwo\nthree\r\nfour\u{00A0}five\u{3000}six  ") ==
            ["one", "two", "three", "four", "five", "six"])
        #expect(basic.words("zero\u{200B}width") == ["zerowidth"])  // U+200B is Cf (format): removed
        #expect(basic.words("") == [])
        #expect(basic.words(" \t\n ") == [])
    }
}

@Suite struct WordPieceTests {
    /// A tiny vocabulary: id = position.
    let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "aff", "##a", "play", "##ing", "##s", "a"]

    @Test func greedyLongestMatchFirst() throws {
        let wp = try #require(WordPiece(vocabulary: vocabulary))
        #expect(wp.encode(word: "unaffable") == [4, 5, 6])
        #expect(wp.encode(word: "playing") == [9, 10])
        #expect(wp.encode(word: "plays") == [9, 11])
        #expect(wp.encode(word: "a") == [12])
        #expect(wp.tokenStrings(wp.encode(word: "unaffable")) == ["un", "##aff", "##able"])
    }

    @Test func uncoverableWordIsOneUnknown() throws {
        let wp = try #require(WordPiece(vocabulary: vocabulary))
        #expect(wp.encode(word: "playx") == [1])      // "play" matches but "##x" does not: whole word is [UNK]
        #expect(wp.encode(word: "xyz") == [1])
        #expect(wp.encode(words: ["play", "zz", "a"]) == [9, 1, 12])
        #expect(wp.encode(word: "") == [])
    }

    @Test func wordsOverTheCharacterLimitAreUnknown() throws {
        let wp = try #require(WordPiece(vocabulary: vocabulary, maxInputCharsPerWord: 100))
        let limit = "un" + String(repeating: "a", count: 98)   // 100 scalars: still tokenized
        #expect(wp.encode(word: limit).count == 99)
        #expect(wp.encode(word: limit + "a") == [1])          // 101 scalars: [UNK]
    }

    @Test func missingUnknownTokenIsRejected() {
        #expect(WordPiece(vocabulary: ["a", "b"]) == nil)
    }

    @Test func parsesVocabularyLines() {
        #expect(WordPiece.parseVocabulary("[PAD]\r\n[UNK]\nhello\n") == ["[PAD]", "[UNK]", "hello"])
        #expect(WordPiece.parseVocabulary("a\n\nb") == ["a", "", "b"])
    }

    /// The real all-MiniLM-L6-v2 vocabulary against the independent reference's token ids.
    @Test func realVocabularyMatchesReference() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let vocabPath = root.appendingPathComponent("models/all-MiniLM-L6-v2/vocab.txt").path
        let referencePath = root.appendingPathComponent("Tests/Fixtures/reference/minilm.json").path
        let vocabText = String(decoding: try #require(FileManager.default.contents(atPath: vocabPath)), as: UTF8.self)
        let wp = try #require(WordPiece(vocabulary: WordPiece.parseVocabulary(vocabText)))
        #expect(wp.tokens.count == 30522)
        #expect(wp.unknownTokenID == 100)
        struct Reference: Decodable { struct Text: Decodable { var text: String; var token_ids: [Int] }; var texts: [Text] }
        let reference = try JSONDecoder().decode(
            Reference.self, from: try #require(FileManager.default.contents(atPath: referencePath)))
        let basic = BertBasicTokenizer()
        for item in reference.texts {
            let ids = [101] + wp.encode(words: basic.words(item.text)) + [102]
            #expect(ids == item.token_ids, "\(item.text): \(wp.tokenStrings(ids))")
        }
        #expect(wp.tokenStrings(wp.encode(words: basic.words("Unaffable autoencoders"))) ==
            ["una", "##ffa", "##ble", "auto", "##en", "##code", "##rs"])
    }
}
