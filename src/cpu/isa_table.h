/*
 * isa_table.h — what each kernel file contributes to dispatch. Every ISA
 * (ref, avx2, avx512) has a quant file and an ops file; each fills the
 * entries it implements and leaves the rest NULL, and dispatch.c layers the
 * tables: best ISA first, falling back entry by entry to the reference.
 */
#ifndef KW_CPU_ISA_TABLE_H
#define KW_CPU_ISA_TABLE_H

#include "cpu/kernels.h"

/* Small matrix tile: s[j * s_stride + i] = dot(x_i, y_j) for i < nx rows of
 * weights (type t, x_stride bytes apart) and j < ny activation rows (its
 * vec_dot_type, y_stride bytes apart); nx, ny in 1..4. Lets prompt
 * processing reuse loaded blocks across rows and tokens. */
typedef void (*kw__gemm_fn)(int64_t n, const void *x, size_t x_stride, int nx,
                            const void *y, size_t y_stride, int ny, float *s,
                            size_t s_stride);

struct kw__isa_table {
    kw__vec_dot_fn vec_dot[KW_TYPE_COUNT];
    kw__gemm_fn gemm[KW_TYPE_COUNT];
    kw__from_float_fn from_float[KW_TYPE_COUNT];
    kw__to_float_fn to_float[KW_TYPE_COUNT];
    struct kw__ops ops; /* NULL members fall back */
};

KW_HIDDEN void kw__fill_quant_ref(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_ops_ref(struct kw__isa_table *t);
#if KW_HAVE_X86
KW_HIDDEN void kw__fill_quant_avx2(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_ops_avx2(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_quant_avx512(struct kw__isa_table *t);
KW_HIDDEN void kw__fill_ops_avx512(struct kw__isa_table *t);
#endif

/* The layered gemm for a type (never NULL for a type with vec_dot: falls
 * back to a loop over vec_dot). */
KW_HIDDEN kw__gemm_fn kw__gemm(uint32_t type);
KW_HIDDEN kw__gemm_fn kw__gemm_variant(uint32_t type, enum kw__isa isa);

#endif
