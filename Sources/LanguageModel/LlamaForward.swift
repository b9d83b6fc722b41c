import CKernels
import Foundation
import Tensor

/// One token fed through the model in a forward step.
struct StepRow {
    var sequence: Int
    var position: Int
    var token: Int
    var isPrompt: Bool
}

/// Keys and values of one sequence for every layer: [layer][position][kvDim], stored as IEEE binary16 (as
/// llama.cpp's default cache; relative rounding 2⁻¹¹), which halves the memory of large batches. Decode
/// attention reads them with F16C; prefill attention converts a head's keys and values to Float32 first.
final class KVCache: @unchecked Sendable {
    let capacity: Int
    let kvDim: Int
    let layers: Int
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>

    init(configuration c: LlamaConfiguration, capacity: Int, layers: Int? = nil) {
        self.capacity = max(1, capacity)
        self.kvDim = c.kvDim
        self.layers = layers ?? c.layerCount
        let n = self.layers * self.capacity * kvDim
        keys = .allocate(capacity: n)
        values = .allocate(capacity: n)
    }

    deinit { keys.deallocate(); values.deallocate() }

    /// Copies the keys and values of positions 0..<count in blocks 0…`throughLayer` from `source`.
    func copyPrefix(from source: KVCache, count: Int, throughLayer: Int) {
        for l in 0...throughLayer {
            keys(layer: l).update(from: source.keys(layer: l), count: count * kvDim)
            values(layer: l).update(from: source.values(layer: l), count: count * kvDim)
        }
    }

    @inline(__always) func keys(layer: Int) -> UnsafeMutablePointer<UInt16> { keys + layer * capacity * kvDim }
    @inline(__always) func values(layer: Int) -> UnsafeMutablePointer<UInt16> { values + layer * capacity * kvDim }
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
    /// `captureLayer` is set, the residual after that block (stopping there, before any hook of that block).
    ///
    /// With `resume = (layer, residual)` the rows start from `residual` (rows × dModel), their residual after
    /// block `layer` before its hook, instead of the token embedding: the hook of `layer` and blocks `layer + 1`…
    /// run, and the caches must already hold these rows' keys and values for blocks 0…`layer`.
    func forward(rows: [StepRow], caches: [KVCache], hook: ResidualHook?, captureLayer: Int?, logitRows: [Int],
                 resume: (layer: Int, residual: UnsafePointer<Float>)? = nil) -> ForwardOutput {
        var none: [Float] = []
        return forward(rows: rows, caches: caches, hook: hook, captureLayer: captureLayer, logitRows: logitRows,
                       resume: resume, logitStorage: &none)
    }

    /// `forward`, writing the logits into `logitStorage` (taken, left empty) when it has their size: a decode loop
    /// hands back each step's logits array for the next step.
    func forward(rows: [StepRow], caches: [KVCache], hook: ResidualHook?, captureLayer: Int?, logitRows: [Int],
                 resume: (layer: Int, residual: UnsafePointer<Float>)? = nil,
                 logitStorage: inout [Float]) -> ForwardOutput {
        let c = configuration
        let n = rows.count, d = c.dModel, qd = c.queryDim, kv = c.kvDim, hd = c.headDim, f = c.ffnDim
        let qkvDim = qd + 2 * kv
        var output = ForwardOutput()
        guard n > 0 else { return output }

        let x = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let h = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let qkv = UnsafeMutablePointer<Float>.allocate(capacity: n * qkvDim)
        let attn = UnsafeMutablePointer<Float>.allocate(capacity: n * qd)
        let gateUp = UnsafeMutablePointer<Float>.allocate(capacity: n * 2 * f)
        let act = UnsafeMutablePointer<Float>.allocate(capacity: n * f)
        defer { [x, h, qkv, attn, gateUp, act].forEach { $0.deallocate() } }

        if let resume {
            x.update(from: resume.residual, count: n * d)
        } else {
            for (r, row) in rows.enumerated() { weights.tokenEmbedding.copyRow(row.token, to: x + r * d) }
            if let scale = c.embeddingScale { for i in 0..<(n * d) { x[i] *= scale } }
        }
        // Segments: maximal runs of rows of one sequence.
        var segments: [(start: Int, count: Int)] = []
        var s0 = 0
        for r in 1...n where r == n || rows[r].sequence != rows[s0].sequence {
            segments.append((s0, r - s0)); s0 = r
        }
        var maxT = 0
        for seg in segments { maxT = max(maxT, rows[seg.start].position + seg.count) }
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(1, maxT))
        defer { scores.deallocate() }
        let lastLayer = captureLayer ?? (c.layerCount - 1)
        // Prefill attention work items: (segment, query block, head), spread over `threads` workers.
        let queryBlock = 128
        var prefillItems: [PrefillItem] = []
        for seg in segments where seg.count > 1 {
            var i0 = 0
            while i0 < seg.count {
                let i1 = min(seg.count, i0 + queryBlock)
                for head in 0..<c.headCount { prefillItems.append(PrefillItem(start: seg.start, i0: i0, i1: i1, head: head)) }
                i0 = i1
            }
        }
        let prefillWorkers = max(1, min(threads, prefillItems.count))
        let prefillStride = (4 + 2 * hd) * max(1, maxT)
        let prefillScratch = UnsafeMutablePointer<Float>.allocate(capacity: prefillItems.isEmpty ? 1 : prefillWorkers * prefillStride)
        defer { prefillScratch.deallocate() }

