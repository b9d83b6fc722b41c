// Binary16 storage of the attention keys and values (as llama.cpp's default KV cache) and grouped-query
// attention of one decode row over such a cache. Conversions round to nearest even (IEEE 754, vcvtps2ph with
// rounding mode 0); F16C is used where CPUID reports it, portable bit manipulation otherwise.
#include "internal.h"
#include <math.h>
#include <string.h>

float ck_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { // subnormal: normalise
            int e = -1; uint32_t mm = man;
            do { e++; mm <<= 1; } while (!(mm & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mm & 0x3FF) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7F800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f; memcpy(&f, &bits, 4); return f;
}

uint16_t ck_float_to_half(float f) {
    uint32_t x; memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t absx = x & 0x7FFFFFFF;
    if (absx >= 0x7F800000) return (uint16_t)(sign | 0x7C00 | (absx > 0x7F800000 ? 0x200 : 0)); // inf, NaN
    if (absx >= 0x477FF000) return (uint16_t)(sign | 0x7C00); // rounds to ≥ 65520: overflow to inf
    if (absx < 0x38800000) { // below the smallest normal half (2^-14): subnormal or zero
        if (absx < 0x33000000) return (uint16_t)sign; // < 2^-25: rounds to 0
        const uint32_t e = absx >> 23, m = (absx & 0x7FFFFF) | 0x800000;
        const uint32_t shift = 126 - e; // 14..24
        uint32_t h = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((absx >> 13) - (112u << 10)); // rebias exponent 127 → 15
    const uint32_t rem = absx & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static void half_rows_generic(const uint16_t *src, long src_stride, long rows, long cols, float *dst, long dst_stride) {
    for (long r = 0; r < rows; r++)
        for (long j = 0; j < cols; j++) dst[r * dst_stride + j] = ck_half_to_float(src[r * src_stride + j]);
}

static float dot_half_generic(const float *q, const uint16_t *k, long hd) {
    float s = 0;
    for (long j = 0; j < hd; j++) s += q[j] * ck_half_to_float(k[j]);
    return s;
}

// out = inv · Σ_t p_t v_t over `count` binary16 rows of hd values, `stride` apart.
static void weighted_values_generic(const float *p, const uint16_t *v, long count, long stride, long hd, float inv,
                                    float *out) {
    for (long j = 0; j < hd; j++) out[j] = 0;
    for (long t = 0; t < count; t++)
        for (long j = 0; j < hd; j++) out[j] += p[t] * ck_half_to_float(v[t * stride + j]);
    for (long j = 0; j < hd; j++) out[j] *= inv;
}


// Float32 keys and values (prefill): one query row, one head.
static void scores_f32_generic(const float *q, const float *k, long k_stride, long count, long hd, float scale,
                               float *scores) {
    for (long t = 0; t < count; t++) {
        float s = 0;
        for (long j = 0; j < hd; j++) s += q[j] * k[t * k_stride + j];
        scores[t] = s * scale;
    }
}

static void weighted_f32_generic(const float *p, const float *v, long v_stride, long count, long hd, float inv,
                                 float *out) {
    for (long j = 0; j < hd; j++) out[j] = 0;
    for (long t = 0; t < count; t++)
        for (long j = 0; j < hd; j++) out[j] += p[t] * v[t * v_stride + j];
    for (long j = 0; j < hd; j++) out[j] *= inv;
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static void store_half_avx2(const float *src, uint16_t *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = ck_float_to_half(src[i]);
}

static void half_rows_avx2(const uint16_t *src, long src_stride, long rows, long cols, float *dst, long dst_stride) {
    for (long r = 0; r < rows; r++) {
        const uint16_t *s = src + r * src_stride;
        float *d = dst + r * dst_stride;
        long j = 0;
        for (; j + 8 <= cols; j += 8) _mm256_storeu_ps(d + j, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + j))));
        for (; j < cols; j++) d[j] = ck_half_to_float(s[j]);
    }
}

// headDim a multiple of 8 (64 for SmolLM2): 8-lane partial sums with F16C conversions.
static float dot_half_avx2(const float *q, const uint16_t *k, long hd) {
    __m256 acc = _mm256_setzero_ps();
    for (long j = 0; j < hd; j += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + j))), acc);
    return ck_hsum8(acc);
}

