import Dispatch
import Foundation
import Testing
@testable import Tensor

/// The spinning pool (`ck_parallel_for`) behind `ParallelLoop`: every index runs exactly once, whether the loop
/// gets the pool, is nested in one of the pool's tasks, or races other callers (who fall back to GCD).
@Suite struct ParallelLoopTests {
    final class Counts: @unchecked Sendable {
        private var values: [Int]
        private let lock = NSLock()
        init(_ count: Int) { values = [Int](repeating: 0, count: count) }
        func add(_ i: Int) { lock.lock(); values[i] += 1; lock.unlock() }
        var all: [Int] { lock.lock(); defer { lock.unlock() }; return values }
    }

    @Test(arguments: [(1, 1), (2, 2), (7, 2), (100, 3), (1000, 8)])
    func everyIndexOnce(count: Int, threads: Int) {
        let seen = Counts(count)
        for _ in 0..<20 { ParallelLoop.forEach(count, threads: threads) { seen.add($0) } }
        #expect(seen.all == [Int](repeating: 20, count: count))
    }

    @Test func nestedLoopsAndConcurrentCallers() {
        let seen = Counts(8 * 16)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            ParallelLoop.forEach(2, threads: 2) { outer in
                ParallelLoop.forEach(16, threads: 2) { inner in seen.add((caller * 2 + outer) * 16 + inner) }
            }
        }
        #expect(seen.all == [Int](repeating: 1, count: 8 * 16))
    }
}
