import Foundation
import Testing
import Tensor
@testable import LanguageModel

/// The real SmolLM2 model gives the same logits, bit for bit, on the AVX2 and the AVX-512 kernels: a prefill of
/// three prompts (packed GEMM, Float32 attention), decode steps of all three sequences (GEMM with 3 rows, binary16
/// decode attention) and of one sequence alone (the compact Q4_1/Q8_0 kernels). Needs `models/` (`make models`).
@Suite(.serialized) struct KernelPathLogitsTests {
    static let runnable = KernelPath.avx512.isSupported && KernelPath.avx2.isSupported
        && FileManager.default.fileExists(atPath: Fixtures.modelPath)

    /// Every logit the steps produce, concatenated, on the active path.
    static func logits(_ model: LlamaModel) -> [Float] {
        let prompts = ["The capital of France is", "Write a haiku about the sea.", "1, 2, 3, 4,"]
            .map { model.tokenizer.encode($0) }
        let caches = prompts.map { KVCache(configuration: model.configuration, capacity: $0.count + 16) }
        var rows: [StepRow] = []
        var lastRows: [Int] = []
        for (s, p) in prompts.enumerated() {
            for (i, t) in p.enumerated() { rows.append(StepRow(sequence: s, position: i, token: t, isPrompt: true)) }
            lastRows.append(rows.count - 1)
        }
        var all = model.forward(rows: rows, caches: caches, hook: nil, captureLayer: nil, logitRows: lastRows).logits
        let vocabulary = all.count / prompts.count
        func argmax(_ v: ArraySlice<Float>) -> Int { v.indices.max { v[$0] < v[$1] }! - v.startIndex }
        var next = (0..<prompts.count).map { argmax(all[($0 * vocabulary)..<(($0 + 1) * vocabulary)]) }
        var positions = prompts.map(\.count)
        for step in 0..<8 {
            let active = step < 4 ? Array(0..<prompts.count) : [0] // 3 rows (GEMM), then 1 row (compact kernels)
            let stepRows = active.map { StepRow(sequence: $0, position: positions[$0], token: next[$0], isPrompt: false) }
            let out = model.forward(rows: stepRows, caches: caches, hook: nil, captureLayer: nil,
                                    logitRows: Array(0..<stepRows.count)).logits
            for (j, s) in active.enumerated() {
                next[s] = argmax(out[(j * vocabulary)..<((j + 1) * vocabulary)])
                positions[s] += 1
            }
            all += out
        }
        return all
    }

    @Test(.enabled(if: runnable, "needs AVX-512 and AVX2 (to compare them) and models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    func avx512LogitsEqualAVX2() throws {
        let model = try Fixtures.model()
        #expect(model.compactRowLimit >= 1, "the one-row steps should use the compact kernels")
        let avx2 = try #require(KernelPath.withActive(.avx2) { Self.logits(model) })
        let avx512 = try #require(KernelPath.withActive(.avx512) { Self.logits(model) })
        #expect(avx2.count == (3 + 4 * 3 + 4) * model.configuration.vocabularySize)
        #expect(avx2.allSatisfy { $0.isFinite })
        #expect(Set(avx2.prefix(1000)).count > 100, "logits should vary")
        let differing = zip(avx2, avx512).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(differing) of \(avx2.count) logits differ between the AVX2 and AVX-512 paths")
    }
}

/// Gemma 3 270M Q4_K_M on its compact decode kernels: Q4_K attn_output, Q4_K/Q6_K ffn_down, Q5_0 ffn_gate/up and
/// attn_q/k, Q5_0 or Q8_0 attn_v, the Q8_0 tied embedding. Every prompt is fed one token per step and then continued greedily, one
/// row per step, so every weight product runs a compact kernel. On each kernel path — AVX2 and AVX-512 (forced with
/// `KernelPath.withActive`), and the portable C loops (forced on one model's compact matrices only, so other tests'
/// products are not affected; its attention stays on the active SIMD path) — the greedy ids match transformers up
/// to a step with a stored margin < 0.05 and the last prompt position's top-20 logits are within 2e-3 of the largest
/// |logit| (gemma3-270m.json and its tolerances); AVX-512 gives AVX2's logits bit for bit. Needs `models/`.
@Suite(.serialized) struct Gemma3KernelPathTests {
    static let runnable = FileManager.default.fileExists(atPath: Gemma3Fixtures.realPath)

    struct Run {
        /// Logits after each prompt's last token.
        var promptLogits: [[Float]] = []
        var generated: [[Int]] = []
        /// Every logit computed, concatenated.
        var all: [Float] = []
    }