static void weighted_values_avx2(const float *p, const uint16_t *v, long count, long stride, long hd, float inv,
                                 float *out) {
    for (long j = 0; j < hd; j += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (long t = 0; t < count; t++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(p[t]), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + t * stride + j))), acc);
        _mm256_storeu_ps(out + j, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
    }
}

// Scores of four keys at a time (four independent FMA chains), each reduced by ck_hsum8.
static void scores_f32_avx2(const float *q, const float *k, long k_stride, long count, long hd, float scale,
                            float *scores) {
    long t = 0;
    for (; t + 4 <= count; t += 4) {
        const float *k0 = k + t * k_stride, *k1 = k0 + k_stride, *k2 = k1 + k_stride, *k3 = k2 + k_stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long j = 0; j < hd; j += 8) {
            const __m256 qj = _mm256_loadu_ps(q + j);
            a0 = _mm256_fmadd_ps(qj, _mm256_loadu_ps(k0 + j), a0);
            a1 = _mm256_fmadd_ps(qj, _mm256_loadu_ps(k1 + j), a1);
            a2 = _mm256_fmadd_ps(qj, _mm256_loadu_ps(k2 + j), a2);
            a3 = _mm256_fmadd_ps(qj, _mm256_loadu_ps(k3 + j), a3);
        }
        scores[t] = ck_hsum8(a0) * scale; scores[t + 1] = ck_hsum8(a1) * scale;
        scores[t + 2] = ck_hsum8(a2) * scale; scores[t + 3] = ck_hsum8(a3) * scale;
    }
    for (; t < count; t++) {
        const float *kt = k + t * k_stride;
        __m256 a = _mm256_setzero_ps();
        for (long j = 0; j < hd; j += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(kt + j), a);
        scores[t] = ck_hsum8(a) * scale;
    }
}

// out = inv · Σ_t p_t v_t, 32 output lanes (four accumulators) per pass over the rows.
static void weighted_f32_avx2(const float *p, const float *v, long v_stride, long count, long hd, float inv,
                              float *out) {
    long j = 0;
    for (; j + 32 <= hd; j += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long t = 0; t < count; t++) {
            const __m256 pt = _mm256_set1_ps(p[t]);
            const float *vt = v + t * v_stride + j;
            a0 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt), a0);
            a1 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt + 8), a1);
            a2 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt + 16), a2);
            a3 = _mm256_fmadd_ps(pt, _mm256_loadu_ps(vt + 24), a3);
        }
        const __m256 s = _mm256_set1_ps(inv);
        _mm256_storeu_ps(out + j, _mm256_mul_ps(a0, s)); _mm256_storeu_ps(out + j + 8, _mm256_mul_ps(a1, s));
        _mm256_storeu_ps(out + j + 16, _mm256_mul_ps(a2, s)); _mm256_storeu_ps(out + j + 24, _mm256_mul_ps(a3, s));
    }
    for (; j < hd; j += 8) {
        __m256 a = _mm256_setzero_ps();
        for (long t = 0; t < count; t++) a = _mm256_fmadd_ps(_mm256_set1_ps(p[t]), _mm256_loadu_ps(v + t * v_stride + j), a);
        _mm256_storeu_ps(out + j, _mm256_mul_ps(a, _mm256_set1_ps(inv)));
    }
}
#pragma clang attribute pop

// AVX-512: the same bits as the AVX2 functions above. Each key's score is still one 8-lane FMA chain over the
// head dimension in steps of 8, reduced by ck_hsum8; a zmm register carries two keys side by side (lanes 0–7 key t,
// lanes 8–15 key t + 1, the query chunk in both halves), so twice as many chains run per instruction. The
// weighted sums of values are per-column FMA chains over t; 16 columns per register instead of 8.
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)

static inline __attribute__((always_inline)) __m256 high256(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

static inline __attribute__((always_inline)) __m512 dup256(__m256 v) {
    return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(v)));
}

static inline __attribute__((always_inline)) __m512 two_halves_f16(const uint16_t *a, const uint16_t *b) {
    const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                              _mm_loadu_si128((const __m128i *)b), 1);
    return _mm512_cvtph_ps(h);
}

static inline __attribute__((always_inline)) __m512 two_halves_f32(const float *a, const float *b) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a)), _mm256_loadu_ps(b), 1);
}

