// Packed-panel SGEMM: C = A · Wᵀ with W stored as panels of 16 output columns (see ckernels.h).
// The AVX2 micro-kernel keeps a 6 × 16 block of C in 12 registers and streams one panel over k:
// per k it loads 16 weights (2 vectors), broadcasts 6 activations and issues 12 FMAs.
#include "ckernels.h"
#include <string.h>

size_t ck_packed_count(long n, long k) { return (size_t)((n + CK_PANEL - 1) / CK_PANEL) * CK_PANEL * (size_t)k; }

void ck_pack_panels(const float *w, long n, long k, long ldw, float *panels) {
    const long np = (n + CK_PANEL - 1) / CK_PANEL;
    for (long p = 0; p < np; p++) {
        float *dst = panels + (size_t)p * k * CK_PANEL;
        for (long j = 0; j < CK_PANEL; j++) {
            const long row = p * CK_PANEL + j;
            if (row < n) {
                const float *src = w + (size_t)row * ldw;
                for (long kk = 0; kk < k; kk++) dst[kk * CK_PANEL + j] = src[kk];
            } else {
                for (long kk = 0; kk < k; kk++) dst[kk * CK_PANEL + j] = 0;
            }
        }
    }
}

static void store_block(float *c, long ldc, long rows, long cols, const float *tmp, int accumulate) {
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + tmp[i * CK_PANEL + j] : tmp[i * CK_PANEL + j];
}

static void gemm_generic(const float *a, long lda, long m, long k, const float *panels, long n,
                         long p0, long p1, float *c, long ldc, int accumulate) {
    float acc[CK_PANEL];
    for (long p = p0; p < p1; p++) {
        const float *b = panels + (size_t)p * k * CK_PANEL;
        const long cols = n - p * CK_PANEL < CK_PANEL ? n - p * CK_PANEL : CK_PANEL;
        for (long i = 0; i < m; i++) {
            for (int j = 0; j < CK_PANEL; j++) acc[j] = 0;
            const float *ai = a + (size_t)i * lda;
            for (long kk = 0; kk < k; kk++) {
                const float av = ai[kk];
                const float *bk = b + kk * CK_PANEL;
                for (int j = 0; j < CK_PANEL; j++) acc[j] += av * bk[j];
            }
            store_block(c + (size_t)i * ldc + p * CK_PANEL, ldc, 1, cols, acc, accumulate);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

// C block (MR × 16) (+)= A rows (MR × k) · panel. MR is a compile-time constant after inlining.
static inline __attribute__((always_inline)) void micro(const int MR, const float *a, long lda, const float *b, long k,
                                                        float *c, long ldc, long cols, int accumulate) {
    __m256 c0[6], c1[6];
    for (int r = 0; r < MR; r++) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
    for (long kk = 0; kk < k; kk++) {
        const __m256 b0 = _mm256_loadu_ps(b + kk * CK_PANEL), b1 = _mm256_loadu_ps(b + kk * CK_PANEL + 8);
        for (int r = 0; r < MR; r++) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + kk);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    if (cols == CK_PANEL) {
        for (int r = 0; r < MR; r++) {
            float *cr = c + r * ldc;
            if (accumulate) {
                c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(cr));
                c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(cr + 8));
            }
            _mm256_storeu_ps(cr, c0[r]);
            _mm256_storeu_ps(cr + 8, c1[r]);
        }
    } else {
        float tmp[6 * CK_PANEL];
        for (int r = 0; r < MR; r++) {
            _mm256_storeu_ps(tmp + r * CK_PANEL, c0[r]);
            _mm256_storeu_ps(tmp + r * CK_PANEL + 8, c1[r]);
        }
        store_block(c, ldc, MR, cols, tmp, accumulate);
    }
}

// Rows of A per pass over the panels (96 × 576 floats = 221 KB stay in L2 while every panel streams by).
#define CK_ROW_BLOCK 96

static void gemm_avx2(const float *a, long lda, long m, long k, const float *panels, long n,
                      long p0, long p1, float *c, long ldc, int accumulate) {
    for (long i0 = 0; i0 < m; i0 += CK_ROW_BLOCK) {
    const long i1 = m - i0 < CK_ROW_BLOCK ? m : i0 + CK_ROW_BLOCK;
    for (long p = p0; p < p1; p++) {
        const float *b = panels + (size_t)p * k * CK_PANEL;
        const long cols = n - p * CK_PANEL < CK_PANEL ? n - p * CK_PANEL : CK_PANEL;
        float *cp = c + p * CK_PANEL;
        long i = i0;
        for (; i + 6 <= i1; i += 6) micro(6, a + i * lda, lda, b, k, cp + i * ldc, ldc, cols, accumulate);
        const float *ai = a + i * lda;
        float *ci = cp + i * ldc;
        switch (i1 - i) {
        case 1: micro(1, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 2: micro(2, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 3: micro(3, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 4: micro(4, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 5: micro(5, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        default: break;
        }
    }
    }
}
#pragma clang attribute pop
#endif

void ck_gemm_panels(const float *a, long lda, long m, long k, const float *panels, long n,
                    long p0, long p1, float *c, long ldc, int accumulate, int use_simd) {
#if defined(__x86_64__)
    if (use_simd && ck_has_avx2_fma()) { gemm_avx2(a, lda, m, k, panels, n, p0, p1, c, ldc, accumulate); return; }
#endif
    (void)use_simd;
    gemm_generic(a, lda, m, k, panels, n, p0, p1, c, ldc, accumulate);
}