    /// Each prompt one token per step, then `tokens` greedy tokens one per step (all single-row forward steps).
    static func oneRowSteps(_ model: LlamaModel, prompts: [[Int]], tokens: Int) -> Run {
        var run = Run()
        func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] }! }
        for prompt in prompts {
            let cache = KVCache(configuration: model.configuration, capacity: prompt.count + tokens)
            var logits: [Float] = []
            for (i, t) in prompt.enumerated() {
                let last = i == prompt.count - 1
                logits = model.forward(rows: [StepRow(sequence: 0, position: i, token: t, isPrompt: true)], caches: [cache],
                                       hook: nil, captureLayer: nil, logitRows: last ? [0] : []).logits
            }
            run.promptLogits.append(logits)
            run.all += logits
            var ids: [Int] = []
            for step in 0..<tokens {
                ids.append(argmax(logits))
                if step == tokens - 1 { break }
                logits = model.forward(rows: [StepRow(sequence: 0, position: prompt.count + step, token: ids.last!, isPrompt: false)],
                                       caches: [cache], hook: nil, captureLayer: nil, logitRows: [0]).logits
                run.all += logits
            }
            run.generated.append(ids)
        }
        return run
    }

    static func checkAgainstTransformers(_ run: Run, _ reference: Gemma3Fixtures.Real, path: String) {
        for (i, g) in reference.greedy.enumerated() {
            #expect(equalUntilNearTie(run.generated[i], Array(g.generated_ids.prefix(run.generated[i].count)), margins: g.margins, margin: 0.05),
                    "\(path), \(g.prompt.debugDescription): generated \(run.generated[i]) vs \(g.generated_ids)")
            let logits = run.promptLogits[i]
            let scale = g.top20_logits.map(abs).max()!
            let err = zip(g.top20_ids, g.top20_logits).map { abs(logits[$0] - $1) }.max()! / scale
            #expect(err < 2e-3, "\(path), \(g.prompt.debugDescription): top-20 logits off by \(err) relative")
        }
    }

    @Test(.enabled(if: runnable, "needs models/gemma-3-270m-q4_k_m.gguf (make models)"))
    func kQuantMatricesStayCompact() throws {
        let model = try Gemma3Fixtures.realModel()
        #expect(model.compactRowLimit >= 1, "one-row steps should use the compact kernels")
        for b in model.weights.blocks {
            // attn_q, attn_k in Q5_0; attn_v in Q5_0 (one segment) or Q8_0 (a second one).
            #expect(b.qkv.compact.map { $0.segments.map(\.type) == [.q5_0] || $0.segments.map(\.type) == [.q5_0, .q8_0] } == true)
            #expect(b.output.compact?.type == .q4_K && b.output.packed == nil && b.output.rowMajor == nil)
            #expect(b.down.compact.map { [.q4_K, .q6_K].contains($0.type) } == true && b.down.packed == nil)
            // Every layer matrix is in blocks only: no Float32 copy (382 MiB of panels before).
            #expect([b.qkv, b.gateUp, b.down].allSatisfy { $0.packed == nil && $0.rowMajor == nil && $0.tilesFromRows == 1 })
            #expect(b.gateUp.compact?.type == .q5_0)
        }
    }

    @Test(.enabled(if: runnable, "needs models/gemma-3-270m-q4_k_m.gguf (make models)"))
    func compactStepsMatchTransformersOnEveryPath() throws {
        let reference = try Gemma3Fixtures.real()
        let prompts = reference.greedy.map(\.prompt_ids)
        let model = try Gemma3Fixtures.realModel()
        let tokens = 24
        var simdRuns: [KernelPath: Run] = [:]
        for path in [KernelPath.avx2, .avx512] where path.isSupported {
            let run = try #require(KernelPath.withActive(path) { Self.oneRowSteps(model, prompts: prompts, tokens: tokens) })
            Self.checkAgainstTransformers(run, reference, path: path.rawValue)
            simdRuns[path] = run
        }
        if let avx2 = simdRuns[.avx2], let avx512 = simdRuns[.avx512] {
            #expect(avx2.all.count == prompts.count * tokens * model.configuration.vocabularySize)
            let differing = zip(avx2.all, avx512.all).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(differing) of \(avx2.all.count) logits differ between the AVX2 and AVX-512 paths")
        }
        // The portable C loops on a second instance of the model (12 tokens: they are slow).
        let portable = try LlamaModel.load(path: Gemma3Fixtures.realPath)
        var forced = 0
        for w in [portable.weights.tokenEmbedding] + portable.weights.blocks.flatMap({ [$0.qkv, $0.output, $0.gateUp, $0.down] }) {
            if let q = w.compact { q.kernelPath = .portable; forced += 1 }
        }
        #expect(forced == 1 + 4 * portable.configuration.layerCount)
        let run = Self.oneRowSteps(portable, prompts: prompts, tokens: 12)
        Self.checkAgainstTransformers(run, reference, path: "portable")
        if let avx2 = simdRuns[.avx2] {
            #expect(run.promptLogits != avx2.promptLogits, "the portable loops sum in another order than AVX2")
        }
    }
}