// scores[t] = (q · k_t) · scale for binary16 keys `stride` apart, four keys per step (two registers).
static void scores_half_avx512(const float *q, const uint16_t *k, long stride, long count, long hd, float scale,
                               float *scores) {
    long t = 0;
    for (; t + 4 <= count; t += 4) {
        const uint16_t *k0 = k + t * stride;
        __m512 a01 = _mm512_setzero_ps(), a23 = a01;
        for (long j = 0; j < hd; j += 8) {
            const __m512 qj = dup256(_mm256_loadu_ps(q + j));
            a01 = _mm512_fmadd_ps(qj, two_halves_f16(k0 + j, k0 + stride + j), a01);
            a23 = _mm512_fmadd_ps(qj, two_halves_f16(k0 + 2 * stride + j, k0 + 3 * stride + j), a23);
        }
        scores[t] = ck_hsum8(_mm512_castps512_ps256(a01)) * scale;
        scores[t + 1] = ck_hsum8(high256(a01)) * scale;
        scores[t + 2] = ck_hsum8(_mm512_castps512_ps256(a23)) * scale;
        scores[t + 3] = ck_hsum8(high256(a23)) * scale;
    }
    for (; t < count; t++) {
        const uint16_t *kt = k + t * stride;
        __m256 acc = _mm256_setzero_ps();
        for (long j = 0; j < hd; j += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(kt + j))), acc);
        scores[t] = ck_hsum8(acc) * scale;
    }
}

static void weighted_values_avx512(const float *p, const uint16_t *v, long count, long stride, long hd, float inv,
                                   float *out) {
    long j = 0;
    for (; j + 32 <= hd; j += 32) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        for (long t = 0; t < count; t++) {
            const __m512 pt = _mm512_set1_ps(p[t]);
            const uint16_t *vt = v + t * stride + j;
            a0 = _mm512_fmadd_ps(pt, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)vt)), a0);
            a1 = _mm512_fmadd_ps(pt, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vt + 16))), a1);
        }
        const __m512 s = _mm512_set1_ps(inv);
        _mm512_storeu_ps(out + j, _mm512_mul_ps(a0, s));
        _mm512_storeu_ps(out + j + 16, _mm512_mul_ps(a1, s));
    }
    for (; j < hd; j += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (long t = 0; t < count; t++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(p[t]), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + t * stride + j))), acc);
        _mm256_storeu_ps(out + j, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
    }
}

// Float32 keys: eight keys per step in four registers.
static void scores_f32_avx512(const float *q, const float *k, long k_stride, long count, long hd, float scale,
                              float *scores) {
    long t = 0;
    for (; t + 8 <= count; t += 8) {
        const float *k0 = k + t * k_stride;
        __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (long j = 0; j < hd; j += 8) {
            const __m512 qj = dup256(_mm256_loadu_ps(q + j));
            for (int g = 0; g < 4; g++)
                a[g] = _mm512_fmadd_ps(qj, two_halves_f32(k0 + 2 * g * k_stride + j, k0 + (2 * g + 1) * k_stride + j), a[g]);
        }
        for (int g = 0; g < 4; g++) {
            scores[t + 2 * g] = ck_hsum8(_mm512_castps512_ps256(a[g])) * scale;
            scores[t + 2 * g + 1] = ck_hsum8(high256(a[g])) * scale;
        }
    }
    for (; t < count; t++) {
        const float *kt = k + t * k_stride;
        __m256 a = _mm256_setzero_ps();
        for (long j = 0; j < hd; j += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(kt + j), a);
        scores[t] = ck_hsum8(a) * scale;
    }
}

// out = inv · Σ_t p_t v_t, 64 output lanes (four registers) per pass over the rows.
static void weighted_f32_avx512(const float *p, const float *v, long v_stride, long count, long hd, float inv,
                                float *out) {
    long j = 0;
    for (; j + 64 <= hd; j += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long t = 0; t < count; t++) {
            const __m512 pt = _mm512_set1_ps(p[t]);
            const float *vt = v + t * v_stride + j;
            a0 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt), a0);
            a1 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt + 16), a1);
            a2 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt + 32), a2);
            a3 = _mm512_fmadd_ps(pt, _mm512_loadu_ps(vt + 48), a3);
        }
        const __m512 s = _mm512_set1_ps(inv);
        _mm512_storeu_ps(out + j, _mm512_mul_ps(a0, s)); _mm512_storeu_ps(out + j + 16, _mm512_mul_ps(a1, s));
        _mm512_storeu_ps(out + j + 32, _mm512_mul_ps(a2, s)); _mm512_storeu_ps(out + j + 48, _mm512_mul_ps(a3, s));
    }
    for (; j + 16 <= hd; j += 16) {
        __m512 a = _mm512_setzero_ps();
        for (long t = 0; t < count; t++) a = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), _mm512_loadu_ps(v + t * v_stride + j), a);
        _mm512_storeu_ps(out + j, _mm512_mul_ps(a, _mm512_set1_ps(inv)));
    }
    for (; j < hd; j += 8) {
        __m256 a = _mm256_setzero_ps();
        for (long t = 0; t < count; t++) a = _mm256_fmadd_ps(_mm256_set1_ps(p[t]), _mm256_loadu_ps(v + t * v_stride + j), a);
        _mm256_storeu_ps(out + j, _mm256_mul_ps(a, _mm256_set1_ps(inv)));
    }
}
#pragma clang attribute pop
#endif