        if resume == nil, let hook, hook.layer == -1, hook.site == .residPost, captureLayer != -1 {
            hook.apply(ResidualRows(values: x, count: n, dModel: d, sequence: rows.map(\.sequence),
                                    position: rows.map(\.position), isPrompt: rows.map(\.isPrompt)))
        }
        if let resume, let hook, hook.layer == resume.layer, hook.site == .residPost {
            hook.apply(ResidualRows(values: x, count: n, dModel: d, sequence: rows.map(\.sequence),
                                    position: rows.map(\.position), isPrompt: rows.map(\.isPrompt)))
        }
        for l in stride(from: resume.map { $0.layer + 1 } ?? 0, through: lastLayer, by: 1) {
            let w = weights.blocks[l]
            let sliding = c.isSliding(l)
            let window = sliding ? c.slidingWindow : nil
            rmsNorm(x, rows: n, weight: w.attentionNorm, into: h)
            linear(h, rows: n, w.qkv, into: qkv)
            // Per-head q/k RMSNorm (Gemma 3, Qwen 3), then RoPE on q and k, then store k, v in the cache; rows
            // spread over the threads (each row's work is independent, so the bits do not depend on the split).
            let qkvRows = AttentionPointers(qkv: qkv, attn: attn)
            forEachRowChunk(n) { [sliding] lo, hi in
                self.prepareAttentionRows(lo..<hi, rows: rows, layer: l, sliding: sliding, qkv: qkvRows.qkv, caches: caches)
            }
            // Causal attention per segment. Single-row segments (decode steps) use the SIMD kernel, their
            // (row, head) pairs spread over `threads` threads; multi-row segments (prefill) run `attendPrefill`.
            let singles = segments.filter { $0.count == 1 }.map(\.start)
            if !singles.isEmpty {
                let ptrs = AttentionPointers(qkv: qkv, attn: attn)
                let rowsCopy = rows
                let heads = c.headCount
                let work: @Sendable (Int, Int, UnsafeMutablePointer<Float>) -> Void = { lo, hi, scratch in
                    var item = lo
                    while item < hi {
                        let r = singles[item / heads], head = item % heads
                        let last = min(hi - item, heads - head)
                        let row = rowsCopy[r]
                        let cache = caches[row.sequence]
                        let first = window.map { max(0, row.position + 1 - $0) } ?? 0
                        self.attendDecodeRow(q: ptrs.qkv + r * qkvDim, keys: cache.keys(layer: l) + first * kv,
                                             values: cache.values(layer: l) + first * kv,
                                             count: row.position + 1 - first, scores: scratch, into: ptrs.attn + r * qd,
                                             heads: head..<(head + last))
                        item += last
                    }
                }
                let items = singles.count * heads
                let chunks = max(1, min(threads, items))
                if chunks == 1 {
                    work(0, items, scores)
                } else {
                    let per = (items + chunks - 1) / chunks
                    let scratchStride = max(1, maxT)
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunks * scratchStride)
                    defer { scratch.deallocate() }
                    let sp = AttentionPointers(qkv: scratch, attn: scratch)
                    ParallelLoop.forEach(chunks, threads: threads) { c in
                        let lo = c * per, hi = min(items, lo + per)
                        if lo < hi { work(lo, hi, sp.qkv + c * scratchStride) }
                    }
                }
            }
            if !prefillItems.isEmpty {
                attendPrefill(items: prefillItems, rows: rows, caches: caches, layer: l, qkv: qkv, attn: attn,
                              scratch: prefillScratch, scratchStride: prefillStride, window: window)
            }
            if let post = w.postAttentionNorm {
                linear(attn, rows: n, w.output, into: h)
                rmsNorm(h, rows: n, weight: post, into: h)
                for i in 0..<(n * d) { x[i] += h[i] }
            } else {
                linear(attn, rows: n, w.output, into: x, accumulate: true)
            }
            rmsNorm(x, rows: n, weight: w.ffnNorm, into: h)
            linear(h, rows: n, w.gateUp, into: gateUp)
            swiGLU(gateUp, rows: n, into: act)
            let mlpHook = hook.flatMap { $0.layer == l && $0.site == .mlpOut ? $0 : nil }
            if w.postFFNNorm != nil || mlpHook != nil {
                linear(act, rows: n, w.down, into: h)
                if let post = w.postFFNNorm { rmsNorm(h, rows: n, weight: post, into: h) }
                mlpHook?.apply(ResidualRows(values: h, count: n, dModel: d, sequence: rows.map(\.sequence),
                                            position: rows.map(\.position), isPrompt: rows.map(\.isPrompt)))
                for i in 0..<(n * d) { x[i] += h[i] }
            } else {
                linear(act, rows: n, w.down, into: x, accumulate: true)
            }
            if let hook, hook.layer == l, hook.site == .residPost, captureLayer != l {
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
        // Every path of `linear` without accumulation writes all k × vocabulary outputs, so the array is not
        // zero-filled first (67 MB per step for 64 Gemma 3 sequences).
        var logits: [Float] = []
        swap(&logits, &logitStorage)
        if logits.count == k * u.rows {
            // The caller's array of the previous step, held only here now: written in place (no copy, and its
            // pages are already mapped; the first-touch page faults of a fresh 33 MB array per step at 32 Gemma 3
            // sequences cost more than a tenth of the step on a 2-core Zen 3).
            logits.withUnsafeMutableBufferPointer { linear(h, rows: k, u, into: $0.baseAddress!) }
        } else {
            logits = [Float](unsafeUninitializedCapacity: k * u.rows) { out, initialized in
                linear(h, rows: k, u, into: out.baseAddress!)
                initialized = k * u.rows
            }
        }
        if let cap = c.finalSoftcap {   // Gemma 2: logits ← cap · tanh(logits / cap)
            for i in logits.indices { logits[i] = cap * tanhf(logits[i] / cap) }
        }
        output.logits = logits
        return output
    }

