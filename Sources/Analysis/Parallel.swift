import Dispatch

/// Results written by index from concurrent workers; each index is written exactly once.
final class IndexedResults<T>: @unchecked Sendable {
    private var storage: [T?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { storage.withUnsafeMutableBufferPointer { $0[i] = value } }
    var values: [T] { storage.map { $0! } }
}

/// Maps 0..<count on `threads` workers (contiguous chunks, deterministic output order).
func parallelMap<T>(count: Int, threads: Int, _ body: @Sendable (Int) throws -> T) rethrows -> [T] {
    let workers = max(1, min(threads, count))
    if workers == 1 { return try (0..<count).map(body) }
    let results = IndexedResults<Result<T, any Error>>(count: count)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let start = count * w / workers, end = count * (w + 1) / workers
        for i in start..<end { results.set(i, Result { try body(i) }) }
    }
    return try results.values.map { try $0.get() }
}
