/*
 * nn_internal.h — what the NN operator files share: the packed float32 GEMM
 * (gemm.c, micro-kernels in gemm_avx2.c / gemm_avx512.c), the operator
 * entry points listed in nn.c's table, and small attribute helpers for the
 * convolution and pooling geometry (auto_pad, pads, strides, dilations).
 */
#ifndef KW_ONNX_OPS_NN_INTERNAL_H
#define KW_ONNX_OPS_NN_INTERNAL_H

#include "cpu/kernels.h"
#include "onnx/onnx_internal.h"

/* ---- float32 GEMM ---- */

/* C(i,j) += alpha * sum_k A(i,k) * B(k,j) for i < M, j < N, where
 * A(i,k) = a[i*a_rs + k*a_cs], B(k,j) = b[k*b_rs + j*b_cs] and
 * C(i,j) = c[i*ldc + j] (strides in elements, so transposes are free).
 * The caller initialises C (zeros, bias or beta*C). */
struct kw__sgemm {
    int64_t M, N, K;
    const float *a;
    int64_t a_rs, a_cs;
    const float *b;
    int64_t b_rs, b_cs;
    float *c;
    int64_t ldc;
    float alpha;
};

/* Runs on the chosen ISA (kw__cpu_isa(), so KW_FORCE_REF=1 gives the scalar
 * reference), threaded over output tiles when ctx has threads (ctx may be
 * NULL: one thread). */
KW_HIDDEN void kw__sgemm_run(struct kw__op_ctx *ctx, const struct kw__sgemm *g);
/* One ISA's path, for differential tests and benchmarks; an ISA the CPU or
 * build lacks falls back to the reference. */
KW_HIDDEN void kw__sgemm_run_isa(struct kw__op_ctx *ctx,
                                 const struct kw__sgemm *g, enum kw__isa isa);
/* The scalar reference, single-threaded. */
KW_HIDDEN void kw__sgemm_ref(const struct kw__sgemm *g);
/* A constant B (K x N, element (k, j) at b[k*b_rs + j*b_cs]) packed once
 * in the micro-kernel's panels of isa: K blocks of 256, each as
 * ceil(N/nr) panels of kc x nr. NULL: no micro-kernel, overflow or out
 * of memory. */
struct kw__bpack {
    enum kw__isa isa;
    int nr;
    int64_t K, N;
    float *p;
};
KW_HIDDEN struct kw__bpack *kw__bpack_new(const float *b, int64_t b_rs,
                                          int64_t b_cs, int64_t K, int64_t N,
                                          enum kw__isa isa);
KW_HIDDEN void kw__bpack_free(void *bp);
/* kw__sgemm_run reading B from bp when it fits (same ISA, K and N: B
 * must be what bp was packed from), else packing it as usual. */
KW_HIDDEN void kw__sgemm_run_bpack(struct kw__op_ctx *ctx,
                                   const struct kw__sgemm *g,
                                   const struct kw__bpack *bp);

/* Micro-kernels: C[m x n] (row stride ldc) += Ap * Bp over kc steps, Ap
 * packed as kc groups of MR floats (one per row), Bp as kc groups of NR
 * floats; m <= MR, n <= NR (the packed tails are zero). */
typedef void (*kw__sgemm_ukr_fn)(int64_t kc, const float *ap, const float *bp,
                                 float *c, int64_t ldc, int m, int n);
#define KW_SGEMM_AVX2_MR 6
#define KW_SGEMM_AVX2_NR 16
#define KW_SGEMM_AVX512_MR 12
#define KW_SGEMM_AVX512_NR 32
KW_HIDDEN void kw__sgemm_ukr_avx2(int64_t kc, const float *ap,
                                  const float *bp, float *c, int64_t ldc,
                                  int m, int n);
KW_HIDDEN void kw__sgemm_ukr_avx512(int64_t kc, const float *ap,
                                    const float *bp, float *c, int64_t ldc,
                                    int m, int n);

