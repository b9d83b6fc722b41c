// Products of GGML low-bit weight rows (ggml-quants.c layouts: block_q5_1, block_q2_K, block_q3_K) with Float32
// activations, for decode steps of few rows, in quantized_k.c's scheme:
//   Q5_1 (24 bytes, 32 weights): f16 d, f16 m, u32 qh, qs[16]; element j < 16 = low nibble of qs[j] with bit j of
//        qh as fifth bit, element j + 16 = high nibble of qs[j] with bit j + 16; w = d·q + m (q 0…31).
//   Q2_K (84 bytes, 256 weights): scales[16] (sub-block s of 16 weights: 4-bit scale sc_s = low nibble of
//        scales[s], 4-bit min m_s = high nibble), qs[64], f16 d, f16 dmin; element e, group g = ⌊e/32⌋ (0…7),
//        l = e mod 32: q = (qs[32·⌊g/4⌋ + l] >> 2·(g mod 4)) & 3; w = (d·sc_s)·q − dmin·m_s, s = ⌊e/16⌋.
//   Q3_K (110 bytes, 256 weights): hmask[32], qs[64], scales[12] (6-bit packed), f16 d; q₂ from qs as for Q2_K,
//        high bit h = bit g of hmask[l], q = q₂ − 4·(1 − h) = (q₂ | 4h) − 4 (−4…3); 6-bit scale of sub-block
//        i (0…15): low 4 bits = low nibble of scales[i] (i < 8) or high nibble of scales[i − 8], high 2 bits =
//        (scales[8 + i mod 4] >> 2·⌊i/4⌋) & 3; w = (d·(s_i − 32))·q.
// ck_quantized_lowbit_scales decodes, once per matrix, each group of 32 weights' Float32 scale and min:
//   Q5_1: scale = d, min = m (added; d·q is exact: an 11-bit significand times a 5-bit integer).
//   Q2_K: scale = d, min = dmin for all 8 groups of a super-block. The 4-bit sub-block scales are folded into the
//        codes, c = sc_s·q (an integer 0…45): d·c equals ggml's (d·sc_s)·q exactly, as d·sc_s (≤ 15 significant
//        bits) and its product with q (≤ 17 bits) are both exact in Float32. The 4-bit mins stay in the block: the
//        min term of a super-block is dmin·Σ_s m_s·X_s over its 16 sub-blocks (X_s = Σ of x over sub-block s),
//        and dmin·m_s is ggml's ml exactly (≤ 15 bits). So the kernel's weights are ggml's before ggml's one
//        rounding of dl·q − ml to Float32 (as for Q4_K).
//   Q3_K: scale = d, min = 0. The sub-block scales are folded into the codes, c = (s_i − 32)·q, an integer in
//        −124…128 (exact as a float; 128 does not fit int8, so the product is formed in Float32 as Q6_K's): d·c
//        equals ggml's (d·(s_i − 32))·q exactly (≤ 17, then ≤ 20 significant bits), so the kernel's weights are
//        ggml's with no rounding at all.
// The AVX2 kernels follow quantized_k.c's row_kernel_k: a group's 32 codes are converted to floats once (times
// the sub-block scales for Q2_K/Q3_K, exact) and shared by up to 8 activation rows; per row and group
// t = q₀x₀ + q₂x₂, u = q₁x₁ + q₃x₃ (8 lanes each, one FMA), acc = fma(t + u, scale, acc). The mins enter through
// sums of x: Q5_1 per block of 32 (ck_sum32 in internal.h) in one scalar FMA chain, out = Σ_lanes acc +
// Σ_b m_b·X_b; Q2_K per sub-block of 16 ((x₀…₇ + x₈…₁₅) lane-wise, then hsum8), per super-block
// v = m₀…₇·X₀…₇ + m₈…₁₅·X₈…₁₅ (8 lanes, one FMA), macc = fma(v, dmin, macc), out = Σ_lanes acc − Σ_lanes macc.
// Each equals Σⱼ wⱼxⱼ up to Float32 rounding. No AVX-512 kernel: on AVX-512 machines these types run the AVX2
// kernel (so the AVX-512 path gives the AVX2 bits by construction); an AVX-512 variant would have to be written
// and tested on such a CPU. The portable loop dequantizes each block as ggml does (Float32, same operation order)
// and sums wⱼxⱼ in index order.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

static uint16_t read_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/// Bytes of one block (Q5_1: 32 weights) or super-block (Q2_K, Q3_K: 256 weights).
static long lowbit_block_bytes(int type) { return type == CK_Q5_1 ? 24 : type == CK_Q2_K ? 84 : 110; }

