import Foundation

/// Qwen 3 dense models (Qwen Team 2025; transformers' `modeling_qwen3.py`, llama.cpp's `src/models/qwen3.cpp`):
/// llama blocks with a per-head RMSNorm of queries and keys before RoPE,
///   q ← q / √(mean(q²) + ε) ⊙ w_q,  k ← k / √(mean(k²) + ε) ⊙ w_k  (over each head's headDim values),
/// RoPE on pairs (i, i + headDim/2) (Hugging Face's rotate_half; llama.cpp rope type NEOX, so GGUF Q/K rows are not
/// permuted), SwiGLU, optional tied embeddings. config.json keys are read with llama's (LlamaWeights.swift),
/// GGUF metadata in GGUFConfiguration.swift.
extension LlamaConfiguration {
    /// Sets the Qwen 3 departures from llama.
    mutating func applyQwen3() {
        family = .qwen3
        ropeLayout = .halfSplit
        queryKeyNorm = true
    }
}
