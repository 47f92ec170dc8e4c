/*
 * gemv_avx512.c — the AVX-512 matrix-vector kernel of gemv.h: 8 rows of B
 * per pass, one zmm accumulator each, so 8 independent FMA chains and 8
 * load streams share each load of x (a classifier head's weights come
 * from L3 or memory every run, and one dot product at a time leaves most
 * of that bandwidth unused); the k tail loads through a lane mask.
 * Entry point: kw__sgemv_rows_avx512.
 */
#include <immintrin.h>

#include "onnx/ops/gemv.h"

#define ROWS 8

/* rows is a constant at every call, so the accumulators stay in zmm */
static inline __attribute__((always_inline)) void
rows_pass(const int rows, int64_t K, const float *x, const float *b,
          int64_t ldb, float alpha, float *y, int64_t incy) {
    __m512 acc[ROWS];
    for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        const __m512 xv = _mm512_loadu_ps(x + k);
        for (int r = 0; r < rows; r++)
            acc[r] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(b + r * ldb + k),
                                     acc[r]);
    }
    if (k < K) {
        const __mmask16 m = (__mmask16)((1u << (K - k)) - 1);
        const __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
        for (int r = 0; r < rows; r++)
            acc[r] = _mm512_fmadd_ps(
                xv, _mm512_maskz_loadu_ps(m, b + r * ldb + k), acc[r]);
    }
    for (int r = 0; r < rows; r++)
        y[r * incy] += alpha * _mm512_reduce_add_ps(acc[r]);
}

void kw__sgemv_rows_avx512(int64_t n, int64_t K, const float *x,
                           const float *b, int64_t ldb, float alpha,
                           float *y, int64_t incy) {
    int64_t j = 0;
    for (; j + ROWS <= n; j += ROWS)
        rows_pass(ROWS, K, x, b + j * ldb, ldb, alpha, y + j * incy, incy);
    const int64_t left = n - j;
    b += j * ldb;
    y += j * incy;
    if (left >= 4) {
        rows_pass(4, K, x, b, ldb, alpha, y, incy);
        b += 4 * ldb;
        y += 4 * incy;
    }
    switch (left & 3) {
    case 3: rows_pass(3, K, x, b, ldb, alpha, y, incy); break;
    case 2: rows_pass(2, K, x, b, ldb, alpha, y, incy); break;
    case 1: rows_pass(1, K, x, b, ldb, alpha, y, incy); break;
    default: break;
    }
}
