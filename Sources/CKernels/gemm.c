// Packed-panel SGEMM: C = A · Wᵀ with W stored as panels of 16 output columns (see ckernels.h).
// The AVX2 micro-kernel keeps a 6 × 16 block of C in 12 registers and streams one panel over k:
// per k it loads 16 weights (2 vectors), broadcasts 6 activations and issues 12 FMAs. The AVX-512 kernel keeps a
// 12 × 32 block (two panels) in 24 zmm registers with the same arithmetic per output (same bits, see below).
#include "ckernels.h"
#include <stdlib.h>
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

// Rows of A per pass over the panels (96 × 576 floats = 221 KB stay in L2 while every panel streams by).
#define CK_ROW_BLOCK 96

// Rows of A whose stride is a multiple of 2 KB (k = 512, 1024, 1536, 2048, … floats: Gemma 3's attention output
// and down projections, SmolLM2's down projection) fall on one or two sets of the 4 KB-periodic L1 cache, so the 6 or
// 12 rows a micro-kernel broadcasts from evict one another and the panel's lines (a C harness on Zen 5, one thread,
// k = 2048: 125–130 GFLOP/s against 180–200 with the rows 64 bytes further apart). Such a block of A rows is first
// copied (memcpy) into a per-thread buffer with rows k + 16 floats apart, when enough panels follow to repay the
// copy. The copy only moves values: each output is the same FMA chain as without it, so the bits do not change.
static int ck_gemm_restride(long m, long lda, long panels) { return m >= 3 && lda % 512 == 0 && panels >= 8; }

// A per-thread buffer of at least `count` floats (grown, never shrunk); NULL if it cannot be had (then no copy).
static float *ck_gemm_row_buffer(long count) {
    static _Thread_local float *buffer;
    static _Thread_local long capacity;
    if (capacity < count) {
        float *grown = (float *)malloc(sizeof(float) * (size_t)count);
        if (!grown) return NULL;
        free(buffer);
        buffer = grown;
        capacity = count;
    }
    return buffer;
}

// Where a driver call's kernels read A from: restrided copies (buf, rows ld = k + 16 apart) or A itself (buf NULL).
typedef struct { float *buf; long ld; } ck_a_rows;

static ck_a_rows ck_gemm_a_rows(long m, long lda, long k, long panels) {
    ck_a_rows r = {NULL, lda};
    if (ck_gemm_restride(m, lda, panels) && (r.buf = ck_gemm_row_buffer(CK_ROW_BLOCK * (k + 16)))) r.ld = k + 16;
    return r;
}

// Rows [i0, i1) of A copied into buf, `ld` floats apart; returns where the kernels read row i0 from.
static const float *ck_gemm_rows(const float *a, long lda, long i0, long i1, long k, float *buf, long ld) {
    if (!buf) return a + i0 * lda;
    for (long i = i0; i < i1; i++) memcpy(buf + (i - i0) * ld, a + i * lda, sizeof(float) * (size_t)k);
    return buf;
}

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

// One block of rows [0, rows) of A against panels [p0, p1) (see gemm_blocks).
static void gemm_avx2(const float *a, long lda, long rows, long k, const float *panels, long n,
                      long p0, long p1, float *c, long ldc, int accumulate) {
    for (long p = p0; p < p1; p++) {
        const float *b = panels + (size_t)p * k * CK_PANEL;
        const long cols = n - p * CK_PANEL < CK_PANEL ? n - p * CK_PANEL : CK_PANEL;
        float *cp = c + p * CK_PANEL;
        long i = 0;
        // A tail of 1, 2 or 3 rows after full groups of 6 takes one group with it and runs as 4 + 3, 4 + 4 or
        // 5 + 4 rows: a micro-kernel of MR rows keeps 2·MR FMA chains in flight, and fewer than 8 leave the two FMA
        // pipes (latency 4) partly idle. Which kernel computes a row does not change its bits (each output is one
        // FMA chain over k either way).
        const long tail = rows % 6;
        const long full_end = tail >= 1 && tail <= 3 && rows > 6 ? rows - tail - 6 : rows - tail;
        for (; i < full_end; i += 6) micro(6, a + i * lda, lda, b, k, cp + i * ldc, ldc, cols, accumulate);
        if (rows - i == 9) { micro(5, a + i * lda, lda, b, k, cp + i * ldc, ldc, cols, accumulate); i += 5; }
        else if (rows - i >= 7) { micro(4, a + i * lda, lda, b, k, cp + i * ldc, ldc, cols, accumulate); i += 4; }
        const float *ai = a + i * lda;
        float *ci = cp + i * ldc;
        switch (rows - i) {
        case 1: micro(1, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 2: micro(2, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 3: micro(3, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 4: micro(4, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        case 5: micro(5, ai, lda, b, k, ci, ldc, cols, accumulate); break;
        default: break;
        }
    }
}
#pragma clang attribute pop

// AVX-512: the same per-output arithmetic as the AVX2 kernel. A zmm register holds the 16 outputs of one row and
// one panel (the two ymm accumulators of the AVX2 kernel side by side); each output is still one FMA chain over
// kk = 0, 1, …, k − 1 starting from 0, added to C at the end when accumulating, so the bits are the AVX2 kernel's.
// What changes is only how many outputs are in flight: a 12 × 32 block (two panels) in 24 of the 32 registers.
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)

// C block (MR rows × NP panels of 16) (+)= A rows · NP consecutive panels (`pstride` floats apart); the last panel
// has `cols` valid columns (masked loads and stores).
static inline __attribute__((always_inline)) void micro512(const int MR, const int NP, const float *a, long lda,
                                                           const float *b, long pstride, long k, float *c, long ldc,
                                                           long cols, int accumulate) {
    __m512 acc[12][2];
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NP; j++) acc[r][j] = _mm512_setzero_ps();
    for (long kk = 0; kk < k; kk++) {
        __m512 bv[2];
        for (int j = 0; j < NP; j++) bv[j] = _mm512_loadu_ps(b + j * pstride + kk * CK_PANEL);
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(a[r * lda + kk]);
            for (int j = 0; j < NP; j++) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
        }
    }
    const __mmask16 last = cols >= CK_PANEL ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    for (int r = 0; r < MR; r++) {
        float *cr = c + r * ldc;
        for (int j = 0; j < NP; j++) {
            const __mmask16 mask = j == NP - 1 ? last : (__mmask16)0xFFFF;
            __m512 v = acc[r][j];
            if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, cr + j * CK_PANEL));
            _mm512_mask_storeu_ps(cr + j * CK_PANEL, mask, v);
        }
    }
}

