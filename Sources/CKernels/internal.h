// Helpers shared by the kernels' C files (not part of the module's interface).
#ifndef SEMPROG_CKERNELS_INTERNAL_H
#define SEMPROG_CKERNELS_INTERNAL_H

#include "ckernels.h"

/// Bytes of one GGML block of 32 weights: Q4_1 (f16 d, f16 m, 16 bytes of nibbles) or Q8_0 (f16 d, 32 bytes).
static inline long ck_block_bytes(int type) { return type == CK_Q4_1 ? 20 : type == CK_Q5_0 ? 22 : 34; }

#if defined(__x86_64__)
#include <immintrin.h>
/// Sum of the 8 lanes.
static inline __attribute__((always_inline, target("avx2,fma,f16c"))) float ck_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

#endif
