/*
 * ew_binary.c — multi-input elementwise operators with numpy broadcasting:
 * arithmetic (Add, Sub, Mul, Div, Pow, Mod), comparisons, logic, BitShift,
 * PRelu, the variadic Max/Min/Sum/Mean, and Where. Floats compute in
 * double and round once (exact for + - * /), integers wrap in 64 bits;
 * float32 Add/Sub/Mul/Div take the SIMD kernels.
 */
#include "onnx/exec.h"
#include "onnx/ops/ew.h"

enum bop {
    B_ADD, B_SUB, B_MUL, B_DIV, B_MOD, B_FMOD, B_POW, B_MAX, B_MIN, B_PRELU,
    B_EQ, B_GT, B_LT, B_GE, B_LE, B_AND, B_OR, B_XOR, B_SHL, B_SHR
};

struct bctx {
    int op, da, db, dy, dom;
    int f32op; /* float32 SIMD op or -1 */
    kw__ew_bin_f32_fn f32;
};

/* The comparisons, alike in the float, signed and unsigned domains. */
#define COMPARE_CASES(a, b)                                                   \
    case B_EQ: return (a) == (b);                                             \
    case B_GT: return (a) > (b);                                              \
    case B_LT: return (a) < (b);                                              \
    case B_GE: return (a) >= (b);                                             \
    case B_LE: return (a) <= (b);

static inline double bf(int op, double a, double b) {
    switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MOD: { /* the result takes the divisor's sign, like Python */
        double r = fmod(a, b);
        if (r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
    }
    case B_FMOD: return fmod(a, b);
    case B_POW: return pow(a, b);
    case B_MAX: return (a != a || a > b) ? a : b; /* NaN wins */
    case B_MIN: return (a != a || a < b) ? a : b;
    case B_PRELU: return a < 0 ? a * b : a;
    COMPARE_CASES(a, b)
    default: return 0;
    }
}

static inline uint64_t upow(uint64_t a, uint64_t e) {
    uint64_t r = 1;
    while (e) {
        if (e & 1) r *= a;
        a *= a;
        e >>= 1;
    }
    return r;
}

static inline int64_t bs(int op, int64_t a, int64_t b) {
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case B_ADD: return (int64_t)(ua + ub);
    case B_SUB: return (int64_t)(ua - ub);
    case B_MUL: return (int64_t)(ua * ub);
    /* x / 0 has no value; x / -1 would trap for the smallest x */
    case B_DIV: return b == 0 ? 0 : b == -1 ? (int64_t)(0 - ua) : a / b;
    case B_MOD: {
        if (b == 0 || b == -1) return 0;
        int64_t r = a % b;
        if (r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
    }
    case B_FMOD: return (b == 0 || b == -1) ? 0 : a % b;
    case B_POW:
        if (b >= 0) return (int64_t)upow(ua, ub);
        if (a == 1) return 1;
        if (a == -1) return (b & 1) ? -1 : 1;
        return 0;
    case B_MAX: return a > b ? a : b;
    case B_MIN: return a < b ? a : b;
    case B_PRELU: return a < 0 ? (int64_t)(ua * ub) : a;
    COMPARE_CASES(a, b)
    default: return 0;
    }
}

static inline uint64_t bu(int op, uint64_t a, uint64_t b) {
    switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return b ? a / b : 0;
    case B_MOD: case B_FMOD: return b ? a % b : 0;
    case B_POW: return upow(a, b);
    case B_MAX: return a > b ? a : b;
    case B_MIN: return a < b ? a : b;
    case B_PRELU: return a;
    COMPARE_CASES(a, b)
    case B_AND: return a && b;
    case B_OR: return a || b;
    case B_XOR: return !a != !b;
    case B_SHL: return b >= 64 ? 0 : a << b;
    case B_SHR: return b >= 64 ? 0 : a >> b;
    default: return 0;
    }
}

