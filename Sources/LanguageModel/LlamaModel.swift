import Foundation
import Randomness
import Tensor
import Tokenization

/// A llama-architecture language model (SmolLM2, Llama 2/3 …) run on the CPU in Float32: weight products by the
/// packed AVX2/FMA GEMM and, for steps of one or two rows, the Q4_1/Q8_0 block kernel (`CKernels`); attention
/// by SIMD loops and OpenBLAS (which does everything on CPUs without AVX2/FMA).
///
/// Block l (pre-norm, Touvron et al. 2023):
///   h = x + Wo · Attention(RoPE(Wq·n₁(x)), RoPE(Wk·n₁(x)), Wv·n₁(x))
///   x' = h + W_down · (silu(W_gate·n₂(h)) ⊙ W_up·n₂(h))
/// with nᵢ(x) = x / √(mean(x²) + ε) ⊙ wᵢ, causal grouped-query attention softmax(q·kᵀ/√headDim)·v, and RoPE
/// rotating adjacent pairs (2i, 2i+1) of each head by position·θ^(−2i/headDim) (the GGUF weight layout).
/// Logits = n_out(x) · Eᵀ (tied embeddings E) or · W_outᵀ.
///
/// The model is immutable after loading; calls may run concurrently (each call owns its KV caches), but
/// OpenBLAS threads are shared, so concurrent calls compete for cores.
public final class LlamaModel: @unchecked Sendable {
    public let configuration: LlamaConfiguration
    public let tokenizer: BPETokenizer
    /// The file or directory the model was loaded from.
    public let path: String
    let weights: LlamaWeights
    /// cos/sin of position·θ^(−2i/headDim) for positions < `ropeTableLength`, [position][i].
    let ropeCos: [Float]
    let ropeSin: [Float]
    /// The same for the sliding-window layers when they have their own base (`ropeLocalBase`), else empty.
    let ropeLocalCos: [Float]
    let ropeLocalSin: [Float]
    let ropeTableLength: Int
    /// Most rows per forward step during prefill (bounds scratch memory).
    public var maxPrefillRows = 512
    /// Steps with at most this many rows multiply Q4_1/Q8_0 weights directly (AVX2, Float32 activations);
    /// larger steps use the packed Float32 GEMM on the dequantized weights. The default,
    /// `defaultCompactRowLimit`, is where the two cross on this project's machines (`semprog bench generate
    /// --compact-rows`); 0 disables the compact path.
    public var compactRowLimit: Int
    /// Activations of the compact steps: `.float32` (default, exact up to Float32 rounding) or `.q8` (8-bit
    /// activations as llama.cpp, faster and approximate; an option for interactive generation, never for sweeps).
    public var activationPrecision: ActivationPrecision = .float32
    /// Whether sequences with the same prompt share the prefill of blocks 0…hook layer (`sharedPrefill`); off
    /// only in tests that compare both paths.
    var sharesPromptPrefill = true
    /// Threads for semprog's own kernels (packed GEMM, compact products, decode attention).
    public var threads: Int

    /// Below this many rows per step the compact block kernel beats the packed Float32 GEMM (measured with
    /// `semprog bench generate --compact-rows`); 0 on CPUs without AVX2/FMA.
    public static let defaultCompactRowLimit = PackedMatrix.isAccelerated ? 2 : 0

    init(configuration: LlamaConfiguration, tokenizer: BPETokenizer, weights: LlamaWeights, path: String) {
        self.configuration = configuration
        self.tokenizer = tokenizer
        self.weights = weights
        self.path = path
        self.threads = BLAS.threads
        self.compactRowLimit = Self.defaultCompactRowLimit
        for b in weights.blocks { for w in [b.qkv, b.output, b.gateUp, b.down] { w.pack() } }
        weights.tokenEmbedding.pack()
        weights.output?.pack()
        // RoPE tables (and so the longest sequence) stop at 8,192 positions: 2 × 8192 × headDim/2 floats per base
        // (Gemma 3 270M: 2 × 8.4 MB for its two bases, instead of 67 MB at its 32,768-token context).
        let length = min(configuration.contextLength, 8192)
        (ropeCos, ropeSin) = Self.ropeTables(base: configuration.ropeBase, scale: configuration.ropeScalingFactor ?? 1,
                                             headDim: configuration.headDim, length: length, llama3: configuration.llama3RoPE,
                                             factors: configuration.ropeFrequencyFactors)
        if let local = configuration.ropeLocalBase, configuration.slidingLayers?.contains(true) == true {
            (ropeLocalCos, ropeLocalSin) = Self.ropeTables(base: local, scale: 1, headDim: configuration.headDim, length: length)
        } else {
            (ropeLocalCos, ropeLocalSin) = ([], [])
        }
        ropeTableLength = length
    }

