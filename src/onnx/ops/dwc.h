/*
 * dwc.h — AVX-512 helpers of conv.c (conv_dwc_avx512.c), used when the
 * CPU has AVX-512: the channel-blocked depthwise convolution for small
 * planes, and the even/odd split of a row for stride-2 phase planes.
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

/* Floats of scratch one call needs (64-byte alignment slack included). */
KW_HIDDEN int64_t kw__dwc_scratch_floats(const struct kw__dwc *g);
/* nch <= 16 channels: x (nch planes ih x iw), w (nch x kh*kw), bias (nch,
 * or NULL) -> y (nch planes oh x ow); kh*kw <= 64. */
KW_HIDDEN void kw__dwc_block_avx512(const struct kw__dwc *g, int nch,
                                    const float *x, const float *w,
                                    const float *bias, float *y,
                                    float *scratch);

/* ev[k] = x[2k] for k < (n+1)/2, od[k] = x[2k+1] for k < n/2. */
KW_HIDDEN void kw__deint2_avx512(const float *x, int64_t n, float *ev,
                                 float *od);

#endif /* KW_ONNX_OPS_DWC_H */
