/*
 * wino.h — the Winograd F(2x2, 3x3) and F(4x4, 3x3) transforms
 * (conv_wino_avx512.c, conv_wino_avx2.c) behind conv.c's path for 3x3
 * stride-1 convolutions on AVX-512 and AVX2.
 */
#ifndef KW_ONNX_OPS_WINO_H
#define KW_ONNX_OPS_WINO_H

#include "onnx/ops/nn_internal.h"

/* One image: c input / m output channels, th x tw tiles of 2x2 outputs
 * (oh x ow), the input zero-padded into planes of plane floats, rows of
 * wp >= 2*tw + 2 + 32 floats (the loads run past the last tile), at
 * least 2*th + 2 rows. */
struct kw__wino {
    int64_t c, m, th, tw, oh, ow, wp, plane;
    /* the tiles transformed, [t0, t1) in row-major tile order, as
     * columns [0, t1 - t0) of matrices of vt columns */
    int64_t t0, t1, vt;
};

/* An input transform: channels [c0, c1) of xp to v[16][c][vt] = B^T d B
 * per tile of the range (tile t0 + j in column j). */
typedef void kw__wino_in_fn(const struct kw__wino *w, const float *xp,
                            int64_t c0, int64_t c1, float *v);
/* An output transform: output channels [m0, m1) of the range's tiles
 * from mx[16][m][vt]: y = A^T m A + bias, then Relu / Clip (act; others
 * are left to the caller); no other output is written. */
typedef void kw__wino_out_fn(const struct kw__wino *w, const float *mx,
                             int64_t m0, int64_t m1, const float *bias,
                             int act, float aa, float ab, float *y);

/* F(2x2, 3x3) as above; F(4x4, 3x3) (wino4) the same with tiles of 4x4
 * outputs (th x tw of them), 36 matrices v[36][c][vt] / mx[36][m][vt],
 * xp rows of wp >= 4*tw + 2 floats, at least 4*th + 2 rows, and 80
 * floats readable past the last plane. AVX-512 takes 16 tiles at a
 * time; AVX2 8 (F(2x2)'s loads run 16 floats past a row's last tile,
 * F(4x4)'s 32 past the last plane). */
KW_HIDDEN kw__wino_in_fn kw__wino_in_avx512, kw__wino4_in_avx512,
    kw__wino_in_avx2, kw__wino4_in_avx2;
KW_HIDDEN kw__wino_out_fn kw__wino_out_avx512, kw__wino4_out_avx512,
    kw__wino_out_avx2, kw__wino4_out_avx2;

/* One ISA's transforms: in / out indexed by tile / 4 (F(2x2): 0, F(4x4): 1) */
struct kw__wino_fns {
    kw__wino_in_fn *in[2];
    kw__wino_out_fn *out[2];
};
/* NULL for an ISA without them (or not on this CPU) */
KW_HIDDEN const struct kw__wino_fns *kw__wino_fns(enum kw__isa isa);

#endif /* KW_ONNX_OPS_WINO_H */
