/*
 * conv_internal.h — what the float32 Conv paths share: the packed weights
 * (conv_pack.c), the tiled GEMM driver and stride-phase planes
 * (conv_gemm.c), and the paths conv.c dispatches to (conv_gemm.c,
 * conv_wino.c, conv_dw.c, conv_ref.c).
 */
#ifndef KW_ONNX_OPS_CONV_INTERNAL_H
#define KW_ONNX_OPS_CONV_INTERNAL_H

#include "onnx/exec.h"
#include "onnx/ops/gemm_ex.h"

#define KW_CONV_KC 256 /* K block of the packed GEMM */

static inline int64_t kw__cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Weights packed for the GEMM micro-kernel (conv_pack.c). */
struct kw__conv_pack {
    enum kw__isa isa;
    kw__sgemm_ukr_fn ukr;
    kw__sgemm_ukr_ex_fn ukr_ex; /* fused bias / activation; NULL: none */
    kw__sgemm_ukr_exd_fn ukr_exd; /* the same reading B in place, or NULL */
    int mr, nr;
    int64_t group, Mg, Kdim, mgpad;
    float *a; /* per group mgpad*Kdim floats: K blocks of KW_CONV_KC, each
                 as mgpad/mr panels of (kc x mr); NULL once the
                 channel-vector path has its own copy */
    /* 3x3 stride 1, one group: the Winograd weights for 2x2 tiles (16
     * "groups" of M x C) and for 4x4 tiles (36), each made by the first
     * run that needs it (runs of a model do not overlap): a model keeps
     * only the ones its plane sizes use. NULL: not (yet) made. */
    int wino_unit;
    struct kw__conv_pack *wino, *wino4;
    int wino_tried, wino4_tried;
    /* one group: the weights as panels of 32 output channels for the
     * channel-vector path (conv_ct.c), made by the first run that takes
     * it; NULL: not (yet) made */
    float *ct;
    int ct_tried;
    /* one group, pointwise: the weights as pairs of output channels for
     * the pixel-vector path (conv_pv.c), made likewise */
    float *pv;
    int pv_tried;
};

/* w: (M, Kdim) row-major, M = group * Mg. NULL when the ISA has no
 * micro-kernel, on overflow or out of memory. */
KW_HIDDEN struct kw__conv_pack *kw__conv_pack_new(const float *w,
                                                  int64_t group, int64_t Mg,
                                                  int64_t Kdim,
                                                  enum kw__isa isa);
KW_HIDDEN void kw__conv_pack_free(void *p);
/* n floats (64-byte aligned) for a copy of pk's weights in a path's own
 * layout (pk->ct, pk->pv), which replaces the GEMM's: pk->a is freed.
 * NULL (pk unchanged) on overflow or out of memory. */
KW_HIDDEN float *kw__conv_pack_alt(struct kw__conv_pack *pk, int64_t n);
/* w (M x C x 3 x 3) as Winograd weights U = G g G^T for output tiles of
 * tile x tile (2 or 4): (tile+2)^2 groups of M x C, packed. */
KW_HIDDEN struct kw__conv_pack *kw__wino_pack_new(const float *w, int64_t M,
                                                  int64_t C, int tile,
                                                  enum kw__isa isa);

/* 2-D view of the geometry (1-D: one row; pointwise: one long row) */
struct kw__cg_geom {
    int64_t IH, IW, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
};

/* One GEMM over output tiles (conv_gemm.c). */
struct kw__cg_job {
    const struct kw__conv_pack *pk;
    struct kw__cg_geom q;
    /* flat mode (stride 1): B row r is xp + roff[r] + column, the output
     * computed on a grid of OH x wp columns (wp - OW garbage columns per
     * row, dropped when the tile is stored) */
    int flat;
    int64_t wp;
    const int64_t *roff; /* Kdim row offsets (flat mode) */
    /* > 0: B row r is x + r * ldb (a 1x1 stride-1 convolution), read in
     * place by pk->ukr_exd without packing; 0: packed */
    int64_t ldb;
    const float *x;      /* (Cg, ...) of this image and group (padded in
                            flat mode) */
    const float *bias;   /* Mg values, or NULL */
    const float *apack;  /* this group's panels */
    float *y;            /* (Mg, OH*OW) */
    const float *res;    /* (Mg, OH*OW) added before act, or NULL */
    int64_t ncols;       /* GEMM columns: OH*OW, or OH*wp (flat) */
    int64_t mc, nc; /* the largest tile (rows, columns) */
    int64_t tm, tn; /* tiles down M and across the columns */
    /* flat mode: nbat > 1 GEMMs of one shape, matrix b's x, y and apack
     * b * bx, by, ba floats on; tile t of all of them before t + 1
     * (item t * nbat + b), so the threads share their tiles the same way
     * for every matrix */
    int64_t nbat, bx, by, ba;
    int dynamic;    /* threads claim tiles one by one through claim */
    struct kw__claim claim;
    int act;
    float aa, ab;
    const struct kw__nn_kern *kern;
    int failed;
};

