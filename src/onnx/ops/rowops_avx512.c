/*
 * rowops_avx512.c — AVX-512 variants of the float32 row kernels
 * (rowops.h): 16-lane blocks, masked tails.
 * Entry point: kw__rowops_fill_avx512 (compiled with -mavx512f...).
 */
#include <immintrin.h>
#include <math.h>

#include "onnx/ops/rowops.h"
#include "cpu/x86/exp_avx512.h"

static inline __mmask16 tail_mask(int64_t left) {
    return (__mmask16)((1u << left) - 1u);
}

static float sum_avx512(const float *x, int64_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
    }
    if (i + 16 <= n) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        i += 16;
    }
    if (i < n) a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(tail_mask(n - i), x + i));
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

static float max_avx512(const float *x, int64_t n) {
    __m512 m = _mm512_set1_ps(x[0]);
    __mmask16 nan = 0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        m = _mm512_max_ps(m, v);
    }
    if (i < n) {
        const __mmask16 k = tail_mask(n - i);
        const __m512 v = _mm512_mask_loadu_ps(m, k, x + i);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        m = _mm512_max_ps(m, v);
    }
    if (nan) return NAN;
    return _mm512_reduce_max_ps(m);
}

/* s += the 16 lanes of e, widened to double */
static inline __m512d add_wide(__m512d s, __m512 e) {
    s = _mm512_add_pd(s, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    return _mm512_add_pd(s, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
}

static double exp_sum_avx512(float *y, const float *x, float m, int64_t n) {
    const __m512 vm = _mm512_set1_ps(m);
    __m512d s = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
        _mm512_storeu_ps(y + i, e);
        s = add_wide(s, e);
    }
    if (i < n) {
        const __mmask16 k = tail_mask(n - i);
        const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm));
        _mm512_mask_storeu_ps(y + i, k, e);
        s = add_wide(s, _mm512_maskz_mov_ps(k, e));
    }
    return _mm512_reduce_add_pd(s);
}

static void affine_avx512(float *y, const float *x, float c, float a,
                          float b, int64_t n) {
    const __m512 vc = _mm512_set1_ps(c), va = _mm512_set1_ps(a),
                 vb = _mm512_set1_ps(b);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(
                                    _mm512_sub_ps(_mm512_loadu_ps(x + i), vc), va, vb));
    if (i < n) {
        const __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(
            y + i, k,
            _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vc),
                            va, vb));
    }
}

static void mean_var_avx512(const float *x, int64_t n, float *mean,
                            float *var) {
    const float m = sum_avx512(x, n) / (float)n;
    const __m512 vm = _mm512_set1_ps(m);
    __m512 q0 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), vm);
        const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vm);
        q0 = _mm512_fmadd_ps(d0, d0, q0);
        q1 = _mm512_fmadd_ps(d1, d1, q1);
    }
    if (i + 16 <= n) {
        const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), vm);
        q0 = _mm512_fmadd_ps(d, d, q0);
        i += 16;
    }
    if (i < n) {
        /* masked-off lanes load the mean: their difference is 0 */
        const __m512 d = _mm512_sub_ps(
            _mm512_mask_loadu_ps(vm, tail_mask(n - i), x + i), vm);
        q1 = _mm512_fmadd_ps(d, d, q1);
    }
    *mean = m;
    *var = _mm512_reduce_add_ps(_mm512_add_ps(q0, q1)) / (float)n;
}

static inline __m512 norm16(__m512 x, __m512 vm, __m512 vi, __m512 s) {
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(x, vm), vi), s);
}

static void norm_avx512(float *y, const float *x, float mean, float inv,
                        const float *s, const float *b, int64_t n) {
    const __m512 vm = _mm512_set1_ps(mean), vi = _mm512_set1_ps(inv);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 t = norm16(_mm512_loadu_ps(x + i), vm, vi, _mm512_loadu_ps(s + i));
        if (b) t = _mm512_add_ps(t, _mm512_loadu_ps(b + i));
        _mm512_storeu_ps(y + i, t);
    }
    if (i < n) {
        const __mmask16 k = tail_mask(n - i);
        __m512 t = norm16(_mm512_maskz_loadu_ps(k, x + i), vm, vi,
                          _mm512_maskz_loadu_ps(k, s + i));
        if (b) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(k, b + i));
        _mm512_mask_storeu_ps(y + i, k, t);
    }
}

void kw__rowops_fill_avx512(struct kw__rowops *t) {
    t->sum = sum_avx512;
    t->max = max_avx512;
    t->exp_sum = exp_sum_avx512;
    t->affine = affine_avx512;
    t->mean_var = mean_var_avx512;
    t->norm = norm_avx512;
}