/* Threads the runtime gives ctx's node (1 without a pool). */
KW_HIDDEN int kw__nn_threads(struct kw__op_ctx *ctx);
/* kw__parallel_for that also accepts ctx == NULL (inline). */
KW_HIDDEN void kw__nn_parallel(struct kw__op_ctx *ctx, int64_t n,
                               int64_t min_per_thread, kw__range_fn fn,
                               void *arg);

/* ---- convolution / pooling geometry ---- */

#define KW_NN_MAX_SP (KW_ONNX_MAX_RANK - 2)

struct kw__nn_geom {
    int nsp;                    /* spatial dims */
    int64_t in[KW_NN_MAX_SP];   /* input spatial sizes */
    int64_t k[KW_NN_MAX_SP];    /* kernel */
    int64_t s[KW_NN_MAX_SP];    /* strides */
    int64_t d[KW_NN_MAX_SP];    /* dilations */
    int64_t pb[KW_NN_MAX_SP];   /* pads at the beginning */
    int64_t pe[KW_NN_MAX_SP];   /* pads at the end */
    int64_t out[KW_NN_MAX_SP];  /* output spatial sizes */
};

/* Reads kernel_shape (or takes kshape when given), strides, dilations,
 * pads / auto_pad and computes the output size for a convolution or
 * pooling over x (N, C, spatial...). ceil: pooling's ceil_mode. */
KW_HIDDEN enum kw_status kw__nn_geom_init(struct kw__op_ctx *c,
                                          const struct kw_onnx_value *x,
                                          const int64_t *kshape, int ceil,
                                          struct kw__nn_geom *g);
/* Product of n dims with overflow checks; -1 on overflow. */
KW_HIDDEN int64_t kw__nn_prod(const int64_t *d, int n);

/* ---- SIMD kernels (nn_kern.h, built as nn_kern_avx2.c and
 * nn_kern_avx512.c); the scalar references stay in pool.c / conv.c ---- */

/* One plane of a 2-D pooling without dilation: input ih x iw, output
 * oh x ow, kernel kh x kw, strides sh, sw, pads pt (top), pl (left),
 * pb (bottom), pr (right). */
struct kw__pool2d {
    int64_t ih, iw, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr;
    int is_max, count_pad;
};

/* One plane of a depthwise 2-D convolution, bias and the fused
 * activation included. pad: scratch of hp x wp floats (+ 32) whose border
 * stays zero, hp = max(ih + pt, (oh-1)*sh + (kh-1)*dh + 1) and likewise
 * wp: the plane is copied in at (pt, pl) so every output is computed
 * without bounds checks. The 3x3 / 5x5 stride-2 fast path stores each
 * padded row as its even columns, then its odd ones from (wp + 1) / 2;
 * the layout depends only on the geometry, so the border stays zero. */
struct kw__dw2d {
    int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl;
    const float *w; /* kh x kw */
    float bias;
    int act; /* enum kw__act */
    float act_a, act_b;
    float *pad;
    int64_t hp, wp;
};

/* im2col straight into the GEMM's NR-column B panels: rows [k0, k0+kc)
 * (ci, kh, kw) of x (C planes of ih x iw), for the output columns given
 * as runs; a run lies on one output row within one panel and starts at
 * input row ih0 = oh*sh - pt, column iw0 = ow*sw - pl. */
struct kw__im2col {
    const float *x;
    int64_t ih, iw, kh, kw, dh, dw, sw;
    int nr;
};
struct kw__im2col_run {
    int64_t panel, col, len, ih0, iw0;
};

