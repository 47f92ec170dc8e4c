/*
 * bench_vec_dot.c — ns per block of every quant vec_dot and gemm tile, per
 * ISA (ref, avx2, avx512), on L2-resident SmolLM2-like shapes: a (rows x n)
 * weight matrix times 16 activation rows, n = 576 (1536 for 256-blocks).
 * gemm is timed as the full product in 4x4 tiles and reported per
 * block-dot (one weight block with one activation block), like vec_dot.
 * Each number is the best of TRIALS runs (robust to a busy machine).
 *
 * Build by hand (not part of CMake), from the repository root:
 *   cc -O2 -Iinclude -Isrc bench/kernels/bench_vec_dot.c \
 *      BUILD/libkaiwu.a -lm -lpthread -o /tmp/bench_vec_dot
 * A dev harness may define kw_bench_extra_dot (weak) to add a column.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/isa_table.h"

/* optional extra vec_dot to compare with (e.g. another library's) */
kw__vec_dot_fn kw_bench_extra_dot(uint32_t type) __attribute__((weak));

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t g_rng = 88172645463325252ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static float rndf(void) { return (float)(rnd() & 0xFFFFFF) / 8388608.0f - 1.0f; }

static uint32_t act_type(uint32_t t) {
    switch (t) {
    case KW_TYPE_Q4_1: case KW_TYPE_Q5_1: return KW_TYPE_Q8_1;
    case KW_TYPE_Q4_0: case KW_TYPE_Q5_0: case KW_TYPE_Q8_0:
    case KW_TYPE_IQ4_NL: return KW_TYPE_Q8_0;
    case KW_TYPE_F16: return KW_TYPE_F16;
    default: return KW_TYPE_Q8_K;
    }
}

enum { ROWS = 64, COLS = 16 };
/* best of TRIALS short runs: the machine is shared, so take the minimum */
enum { TRIALS = 15 };

/* weights: random bytes, every fp16 field a small sane number */
static void fill_w(uint32_t t, uint8_t *w, size_t bytes) {
    for (size_t k = 0; k < bytes; k++) w[k] = (uint8_t)rnd();
    const size_t bs = kw__traits(t)->type_size;
    const uint16_t h = kw__fp32_to_fp16(0.01f);
    if (t == KW_TYPE_F16) {
        for (size_t k = 0; k + 1 < bytes; k += 2) memcpy(w + k, &h, 2);
        return;
    }
    static const struct { uint32_t t; int off[2]; } offs[] = {
        {KW_TYPE_Q2_K, {80, 82}}, {KW_TYPE_Q3_K, {108, -1}},
        {KW_TYPE_Q6_K, {208, -1}}, {KW_TYPE_Q4_1, {0, 2}},
        {KW_TYPE_Q5_1, {0, 2}}, {KW_TYPE_Q4_K, {0, 2}}, {KW_TYPE_Q5_K, {0, 2}}};
    int o0 = 0, o1 = -1;
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++)
        if (offs[k].t == t) { o0 = offs[k].off[0]; o1 = offs[k].off[1]; }
    for (size_t b = 0; b + bs <= bytes; b += bs) {
        memcpy(w + b + o0, &h, 2);
        if (o1 >= 0) memcpy(w + b + o1, &h, 2);
    }
}

static double time_vec_dot(kw__vec_dot_fn f, int64_t n, const uint8_t *w,
                           size_t wr, const uint8_t *a, size_t ar, int reps) {
    volatile float sink = 0;
    float s;
    const double t0 = now_ns();
    for (int r = 0; r < reps; r++)
        for (int j = 0; j < COLS; j++)
            for (int i = 0; i < ROWS; i++) {
                f(n, &s, w + (size_t)i * wr, a + (size_t)j * ar);
                sink += s;
            }
    (void)sink;
    return now_ns() - t0;
}

/* cols: 4 for prompt-style 4x4 tiles, 1 for decode-style 4x1 tiles */
static double time_gemm(kw__gemm_fn g, int64_t n, const uint8_t *w, size_t wr,
                        const uint8_t *a, size_t ar, int reps, int cols) {
    static float out[COLS * ROWS];
    const double t0 = now_ns();
    for (int r = 0; r < reps; r++)
        for (int j = 0; j < COLS; j += cols)
            for (int i = 0; i < ROWS; i += 4)
                g(n, w + (size_t)i * wr, wr, 4, a + (size_t)j * ar, ar, cols,
                  out + (size_t)j * ROWS + i, ROWS);
    return now_ns() - t0;
}

