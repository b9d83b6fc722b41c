// Products of GGML block-quantized weight rows with Float32 activations (ggml-quants.c layouts):
//   Q4_1 block (20 bytes): f16 d, f16 m, 16 bytes; element j < 16 = low nibble of byte j, j + 16 = high nibble;
//        w = d·q + m.
//   Q5_0 block (22 bytes): f16 d, u32 of fifth bits, 16 bytes of nibbles; element j < 16 = low nibble of byte j
//        with bit j, j + 16 = high nibble with bit j + 16; w = d·(q − 16).
//   Q8_0 block (34 bytes): f16 d, 32 signed bytes; w = d·q.
// Each block is dequantized once into four 8-float registers and then multiplied with up to 8 activation rows.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

static uint16_t read_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void dequant_block(int type, const uint8_t *blk, float *w) {
    const float d = ck_half_to_float(read_u16(blk));
    if (type == CK_Q4_1) {
        const float mn = ck_half_to_float(read_u16(blk + 2));
        for (int j = 0; j < 16; j++) {
            w[j] = (float)(blk[4 + j] & 0x0F) * d + mn;
            w[j + 16] = (float)(blk[4 + j] >> 4) * d + mn;
        }
    } else if (type == CK_Q5_0) {
        for (int j = 0; j < 32; j++) w[j] = (float)ck_q5_0_code(blk, j) * d;
    } else {
        for (int j = 0; j < 32; j++) w[j] = (float)(int8_t)blk[2 + j] * d;
    }
}

#pragma clang fp contract(off)
void ck_blocks_generic(ck_dequant_block_fn dequant, int type, long per, long block_bytes, const uint8_t *w,
                       long row_bytes, long r0, long r1, long k, const float *x, long ldx, long m, float *out,
                       long ldo, int accumulate) {
    const long nb = k / per;
    float wb[256];
    for (long r = r0; r < r1; r++) {
        for (long i = 0; i < m; i++) {
            float acc = 0;
            for (long b = 0; b < nb; b++) {
                dequant(type, w + (size_t)r * row_bytes + b * block_bytes, wb);
                const float *xb = x + (size_t)i * ldx + b * per;
                for (long j = 0; j < per; j++) {
                    const float p = wb[j] * xb[j];
                    acc += p;
                }
            }
            float *o = out + (size_t)i * ldo + r;
            *o = accumulate ? *o + acc : acc;
        }
    }
}
#pragma clang fp contract(on)

#if defined(__x86_64__)
#include <immintrin.h>
// Both SIMD paths run CK_BLOCK_DRIVER (internal.h) with their row kernel; only Q4_1 has a min term, whose
// per-block sums of x the driver computes first.
static inline long q_sum_count(int type, long k) { return type == CK_Q4_1 ? k / 32 : 0; }
#define Q_SUM(type, xr, s) ck_sum32((xr) + 32 * (s))
#define Q_CALL_Q4_1(MR) Q_KERNEL(MR, CK_Q4_1, row, nb, sc, sh, xi, ldx, xs, out + r, ldo, accumulate)
#define Q_CALL_Q5_0(MR) Q_KERNEL(MR, CK_Q5_0, row, nb, sc, sh, xi, ldx, xs, out + r, ldo, accumulate)
#define Q_CALL_Q8_0(MR) Q_KERNEL(MR, CK_Q8_0, row, nb, sc, sh, xi, ldx, xs, out + r, ldo, accumulate)
// The rows function of one path: weight row r against the group's mr activation rows with KERNEL, compiled for
// each type and row count (a constant type lets the compiler drop the other types' code from the block loop).
#define Q_ROWS(NAME)                                                                                                  \
static inline __attribute__((always_inline)) void NAME(int type, long mr, const uint8_t *row, long r,               \
        const float *scales, const float *mins, long k, const float *xi, long ldx, const float *xs, long ns,         \
        float *out, long ldo, int accumulate) {                                                                       \
    const long nb = k / 32;                                                                                           \
    const float *sc = scales + (size_t)r * nb, *sh = mins + (size_t)r * nb;                                           \
    (void)ns;                                                                                                         \
    if (type == CK_Q4_1) { CK_MR_CASES(mr, Q_CALL_Q4_1) }                                                             \
    else if (type == CK_Q5_0) { CK_MR_CASES(mr, Q_CALL_Q5_0) }                                                        \
    else { CK_MR_CASES(mr, Q_CALL_Q8_0) }                                                                             \
}

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

