/*
 * gemm_avx512.c — the AVX-512 float32 GEMM micro-kernel: a 12 x 32 tile
 * held in 24 zmm accumulators (enough independent FMAs per broadcast and
 * B load to keep both FMA ports busy), one broadcast of A per row and two
 * loads of B per k step; a ragged tile of at most 8 or 4 rows runs a
 * shorter copy of the loop, and ragged columns store through lane masks.
 * Entry point: kw__sgemm_ukr_avx512 (see nn_internal.h).
 */
#include <immintrin.h>

#include "onnx/ops/nn_internal.h"

#define MR KW_SGEMM_AVX512_MR
#define NR KW_SGEMM_AVX512_NR

/* rows is a constant at every call, so each copy keeps its accumulators
 * in registers */
static inline __attribute__((always_inline)) void
ukr_rows(const int rows, int64_t kc, const float *ap, const float *bp,
         float *c, int64_t ldc, int m, int n) {
    __m512 acc0[MR], acc1[MR];
    for (int r = 0; r < rows; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_load_ps(bp);
        const __m512 b1 = _mm512_load_ps(bp + 16);
        for (int r = 0; r < rows; r++) {
            const __m512 a = _mm512_set1_ps(ap[r]);
            acc0[r] = _mm512_fmadd_ps(a, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(a, b1, acc1[r]);
        }
        ap += MR;
        bp += NR;
    }
    if (n == NR) {
        for (int r = 0; r < rows; r++) {
            if (r >= m) break;
            float *cr = c + r * ldc;
            _mm512_storeu_ps(cr, _mm512_add_ps(_mm512_loadu_ps(cr), acc0[r]));
            _mm512_storeu_ps(cr + 16,
                             _mm512_add_ps(_mm512_loadu_ps(cr + 16), acc1[r]));
        }
        return;
    }
    const __mmask16 m0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    const __mmask16 m1 = n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    for (int r = 0; r < rows; r++) {
        if (r >= m) break;
        float *cr = c + r * ldc;
        _mm512_mask_storeu_ps(
            cr, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc0[r]));
        _mm512_mask_storeu_ps(
            cr + 16, m1,
            _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc1[r]));
    }
}

void kw__sgemm_ukr_avx512(int64_t kc, const float *ap, const float *bp,
                          float *c, int64_t ldc, int m, int n) {
    if (m > 8)
        ukr_rows(MR, kc, ap, bp, c, ldc, m, n);
    else if (m > 4)
        ukr_rows(8, kc, ap, bp, c, ldc, m, n);
    else
        ukr_rows(4, kc, ap, bp, c, ldc, m, n);
}
