// GELU with the fast erf of Eigen/XLA (generic_fast_erf_float): erf(x) ≈ x·P(x²)/Q(x²) on x clamped to [−4, 4].
#include "ckernels.h"
#include <math.h>
#include <stdint.h>

static const float P[7] = {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f,
                           -5.69250639462346e-05f, -7.34990630326855e-04f, -2.95459980854025e-03f,
                           -1.60960333262415e-02f};
static const float Q[5] = {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f,
                           -7.37332916720468e-03f, -1.42647390514189e-02f};

static float erf_scalar(float x) {
    x = x < -4 ? -4 : (x > 4 ? 4 : x);
    const float x2 = x * x;
    float p = P[0];
    for (int i = 1; i < 7; i++) p = x2 * p + P[i];
    float q = Q[0];
    for (int i = 1; i < 5; i++) q = x2 * q + Q[i];
    return x * p / q;
}

static void gelu_generic(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1 + erf_scalar(x[i] * 0.70710678118654752f));
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
static void gelu_avx2(float *x, long n) {
    const __m256 lo = _mm256_set1_ps(-4), hi = _mm256_set1_ps(4), s = _mm256_set1_ps(0.70710678118654752f);
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, s), lo), hi);
        const __m256 t2 = _mm256_mul_ps(t, t);
        __m256 p = _mm256_set1_ps(P[0]);
        for (int k = 1; k < 7; k++) p = _mm256_fmadd_ps(t2, p, _mm256_set1_ps(P[k]));
        __m256 q = _mm256_set1_ps(Q[0]);
        for (int k = 1; k < 5; k++) q = _mm256_fmadd_ps(t2, q, _mm256_set1_ps(Q[k]));
        const __m256 erf = _mm256_div_ps(_mm256_mul_ps(t, p), q);
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf)));
    }
    gelu_generic(x + i, n - i);
}
#pragma clang attribute pop

// AVX-512: the same lane-wise operations (min, max, mul, FMA, div are each correctly rounded), 16 lanes at a time,
// then 8 at a time, leaving the same last n mod 8 elements to the scalar loop as gelu_avx2: the same bits.
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512dq,avx512vl"))), apply_to = function)
static void gelu_avx512(float *x, long n) {
    const __m512 lo = _mm512_set1_ps(-4), hi = _mm512_set1_ps(4), s = _mm512_set1_ps(0.70710678118654752f);
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, s), lo), hi);
        const __m512 t2 = _mm512_mul_ps(t, t);
        __m512 p = _mm512_set1_ps(P[0]);
        for (int k = 1; k < 7; k++) p = _mm512_fmadd_ps(t2, p, _mm512_set1_ps(P[k]));
        __m512 q = _mm512_set1_ps(Q[0]);
        for (int k = 1; k < 5; k++) q = _mm512_fmadd_ps(t2, q, _mm512_set1_ps(Q[k]));
        const __m512 erf = _mm512_div_ps(_mm512_mul_ps(t, p), q);
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf)));
    }
    gelu_avx2(x + i, n - i);
}
#pragma clang attribute pop
#endif

void ck_gelu(float *x, long n, int use_simd) {
#if defined(__x86_64__)
    const int path = ck_resolve_path(use_simd);
    if (path == CK_PATH_AVX512) { gelu_avx512(x, n); return; }
    if (path == CK_PATH_AVX2) { gelu_avx2(x, n); return; }
#endif
    (void)use_simd;
    gelu_generic(x, n);
}

// ---------------------------------------------------------------------------------------------------------------
// Gated tanh-GELU (Gemma's GeGLU): out[j] = gelu_tanh(g[j]) · u[j] with
//   gelu_tanh(a) = ½a(1 + tanh(√(2/π)(a + 0.044715a³))) = a / (1 + e^(−2y)),  y = √(2/π)(a + 0.044715a³),
// the second form being the first rewritten with 1 + tanh(y) = 2/(1 + e^(−2y)) (no cancellation anywhere).
// e^z by Cody–Waite range reduction, z = n·ln2 + r with n = round(z·log₂e) (to nearest even), |r| ≤ ln2/2, r from
// two FMAs with ln2 split in a high and a low part; e^r by its Taylor polynomial to degree 7 (truncation < 6e-9
// relative) in Horner form; the result p·2ⁿ with 2ⁿ built in the exponent bits. z is clamped to [−87, 88], where
// 2ⁿ stays a normal number: e^(−87) vanishes next to 1 and a / e^88 is below Float32's resolution of gelu's result.
// Every operation (mul, add, FMA, div, round to nearest, min, max) is a correctly rounded IEEE operation done in the
// same order in the portable loop (fmaf, nearbyintf, FP contraction off) and in the AVX2 lanes, so all paths give
// the same bits; the AVX-512 path runs the AVX2 loop. Accuracy: a few ulp of the result against Float64.
#pragma clang fp contract(off)
static const float GT_K2 = -1.5957691216057308f;   // −2·√(2/π)
static const float GT_C = 0.044715f;
static const float EXP_LOG2E = 1.4426950408889634f, EXP_LN2_HI = 0.693145751953125f, EXP_LN2_LO = 1.428606765330187e-06f;
static const float EXP_C[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};

