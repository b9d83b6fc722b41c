// Block-quantized weight rows dequantized straight into the packed GEMM's panel layout (ck_pack_panels of the
// dequantized rows), and the product of such a matrix with many activation rows through those panels, a tile of
// rows at a time (ck_quantized_gemm_tiles). A matrix then needs no Float32 copy: Gemma 3 270M's layer matrices are
// 382 MiB in Float32 panels and 60 MiB in their Q5_0 / Q8_0 / Q4_K / Q6_K blocks.
//
// Every weight is ggml's dequantized value (ggml-quants.c dequantize_row_*, as GGMLDequantize in Swift), computed
// from an integer code c, a Float32 scale s and, for two types, a min m per group:
//   Q8_0: c = q (int8),              w = d·c
//   Q5_0: c = q − 16 (5 bits),       w = d·c
//   Q4_1: c = q (4 bits),            w = d·c + m
//   Q4_K: c = q (4 bits),            w = (d·sc)·c − dmin·m          (s = d·sc, m = dmin·m from ck_quantized_k_scales)
//   Q6_K: c = q − 32 (6 bits),       w = (d·sc)·c                    (sc the int8 scale of the group's 16 weights)
// Each product s·c is exact in Float32 (a binary16 times an integer of at most 7 bits gives at most 18 significant
// bits; times c of at most 8 bits, 24), so the one rounding is that of the add or subtract, as in ggml, and
// fma(c, s, ±m) gives the same value. Hence the panels are bit for bit those of ck_pack_panels over the
// dequantized rows on every path, and a GEMM over them has the bits of the packed Float32 matrix.
//
// The SIMD paths decode a group of 32 codes of each row into 32 bytes, transpose 8 (AVX2) or 16 (AVX-512) rows'
// bytes so that each k's codes are adjacent (CK_BYTE_TRANSPOSE8, internal.h), then convert and scale them into the
// panel. The portable path does the same per element.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

int ck_quantized_pack_supported(int type) {
    return type == CK_Q8_0 || type == CK_Q5_0 || type == CK_Q4_1 || type == CK_Q4_K || type == CK_Q6_K;
}

// How the min enters: none, added (Q4_1), subtracted (Q4_K).
enum { MIN_NONE = 0, MIN_ADD = 1, MIN_SUB = 2 };
static int min_mode(int type) { return type == CK_Q4_1 ? MIN_ADD : type == CK_Q4_K ? MIN_SUB : MIN_NONE; }

// Scale of weights [0, 16) and [16, 32) of group b of row r, and the group's min (see the table above).
static inline __attribute__((always_inline)) void group_scales(const int type, const uint8_t *row, long r, long b,
                                                               long nb, const float *scales, const float *mins,
                                                               float *s0, float *s1, float *m) {
    const float s = scales[r * nb + b];
    if (type == CK_Q6_K) {
        const long g = b % 8;
        const int8_t *sc = (const int8_t *)(row + (b / 8) * 210 + 192 + 8 * (g / 4) + 2 * (g % 4));
        *s0 = s * (float)sc[0];
        *s1 = s * (float)sc[1];
    } else {
        *s0 = s;
        *s1 = s;
    }
    *m = min_mode(type) == MIN_NONE ? 0.0f : mins[r * nb + b];
}

// Code of element c (0…31) of group b of a row.
static inline int code_at(int type, const uint8_t *row, long b, int c) {
    switch (type) {
    case CK_Q5_0:
        return ck_q5_0_code(row + b * 22, c);
    case CK_Q4_1: {
        const uint8_t *blk = row + b * 20;
        return c < 16 ? blk[4 + c] & 15 : blk[4 + c - 16] >> 4;
    }
    case CK_Q4_K: {
        const long g = b % 8;
        const uint8_t q = row[(b / 8) * 144 + 16 + 32 * (g / 2) + c];
        return g % 2 ? q >> 4 : q & 15;
    }
    case CK_Q6_K: {
        const long g = b % 8, h = g / 4, t = g % 4;
        const uint8_t *blk = row + (b / 8) * 210;
        const uint8_t ql = blk[64 * h + 32 * (t % 2) + c];
        const int nib = t < 2 ? ql & 15 : ql >> 4;
        const int hb = (blk[128 + 32 * h + c] >> (2 * t)) & 3;
        return (nib | hb << 4) - 32;
    }
    default:
        return (int8_t)row[b * 34 + 2 + c];
    }
}

