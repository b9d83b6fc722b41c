// Products of GGML block-quantized weight rows (Q4_1, Q8_0) with activations quantized to 8 bits per block of 32,
// as llama.cpp does for its CPU dot products (ggml-quants.c: quantize_row_q8_0 / q8_1 and
// ggml_vec_dot_q4_1_q8_1, ggml_vec_dot_q8_0_q8_0). Approximate: each activation is rounded to one of 255 levels
// of its block's max |x| (relative error up to 1/254 of that max), so greedy text can differ from the Float32
// path where the top two logits are close. Integer block sums, one Float32 scale per block:
//   Q4_1: Σⱼ wⱼ·x̂ⱼ = d_w·d_x·Σⱼ qⱼ·q̂ⱼ + m_w·Σⱼ x̂ⱼ          Q8_0: d_w·d_x·Σⱼ qⱼ·q̂ⱼ
// where x̂ⱼ = d_x·q̂ⱼ is the quantized activation.
#include "internal.h"
#include <math.h>
#include <stdlib.h>

void ck_quantize_q8(const float *x, long ldx, long m, long k, int8_t *q, float *d, float *s) {
    const long nb = k / 32;
    for (long i = 0; i < m; i++)
        for (long b = 0; b < nb; b++) {
            const float *xb = x + i * ldx + b * 32;
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
            const float scale = amax / 127, inv = scale > 0 ? 1 / scale : 0;
            int8_t *qb = q + (i * nb + b) * 32;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                const int v = (int)nearbyintf(xb[j] * inv);
                qb[j] = (int8_t)v;
                sum += v;
            }
            d[i * nb + b] = scale;
            s[i * nb + b] = scale * (float)sum;
        }
}

static void q8_generic(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins, long r0,
                       long r1, long k, const int8_t *q, const float *d, const float *s, long m, float *out, long ldo,
                       int accumulate) {
    const long nb = k / 32, bb = ck_block_bytes(type);
    for (long r = r0; r < r1; r++)
        for (long i = 0; i < m; i++) {
            float acc = 0;
            for (long b = 0; b < nb; b++) {
                const uint8_t *blk = w + (size_t)r * row_bytes + b * bb;
                const int8_t *qb = q + (i * nb + b) * 32;
                int isum = 0;
                if (type == CK_Q4_1) {
                    for (int j = 0; j < 16; j++) isum += (blk[4 + j] & 0x0F) * qb[j] + (blk[4 + j] >> 4) * qb[j + 16];
                    acc += scales[r * nb + b] * d[i * nb + b] * (float)isum + mins[r * nb + b] * s[i * nb + b];
                } else {
                    for (int j = 0; j < 32; j++) isum += (int8_t)blk[2 + j] * qb[j];
                    acc += scales[r * nb + b] * d[i * nb + b] * (float)isum;
                }
            }
            float *o = out + (size_t)i * ldo + r;
            *o = accumulate ? *o + acc : acc;
        }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

// One weight row against MR quantized activation rows (MR ≤ 4). Per block: the 32 codes as unsigned bytes
// (Q4_1) or with their signs moved onto the activations (Q8_0, as ggml's mul_sum_i8_pairs), u8×s8 pair sums
// (vpmaddubsw, |pair| ≤ 2·127·127 fits int16), widened to int32 (vpmaddwd with ones), then one FMA in Float32.
static inline __attribute__((always_inline)) void row_q8(const int MR, int type, const uint8_t *row, long nb,
                                                         const float *scale, const float *shift, const int8_t *q,
                                                         const float *d, const float *s, float *out, long ldo,
                                                         int accumulate) {
    __m256 acc[4];
    float mterm[4];
    for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_ps(); mterm[i] = 0; }
    const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (long b = 0; b < nb; b++) {
        __m256i wq;
        if (type == CK_Q4_1) {
            const __m128i raw = _mm_loadu_si128((const __m128i *)(row + b * 20 + 4));
            wq = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1), low4);
        } else {
            wq = _mm256_loadu_si256((const __m256i *)(row + b * 34 + 2));
        }
        const __m256i wabs = type == CK_Q4_1 ? wq : _mm256_sign_epi8(wq, wq);
        for (int i = 0; i < MR; i++) {
            __m256i y = _mm256_loadu_si256((const __m256i *)(q + (i * nb + b) * 32));
            if (type != CK_Q4_1) y = _mm256_sign_epi8(y, wq);
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, y), ones);
            acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(scale[b] * d[i * nb + b]), acc[i]);
            if (type == CK_Q4_1) mterm[i] += shift[b] * s[i * nb + b];
        }
    }
    for (int i = 0; i < MR; i++) {
        const float v = ck_hsum8(acc[i]) + mterm[i];
        out[i * ldo] = accumulate ? out[i * ldo] + v : v;
    }
}

static void q8_avx2(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins, long r0, long r1,
                    long k, const int8_t *q, const float *d, const float *s, long m, float *out, long ldo, int accumulate) {
    const long nb = k / 32;
    for (long i0 = 0; i0 < m; i0 += 4) {
        const long mr = m - i0 < 4 ? m - i0 : 4;
        const int8_t *qi = q + i0 * nb * 32;
        const float *di = d + i0 * nb, *si = s + i0 * nb;
        float *oi = out + i0 * ldo;
        for (long r = r0; r < r1; r++) {
            const uint8_t *row = w + (size_t)r * row_bytes;
            const float *sc = scales + (size_t)r * nb, *sh = mins + (size_t)r * nb;
            switch (mr) {
            case 1: row_q8(1, type, row, nb, sc, sh, qi, di, si, oi + r, ldo, accumulate); break;
            case 2: row_q8(2, type, row, nb, sc, sh, qi, di, si, oi + r, ldo, accumulate); break;
            case 3: row_q8(3, type, row, nb, sc, sh, qi, di, si, oi + r, ldo, accumulate); break;
            default: row_q8(4, type, row, nb, sc, sh, qi, di, si, oi + r, ldo, accumulate); break;
            }
        }
    }
}
#pragma clang attribute pop
#endif

void ck_quantized_matmul_q8(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                            long r0, long r1, long k, const int8_t *q, const float *d, const float *s, long m,
                            float *out, long ldo, int accumulate, int use_simd) {
#if defined(__x86_64__)
    // Both SIMD paths run the AVX2 kernel (its block sums are exact integers; no AVX-512 variant yet).
    if (ck_resolve_path(use_simd) != CK_PATH_PORTABLE) {
        q8_avx2(type, w, row_bytes, scales, mins, r0, r1, k, q, d, s, m, out, ldo, accumulate);
        return;
    }
#endif
    (void)use_simd;
    q8_generic(type, w, row_bytes, scales, mins, r0, r1, k, q, d, s, m, out, ldo, accumulate);
}
