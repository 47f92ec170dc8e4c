/*
 * rowops_avx2.c — AVX2+FMA variants of the float32 row kernels (rowops.h):
 * 8-lane blocks with two accumulators, tails through a padded block.
 * Entry point: kw__rowops_fill_avx2 (compiled with -mavx2 -mfma).
 */
#include <immintrin.h>
#include <math.h>

#include "onnx/ops/rowops.h"
#include "cpu/x86/exp_avx2.h"

static inline float hsum8(__m256 v) {
    __m128 q = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

static inline float hmax8(__m256 v) {
    __m128 q = _mm_max_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

/* The tail x[0..left) (left < 8) in a block padded with pad. */
static inline __m256 load_tail(const float *x, int64_t left, float pad) {
    float b[8];
    for (int i = 0; i < 8; i++) b[i] = i < left ? x[i] : pad;
    return _mm256_loadu_ps(b);
}

static inline void store_tail(float *y, __m256 v, int64_t left) {
    float b[8];
    _mm256_storeu_ps(b, v);
    for (int64_t i = 0; i < left; i++) y[i] = b[i];
}

static float sum_avx2(const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    }
    if (i + 8 <= n) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
        i += 8;
    }
    if (i < n) a1 = _mm256_add_ps(a1, load_tail(x + i, n - i, 0.0f));
    return hsum8(_mm256_add_ps(a0, a1));
}

static float max_avx2(const float *x, int64_t n) {
    __m256 m = _mm256_set1_ps(x[0]);
    __m256 nan = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        m = _mm256_max_ps(m, v);
    }
    if (i < n) {
        const __m256 v = load_tail(x + i, n - i, x[0]);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        m = _mm256_max_ps(m, v);
    }
    if (_mm256_movemask_ps(nan)) return NAN;
    return hmax8(m);
}

/* s += the 8 lanes of e, widened to double */
static inline __m256d add_wide(__m256d s, __m256 e) {
    s = _mm256_add_pd(s, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    return _mm256_add_pd(s, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

static double exp_sum_avx2(float *y, const float *x, float m, int64_t n) {
    const __m256 vm = _mm256_set1_ps(m);
    __m256d s = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(y + i, e);
        s = add_wide(s, e);
    }
    if (i < n) {
        /* -inf pads give exp() = 0, so they add nothing */
        const __m256 e = exp8(_mm256_sub_ps(load_tail(x + i, n - i, -INFINITY), vm));
        store_tail(y + i, e, n - i);
        s = add_wide(s, e);
    }
    __m128d q = _mm_add_pd(_mm256_extractf128_pd(s, 1), _mm256_castpd256_pd128(s));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}

static void affine_avx2(float *y, const float *x, float c, float a, float b,
                        int64_t n) {
    const __m256 vc = _mm256_set1_ps(c), va = _mm256_set1_ps(a),
                 vb = _mm256_set1_ps(b);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(
                                    _mm256_sub_ps(_mm256_loadu_ps(x + i), vc), va, vb));
    for (; i < n; i++) y[i] = fmaf(x[i] - c, a, b);
}

static void mean_var_avx2(const float *x, int64_t n, float *mean,
                          float *var) {
    const float m = sum_avx2(x, n) / (float)n;
    const __m256 vm = _mm256_set1_ps(m);
    __m256 q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm);
        q0 = _mm256_fmadd_ps(d0, d0, q0);
        q1 = _mm256_fmadd_ps(d1, d1, q1);
    }
    if (i + 8 <= n) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        q0 = _mm256_fmadd_ps(d, d, q0);
        i += 8;
    }
    if (i < n) {
        /* pads equal to the mean add nothing */
        const __m256 d = _mm256_sub_ps(load_tail(x + i, n - i, m), vm);
        q1 = _mm256_fmadd_ps(d, d, q1);
    }
    *mean = m;
    *var = hsum8(_mm256_add_ps(q0, q1)) / (float)n;
}

static void norm_avx2(float *y, const float *x, float mean, float inv,
                      const float *s, const float *b, int64_t n) {
    const __m256 vm = _mm256_set1_ps(mean), vi = _mm256_set1_ps(inv);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 t = _mm256_mul_ps(
            _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi),
            _mm256_loadu_ps(s + i));
        _mm256_storeu_ps(y + i, b ? _mm256_add_ps(t, _mm256_loadu_ps(b + i)) : t);
    }
    for (; i < n; i++) y[i] = (x[i] - mean) * inv * s[i] + (b ? b[i] : 0.0f);
}

void kw__rowops_fill_avx2(struct kw__rowops *t) {
    t->sum = sum_avx2;
    t->max = max_avx2;
    t->exp_sum = exp_sum_avx2;
    t->affine = affine_avx2;
    t->mean_var = mean_var_avx2;
    t->norm = norm_avx2;
}
