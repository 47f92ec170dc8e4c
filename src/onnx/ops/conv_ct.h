/*
 * conv_ct.h — the channel-vector convolution: an implicit GEMM whose
 * vectors run along the output channels and whose pixels are broadcast
 * straight from the input planes, so B is never packed (conv_ct.c drives
 * it, conv_ct_avx512.c is the micro-kernel). It is the NCHW cousin of
 * the channel-blocked direct convolutions: a tile of 32 output channels
 * x up to 14 pixels of one output row, transposed into the planes when
 * stored. Entry points: kw__conv_ct, kw__ct_tile_avx512.
 */
#ifndef KW_ONNX_OPS_CONV_CT_H
#define KW_ONNX_OPS_CONV_CT_H

#include "onnx/ops/conv_internal.h"

#define KW_CT_MV 32 /* output channels per panel: two vectors */
#define KW_CT_NP 14 /* pixels per tile at most */

/* One image: y(m, q) = act(bias[m] + res(m, q) + sum over k of
 * W(m, k) * x[roff[k] + xo(q)]), xo the input offset of output pixel q.
 * w: ceil(M / 32) panels of (kdim x 32), rows past M zero. act: None,
 * Relu or Clip. */
struct kw__ct {
    const float *x;
    const int64_t *roff;
    int64_t kdim;
    const float *w;
    const float *bias; /* M values, or NULL */
    const float *res;  /* (M, OHOW), or NULL */
    float *y;          /* (M, OHOW), or c16 (dwc.h) when yblk */
    int64_t M, OHOW;
    int yblk;          /* M a multiple of 16, res NULL */
    int act;
    float a, b;
};

/* One K block [k0, k0 + kc) of a tile: the first starts from the bias,
 * the others from the sums in part (np x 32 floats, 64-byte aligned),
 * where all but the last leave them. */
struct kw__ct_blk {
    int64_t k0, kc;
    int first, last;
    int pf; /* the first run of the block: fetch the next block's weights */
    float *part;
};
#define KW_CT_KC 128 /* a panel's block of weights (16 KiB) stays in L1 */

/* np (1..14) pixels q0.. of panel p, pixel j read at x[roff[k] + xo +
 * j * sx] (sx 1, 2 or 16), over K block b. */
KW_HIDDEN void kw__ct_tile_avx512(const struct kw__ct *d, int64_t p,
                                  const struct kw__ct_blk *b, int64_t xo,
                                  int sx, int64_t q0, int np);

/* 2-D, one group, stride 1 or 2 across, pads >= 0, with AVX-512, where
 * it beats the packed GEMM: 1 when done (or failed: *st set), 0 when it
 * does not apply. act: applied here (after res). xblk / yblk: x / y in
 * the c16 layout (dwc.h), taken at any size (the alternative is a
 * reorder); xblk: pointwise, unstrided and unpadded only. */
KW_HIDDEN int kw__conv_ct(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                          int64_t N, int64_t C, int64_t M, int64_t group,
                          const float *x, const float *w, const float *bias,
                          const float *res, float *y, int act, int xblk,
                          int yblk, enum kw_status *st);

#endif /* KW_ONNX_OPS_CONV_CT_H */
