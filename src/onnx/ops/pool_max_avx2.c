/*
 * pool_max_avx2.c — the 3x3 stride-2 max pooling of pool_max_avx512.c
 * for AVX2: the same body (pool_max_body.h), 8 lanes a step; a row's
 * even and odd columns come from in-lane shuffles and a 64-bit lane
 * permute, and the third tap of each window is the even columns of the
 * row two columns on.
 * Entry point: kw__maxpool3s2_avx2 (pool_max.h).
 */
#include <immintrin.h>

#include "onnx/ops/pool_max.h"
#include "onnx/ops/vec_avx2.h"

#define VW 8

/* t[q, q+8) (the first n lanes) = the column maxima of nr rows from
 * x0 + q, NaN ignored (MAXPS keeps its second operand when either is
 * NaN: the first row meets -inf as the first operand, and the running
 * maximum, never NaN, is the second); returns the first row's NaN lanes. */
static inline __attribute__((always_inline)) int
col_step(const float *x0, int64_t iw, int nr, int64_t q, int64_t n,
         float *t) {
    const int full = n >= 8;
    const __m256i m = kw__lanes8(n);
#define LD(p) (full ? _mm256_loadu_ps(p) : _mm256_maskload_ps((p), m))
    __m256 v = LD(x0 + q);
    const int nan = _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    v = _mm256_max_ps(v, _mm256_set1_ps(-INFINITY));
    if (nr > 1) v = _mm256_max_ps(LD(x0 + iw + q), v);
    if (nr > 2) v = _mm256_max_ps(LD(x0 + 2 * iw + q), v);
#undef LD
    kw__store8n(t + q, v, n);
    return nan;
}

/* the even columns of p[0, 16) */
static inline __m256 evens(const float *p) {
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
        _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Outputs [lo, hi) of one row from its column maxima t (-inf outside the
 * row): the maximum of the even columns, the odd ones (the even ones of
 * the row one column on) and the even ones two columns on. */
static void row_out(const float *t, int64_t c, int64_t lo, int64_t hi,
                    float *yr) {
    for (int64_t ow = lo; ow < hi; ow += 8, c += 16) {
        const __m256 e = evens(t + c), o = evens(t + c + 1),
                     e2 = evens(t + c + 2);
        /* ties keep the left column (MAXPS keeps its second operand) */
        const __m256 v = _mm256_max_ps(e2, _mm256_max_ps(o, e));
        kw__store8n(yr + ow, v, hi - ow);
    }
}

#define KW_PM_NAME kw__maxpool3s2_avx2
#include "onnx/ops/pool_max_body.h"