// scores[t] ← e^(scores[t] − max) in place (the softmax numerators); returns their sum.
static float exp_shifted(float *scores, long count) {
    float m = -INFINITY;
    for (long t = 0; t < count; t++) if (scores[t] > m) m = scores[t];
    float sum = 0;
    for (long t = 0; t < count; t++) { scores[t] = expf(scores[t] - m); sum += scores[t]; }
    return sum;
}

void ck_store_half(const float *src, uint16_t *dst, long n, int use_simd) {
#if defined(__x86_64__)
    if (ck_resolve_path(use_simd) != CK_PATH_PORTABLE) { store_half_avx2(src, dst, n); return; } // exact: any path
#endif
    (void)use_simd;
    for (long i = 0; i < n; i++) dst[i] = ck_float_to_half(src[i]);
}

void ck_half_rows_to_float(const uint16_t *src, long src_stride, long rows, long cols, float *dst, long dst_stride,
                           int use_simd) {
#if defined(__x86_64__)
    if (ck_resolve_path(use_simd) != CK_PATH_PORTABLE) { half_rows_avx2(src, src_stride, rows, cols, dst, dst_stride); return; }
#endif
    (void)use_simd;
    half_rows_generic(src, src_stride, rows, cols, dst, dst_stride);
}

// scores[t] ← cap · tanh(scores[t] / cap) (Gemma 2's attention-logit soft-capping); nothing when cap ≤ 0.
static void soft_cap(float *scores, long count, float cap) {
    if (cap <= 0) return;
    for (long t = 0; t < count; t++) scores[t] = cap * tanhf(scores[t] / cap);
}

void ck_attend_decode(const float *q, const uint16_t *keys, const uint16_t *values, long count, long stride,
                      long head_dim, long head0, long head1, long group_size, float scale, float *scores, float *out,
                      int use_simd) {
    ck_attend_decode_capped(q, keys, values, count, stride, head_dim, head0, head1, group_size, scale, 0, scores, out,
                            use_simd);
}

void ck_attend_decode_capped(const float *q, const uint16_t *keys, const uint16_t *values, long count, long stride,
                             long head_dim, long head0, long head1, long group_size, float scale, float softcap,
                             float *scores, float *out, int use_simd) {
    float (*dot)(const float *, const uint16_t *, long) = dot_half_generic;
    void (*weighted)(const float *, const uint16_t *, long, long, long, float, float *) = weighted_values_generic;
    int wide = 0;
#if defined(__x86_64__)
    const int path = head_dim % 8 == 0 ? ck_resolve_path(use_simd) : CK_PATH_PORTABLE;
    if (path == CK_PATH_AVX2) { dot = dot_half_avx2; weighted = weighted_values_avx2; }
    if (path == CK_PATH_AVX512) { wide = 1; weighted = weighted_values_avx512; }
#endif
    (void)use_simd;
    for (long head = head0; head < head1; head++) {
        const long kv_head = head / group_size;
        const float *qh = q + head * head_dim;
        const uint16_t *k = keys + kv_head * head_dim, *v = values + kv_head * head_dim;
#if defined(__x86_64__)
        if (wide) scores_half_avx512(qh, k, stride, count, head_dim, scale, scores);
        else
#endif
        for (long t = 0; t < count; t++) scores[t] = dot(qh, k + t * stride, head_dim) * scale;
        soft_cap(scores, count, softcap);
        const float sum = exp_shifted(scores, count);
        weighted(scores, v, count, stride, head_dim, 1 / sum, out + head * head_dim);
    }
}

