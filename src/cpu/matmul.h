/*
 * matmul.h — quantized matrix products for the forward passes:
 * y (T x n_out) = x (T x n_in) . W^T with W in any supported GGUF type and
 * x quantized on the fly to W's vec_dot_type. Callers split output rows
 * over threads; these functions do one slice.
 */
#ifndef KW_CPU_MATMUL_H
#define KW_CPU_MATMUL_H

#include "cpu/kernels.h"

/* A weight matrix in the GGUF mapping: n_out rows of n_in elements. */
struct kw__mat {
    uint32_t type;
    int64_t n_in, n_out;
    size_t row_bytes;
    const uint8_t *data;
};

/* Bytes of one activation row of n_in elements quantized for w. */
KW_HIDDEN size_t kw__mat_act_row_bytes(const struct kw__mat *w);

/* Quantizes rows [t0, t1) of x (x_stride floats apart) to w's vec_dot_type
 * into xq (xq_stride bytes apart). */
KW_HIDDEN void kw__mat_quantize(const struct kw__mat *w, const float *x,
                                size_t x_stride, void *xq, size_t xq_stride,
                                int64_t t0, int64_t t1);

/* y[t * y_stride + r] (+)= W[r] . xq[t] for r in [r0, r1), t in [0, T).
 * accumulate: add to y instead of storing. */
KW_HIDDEN void kw__mat_mul(const struct kw__mat *w, const void *xq,
                           size_t xq_stride, int64_t T, float *y,
                           size_t y_stride, int64_t r0, int64_t r1,
                           int accumulate);

#endif
