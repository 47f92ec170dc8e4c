/*
 * ew_unary.c — one-input elementwise operators: math (Neg, Abs, Sqrt, Exp,
 * Log, trigonometric, Erf, rounding), activations (Relu, Sigmoid, Tanh,
 * Elu, Selu, Celu, ...), IsNaN/IsInf, Not and Clip. Float dtypes compute
 * in double and round once; integer dtypes in 64 bits; float32 Relu,
 * Sigmoid, Tanh and Exp take the SIMD kernels.
 */
#include "onnx/exec.h"
#include "onnx/ops/ew.h"

enum uop {
    U_COPY, U_NEG, U_ABS, U_SQRT, U_EXP, U_LOG, U_RECIP, U_FLOOR, U_CEIL,
    U_ROUND, U_SIGN, U_SIN, U_COS, U_TAN, U_ASIN, U_ACOS, U_ATAN, U_SINH,
    U_COSH, U_ASINH, U_ACOSH, U_ATANH, U_ERF, U_RELU, U_LEAKY, U_ELU, U_SELU,
    U_CELU, U_SIGMOID, U_HSIGMOID, U_HSWISH, U_SOFTPLUS, U_SOFTSIGN, U_TANH,
    U_THRELU, U_SHRINK, U_CLIP, U_ISNAN, U_ISINF, U_NOT
};

struct uctx {
    int op, dx, dy, dom, simd; /* simd: float32 kernel op or -1 */
    int native;                /* integer op computed in 64-bit integers */
    double a, b;               /* attributes / float clip bounds */
    int64_t lo, hi;            /* integer clip bounds */
    kw__ew_un_f32_fn f32;
};

static inline double uf(const struct uctx *k, double x) {
    switch (k->op) {
    case U_COPY: return x;
    case U_NEG: return -x;
    case U_ABS: return fabs(x);
    case U_SQRT: return sqrt(x);
    case U_EXP: return exp(x);
    case U_LOG: return log(x);
    case U_RECIP: return 1.0 / x;
    case U_FLOOR: return floor(x);
    case U_CEIL: return ceil(x);
    case U_ROUND: return rint(x); /* halves to even, like numpy */
    case U_SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
    case U_SIN: return sin(x);
    case U_COS: return cos(x);
    case U_TAN: return tan(x);
    case U_ASIN: return asin(x);
    case U_ACOS: return acos(x);
    case U_ATAN: return atan(x);
    case U_SINH: return sinh(x);
    case U_COSH: return cosh(x);
    case U_ASINH: return asinh(x);
    case U_ACOSH: return acosh(x);
    case U_ATANH: return atanh(x);
    case U_ERF: return erf(x);
    case U_RELU: return x < 0 ? 0.0 : x;
    case U_LEAKY: return x < 0 ? k->a * x : x;
    case U_ELU: return x < 0 ? k->a * expm1(x) : x;
    case U_SELU: return x > 0 ? k->b * x : k->b * (k->a * exp(x) - k->a);
    case U_CELU:
        return (x > 0 ? x : 0.0) + fmin(0.0, k->a * expm1(x / k->a));
    case U_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case U_HSIGMOID: return fmax(0.0, fmin(1.0, k->a * x + k->b));
    case U_HSWISH: return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
    case U_SOFTPLUS: /* log(1 + e^x) without overflowing e^x */
        return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case U_SOFTSIGN: return x / (1.0 + fabs(x));
    case U_TANH: return tanh(x);
    case U_THRELU: return x > k->a ? x : 0.0;
    case U_SHRINK: return x < -k->a ? x + k->b : x > k->a ? x - k->b : 0.0;
    case U_CLIP: {
        double v = x < k->a ? k->a : x; /* NaN passes through */
        return v > k->b ? k->b : v;
    }
    default: return x;
    }
}

static inline int64_t ui_s(const struct uctx *k, int64_t x) {
    switch (k->op) {
    case U_NEG: return (int64_t)(0 - (uint64_t)x);
    case U_ABS: return x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
    case U_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case U_RELU: return x < 0 ? 0 : x;
    case U_CLIP: {
        int64_t v = x < k->lo ? k->lo : x;
        return v > k->hi ? k->hi : v;
    }
    default: return x;
    }
}

static inline uint64_t ui_u(const struct uctx *k, uint64_t x) {
    switch (k->op) {
    case U_NEG: return 0 - x;
    case U_SIGN: return x != 0;
    case U_CLIP: {
        uint64_t v = x < (uint64_t)k->lo ? (uint64_t)k->lo : x;
        return v > (uint64_t)k->hi ? (uint64_t)k->hi : v;
    }
    default: return x;
    }
}

