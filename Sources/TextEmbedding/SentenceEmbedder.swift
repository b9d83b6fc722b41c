import Foundation
import Tensor
import Tokenization

/// Sentence embeddings with all-MiniLM-L6-v2 (Reimers & Gurevych 2019, sentence-transformers; Wang et al. 2020,
/// MiniLM): BERT basic tokenizer + WordPiece, `[CLS] … [SEP]` truncated to `maxSequenceLength` tokens, a 6-layer
/// BERT encoder, masked mean pooling over the text's tokens and L2 normalisation, so the cosine similarity of
/// two embeddings is their dot product.
///
/// `embed` is safe to call from several threads at once (each call uses its own buffers). It uses as many threads
/// as OpenBLAS is set to (`BLAS.setThreads`): with n > 1, n batches are encoded at once, each with
/// single-threaded BLAS; a single batch uses n-threaded BLAS and n attention workers.
public final class SentenceEmbedder: @unchecked Sendable {
    public let configuration: BertConfiguration
    public let basicTokenizer: BertBasicTokenizer
    public let wordPiece: WordPiece
    /// Longest token sequence the model sees, `[CLS]` and `[SEP]` included (sentence-transformers'
    /// `max_seq_length`, 256 for all-MiniLM-L6-v2). Longer texts are truncated.
    public let maxSequenceLength: Int
    public let classifierTokenID: Int
    public let separatorTokenID: Int
    /// Width of an embedding (384).
    public var dimension: Int { configuration.hiddenSize }