void ck_attend_f32(const float *q, const float *keys, long k_stride, const float *values, long v_stride, long count,
                   long head_dim, float scale, float *scores, float *out, int use_simd) {
    ck_attend_f32_capped(q, keys, k_stride, values, v_stride, count, head_dim, scale, 0, scores, out, use_simd);
}

void ck_attend_f32_capped(const float *q, const float *keys, long k_stride, const float *values, long v_stride,
                          long count, long head_dim, float scale, float softcap, float *scores, float *out,
                          int use_simd) {
    void (*score)(const float *, const float *, long, long, long, float, float *) = scores_f32_generic;
    void (*weighted)(const float *, const float *, long, long, long, float, float *) = weighted_f32_generic;
#if defined(__x86_64__)
    const int path = head_dim % 8 == 0 ? ck_resolve_path(use_simd) : CK_PATH_PORTABLE;
    if (path == CK_PATH_AVX2) { score = scores_f32_avx2; weighted = weighted_f32_avx2; }
    if (path == CK_PATH_AVX512) { score = scores_f32_avx512; weighted = weighted_f32_avx512; }
#endif
    (void)use_simd;
    if (count <= 0) { for (long j = 0; j < head_dim; j++) out[j] = 0; return; }
    score(q, keys, k_stride, count, head_dim, scale, scores);
    soft_cap(scores, count, softcap);
    weighted(scores, values, v_stride, count, head_dim, 1 / exp_shifted(scores, count), out);
}

// ---------------------------------------------------------------------------------------------------------------
// Causal prefill attention of `rows` consecutive query rows of one head, row i seeing positions
// [first_i, count_i) with count_i = count0 + i and first_i = max(0, count_i − window) (window ≤ 0: first_i = 0).
// It gives, row for row, the bits of ck_attend_f32_capped over that row's positions: each score is the same 8-lane
// FMA chain over the head dimension, reduced by ck_hsum8 and scaled; softmax per row as there; each output column
// the same FMA chain over t in increasing order from first_i, times 1/Σ. What changes is the loop order: four rows
// at a time share each key and value they load (4 rows × 2 keys of scores, 4 rows × 16 columns of weighted sums
// in registers), so a head's keys and values — 2·T·head_dim floats, more than L2 holds for head_dim 256 at
// T = 512 — stream through the cache once per four rows instead of once per row. Rows left over (rows mod 4),
// head_dim not a multiple of 8, windows under 4 and the portable path run row by row.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
static void scores4_avx2(const float *q, long q_stride, const float *k, long stride, long t0, long t1, long hd,
                         float scale, float *scores, long ss) {
    const float *q0 = q, *q1 = q + q_stride, *q2 = q1 + q_stride, *q3 = q2 + q_stride;
    long t = t0;
    for (; t + 2 <= t1; t += 2) {
        const float *ka = k + t * stride, *kb = ka + stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (long j = 0; j < hd; j += 8) {
            const __m256 x = _mm256_loadu_ps(ka + j), y = _mm256_loadu_ps(kb + j);
            const __m256 r0 = _mm256_loadu_ps(q0 + j), r1 = _mm256_loadu_ps(q1 + j);
            const __m256 r2 = _mm256_loadu_ps(q2 + j), r3 = _mm256_loadu_ps(q3 + j);
            a0 = _mm256_fmadd_ps(r0, x, a0); b0 = _mm256_fmadd_ps(r0, y, b0);
            a1 = _mm256_fmadd_ps(r1, x, a1); b1 = _mm256_fmadd_ps(r1, y, b1);
            a2 = _mm256_fmadd_ps(r2, x, a2); b2 = _mm256_fmadd_ps(r2, y, b2);
            a3 = _mm256_fmadd_ps(r3, x, a3); b3 = _mm256_fmadd_ps(r3, y, b3);
        }
        scores[t] = ck_hsum8(a0) * scale; scores[t + 1] = ck_hsum8(b0) * scale;
        scores[ss + t] = ck_hsum8(a1) * scale; scores[ss + t + 1] = ck_hsum8(b1) * scale;
        scores[2 * ss + t] = ck_hsum8(a2) * scale; scores[2 * ss + t + 1] = ck_hsum8(b2) * scale;
        scores[3 * ss + t] = ck_hsum8(a3) * scale; scores[3 * ss + t + 1] = ck_hsum8(b3) * scale;
    }
    for (; t < t1; t++) {
        const float *ka = k + t * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long j = 0; j < hd; j += 8) {
            const __m256 x = _mm256_loadu_ps(ka + j);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q0 + j), x, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q1 + j), x, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q2 + j), x, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q3 + j), x, a3);
        }
        scores[t] = ck_hsum8(a0) * scale; scores[ss + t] = ck_hsum8(a1) * scale;
        scores[2 * ss + t] = ck_hsum8(a2) * scale; scores[3 * ss + t] = ck_hsum8(a3) * scale;
    }
}

