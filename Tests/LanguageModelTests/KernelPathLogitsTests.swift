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
