// Helpers shared by the kernels' C files (not part of the module's interface).
#ifndef SEMPROG_CKERNELS_INTERNAL_H
#define SEMPROG_CKERNELS_INTERNAL_H

#include "ckernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/// Bytes of one GGML block of 32 weights: Q4_1 (f16 d, f16 m, 16 bytes of nibbles) or Q8_0 (f16 d, 32 bytes).
static inline long ck_block_bytes(int type) { return type == CK_Q4_1 ? 20 : type == CK_Q5_0 ? 22 : 34; }

/// Code c (0…31) of a Q5_0 block: q − 16, q the nibble (low of byte c for c < 16, else high of byte c − 16) with
/// bit c of the 32-bit qh as its fifth bit.
static inline int ck_q5_0_code(const uint8_t *blk, int c) {
    const uint32_t qh = (uint32_t)blk[2] | ((uint32_t)blk[3] << 8) | ((uint32_t)blk[4] << 16) | ((uint32_t)blk[5] << 24);
    const int nib = c < 16 ? blk[6 + c] & 0x0F : blk[6 + c - 16] >> 4;
    return (nib | (int)((qh >> c) & 1) << 4) - 16;
}

#if defined(__x86_64__)
#include <immintrin.h>
/// Sum of the 8 lanes.
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) float ck_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Σ of 32 floats: ((x₀…₇ + x₈…₁₅) + (x₁₆…₂₃ + x₂₄…₃₁)) lane-wise, then ck_hsum8 (the block sums of the min terms).
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) float ck_sum32(const float *x) {
    const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)),
                                   _mm256_add_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24)));
    return ck_hsum8(s);
}

/// Σ of 16 floats: (x₀…₇ + x₈…₁₅) lane-wise, then ck_hsum8 (Q2_K's sub-block sums).
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) float ck_sum16(const float *x) {
    return ck_hsum8(_mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)));
}

/// The 32 codes q − 16 of a Q5_0 block (f16 d, 4 bytes of high bits qh, 16 bytes of nibbles) as signed bytes,
/// element c in byte c: the low nibble of byte c (c < 16) or the high nibble of byte c − 16, with bit c of qh as
/// the fifth bit. Byte c of `set` is 0xFF where that bit is set (ggml's bytes_from_bits_32); where it is not, the
/// code is nib − 16, which is nib | 0xF0 as a signed byte.
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) __m256i ck_q5_0_codes_avx2(const uint8_t *blk) {
    uint32_t qh;
    memcpy(&qh, blk + 2, 4);
    const __m128i qs = _mm_loadu_si128((const __m128i *)(blk + 6));
    const __m256i nib = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(qs), _mm_srli_epi16(qs, 4), 1),
                                         _mm256_set1_epi8(0x0F));
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                               _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                                 0x0101010101010101, 0x0000000000000000));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)),
                                          _mm256_set1_epi64x(-1));
    return _mm256_or_si256(nib, _mm256_andnot_si256(set, _mm256_set1_epi8((char)0xF0)));
}

/// Unsigned bytes to 32-bit lanes by in-lane byte shuffles of a register that holds the same 16 bytes in both
/// 128-bit lanes (ck_broadcast16, a broadcast load), not by vpmovzxbd ymm, xmm: that one crosses lanes and costs
/// three cycles of one shuffle pipe on Zen 3 (llvm-mca -mcpu=znver3 on the Q4_1 block loop: 8.0 -> 5.0 cycles per
/// block; one thread over SmolLM2's Q4_1 embedding × 1 row: 9.8 -> 12.5 G weights/s). ck_bytes_lo_unsigned converts
/// bytes 0–7 of the 16 to floats in lanes 0–7, ck_bytes_hi_unsigned bytes 8–15. Only integer lanes move: the floats
/// are the same, so are the products' bits. (Signed codes the same way, with an arithmetic shift, measured slower
/// than vpmovsxbd from memory for Q8_0 and no faster for Q5_0 and Q6_K.)
#define CK_LANES(a, b, c, d, e, f, g, h)                                                                              \
    _mm256_setr_epi8(a, -1, -1, -1, b, -1, -1, -1, c, -1, -1, -1, d, -1, -1, -1,                                      \
                     e, -1, -1, -1, f, -1, -1, -1, g, -1, -1, -1, h, -1, -1, -1)
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) __m256 ck_bytes_lo_unsigned(__m256i v) {
    return _mm256_cvtepi32_ps(_mm256_shuffle_epi8(v, CK_LANES(0, 1, 2, 3, 4, 5, 6, 7)));
}
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) __m256 ck_bytes_hi_unsigned(__m256i v) {
    return _mm256_cvtepi32_ps(_mm256_shuffle_epi8(v, CK_LANES(8, 9, 10, 11, 12, 13, 14, 15)));
}
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) __m256i ck_broadcast16(const uint8_t *p) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
}

