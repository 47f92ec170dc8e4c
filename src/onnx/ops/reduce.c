/*
 * reduce.c — operator family 'reduce': ReduceSum/Mean/Max/Min/Prod/L1/L2/
 * LogSum/LogSumExp/SumSquare here, and the table of the whole family
 * (Softmax & co in softmax.c, normalizations in norm.c, losses in loss.c).
 * A reduction keeps the axes it does not reduce. float32 Sum/Mean/Max over
 * trailing axes run on the SIMD row kernels (rowops.h), Sum/Mean over one
 * block of inner axes as column sums; everything else on a generic walk
 * that reads any numeric dtype.
 */
#include "onnx/ops/rowops.h"

enum rkind {
    R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP,
    R_SUMSQ
};

struct rjob {
    const struct kw_onnx_value *x;
    struct kw_onnx_value *y;
    enum rkind kind;
    /* kept axes (output order) and reduced axes with their input strides */
    int nk, nr;
    int64_t kd[KW_ONNX_MAX_RANK], ks[KW_ONNX_MAX_RANK];
    int64_t rd[KW_ONNX_MAX_RANK], rs[KW_ONNX_MAX_RANK];
    int64_t R;     /* values per output */
    int64_t inner; /* cols_range: x seen as (outer, R, inner) */
    int is_float, uns;
    const struct kw__rowops *ops; /* float32 rows of R contiguous values */
};

/* Visits the R input offsets of the output whose first one is base, in
 * row-major order of the reduced axes. */
#define WALK(j, base, off, body)                                             \
    do {                                                                     \
        int64_t ri_[KW_ONNX_MAX_RANK] = {0}, off = (base);                   \
        for (int64_t r_ = 0; r_ < (j)->R; r_++) {                            \
            body;                                                            \
            for (int a_ = (j)->nr - 1; a_ >= 0; a_--) {                      \
                off += (j)->rs[a_];                                          \
                if (++ri_[a_] < (j)->rd[a_]) break;                          \
                off -= (j)->rs[a_] * (j)->rd[a_];                            \
                ri_[a_] = 0;                                                 \
            }                                                                \
        }                                                                    \
    } while (0)

static inline double get_f(const struct rjob *j, int64_t i) {
    if (j->x->dtype == KW_ONNX_FLOAT) return ((const float *)j->x->data)[i];
    if (j->x->dtype == KW_ONNX_DOUBLE) return ((const double *)j->x->data)[i];
    if (j->is_float) return kw__get_f64(j->x, i);
    const int64_t v = kw__get_i64(j->x, i);
    return j->uns ? (double)(uint64_t)v : (double)v;
}

/* One reduction in double (floating dtypes, and the integer kinds that
 * need it: mean, L2, logs). NaN propagates through max/min. */
static double reduce_f64(const struct rjob *j, int64_t base, enum rkind k) {
    double a = 0;
    switch (k) {
    case R_MAX:
        a = -INFINITY;
        WALK(j, base, off, {
            const double v = get_f(j, off);
            if (v > a || v != v) a = v;
            if (a != a) return a;
        });
        return a;
    case R_MIN:
        a = INFINITY;
        WALK(j, base, off, {
            const double v = get_f(j, off);
            if (v < a || v != v) a = v;
            if (a != a) return a;
        });
        return a;
    case R_PROD:
        a = 1;
        WALK(j, base, off, a *= get_f(j, off));
        return a;
    case R_LOGSUMEXP: {
        const double m = reduce_f64(j, base, R_MAX);
        if (isinf(m) || m != m) return m; /* empty, all -inf, or +inf */
        WALK(j, base, off, a += exp(get_f(j, off) - m));
        return m + log(a);
    }
    case R_L1:
        WALK(j, base, off, a += fabs(get_f(j, off)));
        return a;
    case R_L2:
    case R_SUMSQ:
        WALK(j, base, off, {
            const double v = get_f(j, off);
            a += v * v;
        });
        return k == R_L2 ? sqrt(a) : a;
    default:
        WALK(j, base, off, a += get_f(j, off));
        return k == R_MEAN ? a / (double)j->R : k == R_LOGSUM ? log(a) : a;
    }
}

/* The smallest (max) or largest (min) value of an integer dtype: what
 * ReduceMax/ReduceMin give over nothing. */
