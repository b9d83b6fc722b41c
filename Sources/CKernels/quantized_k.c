// Products of GGML K-quant weight rows (super-blocks of 256 weights, ggml-quants.c layouts) with Float32
// activations, for decode steps of few rows:
//   Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit scales sc_s and mins m_s (get_scale_min_k4), 128 bytes of
//        nibbles; sub-block s (0…7) of 32: element l = nibble (s odd: high, else low) of byte 32·⌊s/2⌋ + l;
//        w = (d·sc_s)·q − dmin·m_s.
//   Q5_K (176 bytes): as Q4_K with 32 bytes qh before the nibbles; the fifth bit of element l of sub-block s is bit s
//        of qh[l]; w = (d·sc_s)·q − dmin·m_s, q of 5 bits.
//   Q6_K (210 bytes): 128 bytes ql (low nibbles), 64 bytes qh (2 high bits), 16 int8 scales, f16 d; element e of
//        half h = ⌊e/128⌋, r = e mod 128, group g = ⌊r/32⌋, l = r mod 32: low nibble (g ≥ 2: high) of
//        ql[64h + 32·(g mod 2) + l], high bits (qh[32h + l] >> 2g) & 3; w = (d·sc_{⌊e/16⌋})·(q − 32).
// ck_quantized_k_scales decodes, once per matrix, each group of 32 weights' Float32 scale and min:
//   Q4_K, Q5_K: scale = d·sc_s, min = dmin·m_s (both exact products of a binary16 and a 6-bit integer);
//   Q6_K: scale = d, min = 0 (the int8 sub-block scales are folded into the codes: c = sc·(q − 32), an integer of
//   at most 13 bits, so d·c is exactly ggml's (d·sc)·(q − 32)).
// The SIMD kernels then follow quantized.c's row_kernel exactly: a group's 32 codes are converted to floats once
// and shared by up to 8 activation rows; per row and group t = q₀x₀ + q₂x₂, u = q₁x₁ + q₃x₃ (8 lanes each, one
// FMA), acc = fma(t + u, scale, acc); the mins enter through per-group sums of x in one scalar FMA chain,
//   out = Σ_lanes acc − Σ_groups min·Σ_{j∈group} xⱼ,
// equal to Σⱼ wⱼxⱼ up to Float32 rounding. The AVX-512 kernel does the same operations lane for lane on 16-lane
// registers (see row_kernel512 in quantized.c), so it gives the AVX2 kernel's bits. The portable loop dequantizes
// each super-block as ggml does (Float32, same operation order) and sums wⱼxⱼ in index order.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

static uint16_t read_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static int k_block_bytes(int type) { return type == CK_Q4_K ? 144 : type == CK_Q5_K ? 176 : 210; }

// Scale and min of sub-block s (0…7) from the 12 packed bytes of Q4_K/Q5_K (ggml's get_scale_min_k4).
static void scale_min_k4(int s, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (s < 4) {
        *sc = q[s] & 63;
        *m = q[s + 4] & 63;
    } else {
        *sc = (uint8_t)((q[s + 4] & 0x0F) | ((q[s - 4] >> 6) << 4));
        *m = (uint8_t)((q[s + 4] >> 4) | ((q[s] >> 6) << 4));
    }
}

void ck_quantized_k_scales(int type, const uint8_t *w, long row_bytes, long rows, long k, float *scales,
                           float *mins) {
    const long nsb = k / 256, ng = k / 32, bb = k_block_bytes(type);
    for (long r = 0; r < rows; r++)
        for (long b = 0; b < nsb; b++) {
            const uint8_t *blk = w + (size_t)r * row_bytes + b * bb;
            float *sc = scales + r * ng + b * 8, *mn = mins + r * ng + b * 8;
            if (type == CK_Q6_K) {
                const float d = ck_half_to_float(read_u16(blk + 208));
                for (int g = 0; g < 8; g++) { sc[g] = d; mn[g] = 0; }
            } else {
                const float d = ck_half_to_float(read_u16(blk)), dmin = ck_half_to_float(read_u16(blk + 2));
                for (int s = 0; s < 8; s++) {
                    uint8_t a, m;
                    scale_min_k4(s, blk + 4, &a, &m);
                    sc[s] = d * (float)a;
                    mn[s] = dmin * (float)m;
                }
            }
        }
}

