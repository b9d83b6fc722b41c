// semprog's compute kernels: packed-panel SGEMM and GGML block dot products (Q4_1, Q5_0, Q5_1, Q8_0, Q2_K…Q6_K),
// with SIMD code selected at run time (portable C otherwise). Called from Swift through Tensor.PackedMatrix and
// LanguageModel.
#ifndef SEMPROG_CKERNELS_H
#define SEMPROG_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Columns per packed panel.
#define CK_PANEL 16

/// Kernel paths. Every `use_simd` argument below takes one of these: CK_PATH_PORTABLE (0) forces the portable C
/// loops, CK_PATH_ACTIVE (1) runs the process's active path (ck_kernel_path), CK_PATH_AVX2 / CK_PATH_AVX512 ask for
/// that path (falling back to the next one down where the CPU lacks it). AVX2 and AVX-512 give the same bits.
enum { CK_PATH_PORTABLE = 0, CK_PATH_ACTIVE = 1, CK_PATH_AVX2 = 2, CK_PATH_AVX512 = 3 };

/// 1 when the active path is a SIMD one (AVX2 or AVX-512; not when SEMPROG_KERNELS=portable or the CPU lacks AVX2).
int ck_has_avx2_fma(void);

/// 1 when this CPU and OS run `path` (CPUID and XGETBV, checked once): AVX2 needs AVX2+FMA+F16C, AVX-512 needs
/// AVX-512 F, BW, DQ and VL with ZMM state saved by the OS. CK_PATH_PORTABLE is always 1.
int ck_cpu_supports(int path);

/// 1 when the CPU also has AVX-512 VNNI (used by the 8-bit-activation kernel on the AVX-512 path).
int ck_has_avx512_vnni(void);

/// The active path: SEMPROG_KERNELS (avx512 | avx2 | portable; read once, on first use) or else the best the CPU
/// runs. An unknown value, or a path the CPU lacks, prints one warning naming the variable to stderr and uses the
/// best path available (at most the one asked for).
int ck_kernel_path(void);

/// The warning printed for SEMPROG_KERNELS ("" when none).
const char *ck_kernel_path_warning(void);

/// The path SEMPROG_KERNELS=value selects on this CPU (NULL or "" = the best); a warning goes to `message` ("" if none).
int ck_parse_kernel_path(const char *value, char *message, size_t message_size);

/// Makes `path` the active one (tests compare paths in one process); returns the previous path, or −1 (and changes
/// nothing) when the CPU lacks it or it is not a path.
int ck_set_kernel_path(int path);

/// "portable", "avx2", "avx512".
const char *ck_kernel_path_name(int path);

/// The path a kernel runs for a `use_simd` argument (CK_PATH_ACTIVE → ck_kernel_path(); a missing path falls back).
int ck_resolve_path(int requested);

/// Floats needed to pack an n × k matrix: ceil(n / 16) · 16 · k.
size_t ck_packed_count(long n, long k);

/// Packs W (n rows × k columns, row stride ldw) into panels of 16 rows: panel p holds, for each kk in 0..<k,
/// W[16p + j][kk] for j = 0..<16 contiguously (rows past n are zero).
void ck_pack_panels(const float *w, long n, long k, long ldw, float *panels);

/// C[i][j] (+)= Σ_kk A[i][kk] · W[j][kk] for i < m and the columns j of panels [p0, p1), from a packed W
/// (n rows × k). A has row stride lda, C row stride ldc. accumulate != 0 adds to C instead of overwriting.
/// `use_simd` = 0 forces the portable kernel (tests compare both).
void ck_gemm_panels(const float *a, long lda, long m, long k, const float *panels, long n,
                    long p0, long p1, float *c, long ldc, int accumulate, int use_simd);

/// 1 when ck_quantized_pack_panels knows `type`: Q8_0, Q5_0, Q4_1, Q4_K, Q6_K (the types of Gemma 3 270M Q4_K_M's
/// and SmolLM2 Q4_1's layer matrices).
int ck_quantized_pack_supported(int type);