    /// One unit of prefill attention: query rows [start + i0, start + i1) of one segment, one query head.
    struct PrefillItem {
        var start: Int
        var i0: Int
        var i1: Int
        var head: Int
    }

    /// Causal attention of multi-row segments (prompt prefill), items spread over `threads` workers. Each item
    /// converts its head's keys and values (positions < p0 + i1, all a query block [i0, i1) can see) to Float32
    /// once, then runs `ck_attend_f32` per query row over that row's valid positions only (the masked upper
    /// triangle is never computed). No BLAS call: the summation order is fixed by our kernel, so prefill gives the
    /// same bits on every AVX2 CPU whatever OpenBLAS kernel it would pick. `scratch` holds `scratchStride` floats
    /// per worker: 4 × T scores, then T × headDim keys and as many values. `ck_attend_f32_causal` gives each row the
    /// bits of `ck_attend_f32_capped` over its valid positions, four rows sharing every key and value they load.
    /// With `window`, query position p sees positions max(0, p − window + 1)…p only.
    func attendPrefill(items: [PrefillItem], rows: [StepRow], caches: [KVCache], layer l: Int,
                       qkv: UnsafeMutablePointer<Float>, attn: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>, scratchStride: Int, window: Int? = nil) {
        let c = configuration
        let qd = c.queryDim, kv = c.kvDim, hd = c.headDim
        let qkvDim = qd + 2 * kv
        let scale = c.scoreScale, cap = c.attentionSoftcap ?? 0
        let ptrs = AttentionPointers(qkv: qkv, attn: attn), sp = AttentionPointers(qkv: scratch, attn: scratch)
        let workers = max(1, min(threads, items.count))
        let work: @Sendable (Int) -> Void = { w in
            let scores = sp.qkv + w * scratchStride
            for index in stride(from: w, to: items.count, by: workers) {
                let item = items[index]
                let first = rows[item.start]
                let cache = caches[first.sequence]
                let p0 = first.position
                let m = item.i1 - item.i0, r0 = item.start + item.i0
                let T = p0 + item.i1
                let kvh = item.head / c.groupSize
                // This head's keys and values as Float32 (T × headDim each), after four rows of scores.
                let keys = scores + 4 * T, values = keys + T * hd
                ck_half_rows_to_float(cache.keys(layer: l) + kvh * hd, kv, T, hd, keys, hd, 1)
                ck_half_rows_to_float(cache.values(layer: l) + kvh * hd, kv, T, hd, values, hd, 1)
                ck_attend_f32_causal(ptrs.qkv + r0 * qkvDim + item.head * hd, qkvDim, keys, values, hd, m,
                                     p0 + item.i0 + 1, window ?? 0, hd, scale, cap, scores, T,
                                     ptrs.attn + r0 * qd + item.head * hd, qd, 1)
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
    }

    /// Pointers handed to worker threads (each thread writes disjoint rows).
    struct AttentionPointers: @unchecked Sendable {
        let qkv: UnsafeMutablePointer<Float>
        let attn: UnsafeMutablePointer<Float>
    }

    /// Grouped-query attention of one query row (all heads, or `heads`) over `count` cached positions:
    /// out_h = Σ_t softmax_t(q_h·k_t / √headDim) · v_t, with k, v of the head's kv group (`ck_attend_decode`,
    /// binary16 keys and values). `scores` holds at least `count` floats.
    func attendDecodeRow(q: UnsafePointer<Float>, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>,
                         count: Int, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
                         heads: Range<Int>? = nil) {
        let c = configuration
        let range = heads ?? 0..<c.headCount
        ck_attend_decode_capped(q, keys, values, count, c.kvDim, c.headDim, range.lowerBound, range.upperBound, c.groupSize,
                                c.scoreScale, c.attentionSoftcap ?? 0, scores, out, 1)
    }

    /// act = g(gate) ⊙ up per row, with gateUp rows [gate | up] (2·ffnDim wide): g = silu, silu(a) = a / (1 + e^(−a))
    /// (SwiGLU), or the tanh GELU ½·a·(1 + tanh(√(2/π)·(a + 0.044715·a³))) (GeGLU, Gemma).
    /// Rows are split over `threads` threads when there are enough of them.
    func swiGLU(_ gateUp: UnsafeMutablePointer<Float>, rows n: Int, into act: UnsafeMutablePointer<Float>) {
        let f = configuration.ffnDim
        let gelu = configuration.activation == .geluTanh
        let p = AttentionPointers(qkv: gateUp, attn: act)
        let work: @Sendable (Int, Int) -> Void = { lo, hi in
            for r in lo..<hi {
                let g = p.qkv + r * 2 * f, u = g + f, o = p.attn + r * f
                if gelu {
                    ck_gelu_tanh_mul(g, u, o, f, 1)   // ½a(1 + tanh(√(2/π)(a + 0.044715a³)))·u, same bits on every path
                } else {
                    for j in 0..<f { let a = g[j]; o[j] = a / (1 + expf(-a)) * u[j] }
                }
            }
        }
        forEachRowChunk(n, minimumRows: 8, rowsPerChunk: 4, work)
    }

    /// out (+)= x · Wᵀ for `rows` rows (x: rows × W.cols, out: rows × W.rows): the compact block kernel for
    /// steps of at most `compactRowLimit` rows (with `activationPrecision`), else the packed Float32 GEMM (or
    /// OpenBLAS without AVX2).
    @inline(__always) func linear(_ x: UnsafePointer<Float>, rows: Int, _ w: WeightMatrix,
                                  into out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if rows <= compactRowLimit, let q = w.compact {
            q.multiply(x, rows: rows, into: out, accumulate: accumulate, threads: threads, activations: activationPrecision)
            return
        }
        w.multiply(x, count: rows, into: out, accumulate: accumulate, threads: threads)
    }

    /// RMSNorm per row: y = x / √(mean(x²) + ε) ⊙ w (sum of squares in Float64), rows `width` wide (dModel by
    /// default; headDim for the per-head q/k norms). y may be x. Gemma's (1 + w) is stored as its value.
    func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, width: Int? = nil, weight: [Float], into y: UnsafeMutablePointer<Float>) {
        let d = width ?? configuration.dModel
        let eps = Double(configuration.rmsNormEps)
        let io = NormPointers(x: x, y: y)
        let chunk: @Sendable (Int, Int) -> Void = { lo, hi in
            weight.withUnsafeBufferPointer { w in
                for r in lo..<hi {
                    let xr = io.x + r * d, yr = io.y + r * d
                    var ss: Double = 0
                    for j in 0..<d { let v = Double(xr[j]); ss += v * v }
                    let inv = Float(1 / (ss / Double(d) + eps).squareRoot())
                    for j in 0..<d { yr[j] = xr[j] * inv * w[j] }
                }
            }
        }
        if rows * d < 1 << 14 { chunk(0, rows) } else { forEachRowChunk(rows, chunk) }
    }

    /// Runs `body(lo, hi)` over `n` rows split into up to `threads` contiguous chunks of at least `rowsPerChunk`
    /// rows (one chunk below `minimumRows`).
    func forEachRowChunk(_ n: Int, minimumRows: Int = 16, rowsPerChunk: Int = 8, _ body: @Sendable (Int, Int) -> Void) {
        let chunks = n >= minimumRows ? max(1, min(threads, n / rowsPerChunk)) : 1
        if chunks == 1 { body(0, n); return }
        let per = (n + chunks - 1) / chunks
        ParallelLoop.forEach(chunks, threads: threads) { c in
            let lo = c * per, hi = min(n, lo + per)
            if lo < hi { body(lo, hi) }
        }
    }

    /// Rows `range` of one block's attention input, in place in `qkv`: the per-head q/k RMSNorm (Gemma 3, Qwen 3),
    /// RoPE on q and k (the sliding-window table on Gemma 3's local layers), and k, v stored in each row's cache at
    /// its position.
    func prepareAttentionRows(_ range: Range<Int>, rows: [StepRow], layer l: Int, sliding: Bool,
                              qkv: UnsafeMutablePointer<Float>, caches: [KVCache]) {
        let c = configuration
        let w = weights.blocks[l]
        let qd = c.queryDim, kv = c.kvDim, hd = c.headDim, half = hd / 2
        let qkvDim = qd + 2 * kv
        if let qn = w.queryNorm, let kn = w.keyNorm {
            for r in range {
                let base = qkv + r * qkvDim
                rmsNorm(base, rows: c.headCount, width: hd, weight: qn, into: base)
                rmsNorm(base + qd, rows: c.kvHeadCount, width: hd, weight: kn, into: base + qd)
            }
        }
        let (ropeCosTable, ropeSinTable) = sliding && !ropeLocalCos.isEmpty ? (ropeLocalCos, ropeLocalSin) : (ropeCos, ropeSin)
        let interleaved = c.ropeLayout == .interleaved
        for r in range {
            let row = rows[r]
            let base = qkv + r * qkvDim
            let cosRow = row.position * half
            ropeCosTable.withUnsafeBufferPointer { cs in
                ropeSinTable.withUnsafeBufferPointer { sn in
                    for head in 0..<(c.headCount + c.kvHeadCount) {
                        let v = base + head * hd
                        for i in 0..<half {
                            let co = cs[cosRow + i], si = sn[cosRow + i]
                            let (ia, ib) = interleaved ? (2 * i, 2 * i + 1) : (i, i + half)
                            let a = v[ia], b = v[ib]
                            v[ia] = a * co - b * si
                            v[ib] = a * si + b * co
                        }
                    }
                }
            }
            let cache = caches[row.sequence]
            ck_store_half(base + qd, cache.keys(layer: l) + row.position * kv, kv, 1)
            ck_store_half(base + qd + kv, cache.values(layer: l) + row.position * kv, kv, 1)
        }
    }

    /// The input and output of `rmsNorm`, handed to worker threads (disjoint rows).
    struct NormPointers: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
    }
}