/// The 16 6-bit sub-block scales of a Q3_K super-block minus 32 (`p` = its 12 packed bytes).
static void q3_k_scales(const uint8_t *p, int *s) {
    for (int i = 0; i < 16; i++) {
        const int low = i < 8 ? p[i] & 0x0F : p[i - 8] >> 4;
        const int high = (p[8 + i % 4] >> (2 * (i / 4))) & 3;
        s[i] = (low | (high << 4)) - 32;
    }
}

void ck_quantized_lowbit_scales(int type, const uint8_t *w, long row_bytes, long rows, long k, float *scales,
                                float *mins) {
    const long ng = k / 32, bb = lowbit_block_bytes(type);
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        float *sc = scales + r * ng, *mn = mins + r * ng;
        if (type == CK_Q5_1) {
            for (long b = 0; b < ng; b++) {
                sc[b] = ck_half_to_float(read_u16(row + b * bb));
                mn[b] = ck_half_to_float(read_u16(row + b * bb + 2));
            }
        } else {
            for (long b = 0; b < ng / 8; b++) {
                const uint8_t *blk = row + b * bb;
                const float d = ck_half_to_float(read_u16(blk + (type == CK_Q2_K ? 80 : 108)));
                const float dmin = type == CK_Q2_K ? ck_half_to_float(read_u16(blk + 82)) : 0;
                for (int g = 0; g < 8; g++) { sc[b * 8 + g] = d; mn[b * 8 + g] = dmin; }
            }
        }
    }
}

// One block (Q5_1) or super-block (Q2_K, Q3_K) dequantized as ggml-quants.c's dequantize_row_q5_1 / _q2_K / _q3_K
// (Float32, same operations).
#pragma clang fp contract(off)
static void dequant_block(int type, const uint8_t *blk, float *y) {
    if (type == CK_Q5_1) {
        const float d = ck_half_to_float(read_u16(blk)), m = ck_half_to_float(read_u16(blk + 2));
        uint32_t qh;
        memcpy(&qh, blk + 4, 4);
        const uint8_t *qs = blk + 8;
        for (int j = 0; j < 16; j++) {
            const int x0 = (qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10);
            const int x1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
            y[j] = (float)x0 * d + m;
            y[j + 16] = (float)x1 * d + m;
        }
        return;
    }
    if (type == CK_Q2_K) {
        const float d = ck_half_to_float(read_u16(blk + 80)), dmin = ck_half_to_float(read_u16(blk + 82));
        const uint8_t *q = blk + 16;
        int is = 0;
        for (int n = 0; n < 256; n += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const uint8_t sc = blk[is++];
                    const float dl = d * (float)(sc & 0x0F), ml = dmin * (float)(sc >> 4);
                    for (int l = 0; l < 16; l++) {
                        const float p = dl * (float)((q[l + 16 * half] >> shift) & 3);
                        *y++ = p - ml;
                    }
                }
            }
            q += 32;
        }
        return;
    }
    const float d = ck_half_to_float(read_u16(blk + 108));
    int s[16];
    q3_k_scales(blk + 96, s);
    const uint8_t *q = blk + 32, *hm = blk;
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < 256; n += 128) {
        for (int shift = 0; shift < 8; shift += 2) {
            for (int half = 0; half < 2; half++) {
                const float dl = d * (float)s[is++];
                for (int l = 16 * half; l < 16 * half + 16; l++)
                    *y++ = dl * (float)(((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
            }
            m <<= 1;
        }
        q += 32;
    }
}

#pragma clang fp contract(on)

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

/// The 32 codes 0…31 of a Q5_1 block as 32 bytes, in element order: the nibbles, and bit e of qh spread to bit 4
/// of byte e (qh broadcast, byte ⌊e/8⌋ moved to byte e, bit e mod 8 tested).
static inline __attribute__((always_inline)) __m256i q5_1_codes(const uint8_t *blk) {
    const __m128i low4 = _mm_set1_epi8(0x0F);
    const __m128i qs = _mm_loadu_si128((const __m128i *)(blk + 8));
    const __m128i lo = _mm_and_si128(qs, low4), hi = _mm_and_si128(_mm_srli_epi16(qs, 4), low4);
    uint32_t qh;
    memcpy(&qh, blk + 4, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                               _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                                                 0x0101010101010101LL, 0));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i five = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(_mm256_set_m128i(hi, lo), five);
}

/// The 32 codes of group g (0…7) of a Q2_K (unsigned q, 0…3) or Q3_K (signed q, −4…3) super-block as 32 bytes.
static inline __attribute__((always_inline)) __m256i lowbit_k_codes(int type, const uint8_t *blk, int g) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + (type == CK_Q2_K ? 16 : 32) + 32 * (g / 4)));
    const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(v, 2 * (g % 4)), _mm256_set1_epi8(3));
    if (type == CK_Q2_K) return q2;
    const __m256i hm = _mm256_loadu_si256((const __m256i *)blk); // bit g of hmask[l] → bit 2
    const __m256i h = g <= 2 ? _mm256_slli_epi16(hm, 2 - g) : _mm256_srli_epi16(hm, g - 2);
    return _mm256_sub_epi8(_mm256_or_si256(q2, _mm256_and_si256(h, _mm256_set1_epi8(4))), _mm256_set1_epi8(4));
}