// acc (+)= Σ_{t∈[t0,t1)} p[t] · v[t][j…j+w) for one row; w = 8 or 16 columns.
static inline __attribute__((always_inline)) void weighted_tail(const float *p, const float *v, long stride, long t0,
                                                                 long t1, int wide, __m256 *a, __m256 *b) {
    for (long t = t0; t < t1; t++) {
        const __m256 pt = _mm256_broadcast_ss(p + t);
        *a = _mm256_fmadd_ps(pt, _mm256_loadu_ps(v + t * stride), *a);
        if (wide) *b = _mm256_fmadd_ps(pt, _mm256_loadu_ps(v + t * stride + 8), *b);
    }
}

static void weighted4_avx2(const float *p, long ss, const float *v, long stride, const long *first, const long *count,
                           long hd, const float *inv, float *out, long out_stride) {
    const long F = first[3], C = count[0];   // every row covers [F, C)
    const float *p0 = p, *p1 = p + ss, *p2 = p1 + ss, *p3 = p2 + ss;
    for (long j = 0; j < hd;) {
        const int wide = j + 16 <= hd;
        const float *vj = v + j;
        __m256 a[4], b[4];
        for (int r = 0; r < 4; r++) { a[r] = _mm256_setzero_ps(); b[r] = a[r]; }
        for (int r = 0; r < 4; r++) weighted_tail(p + r * ss, vj, stride, first[r], F, wide, &a[r], &b[r]);
        __m256 a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
        if (wide) {
            for (long t = F; t < C; t++) {
                const __m256 x = _mm256_loadu_ps(vj + t * stride), y = _mm256_loadu_ps(vj + t * stride + 8);
                const __m256 s0 = _mm256_broadcast_ss(p0 + t), s1 = _mm256_broadcast_ss(p1 + t);
                const __m256 s2 = _mm256_broadcast_ss(p2 + t), s3 = _mm256_broadcast_ss(p3 + t);
                a0 = _mm256_fmadd_ps(s0, x, a0); b0 = _mm256_fmadd_ps(s0, y, b0);
                a1 = _mm256_fmadd_ps(s1, x, a1); b1 = _mm256_fmadd_ps(s1, y, b1);
                a2 = _mm256_fmadd_ps(s2, x, a2); b2 = _mm256_fmadd_ps(s2, y, b2);
                a3 = _mm256_fmadd_ps(s3, x, a3); b3 = _mm256_fmadd_ps(s3, y, b3);
            }
        } else {
            for (long t = F; t < C; t++) {
                const __m256 x = _mm256_loadu_ps(vj + t * stride);
                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p0 + t), x, a0);
                a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(p1 + t), x, a1);
                a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(p2 + t), x, a2);
                a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(p3 + t), x, a3);
            }
        }
        a[0] = a0; a[1] = a1; a[2] = a2; a[3] = a3; b[0] = b0; b[1] = b1; b[2] = b2; b[3] = b3;
        for (int r = 0; r < 4; r++) {
            weighted_tail(p + r * ss, vj, stride, C, count[r], wide, &a[r], &b[r]);
            const __m256 s = _mm256_set1_ps(inv[r]);
            float *o = out + r * out_stride + j;
            _mm256_storeu_ps(o, _mm256_mul_ps(a[r], s));
            if (wide) _mm256_storeu_ps(o + 8, _mm256_mul_ps(b[r], s));
        }
        j += wide ? 16 : 8;
    }
}
#pragma clang attribute pop

