// Which kernel path runs: portable C, AVX2/FMA/F16C, or AVX-512 (F, BW, DQ, VL), checked once with CPUID and
// XGETBV, and optionally forced by the environment variable SEMPROG_KERNELS (= avx512 | avx2 | portable), read once.
// Every SIMD path gives the same bits as the AVX2 one (each kernel's file says how); the portable loops sum in
// another order.
#include "ckernels.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

// Bit 0: AVX2+FMA+F16C usable; bit 1: AVX-512 F/BW/DQ/VL usable; bit 2: AVX-512 VNNI.
static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0; // the OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!((b >> 5) & 1)) return 0; // AVX2
    int found = 1;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    if (f && dq && bw && vl && (lo & 0xE0) == 0xE0) { // the OS also saves opmask and ZMM state
        found |= 2;
        if (vnni) found |= 4;
    }
    return found;
}
#else
static int detect(void) { return 0; }
#endif

static int features(void) {
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) { v = detect(); atomic_store_explicit(&cached, v, memory_order_relaxed); }
    return v;
}

int ck_cpu_supports(int path) {
    switch (path) {
    case CK_PATH_PORTABLE: return 1;
    case CK_PATH_AVX2: return features() & 1;
    case CK_PATH_AVX512: return (features() >> 1) & 1;
    default: return 0;
    }
}

int ck_has_avx512_vnni(void) { return (features() >> 2) & 1; }

static int best(void) {
    return ck_cpu_supports(CK_PATH_AVX512) ? CK_PATH_AVX512 : ck_cpu_supports(CK_PATH_AVX2) ? CK_PATH_AVX2 : CK_PATH_PORTABLE;
}

const char *ck_kernel_path_name(int path) {
    switch (path) {
    case CK_PATH_PORTABLE: return "portable";
    case CK_PATH_AVX2: return "avx2";
    case CK_PATH_AVX512: return "avx512";
    default: return "unknown";
    }
}

static char warning[256];

int ck_parse_kernel_path(const char *value, char *message, size_t message_size) {
    if (message_size) message[0] = 0;
    if (!value || !*value) return best();
    int wanted = -1;
    if (!strcmp(value, "avx512")) wanted = CK_PATH_AVX512;
    else if (!strcmp(value, "avx2")) wanted = CK_PATH_AVX2;
    else if (!strcmp(value, "portable")) wanted = CK_PATH_PORTABLE;
    if (wanted < 0) {
        if (message_size)
            snprintf(message, message_size,
                     "SEMPROG_KERNELS=%s is not one of avx512, avx2, portable; using %s (the best this CPU runs)",
                     value, ck_kernel_path_name(best()));
        return best();
    }
    if (!ck_cpu_supports(wanted)) {
        const int fallback = wanted == CK_PATH_AVX512 && ck_cpu_supports(CK_PATH_AVX2) ? CK_PATH_AVX2 : CK_PATH_PORTABLE;
        if (message_size)
            snprintf(message, message_size, "SEMPROG_KERNELS=%s, but this CPU (or its OS) lacks %s; using %s", value,
                     wanted == CK_PATH_AVX512 ? "AVX-512 F/BW/DQ/VL" : "AVX2/FMA/F16C", ck_kernel_path_name(fallback));
        return fallback;
    }
    return wanted;
}

static _Atomic int active = -1;

int ck_kernel_path(void) {
    int v = atomic_load_explicit(&active, memory_order_relaxed);
    if (v >= 0) return v;
    static _Atomic int reading = 0;
    if (atomic_exchange(&reading, 1) == 0) {
        v = ck_parse_kernel_path(getenv("SEMPROG_KERNELS"), warning, sizeof warning);
        if (warning[0]) fprintf(stderr, "semprog: warning: %s\n", warning);
        int expected = -1;
        atomic_compare_exchange_strong(&active, &expected, v);
    }
    while ((v = atomic_load(&active)) < 0) {} // another thread is reading the variable
    return v;
}

const char *ck_kernel_path_warning(void) {
    (void)ck_kernel_path();
    return warning;
}

int ck_set_kernel_path(int path) {
    if (path != CK_PATH_PORTABLE && path != CK_PATH_AVX2 && path != CK_PATH_AVX512) return -1;
    if (!ck_cpu_supports(path)) return -1;
    const int previous = ck_kernel_path();
    atomic_store(&active, path);
    return previous;
}

int ck_resolve_path(int requested) {
    if (requested == CK_PATH_ACTIVE) return ck_kernel_path();
    if (requested == CK_PATH_AVX512 && !ck_cpu_supports(CK_PATH_AVX512)) requested = CK_PATH_AVX2;
    if (requested == CK_PATH_AVX2 && !ck_cpu_supports(CK_PATH_AVX2)) requested = CK_PATH_PORTABLE;
    return requested == CK_PATH_AVX2 || requested == CK_PATH_AVX512 ? requested : CK_PATH_PORTABLE;
}

int ck_has_avx2_fma(void) { return ck_kernel_path() != CK_PATH_PORTABLE; }
