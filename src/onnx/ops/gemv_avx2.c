/*
 * gemv_avx2.c — the AVX2 matrix-vector kernel of gemv.h: 4 rows of B per
 * pass with two ymm accumulators each (8 independent FMA chains, as the
 * AVX-512 kernel), the k tail in scalar code.
 * Entry point: kw__sgemv_rows_avx2.
 */
#include <immintrin.h>

#include "onnx/ops/gemv.h"

#define ROWS 4

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* rows is a constant at every call, so the accumulators stay in ymm */
static inline __attribute__((always_inline)) void
rows_pass(const int rows, int64_t K, const float *x, const float *b,
          int64_t ldb, float alpha, float *y, int64_t incy) {
    __m256 acc0[ROWS], acc1[ROWS];
    for (int r = 0; r < rows; r++)
        acc0[r] = acc1[r] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        for (int r = 0; r < rows; r++) {
            acc0[r] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b + r * ldb + k),
                                      acc0[r]);
            acc1[r] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b + r * ldb + k + 8),
                                      acc1[r]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float s = hsum8(_mm256_add_ps(acc0[r], acc1[r]));
        for (int64_t t = k; t < K; t++) s += x[t] * b[r * ldb + t];
        y[r * incy] += alpha * s;
    }
}

void kw__sgemv_rows_avx2(int64_t n, int64_t K, const float *x,
                         const float *b, int64_t ldb, float alpha, float *y,
                         int64_t incy) {
    int64_t j = 0;
    for (; j + ROWS <= n; j += ROWS)
        rows_pass(ROWS, K, x, b + j * ldb, ldb, alpha, y + j * incy, incy);
    b += j * ldb;
    y += j * incy;
    switch (n - j) {
    case 3: rows_pass(3, K, x, b, ldb, alpha, y, incy); break;
    case 2: rows_pass(2, K, x, b, ldb, alpha, y, incy); break;
    case 1: rows_pass(1, K, x, b, ldb, alpha, y, incy); break;
    default: break;
    }
}