#define CK_MR512 12

static inline __attribute__((always_inline)) void rows512(const int NP, const float *a, long lda, long i0, long i1,
                                                          const float *b, long pstride, long k, float *cp, long ldc,
                                                          long cols, int accumulate) {
    long i = i0;
    for (; i + CK_MR512 <= i1; i += CK_MR512)
        micro512(CK_MR512, NP, a + i * lda, lda, b, pstride, k, cp + i * ldc, ldc, cols, accumulate);
    const float *ai = a + i * lda;
    float *ci = cp + i * ldc;
    switch (i1 - i) {
#define CK_CASE(R) case R: micro512(R, NP, ai, lda, b, pstride, k, ci, ldc, cols, accumulate); break;
    CK_CASE(1) CK_CASE(2) CK_CASE(3) CK_CASE(4) CK_CASE(5) CK_CASE(6)
    CK_CASE(7) CK_CASE(8) CK_CASE(9) CK_CASE(10) CK_CASE(11)
#undef CK_CASE
    default: break;
    }
}

// One block of rows [0, rows) of A against panels [p0, p1) (see gemm_blocks).
static void gemm_avx512(const float *a, long lda, long rows, long k, const float *panels, long n,
                        long p0, long p1, float *c, long ldc, int accumulate) {
    const long pstride = k * CK_PANEL;
    for (long p = p0; p < p1;) {
        const int np = p1 - p >= 2 ? 2 : 1;
        const float *b = panels + (size_t)p * pstride;
        const long lastp = p + np - 1;
        const long cols = n - lastp * CK_PANEL < CK_PANEL ? n - lastp * CK_PANEL : CK_PANEL;
        float *cp = c + p * CK_PANEL;
        if (np == 2) rows512(2, a, lda, 0, rows, b, pstride, k, cp, ldc, cols, accumulate);
        else rows512(1, a, lda, 0, rows, b, pstride, k, cp, ldc, cols, accumulate);
        p += np;
    }
}
#pragma clang attribute pop
#endif

#if defined(__x86_64__)
typedef void (*ck_gemm_block_fn)(const float *a, long lda, long rows, long k, const float *panels, long n, long p0,
                                 long p1, float *c, long ldc, int accumulate);

// The SIMD drivers: A in blocks of CK_ROW_BLOCK rows, each (restrided when its stride aliases) multiplied by every
// panel of [p0, p1) with `block` before the next block.
static void gemm_blocks(ck_gemm_block_fn block, const float *a, long lda, long m, long k, const float *panels, long n,
                        long p0, long p1, float *c, long ldc, int accumulate) {
    const ck_a_rows src = ck_gemm_a_rows(m, lda, k, p1 - p0);
    for (long b0 = 0; b0 < m; b0 += CK_ROW_BLOCK) {
        const long b1 = m - b0 < CK_ROW_BLOCK ? m : b0 + CK_ROW_BLOCK;
        block(ck_gemm_rows(a, lda, b0, b1, k, src.buf, src.ld), src.ld, b1 - b0, k, panels, n, p0, p1, c + b0 * ldc,
              ldc, accumulate);
    }
}
#endif

void ck_gemm_panels(const float *a, long lda, long m, long k, const float *panels, long n,
                    long p0, long p1, float *c, long ldc, int accumulate, int use_simd) {
#if defined(__x86_64__)
    const int path = ck_resolve_path(use_simd);
    if (path == CK_PATH_AVX512) { gemm_blocks(gemm_avx512, a, lda, m, k, panels, n, p0, p1, c, ldc, accumulate); return; }
    if (path == CK_PATH_AVX2) { gemm_blocks(gemm_avx2, a, lda, m, k, panels, n, p0, p1, c, ldc, accumulate); return; }
#endif
    (void)use_simd;
    gemm_generic(a, lda, m, k, panels, n, p0, p1, c, ldc, accumulate);
}