/// Rows [r0, r0 + n) of a block-quantized matrix of `type` (k columns, `row_bytes` per row, the scales and mins of
/// ck_quantized_scales / ck_quantized_k_scales) dequantized exactly (ggml's values) into ceil(n / 16) panels of
/// ck_pack_panels' layout, rows past n zero. Every path gives the same panels (quantized_pack.c).
void ck_quantized_pack_panels(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                              long r0, long n, long k, float *panels, int use_simd);

/// Floats of one tile of ck_quantized_gemm_tiles (160 KB: with the activation rows it stays in L2).
#define CK_TILE_FLOATS 40960

/// Weight rows per tile for k columns: CK_TILE_FLOATS / k rounded down to whole panels, within [16, 64].
long ck_quantized_tile_rows(long k);

/// out[i][r] (+)= Σ_kk x[i][kk] · W[r][kk] for rows r in [r0, r1) of a block-quantized W (ck_quantized_pack_supported),
/// i < m: tiles of ck_quantized_tile_rows(k) rows (from r0) are unpacked by ck_quantized_pack_panels (`pack_path`)
/// into a per-thread buffer and multiplied by ck_gemm_panels (`gemm_path`). Each output is ck_gemm_panels' FMA chain
/// over the whole row, so the result has the bits of the packed Float32 matrix. Returns 0, or −1 (nothing written)
/// when the tile buffer cannot be allocated.
int ck_quantized_gemm_tiles(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                            long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                            int accumulate, int pack_path, int gemm_path);

/// GGML block types understood by ck_quantized_matmul.
enum { CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q8_0 = 8 };

/// Decodes the binary16 block scales d (and Q4_1 minimums m) of `rows` rows of k columns into Float32 arrays of
/// rows × k/32. Q8_0 and Q5_0 have no minimums: `mins` is not written (it may alias `scales`), and the kernels
/// never read it for those types.
void ck_quantized_scales(int type, const uint8_t *w, long row_bytes, long rows, long k, float *scales, float *mins);

/// out[i][r] (+)= Σ_kk x[i][kk] · W[r][kk] for rows r in [r0, r1) of a GGML block-quantized W (k columns,
/// k a multiple of 32, `row_bytes` bytes per row), i < m, with the block scales from ck_quantized_scales.
/// The weights are those ggml dequantizes (Q4_1: d·q + m; Q8_0: d·q), multiplied with Float32 activations
/// (no activation quantization): per block d·Σ qⱼxⱼ + m·Σ xⱼ, equal to Σ wⱼxⱼ up to Float32 rounding.
void ck_quantized_matmul(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                         long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                         int accumulate, int use_simd);

/// GGML K-quant types understood by ck_quantized_k_matmul (super-blocks of 256 weights; quantized_k.c has the layouts).
enum { CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14 };

/// Decodes, for each group of 32 weights of `rows` K-quant rows (k columns, k a multiple of 256), the Float32 scale
/// and min into arrays of rows × k/32: Q4_K/Q5_K scale = d·sc and min = dmin·m of the group's sub-block
/// (w = scale·q − min); Q6_K scale = the super-block's d and min = 0 (its int8 sub-block scales stay in the blocks).
void ck_quantized_k_scales(int type, const uint8_t *w, long row_bytes, long rows, long k, float *scales, float *mins);

/// out[i][r] (+)= Σ_kk x[i][kk] · W[r][kk] for rows r in [r0, r1) of a K-quant W (k columns, `row_bytes` bytes per
/// row), i < m, with Float32 activations and the scales from ck_quantized_k_scales. The weights are those ggml
/// dequantizes; per group of 32: scale·Σ qⱼxⱼ − min·Σ xⱼ (Q6_K: d·Σ (sc·(q − 32))ⱼ xⱼ), equal to Σ wⱼxⱼ up to Float32
/// rounding. AVX-512 gives the AVX2 path's bits; `use_simd` as for ck_quantized_matmul.
void ck_quantized_k_matmul(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                           long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                           int accumulate, int use_simd);