static int64_t int_extreme(int dtype, int largest) {
    switch (dtype) {
    case KW_ONNX_INT8: return largest ? INT8_MAX : INT8_MIN;
    case KW_ONNX_INT16: return largest ? INT16_MAX : INT16_MIN;
    case KW_ONNX_INT32: return largest ? INT32_MAX : INT32_MIN;
    case KW_ONNX_INT64: return largest ? INT64_MAX : INT64_MIN;
    case KW_ONNX_UINT8: case KW_ONNX_BOOL: return largest ? UINT8_MAX : 0;
    case KW_ONNX_UINT16: return largest ? UINT16_MAX : 0;
    case KW_ONNX_UINT32: return largest ? UINT32_MAX : 0;
    default: return largest ? -1 : 0; /* uint64: all ones */
    }
}

/* One reduction over integers: sums and products wrap (same bits signed
 * or unsigned), max/min compare as the dtype does. */
static int64_t reduce_i64(const struct rjob *j, int64_t base, enum rkind k) {
    uint64_t s = k == R_PROD ? 1 : 0;
    int64_t a;
    if (j->R == 0 && (k == R_MAX || k == R_MIN))
        return int_extreme(j->x->dtype, k == R_MIN);
    switch (k) {
    case R_SUM: WALK(j, base, off, s += (uint64_t)kw__get_i64(j->x, off)); return (int64_t)s;
    case R_PROD: WALK(j, base, off, s *= (uint64_t)kw__get_i64(j->x, off)); return (int64_t)s;
    case R_L1:
        WALK(j, base, off, {
            const int64_t v = kw__get_i64(j->x, off);
            s += j->uns || v >= 0 ? (uint64_t)v : 0 - (uint64_t)v;
        });
        return (int64_t)s;
    case R_SUMSQ:
        WALK(j, base, off, {
            const uint64_t v = (uint64_t)kw__get_i64(j->x, off);
            s += v * v;
        });
        return (int64_t)s;
    case R_MAX:
        a = j->uns ? 0 : INT64_MIN;
        WALK(j, base, off, {
            const int64_t v = kw__get_i64(j->x, off);
            if (j->uns ? (uint64_t)v > (uint64_t)a : v > a) a = v;
        });
        return a;
    default: /* R_MIN */
        a = j->uns ? -1 : INT64_MAX;
        WALK(j, base, off, {
            const int64_t v = kw__get_i64(j->x, off);
            if (j->uns ? (uint64_t)v < (uint64_t)a : v < a) a = v;
        });
        return a;
    }
}

static void gather_range(void *ctx, int64_t o0, int64_t o1) {
    struct rjob *j = ctx;
    int64_t ki[KW_ONNX_MAX_RANK] = {0}, base = 0, rem = o0;
    for (int a = j->nk - 1; a >= 0; a--) {
        ki[a] = rem % j->kd[a];
        rem /= j->kd[a];
        base += ki[a] * j->ks[a];
    }
    const int int_kind = !j->is_float &&
        (j->kind == R_SUM || j->kind == R_PROD || j->kind == R_L1 ||
         j->kind == R_SUMSQ || j->kind == R_MAX || j->kind == R_MIN);
    for (int64_t o = o0; o < o1; o++) {
        if (int_kind) kw__set_i64(j->y, o, reduce_i64(j, base, j->kind));
        else kw__set_f64(j->y, o, reduce_f64(j, base, j->kind));
        for (int a = j->nk - 1; a >= 0; a--) {
            base += j->ks[a];
            if (++ki[a] < j->kd[a]) break;
            base -= j->ks[a] * j->kd[a];
            ki[a] = 0;
        }
    }
}

/* float32 Sum/Mean/Max over contiguous rows of R values */
static void rows_range(void *ctx, int64_t o0, int64_t o1) {
    struct rjob *j = ctx;
    const float *x = j->x->data;
    float *y = j->y->data;
    if (j->kind == R_MAX) {
        for (int64_t o = o0; o < o1; o++) y[o] = j->ops->max(x + o * j->R, j->R);
        return;
    }
    const float scale = j->kind == R_MEAN ? 1.0f / (float)j->R : 1.0f;
    for (int64_t o = o0; o < o1; o++) y[o] = j->ops->sum(x + o * j->R, j->R) * scale;
}

/* float32 Sum/Mean of x viewed as (outer, R, inner) over R: whole rows of
 * inner values added at once (the compiler vectorizes the inner loop).
 * Split over outer * inner-chunks. */
