/*
 * ew.h — shared by the elementwise operator files (elementwise.c holds the
 * one table kw__ops_elementwise): the broadcasting row driver, per-dtype
 * element loads/stores, the float32 SIMD kernels and the operator entry
 * points the table lists.
 */
#ifndef KW_ONNX_OPS_EW_H
#define KW_ONNX_OPS_EW_H

#include "onnx/onnx_internal.h"

/* ---- broadcasting driver ---- */

#define KW__EW_MAX_IN 3

/* Up to three inputs broadcast to one output shape, with unit-size
 * dimensions dropped and contiguous dimensions merged; the innermost
 * dimension is a "row" in which each input advances by 0 or 1 element. */
struct kw__ew_plan {
    int n_in, rank; /* rank >= 1 */
    int64_t dims[KW_ONNX_MAX_RANK];
    int64_t st[KW__EW_MAX_IN][KW_ONNX_MAX_RANK];
    size_t esz[KW__EW_MAX_IN], ysz; /* element sizes in bytes */
    int64_t numel;
};

/* Builds the plan of ins[0..n_in) broadcast to (rank, dims), y's element
 * size ysz; 0 when an input does not broadcast to that shape. */
KW_HIDDEN int kw__ew_plan_init(struct kw__ew_plan *p, int n_in,
                               const struct kw_onnx_value *const *ins,
                               int rank, const int64_t *dims, size_t ysz);

/* Processes n elements of a row: y[i] = f(x0[i*s[0]], x1[i*s[1]], ...). */
typedef void (*kw__ew_row_fn)(const void *ctx, void *y, const void *const *x,
                              const int64_t *s, int64_t n);

/* Runs row over the whole plan, in parallel for big tensors (on the
 * calling thread alone when c is NULL). */
KW_HIDDEN void kw__ew_run(struct kw__op_ctx *c, const struct kw__ew_plan *p,
                          void *y, const void *const *x, kw__ew_row_fn row,
                          const void *ctx);

/* Numpy broadcast of n tensors into (rank, dims); 0 when incompatible. */
KW_HIDDEN int kw__ew_bcast_shape(const struct kw_onnx_value *const *ins,
                                 int n, int *rank, int64_t *dims);

/* ---- element access by dtype ---- */

/* double to IEEE half / bfloat16 bits, rounding once to nearest-even */
KW_HIDDEN uint16_t kw__ew_f64_to_f16(double d);
KW_HIDDEN uint16_t kw__ew_f64_to_bf16(double d);

static inline double kw__ew_ld_f(int dt, const void *p, int64_t i) {
    switch (dt) {
    case KW_ONNX_FLOAT: return ((const float *)p)[i];
    case KW_ONNX_DOUBLE: return ((const double *)p)[i];
    case KW_ONNX_FLOAT16: return kw__fp16_to_fp32(((const uint16_t *)p)[i]);
    case KW_ONNX_BFLOAT16: return kw__bf16_to_fp32(((const uint16_t *)p)[i]);
    case KW_ONNX_INT8: return ((const int8_t *)p)[i];
    case KW_ONNX_INT16: return ((const int16_t *)p)[i];
    case KW_ONNX_INT32: return ((const int32_t *)p)[i];
    case KW_ONNX_INT64: return (double)((const int64_t *)p)[i];
    case KW_ONNX_UINT8: case KW_ONNX_BOOL: return ((const uint8_t *)p)[i];
    case KW_ONNX_UINT16: return ((const uint16_t *)p)[i];
    case KW_ONNX_UINT32: return ((const uint32_t *)p)[i];
    case KW_ONNX_UINT64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}

/* Integer dtypes and bool as int64 (uint64 keeps its bit pattern);
 * floats truncated toward zero with out-of-range values as INT64_MIN. */
static inline int64_t kw__ew_f2i(double v) {
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)v;
}
static inline int64_t kw__ew_ld_i(int dt, const void *p, int64_t i) {
    switch (dt) {
    case KW_ONNX_INT8: return ((const int8_t *)p)[i];
    case KW_ONNX_INT16: return ((const int16_t *)p)[i];
    case KW_ONNX_INT32: return ((const int32_t *)p)[i];
    case KW_ONNX_INT64: return ((const int64_t *)p)[i];
    case KW_ONNX_UINT8: case KW_ONNX_BOOL: return ((const uint8_t *)p)[i];
    case KW_ONNX_UINT16: return ((const uint16_t *)p)[i];
    case KW_ONNX_UINT32: return ((const uint32_t *)p)[i];
    case KW_ONNX_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return kw__ew_f2i(kw__ew_ld_f(dt, p, i));
    }
}