/// Three rounds of in-lane unpacks of 8 registers R[0..7] of bytes into Z[0..7], for one width (P = _mm256_ or
/// _mm512_, T its integer vector type): round 1 pairs rows (0,1), (2,3), (4,5), (6,7) byte by byte, round 2 makes
/// 4 rows per k, round 3 8 rows per k, so that Z[j] holds, in each 128-bit lane, k = 2j and 2j + 1 (the lane's
/// first and second 8 bytes) of the 8 rows, the lanes keeping the order of R's lanes.
#define CK_BYTE_TRANSPOSE8(P, T, R, Z)                                                                                \
    do {                                                                                                              \
        const T a0 = P##unpacklo_epi8(R[0], R[1]), a1 = P##unpackhi_epi8(R[0], R[1]);                                 \
        const T a2 = P##unpacklo_epi8(R[2], R[3]), a3 = P##unpackhi_epi8(R[2], R[3]);                                 \
        const T a4 = P##unpacklo_epi8(R[4], R[5]), a5 = P##unpackhi_epi8(R[4], R[5]);                                 \
        const T a6 = P##unpacklo_epi8(R[6], R[7]), a7 = P##unpackhi_epi8(R[6], R[7]);                                 \
        const T b0 = P##unpacklo_epi16(a0, a2), b1 = P##unpackhi_epi16(a0, a2);                                       \
        const T b2 = P##unpacklo_epi16(a1, a3), b3 = P##unpackhi_epi16(a1, a3);                                       \
        const T b4 = P##unpacklo_epi16(a4, a6), b5 = P##unpackhi_epi16(a4, a6);                                       \
        const T b6 = P##unpacklo_epi16(a5, a7), b7 = P##unpackhi_epi16(a5, a7);                                       \
        Z[0] = P##unpacklo_epi32(b0, b4); Z[1] = P##unpackhi_epi32(b0, b4);                                           \
        Z[2] = P##unpacklo_epi32(b1, b5); Z[3] = P##unpackhi_epi32(b1, b5);                                           \
        Z[4] = P##unpacklo_epi32(b2, b6); Z[5] = P##unpackhi_epi32(b2, b6);                                           \
        Z[6] = P##unpacklo_epi32(b3, b7); Z[7] = P##unpackhi_epi32(b3, b7);                                           \
    } while (0)

/// CALL(MR) with MR = mr (1…8) as a compile-time constant.
#define CK_MR_CASES(mr, CALL)                                                                                         \
    switch (mr) {                                                                                                     \
    case 1: CALL(1); break;                                                                                           \
    case 2: CALL(2); break;                                                                                           \
    case 3: CALL(3); break;                                                                                           \
    case 4: CALL(4); break;                                                                                           \
    case 5: CALL(5); break;                                                                                           \
    case 6: CALL(6); break;                                                                                           \
    case 7: CALL(7); break;                                                                                           \
    default: CALL(8); break;                                                                                          \
    }

/// Most activation rows per group of the block kernels' driver: 5 for Q8_0 (one weight row against 8 rows ran at
/// 72–75 GFLOP/s against 87–88 at 4 or 5 rows, one thread on Zen 5, AVX2 and AVX-512 alike: Gemma 3's 262,144-row
/// tied embedding at 6–19 sequences), 8 for the other types (whose code decoding is dearer, so more rows repay it).
/// A constant per type, so the grouping never depends on the CPU (and it changes no bits anyway).
static inline long ck_group_rows(int type) { return type == CK_Q8_0 ? 5 : 8; }