static void pack_generic(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins, long r0,
                         long n, long k, float *panels) {
    const long nb = k / 32, np = (n + 15) / 16;
    const int mode = min_mode(type);
    for (long p = 0; p < np; p++) {
        float *dst = panels + (size_t)p * k * 16;
        for (long j = 0; j < 16; j++) {
            const long r = p * 16 + j;
            if (r >= n) {
                for (long kk = 0; kk < k; kk++) dst[kk * 16 + j] = 0;
                continue;
            }
            const uint8_t *row = w + (size_t)(r0 + r) * row_bytes;
            for (long b = 0; b < nb; b++) {
                float s0, s1, m;
                group_scales(type, row, r0 + r, b, nb, scales, mins, &s0, &s1, &m);
                for (int c = 0; c < 32; c++) {
                    const float v = (float)code_at(type, row, b, c) * (c < 16 ? s0 : s1);
                    dst[(b * 32 + c) * 16 + j] = mode == MIN_ADD ? v + m : mode == MIN_SUB ? v - m : v;
                }
            }
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
// NAME(type, …): KERNEL (one width's always-inline kernel) with its type argument a compile-time constant for each
// of ck_quantized_pack_supported's types; a function of its own, so the enclosing target region applies to it.
#define PACK_ANY(NAME, KERNEL)                                                                                        \
    static void NAME(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins, long r0,    \
                     long n, long k, float *panels) {                                                                 \
        switch (type) {                                                                                               \
        case CK_Q5_0: KERNEL(CK_Q5_0, w, row_bytes, scales, mins, r0, n, k, panels); break;                           \
        case CK_Q4_1: KERNEL(CK_Q4_1, w, row_bytes, scales, mins, r0, n, k, panels); break;                           \
        case CK_Q4_K: KERNEL(CK_Q4_K, w, row_bytes, scales, mins, r0, n, k, panels); break;                           \
        case CK_Q6_K: KERNEL(CK_Q6_K, w, row_bytes, scales, mins, r0, n, k, panels); break;                           \
        default: KERNEL(CK_Q8_0, w, row_bytes, scales, mins, r0, n, k, panels); break;                                \
        }                                                                                                             \
    }

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

// The 32 codes of group b of a row as bytes, element c in byte c.
static inline __attribute__((always_inline)) __m256i codes_avx2(const int type, const uint8_t *row, long b) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    switch (type) {
    case CK_Q5_0:
        return ck_q5_0_codes_avx2(row + b * 22);
    case CK_Q4_1: {
        const __m128i qs = _mm_loadu_si128((const __m128i *)(row + b * 20 + 4));
        return _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(qs), _mm_srli_epi16(qs, 4), 1), low4);
    }
    case CK_Q4_K: {
        const long g = b % 8;
        const __m256i q = _mm256_loadu_si256((const __m256i *)(row + (b / 8) * 144 + 16 + 32 * (g / 2)));
        return _mm256_and_si256(g % 2 ? _mm256_srli_epi16(q, 4) : q, low4);
    }
    case CK_Q6_K: {
        const long g = b % 8, h = g / 4, t = g % 4;
        const uint8_t *blk = row + (b / 8) * 210;
        const __m256i ql = _mm256_loadu_si256((const __m256i *)(blk + 64 * h + 32 * (t % 2)));
        const __m256i nib = _mm256_and_si256(t < 2 ? ql : _mm256_srli_epi16(ql, 4), low4);
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h));
        // (qh >> 2t) & 3 per byte: a 16-bit shift brings the neighbour's bits only into bits 8 − 2t and up.
        const __m256i hb = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128((int)(2 * t))), _mm256_set1_epi8(3));
        return _mm256_sub_epi8(_mm256_or_si256(nib, _mm256_slli_epi16(hb, 4)), _mm256_set1_epi8(32));
    }
    default:
        return _mm256_loadu_si256((const __m256i *)(row + b * 34 + 2));
    }
}

