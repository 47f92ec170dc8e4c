/*
 * pool_max.h — the AVX-512 3x3 stride-2 max pooling of pool.c
 * (pool_max_avx512.c), for float32 planes without dilation.
 */
#ifndef KW_ONNX_OPS_POOL_MAX_H
#define KW_ONNX_OPS_POOL_MAX_H

#include "onnx/ops/nn_internal.h"

/* Floats of scratch kw__maxpool3s2_avx512 needs. */
KW_HIDDEN int64_t kw__maxpool3s2_scratch(const struct kw__pool2d *p);
/* One plane: p->kh == p->kw == 3, p->sh == p->sw == 2, p->is_max; t:
 * kw__maxpool3s2_scratch(p) floats. It prefetches rows past the plane's
 * end too, which pays when the caller takes the next plane next. */
KW_HIDDEN void kw__maxpool3s2_avx512(const struct kw__pool2d *p,
                                     const float *x, float *y, float *t);

#endif /* KW_ONNX_OPS_POOL_MAX_H */