static void bin_row(const void *ctx, void *y, const void *const *x,
                    const int64_t *s, int64_t n) {
    const struct bctx *k = ctx;
    const void *a = x[0], *b = x[1];
    int64_t sa = s[0], sb = s[1];
    if (k->f32op >= 0) {
        k->f32(k->f32op, y, a, sa, b, sb, n);
        return;
    }
    if (k->dom == KW__EW_DOM_F && k->da == KW_ONNX_FLOAT &&
        k->db == KW_ONNX_FLOAT) {
        const float *af = a, *bf_ = b;
        if (k->dy == KW_ONNX_FLOAT)
            for (int64_t i = 0; i < n; i++)
                ((float *)y)[i] = (float)bf(k->op, af[i * sa], bf_[i * sb]);
        else
            for (int64_t i = 0; i < n; i++)
                ((uint8_t *)y)[i] = bf(k->op, af[i * sa], bf_[i * sb]) != 0;
        return;
    }
    switch (k->dom) {
    case KW__EW_DOM_F:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_f(k->dy, y, i,
                        bf(k->op, kw__ew_ld_f(k->da, a, i * sa),
                           kw__ew_ld_f(k->db, b, i * sb)));
        break;
    case KW__EW_DOM_S:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_i(k->dy, y, i,
                        bs(k->op, kw__ew_ld_i(k->da, a, i * sa),
                           kw__ew_ld_i(k->db, b, i * sb)));
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_i(k->dy, y, i,
                        (int64_t)bu(k->op,
                                    (uint64_t)kw__ew_ld_i(k->da, a, i * sa),
                                    (uint64_t)kw__ew_ld_i(k->db, b, i * sb)));
        break;
    }
}

/* Which dtypes an op takes. */
enum { T_FLOAT = 1, T_INT = 2, T_BOOL = 4, T_UINT = 8 };

static int type_ok(int dt, int types) {
    return ((types & T_FLOAT) && kw__dtype_is_float(dt)) ||
           ((types & T_INT) && kw__dtype_is_int(dt)) ||
           ((types & T_UINT) && kw__dtype_is_int(dt) &&
            !kw__dtype_is_signed(dt)) ||
           ((types & T_BOOL) && dt == KW_ONNX_BOOL);
}

/* Sets up k for a op b (dtypes already checked). */
static void bctx_init(struct bctx *k, int op, int da, int db, int dy) {
    k->op = op;
    k->da = da;
    k->db = db;
    k->dy = dy;
    k->dom = kw__ew_dom(da);
    if (op == B_POW && k->dom != KW__EW_DOM_F && kw__dtype_is_float(db))
        k->dom = KW__EW_DOM_F; /* integer base, float exponent */
    k->f32op = -1;
    if (da == KW_ONNX_FLOAT && db == KW_ONNX_FLOAT && dy == KW_ONNX_FLOAT &&
        op <= B_DIV) {
        k->f32op = op == B_ADD ? KW__EW_ADD : op == B_SUB ? KW__EW_SUB
                 : op == B_MUL ? KW__EW_MUL : KW__EW_DIV;
        k->f32 = kw__ew_bin_f32();
    }
}

/* a op b over the broadcast shape into y (allocated by the caller). */
static void bin_apply(struct kw__op_ctx *c, const struct bctx *k,
                      const struct kw_onnx_value *a,
                      const struct kw_onnx_value *b, struct kw_onnx_value *y) {
    struct kw__ew_plan p;
    const struct kw_onnx_value *ins[2] = {a, b};
    kw__ew_plan_init(&p, 2, ins, y->rank, y->dims,
                     kw_onnx_dtype_size(y->dtype));
    const void *xd[2] = {a->data, b->data};
    kw__ew_run(c, &p, y->data, xd, bin_row, k);
}

static enum kw_status get_tensor(struct kw__op_ctx *c, int i,
                                 const struct kw_onnx_value **v) {
    *v = kw__in(c, i);
    if (!kw__is_tensor(*v))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input %d must be a tensor", i);
    return KW_STATUS_OK;
}

static enum kw_status run_binary(struct kw__op_ctx *c, int op, int types,
                                 int out_bool) {
    const struct kw_onnx_value *a, *b;
    enum kw_status st;
    if ((st = get_tensor(c, 0, &a)) || (st = get_tensor(c, 1, &b))) return st;
    if (!type_ok(a->dtype, types) ||
        (op == B_POW ? !type_ok(b->dtype, T_FLOAT | T_INT)
                     : b->dtype != a->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "input types %s and %s are not supported",
                           kw_onnx_dtype_name(a->dtype),
                           kw_onnx_dtype_name(b->dtype));
    /* before opset 7, broadcast=1 aligned B with A starting at axis */
    struct kw_onnx_value bv;
    if (c->opset < 7 && kw__attr_i(c, "broadcast", 0) &&
        kw__attr(c->node, "axis")) {
        int64_t axis = kw__attr_i(c, "axis", 0);
        if (axis < 0) axis += a->rank;
        if (axis < 0 || axis + b->rank > a->rank)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "axis %lld does not fit B in A",
                               (long long)axis);
        bv = *b;
        bv.rank = a->rank;
        for (int i = 0; i < a->rank; i++)
            bv.dims[i] = i >= axis && i < axis + b->rank ? b->dims[i - axis]
                                                         : 1;
        b = &bv;
    }
    int rank;
    int64_t dims[KW_ONNX_MAX_RANK];
    const struct kw_onnx_value *ins[2] = {a, b};
    if (!kw__ew_bcast_shape(ins, 2, &rank, dims))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "shapes do not broadcast");
    int dy = out_bool ? KW_ONNX_BOOL : a->dtype;
    /* bin_apply writes every element: no zeroing pass first */
    struct kw_onnx_value *y = kw__out_tensor_raw(c, 0, dy, rank, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    struct bctx k;
    bctx_init(&k, op, a->dtype, b->dtype, dy);
    bin_apply(c, &k, a, b, y);
    return KW_STATUS_OK;
}