/* Tiles [t0, t1) of j (all of them, claimed one by one, when j->dynamic);
 * kw__cg_pool is the same as a thread-pool task. */
KW_HIDDEN void kw__cg_tiles(void *arg, int64_t t0, int64_t t1);
KW_HIDDEN void kw__cg_pool(void *arg, int ith, int nth);
/* tm x tn tiles over mp row panels (of mr) and np column panels (of nr)
 * for nth threads. */
KW_HIDDEN void kw__conv_tiling(int64_t mp, int mr, int64_t np, int nr,
                               int64_t kdim, int nth, int64_t *tm,
                               int64_t *tn);

/* The Cg planes of x (ih x iw) as stride phases with the padding as
 * zeros: phase (a, b) of a channel is the plane hp2 x wp2 with
 * P[i][j] = xpad[i*sh + a][j*sw + b] (xpad: x inside pt/pl zeros), at
 * slot slot[a*sw + b] of nslot per channel (-1: no kernel tap reads
 * it, not built). Stride 1 is the padded plane itself. A strided
 * convolution then reads every kernel tap as a shifted window of one
 * phase, like a stride-1 one. */
struct kw__phase_job {
    const float *x;
    float *xp;
    int64_t ih, iw, hp2, wp2, pt, pl, sh, sw;
    const int *slot;
    int nslot;
    int deint; /* stride 2 across: rows split by kw__deint2_* of this ISA
                * (AVX-512 or AVX2), else 0 */
    int64_t band; /* > 0: items are bands of this many rows (kw__phase_run) */
};
/* The C planes of p on c's threads (c NULL: this one): a plane an item,
 * or, with fewer planes than the threads could share (an image's
 * three), bands of rows. */
KW_HIDDEN void kw__phase_run(struct kw__op_ctx *c, struct kw__phase_job *p,
                             int64_t C);

/* A scratch buffer of n floats (unzeroed) from the executor's buffer
 * pool; *hold gets the value to give back with kw__conv_scratch_put. */
KW_HIDDEN float *kw__conv_scratch_get(struct kw__op_ctx *c, int64_t n,
                                      struct kw_onnx_value **hold);
KW_HIDDEN void kw__conv_scratch_put(struct kw__op_ctx *c,
                                    struct kw_onnx_value *hold);

/* The float32 paths. Those returning int: 1 when done (or failed: *st
 * set), 0 when the path does not apply. act: the fused activation to
 * apply (KW_ACT_NONE: none); res: a residual of y's shape added before
 * it (a fused Add), or NULL. */
KW_HIDDEN int kw__conv_f32_packed(struct kw__op_ctx *c,
                                  const struct kw__nn_geom *g, int64_t N,
                                  int64_t C, int64_t M, int64_t group,
                                  const float *x, const float *w,
                                  const float *bias, const float *res,
                                  float *y,
                                  const struct kw__nn_kern *kern, int act,
                                  enum kw_status *st);
KW_HIDDEN int kw__conv_wino(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                            int64_t N, int64_t C, int64_t M, int64_t group,
                            const float *x, const float *w, const float *bias,
                            float *y, const struct kw__nn_kern *kern, int act,
                            enum kw_status *st);
/* Depthwise 2-D (Cg == 1): the channel-blocked kernel for tiny planes
 * when it applies, else the SIMD kernel plane by plane. */
KW_HIDDEN enum kw_status kw__conv_dw(struct kw__op_ctx *c,
                                     const struct kw__nn_geom *g, int64_t N,
                                     int64_t C, int64_t M, const float *x,
                                     const float *w, const float *bias,
                                     float *y, const struct kw__nn_kern *kern,
                                     int act, float aa, float ab);
/* Depthwise 2-D on input in the c16 layout (dwc.h; M == C, C a multiple
 * of 16) with AVX-512; y in planes, or c16 when yblk. 1 when done (or
 * failed: *st set), 0 when it does not apply. */
KW_HIDDEN int kw__conv_dw_c16(struct kw__op_ctx *c,
                              const struct kw__nn_geom *g, int64_t N,
                              int64_t C, int64_t M, const float *x,
                              const float *w, const float *bias, float *y,
                              int yblk, const struct kw__nn_kern *kern,
                              int act, float aa, float ab,
                              enum kw_status *st);
/* n images of C channels of hw pixels between planes and the c16 layout
 * (to_c16: planes -> c16; else back); C a multiple of 16. */
KW_HIDDEN void kw__c16_reorder(const float *src, float *dst, int64_t n,
                               int64_t C, int64_t hw, int to_c16);
/* The reference: im2col + kw__sgemm_run, no activation. */
KW_HIDDEN enum kw_status kw__conv_f32_ref(struct kw__op_ctx *c,
                                          const struct kw__nn_geom *g,
                                          int64_t N, int64_t C, int64_t M,
                                          int64_t group, const float *x,
                                          const float *w, const float *bias,
                                          float *y);

#endif /* KW_ONNX_OPS_CONV_INTERNAL_H */