#define COLS 512
static void cols_range(void *ctx, int64_t t0, int64_t t1) {
    struct rjob *j = ctx;
    const int64_t R = j->R, inner = j->inner;
    const int64_t chunks = (inner + COLS - 1) / COLS;
    float acc[COLS];
    for (int64_t t = t0; t < t1; t++) {
        const int64_t o = t / chunks, c0 = t % chunks * COLS;
        const int64_t w = KW_MIN(COLS, inner - c0);
        const float *x = (const float *)j->x->data + o * R * inner + c0;
        for (int64_t i = 0; i < w; i++) acc[i] = 0;
        for (int64_t r = 0; r < R; r++)
            for (int64_t i = 0; i < w; i++) acc[i] += x[r * inner + i];
        const float scale = j->kind == R_MEAN ? 1.0f / (float)R : 1.0f;
        float *y = (float *)j->y->data + o * inner + c0;
        for (int64_t i = 0; i < w; i++) y[i] = acc[i] * scale;
    }
}

/* The axes to reduce into mask[]; *all when none were given. */
static enum kw_status read_axes(struct kw__op_ctx *c, int from_input, int r,
                                int *mask, int *none) {
    int64_t buf[KW_ONNX_MAX_RANK];
    const int64_t *axes = NULL;
    size_t n = 0;
    if (from_input) {
        const struct kw_onnx_value *a = kw__in(c, 1);
        if (a) {
            if (!kw__is_tensor(a) || (a->dtype != KW_ONNX_INT64 &&
                                      a->dtype != KW_ONNX_INT32) ||
                a->rank > 1)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "axes must be a 1-D int64 tensor");
            const int64_t na = kw_onnx_numel(a);
            if (na > r)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "%lld axes for rank %d", (long long)na, r);
            for (int64_t i = 0; i < na; i++) buf[i] = kw__get_i64(a, i);
            axes = buf;
            n = (size_t)na;
        }
    } else {
        axes = kw__attr_ints(c, "axes", &n);
    }
    for (int i = 0; i < r; i++) mask[i] = 0;
    *none = n == 0;
    for (size_t i = 0; i < n; i++) {
        int ax;
        if (!kw__axis(axes[i], r, &ax))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "axis %lld out of range for rank %d",
                               (long long)axes[i], r);
        if (mask[ax])
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis %d repeated", ax);
        mask[ax] = 1;
    }
    return KW_STATUS_OK;
}

static enum kw_status reduce_run(struct kw__op_ctx *c, enum rkind kind) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be a tensor");
    if (!kw__dtype_is_float(x->dtype) && !kw__dtype_is_int(x->dtype) &&
        x->dtype != KW_ONNX_BOOL)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "dtype %s",
                           kw_onnx_dtype_name(x->dtype));
    const int r = x->rank;
    const int from_input =
        c->opset >= 18 || (kind == R_SUM && c->opset >= 13);
    int mask[KW_ONNX_MAX_RANK], none = 0;
    enum kw_status st = read_axes(c, from_input, r, mask, &none);
    if (st != KW_STATUS_OK) return st;
    const int keepdims = kw__attr_i(c, "keepdims", 1) != 0;
    if (none) {
        if (kw__attr_i(c, "noop_with_empty_axes", 0)) {
            struct kw_onnx_value *y = kw__value_clone(x);
            if (!y)
                return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
            kw__out_set(c, 0, y);
            return KW_STATUS_OK;
        }
        for (int i = 0; i < r; i++) mask[i] = 1;
    }

    struct rjob j = {0};
    j.x = x;
    j.kind = kind;
    j.is_float = kw__dtype_is_float(x->dtype);
    j.uns = !kw__dtype_is_signed(x->dtype);
    int64_t strides[KW_ONNX_MAX_RANK], od[KW_ONNX_MAX_RANK];
    kw__strides(r, x->dims, strides);
    int orank = 0;
    j.R = 1;
    for (int i = 0; i < r; i++) {
        if (mask[i]) {
            if (keepdims) od[orank++] = 1;
            j.rd[j.nr] = x->dims[i];
            j.rs[j.nr++] = strides[i];
            j.R *= x->dims[i];
        } else {
            od[orank++] = x->dims[i];
            j.kd[j.nk] = x->dims[i];
            j.ks[j.nk++] = strides[i];
        }
    }
    j.y = kw__out_tensor(c, 0, x->dtype, orank, od);
    if (!j.y) return KW_STATUS_ERR_NOMEM;
    const int64_t n_out = kw_onnx_numel(j.y);
    if (n_out == 0) return KW_STATUS_OK;

    /* the reduced axes (size-1 axes aside) as one block between two kept
     * ones: x is (outer, R, inner) */
    int64_t outer = 1, inner = 1;
    int block = 1, phase = 0; /* 0: before the block, 1: in it, 2: after */
    for (int i = 0; i < r; i++) {
        if (x->dims[i] == 1) continue;
        if (mask[i]) {
            if (phase == 2) block = 0;
            phase = 1;
        } else if (phase == 0) {
            outer *= x->dims[i];
        } else {
            phase = 2;
            inner *= x->dims[i];
        }
    }
    if (x->dtype == KW_ONNX_FLOAT && block && j.R > 0 && inner == 1 &&
        (kind == R_SUM || kind == R_MEAN || kind == R_MAX)) {
        j.ops = kw__rowops();
        kw__parallel_for(c, n_out, KW_MAX(1, 16384 / j.R), rows_range, &j);
        return KW_STATUS_OK;
    }
    if (x->dtype == KW_ONNX_FLOAT && block && j.R > 0 &&
        (kind == R_SUM || kind == R_MEAN)) {
        j.inner = inner;
        const int64_t tasks = outer * ((inner + COLS - 1) / COLS);
        kw__parallel_for(c, tasks, KW_MAX(1, 16384 / (j.R * KW_MIN(inner, COLS))),
                         cols_range, &j);
        return KW_STATUS_OK;
    }
    kw__parallel_for(c, n_out, KW_MAX(1, 16384 / KW_MAX(j.R, 1)),
                     gather_range, &j);
    return KW_STATUS_OK;
}

