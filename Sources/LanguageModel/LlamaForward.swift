import Foundation
import Tensor

/// One token fed through the model in a forward step.
struct StepRow {
    var sequence: Int
    var position: Int
    var token: Int
    var isPrompt: Bool
}

/// Keys and values of one sequence for every layer: [layer][position][kvDim] Float32.
final class KVCache {
    let capacity: Int
    let kvDim: Int
    let layers: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    init(configuration c: LlamaConfiguration, capacity: Int, layers: Int? = nil) {
        self.capacity = max(1, capacity)
        self.kvDim = c.kvDim
        self.layers = layers ?? c.layerCount
        let n = self.layers * self.capacity * kvDim
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit { keys.deallocate(); values.deallocate() }

    @inline(__always) func keys(layer: Int) -> UnsafeMutablePointer<Float> { keys + layer * capacity * kvDim }
    @inline(__always) func values(layer: Int) -> UnsafeMutablePointer<Float> { values + layer * capacity * kvDim }
}

extension LlamaModel {
    struct ForwardOutput {
        /// logitRows.count × vocabularySize.
        var logits: [Float] = []
        /// rows × dModel residual after `captureLayer`.
        var captured: [Float] = []
    }

    /// Runs `rows` through the model. Rows of one sequence must be contiguous with consecutive positions, and
    /// each sequence's cache must already hold its earlier positions. Returns logits for `logitRows` and, when
    /// `captureLayer` is set, the residual after that block (stopping there).
    func forward(rows: [StepRow], caches: [KVCache], hook: ResidualHook?, captureLayer: Int?, logitRows: [Int]) -> ForwardOutput {
        let c = configuration
        let n = rows.count, d = c.dModel, qd = c.queryDim, kv = c.kvDim, hd = c.headDim, f = c.ffnDim
        let qkvDim = qd + 2 * kv
        var output = ForwardOutput()
        guard n > 0 else { return output }

        let x = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let h = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let qkv = UnsafeMutablePointer<Float>.allocate(capacity: n * qkvDim)
        let attn = UnsafeMutablePointer<Float>.allocate(capacity: n * qd)
        let gateUp = UnsafeMutablePointer<Float>.allocate(capacity: n * 2 * f)
        let act = UnsafeMutablePointer<Float>.allocate(capacity: n * f)
        defer { [x, h, tmp, qkv, attn, gateUp, act].forEach { $0.deallocate() } }

        // Embedding lookup.
        for (r, row) in rows.enumerated() {
            (x + r * d).update(from: weights.tokenEmbedding.values + row.token * d, count: d)
        }
        // Segments: maximal runs of rows of one sequence.
        var segments: [(start: Int, count: Int)] = []
        var s0 = 0
        for r in 1...n where r == n || rows[r].sequence != rows[s0].sequence {
            segments.append((s0, r - s0)); s0 = r
        }
        var maxT = 0
        for seg in segments { maxT = max(maxT, rows[seg.start].position + seg.count) }
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n * maxT * c.groupSize))
        defer { scores.deallocate() }
        let scale = 1 / Float(hd).squareRoot()
        let half = hd / 2
        let lastLayer = captureLayer ?? (c.layerCount - 1)