static void un_row(const void *ctx, void *y, const void *const *xs,
                   const int64_t *s, int64_t n) {
    const struct uctx *k = ctx;
    const void *x = xs[0];
    int64_t sx = s[0];
    if (k->simd >= 0 && (sx == 1 || n == 1)) {
        k->f32(k->simd, y, x, n);
        return;
    }
    switch (k->op) {
    case U_ISNAN:
        for (int64_t i = 0; i < n; i++) {
            double v = kw__ew_ld_f(k->dx, x, i * sx);
            ((uint8_t *)y)[i] = v != v;
        }
        return;
    case U_ISINF:
        for (int64_t i = 0; i < n; i++) {
            double v = kw__ew_ld_f(k->dx, x, i * sx);
            ((uint8_t *)y)[i] = (k->lo && v == INFINITY) ||
                                (k->hi && v == -INFINITY);
        }
        return;
    case U_NOT:
        for (int64_t i = 0; i < n; i++)
            ((uint8_t *)y)[i] = !((const uint8_t *)x)[i * sx];
        return;
    default: break;
    }
    if (k->dx == KW_ONNX_FLOAT && k->dy == KW_ONNX_FLOAT) {
        const float *xf = x;
        float *yf = y;
        for (int64_t i = 0; i < n; i++) yf[i] = (float)uf(k, xf[i * sx]);
        return;
    }
    switch (k->native ? k->dom : KW__EW_DOM_F) {
    case KW__EW_DOM_S:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_i(k->dy, y, i, ui_s(k, kw__ew_ld_i(k->dx, x, i * sx)));
        break;
    case KW__EW_DOM_U:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_i(k->dy, y, i,
                        (int64_t)ui_u(k, (uint64_t)kw__ew_ld_i(k->dx, x,
                                                               i * sx)));
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_f(k->dy, y, i, uf(k, kw__ew_ld_f(k->dx, x, i * sx)));
        break;
    }
}

/* Which dtypes an op takes. */
enum { T_FLOAT = 1, T_INT = 2, T_BOOL = 4 };

static enum kw_status run_unary(struct kw__op_ctx *c, struct uctx *k,
                                int types) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be a tensor");
    int dt = x->dtype;
    int ok = ((types & T_FLOAT) && kw__dtype_is_float(dt)) ||
             ((types & T_INT) && kw__dtype_is_int(dt)) ||
             ((types & T_BOOL) && dt == KW_ONNX_BOOL);
    if (!ok)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "input type %s is not supported",
                           kw_onnx_dtype_name(dt));
    k->dx = dt;
    k->dom = kw__ew_dom(dt);
    if (!k->dy) k->dy = dt;
    k->simd = -1;
    k->native = k->op == U_NEG || k->op == U_ABS || k->op == U_SIGN ||
                k->op == U_RELU || k->op == U_CLIP || k->op == U_COPY;
    if (dt == KW_ONNX_FLOAT && k->dy == KW_ONNX_FLOAT) {
        switch (k->op) {
        case U_RELU: k->simd = KW__EW_RELU; break;
        case U_SIGMOID: k->simd = KW__EW_SIGMOID; break;
        case U_TANH: k->simd = KW__EW_TANH; break;
        case U_EXP: k->simd = KW__EW_EXP; break;
        default: break;
        }
        k->f32 = kw__ew_un_f32();
    }
    /* every element written below: no zeroing pass first */
    struct kw_onnx_value *y = kw__out_tensor_raw(c, 0, k->dy, x->rank, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    struct kw__ew_plan p;
    const struct kw_onnx_value *ins[1] = {x};
    kw__ew_plan_init(&p, 1, ins, x->rank, x->dims,
                     kw_onnx_dtype_size(k->dy));
    const void *xd[1] = {x->data};
    kw__ew_run(c, &p, y->data, xd, un_row, k);
    return KW_STATUS_OK;
}

#define UNARY(name, OP, TYPES)                                                \
    enum kw_status kw__ew_op_##name(struct kw__op_ctx *c) {                   \
        struct uctx k = {.op = OP};                                           \
        return run_unary(c, &k, TYPES);                                       \
    }
UNARY(neg, U_NEG, T_FLOAT | T_INT)
UNARY(abs, U_ABS, T_FLOAT | T_INT)
UNARY(sqrt, U_SQRT, T_FLOAT)
UNARY(exp, U_EXP, T_FLOAT)
UNARY(log, U_LOG, T_FLOAT)
UNARY(reciprocal, U_RECIP, T_FLOAT)
UNARY(floor, U_FLOOR, T_FLOAT)
UNARY(ceil, U_CEIL, T_FLOAT)
UNARY(round, U_ROUND, T_FLOAT)
UNARY(sign, U_SIGN, T_FLOAT | T_INT)
UNARY(sin, U_SIN, T_FLOAT)
UNARY(cos, U_COS, T_FLOAT)
UNARY(tan, U_TAN, T_FLOAT)
UNARY(asin, U_ASIN, T_FLOAT)
UNARY(acos, U_ACOS, T_FLOAT)
UNARY(atan, U_ATAN, T_FLOAT)
UNARY(sinh, U_SINH, T_FLOAT)
UNARY(cosh, U_COSH, T_FLOAT)
UNARY(asinh, U_ASINH, T_FLOAT)
UNARY(acosh, U_ACOSH, T_FLOAT)
UNARY(atanh, U_ATANH, T_FLOAT)
UNARY(erf, U_ERF, T_FLOAT | T_INT)
UNARY(relu, U_RELU, T_FLOAT | T_INT)
UNARY(sigmoid, U_SIGMOID, T_FLOAT)
UNARY(hardswish, U_HSWISH, T_FLOAT)
UNARY(softplus, U_SOFTPLUS, T_FLOAT)
UNARY(softsign, U_SOFTSIGN, T_FLOAT)
UNARY(tanh, U_TANH, T_FLOAT)
UNARY(not, U_NOT, T_BOOL)
#undef UNARY