static float exp_scalar(float z) {
    z = z < -87.0f ? -87.0f : (z > 88.0f ? 88.0f : z);
    const float n = nearbyintf(z * EXP_LOG2E);
    float r = fmaf(n, -EXP_LN2_HI, z);
    r = fmaf(n, -EXP_LN2_LO, r);
    float p = EXP_C[0];
    for (int i = 1; i < 8; i++) p = fmaf(p, r, EXP_C[i]);
    union { uint32_t u; float f; } s = {.u = (uint32_t)((int)n + 127) << 23};
    return p * s.f;
}

static float gelu_tanh_scalar(float a) {
    const float a3 = (a * a) * a;
    const float s = fmaf(GT_C, a3, a);
    return a / (1.0f + exp_scalar(s * GT_K2));
}

static void gelu_tanh_mul_generic(const float *g, const float *u, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = gelu_tanh_scalar(g[i]) * u[i];
}

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
static void gelu_tanh_mul_avx2(const float *g, const float *u, float *out, long n) {
    const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f), log2e = _mm256_set1_ps(EXP_LOG2E);
    const __m256 ln2hi = _mm256_set1_ps(-EXP_LN2_HI), ln2lo = _mm256_set1_ps(-EXP_LN2_LO);
    const __m256 k2 = _mm256_set1_ps(GT_K2), c = _mm256_set1_ps(GT_C), one = _mm256_set1_ps(1.0f);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(g + i);
        const __m256 a3 = _mm256_mul_ps(_mm256_mul_ps(a, a), a);
        const __m256 s = _mm256_fmadd_ps(c, a3, a);
        const __m256 z = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(s, k2), lo), hi);
        const __m256 nn = _mm256_round_ps(_mm256_mul_ps(z, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256 r = _mm256_fmadd_ps(nn, ln2hi, z);
        r = _mm256_fmadd_ps(nn, ln2lo, r);
        __m256 p = _mm256_set1_ps(EXP_C[0]);
        for (int k = 1; k < 8; k++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_C[k]));
        const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nn), _mm256_set1_epi32(127)), 23);
        const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
        const __m256 v = _mm256_div_ps(a, _mm256_add_ps(one, e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(v, _mm256_loadu_ps(u + i)));
    }
    gelu_tanh_mul_generic(g + i, u + i, out + i, n - i);
}
#pragma clang attribute pop
#endif

void ck_gelu_tanh_mul(const float *g, const float *u, float *out, long n, int use_simd) {
#if defined(__x86_64__)
    if (ck_resolve_path(use_simd) != CK_PATH_PORTABLE) { gelu_tanh_mul_avx2(g, u, out, n); return; }
#endif
    (void)use_simd;
    gelu_tanh_mul_generic(g, u, out, n);
}

// ---------------------------------------------------------------------------------------------------------------
// Greedy decoding's argmax over a vocabulary of logits: the scalar loop `if (x[i] > best) { best = x[i]; k = i; }`
// from best = −∞, k = 0, exactly (lowest index on ties, NaN never chosen, 0 when no value exceeds −∞). The SIMD
// path finds the largest non-NaN value first (vmaxps returns its second operand when the first is NaN), then the
// first index holding it (== treats −0 and +0 alike, as > does): the same index as the scalar loop.
static long argmax_generic(const float *x, long n) {
    float best = -INFINITY;
    long k = 0;
    for (long i = 0; i < n; i++)
        if (x[i] > best) { best = x[i]; k = i; }
    return k;
}

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
static long argmax_avx2(const float *x, long n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    }
    float lanes[8], best = -INFINITY;
    _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
    for (int j = 0; j < 8; j++) if (lanes[j] > best) best = lanes[j];
    for (; i < n; i++) if (x[i] > best) best = x[i];
    if (!(best > -INFINITY)) return 0;
    const __m256 b = _mm256_set1_ps(best);
    for (i = 0; i + 8 <= n; i += 8) {
        const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), b, _CMP_EQ_OQ));
        if (mask) return i + __builtin_ctz((unsigned)mask);
    }
    for (; i < n; i++) if (x[i] == best) return i;
    return 0;
}
#pragma clang attribute pop
#endif

long ck_argmax(const float *x, long n, int use_simd) {
#if defined(__x86_64__)
    if (ck_resolve_path(use_simd) != CK_PATH_PORTABLE) return argmax_avx2(x, n);
#endif
    (void)use_simd;
    return argmax_generic(x, n);
}