        for l in 0...lastLayer {
            let w = weights.blocks[l]
            rmsNorm(x, rows: n, weight: w.attentionNorm, into: h)
            linear(h, rows: n, w.qkv, into: qkv)
            // RoPE on q and k (adjacent pairs), then store k, v in the cache.
            for (r, row) in rows.enumerated() {
                let base = qkv + r * qkvDim
                let cosRow = row.position * half
                ropeCos.withUnsafeBufferPointer { cs in
                    ropeSin.withUnsafeBufferPointer { sn in
                        for head in 0..<(c.headCount + c.kvHeadCount) {
                            let v = base + head * hd
                            for i in 0..<half {
                                let co = cs[cosRow + i], si = sn[cosRow + i]
                                let a = v[2 * i], b = v[2 * i + 1]
                                v[2 * i] = a * co - b * si
                                v[2 * i + 1] = a * si + b * co
                            }
                        }
                    }
                }
                let cache = caches[row.sequence]
                (cache.keys(layer: l) + row.position * kv).update(from: base + qd, count: kv)
                (cache.values(layer: l) + row.position * kv).update(from: base + qd + kv, count: kv)
            }
            // Causal attention per segment.
            for seg in segments {
                let cache = caches[rows[seg.start].sequence]
                let p0 = rows[seg.start].position
                let m = seg.count
                let T = p0 + m
                let keys = cache.keys(layer: l), values = cache.values(layer: l)
                if m == 1 {
                    // One query row: the group's heads form a groupSize × headDim matrix.
                    let g = c.groupSize
                    for kvh in 0..<c.kvHeadCount {
                        let q = qkv + seg.start * qkvDim + kvh * g * hd
                        BLAS.gemm(transposeB: true, m: g, n: T, k: hd, alpha: scale, a: q, lda: hd,
                                  b: keys + kvh * hd, ldb: kv, c: scores, ldc: T)
                        for i in 0..<g { softmax(scores + i * T, count: T) }
                        BLAS.gemm(m: g, n: hd, k: T, a: scores, lda: T, b: values + kvh * hd, ldb: kv,
                                  c: attn + seg.start * qd + kvh * g * hd, ldc: hd)
                    }
                } else {
                    for head in 0..<c.headCount {
                        let kvh = head / c.groupSize
                        BLAS.gemm(transposeB: true, m: m, n: T, k: hd, alpha: scale, a: qkv + seg.start * qkvDim + head * hd,
                                  lda: qkvDim, b: keys + kvh * hd, ldb: kv, c: scores, ldc: T)
                        for i in 0..<m {
                            let valid = p0 + i + 1
                            softmax(scores + i * T, count: valid)
                            if valid < T { (scores + i * T + valid).update(repeating: 0, count: T - valid) }
                        }
                        BLAS.gemm(m: m, n: hd, k: T, a: scores, lda: T, b: values + kvh * hd, ldb: kv,
                                  c: attn + seg.start * qd + head * hd, ldc: qd)
                    }
                }
            }
            linear(attn, rows: n, w.output, into: tmp)
            add(tmp, into: x, count: n * d)
            rmsNorm(x, rows: n, weight: w.ffnNorm, into: h)
            linear(h, rows: n, w.gateUp, into: gateUp)
            for r in 0..<n {
                let g = gateUp + r * 2 * f, u = g + f, o = act + r * f
                for j in 0..<f { let a = g[j]; o[j] = a / (1 + expf(-a)) * u[j] }
            }
            linear(act, rows: n, w.down, into: tmp)
            add(tmp, into: x, count: n * d)
            if let hook, hook.layer == l {
                hook.apply(ResidualRows(values: x, count: n, dModel: d, sequence: rows.map(\.sequence),
                                        position: rows.map(\.position), isPrompt: rows.map(\.isPrompt)))
            }
        }
        if let captureLayer {
            _ = captureLayer
            output.captured = Array(UnsafeBufferPointer(start: x, count: n * d))
            return output
        }
        guard !logitRows.isEmpty else { return output }
        let k = logitRows.count
        let selected = UnsafeMutablePointer<Float>.allocate(capacity: k * d)
        defer { selected.deallocate() }
        for (i, r) in logitRows.enumerated() { (selected + i * d).update(from: x + r * d, count: d) }
        rmsNorm(selected, rows: k, weight: weights.outputNorm, into: h)
        let u = weights.output ?? weights.tokenEmbedding
        output.logits = [Float](repeating: 0, count: k * u.rows)
        output.logits.withUnsafeMutableBufferPointer { out in
            linear(h, rows: k, u, into: out.baseAddress!)
        }
        return output
    }

    /// out = x · Wᵀ for `rows` rows (x: rows × W.cols, out: rows × W.rows).
    /// One row uses sgemv (y = W·x streams W once; OpenBLAS' sgemm would first pack all of W).
    @inline(__always) func linear(_ x: UnsafePointer<Float>, rows: Int, _ w: WeightMatrix, into out: UnsafeMutablePointer<Float>) {
        if rows <= compactRowLimit, let q = w.compact {
            q.multiply(x, rows: rows, into: out, threads: threads)
            return
        }
        if rows == 1 {
            BLAS.gemv(m: w.rows, n: w.cols, a: w.values, lda: w.cols, x: x, y: out)
            return
        }
        BLAS.gemm(transposeB: true, m: rows, n: w.rows, k: w.cols, a: x, lda: w.cols, b: w.values, ldb: w.cols, c: out, ldc: w.rows)
    }

    /// RMSNorm per row: y = x / √(mean(x²) + ε) ⊙ w (sum of squares in Float64).
    func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, weight: [Float], into y: UnsafeMutablePointer<Float>) {
        let d = configuration.dModel
        let eps = Double(configuration.rmsNormEps)
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows {
                let xr = x + r * d, yr = y + r * d
                var ss: Double = 0
                for j in 0..<d { let v = Double(xr[j]); ss += v * v }
                let inv = Float(1 / (ss / Double(d) + eps).squareRoot())
                for j in 0..<d { yr[j] = xr[j] * inv * w[j] }
            }
        }
    }

    /// In-place softmax of `count` floats (max-subtracted).
    @inline(__always) func softmax(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Float.infinity
        for i in 0..<count { m = max(m, p[i]) }
        var sum: Float = 0
        for i in 0..<count { let e = expf(p[i] - m); p[i] = e; sum += e }
        let inv = 1 / sum
        for i in 0..<count { p[i] *= inv }
    }

    @inline(__always) func add(_ a: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += a[i] }
    }
}
