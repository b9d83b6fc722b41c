import Foundation
import ModelFormats
import Store
import TextEmbedding

/// Sentence embeddings through the database's `text_embeddings` cache: a text already embedded by the same model
/// is read back instead of recomputed, and new embeddings are stored chunk by chunk, so an interrupted analysis
/// keeps what it computed. The model is loaded only when some text is missing from the cache.
///
/// The cache's model key is "<directory name>@<16 hex digits>" of SHA-256 over config.json, vocab.txt, the size of
/// model.safetensors and its first and last MiB (cheap, and it changes whenever the weights file does in practice).
///
/// A text without tokens (empty or only whitespace/control characters, e.g. a generation that stopped at once)
/// gets the zero vector: its cosine with anything is 0 and the segmenter treats it as maximally dispersed. It is
/// not cached.
public final class EmbeddingCache {
    public let store: StoreDatabase
    public let modelDirectory: String
    public let modelKey: String
    public let batchSize: Int
    private var embedder: SentenceEmbedder?

    public init(store: StoreDatabase, modelDirectory: String, batchSize: Int = 32) throws {
        self.store = store
        let dir = modelDirectory.hasSuffix("/") ? String(modelDirectory.dropLast()) : modelDirectory
        self.modelDirectory = dir
        self.batchSize = batchSize
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TextEmbeddingError.missingFile(path: dir)
        }
        var digest = SHA256Digest()
        for name in ["config.json", "vocab.txt"] {
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else {
                throw TextEmbeddingError.missingFile(path: dir + "/" + name)
            }
            digest.update(data)
        }
        let weights = dir + "/model.safetensors"
        guard let handle = FileHandle(forReadingAtPath: weights) else { throw TextEmbeddingError.missingFile(path: weights) }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        digest.update(Data("\(size)".utf8))
        try handle.seek(toOffset: 0)
        digest.update(try handle.read(upToCount: 1 << 20) ?? Data())
        try handle.seek(toOffset: size > 1 << 20 ? size - (1 << 20) : 0)
        digest.update(try handle.read(upToCount: 1 << 20) ?? Data())
        modelKey = URL(fileURLWithPath: dir).standardizedFileURL.lastPathComponent + "@" + digest.finalizeHex().prefix(16)
    }

    /// SHA-256 (hex) of the text's UTF-8 bytes: the cache key of a text.
    public static func hash(_ text: String) -> String { SHA256Digest.hex(of: Data(text.utf8)) }

    /// Whether the text has nothing for the tokenizer (only whitespace and control characters).
    public static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.properties.isWhitespace || $0.properties.generalCategory == .control
            || $0.properties.generalCategory == .format || $0.value == 0xFFFD }
    }

    public func loadedEmbedder() throws -> SentenceEmbedder {
        if let embedder { return embedder }
        let loaded = try SentenceEmbedder.load(directory: modelDirectory)
        embedder = loaded
        return loaded
    }

    /// What the last `embed` call did.
    private(set) var cachedCount = 0
    private(set) var computedCount = 0

    /// Embeddings of `texts` (duplicates computed once), in order.
    public func embed(_ texts: [String], progress: ProgressLine? = nil) throws -> [[Float]] {
        var unique: [String] = [], position: [String: Int] = [:]
        for t in texts where position[t] == nil { position[t] = unique.count; unique.append(t) }
        let hashes = unique.map(Self.hash)
        let cached = try store.embeddings(model: modelKey, textHashes: hashes)
        var vectors = [[Float]?](repeating: nil, count: unique.count)
        var missing: [Int] = [], blank: [Int] = []
        for i in unique.indices {
            if let v = cached[hashes[i]], !v.isEmpty { vectors[i] = v }
            else if Self.isBlank(unique[i]) { blank.append(i) }
            else { missing.append(i) }
        }
        cachedCount = unique.count - missing.count - blank.count
        computedCount = missing.count
        let chunk = 512
        var done = 0
        for start in stride(from: 0, to: missing.count, by: chunk) {
            let part = Array(missing[start..<min(start + chunk, missing.count)])
            let embedder = try loadedEmbedder()
            var keep = part
            var computed: [[Float]] = []
            while true {
                do { computed = try embedder.embed(keep.map { unique[$0] }, batchSize: batchSize); break } catch TextEmbeddingError.emptyText(let index) {
                    blank.append(keep.remove(at: index))  // no tokens after all: zero vector below
                    computedCount -= 1
                }
            }
            var records: [TextEmbeddingRecord] = []
            for (i, v) in zip(keep, computed) {
                vectors[i] = v
                records.append(TextEmbeddingRecord(model: modelKey, textHash: hashes[i], values: v))
            }
            try store.saveEmbeddings(records)
            done += part.count
            progress?.update(done: done, total: missing.count, unit: "texts", extra: "embedding")
        }
        progress?.finish()
        if !blank.isEmpty {
            let dimension = try vectors.first { $0 != nil }??.count ?? loadedEmbedder().dimension
            for i in blank { vectors[i] = [Float](repeating: 0, count: dimension) }
        }
        return texts.map { vectors[position[$0]!]! }
    }
}