    /// cos and sin of (position / scale)·base^(−2i/headDim), [position][i] for positions < length.
    /// With `llama3`, each frequency is first scaled by Llama 3's rule (`Llama3RoPEScaling.scale`); with `factors`
    /// (GGUF rope_freqs.weight), frequency i is divided by factors[i].
    static func ropeTables(base: Float, scale: Float, headDim: Int, length: Int, llama3: Llama3RoPEScaling? = nil,
                           factors: [Float]? = nil) -> ([Float], [Float]) {
        let half = headDim / 2
        var cosTable = [Float](repeating: 0, count: length * half)
        var sinTable = [Float](repeating: 0, count: length * half)
        for i in 0..<half {
            var frequency = pow(Double(base), -2 * Double(i) / Double(headDim)) / Double(scale)
            if let llama3 { frequency = llama3.scale(frequency) }
            if let factors { frequency /= Double(factors[i]) }
            for p in 0..<length {
                let angle = Double(p) * frequency
                cosTable[p * half + i] = Float(cos(angle))
                sinTable[p * half + i] = Float(sin(angle))
            }
        }
        return (cosTable, sinTable)
    }

    /// Loads a `.gguf` file, or a directory holding `config.json`, `model.safetensors` and `tokenizer.json`.
    /// Sets OpenBLAS to `threads` threads (default: all cores). With `compactWeights` (the default), quantized GGUF
    /// matrices are kept in block form for the compact kernel (`compactRowLimit`), and those of types that unpack
    /// straight into GEMM panels in block form only (`loadGGUF`); without, every matrix is Float32.
    public static func load(path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                            compactWeights: Bool = true) throws -> LlamaModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LanguageModelError.cannotLoad(path: path, reason: "no such file or directory")
        }
        BLAS.setThreads(threads)
        let (config, tokenizer, weights) = isDirectory.boolValue
            ? try loadSafetensors(directory: path) : try loadGGUF(path: path, compactWeights: compactWeights)
        return LlamaModel(configuration: config, tokenizer: tokenizer, weights: weights, path: path)
    }

    // MARK: - Public API

    /// Batched generation: all prompts are prefilled, then decoded together, one row per live sequence per step.
    /// Each sequence samples with its own `SplitMix64(seed: seeds[i])`, so its text does not depend on the
    /// other sequences (up to BLAS rounding across batch sizes). The hook sees every forward step's rows after
    /// block `hook.layer`.
    public func generate(prompts: [[Int]], parameters: GenerateParameters, seeds: [UInt64],
                         hook: ResidualHook? = nil) throws -> [GenerationResult] {
        try parameters.validate()
        guard seeds.count == prompts.count else {
            throw LanguageModelError.invalidArgument(argument: "seeds", reason: "\(seeds.count) seeds for \(prompts.count) prompts")
        }
        for (i, p) in prompts.enumerated() { try validate(tokens: p, argument: "prompts[\(i)]") }
        if let hook { try validate(hook: hook) }
        var samplers = zip(prompts, seeds).map { TokenSampler(parameters: parameters, seed: $1, prompt: $0) }
        var generated = [[Int]](repeating: [], count: prompts.count)
        var finish = [FinishReason?](repeating: nil, count: prompts.count)
        func result() -> [GenerationResult] {
            prompts.indices.map { i in
                GenerationResult(promptIDs: prompts[i], generatedIDs: generated[i], text: tokenizer.decode(generated[i]),
                                 finishReason: finish[i] ?? .maxTokens)
            }
        }
        if parameters.maxTokens == 0 || prompts.isEmpty { return result() }
        for p in prompts where p.count + parameters.maxTokens > ropeTableLength {
            throw LanguageModelError.contextTooLong(tokens: p.count + parameters.maxTokens, contextLength: ropeTableLength)
        }
        let caches = prompts.map { KVCache(configuration: configuration, capacity: $0.count + parameters.maxTokens) }
        let v = configuration.vocabularySize

        /// Takes sampled token `t` for sequence `s`; returns whether it continues.
        func accept(_ s: Int, _ t: Int) {
            if parameters.stopAtEOS && t == tokenizer.eosID { finish[s] = .eos; return }
            generated[s].append(t)
            samplers[s].accept(t)
            if generated[s].count >= parameters.maxTokens { finish[s] = .maxTokens }
        }

        // Prefill, in chunks of at most maxPrefillRows rows; logits only at each prompt's last row. Sequences
        // with the same prompt (a sweep's cells of one prompt) share blocks 0…hook layer, which the hook cannot
        // have changed yet: those run once per distinct prompt (`sharedPrefill`) and the rest resume from there.
        // Blocks before the hook's effect: through `layer` for a resid_post hook, through `layer − 1` for an
        // mlp_out hook (which acts inside block `layer`); nothing to share before block 0.
        let sharedLayer = hook.map { $0.site == .residPost ? $0.layer : $0.layer - 1 } ?? -1
        let shared = sharesPromptPrefill && sharedLayer >= 0 ? sharedPrefill(prompts: prompts, caches: caches, layer: sharedLayer) : nil
        var rows: [StepRow] = []
        for (s, p) in prompts.enumerated() {
            for (pos, t) in p.enumerated() { rows.append(StepRow(sequence: s, position: pos, token: t, isPrompt: true)) }
        }
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + max(1, maxPrefillRows))
            let chunk = Array(rows[start..<end])
            let lastRows = chunk.indices.filter { chunk[$0].position == prompts[chunk[$0].sequence].count - 1 }
            var logits: [Float]
            if let shared, let hook {
                let d = configuration.dModel
                var residual = [Float](repeating: 0, count: chunk.count * d)
                residual.withUnsafeMutableBufferPointer { out in
                    for (r, row) in chunk.enumerated() {
                        shared.residuals[shared.source[row.sequence]].withUnsafeBufferPointer { from in
                            (out.baseAddress! + r * d).update(from: from.baseAddress! + row.position * d, count: d)
                        }
                    }
                }
                logits = residual.withUnsafeBufferPointer { input in
                    forward(rows: chunk, caches: caches, hook: hook, captureLayer: nil, logitRows: lastRows,
                            resume: (sharedLayer, input.baseAddress!)).logits
                }
            } else {
                logits = forward(rows: chunk, caches: caches, hook: hook, captureLayer: nil, logitRows: lastRows).logits
            }
            logits.withUnsafeMutableBufferPointer { buf in
                for (k, r) in lastRows.enumerated() {
                    let s = chunk[r].sequence
                    accept(s, samplers[s].sample(UnsafeMutableBufferPointer(rebasing: buf[(k * v)..<((k + 1) * v)])))
                }
            }
            start = end
        }
        // Decode. Each step's logits array is handed back to the next step, which writes into it.
        var logitStorage: [Float] = []
        while true {
            let live = prompts.indices.filter { finish[$0] == nil }
            if live.isEmpty { break }
            let step = live.map { s in
                StepRow(sequence: s, position: prompts[s].count + generated[s].count - 1, token: generated[s].last!, isPrompt: false)
            }
            var logits = forward(rows: step, caches: caches, hook: hook, captureLayer: nil, logitRows: Array(step.indices),
                                 logitStorage: &logitStorage).logits
            logits.withUnsafeMutableBufferPointer { buf in
                for (k, s) in live.enumerated() {
                    accept(s, samplers[s].sample(UnsafeMutableBufferPointer(rebasing: buf[(k * v)..<((k + 1) * v)])))
                }
            }
            logitStorage = logits
        }
        return result()
    }

    /// For a batch where some prompts repeat: runs blocks 0…`layer` once per distinct prompt (into the cache of
    /// its first sequence, in chunks of at most `maxPrefillRows` rows), copies those keys and values to the other
    /// sequences with that prompt, and returns each distinct prompt's residual after block `layer` (before any
    /// hook) with, per sequence, the index of its distinct prompt. Nil when every prompt is distinct. Each row's result does
    /// not depend on the other rows of its step, so the outputs equal those of the unshared prefill.
    func sharedPrefill(prompts: [[Int]], caches: [KVCache], layer: Int) -> (residuals: [[Float]], source: [Int])? {
        var firstIndex: [[Int]: Int] = [:]
        var distinct: [Int] = []
        var source: [Int] = []
        for (s, p) in prompts.enumerated() {
            if let u = firstIndex[p] { source.append(u); continue }
            firstIndex[p] = distinct.count
            source.append(distinct.count)
            distinct.append(s)
        }
        guard distinct.count < prompts.count else { return nil }
        let d = configuration.dModel
        var residuals: [[Float]] = []
        for s in distinct {
            let p = prompts[s]
            var residual: [Float] = []
            residual.reserveCapacity(p.count * d)
            var start = 0
            while start < p.count {
                let end = min(p.count, start + max(1, maxPrefillRows))
                let rows = (start..<end).map { StepRow(sequence: 0, position: $0, token: p[$0], isPrompt: true) }
                residual += forward(rows: rows, caches: [caches[s]], hook: nil, captureLayer: layer, logitRows: []).captured
                start = end
            }
            residuals.append(residual)
        }
        for (s, p) in prompts.enumerated() where distinct[source[s]] != s {
            caches[s].copyPrefix(from: caches[distinct[source[s]]], count: p.count, throughLayer: layer)
        }
        return (residuals, source)
    }

    /// Residual stream after block `layer` (resid_post, 0-based) at every position: tokens.count × dModel.
    public func residualStream(tokens: [Int], layer: Int) throws -> Matrix {
        try residualStreams(batch: [tokens], layer: layer)[0]
    }

    /// `residualStream` for many texts at once (batched prefill, no generation), one matrix per text.
    public func residualStreams(batch: [[Int]], layer: Int) throws -> [Matrix] {
        try validate(layer: layer, argument: "layer")
        for (i, t) in batch.enumerated() {
            try validate(tokens: t, argument: "batch[\(i)]")
            guard t.count <= ropeTableLength else { throw LanguageModelError.contextTooLong(tokens: t.count, contextLength: ropeTableLength) }
        }
        let d = configuration.dModel
        var out = batch.map { Matrix(zeros: $0.count, d) }
        // Group whole texts into chunks of at most maxPrefillRows rows (a longer text is split across steps).
        let caches = batch.map { KVCache(configuration: configuration, capacity: $0.count, layers: layer + 1) }
        var rows: [StepRow] = []
        for (s, t) in batch.enumerated() {
            for (pos, id) in t.enumerated() { rows.append(StepRow(sequence: s, position: pos, token: id, isPrompt: true)) }
        }
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + max(1, maxPrefillRows))
            let chunk = Array(rows[start..<end])
            let captured = forward(rows: chunk, caches: caches, hook: nil, captureLayer: layer, logitRows: []).captured
            for (r, row) in chunk.enumerated() {
                for c in 0..<d { out[row.sequence].values[row.position * d + c] = captured[r * d + c] }
            }
            start = end
        }
        return out
    }

    /// The activations at a TransformerLens hook point for every position of each text (batched prefill, no
    /// generation), one tokens.count × dModel matrix per text: `site` `.residPost` with `layer` ≥ 0 is
    /// `residualStreams`; layer −1 is `blocks.0.hook_resid_pre` (the token embeddings, × √d for Gemma); `.mlpOut`
    /// is block `layer`'s feed-forward output before it joins the residual. The forward pass stops after the block
    /// that holds the hook.
    public func activations(batch: [[Int]], site: HookSite, layer: Int) throws -> [Matrix] {
        if site == .residPost && layer >= 0 { return try residualStreams(batch: batch, layer: layer) }
        if site != .residPost || layer != -1 { try validate(layer: layer, argument: "layer (\(site.rawValue))") }
        for (i, t) in batch.enumerated() {
            try validate(tokens: t, argument: "batch[\(i)]")
            guard t.count <= ropeTableLength else { throw LanguageModelError.contextTooLong(tokens: t.count, contextLength: ropeTableLength) }
        }
        let d = configuration.dModel
        let out = batch.map { Matrix(zeros: $0.count, d) }
        let stop = max(layer, 0)
        let caches = batch.map { KVCache(configuration: configuration, capacity: $0.count, layers: stop + 1) }
        var rows: [StepRow] = []
        for (s, t) in batch.enumerated() {
            for (pos, id) in t.enumerated() { rows.append(StepRow(sequence: s, position: pos, token: id, isPrompt: true)) }
        }
        let recorder = PlacingRecorder(layer: layer, site: site, into: out)
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + max(1, maxPrefillRows))
            _ = forward(rows: Array(rows[start..<end]), caches: caches, hook: recorder, captureLayer: stop, logitRows: [])
            start = end
        }
        return recorder.matrices
    }

    /// Logits (vocabularySize floats) for the next token after `tokens`, unsteered.
    public func nextTokenLogits(tokens: [Int], hook: ResidualHook? = nil) throws -> [Float] {
        try validate(tokens: tokens, argument: "tokens")
        if let hook { try validate(hook: hook) }
        guard tokens.count <= ropeTableLength else { throw LanguageModelError.contextTooLong(tokens: tokens.count, contextLength: ropeTableLength) }
        let cache = [KVCache(configuration: configuration, capacity: tokens.count)]
        let rows = tokens.enumerated().map { StepRow(sequence: 0, position: $0.offset, token: $0.element, isPrompt: true) }
        return forward(rows: rows, caches: cache, hook: hook, captureLayer: nil, logitRows: [rows.count - 1]).logits
    }

    /// Perplexity of `continuation` given `context` under the unsteered model:
    /// exp(−(1/N) Σᵢ log p(cᵢ | context, c₁…cᵢ₋₁)), N = continuation.count, log-softmax in Float64.
    public func perplexity(context: [Int], continuation: [Int]) throws -> Double {
        guard !context.isEmpty else { throw LanguageModelError.invalidArgument(argument: "context", reason: "must hold at least one token") }
        guard !continuation.isEmpty else { throw LanguageModelError.invalidArgument(argument: "continuation", reason: "must hold at least one token") }
        let tokens = context + continuation
        try validate(tokens: tokens, argument: "context + continuation")
        guard tokens.count <= ropeTableLength else { throw LanguageModelError.contextTooLong(tokens: tokens.count, contextLength: ropeTableLength) }
        let cache = [KVCache(configuration: configuration, capacity: tokens.count)]
        let rows = tokens.enumerated().map { StepRow(sequence: 0, position: $0.offset, token: $0.element, isPrompt: true) }
        let v = configuration.vocabularySize
        var totalNLL = 0.0
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + max(1, maxPrefillRows))
            let logitRows = (start..<end).filter { $0 >= context.count - 1 && $0 < tokens.count - 1 }.map { $0 - start }
            let logits = forward(rows: Array(rows[start..<end]), caches: cache, hook: nil, captureLayer: nil, logitRows: logitRows).logits
            for (k, r) in logitRows.enumerated() {
                let target = tokens[start + r + 1]
                var m = -Double.infinity
                for j in 0..<v { m = max(m, Double(logits[k * v + j])) }
                var sum = 0.0
                for j in 0..<v { sum += Foundation.exp(Double(logits[k * v + j]) - m) }
                totalNLL += -(Double(logits[k * v + target]) - m - Foundation.log(sum))
            }
            start = end
        }
        return Foundation.exp(totalNLL / Double(continuation.count))
    }

    /// The direction `v` (dModel floats) read through the unembedding only: U · v, vocabularySize floats, where
    /// U is the output matrix (the token embedding when tied). No final RMSNorm is applied.
    public func unembedDirection(_ v: [Float]) -> [Float] {
        precondition(v.count == configuration.dModel, "unembedDirection: \(v.count) values for d_model \(configuration.dModel)")
        let u = weights.output ?? weights.tokenEmbedding
        var out = [Float](repeating: 0, count: u.rows)
        v.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                u.multiply(x.baseAddress!, count: 1, into: y.baseAddress!, threads: threads)
            }
        }
        return out
    }

    /// Row `id` of the token embedding (dModel floats).
    public func tokenEmbedding(_ id: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: configuration.dModel) { buffer, count in
            weights.tokenEmbedding.copyRow(id, to: buffer.baseAddress!)
            count = configuration.dModel
        }
    }

    /// Throws unless `layer` is a block index.
    /// A hook's block must exist; a residual hook may also sit before block 0 (layer −1, `blocks.0.hook_resid_pre`).
    public func validate(hook: ResidualHook) throws {
        if hook.site == .residPost && hook.layer == -1 { return }
        try validate(layer: hook.layer, argument: hook.site == .residPost ? "hook layer" : "hook layer (\(hook.site.rawValue))")
    }

    public func validate(layer: Int, argument: String) throws {
        guard layer >= 0, layer < configuration.layerCount else {
            throw LanguageModelError.layerOutOfRange(argument: argument, layer: layer, layerCount: configuration.layerCount)
        }
    }

    func validate(tokens: [Int], argument: String) throws {
        guard !tokens.isEmpty else { throw LanguageModelError.invalidArgument(argument: argument, reason: "no tokens") }
        for t in tokens where t < 0 || t >= configuration.vocabularySize {
            throw LanguageModelError.tokenOutOfRange(argument: argument, id: t, vocabularySize: configuration.vocabularySize)
        }
    }
}

/// Copies the rows a hook sees into one matrix per sequence, row = position (for `activations`).
private final class PlacingRecorder: ResidualHook {
    let layer: Int
    let site: HookSite
    private(set) var matrices: [Matrix]

    init(layer: Int, site: HookSite, into matrices: [Matrix]) {
        self.layer = layer; self.site = site; self.matrices = matrices
    }

    func apply(_ rows: ResidualRows) {
        let d = rows.dModel
        for i in 0..<rows.count {
            let s = rows.sequence[i], p = rows.position[i]
            let source = rows.values + i * d
            matrices[s].values.withUnsafeMutableBufferPointer { m in
                (m.baseAddress! + p * d).update(from: source, count: d)
            }
        }
    }
}
