/*
 * pool_max.h — the 3x3 stride-2 max pooling of pool.c for AVX-512 and
 * AVX2 (pool_max_avx512.c, pool_max_avx2.c, one body in
 * pool_max_body.h), for float32 planes without dilation.
 */
#ifndef KW_ONNX_OPS_POOL_MAX_H
#define KW_ONNX_OPS_POOL_MAX_H

#include "onnx/ops/nn_internal.h"

/* -inf columns left of a scratch row (pads up to KW_PM_PADL) and right
 * of it */
#define KW_PM_PADL 16
#define KW_PM_PADR 64

/* Floats of scratch the kernels need. */
static inline int64_t kw__maxpool3s2_scratch(const struct kw__pool2d *p) {
    return 2 * (KW_PM_PADL + p->iw + KW_PM_PADR);
}
/* One plane: p->kh == p->kw == 3, p->sh == p->sw == 2, p->is_max; t:
 * kw__maxpool3s2_scratch(p) floats. It prefetches rows past the plane's
 * end too, which pays when the caller takes the next plane next. */
KW_HIDDEN void kw__maxpool3s2_avx512(const struct kw__pool2d *p,
                                     const float *x, float *y, float *t);
KW_HIDDEN void kw__maxpool3s2_avx2(const struct kw__pool2d *p,
                                   const float *x, float *y, float *t);

#endif /* KW_ONNX_OPS_POOL_MAX_H */