// AVX-512 versions with the bits of scores4_avx2 and weighted4_avx2. Scores: a zmm register holds two keys side by
// side (lanes 0–7 key t, 8–15 key t + 1, the query chunk in both halves), so each score is still one 8-lane FMA
// chain over the head dimension in steps of 8, reduced by ck_hsum8 and scaled; 4 rows × 4 keys per step. Weighted
// sums: each output column is still one FMA chain over t in increasing order from first[r], 32 columns × 4 rows per
// pass instead of 16. Leftover keys (fewer than 4) and columns (fewer than 32) run the AVX2 code.
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
static void scores4_avx512(const float *q, long q_stride, const float *k, long stride, long t0, long t1, long hd,
                           float scale, float *scores, long ss) {
    const float *qr[4] = {q, q + q_stride, q + 2 * q_stride, q + 3 * q_stride};
    long t = t0;
    for (; t + 4 <= t1; t += 4) {
        const float *ka = k + t * stride;
        __m512 a[4][2];
        for (int r = 0; r < 4; r++) { a[r][0] = _mm512_setzero_ps(); a[r][1] = a[r][0]; }
        for (long j = 0; j < hd; j += 8) {
            const __m512 x = two_halves_f32(ka + j, ka + stride + j);
            const __m512 y = two_halves_f32(ka + 2 * stride + j, ka + 3 * stride + j);
            for (int r = 0; r < 4; r++) {
                const __m512 qj = dup256(_mm256_loadu_ps(qr[r] + j));
                a[r][0] = _mm512_fmadd_ps(qj, x, a[r][0]);
                a[r][1] = _mm512_fmadd_ps(qj, y, a[r][1]);
            }
        }
        // The 16 ck_hsum8 reductions at once, the same additions on the same operands: per (row, key) the
        // 8-lane sum v is reduced as ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)).
        __m512 S[4];
        for (int r = 0; r < 4; r++)   // 128-bit chunk j: key t + j, lane i: v_i + v_(i+4)
            S[r] = _mm512_add_ps(_mm512_shuffle_f32x4(a[r][0], a[r][1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f32x4(a[r][0], a[r][1], _MM_SHUFFLE(3, 1, 3, 1)));
        // chunk j: [row r: s0 + s2, s1 + s3, row r + 1: s0 + s2, s1 + s3]
        const __m512 U01 = _mm512_add_ps(_mm512_shuffle_ps(S[0], S[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                         _mm512_shuffle_ps(S[0], S[1], _MM_SHUFFLE(3, 2, 3, 2)));
        const __m512 U23 = _mm512_add_ps(_mm512_shuffle_ps(S[2], S[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                         _mm512_shuffle_ps(S[2], S[3], _MM_SHUFFLE(3, 2, 3, 2)));
        // chunk j, lane r: the score of row r and key t + j; then transposed so that chunk r holds row r's keys.
        const __m512 W = _mm512_mul_ps(_mm512_add_ps(_mm512_shuffle_ps(U01, U23, _MM_SHUFFLE(2, 0, 2, 0)),
                                                     _mm512_shuffle_ps(U01, U23, _MM_SHUFFLE(3, 1, 3, 1))),
                                       _mm512_set1_ps(scale));
        const __m512 R = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), W);
        _mm_storeu_ps(scores + t, _mm512_castps512_ps128(R));
        _mm_storeu_ps(scores + ss + t, _mm512_extractf32x4_ps(R, 1));
        _mm_storeu_ps(scores + 2 * ss + t, _mm512_extractf32x4_ps(R, 2));
        _mm_storeu_ps(scores + 3 * ss + t, _mm512_extractf32x4_ps(R, 3));
    }
    if (t < t1) scores4_avx2(q, q_stride, k, stride, t, t1, hd, scale, scores, ss);
}

// acc (+)= Σ_{t∈[t0,t1)} p[t] · v[t][j…j+32) for one row.
static inline __attribute__((always_inline)) void weighted_tail512(const float *p, const float *v, long stride,
                                                                   long t0, long t1, __m512 *a, __m512 *b) {
    for (long t = t0; t < t1; t++) {
        const __m512 pt = _mm512_set1_ps(p[t]);
        *a = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v + t * stride), *a);
        *b = _mm512_fmadd_ps(pt, _mm512_loadu_ps(v + t * stride + 16), *b);
    }
}

static void weighted4_avx512(const float *p, long ss, const float *v, long stride, const long *first,
                             const long *count, long hd, const float *inv, float *out, long out_stride) {
    const long F = first[3], C = count[0];   // every row covers [F, C)
    long j = 0;
    for (; j + 32 <= hd; j += 32) {
        const float *vj = v + j;
        __m512 a[4], b[4];
        for (int r = 0; r < 4; r++) { a[r] = _mm512_setzero_ps(); b[r] = a[r]; }
        for (int r = 0; r < 4; r++) weighted_tail512(p + r * ss, vj, stride, first[r], F, &a[r], &b[r]);
        for (long t = F; t < C; t++) {
            const __m512 x = _mm512_loadu_ps(vj + t * stride), y = _mm512_loadu_ps(vj + t * stride + 16);
            for (int r = 0; r < 4; r++) {
                const __m512 s = _mm512_set1_ps(p[r * ss + t]);
                a[r] = _mm512_fmadd_ps(s, x, a[r]);
                b[r] = _mm512_fmadd_ps(s, y, b[r]);
            }
        }
        for (int r = 0; r < 4; r++) {
            weighted_tail512(p + r * ss, vj, stride, C, count[r], &a[r], &b[r]);
            const __m512 s = _mm512_set1_ps(inv[r]);
            float *o = out + r * out_stride + j;
            _mm512_storeu_ps(o, _mm512_mul_ps(a[r], s));
            _mm512_storeu_ps(o + 16, _mm512_mul_ps(b[r], s));
        }
    }
    if (j < hd) weighted4_avx2(p, ss, v + j, stride, first, count, hd - j, inv, out + j, out_stride);
}
#pragma clang attribute pop
#endif

void ck_attend_f32_causal(const float *q, long q_stride, const float *keys, const float *values, long kv_stride,
                          long rows, long count0, long window, long head_dim, float scale, float softcap,
                          float *scores, long score_stride, float *out, long out_stride, int use_simd) {
    long i = 0;
#if defined(__x86_64__)
    const int path = head_dim % 8 == 0 ? ck_resolve_path(use_simd) : CK_PATH_PORTABLE;
    if (path != CK_PATH_PORTABLE && (window <= 0 || window >= 4) && count0 >= 1) {
        for (; i + 4 <= rows; i += 4) {
            long first[4], count[4];
            float inv[4];
            for (int r = 0; r < 4; r++) {
                count[r] = count0 + i + r;
                first[r] = window > 0 && count[r] > window ? count[r] - window : 0;
            }
            (path == CK_PATH_AVX512 ? scores4_avx512 : scores4_avx2)(q + i * q_stride, q_stride, keys, kv_stride,
                                                                     first[0], count[3], head_dim, scale, scores,
                                                                     score_stride);
            for (int r = 0; r < 4; r++) {
                float *sr = scores + r * score_stride + first[r];
                soft_cap(sr, count[r] - first[r], softcap);
                inv[r] = 1 / exp_shifted(sr, count[r] - first[r]);
            }
            (path == CK_PATH_AVX512 ? weighted4_avx512 : weighted4_avx2)(scores, score_stride, values, kv_stride, first,
                                                                         count, head_dim, inv, out + i * out_stride,
                                                                         out_stride);
        }
    }
#endif
    for (; i < rows; i++) {
        const long count = count0 + i, first = window > 0 && count > window ? count - window : 0;
        ck_attend_f32_capped(q + i * q_stride, keys + first * kv_stride, kv_stride, values + first * kv_stride,
                             kv_stride, count - first, head_dim, scale, softcap, scores, out + i * out_stride,
                             use_simd);
    }
}

void ck_attend_f32_rows(const float *q, long q_stride, const float *keys, const float *values, long kv_stride,
                        long rows, long count, long head_dim, float scale, float *scores, long score_stride,
                        float *out, long out_stride, int use_simd) {
    long i = 0;
#if defined(__x86_64__)
    const int path = head_dim % 8 == 0 ? ck_resolve_path(use_simd) : CK_PATH_PORTABLE;
    if (path != CK_PATH_PORTABLE && count >= 1) {
        const long first[4] = {0, 0, 0, 0}, counts[4] = {count, count, count, count};
        for (; i + 4 <= rows; i += 4) {
            (path == CK_PATH_AVX512 ? scores4_avx512 : scores4_avx2)(q + i * q_stride, q_stride, keys, kv_stride, 0,
                                                                     count, head_dim, scale, scores, score_stride);
            float inv[4];
            for (int r = 0; r < 4; r++) inv[r] = 1 / exp_shifted(scores + r * score_stride, count);
            (path == CK_PATH_AVX512 ? weighted4_avx512 : weighted4_avx2)(scores, score_stride, values, kv_stride, first,
                                                                         counts, head_dim, inv, out + i * out_stride,
                                                                         out_stride);
        }
    }
#endif
    for (; i < rows; i++)
        ck_attend_f32(q + i * q_stride, keys, kv_stride, values, kv_stride, count, head_dim, scale, scores,
                      out + i * out_stride, use_simd);
}