// One super-block dequantized as ggml-quants.c's dequantize_row_q4_K / _q5_K / _q6_K (Float32, same operations).
#pragma clang fp contract(off)
static void dequant_superblock(int type, const uint8_t *blk, float *y) {
    if (type == CK_Q6_K) {
        const float d = ck_half_to_float(read_u16(blk + 208));
        const uint8_t *ql = blk, *qh = blk + 128;
        const int8_t *sc = (const int8_t *)(blk + 192);
        for (int n = 0; n < 256; n += 128) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[n + l] = d * (float)sc[is] * (float)q1;
                y[n + l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[n + l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[n + l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
            ql += 64; qh += 32; sc += 8;
        }
        return;
    }
    const int five = type == CK_Q5_K;
    const float d = ck_half_to_float(read_u16(blk)), dmin = ck_half_to_float(read_u16(blk + 2));
    const uint8_t *qh = blk + 16, *q = blk + (five ? 48 : 16);
    for (int s = 0; s < 8; s++) {
        uint8_t a, m;
        scale_min_k4(s, blk + 4, &a, &m);
        const float dl = d * (float)a, ml = dmin * (float)m;
        const uint8_t *qs = q + (s / 2) * 32;
        for (int l = 0; l < 32; l++) {
            int v = (s & 1) ? qs[l] >> 4 : qs[l] & 0xF;
            if (five) v += ((qh[l] >> s) & 1) ? 16 : 0;
            const float p = dl * (float)v;
            y[s * 32 + l] = p - ml;
        }
    }
}

#pragma clang fp contract(on)

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

/// The codes of half `half` (elements 16·half … 16·half + 15) of group g of a Q4_K super-block (0…15) as 16 bytes
/// repeated in both 128-bit lanes (a broadcast load), for the in-lane conversions ck_bytes_lo_unsigned /
/// ck_bytes_hi_unsigned (internal.h). One thread on Zen 3, 65,536 × 1024 Q4_K: 10.1 -> 12.6 G weights/s at one
/// activation row, 5.2 -> 5.9 at four. The same for Q6_K's signed codes (ck_bytes_*_signed) measured no faster
/// (7.3 against 6.9–7.2), so Q6_K and Q5_K keep group_codes and the register extends.
static inline __attribute__((always_inline)) __m256i q4_k_half_codes(const uint8_t *blk, int g, int half) {
    const __m256i v = ck_broadcast16(blk + 16 + (g / 2) * 32 + 16 * half);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    return g % 2 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), low4) : _mm256_and_si256(v, low4);
}

/// The 32 codes of group g (0…7) of a super-block as 32 bytes: Q4_K/Q5_K unsigned (0…15 / 0…31), Q6_K signed
/// q − 32 (−32…31). `qh` is the super-block's 32 qh bytes (Q5_K) or its half's (Q6_K, g within the half: g mod 4).
static inline __attribute__((always_inline)) __m256i group_codes(int type, const uint8_t *blk, int g) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    if (type == CK_Q6_K) {
        const int h = g / 4, gg = g % 4;
        const __m256i ql = _mm256_loadu_si256((const __m256i *)(blk + 64 * h + 32 * (gg % 2)));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h));
        const __m256i lo = gg < 2 ? _mm256_and_si256(ql, low4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), low4);
        __m256i hi; // ((qh >> 2gg) & 3) << 4
        switch (gg) {
        case 0: hi = _mm256_slli_epi16(qh, 4); break;
        case 1: hi = _mm256_slli_epi16(qh, 2); break;
        case 2: hi = qh; break;
        default: hi = _mm256_srli_epi16(qh, 2); break;
        }
        hi = _mm256_and_si256(hi, _mm256_set1_epi8(0x30));
        return _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32));
    }
    const uint8_t *qs = blk + (type == CK_Q5_K ? 48 : 16) + (g / 2) * 32;
    const __m256i v = _mm256_loadu_si256((const __m256i *)qs);
    __m256i c = g % 2 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), low4) : _mm256_and_si256(v, low4);
    if (type == CK_Q5_K) { // bit g of qh[l] → bit 4
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 16));
        const __m256i five = g <= 4 ? _mm256_slli_epi16(qh, 4 - g) : _mm256_srli_epi16(qh, g - 4);
        c = _mm256_or_si256(c, _mm256_and_si256(five, _mm256_set1_epi8(0x10)));
    }
    return c;
}

