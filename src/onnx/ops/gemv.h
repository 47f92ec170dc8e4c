/*
 * gemv.h — float32 matrix-vector kernels for the M == 1 / N == 1 cases of
 * the packed GEMM (gemm_core.c): y[j * incy] += alpha * dot(x, B row j)
 * over rows of B that are contiguous in k, several rows per pass so the
 * weight stream keeps many loads and FMA chains in flight.
 * Entry points: kw__sgemv_rows_avx512 (gemv_avx512.c),
 * kw__sgemv_rows_avx2 (gemv_avx2.c).
 */
#ifndef KW_ONNX_OPS_GEMV_H
#define KW_ONNX_OPS_GEMV_H

#include "onnx/ops/nn_internal.h"

/* For j < n: y[j * incy] += alpha * sum_{k < K} x[k] * b[j * ldb + k]. */
typedef void (*kw__sgemv_rows_fn)(int64_t n, int64_t K, const float *x,
                                  const float *b, int64_t ldb, float alpha,
                                  float *y, int64_t incy);
KW_HIDDEN void kw__sgemv_rows_avx512(int64_t n, int64_t K, const float *x,
                                     const float *b, int64_t ldb, float alpha,
                                     float *y, int64_t incy);
KW_HIDDEN void kw__sgemv_rows_avx2(int64_t n, int64_t K, const float *x,
                                   const float *b, int64_t ldb, float alpha,
                                   float *y, int64_t incy);

#endif /* KW_ONNX_OPS_GEMV_H */
