/*
 * gemm_ex.h — GEMM micro-kernels with a fused epilogue, for the packed
 * convolution: the first K block starts its accumulators from the bias
 * instead of loading C (so the output is never pre-filled), and the last
 * adds the residual (a fused Add) and applies Relu / Clip in registers
 * before the one store.
 * The direct variant reads B in place (rows ldb floats apart, as x of a
 * 1x1 stride-1 convolution is) instead of from packed panels.
 * Entry points: kw__sgemm_ukr_ex_avx512 / _avx2, kw__sgemm_ukr_exd_avx512 /
 * _avx2, kw__ukr_ex_act_ok.
 */
#ifndef KW_ONNX_OPS_GEMM_EX_H
#define KW_ONNX_OPS_GEMM_EX_H

#include "onnx/ops/nn_internal.h"

struct kw__ukr_epi {
    const float *bias; /* per row of the tile (m values); NULL: zeros */
    int init;          /* 1: C = bias + A*B; 0: C += A*B */
    int act;           /* enum kw__act applied to the result; NONE: none */
    float a, b;        /* its parameters, as fuse.c reads them */
    /* added to the result before act (rows of ldr floats, like C), or
     * NULL; give it with the last K block only */
    const float *res;
    int64_t ldr;
};

/* As kw__sgemm_ukr_fn (m <= MR, n <= NR, packed tails zero), with the
 * epilogue e; e->act must satisfy kw__ukr_ex_act_ok. */
typedef void (*kw__sgemm_ukr_ex_fn)(int64_t kc, const float *ap,
                                    const float *bp, float *c, int64_t ldc,
                                    int m, int n,
                                    const struct kw__ukr_epi *e);
KW_HIDDEN void kw__sgemm_ukr_ex_avx512(int64_t kc, const float *ap,
                                       const float *bp, float *c, int64_t ldc,
                                       int m, int n,
                                       const struct kw__ukr_epi *e);
KW_HIDDEN void kw__sgemm_ukr_ex_avx2(int64_t kc, const float *ap,
                                     const float *bp, float *c, int64_t ldc,
                                     int m, int n,
                                     const struct kw__ukr_epi *e);

/* As kw__sgemm_ukr_ex_fn with B(k, j) = b[k * ldb + j] read in place
 * (j < n only: nothing past the last column is read). */
typedef void (*kw__sgemm_ukr_exd_fn)(int64_t kc, const float *ap,
                                     const float *b, int64_t ldb, float *c,
                                     int64_t ldc, int m, int n,
                                     const struct kw__ukr_epi *e);
KW_HIDDEN void kw__sgemm_ukr_exd_avx512(int64_t kc, const float *ap,
                                        const float *b, int64_t ldb, float *c,
                                        int64_t ldc, int m, int n,
                                        const struct kw__ukr_epi *e);
KW_HIDDEN void kw__sgemm_ukr_exd_avx2(int64_t kc, const float *ap,
                                      const float *b, int64_t ldb, float *c,
                                      int64_t ldc, int m, int n,
                                      const struct kw__ukr_epi *e);

/* 1 when the kernels apply act themselves (the others run afterwards on
 * the stored tile). */
static inline int kw__ukr_ex_act_ok(int act) {
    return act == KW_ACT_NONE || act == KW_ACT_RELU || act == KW_ACT_CLIP;
}

#endif /* KW_ONNX_OPS_GEMM_EX_H */
