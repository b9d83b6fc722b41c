import CKernels
import Dispatch

/// Parallel loops for the short kernels of a decode step, on semprog's spinning thread pool (`ck_parallel_for`). A
/// decode step runs ≈ 120 loops of 20–100 µs; waking a sleeping GCD worker for each costs as much as the work, so the
/// pool's workers spin between loops (yielding the core after 30 µs, sleeping after 0.5 ms idle). When the pool is busy
/// (another thread holds it, or the loop is nested in one of its tasks) the loop runs on GCD instead.
public enum ParallelLoop {
    /// Runs `body(i)` for every i in 0..<count on up to `threads` threads (the caller's included); items are
    /// taken dynamically, so `body` must be safe to run concurrently for different i.
    public static func forEach(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        if threads <= 1 || count == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let ran = withoutActuallyEscaping(body) { escaping -> Int32 in
            var task = escaping
            return withUnsafeMutablePointer(to: &task) { pointer in
                ck_parallel_for(count, Int32(threads), { context, i in
                    context!.assumingMemoryBound(to: (@Sendable (Int) -> Void).self).pointee(i)
                }, pointer)
            }
        }
        if ran == 0 { DispatchQueue.concurrentPerform(iterations: count, execute: body) }
    }
}