/* Stores keep the low bits for integer targets (C's wrapping casts). */
static inline void kw__ew_st_i(int dt, void *p, int64_t i, int64_t v) {
    switch (dt) {
    case KW_ONNX_INT8: case KW_ONNX_UINT8:
        ((uint8_t *)p)[i] = (uint8_t)v; break;
    case KW_ONNX_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case KW_ONNX_INT16: case KW_ONNX_UINT16:
        ((uint16_t *)p)[i] = (uint16_t)v; break;
    case KW_ONNX_INT32: case KW_ONNX_UINT32:
        ((uint32_t *)p)[i] = (uint32_t)v; break;
    case KW_ONNX_INT64: case KW_ONNX_UINT64:
        ((uint64_t *)p)[i] = (uint64_t)v; break;
    case KW_ONNX_FLOAT: ((float *)p)[i] = (float)v; break;
    case KW_ONNX_DOUBLE: ((double *)p)[i] = (double)v; break;
    case KW_ONNX_FLOAT16:
        ((uint16_t *)p)[i] = kw__ew_f64_to_f16((double)v); break;
    case KW_ONNX_BFLOAT16:
        ((uint16_t *)p)[i] = kw__ew_f64_to_bf16((double)v); break;
    default: break;
    }
}
static inline void kw__ew_st_f(int dt, void *p, int64_t i, double v) {
    switch (dt) {
    case KW_ONNX_FLOAT: ((float *)p)[i] = (float)v; break;
    case KW_ONNX_DOUBLE: ((double *)p)[i] = v; break;
    case KW_ONNX_FLOAT16: ((uint16_t *)p)[i] = kw__ew_f64_to_f16(v); break;
    case KW_ONNX_BFLOAT16: ((uint16_t *)p)[i] = kw__ew_f64_to_bf16(v); break;
    case KW_ONNX_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case KW_ONNX_UINT64:
        /* values past INT64_MAX only fit the unsigned conversion */
        if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) {
            ((uint64_t *)p)[i] = (uint64_t)v;
            break;
        }
        /* fall through */
    default: kw__ew_st_i(dt, p, i, kw__ew_f2i(v)); break;
    }
}

/* Computation domain of a dtype: floats in double, signed and unsigned
 * integers in 64 bits, bool as 0/1. */
enum { KW__EW_DOM_F = 0, KW__EW_DOM_S = 1, KW__EW_DOM_U = 2,
       KW__EW_DOM_B = 3, KW__EW_DOM_NONE = 4 };
static inline int kw__ew_dom(int dt) {
    if (kw__dtype_is_float(dt)) return KW__EW_DOM_F;
    if (kw__dtype_is_signed(dt)) return KW__EW_DOM_S;
    if (kw__dtype_is_int(dt)) return KW__EW_DOM_U;
    if (dt == KW_ONNX_BOOL) return KW__EW_DOM_B;
    return KW__EW_DOM_NONE;
}

/* ---- float32 kernels (reference and SIMD variants) ---- */

enum { KW__EW_ADD = 0, KW__EW_SUB, KW__EW_MUL, KW__EW_DIV, KW__EW_NBIN_F32 };
enum { KW__EW_RELU = 0, KW__EW_SIGMOID, KW__EW_TANH, KW__EW_EXP,
       KW__EW_NUN_F32 };

/* y[i] = a[i*sa] op b[i*sb] for sa, sb in {0, 1} */
typedef void (*kw__ew_bin_f32_fn)(int op, float *y, const float *a,
                                  int64_t sa, const float *b, int64_t sb,
                                  int64_t n);
typedef void (*kw__ew_un_f32_fn)(int op, float *y, const float *x,
                                 int64_t n);

KW_HIDDEN void kw__ew_bin_f32_ref(int op, float *y, const float *a,
                                  int64_t sa, const float *b, int64_t sb,
                                  int64_t n);
KW_HIDDEN void kw__ew_un_f32_ref(int op, float *y, const float *x, int64_t n);
#ifdef KW_HAVE_X86
KW_HIDDEN void kw__ew_bin_f32_avx2(int op, float *y, const float *a,
                                   int64_t sa, const float *b, int64_t sb,
                                   int64_t n);
KW_HIDDEN void kw__ew_un_f32_avx2(int op, float *y, const float *x,
                                  int64_t n);
KW_HIDDEN void kw__ew_bin_f32_avx512(int op, float *y, const float *a,
                                     int64_t sa, const float *b, int64_t sb,
                                     int64_t n);
KW_HIDDEN void kw__ew_un_f32_avx512(int op, float *y, const float *x,
                                    int64_t n);
#endif
/* The variants for this CPU (the reference under KW_FORCE_REF=1). */
KW_HIDDEN kw__ew_bin_f32_fn kw__ew_bin_f32(void);
KW_HIDDEN kw__ew_un_f32_fn kw__ew_un_f32(void);

/* ---- operators (ew_unary.c, ew_binary.c, ew_cast.c) ---- */

#define KW__EW_OPS(X)                                                         \
    X(add) X(sub) X(mul) X(div) X(pow) X(mod) X(neg) X(abs) X(sqrt) X(exp)    \
    X(log) X(reciprocal) X(floor) X(ceil) X(round) X(sign) X(sin) X(cos)      \
    X(tan) X(asin) X(acos) X(atan) X(sinh) X(cosh) X(asinh) X(acosh)          \
    X(atanh) X(erf) X(isnan) X(isinf) X(relu) X(leakyrelu) X(elu) X(selu)     \
    X(celu) X(sigmoid) X(hardsigmoid) X(hardswish) X(softplus) X(softsign)    \
    X(tanh) X(thresholdedrelu) X(shrink) X(prelu) X(max) X(min) X(mean)       \
    X(sum) X(equal) X(greater) X(less) X(greater_equal) X(less_equal) X(and) \
    X(or) X(xor) X(not) X(bitshift) X(where) X(clip) X(cast) X(castlike)      \
    X(identity)
#define KW__EW_DECL(name)                                                     \
    KW_HIDDEN enum kw_status kw__ew_op_##name(struct kw__op_ctx *c);
KW__EW_OPS(KW__EW_DECL)
#undef KW__EW_DECL

#endif /* KW_ONNX_OPS_EW_H */
