/// WordPiece sub-word tokenization (Schuster & Nakajima 2012; as used by BERT, Devlin et al. 2019).
///
/// Each word from `BertBasicTokenizer` is split greedily into the longest vocabulary entries from left to right;
/// pieces after the first carry the continuation prefix `##`. A word longer than `maxInputCharsPerWord`
/// Unicode scalars, or one that cannot be covered completely by vocabulary entries, becomes the single unknown
/// token (`[UNK]`). This mirrors Hugging Face's `WordpieceTokenizer` (transformers, `tokenization_bert.py`).
public struct WordPiece: Sendable {
    /// Token string → id (the line number in `vocab.txt`, from 0).
    public let ids: [String: Int]
    /// Id → token string.
    public let tokens: [String]
    public let unknownTokenID: Int
    public let continuationPrefix: String
    public let maxInputCharsPerWord: Int

    /// A tokenizer over `vocabulary` (id = index). Returns nil when `unknownToken` is not in the vocabulary.
    /// A token listed twice keeps its last id, as in transformers' `load_vocab`.
    public init?(vocabulary: [String], unknownToken: String = "[UNK]", continuationPrefix: String = "##",
                 maxInputCharsPerWord: Int = 100) {
        var ids: [String: Int] = [:]
        ids.reserveCapacity(vocabulary.count)
        for (i, token) in vocabulary.enumerated() { ids[token] = i }
        guard let unk = ids[unknownToken] else { return nil }
        self.ids = ids
        self.tokens = vocabulary
        self.unknownTokenID = unk
        self.continuationPrefix = continuationPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Parses the contents of a BERT `vocab.txt` (one token per line; trailing `\r` and the final newline ignored)
    /// into the token list.
    public static func parseVocabulary(_ text: String) -> [String] {
        // "\r\n" is one Character in Swift, so split on both forms of line end.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { line -> String in line.hasSuffix("\r") ? String(line.dropLast()) : String(line) }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// The id of `token`, if it is in the vocabulary.
    public func id(of token: String) -> Int? { ids[token] }

    /// The WordPiece ids of one word (no whitespace inside).
    public func encode(word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        if scalars.isEmpty { return [] }
        if scalars.count > maxInputCharsPerWord { return [unknownTokenID] }
        var pieces: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int?
            while start < end {
                var candidate = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { candidate = continuationPrefix + candidate }
                if let id = ids[candidate] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknownTokenID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    /// The WordPiece ids of a sequence of words, concatenated.
    public func encode(words: [String]) -> [Int] {
        var out: [Int] = []
        for w in words { out.append(contentsOf: encode(word: w)) }
        return out
    }

    /// The token strings for `ids` (unknown ids shown as `[UNK]`-style placeholders `<id>`).
    public func tokenStrings(_ ids: [Int]) -> [String] {
        ids.map { $0 >= 0 && $0 < tokens.count ? tokens[$0] : "<\($0)>" }
    }
}
