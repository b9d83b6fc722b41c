/// How few-row decode steps multiply activations with the Q4_1/Q8_0 weights kept in block form.
public enum ActivationPrecision: String, Sendable, CaseIterable, Codable {
    /// Float32 activations: the product of the dequantized weights up to Float32 rounding. The default; greedy ids
    /// match `Tests/Fixtures/reference/smollm2.json` and batched decoding equals one-by-one decoding.
    case float32
    /// Activations rounded to 8 bits per block of 32 (d = max|x|/127), with integer block dot products, as
    /// llama.cpp's CPU kernels (ggml_vec_dot_q4_1_q8_1, ggml_vec_dot_q8_0_q8_0). About 1.8× faster per decode
    /// step on AVX2, but approximate: greedy text can change where the two best logits are close (llama.cpp
    /// prints "New Haven" where the Float32 path gives "Nova Haven"). Never the default for sweeps.
    case q8
}
