/*
 * rowops.h — float32 row kernels of the reduce/normalization/softmax
 * family (ReduceSum/Mean over the last axes, Softmax, LogSoftmax,
 * LayerNormalization, BatchNormalization, InstanceNormalization): a scalar
 * reference (rowops.c) and AVX2 / AVX-512 variants (rowops_avx2.c,
 * rowops_avx512.c), chosen once by kw__rowops() (KW_FORCE_REF=1: reference).
 */
#ifndef KW_ONNX_OPS_ROWOPS_H
#define KW_ONNX_OPS_ROWOPS_H

#include "cpu/kernels.h"
#include "onnx/onnx_internal.h"

struct kw__rowops {
    /* sum of x[0..n) */
    float (*sum)(const float *x, int64_t n);
    /* max of x[0..n), n >= 1 (NaN when any x is NaN) */
    float (*max)(const float *x, int64_t n);
    /* y[i] = exp(x[i] - m); returns the sum of the y[i], accumulated in
     * double so that log(sum) keeps the small terms (y may be x) */
    double (*exp_sum)(float *y, const float *x, float m, int64_t n);
    /* y[i] = (x[i] - c) * a + b (y may be x) */
    void (*affine)(float *y, const float *x, float c, float a, float b,
                   int64_t n);
    /* mean and biased variance of x[0..n), two passes, n >= 1 */
    void (*mean_var)(const float *x, int64_t n, float *mean, float *var);
    /* y[i] = (x[i] - mean) * inv * s[i] + (b ? b[i] : 0) */
    void (*norm)(float *y, const float *x, float mean, float inv,
                 const float *s, const float *b, int64_t n);
};

/* The variant for an ISA (NULL when not built or the CPU lacks it) and the
 * one in use (after KW_FORCE_REF). */
KW_HIDDEN const struct kw__rowops *kw__rowops_variant(enum kw__isa isa);
KW_HIDDEN const struct kw__rowops *kw__rowops(void);

#if KW_HAVE_X86
KW_HIDDEN void kw__rowops_fill_avx2(struct kw__rowops *t);
KW_HIDDEN void kw__rowops_fill_avx512(struct kw__rowops *t);
#endif

/* The family's operator functions defined outside reduce.c (whose table
 * lists them all). */
KW_HIDDEN enum kw_status kw__op_softmax(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_logsoftmax(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_hardmax(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_layernorm(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_batchnorm(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_instancenorm(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_lrn(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_mvn(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_nllloss(struct kw__op_ctx *c);
KW_HIDDEN enum kw_status kw__op_sceloss(struct kw__op_ctx *c);

#endif /* KW_ONNX_OPS_ROWOPS_H */
