import Foundation

/// Gemma 3 text models (Gemma Team 2025; transformers' `modeling_gemma3.py`, llama.cpp's `src/models/gemma3.cpp`):
///   x₀ = √d_model · E[token]
///   h = x + n_post_attn(Wo · Attention(RoPE(n_q(Wq·n₁(x))), RoPE(n_k(Wk·n₁(x))), Wv·n₁(x)))
///   x' = h + n_post_ffn(W_down · (gelu_tanh(W_gate·n₂(h)) ⊙ W_up·n₂(h)))
/// with RMSNorms n(x) = x / √(mean(x²) + ε) · (1 + w) (per head for n_q, n_k), scores q·k / √query_pre_attn_scalar,
/// sliding-window attention (window `sliding_window`, RoPE base `rope_local_base_freq`) on the layers `layer_types`
/// marks "sliding_attention" (5 of every 6), global attention with base `rope_theta` (and linear `rope_scaling`)
/// on the others, RoPE on pairs (i, i + headDim/2), tied embeddings, no soft-capping.
/// GGUF files store (1 + w) for every norm already; Hugging Face safetensors store w. The config.json keys are read
/// in `GemmaTextConfig` (Gemma.swift), the GGUF metadata in GGUFConfiguration.swift.
extension LlamaConfiguration {
    /// Sets the Gemma 3 departures from llama (see the type comment above). `attentionScale` multiplies q·k
    /// (query_pre_attn_scalar^−½); without `slidingWindow` every layer is global. A GGUF Gemma 3 may also carry a
    /// final-logit soft-cap, set apart.
    mutating func applyGemma3(attentionScale: Float, slidingWindow: Int?, sliding: [Bool]?, localBase: Float?,
                              ropeScalingFactor: Float?) {
        applyGemma(family: .gemma3)
        self.attentionScale = attentionScale
        sandwichNorms = true
        queryKeyNorm = true
        self.slidingWindow = slidingWindow
        slidingLayers = slidingWindow == nil ? nil : sliding
        ropeLocalBase = slidingWindow == nil ? nil : localBase
        self.ropeScalingFactor = ropeScalingFactor
    }
}
