/*
 * rowops.c — scalar reference of the float32 row kernels (rowops.h) and
 * the choice of variant. The reference accumulates in double; the SIMD
 * variants in float lanes, so they agree to rounding, not bit for bit.
 * Entry points: kw__rowops, kw__rowops_variant.
 */
#include <pthread.h>

#include "onnx/ops/rowops.h"

static float ref_sum(const float *x, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return (float)s;
}

static float ref_max(const float *x, int64_t n) {
    float m = x[0];
    for (int64_t i = 0; i < n; i++) {
        if (x[i] != x[i]) return x[i];
        if (x[i] > m) m = x[i];
    }
    return m;
}

static double ref_exp_sum(float *y, const float *x, float m, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = expf(x[i] - m);
        s += y[i];
    }
    return s;
}

static void ref_affine(float *y, const float *x, float c, float a, float b,
                       int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (x[i] - c) * a + b;
}

static void ref_mean_var(const float *x, int64_t n, float *mean,
                         float *var) {
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    const double m = s / (double)n;
    for (int64_t i = 0; i < n; i++) q += (x[i] - m) * (x[i] - m);
    *mean = (float)m;
    *var = (float)(q / (double)n);
}

static void ref_norm(float *y, const float *x, float mean, float inv,
                     const float *s, const float *b, int64_t n) {
    if (b)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * s[i] + b[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * s[i];
}

static const struct kw__rowops ref_ops = {
    ref_sum, ref_max, ref_exp_sum, ref_affine, ref_mean_var, ref_norm,
};

static struct kw__rowops g_variants[KW__ISA_COUNT];
static int g_have[KW__ISA_COUNT];
static const struct kw__rowops *g_chosen;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void) {
    g_variants[KW__ISA_REF] = ref_ops;
    g_have[KW__ISA_REF] = 1;
#if KW_HAVE_X86
    if (kw__cpu_has(KW__ISA_AVX2)) {
        g_variants[KW__ISA_AVX2] = ref_ops;
        kw__rowops_fill_avx2(&g_variants[KW__ISA_AVX2]);
        g_have[KW__ISA_AVX2] = 1;
    }
    if (kw__cpu_has(KW__ISA_AVX512)) {
        g_variants[KW__ISA_AVX512] = ref_ops;
        kw__rowops_fill_avx512(&g_variants[KW__ISA_AVX512]);
        g_have[KW__ISA_AVX512] = 1;
    }
#endif
    enum kw__isa isa = kw__cpu_isa(); /* honours KW_FORCE_REF */
    while (isa > KW__ISA_REF && !g_have[isa]) isa = (enum kw__isa)(isa - 1);
    g_chosen = &g_variants[isa];
}

const struct kw__rowops *kw__rowops_variant(enum kw__isa isa) {
    pthread_once(&g_once, init_once);
    return isa >= 0 && isa < KW__ISA_COUNT && g_have[isa] ? &g_variants[isa]
                                                          : NULL;
}

const struct kw__rowops *kw__rowops(void) {
    pthread_once(&g_once, init_once);
    return g_chosen;
}