    /// Receives the one-time truncation notice; by default it is written to stderr.
    public var warningHandler: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }

    private let encoder: BertEncoder
    private let lock = NSLock()
    private var truncationReported = false
    private var truncatedCount = 0

    /// How many texts have been truncated to `maxSequenceLength` so far by `embed`.
    public var truncatedTextCount: Int { lock.withLock { truncatedCount } }

    init(configuration: BertConfiguration, wordPiece: WordPiece, encoder: BertEncoder, maxSequenceLength: Int,
         classifierTokenID: Int, separatorTokenID: Int) {
        self.configuration = configuration
        self.basicTokenizer = BertBasicTokenizer(lowercase: true, splitCJK: true)
        self.wordPiece = wordPiece
        self.encoder = encoder
        self.maxSequenceLength = maxSequenceLength
        self.classifierTokenID = classifierTokenID
        self.separatorTokenID = separatorTokenID
    }

    /// Loads `config.json`, `vocab.txt` and `model.safetensors` from `directory`.
    /// - Parameter maxSequenceLength: truncation length in tokens (≤ the model's position count).
    public static func load(directory: String, maxSequenceLength: Int = 256) throws -> SentenceEmbedder {
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let configPath = dir + "/config.json", vocabPath = dir + "/vocab.txt", weightsPath = dir + "/model.safetensors"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TextEmbeddingError.missingFile(path: dir)
        }
        for path in [configPath, vocabPath, weightsPath] where !FileManager.default.fileExists(atPath: path) {
            throw TextEmbeddingError.missingFile(path: path)
        }
        let config = try BertConfiguration.load(path: configPath)
        guard maxSequenceLength >= 2, maxSequenceLength <= config.maxPositionEmbeddings else {
            throw TextEmbeddingError.invalidConfiguration(
                path: configPath, field: "max_position_embeddings",
                reason: "cannot hold sequences of \(maxSequenceLength) tokens")
        }
        guard let vocabData = FileManager.default.contents(atPath: vocabPath) else {
            throw TextEmbeddingError.missingFile(path: vocabPath)
        }
        guard let vocabText = String(data: vocabData, encoding: .utf8) else {
            throw TextEmbeddingError.invalidVocabulary(path: vocabPath, reason: "not UTF-8 text")
        }
        let vocabulary = WordPiece.parseVocabulary(vocabText)
        guard vocabulary.count == config.vocabularySize else {
            throw TextEmbeddingError.invalidVocabulary(
                path: vocabPath, reason: "\(vocabulary.count) tokens, but config.json says vocab_size \(config.vocabularySize)")
        }
        guard let wordPiece = WordPiece(vocabulary: vocabulary) else {
            throw TextEmbeddingError.invalidVocabulary(path: vocabPath, reason: "no [UNK] token")
        }
        guard let cls = wordPiece.id(of: "[CLS]"), let sep = wordPiece.id(of: "[SEP]") else {
            throw TextEmbeddingError.invalidVocabulary(path: vocabPath, reason: "no [CLS] or [SEP] token")
        }
        let encoder = try BertEncoder(config: config, weightsPath: weightsPath)
        return SentenceEmbedder(configuration: config, wordPiece: wordPiece, encoder: encoder,
                                maxSequenceLength: maxSequenceLength, classifierTokenID: cls, separatorTokenID: sep)
    }

    /// The model's input ids for `text`: `[CLS]`, the WordPiece ids of its words, `[SEP]`, truncated to
    /// `maxSequenceLength` (the last kept token is always `[SEP]`). An empty text gives `[CLS, SEP]`.
    public func tokenize(_ text: String) -> [Int] {
        tokenizeReportingLength(text).ids
    }

    /// Ids as in `tokenize`, plus the untruncated length (`[CLS]` and `[SEP]` included).
    public func tokenizeReportingLength(_ text: String) -> (ids: [Int], fullLength: Int) {
        let pieces = wordPiece.encode(words: basicTokenizer.words(text))
        let kept = min(pieces.count, maxSequenceLength - 2)
        var ids = [classifierTokenID]
        ids.reserveCapacity(kept + 2)
        ids.append(contentsOf: pieces[0..<kept])
        ids.append(separatorTokenID)
        return (ids, pieces.count + 2)
    }

    /// L2-normalised embeddings, one per text, in order.
    ///
    /// Texts are tokenized, grouped `batchSize` at a time and encoded together (packed, without padding); the
    /// result for a text does not depend on the batch it is in. A text longer than `maxSequenceLength` tokens is
    /// truncated; the first such text is reported once through `warningHandler`.
    /// - Throws: `TextEmbeddingError.emptyText` for a text without tokens, `.invalidBatchSize` for batchSize < 1.
    public func embed(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        guard batchSize >= 1 else { throw TextEmbeddingError.invalidBatchSize(batchSize) }
        var sequences: [[Int]] = []
        sequences.reserveCapacity(texts.count)
        var firstTruncated: (index: Int, length: Int)?
        var truncated = 0
        for (index, text) in texts.enumerated() {
            let (ids, fullLength) = tokenizeReportingLength(text)
            if ids.count <= 2 { throw TextEmbeddingError.emptyText(index: index) }
            if fullLength > ids.count {
                truncated += 1
                if firstTruncated == nil { firstTruncated = (index, fullLength) }
            }
            sequences.append(ids)
        }
        if truncated > 0 {
            let report: Bool = lock.withLock {
                truncatedCount += truncated
                defer { truncationReported = true }
                return !truncationReported
            }
            if report, let first = firstTruncated {
                warningHandler("text \(first.index + 1) has \(first.length) tokens; texts longer than "
                               + "\(maxSequenceLength) tokens are truncated to \(maxSequenceLength) "
                               + "(reported once; \(truncated) text(s) in this call)")
            }
        }
        // Batches are independent: with several BLAS threads, run whole batches in parallel, each with
        // single-threaded BLAS (cheaper than splitting every mid-sized GEMM, and it parallelises the non-BLAS
        // work too). Each batch is computed the same way whichever worker takes it.
        let batches = stride(from: 0, to: sequences.count, by: batchSize).map {
            Array(sequences[$0..<min($0 + batchSize, sequences.count)])
        }
        let threads = BLAS.threads
        let workers = min(threads, batches.count)
        var pooled = [[[Float]]](repeating: [], count: batches.count)
        if workers <= 1 {
            for (b, batch) in batches.enumerated() { pooled[b] = encoder.meanPooled(batch, threads: threads) }
        } else {
            BLAS.withThreads(1) { pooled.withUnsafeMutableBufferPointer { results in
                let address = UInt(bitPattern: results.baseAddress!)
                let encoder = self.encoder
                // Workers take the next batch as they free up (batches differ in token count), so none idles
                // while the other still has a queue; each result slot is written by exactly one worker.
                let next = BatchCounter()
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    let results = UnsafeMutablePointer<[[Float]]>(bitPattern: address)!
                    while let b = next.take(below: batches.count) {
                        results[b] = encoder.meanPooled(batches[b])
                    }
                }
            } }
        }
        return pooled.flatMap { $0.map(VectorMath.normalized) }
    }

    /// The embedding of one text.
    public func embed(_ text: String) throws -> [Float] {
        try embed([text])[0]
    }
}

/// A shared "next batch" counter for the embedding workers.
final class BatchCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    /// The next index below `limit`, or nil when all are taken.
    func take(below limit: Int) -> Int? {
        lock.withLock {
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