// 8 codes (bytes) → c·s (+/− m) in 8 lanes.
static inline __attribute__((always_inline)) __m256 scale8(const int mode, __m128i bytes, __m256 s, __m256 m) {
    const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
    return mode == MIN_ADD ? _mm256_fmadd_ps(v, s, m) : mode == MIN_SUB ? _mm256_fmsub_ps(v, s, m) : _mm256_mul_ps(v, s);
}

// Group b's codes and scales for `count` rows of a panel from row `base` (of the tile's n; rows past n: zero codes,
// scales and mins; s0 NULL: codes only), and the slice `slice` of the prefetch of the panel two on (`lines` cache lines from `next`,
// `per` per slice). Shared by the AVX2 (8 rows) and AVX-512 (16 rows) kernels.
static inline __attribute__((always_inline)) void gather_group(const int type, const uint8_t *w, long row_bytes,
                                                               const float *scales, const float *mins, long r0,
                                                               long n, long base, int count, long b, long nb,
                                                               __m256i *codes, float *s0, float *s1, float *mn,
                                                               uintptr_t next, long lines, long per, long slice) {
    for (long l = slice * per; l < (slice + 1) * per && l < lines; l++)
        _mm_prefetch((const char *)(next + (uintptr_t)l * 64), _MM_HINT_T1);
    for (int i = 0; i < count; i++) {
        if (base + i < n) {
            const uint8_t *row = w + (size_t)(r0 + base + i) * row_bytes;
            codes[i] = codes_avx2(type, row, b);
            if (s0) group_scales(type, row, r0 + base + i, b, nb, scales, mins, s0 + i, s1 + i, mn + i);
        } else {
            codes[i] = _mm256_setzero_si256();
            if (s0) s0[i] = s1[i] = mn[i] = 0;
        }
    }
}

// Per panel, two halves of 8 rows; per group, the 8 rows' codes are transposed so that Z[j] holds, per 128-bit lane,
// k = 2j, 2j + 1 (low lane) and 16 + 2j, 17 + 2j (high lane) of the 8 rows. The panel two on (16 contiguous rows)
// is prefetched a slice per group: all its lines at once overflowed the miss buffers (one thread on Zen 5 over
// Gemma 3's Q8_0 embedding: 0.19 -> 0.16 ns/weight here, 0.19 -> 0.085 in the AVX-512 kernel); a prefetch past the
// matrix's end is a no-op, never a fault. The prefetch goes to L2 (hint T1): into L1 (T0) it kept one Zen 4 thread
// at 0.13 ns/weight over that embedding from memory, against 0.075 when it sat in L3; to L2, 0.095 (AVX-512, C
// harness), and a 32-row product through the tiles 119 -> 114 ms, an 8-row one 45 -> 40 ms.
static inline __attribute__((always_inline)) void pack_avx2(const int type, const uint8_t *w, long row_bytes,
                                                            const float *scales, const float *mins, long r0, long n,
                                                            long k, float *panels) {
    const long nb = k / 32, np = (n + 15) / 16;
    const int mode = min_mode(type);
    for (long p = 0; p < np; p++) {
        float *dst = panels + (size_t)p * k * 16;
        const uintptr_t next = (uintptr_t)w + (uintptr_t)(r0 + p * 16 + 32) * (uintptr_t)row_bytes;
        const long lines = (16 * row_bytes + 63) / 64, per_group = (lines + 2 * nb - 1) / (2 * nb);
        for (long h = 0; h < 2; h++) {
            for (long b = 0; b < nb; b++) {
                __m256i R[8];
                float s0[8], s1[8], mn[8];
                gather_group(type, w, row_bytes, scales, mins, r0, n, p * 16 + h * 8, 8, b, nb, R, s0, s1, mn, next,
                             lines, per_group, h * nb + b);
                const __m256 lo_s = _mm256_loadu_ps(s0), hi_s = _mm256_loadu_ps(s1), m = _mm256_loadu_ps(mn);
                __m256i Z[8];
                CK_BYTE_TRANSPOSE8(_mm256_, __m256i, R, Z);
                float *o = dst + b * 32 * 16 + h * 8;
                for (int j = 0; j < 8; j++) {
                    // k = 2j, 2j + 1 from the low lane, 16 + 2j, 17 + 2j from the high one.
                    const __m128i lo = _mm256_castsi256_si128(Z[j]), hi = _mm256_extracti128_si256(Z[j], 1);
                    const __m128i k4[4] = {lo, _mm_unpackhi_epi64(lo, lo), hi, _mm_unpackhi_epi64(hi, hi)};
                    for (int q = 0; q < 4; q++)
                        _mm256_storeu_ps(o + (2 * j + (q & 1) + 16 * (q >> 1)) * 16, scale8(mode, k4[q], q < 2 ? lo_s : hi_s, m));
                }
            }
        }
    }
}