// A block kernel streams its weight rows once per step (a single decode step reads Gemma 3's 178 MB Q8_0 embedding
// in one pass). The hardware prefetcher alone keeps too few lines in flight for that: a prefetch CK_PREFETCH_AHEAD
// bytes ahead of the block being read, issued once per block (the rows of a thread's range are contiguous, so it
// runs on into the next rows), took one thread on Zen 3 over the Q8_0 embedding from 11.3 to 14.7 G weights/s
// (a C harness). A prefetch moves no value, so the bits do not change; one past the matrix's end does not fault.
#define CK_PREFETCH_AHEAD 2048
#define CK_PREFETCH_BLOCKS(p) _mm_prefetch((const char *)(p) + CK_PREFETCH_AHEAD, _MM_HINT_T0)

/// The driver of the block kernels' SIMD paths (quantized.c, quantized_k.c, quantized_lowbit.c): a function NAME
/// with ck_quantized_matmul's parameters, defined inside a path's target region. First the sums of x the min terms
/// need: NSUM(type, k) per activation row, sum s of row xr being SUM(type, xr, s) (none for types without mins).
/// Then weight rows in tiles of about 64 KB, each tile multiplied with every group of activation rows while it
/// is in L2 (a matrix larger than the caches is read from memory once, not once per group): the m rows are split
/// into ⌈m / ck_group_rows(type)⌉ groups of consecutive rows, as even as can be.
/// ROWS(type, mr, row, r, scales, mins, k, xi, ldx, xs, ns, out, ldo, accumulate) multiplies weight row r (`row`)
/// with the group's mr rows xi (their sums xs, ns per row) into out[i·ldo + r]. Each output's arithmetic involves
/// only its own weight row and activation row (the group shares the code conversions, which are exact), so neither
/// the tiling nor the grouping changes any bits (`QuantizedMatrixTests.outputsDoNotDependOnTheRowGroups`).
#define CK_BLOCK_DRIVER(NAME, NSUM, SUM, ROWS)                                                                        \
static void NAME(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins, long r0,        \
                 long r1, long k, const float *x, long ldx, long m, float *out, long ldo, int accumulate) {          \
    const long ns = NSUM(type, k);                                                                                    \
    float stack_sums[8 * 64];                                                                                         \
    float *xsum = m * ns <= 8 * 64 ? stack_sums : (float *)malloc(sizeof(float) * (size_t)(m * ns));                \
    for (long i = 0; i < m; i++)                                                                                      \
        for (long s = 0; s < ns; s++) xsum[i * ns + s] = SUM(type, x + i * ldx, s);                                   \
    const long tile = row_bytes >= 65536 / 16 ? 16 : 65536 / row_bytes;                                               \
    const long cap = ck_group_rows(type), groups = (m + cap - 1) / cap;                                               \
    for (long t0 = r0; t0 < r1; t0 += tile) {                                                                         \
        const long t1 = t0 + tile < r1 ? t0 + tile : r1;                                                              \
        for (long g = 0; g < groups; g++) {                                                                           \
            const long i0 = g * m / groups, mr = (g + 1) * m / groups - i0;                                           \
            for (long r = t0; r < t1; r++)                                                                            \
                ROWS(type, mr, w + (size_t)r * row_bytes, r, scales, mins, k, x + i0 * ldx, ldx, xsum + i0 * ns, ns,  \
                     out + i0 * ldo, ldo, accumulate);                                                                \
        }                                                                                                             \
    }                                                                                                                 \
    if (xsum != stack_sums) free(xsum);                                                                               \
}
#endif

/// Dequantizes one block of `type` into w (exact).
typedef void (*ck_dequant_block_fn)(int type, const uint8_t *blk, float *w);

/// The portable path of the block kernels: out[i·ldo + r] (+)= Σⱼ W[r][j]·x[i][j] for rows [r0, r1), each block of
/// `per` weights (`block_bytes` bytes) dequantized by `dequant`, each output one sum of the products in element
/// order, without FMA contraction (quantized.c).
void ck_blocks_generic(ck_dequant_block_fn dequant, int type, long per, long block_bytes, const uint8_t *w,
                       long row_bytes, long r0, long r1, long k, const float *x, long ldx, long m, float *out,
                       long ldo, int accumulate);

#endif
