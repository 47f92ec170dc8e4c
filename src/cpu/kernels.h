/*
 * kernels.h — the CPU kernel layer: per-type traits (ggml block layouts),
 * quantized dot products, activation quantizers and float ops, each with a
 * scalar reference (src/cpu/ref/) and SIMD variants (src/cpu/x86/) chosen
 * once at run time from CPUID. KW_FORCE_REF=1 forces the references.
 *
 * Threads live outside kernels: callers split rows over (ith, nth) and call
 * these on their slice.
 */
#ifndef KW_CPU_KERNELS_H
#define KW_CPU_KERNELS_H

#include <stdint.h>
#include <stddef.h>

#include "core/internal.h"

/* x: one weight row of a type, y: one activation row of its vec_dot_type,
 * both n elements (n a multiple of the block size); *s = dot(x, y). */
typedef void (*kw__vec_dot_fn)(int64_t n, float *s, const void *x,
                               const void *y);
/* Dequantize n elements (a multiple of the block size) of x into y. */
typedef void (*kw__to_float_fn)(const void *x, float *y, int64_t n);
/* Quantize n floats into blocks of the type (ggml's reference rounding). */
typedef void (*kw__from_float_fn)(const float *x, void *y, int64_t n);

struct kw__type_traits {
    const char *name;      /* "q4_K" as ggml names it */
    int64_t blck_size;     /* elements per block */
    size_t type_size;      /* bytes per block */
    uint32_t vec_dot_type; /* activation type that vec_dot pairs with */
    kw__to_float_fn to_float;     /* NULL: cannot be used for compute */
    kw__from_float_fn from_float; /* NULL: no quantizer (weights only) */
    kw__vec_dot_fn vec_dot;       /* best variant for this CPU */
};

/* Traits of a ggml type id, or NULL when the id is unknown. Every known
 * ggml type has name/blck_size/type_size (so GGUF validation can size any
 * tensor); compute pointers exist for the types kaiwu runs. */
KW_HIDDEN const struct kw__type_traits *kw__traits(uint32_t type);
/* Bytes of a row of n elements; 0 if n is not a multiple of the block size
 * or the type is unknown. */
KW_HIDDEN size_t kw__row_size(uint32_t type, int64_t n);

enum kw__isa { KW__ISA_REF = 0, KW__ISA_AVX2 = 1, KW__ISA_AVX512 = 2,
               KW__ISA_COUNT = 3 };

/* Fills the dispatch tables once (thread-safe, idempotent). Every other
 * function here may be called only after it; kw__traits calls it. */
KW_HIDDEN void kw__cpu_init(void);
/* The ISA in use (after KW_FORCE_REF) and whether the CPU has one. */
KW_HIDDEN enum kw__isa kw__cpu_isa(void);
KW_HIDDEN int kw__cpu_has(enum kw__isa isa);
KW_HIDDEN const char *kw__isa_name(enum kw__isa isa);

/* A specific variant, for differential tests; NULL when not built/usable. */
KW_HIDDEN kw__vec_dot_fn kw__vec_dot_variant(uint32_t type, enum kw__isa isa);
KW_HIDDEN kw__from_float_fn kw__from_float_variant(uint32_t type,
                                                   enum kw__isa isa);

/* ---- float ops (all f32 unless named) -------------------------------- */
struct kw__ops {
    /* y[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] */
    void (*rmsnorm)(float *y, const float *x, const float *w, int64_t n,
                    float eps);
    /* In-place rotary embedding of n_heads heads of head_dim floats (heads
     * contiguous); only the first n_rot dims rotate. cs: n_rot/2 (cos, sin)
     * pairs from kw__rope_cache. neox: rotate pairs (i, i + n_rot/2)
     * instead of (2i, 2i+1). */
    void (*rope)(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot,
                 const float *cs, int neox);
    /* dot of n fp16 values with n fp16 values, accumulated in f32 */
    float (*dot_f16)(const uint16_t *x, const uint16_t *y, int64_t n);
    /* y[i] += a * fp16_to_fp32(x[i]) */
    void (*axpy_f16)(float *y, const uint16_t *x, float a, int64_t n);
    /* y[i] = fp32_to_fp16(x[i]) */
    void (*to_f16)(uint16_t *y, const float *x, int64_t n);
    /* y[i] = silu(g[i]) * u[i]  (SwiGLU) */
    void (*swiglu)(float *y, const float *g, const float *u, int64_t n);
    /* x[i] = exp(x[i]*scale - max) / sum, over n values; returns nothing */
    void (*softmax)(float *x, int64_t n, float scale);
    /* y[i] += x[i] */
    void (*add)(float *y, const float *x, int64_t n);
};
/* The ops of an ISA (REF always exists); kw__ops() = the chosen one. */
KW_HIDDEN const struct kw__ops *kw__ops_variant(enum kw__isa isa);
KW_HIDDEN const struct kw__ops *kw__ops(void);

/* cs[2i] = cos(theta_i), cs[2i+1] = sin(theta_i) for i < n_rot/2 with
 * theta_i = pos * freq_scale * base^(-2i/n_rot) / ff[i] (ff may be NULL),
 * computed the way ggml does (iterated products), so results match it. */
KW_HIDDEN void kw__rope_cache(float *cs, int64_t n_rot, int32_t pos,
                              float freq_base, float freq_scale,
                              const float *ff);

#endif /* KW_CPU_KERNELS_H */
