/*
 * conv_ct.h — the channel-vector convolution: an implicit GEMM whose
 * vectors run along the output channels and whose pixels are broadcast
 * straight from the input planes, so B is never packed (conv_ct.c drives
 * it, conv_ct_avx512.c and conv_ct_avx2.c are the micro-kernels). It is the NCHW cousin of
 * the channel-blocked direct convolutions: a tile of 32 output channels
 * x up to 14 pixels of one output row, transposed into the planes when
 * stored (or stored as they are in the c16 layout of dwc.h). Also the
 * pointwise layer a merged depthwise node runs first (kw__dw_pre).
 * Entry points: kw__conv_ct, kw__ct_pointwise_part, kw__ct_pack,
 * kw__ct_tile_avx512, kw__ct_tile_avx2, kw__conv_dw_pre (conv_dw.c).
 */
#ifndef KW_ONNX_OPS_CONV_CT_H
#define KW_ONNX_OPS_CONV_CT_H

#include "onnx/ops/conv_internal.h"

#define KW_CT_MV 32 /* output channels per panel: two vectors */
#define KW_CT_NP 14 /* pixels per tile at most */

/* One image: y(m, q) = act(bias[m] + res(m, q) + sum over k of
 * W(m, k) * x[roff[k] + xo(q)]), xo the input offset of output pixel q.
 * w: ceil(M / pw) panels of (kdim x pw) (kw__ct_pack), pw 32 or 16.
 * act: None, Relu or Clip. */
struct kw__ct {
    const float *x;
    const int64_t *roff;
    int64_t kdim;
    const float *w;
    const float *bias; /* M values, or NULL */
    const float *res;  /* (M, OHOW), or c16 when rblk; or NULL */
    float *y;          /* (M, OHOW), or c16 (dwc.h) when yblk */
    int64_t M, OHOW;
    int yblk;          /* M a multiple of 16; res NULL or c16 */
    int rblk;
    int pw;            /* channels a panel of w: 32, or 16 */
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
#define KW_CT_KC 256 /* a panel's block of weights (32 KiB) stays in L1 */

/* np (1..14) pixels q0.. of panel p, pixel j read at x[roff[k] + xo +
 * j * sx] (sx 1, 2, 16 or 32), over K block b. */
KW_HIDDEN void kw__ct_tile_avx512(const struct kw__ct *d, int64_t p,
                                  const struct kw__ct_blk *b, int64_t xo,
                                  int sx, int64_t q0, int np);
/* The same with AVX2 (conv_ct_avx2.c), on K blocks of at most
 * KW_CT_KC2 (its 16 registers take 3 pixels of a panel at a time, so
 * the block is read from L1 several times a run). */
KW_HIDDEN void kw__ct_tile_avx2(const struct kw__ct *d, int64_t p,
                                const struct kw__ct_blk *b, int64_t xo,
                                int sx, int64_t q0, int np);
#define KW_CT_KC2 128

/* p rounded up to a 64-byte boundary */
static inline float *kw__align64(void *p) {
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* w (M x kdim, row-major) as ceil(M / pw) panels of (kdim x pw), the
 * rows past M zero, into out (that many floats). */
KW_HIDDEN void kw__ct_pack(const float *w, int64_t M, int64_t kdim, int pw,
                           float *out);

/* A pointwise, unstrided, unpadded d: panel p, share part of nparts of
 * its pixels, on the calling thread; x in planes, or (xblk) c16. */
KW_HIDDEN void kw__ct_pointwise_part(const struct kw__ct *d, int xblk,
                                     int64_t p, int64_t part,
                                     int64_t nparts);

/* The pointwise layer a depthwise one runs first (kw__node.pre): its
 * input x (C channels; c16 when xblk), weights w (kw__ct_pack panels of
 * 32), bias (or NULL), activation act (None, Relu, Clip) with a, b. */
struct kw__dw_pre {
    const float *x, *w, *bias;
    int64_t C;
    int xblk, act;
    float a, b;
};
/* Depthwise 2-D (kw__conv_dw_c16's geometry g, M channels) of the
 * pointwise layer pre's output, which is made here 16 channels at a
 * time (a big plane's never leaves L2), with AVX-512: 1 when done (or
 * failed: *st set), 0 when it does not apply. */
KW_HIDDEN int kw__conv_dw_pre(struct kw__op_ctx *c,
                              const struct kw__nn_geom *g, int64_t N,
                              int64_t M, const struct kw__dw_pre *pre,
                              const float *w, const float *bias, float *y,
                              int yblk, const struct kw__nn_kern *kern,
                              int act, float aa, float ab,
                              enum kw_status *st);

/* Which of x, y and the residual are in the c16 layout (dwc.h) */
enum { KW_BLK_X = 1, KW_BLK_Y = 2, KW_BLK_R = 4 };

/* 2-D, one group, stride 1 or 2 across, pads >= 0, with AVX-512, where
 * it beats the packed GEMM: 1 when done (or failed: *st set), 0 when it
 * does not apply. act: applied here (after res). blk (KW_BLK_*): any of
 * them c16 and it is taken at any size (the alternative is a reorder);
 * x c16: pointwise and unpadded, stride 1 or 2 both ways; y c16: the
 * residual too, if any. */
KW_HIDDEN int kw__conv_ct(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                          int64_t N, int64_t C, int64_t M, int64_t group,
                          const float *x, const float *w, const float *bias,
                          const float *res, float *y, int act, int blk,
                          enum kw_status *st);

#endif /* KW_ONNX_OPS_CONV_CT_H */