// One weight row against MR activation rows (MR ≤ 8): quantized.c's row_kernel per group of 32.
static inline __attribute__((always_inline)) void row_kernel_k(const int MR, const int type, const uint8_t *row,
                                                               long nsb, const float *scale, const float *shift,
                                                               const float *x, long ldx, const float *xsum, long ng,
                                                               float *out, long ldo, int accumulate) {
    __m256 acc[8];
    float mterm[8];
    for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_ps(); mterm[i] = 0; }
    const long bb = k_block_bytes(type);
    for (long b = 0; b < nsb; b++) {
        const uint8_t *blk = row + b * bb;
#pragma clang loop unroll(full)
        for (int g = 0; g < 8; g++) {
            __m256 q0, q1, q2, q3;
            if (type == CK_Q4_K) {
                const __m256i h0 = q4_k_half_codes(blk, g, 0), h1 = q4_k_half_codes(blk, g, 1);
                q0 = ck_bytes_lo_unsigned(h0);
                q1 = ck_bytes_hi_unsigned(h0);
                q2 = ck_bytes_lo_unsigned(h1);
                q3 = ck_bytes_hi_unsigned(h1);
            } else {
                const __m256i c = group_codes(type, blk, g);
                const __m128i c0 = _mm256_castsi256_si128(c), c1 = _mm256_extracti128_si256(c, 1);
                if (type == CK_Q6_K) {
                    const int8_t *sc = (const int8_t *)(blk + 192) + 2 * g;
                    const __m256 sa = _mm256_set1_ps((float)sc[0]), sb = _mm256_set1_ps((float)sc[1]);
                    q0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c0)), sa);
                    q1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c0, 8))), sa);
                    q2 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c1)), sb);
                    q3 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c1, 8))), sb);
                } else {
                    q0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c0));
                    q1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c0, 8)));
                    q2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c1));
                    q3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c1, 8)));
                }
            }
            const long gi = b * 8 + g;
            const __m256 d = _mm256_broadcast_ss(scale + gi);
            for (int i = 0; i < MR; i++) {
                const float *xb = x + i * ldx + gi * 32;
                __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xb));
                __m256 u = _mm256_mul_ps(q1, _mm256_loadu_ps(xb + 8));
                t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xb + 16), t);
                u = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xb + 24), u);
                acc[i] = _mm256_fmadd_ps(_mm256_add_ps(t, u), d, acc[i]);
                if (type != CK_Q6_K) mterm[i] = __builtin_fmaf(shift[gi], xsum[i * ng + gi], mterm[i]);
            }
        }
    }
    for (int i = 0; i < MR; i++) {
        const float s = ck_hsum8(acc[i]) - mterm[i];
        out[i * ldo] = accumulate ? out[i * ldo] + s : s;
    }
}

// Both SIMD paths run CK_BLOCK_DRIVER (internal.h) with their row kernel, the type a compile-time constant in
// each; Q4_K and Q5_K subtract a min term per group of 32, from the groups' sums of x (none for Q6_K).
static inline long k_sum_count(int type, long k) { return type == CK_Q6_K ? 0 : k / 32; }
#define K_SUM(type, xr, s) ck_sum32((xr) + 32 * (s))
#define K_CALL(MR, T) K_KERNEL(MR, T, row, nsb, sc, sh, xi, ldx, xs, ns, out + r, ldo, accumulate)
#define K_CALL_Q4(MR) K_CALL(MR, CK_Q4_K)
#define K_CALL_Q5(MR) K_CALL(MR, CK_Q5_K)
#define K_CALL_Q6(MR) K_CALL(MR, CK_Q6_K)
#define K_ROWS(NAME)                                                                                                  \
static inline __attribute__((always_inline)) void NAME(int type, long mr, const uint8_t *row, long r,               \
        const float *scales, const float *mins, long k, const float *xi, long ldx, const float *xs, long ns,         \
        float *out, long ldo, int accumulate) {                                                                       \
    const long nsb = k / 256, ng = k / 32;                                                                            \
    const float *sc = scales + (size_t)r * ng, *sh = mins + (size_t)r * ng;                                           \
    if (type == CK_Q4_K) { CK_MR_CASES(mr, K_CALL_Q4) }                                                               \
    else if (type == CK_Q5_K) { CK_MR_CASES(mr, K_CALL_Q5) }                                                          \
    else { CK_MR_CASES(mr, K_CALL_Q6) }                                                                               \
}