/// GGML types understood by ck_quantized_lowbit_matmul: Q5_1 (blocks of 32 weights) and the K-quants Q2_K, Q3_K
/// (super-blocks of 256); quantized_lowbit.c has the layouts.
enum { CK_Q5_1 = 7, CK_Q2_K = 10, CK_Q3_K = 11 };

/// Decodes, for each group of 32 weights of `rows` rows (k columns: a multiple of 32 for Q5_1, of 256 for Q2_K and
/// Q3_K), the Float32 scale and min into arrays of rows × k/32: Q5_1 scale = d, min = m (added: w = scale·q + min);
/// Q2_K scale = d, min = dmin of the super-block (its 4-bit sub-block scales and mins stay in the blocks); Q3_K
/// scale = d, min = 0 (its 6-bit sub-block scales stay in the blocks).
void ck_quantized_lowbit_scales(int type, const uint8_t *w, long row_bytes, long rows, long k, float *scales,
                                float *mins);

/// out[i][r] (+)= Σ_kk x[i][kk] · W[r][kk] for rows r in [r0, r1) of a Q5_1, Q2_K or Q3_K W (k columns, `row_bytes`
/// bytes per row), i < m, with Float32 activations and the scales from ck_quantized_lowbit_scales. The weights are
/// those ggml dequantizes; per group of 32 scale·Σ cⱼxⱼ with integer codes c (the sub-block scales folded in for
/// Q2_K and Q3_K), and the mins through sums of x, equal to Σ wⱼxⱼ up to Float32 rounding. There is no AVX-512
/// kernel: the AVX-512 path runs the AVX2 one (same bits). `use_simd` as for ck_quantized_matmul.
void ck_quantized_lowbit_matmul(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                                long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                                int accumulate, int use_simd);

/// Quantizes m rows of x (k columns, k a multiple of 32, row stride ldx) to 8 bits per block of 32, as llama.cpp's
/// quantize_row_q8_1: d = max|x|/127, q = round(x/d) (nearest even), s = d·Σq. q: m·k bytes; d, s: m·k/32 floats.
void ck_quantize_q8(const float *x, long ldx, long m, long k, int8_t *q, float *d, float *s);

/// out[i][r] (+)= Σ_kk x̂[i][kk] · W[r][kk] like ck_quantized_matmul, but with the activations x̂ quantized by
/// ck_quantize_q8 (integer block dot products; approximate, as llama.cpp's CPU path).
void ck_quantized_matmul_q8(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                            long r0, long r1, long k, const int8_t *q, const float *d, const float *s, long m,
                            float *out, long ldo, int accumulate, int use_simd);

/// In-place GELU, x · ½ (1 + erf(x / √2)), with erf by the rational minimax approximation of Eigen/XLA
/// (`generic_fast_erf_float`, |error| ≈ 7e-8 on [−4, 4], ±1 beyond). `use_simd` = 0 forces the portable loop.
void ck_gelu(float *x, long n, int use_simd);

/// Gemma's gated tanh-GELU: out[j] = gelu_tanh(g[j]) · u[j], gelu_tanh(a) = ½a(1 + tanh(√(2/π)(a + 0.044715a³)))
/// computed as a / (1 + e^(−2y)) with a polynomial e^z (activation.c); the same bits on every path. out may be g.
void ck_gelu_tanh_mul(const float *g, const float *u, float *out, long n, int use_simd);

/// IEEE binary16 ↔ binary32 (round to nearest even; overflow to ±inf).
/// The index of the largest of x[0..n): the scalar loop `if (x[i] > best)` from best = −∞ exactly (lowest index on
/// ties, NaN never chosen, 0 when no value exceeds −∞), on every path.
long ck_argmax(const float *x, long n, int use_simd);

float ck_half_to_float(uint16_t h);
uint16_t ck_float_to_half(float f);

/// dst[i] = binary16(src[i]) for i < n.
void ck_store_half(const float *src, uint16_t *dst, long n, int use_simd);

