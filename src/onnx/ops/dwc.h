/*
 * dwc.h — AVX-512 helpers of the convolution, used when the CPU has
 * AVX-512: the flat-grid depthwise plane kernel (conv_dwf_avx512.c), the
 * channel-blocked depthwise convolution for small planes and for c16
 * input (conv_dwc_avx512.c; for small planes also conv_dwc_avx2.c), and
 * the even/odd split of a row for stride-2 phase planes.
 */
#ifndef KW_ONNX_OPS_DWC_H
#define KW_ONNX_OPS_DWC_H

#include "onnx/ops/nn_internal.h"

/* One depthwise 2-D geometry (channel multiplier 1); act: the fused
 * activation, applied here when Relu or Clip (kw__dwc_act_ok). */
struct kw__dwc {
    int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
    int act;
    float a, b;
};

static inline int kw__dwc_act_ok(int act) {
    return act == KW_ACT_NONE || act == KW_ACT_RELU || act == KW_ACT_CLIP;
}

/* The zero-bordered plane the taps read: hp x wp (conv_dw.c) */
KW_HIDDEN void kw__dwc_dims(const struct kw__dwc *g, int64_t *hp,
                            int64_t *wp);
/* Floats of scratch one call needs (64-byte alignment slack included);
 * *zero: how many of them, from the start, must be zero before the
 * first call. */
KW_HIDDEN int64_t kw__dwc_scratch_floats(const struct kw__dwc *g,
                                         int64_t *zero);
/* nch <= 16 channels: x (nch planes ih x iw), w (nch x kh*kw), bias (nch,
 * or NULL) -> y (nch planes oh x ow); kh*kw <= 64. scratch: zeroed before
 * the first call, then reused as it is left for the same geometry. */
KW_HIDDEN void kw__dwc_block_avx512(const struct kw__dwc *g, int nch,
                                    const float *x, const float *w,
                                    const float *bias, float *y,
                                    float *scratch);
/* The same with AVX2 (conv_dwc_avx2.c), on the same scratch. */
KW_HIDDEN void kw__dwc_block_avx2(const struct kw__dwc *g, int nch,
                                  const float *x, const float *w,
                                  const float *bias, float *y,
                                  float *scratch);

/* The channel-blocked layout ("c16") that pointwise convolutions hand
 * to a depthwise one (and it to the next pointwise one) when the graph
 * allows (kw__conv_plan_c16): (N, C, H, W) stored as (N, C/16, H, W, 16),
 * C a multiple of 16, so a pixel's 16 channels are one vector. */
/* Floats of scratch kw__dwb_block_avx512 needs; *zero: how many of
 * them, from the start, must be zero before the first call (the rest
 * it writes before it reads). */
KW_HIDDEN int64_t kw__dwb_scratch_floats(const struct kw__dwc *g,
                                         int64_t *zero);
/* The output columns whose taps all fall inside the row, [*a, *b); 1
 * when kw__dwb_block_* copy the block into a zero-bordered scratch
 * instead (conv_dw.c) */
KW_HIDDEN int kw__dwb_interior(const struct kw__dwc *g, int64_t *a,
                               int64_t *b);
/* 16 channels of c16 input x (ih x iw pixels of 16) with w (16 x kh*kw),
 * bias (16, or NULL) -> output rows [oh0, oh1) of y: 16 planes oh x ow,
 * or (yblk) c16 oh x ow pixels; kh*kw <= 64, pads >= 0, taps outside
 * the plane skipped. scratch: its zero part (kw__dwb_scratch_floats)
 * zeroed before the first call, then reused as it is left for the same
 * geometry. */
KW_HIDDEN void kw__dwb_block_avx512(const struct kw__dwc *g, const float *x,
                                    const float *w, const float *bias,
                                    float *y, int yblk, int64_t oh0,
                                    int64_t oh1, float *scratch);

/* One depthwise plane geometry on a flat output grid
 * (conv_dwf_avx512.c): stride 1 or 2 each way, any dilation, pads >= 0.
 * The input plane is laid out as sh*sw stride-phase planes of hp2 rows
 * of pitch W (phase (a, b) at (a*sw + b) * hp2 * W: padded cell
 * (a + sh*i, b + sw*j) at row i, column j); output (oh, ow) is lane
 * oh*W + ow of a grid of nvec vectors, and tap t reads each lane at
 * offset off[t]. masks (per grid vector, built by the caller) keep the
 * lanes ow < OW, the rest are dropped when stored. act: Relu / Clip
 * applied in registers, else 0. */
struct kw__dwf {
    int64_t ih, iw, sh, sw, pt, pl;
    int64_t hp2, W, nvec;
    int ntaps;
    int64_t off[64];
    int64_t reach; /* 8 vectors from lane 0 read phase rows < reach / W */
    int act;
    float a, b;
};

/* Scratch floats one plane needs (zeroed once by the caller, then
 * reused for every plane of the geometry). */
static inline int64_t kw__dwf_scratch_floats(const struct kw__dwf *f) {
    int64_t mx = 0;
    for (int t = 0; t < f->ntaps; t++) mx = KW_MAX(mx, f->off[t]);
    return f->sh * f->sw * f->hp2 * f->W + mx + 8 * 16 + 16;
}
/* y (oh x ow) = act(bias + the taps w (kh*kw) over x (ih x iw)). */
KW_HIDDEN void kw__dwf_plane_avx512(const struct kw__dwf *f,
                                    const uint16_t *masks, const float *x,
                                    const float *w, float bias, float *y,
                                    float *scratch);

/* ev[k] = x[2k] for k < (n+1)/2, od[k] = x[2k+1] for k < n/2. */
KW_HIDDEN void kw__deint2_avx512(const float *x, int64_t n, float *ev,
                                 float *od);
/* The same with AVX2 (conv_dwc_avx2.c). */
KW_HIDDEN void kw__deint2_avx2(const float *x, int64_t n, float *ev,
                               float *od);
/* The row split of stride-2 phase planes for the ISA in use
 * (kw__phase_job.deint): AVX-512 or AVX2, else 0. */
static inline int kw__deint2_isa(void) {
    const enum kw__isa isa = kw__nn_isa();
    return isa == KW__ISA_AVX512 || isa == KW__ISA_AVX2 ? (int)isa : 0;
}

#endif /* KW_ONNX_OPS_DWC_H */