#define K_KERNEL row_kernel_k
K_ROWS(k_rows_avx2)
CK_BLOCK_DRIVER(quantized_k_avx2, k_sum_count, K_SUM, k_rows_avx2)
#undef K_KERNEL
#pragma clang attribute pop

// AVX-512: row_kernel_k's arithmetic on 16-lane registers. Codes 0–15 of a group convert into one register (qa:
// q₀ in lanes 0–7, q₁ in 8–15) and 16–31 into another (qb: q₂, q₃); for Q6_K each of them is exactly one sub-block
// of 16, multiplied by its scale. fma(qb, x₁₆…₃₁, qa·x₀…₁₅) holds row_kernel_k's t in lanes 0–7 and u in 8–15;
// t + u is FMA-ed into the same 8-lane accumulator, and the min term and the reduction are row_kernel_k's.
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)

static inline __attribute__((always_inline)) void row_kernel_k512(const int MR, const int type, const uint8_t *row,
                                                                  long nsb, const float *scale, const float *shift,
                                                                  const float *x, long ldx, const float *xsum,
                                                                  long ng, float *out, long ldo, int accumulate) {
    __m256 acc[8];
    float mterm[8];
    for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_ps(); mterm[i] = 0; }
    const long bb = k_block_bytes(type);
    for (long b = 0; b < nsb; b++) {
        const uint8_t *blk = row + b * bb;
#pragma clang loop unroll(full)
        for (int g = 0; g < 8; g++) {
            const __m256i c = group_codes(type, blk, g);
            const __m128i c0 = _mm256_castsi256_si128(c), c1 = _mm256_extracti128_si256(c, 1);
            __m512 qa, qb;
            if (type == CK_Q6_K) {
                const int8_t *sc = (const int8_t *)(blk + 192) + 2 * g;
                qa = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c0)), _mm512_set1_ps((float)sc[0]));
                qb = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c1)), _mm512_set1_ps((float)sc[1]));
            } else {
                qa = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(c0));
                qb = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(c1));
            }
            const long gi = b * 8 + g;
            const __m256 d = _mm256_broadcast_ss(scale + gi);
            for (int i = 0; i < MR; i++) {
                const float *xb = x + i * ldx + gi * 32;
                const __m512 tu = _mm512_fmadd_ps(qb, _mm512_loadu_ps(xb + 16), _mm512_mul_ps(qa, _mm512_loadu_ps(xb)));
                const __m256 t = _mm512_castps512_ps256(tu);
                const __m256 u = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(tu), 1));
                acc[i] = _mm256_fmadd_ps(_mm256_add_ps(t, u), d, acc[i]);
                if (type != CK_Q6_K) mterm[i] = __builtin_fmaf(shift[gi], xsum[i * ng + gi], mterm[i]);
            }
        }
    }
    for (int i = 0; i < MR; i++) {
        const float s = ck_hsum8(acc[i]) - mterm[i];
        out[i * ldo] = accumulate ? out[i * ldo] + s : s;
    }
}

#define K_KERNEL row_kernel_k512
K_ROWS(k_rows_avx512)
CK_BLOCK_DRIVER(quantized_k_avx512, k_sum_count, K_SUM, k_rows_avx512)
#undef K_KERNEL
#pragma clang attribute pop
#endif

void ck_quantized_k_matmul(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                           long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                           int accumulate, int use_simd) {
#if defined(__x86_64__)
    const int path = ck_resolve_path(use_simd);
    if (path == CK_PATH_AVX512) {
        quantized_k_avx512(type, w, row_bytes, scales, mins, r0, r1, k, x, ldx, m, out, ldo, accumulate);
        return;
    }
    if (path == CK_PATH_AVX2) {
        quantized_k_avx2(type, w, row_bytes, scales, mins, r0, r1, k, x, ldx, m, out, ldo, accumulate);
        return;
    }
#endif
    (void)use_simd;
    (void)scales;
    (void)mins;
    ck_blocks_generic(dequant_superblock, type, 256, k_block_bytes(type), w, row_bytes, r0, r1, k, x, ldx, m, out,
                      ldo, accumulate);
}
