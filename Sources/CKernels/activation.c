// GELU with the fast erf of Eigen/XLA (generic_fast_erf_float): erf(x) ≈ x·P(x²)/Q(x²) on x clamped to [−4, 4].
#include "ckernels.h"

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