// Eight signed bytes at p sign-extended to eight 32-bit lanes in one load-and-extend (vpmovsxbd ymm, m64). Q8_0's
// codes need no masking, and this form measured faster there than the shuffles (one thread, Zen 3, its 262,144-row
// embedding × 1 row: 15.0 against 12.7 G weights/s; a 16-byte load, a byte shift and a register extend per half
// gave 10.5–10.9).
static inline __attribute__((always_inline)) __m256i q_load8_signed(const uint8_t *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v));
}

// One weight row against MR activation rows (MR ≤ 8, a constant after inlining). Per block b and row i:
//   Σⱼ wⱼ·xⱼ = d_b · (Σⱼ qⱼ·xⱼ) + m_b · (Σⱼ xⱼ)
// The integer codes qⱼ are converted to floats once per block and shared by the MR rows; the block dot product
// is scaled by d_b with one FMA, and the m term uses the per-block sums of x (`xsum`, MR × nb) in a scalar.
static inline __attribute__((always_inline)) void row_kernel(const int MR, int type, const uint8_t *row, long nb,
                                                             const float *scale, const float *shift,
                                                             const float *x, long ldx, const float *xsum,
                                                             float *out, long ldo, int accumulate) {
    __m256 acc[8];
    float mterm[8];
    for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_ps(); mterm[i] = 0; }
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const long bb = ck_block_bytes(type);
    for (long b = 0; b < nb; b++) {
        CK_PREFETCH_BLOCKS(row + b * bb);
        __m256 q0, q1, q2, q3;
        if (type == CK_Q4_1) {
            const __m256i q = ck_broadcast16(row + b * 20 + 4);
            const __m256i lo = _mm256_and_si256(q, low4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
            q0 = ck_bytes_lo_unsigned(lo);
            q1 = ck_bytes_hi_unsigned(lo);
            q2 = ck_bytes_lo_unsigned(hi);
            q3 = ck_bytes_hi_unsigned(hi);
        } else if (type == CK_Q5_0) {
            const __m256i codes = ck_q5_0_codes_avx2(row + b * 22);
            const __m128i a = _mm256_castsi256_si128(codes), c = _mm256_extracti128_si256(codes, 1);
            q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a));
            q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8)));
            q2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c));
            q3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c, 8)));
        } else {
            const uint8_t *blk = row + b * 34 + 2;
            q0 = _mm256_cvtepi32_ps(q_load8_signed(blk));
            q1 = _mm256_cvtepi32_ps(q_load8_signed(blk + 8));
            q2 = _mm256_cvtepi32_ps(q_load8_signed(blk + 16));
            q3 = _mm256_cvtepi32_ps(q_load8_signed(blk + 24));
        }
        const __m256 d = _mm256_broadcast_ss(scale + b);
        for (int i = 0; i < MR; i++) {
            const float *xb = x + i * ldx + b * 32;
            __m256 t = _mm256_mul_ps(q0, _mm256_loadu_ps(xb));
            __m256 u = _mm256_mul_ps(q1, _mm256_loadu_ps(xb + 8));
            t = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xb + 16), t);
            u = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xb + 24), u);
            acc[i] = _mm256_fmadd_ps(_mm256_add_ps(t, u), d, acc[i]);
            if (type == CK_Q4_1) mterm[i] += shift[b] * xsum[i * nb + b];
        }
    }
    for (int i = 0; i < MR; i++) {
        const float s = ck_hsum8(acc[i]) + mterm[i];
        out[i * ldo] = accumulate ? out[i * ldo] + s : s;
    }
}

#define Q_KERNEL row_kernel
Q_ROWS(q_rows_avx2)
CK_BLOCK_DRIVER(quantized_avx2, q_sum_count, Q_SUM, q_rows_avx2)
#undef Q_KERNEL
#pragma clang attribute pop