PACK_ANY(pack_avx2_any, pack_avx2)
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
// 16 codes (bytes) → c·s (+/− m) in 16 lanes.
static inline __attribute__((always_inline)) __m512 scale16(const int mode, __m128i bytes, __m512 s, __m512 m) {
    const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
    return mode == MIN_ADD ? _mm512_fmadd_ps(v, s, m) : mode == MIN_SUB ? _mm512_fmsub_ps(v, s, m) : _mm512_mul_ps(v, s);
}

// All 16 rows of a panel at once: register i holds row i's codes (low 256 bits) and row i + 8's (high); after the
// in-lane transpose one 64-bit permutation puts each k's 16 codes in one 128-bit lane. The per-row scale and min of
// a group (all types but Q6_K, whose sub-block scales sit in the blocks) come by a masked gather rather than 16
// scalar stores and a vector reload (a store-forwarding stall): Q4_K 640 x 1024 on one Zen 4 thread, 0.100 ->
// 0.085 ns/weight.
static inline __attribute__((always_inline)) void pack_avx512(const int type, const uint8_t *w, long row_bytes,
                                                              const float *scales, const float *mins, long r0, long n,
                                                              long k, float *panels) {
    const long nb = k / 32, np = (n + 15) / 16;
    const int mode = min_mode(type);
    const __m512i order = _mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7);
    // Offsets of the 16 rows' per-group scales (row i: i·nb floats on).
    const __m512i stride = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32((int)nb));
    for (long p = 0; p < np; p++) {
        float *dst = panels + (size_t)p * k * 16;
        const uintptr_t next = (uintptr_t)w + (uintptr_t)(r0 + p * 16 + 32) * (uintptr_t)row_bytes;
        const long lines = (16 * row_bytes + 63) / 64, per_group = (lines + nb - 1) / nb;
        // Rows of this panel within the tile.
        const long live = n - p * 16 < 16 ? n - p * 16 : 16;
        const __mmask16 rows_in = (__mmask16)((1u << live) - 1);
        const float *panel_scales = scales + (size_t)(r0 + p * 16) * nb;
        const float *panel_mins = mode == MIN_NONE ? NULL : mins + (size_t)(r0 + p * 16) * nb;
        for (long b = 0; b < nb; b++) {
            float s0[16], s1[16], mn[16];
            __m256i c[16];
            __m512 lo_s, hi_s, m;
            if (type == CK_Q6_K) {
                gather_group(type, w, row_bytes, scales, mins, r0, n, p * 16, 16, b, nb, c, s0, s1, mn, next, lines,
                             per_group, b);
                lo_s = _mm512_loadu_ps(s0); hi_s = _mm512_loadu_ps(s1); m = _mm512_loadu_ps(mn);
            } else {
                // One scale (and min) per row and group: gathered into a register instead of stored lane by lane
                // and reloaded (the same values; a store-forwarding stall per group avoided).
                gather_group(type, w, row_bytes, scales, mins, r0, n, p * 16, 16, b, nb, c, NULL, NULL, NULL, next,
                             lines, per_group, b);
                lo_s = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows_in, stride, panel_scales + b, 4);
                hi_s = lo_s;
                m = mode == MIN_NONE ? _mm512_setzero_ps()
                                     : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows_in, stride, panel_mins + b, 4);
            }
            __m512i R[8];
            for (int i = 0; i < 8; i++) R[i] = _mm512_inserti64x4(_mm512_castsi256_si512(c[i]), c[i + 8], 1);
            __m512i Z[8];
            CK_BYTE_TRANSPOSE8(_mm512_, __m512i, R, Z);
            float *o = dst + b * 32 * 16;
            for (int j = 0; j < 8; j++) {
                // 128-bit lane q of P holds k = 2j + (q mod 2) + 16·⌊q/2⌋ of the 16 rows.
                const __m512i P = _mm512_permutexvar_epi64(order, Z[j]);
                const __m128i k4[4] = {_mm512_castsi512_si128(P), _mm512_extracti32x4_epi32(P, 1),
                                       _mm512_extracti32x4_epi32(P, 2), _mm512_extracti32x4_epi32(P, 3)};
                for (int q = 0; q < 4; q++)
                    _mm512_storeu_ps(o + (2 * j + (q & 1) + 16 * (q >> 1)) * 16, scale16(mode, k4[q], q < 2 ? lo_s : hi_s, m));
            }
        }
    }
}