#define BINARY(name, OP, TYPES, BOOL)                                         \
    enum kw_status kw__ew_op_##name(struct kw__op_ctx *c) {                   \
        return run_binary(c, OP, TYPES, BOOL);                                \
    }
BINARY(add, B_ADD, T_FLOAT | T_INT, 0)
BINARY(sub, B_SUB, T_FLOAT | T_INT, 0)
BINARY(mul, B_MUL, T_FLOAT | T_INT, 0)
BINARY(div, B_DIV, T_FLOAT | T_INT, 0)
BINARY(pow, B_POW, T_FLOAT | T_INT, 0)
BINARY(equal, B_EQ, T_FLOAT | T_INT | T_BOOL, 1)
BINARY(greater, B_GT, T_FLOAT | T_INT | T_BOOL, 1)
BINARY(less, B_LT, T_FLOAT | T_INT | T_BOOL, 1)
BINARY(greater_equal, B_GE, T_FLOAT | T_INT | T_BOOL, 1)
BINARY(less_equal, B_LE, T_FLOAT | T_INT | T_BOOL, 1)
BINARY(and, B_AND, T_BOOL, 1)
BINARY(or, B_OR, T_BOOL, 1)
BINARY(xor, B_XOR, T_BOOL, 1)
#undef BINARY

enum kw_status kw__ew_op_mod(struct kw__op_ctx *c) {
    return run_binary(c, kw__attr_i(c, "fmod", 0) ? B_FMOD : B_MOD,
                      T_FLOAT | T_INT, 0);
}

enum kw_status kw__ew_op_bitshift(struct kw__op_ctx *c) {
    const char *dir = kw__attr_s(c, "direction", "");
    int op;
    if (!strcmp(dir, "LEFT"))
        op = B_SHL;
    else if (!strcmp(dir, "RIGHT"))
        op = B_SHR;
    else
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "direction must be LEFT or RIGHT");
    return run_binary(c, op, T_UINT, 0);
}

/* PRelu: slope broadcasts to X's shape (one way). Before opset 7 a 1-D
 * slope holds one value per channel (dimension 1). */
enum kw_status kw__ew_op_prelu(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x, *s;
    enum kw_status st;
    if ((st = get_tensor(c, 0, &x)) || (st = get_tensor(c, 1, &s))) return st;
    if (!type_ok(x->dtype, T_FLOAT | T_INT) || s->dtype != x->dtype)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "input types %s and %s are not supported",
                           kw_onnx_dtype_name(x->dtype),
                           kw_onnx_dtype_name(s->dtype));
    struct kw_onnx_value sv;
    if (c->opset < 7 && s->rank == 1 && x->rank >= 2 &&
        s->dims[0] == x->dims[1] && s->dims[0] != 1) {
        sv = *s;
        sv.rank = x->rank - 1;
        for (int i = 1; i < sv.rank; i++) sv.dims[i] = 1;
        s = &sv;
    }
    struct kw_onnx_value *y = NULL;
    const struct kw_onnx_value *ins[2] = {x, s};
    int rank;
    int64_t dims[KW_ONNX_MAX_RANK];
    if (!kw__ew_bcast_shape(ins, 2, &rank, dims) || rank != x->rank ||
        memcmp(dims, x->dims, sizeof(int64_t) * (size_t)rank))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "slope does not broadcast to X");
    if (!(y = kw__out_tensor(c, 0, x->dtype, x->rank, x->dims)))
        return KW_STATUS_ERR_NOMEM;
    struct bctx k;
    bctx_init(&k, B_PRELU, x->dtype, s->dtype, x->dtype);
    bin_apply(c, &k, x, s, y);
    return KW_STATUS_OK;
}

/* ---- variadic Max, Min, Sum, Mean ---- */

static void copy_row(const void *ctx, void *y, const void *const *x,
                     const int64_t *s, int64_t n) {
    size_t es = *(const size_t *)ctx;
    const char *src = x[0];
    for (int64_t i = 0; i < n; i++)
        memcpy((char *)y + (size_t)i * es, src + (size_t)(i * s[0]) * es,
               es);
}