// One Q5_1 weight row against MR activation rows (MR ≤ 8): quantized_k.c's row_kernel_k per block of 32, the min
// added.
static inline __attribute__((always_inline)) void row_kernel_q5_1(const int MR, const uint8_t *row, long nb,
                                                                  const float *scale, const float *shift,
                                                                  const float *x, long ldx, const float *xsum,
                                                                  long ns, float *out, long ldo, int accumulate) {
    __m256 acc[8];
    float mterm[8];
    for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_ps(); mterm[i] = 0; }
    for (long b = 0; b < nb; b++) {
        const __m256i c = q5_1_codes(row + b * 24);
        const __m128i c0 = _mm256_castsi256_si128(c), c1 = _mm256_extracti128_si256(c, 1);
        const __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c0));
        const __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c0, 8)));
        const __m256 q2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c1));
        const __m256 q3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c1, 8)));
        const __m256 d = _mm256_broadcast_ss(scale + b);
        for (int i = 0; i < MR; i++) {
            const float *xb = x + i * ldx + b * 32;
            __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xb));
            __m256 u = _mm256_mul_ps(q1, _mm256_loadu_ps(xb + 8));
            t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xb + 16), t);
            u = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xb + 24), u);
            acc[i] = _mm256_fmadd_ps(_mm256_add_ps(t, u), d, acc[i]);
            mterm[i] = __builtin_fmaf(shift[b], xsum[i * ns + b], mterm[i]);
        }
    }
    for (int i = 0; i < MR; i++) {
        const float s = ck_hsum8(acc[i]) + mterm[i];
        out[i * ldo] = accumulate ? out[i * ldo] + s : s;
    }
}

// One Q2_K or Q3_K weight row against MR activation rows (MR ≤ 8): row_kernel_k per group of 32, with the
// sub-block scales multiplied into the codes; Q2_K's min term per super-block in 8 lanes.
static inline __attribute__((always_inline)) void row_kernel_lk(const int MR, const int type, const uint8_t *row,
                                                                long nsb, const float *scale, const float *shift,
                                                                const float *x, long ldx, const float *xsum,
                                                                long ns, float *out, long ldo, int accumulate) {
    __m256 acc[8], macc[8];
    for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_ps(); macc[i] = _mm256_setzero_ps(); }
    const long bb = lowbit_block_bytes(type);
    for (long b = 0; b < nsb; b++) {
        const uint8_t *blk = row + b * bb;
        // The 16 sub-block scales as floats: Q2_K sc_s (0…15), Q3_K s_i − 32 (−32…31; the 6-bit values unpacked
        // four at a time as in ggml's dequantize_row_q3_K).
        __m128i s8;
        if (type == CK_Q2_K) {
            s8 = _mm_and_si128(_mm_loadu_si128((const __m128i *)blk), _mm_set1_epi8(0x0F));
        } else {
            uint32_t a[4];
            memcpy(a, blk + 96, 12);
            const uint32_t t = a[2], k1 = 0x03030303, k2 = 0x0F0F0F0F;
            a[2] = ((a[0] >> 4) & k2) | (((t >> 4) & k1) << 4);
            a[3] = ((a[1] >> 4) & k2) | (((t >> 6) & k1) << 4);
            a[0] = (a[0] & k2) | ((t & k1) << 4);
            a[1] = (a[1] & k2) | (((t >> 2) & k1) << 4);
            s8 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)a), _mm_set1_epi8(32));
        }
        float sf[16];
        _mm256_storeu_ps(sf, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s8)));
        _mm256_storeu_ps(sf + 8, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(s8, 8))));