static enum kw_status op_reduce_sum(struct kw__op_ctx *c) { return reduce_run(c, R_SUM); }
static enum kw_status op_reduce_mean(struct kw__op_ctx *c) { return reduce_run(c, R_MEAN); }
static enum kw_status op_reduce_max(struct kw__op_ctx *c) { return reduce_run(c, R_MAX); }
static enum kw_status op_reduce_min(struct kw__op_ctx *c) { return reduce_run(c, R_MIN); }
static enum kw_status op_reduce_prod(struct kw__op_ctx *c) { return reduce_run(c, R_PROD); }
static enum kw_status op_reduce_l1(struct kw__op_ctx *c) { return reduce_run(c, R_L1); }
static enum kw_status op_reduce_l2(struct kw__op_ctx *c) { return reduce_run(c, R_L2); }
static enum kw_status op_reduce_logsum(struct kw__op_ctx *c) { return reduce_run(c, R_LOGSUM); }
static enum kw_status op_reduce_logsumexp(struct kw__op_ctx *c) { return reduce_run(c, R_LOGSUMEXP); }
static enum kw_status op_reduce_sumsq(struct kw__op_ctx *c) { return reduce_run(c, R_SUMSQ); }

const struct kw__op kw__ops_reduce[] = {
    {"", "ReduceSum", 1, 0, op_reduce_sum},
    {"", "ReduceMean", 1, 0, op_reduce_mean},
    {"", "ReduceMax", 1, 0, op_reduce_max},
    {"", "ReduceMin", 1, 0, op_reduce_min},
    {"", "ReduceProd", 1, 0, op_reduce_prod},
    {"", "ReduceL1", 1, 0, op_reduce_l1},
    {"", "ReduceL2", 1, 0, op_reduce_l2},
    {"", "ReduceLogSum", 1, 0, op_reduce_logsum},
    {"", "ReduceLogSumExp", 1, 0, op_reduce_logsumexp},
    {"", "ReduceSumSquare", 1, 0, op_reduce_sumsq},
    {"", "Softmax", 1, 0, kw__op_softmax},
    {"", "LogSoftmax", 1, 0, kw__op_logsoftmax},
    {"", "Hardmax", 1, 0, kw__op_hardmax},
    {"", "LayerNormalization", 17, 0, kw__op_layernorm},
    {"", "BatchNormalization", 1, 0, kw__op_batchnorm},
    {"", "InstanceNormalization", 1, 0, kw__op_instancenorm},
    {"", "LRN", 1, 0, kw__op_lrn},
    {"", "MeanVarianceNormalization", 1, 0, kw__op_mvn},
    {"", "NegativeLogLikelihoodLoss", 12, 0, kw__op_nllloss},
    {"", "SoftmaxCrossEntropyLoss", 12, 0, kw__op_sceloss},
    {0},
};