// AVX-512: the same arithmetic as row_kernel, so the same bits. The 32 codes of a block are converted in two
// 16-lane registers (elements 0–15 and 16–31). Multiplying elements 0–15 with x and then FMA-ing elements 16–31
// gives, in lanes 0–7, row_kernel's t = fma(q₂, x₂, q₀·x₀) and in lanes 8–15 its u = fma(q₃, x₃, q₁·x₁); their
// sum t + u (the two 8-lane halves added) is then FMA-ed into the same 8-lane accumulator with d, and the m term
// and the final reduction are row_kernel's.
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)

static inline __attribute__((always_inline)) void row_kernel512(const int MR, int type, const uint8_t *row, long nb,
                                                                const float *scale, const float *shift,
                                                                const float *x, long ldx, const float *xsum,
                                                                float *out, long ldo, int accumulate) {
    __m256 acc[8];
    float mterm[8];
    for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_ps(); mterm[i] = 0; }
    const __m128i low4 = _mm_set1_epi8(0x0F);
    const long bb = ck_block_bytes(type);
    for (long b = 0; b < nb; b++) {
        CK_PREFETCH_BLOCKS(row + b * bb);
        __m512 qa, qb;
        if (type == CK_Q4_1) {
            const __m128i q = _mm_loadu_si128((const __m128i *)(row + b * 20 + 4));
            qa = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(q, low4)));
            qb = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(q, 4), low4)));
        } else if (type == CK_Q5_0) {
            const __m256i codes = ck_q5_0_codes_avx2(row + b * 22);
            qa = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(codes)));
            qb = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(codes, 1)));
        } else {
            const uint8_t *blk = row + b * 34;
            qa = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2))));
            qb = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18))));
        }
        const __m256 d = _mm256_broadcast_ss(scale + b);
        for (int i = 0; i < MR; i++) {
            const float *xb = x + i * ldx + b * 32;
            const __m512 tu = _mm512_fmadd_ps(qb, _mm512_loadu_ps(xb + 16), _mm512_mul_ps(qa, _mm512_loadu_ps(xb)));
            const __m256 t = _mm512_castps512_ps256(tu);
            const __m256 u = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(tu), 1));
            acc[i] = _mm256_fmadd_ps(_mm256_add_ps(t, u), d, acc[i]);
            if (type == CK_Q4_1) mterm[i] += shift[b] * xsum[i * nb + b];
        }
    }
    for (int i = 0; i < MR; i++) {
        const float s = ck_hsum8(acc[i]) + mterm[i];
        out[i * ldo] = accumulate ? out[i * ldo] + s : s;
    }
}

#define Q_KERNEL row_kernel512
Q_ROWS(q_rows_avx512)
CK_BLOCK_DRIVER(quantized_avx512, q_sum_count, Q_SUM, q_rows_avx512)
#undef Q_KERNEL
#pragma clang attribute pop
#endif

void ck_quantized_scales(int type, const uint8_t *w, long row_bytes, long rows, long k, float *scales, float *mins) {
    const long nb = k / 32, bb = ck_block_bytes(type);
    for (long r = 0; r < rows; r++)
        for (long b = 0; b < nb; b++) {
            const uint8_t *blk = w + (size_t)r * row_bytes + b * bb;
            scales[r * nb + b] = ck_half_to_float(read_u16(blk));
            if (type == CK_Q4_1) mins[r * nb + b] = ck_half_to_float(read_u16(blk + 2));
        }
}

void ck_quantized_matmul(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                         long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                         int accumulate, int use_simd) {
#if defined(__x86_64__)
    const int path = ck_resolve_path(use_simd);
    if (path == CK_PATH_AVX512) {
        quantized_avx512(type, w, row_bytes, scales, mins, r0, r1, k, x, ldx, m, out, ldo, accumulate);
        return;
    }
    if (path == CK_PATH_AVX2) {
        quantized_avx2(type, w, row_bytes, scales, mins, r0, r1, k, x, ldx, m, out, ldo, accumulate);
        return;
    }
#endif
    (void)use_simd;
    (void)scales;
    (void)mins;
    ck_blocks_generic(dequant_block, type, 32, ck_block_bytes(type), w, row_bytes, r0, r1, k, x, ldx, m, out, ldo,
                      accumulate);
}