int main(int argc, char **argv) {
    const uint32_t types[] = {KW_TYPE_Q4_1, KW_TYPE_Q8_0, KW_TYPE_Q4_K,
                              KW_TYPE_Q6_K, KW_TYPE_Q4_0, KW_TYPE_Q5_K,
                              KW_TYPE_Q5_0, KW_TYPE_Q5_1, KW_TYPE_Q3_K,
                              KW_TYPE_Q2_K, KW_TYPE_IQ4_NL, KW_TYPE_IQ4_XS,
                              KW_TYPE_F16};
    const int reps = argc > 1 ? atoi(argv[1]) : 4;
    kw__cpu_init();
    printf("ns per block-dot (32 elements; 256 for K/IQ4_XS; 32 for f16)\n");
    printf("%-8s %5s | %8s %8s %8s %8s | %8s %8s %8s | %8s %8s\n", "type",
           "n", "dot.ref", "dot.avx2", "dot.512", "dot.xtra", "4x4.ref",
           "4x4.avx2", "4x4.512", "4x1.avx2", "4x1.512");
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const uint32_t t = types[k], at = act_type(t);
        const int64_t bs = t == KW_TYPE_F16 ? 32 : kw__traits(t)->blck_size;
        const int64_t n = bs == 256 ? 1536 : 576;
        const size_t wr = kw__row_size(t, n), ar = kw__row_size(at, n);
        uint8_t *w = malloc(wr * ROWS), *a = malloc(ar * COLS);
        float *f = malloc((size_t)n * sizeof(float));
        fill_w(t, w, wr * ROWS);
        kw__from_float_fn q = kw__from_float_variant(at, KW__ISA_REF);
        if (!q) q = kw__traits(at)->from_float;
        for (int j = 0; j < COLS; j++) {
            for (int64_t i = 0; i < n; i++) f[i] = rndf();
            if (at == KW_TYPE_F16) {
                for (int64_t i = 0; i < n; i++)
                    ((uint16_t *)(a + (size_t)j * ar))[i] = kw__fp32_to_fp16(f[i]);
            } else if (q) {
                q(f, a + (size_t)j * ar, n);
            } else {
                memset(a + (size_t)j * ar, 1, ar);
            }
        }
        const double blocks = (double)reps * ROWS * COLS * (double)(n / bs);
        printf("%-8s %5lld |", kw_type_name(t), (long long)n);
        for (int isa = 0; isa < 4; isa++) {
            kw__vec_dot_fn fn = isa < 3 ? kw__vec_dot_variant(t, (enum kw__isa)isa)
                                        : (kw_bench_extra_dot ? kw_bench_extra_dot(t)
                                                              : NULL);
            if (!fn) { printf(" %8s", "-"); continue; }
            const int r = isa == 0 ? (reps + 9) / 10 : reps;
            double ns = 1e300;
            for (int trial = 0; trial < TRIALS; trial++) {
                const double v = time_vec_dot(fn, n, w, wr, a, ar, r);
                ns = v < ns ? v : ns;
            }
            printf(" %8.2f", ns / (blocks * r / reps));
        }
        for (int col = 0; col < 5; col++) {
            const int isa = col < 3 ? col : col - 2, cols = col < 3 ? 4 : 1;
            if (col == 0 || col == 3) printf(" |");
            kw__gemm_fn g = kw__gemm_variant(t, (enum kw__isa)isa);
            if (!g) { printf(" %8s", "-"); continue; }
            const int r = isa == 0 ? (reps + 9) / 10 : reps;
            double ns = 1e300;
            for (int trial = 0; trial < TRIALS; trial++) {
                const double v = time_gemm(g, n, w, wr, a, ar, r, cols);
                ns = v < ns ? v : ns;
            }
            printf(" %8.2f", ns / (blocks * r / reps));
        }
        printf("\n");
        free(w);
        free(a);
        free(f);
    }
    /* activation quantizers: ns per 32 floats */
    printf("\nquantize ns per 32 floats (n = 1536)\n");
    const uint32_t qt[] = {KW_TYPE_Q8_0, KW_TYPE_Q8_1, KW_TYPE_Q8_K};
    static float xf[1536];
    static uint8_t qb[1536 * 2];
    for (int i = 0; i < 1536; i++) xf[i] = rndf();
    for (size_t k = 0; k < 3; k++) {
        printf("%-8s", kw_type_name(qt[k]));
        for (int isa = 0; isa < 3; isa++) {
            kw__from_float_fn q = kw__from_float_variant(qt[k], (enum kw__isa)isa);
            if (!q) { printf(" %8s", "-"); continue; }
            const int r = 20 * reps + 1;
            double best = 1e300;
            for (int trial = 0; trial < TRIALS; trial++) {
                const double t0 = now_ns();
                for (int i = 0; i < r; i++) q(xf, qb, 1536);
                const double v = now_ns() - t0;
                best = v < best ? v : best;
            }
            printf(" %8.2f", best / (r * 48.0));
        }
        printf("   (ref avx2 avx512)\n");
    }
    return 0;
}
