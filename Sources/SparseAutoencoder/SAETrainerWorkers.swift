// Shared state of the SAE trainer's parallel back-propagation (see `SAETrainer.backpropagate`): each worker
// reads one `RowPassContext` and adds into the `GradientBuffers` of its own `WorkerGradients`; the workers after
// the first add theirs into the first's after every step, in worker order, and Adam reads the first's.

/// Read-only inputs of one batch's back-propagation (`SAETrainer.backpropagate`), shared by its workers.
struct RowPassContext: @unchecked Sendable {
    let settings: SAETrainingConfiguration
    let d: Int
    let M: Int
    let invB: Float
    let deadList: [Int]
    let enc: UnsafePointer<Float>
    let dec: UnsafePointer<Float>
    let pre: UnsafeMutablePointer<Float>
    let xb: UnsafeMutablePointer<Float>
    let xc: UnsafeMutablePointer<Float>
    let bDec: UnsafePointer<Float>
}

/// Where one worker adds its gradients and firing counts.
struct GradientBuffers: @unchecked Sendable {
    let gEnc: UnsafeMutablePointer<Float>
    let gDec: UnsafeMutablePointer<Float>
    let gBEnc: UnsafeMutablePointer<Float>
    let gBDec: UnsafeMutablePointer<Float>
    let touched: UnsafeMutablePointer<Bool>
    let fired: UnsafeMutablePointer<Bool>
    let fires: UnsafeMutablePointer<Int>

    /// Adds these gradients and counts into `main` (rows of latents this worker touched only).
    func add(into main: GradientBuffers, d: Int, M: Int) {
        for j in 0..<M where touched[j] {
            let base = j * d
            for q in 0..<d { main.gEnc[base + q] += gEnc[base + q]; main.gDec[base + q] += gDec[base + q] }
            main.gBEnc[j] += gBEnc[j]
            main.touched[j] = true
        }
        for j in 0..<M {
            if fired[j] { main.fired[j] = true }
            main.fires[j] += fires[j]
        }
        for q in 0..<d { main.gBDec[q] += gBDec[q] }
    }
}

/// Gradient buffers owned by one worker.
final class WorkerGradients: @unchecked Sendable {
    let d: Int, M: Int
    let buffers: GradientBuffers

    init(d: Int, M: Int) {
        self.d = d; self.M = M
        buffers = GradientBuffers(gEnc: .allocate(capacity: M * d), gDec: .allocate(capacity: M * d),
                                  gBEnc: .allocate(capacity: M), gBDec: .allocate(capacity: d),
                                  touched: .allocate(capacity: M), fired: .allocate(capacity: M), fires: .allocate(capacity: M))
        buffers.gEnc.initialize(repeating: 0, count: M * d)
        buffers.gDec.initialize(repeating: 0, count: M * d)
        buffers.touched.initialize(repeating: false, count: M)
        clear()
    }

    /// Zeroes the gradients of the latents touched last time, and everything small.
    func clear() {
        for j in 0..<M where buffers.touched[j] {
            (buffers.gEnc + j * d).update(repeating: 0, count: d)
            (buffers.gDec + j * d).update(repeating: 0, count: d)
        }
        buffers.gBEnc.update(repeating: 0, count: M)
        buffers.gBDec.update(repeating: 0, count: d)
        buffers.touched.update(repeating: false, count: M)
        buffers.fired.update(repeating: false, count: M)
        buffers.fires.update(repeating: 0, count: M)
    }

    deinit {
        [buffers.gEnc, buffers.gDec, buffers.gBEnc, buffers.gBDec].forEach { $0.deallocate() }
        buffers.touched.deallocate(); buffers.fired.deallocate(); buffers.fires.deallocate()
    }
}

struct SendableDoubles: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
}