/// Converts `rows` rows of `cols` binary16 values (row stride src_stride) to Float32 (row stride dst_stride).
void ck_half_rows_to_float(const uint16_t *src, long src_stride, long rows, long cols, float *dst, long dst_stride,
                           int use_simd);

/// Grouped-query attention of one query row for heads [head0, head1) over `count` cached positions whose keys and
/// values are binary16, `stride` values per position (kv heads × head_dim), kv head = head / group_size:
///   out_h = Σ_t softmax_t(q_h · k_t · scale) v_t          (scores: ≥ count floats of scratch)
void ck_attend_decode(const float *q, const uint16_t *keys, const uint16_t *values, long count, long stride,
                      long head_dim, long head0, long head1, long group_size, float scale, float *scores, float *out,
                      int use_simd);

/// Attention of one query row for one head over `count` positions with Float32 keys and values (row strides
/// k_stride, v_stride): out = Σ_t softmax_t(q · k_t · scale) v_t (scores: ≥ count floats of scratch). The summation
/// order is fixed by this code alone (no BLAS), so results do not depend on the CPU's BLAS kernels or on threads.
void ck_attend_f32(const float *q, const float *keys, long k_stride, const float *values, long v_stride, long count,
                   long head_dim, float scale, float *scores, float *out, int use_simd);

/// ck_attend_decode and ck_attend_f32 with attention-logit soft-capping (Gemma 2): each score s = q·k·scale becomes
/// softcap · tanh(s / softcap) before the softmax; softcap ≤ 0 is none (the plain functions pass 0).
void ck_attend_decode_capped(const float *q, const uint16_t *keys, const uint16_t *values, long count, long stride,
                             long head_dim, long head0, long head1, long group_size, float scale, float softcap,
                             float *scores, float *out, int use_simd);
void ck_attend_f32_capped(const float *q, const float *keys, long k_stride, const float *values, long v_stride,
                          long count, long head_dim, float scale, float softcap, float *scores, float *out,
                          int use_simd);

/// Causal attention of `rows` consecutive query rows (q_stride apart) of one head over Float32 keys and values
/// (kv_stride apart, position 0 first): row i sees positions [first_i, count0 + i), first_i = max(0, count0 + i −
/// window) (window ≤ 0: 0). Row for row the bits of ck_attend_f32_capped; four rows share each key and value load.
/// `scores` holds 4 × score_stride floats (score_stride ≥ count0 + rows); out rows are out_stride apart.
void ck_attend_f32_causal(const float *q, long q_stride, const float *keys, const float *values, long kv_stride,
                          long rows, long count0, long window, long head_dim, float scale, float softcap,
                          float *scores, long score_stride, float *out, long out_stride, int use_simd);

/// Attention of `rows` query rows of one head (row stride q_stride) over the same `count` Float32 keys and values
/// (kv_stride apart), no mask (an encoder such as MiniLM): row for row the bits of ck_attend_f32 over [0, count);
/// four rows at a time share each key and value load and reduce their 16 scores together. `scores` holds 4 rows of
/// score_stride ≥ count floats; out rows are out_stride apart.
void ck_attend_f32_rows(const float *q, long q_stride, const float *keys, const float *values, long kv_stride,
                        long rows, long count, long head_dim, float scale, float *scores, long score_stride,
                        float *out, long out_stride, int use_simd);

/// A task of ck_parallel_for: item i of a loop, with the caller's context.
typedef void (*ck_task_fn)(void *ctx, long i);

/// Runs fn(ctx, i) for i in [0, count) on the calling thread and up to threads − 1 pool workers that spin between tasks
/// (yielding the core after 30 µs, sleeping after 0.5 ms idle). Items are taken dynamically. Returns 1 when the loop
/// ran, or 0 without running anything when the pool is busy (another caller, or a nested call): the caller then runs
/// the loop another way.
int ck_parallel_for(long count, int threads, ck_task_fn fn, void *ctx);

#endif