static enum kw_status run_variadic(struct kw__op_ctx *c, int op, int mean) {
    int n = c->n_in;
    if (n < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "needs an input");
    const struct kw_onnx_value *ins[64];
    if (n > 64)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "more than 64 inputs");
    for (int i = 0; i < n; i++) {
        enum kw_status st = get_tensor(c, i, &ins[i]);
        if (st) return st;
        if (!type_ok(ins[i]->dtype, mean ? T_FLOAT : T_FLOAT | T_INT) ||
            ins[i]->dtype != ins[0]->dtype)
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                               "input %d has type %s", i,
                               kw_onnx_dtype_name(ins[i]->dtype));
    }
    int rank;
    int64_t dims[KW_ONNX_MAX_RANK];
    if (!kw__ew_bcast_shape(ins, n, &rank, dims))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "shapes do not broadcast");
    int dt = ins[0]->dtype;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, rank, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    struct bctx k;
    bctx_init(&k, op, dt, dt, dt);
    if (n == 1) {
        struct kw__ew_plan p;
        size_t es = kw_onnx_dtype_size(dt);
        kw__ew_plan_init(&p, 1, ins, rank, dims, es);
        const void *xd[1] = {ins[0]->data};
        kw__ew_run(c, &p, y->data, xd, copy_row, &es);
    } else {
        /* y = in0 op in1, then y = y op in_k in place: each element is
         * read before it is written at the same position */
        bin_apply(c, &k, ins[0], ins[1], y);
        for (int i = 2; i < n; i++) bin_apply(c, &k, y, ins[i], y);
    }
    if (mean && n > 1) {
        int64_t m = kw_onnx_numel(y);
        for (int64_t i = 0; i < m; i++)
            kw__ew_st_f(dt, y->data, i, kw__ew_ld_f(dt, y->data, i) / n);
    }
    return KW_STATUS_OK;
}

enum kw_status kw__ew_op_max(struct kw__op_ctx *c) {
    return run_variadic(c, B_MAX, 0);
}
enum kw_status kw__ew_op_min(struct kw__op_ctx *c) {
    return run_variadic(c, B_MIN, 0);
}
enum kw_status kw__ew_op_sum(struct kw__op_ctx *c) {
    return run_variadic(c, B_ADD, 0);
}
enum kw_status kw__ew_op_mean(struct kw__op_ctx *c) {
    return run_variadic(c, B_ADD, 1);
}

/* ---- Where ---- */

struct wctx {
    size_t es;
    int string;
    int *nomem;
};

static void where_row(const void *ctx, void *y, const void *const *x,
                      const int64_t *s, int64_t n) {
    const struct wctx *k = ctx;
    const uint8_t *cond = x[0];
    const char *a = x[1], *b = x[2];
    size_t es = k->es;
    for (int64_t i = 0; i < n; i++) {
        const char *src = cond[i * s[0]] ? a + (size_t)(i * s[1]) * es
                                         : b + (size_t)(i * s[2]) * es;
        if (k->string) {
            const char *str = *(const char *const *)src;
            char *d = strdup(str ? str : "");
            if (!d) *k->nomem = 1;
            ((char **)y)[i] = d;
        } else {
            memcpy((char *)y + (size_t)i * es, src, es);
        }
    }
}

enum kw_status kw__ew_op_where(struct kw__op_ctx *c) {
    const struct kw_onnx_value *ins[3];
    for (int i = 0; i < 3; i++) {
        enum kw_status st = get_tensor(c, i, &ins[i]);
        if (st) return st;
    }
    if (ins[0]->dtype != KW_ONNX_BOOL || ins[1]->dtype != ins[2]->dtype ||
        !kw_onnx_dtype_size(ins[1]->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "input types %s, %s, %s are not supported",
                           kw_onnx_dtype_name(ins[0]->dtype),
                           kw_onnx_dtype_name(ins[1]->dtype),
                           kw_onnx_dtype_name(ins[2]->dtype));
    int rank;
    int64_t dims[KW_ONNX_MAX_RANK];
    if (!kw__ew_bcast_shape(ins, 3, &rank, dims))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "shapes do not broadcast");
    int dt = ins[1]->dtype;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, rank, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int nomem = 0;
    struct wctx k = {kw_onnx_dtype_size(dt), dt == KW_ONNX_STRING, &nomem};
    struct kw__ew_plan p;
    kw__ew_plan_init(&p, 3, ins, rank, dims, k.es);
    const void *xd[3] = {ins[0]->data, ins[1]->data, ins[2]->data};
    /* strings: one thread, so the shared failure flag needs no atomics */
    kw__ew_run(k.string ? NULL : c, &p, y->data, xd, where_row, &k);
    if (nomem)
        return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    return KW_STATUS_OK;
}