struct kw__nn_kern {
    /* panels of kc rows x nr floats; the last panel's tail zeroed */
    void (*im2col)(const struct kw__im2col *p,
                   const struct kw__im2col_run *runs, int nruns, int64_t k0,
                   int64_t kc, int64_t ncols, float *pb);
    /* the same panels from kc rows x + roff[r] (contiguous columns) */
    void (*pack_rows)(const float *x, const int64_t *roff, int64_t kc,
                      int64_t ncols, int nr, float *pb);
    void (*pool2d)(const struct kw__pool2d *p, const float *x, float *y);
    float (*sum)(const float *x, int64_t n);
    void (*dw2d)(const struct kw__dw2d *p, const float *x, float *y);
    /* y = act(y) as fuse.c defines the activations */
    void (*act)(float *y, int64_t n, int act, float a, float b);
    float (*dot)(const float *a, const float *b, int64_t n);
    void (*axpy)(float *y, const float *x, float s, int64_t n);
};
KW_HIDDEN extern const struct kw__nn_kern kw__nn_kern_avx2;
KW_HIDDEN extern const struct kw__nn_kern kw__nn_kern_avx512;
/* The table for isa; NULL for the reference (or an ISA not built/usable). */
KW_HIDDEN const struct kw__nn_kern *kw__nn_kern_isa(enum kw__isa isa);
/* The ISA the NN kernels use: kw__cpu_isa() (so KW_FORCE_REF=1 gives the
 * references) unless a test forced one with kw__nn_force_isa (-1: none;
 * not thread-safe, for tests only). */
KW_HIDDEN enum kw__isa kw__nn_isa(void);
KW_HIDDEN void kw__nn_force_isa(int isa);
/* The table for kw__nn_isa() (NULL for the reference). */
KW_HIDDEN const struct kw__nn_kern *kw__nn_kern(void);
/* The fused activation of ctx's node applied to y, for the operators
 * that take it over from kw__node_epilogue (node->act_in_op). */
KW_HIDDEN void kw__nn_act_ref(float *y, int64_t n, int act, float a, float b);

/* ---- quantization (quant.c) ---- */

/* x rounded half to even and saturated to the range of the integer dtype
 * (uint8, int8, uint16, int16, int32). */
KW_HIDDEN int64_t kw__nn_saturate(double x, int dtype);
/* A quantization parameter: a scalar, or (per_len > 0) a 1-D tensor of
 * per_len values; v NULL gives def. Element i is (*out)[i] (a scalar is
 * repeated). Returns 0 after reporting a shape error. */
KW_HIDDEN int kw__nn_qparam(struct kw__op_ctx *c, const struct kw_onnx_value *v,
                            const char *what, int64_t per_len, double def,
                            double **out);

/* ---- direct convolution in double (conv.c): for the integer and rare
 * dtype paths. x (N, C, in...), w (M, C/group, k...), y (N, M, out...);
 * bias per output channel or NULL. Threaded over (n, m). */
KW_HIDDEN void kw__nn_conv_direct(struct kw__op_ctx *c,
                                  const struct kw__nn_geom *g, int64_t N,
                                  int64_t C, int64_t M, int64_t group,
                                  const double *x, const double *w,
                                  const double *bias, double *y);

/* ---- load-time preparation (conv.c) ---- */

/* Packs a float32 Conv's constant weights for the GEMM micro-kernel of the
 * ISA in use (n->state) and takes over the fused activation. */
KW_HIDDEN void kw__conv_prepare(struct kw__node *n, const struct kw__graph *g);
/* Gemm's prepare hook: notes a constant float32 B, which the first run
 * with more than one row packs (kw__bpack) for the runs after it. */
KW_HIDDEN void kw__gemm_prepare(struct kw__node *n, const struct kw__graph *g);

/* ---- operators (table in nn.c) ---- */

#define KW_NN_OPS(X)                                                          \
    X(conv) X(conv_transpose) X(conv_integer) X(qlinear_conv) X(gemm)        \
    X(matmul) X(matmul_integer) X(qlinear_matmul) X(max_pool)                \
    X(average_pool) X(lp_pool) X(global_average_pool) X(global_max_pool)     \
    X(global_lp_pool) X(max_unpool) X(quantize_linear)                       \
    X(dequantize_linear) X(dynamic_quantize_linear) X(einsum) X(det)         \
    X(non_max_suppression) X(roi_align)
#define KW_NN_DECL_(name)                                                     \
    KW_HIDDEN enum kw_status kw__op_##name(struct kw__op_ctx *c);
KW_NN_OPS(KW_NN_DECL_)
#undef KW_NN_DECL_

#endif /* KW_ONNX_OPS_NN_INTERNAL_H */
