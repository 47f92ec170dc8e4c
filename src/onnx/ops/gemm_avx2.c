/*
 * gemm_avx2.c — the AVX2 float32 GEMM micro-kernel: a 6 x 16 tile held in
 * 12 named ymm accumulators (named, not an array, so the compiler keeps
 * them in registers), one broadcast of A per row and two loads of B per k
 * step; ragged tiles go through a stack tile.
 * Entry point: kw__sgemm_ukr_avx2 (see nn_internal.h).
 */
#include <immintrin.h>

#include "onnx/ops/nn_internal.h"

#define MR KW_SGEMM_AVX2_MR
#define NR KW_SGEMM_AVX2_NR

/* C row r (n columns) += (lo, hi) */
static inline void add_row(float *cr, __m256 lo, __m256 hi, int n) {
    if (n == NR) {
        _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), lo));
        _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), hi));
        return;
    }
    float tile[NR];
    _mm256_storeu_ps(tile, lo);
    _mm256_storeu_ps(tile + 8, hi);
    for (int j = 0; j < n; j++) cr[j] += tile[j];
}

void kw__sgemm_ukr_avx2(int64_t kc, const float *ap, const float *bp,
                        float *c, int64_t ldc, int m, int n) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
        __m256 a = _mm256_broadcast_ss(ap);
        c00 = _mm256_fmadd_ps(a, b0, c00);
        c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(ap + 1);
        c10 = _mm256_fmadd_ps(a, b0, c10);
        c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(ap + 2);
        c20 = _mm256_fmadd_ps(a, b0, c20);
        c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(ap + 3);
        c30 = _mm256_fmadd_ps(a, b0, c30);
        c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(ap + 4);
        c40 = _mm256_fmadd_ps(a, b0, c40);
        c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(ap + 5);
        c50 = _mm256_fmadd_ps(a, b0, c50);
        c51 = _mm256_fmadd_ps(a, b1, c51);
        ap += MR;
        bp += NR;
    }
    add_row(c, c00, c01, n);
    if (m > 1) add_row(c + ldc, c10, c11, n);
    if (m > 2) add_row(c + 2 * ldc, c20, c21, n);
    if (m > 3) add_row(c + 3 * ldc, c30, c31, n);
    if (m > 4) add_row(c + 4 * ldc, c40, c41, n);
    if (m > 5) add_row(c + 5 * ldc, c50, c51, n);
}