#pragma clang loop unroll(full)
        for (int g = 0; g < 8; g++) {
            const __m256i c = lowbit_k_codes(type, blk, g);
            const __m128i c0 = _mm256_castsi256_si128(c), c1 = _mm256_extracti128_si256(c, 1);
            const __m256 sa = _mm256_broadcast_ss(sf + 2 * g), sb = _mm256_broadcast_ss(sf + 2 * g + 1);
            const __m256 q0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c0)), sa);
            const __m256 q1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c0, 8))), sa);
            const __m256 q2 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c1)), sb);
            const __m256 q3 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c1, 8))), sb);
            const long gi = b * 8 + g;
            const __m256 d = _mm256_broadcast_ss(scale + gi);
            for (int i = 0; i < MR; i++) {
                const float *xb = x + i * ldx + gi * 32;
                __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xb));
                __m256 u = _mm256_mul_ps(q1, _mm256_loadu_ps(xb + 8));
                t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xb + 16), t);
                u = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xb + 24), u);
                acc[i] = _mm256_fmadd_ps(_mm256_add_ps(t, u), d, acc[i]);
            }
        }
        if (type == CK_Q2_K) {
            const __m128i mq = _mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)blk), 4), _mm_set1_epi8(0x0F));
            const __m256 m0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mq));
            const __m256 m1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(mq, 8)));
            const __m256 dmin = _mm256_broadcast_ss(shift + b * 8);
            for (int i = 0; i < MR; i++) {
                const float *xs = xsum + i * ns + b * 16;
                const __m256 v = _mm256_fmadd_ps(m1, _mm256_loadu_ps(xs + 8), _mm256_mul_ps(m0, _mm256_loadu_ps(xs)));
                macc[i] = _mm256_fmadd_ps(v, dmin, macc[i]);
            }
        }
    }
    for (int i = 0; i < MR; i++) {
        const float s = type == CK_Q2_K ? ck_hsum8(acc[i]) - ck_hsum8(macc[i]) : ck_hsum8(acc[i]);
        out[i * ldo] = accumulate ? out[i * ldo] + s : s;
    }
}

// The driver is CK_BLOCK_DRIVER (internal.h). The sums of x: Q5_1 per block of 32 (ck_sum32), Q2_K per sub-block
// of 16 (ck_sum16), none for Q3_K.
static inline long lowbit_sum_count(int type, long k) { return type == CK_Q5_1 ? k / 32 : type == CK_Q2_K ? k / 16 : 0; }
#define LOWBIT_SUM(type, xr, s) ((type) == CK_Q5_1 ? ck_sum32((xr) + 32 * (s)) : ck_sum16((xr) + 16 * (s)))
#define Q51(MR) row_kernel_q5_1(MR, row, ng, sc, sh, xi, ldx, xs, ns, out + r, ldo, accumulate)
#define Q2K(MR) row_kernel_lk(MR, CK_Q2_K, row, nsb, sc, sh, xi, ldx, xs, ns, out + r, ldo, accumulate)
#define Q3K(MR) row_kernel_lk(MR, CK_Q3_K, row, nsb, sc, sh, xi, ldx, xs, ns, out + r, ldo, accumulate)
static inline __attribute__((always_inline)) void lowbit_rows(int type, long mr, const uint8_t *row, long r,
                                                              const float *scales, const float *mins, long k,
                                                              const float *xi, long ldx, const float *xs, long ns,
                                                              float *out, long ldo, int accumulate) {
    const long ng = k / 32, nsb = k / 256;
    const float *sc = scales + (size_t)r * ng, *sh = mins + (size_t)r * ng;
    if (type == CK_Q5_1) { CK_MR_CASES(mr, Q51) }
    else if (type == CK_Q2_K) { CK_MR_CASES(mr, Q2K) }
    else { CK_MR_CASES(mr, Q3K) }
}
#undef Q51
#undef Q2K
#undef Q3K
CK_BLOCK_DRIVER(lowbit_avx2, lowbit_sum_count, LOWBIT_SUM, lowbit_rows)
#pragma clang attribute pop
#endif

void ck_quantized_lowbit_matmul(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                                long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                                int accumulate, int use_simd) {
#if defined(__x86_64__)
    const int path = ck_resolve_path(use_simd);
    if (path == CK_PATH_AVX2 || path == CK_PATH_AVX512) { // AVX-512 machines run the AVX2 kernel (see above)
        lowbit_avx2(type, w, row_bytes, scales, mins, r0, r1, k, x, ldx, m, out, ldo, accumulate);
        return;
    }
#endif
    (void)use_simd;
    (void)scales;
    (void)mins;
    ck_blocks_generic(dequant_block, type, type == CK_Q5_1 ? 32 : 256, lowbit_block_bytes(type), w, row_bytes, r0, r1,
                      k, x, ldx, m, out, ldo, accumulate);
}