/* Operators with one or two float attributes, a (and b). */
#define UNARY_A(name, OP, TYPES, A, A_DEF)                                    \
    enum kw_status kw__ew_op_##name(struct kw__op_ctx *c) {                   \
        struct uctx k = {.op = OP, .a = kw__attr_f(c, A, A_DEF)};             \
        return run_unary(c, &k, TYPES);                                       \
    }
#define UNARY_AB(name, OP, TYPES, A, A_DEF, B, B_DEF)                         \
    enum kw_status kw__ew_op_##name(struct kw__op_ctx *c) {                   \
        struct uctx k = {.op = OP, .a = kw__attr_f(c, A, A_DEF),              \
                         .b = kw__attr_f(c, B, B_DEF)};                       \
        return run_unary(c, &k, TYPES);                                       \
    }
UNARY_A(leakyrelu, U_LEAKY, T_FLOAT, "alpha", 0.01f)
UNARY_A(elu, U_ELU, T_FLOAT, "alpha", 1.0f)
UNARY_AB(selu, U_SELU, T_FLOAT, "alpha", 1.67326319217681884765625f, "gamma",
         1.05070102214813232421875f)
UNARY_AB(hardsigmoid, U_HSIGMOID, T_FLOAT, "alpha", 0.2f, "beta", 0.5f)
UNARY_A(thresholdedrelu, U_THRELU, T_FLOAT, "alpha", 1.0f)
/* integer inputs go through double (exact below 2^53) */
UNARY_AB(shrink, U_SHRINK, T_FLOAT | T_INT, "lambd", 0.5f, "bias", 0.0f)
#undef UNARY_A
#undef UNARY_AB

enum kw_status kw__ew_op_celu(struct kw__op_ctx *c) {
    struct uctx k = {.op = U_CELU, .a = kw__attr_f(c, "alpha", 1.0f)};
    if (k.a == 0)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "alpha must not be 0");
    return run_unary(c, &k, T_FLOAT);
}

enum kw_status kw__ew_op_isnan(struct kw__op_ctx *c) {
    struct uctx k = {.op = U_ISNAN, .dy = KW_ONNX_BOOL};
    return run_unary(c, &k, T_FLOAT);
}

enum kw_status kw__ew_op_isinf(struct kw__op_ctx *c) {
    struct uctx k = {.op = U_ISINF, .dy = KW_ONNX_BOOL,
                     .lo = kw__attr_i(c, "detect_positive", 1) != 0,
                     .hi = kw__attr_i(c, "detect_negative", 1) != 0};
    return run_unary(c, &k, T_FLOAT);
}

/* Clip: bounds are attributes before opset 11, optional scalar inputs
 * from 11 on (integer types from 12). */
enum kw_status kw__ew_op_clip(struct kw__op_ctx *c) {
    struct uctx k = {.op = U_CLIP, .a = -INFINITY, .b = INFINITY};
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be a tensor");
    int dom = kw__ew_dom(x->dtype);
    if (dom == KW__EW_DOM_S) {
        k.lo = INT64_MIN;
        k.hi = INT64_MAX;
    } else if (dom == KW__EW_DOM_U) {
        k.lo = 0;
        k.hi = -1; /* UINT64_MAX as bits */
    }
    if (c->opset < 11) {
        k.a = kw__attr_f(c, "min", -INFINITY);
        k.b = kw__attr_f(c, "max", INFINITY);
        return run_unary(c, &k, T_FLOAT);
    }
    for (int i = 1; i <= 2; i++) {
        const struct kw_onnx_value *b = kw__in(c, i);
        if (!b) continue;
        if (!kw__is_tensor(b) || b->dtype != x->dtype ||
            kw_onnx_numel(b) != 1)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "%s must be a scalar of the input's type",
                               i == 1 ? "min" : "max");
        if (dom == KW__EW_DOM_F) {
            double v = kw__ew_ld_f(b->dtype, b->data, 0);
            if (i == 1) k.a = v; else k.b = v;
        } else {
            int64_t v = kw__ew_ld_i(b->dtype, b->data, 0);
            if (i == 1) k.lo = v; else k.hi = v;
        }
    }
    return run_unary(c, &k, T_FLOAT | T_INT);
}
