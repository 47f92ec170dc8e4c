/*
 * conv_direct.h — the direct convolution for layers with few input
 * channels (the 3-channel stems of image models): an implicit GEMM whose
 * B rows are read in place from the stride-phase planes of the input
 * (conv_direct.c drives it, conv_direct_avx512.c and conv_direct_avx2.c
 * are the micro-kernels).
 * Entry points: kw__conv_direct, kw__convd_row_avx512, kw__convd_row_avx2.
 */
#ifndef KW_ONNX_OPS_CONV_DIRECT_H
#define KW_ONNX_OPS_CONV_DIRECT_H

#include "onnx/ops/conv_internal.h"

#define KW_CONVD_MR 8 /* output channels per panel; 3 vectors of columns */

/* One image: output (m, oh, ow) = act(bias[m] + sum over k of
 * ap(m, k) * xp[roff[k] + oh*wp + ow]); ap: ceil(M/8) panels of
 * (kdim x 8), rows past M zero. act: Relu / Clip, else 0 (left to the
 * caller). */
struct kw__convd {
    const float *xp;
    const int64_t *roff;
    int64_t kdim, wp, OW, OHOW, M;
    const float *ap;
    const float *bias; /* M values, or NULL */
    int act;
    float a, b;
};
/* Output row oh of every channel. */
KW_HIDDEN void kw__convd_row_avx512(const struct kw__convd *d, int64_t oh,
                                    float *y);
KW_HIDDEN void kw__convd_row_avx2(const struct kw__convd *d, int64_t oh,
                                  float *y);

/* 2-D, one group, at most 4 input channels and a short K, stride <= 2,
 * no residual, with AVX-512 or AVX2: 1 when done (or failed: *st set), 0 when it
 * does not apply. */
KW_HIDDEN int kw__conv_direct(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                              int64_t N, int64_t C, int64_t M, int64_t group,
                              const float *x, const float *w,
                              const float *bias, const float *res, float *y,
                              const struct kw__nn_kern *kern, int act,
                              enum kw_status *st);

#endif /* KW_ONNX_OPS_CONV_DIRECT_H */
