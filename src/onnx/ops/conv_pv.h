/*
 * conv_pv.h — the pixel-vector pointwise convolution for AVX2 (conv_pv.c
 * drives it, conv_pv_avx2.c holds the micro-kernels). A 1x1 layer is the
 * GEMM y(M x HW) = W(M x C) x(C x HW); here a tile is 2 output channels
 * x up to 48 pixels (6 vectors), the weights broadcast, the pixels
 * loaded as vectors from rows of the input, so the sums are stored
 * straight into the output planes: no transpose, as the channel-vector
 * kernel (conv_ct.h) needs, and no 16-pixel panels, which waste a
 * quarter of the lanes on a 7x7 plane. The pixels past the last whole
 * vector (HW mod 8) go through a column kernel. Entry points:
 * kw__conv_pv, kw__pv_tile_avx2, kw__pv_cols_avx2.
 */
#ifndef KW_ONNX_OPS_CONV_PV_H
#define KW_ONNX_OPS_CONV_PV_H

#include "onnx/ops/conv_internal.h"

#define KW_PV_V 6    /* vectors of 8 pixels a tile at most */
#define KW_PV_KC 512 /* K steps a block at most */

/* One image: y(m, q) = act(bias[m] + res(m, q) + sum over k < K of
 * W(m, k) x(k, q)), W packed as pairs of output channels (w2: pair p's
 * step k at w2[(p * K4 + k) * 2], the two rows past M and the steps past
 * K zero). act: None, Relu or Clip (bounds a, b). */
struct kw__pv {
    const float *w2;
    int64_t K, K4; /* K4: K rounded up to 4 */
    const float *bias; /* M values, or NULL */
    const float *res;  /* (M, HW), or NULL */
    float *y;          /* (M, HW) */
    int64_t M, HW;
    int act;
    float a, b;
};

/* Pair p, pixels q0 .. q0 + 8 v - 1 (v 1..6), K steps [k0, k0 + kc):
 * x points at step k0's row, rows ldx floats apart, 32-byte aligned.
 * first: start from the bias, else from y; last: add the residual,
 * apply the activation. */
KW_HIDDEN void kw__pv_tile_avx2(const struct kw__pv *d, int64_t p,
                                const float *x, int64_t ldx, int64_t k0,
                                int64_t kc, int v, int64_t q0, int first,
                                int last);

/* Pairs [p0, p1), the r (1..7) pixels from q0, over all K steps: xd
 * holds pixel j's inputs at xd[j * 2 * K4 + 2 k] and 2 k + 1 (each
 * twice, the steps past K zero). */
KW_HIDDEN void kw__pv_cols_avx2(const struct kw__pv *d, int64_t p0,
                                int64_t p1, const float *xd, int r,
                                int64_t q0);

/* Pointwise, stride 1, unpadded, one group, with AVX2, on planes where
 * it beats the packed GEMM and the channel-vector path: 1 when done
 * (or failed: *st set), 0 when it does not apply. res: a residual of
 * y's shape added before act, or NULL. */
KW_HIDDEN int kw__conv_pv(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                          int64_t N, int64_t C, int64_t M, int64_t group,
                          const float *x, const float *w, const float *bias,
                          const float *res, float *y, int act,
                          enum kw_status *st);

#endif /* KW_ONNX_OPS_CONV_PV_H */