PACK_ANY(pack_avx512_any, pack_avx512)
#pragma clang attribute pop
#endif

void ck_quantized_pack_panels(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                              long r0, long n, long k, float *panels, int use_simd) {
#if defined(__x86_64__)
    const int path = ck_resolve_path(use_simd);
    if (path == CK_PATH_AVX512) { pack_avx512_any(type, w, row_bytes, scales, mins, r0, n, k, panels); return; }
    if (path == CK_PATH_AVX2) { pack_avx2_any(type, w, row_bytes, scales, mins, r0, n, k, panels); return; }
#endif
    (void)use_simd;
    pack_generic(type, w, row_bytes, scales, mins, r0, n, k, panels);
}

long ck_quantized_tile_rows(long k) {
    const long rows = CK_TILE_FLOATS / (k > 0 ? k : 1) / CK_PANEL * CK_PANEL;
    return rows < 2 * CK_PANEL ? 2 * CK_PANEL : rows > 64 ? 64 : rows;
}

int ck_quantized_gemm_tiles(int type, const uint8_t *w, long row_bytes, const float *scales, const float *mins,
                            long r0, long r1, long k, const float *x, long ldx, long m, float *out, long ldo,
                            int accumulate, int pack_path, int gemm_path) {
    if (r1 <= r0 || m <= 0) return 0;
    const long tile = ck_quantized_tile_rows(k);
    // A per-thread tile buffer, grown and never shrunk (one tile of panels: at most 64 × k floats, and 16 × k when
    // k > CK_TILE_FLOATS / 16).
    static _Thread_local float *buffer;
    static _Thread_local long capacity;
    const long need = tile * k;
    if (capacity < need) {
        float *grown = (float *)aligned_alloc(64, sizeof(float) * (size_t)need);
        if (!grown) return -1;
        free(buffer);
        buffer = grown;
        capacity = need;
    }
    for (long t0 = r0; t0 < r1; t0 += tile) {
        const long rows = r1 - t0 < tile ? r1 - t0 : tile;
        ck_quantized_pack_panels(type, w, row_bytes, scales, mins, t0, rows, k, buffer, pack_path);
        ck_gemm_panels(x, ldx, m, k, buffer, rows, 0, (rows + CK_PANEL - 1) / CK_PANEL, out + t0, ldo, accumulate,
                       gemm_path);
    }
    return 0;
}
