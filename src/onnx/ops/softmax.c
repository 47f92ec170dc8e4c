/*
 * softmax.c — Softmax, LogSoftmax and Hardmax (entries in reduce.c's
 * table). Opset 13 normalizes along one axis; before, the input is seen as
 * 2-D [prod(dims[:axis]), prod(dims[axis:])] and each row is normalized.
 * float32 rows run on the SIMD row kernels; other float dtypes in double.
 * Entry points: kw__op_softmax, kw__op_logsoftmax, kw__op_hardmax.
 */
#include "onnx/ops/rowops.h"

enum smode { SOFTMAX, LOGSOFTMAX, HARDMAX };

struct sjob {
    const struct kw_onnx_value *x;
    struct kw_onnx_value *y;
    enum smode mode;
    int64_t n, inner; /* a block is n rows of inner values, per outer index */
    const struct kw__rowops *ops;
};

/* float32, inner == 1: whole contiguous rows */
static void rows_f32(void *ctx, int64_t o0, int64_t o1) {
    const struct sjob *j = ctx;
    const int64_t n = j->n;
    for (int64_t o = o0; o < o1; o++) {
        const float *x = (const float *)j->x->data + o * n;
        float *y = (float *)j->y->data + o * n;
        const float m = j->ops->max(x, n);
        const double s = j->ops->exp_sum(y, x, m, n);
        if (j->mode == SOFTMAX) j->ops->affine(y, y, 0.0f, (float)(1.0 / s), 0.0f, n);
        else j->ops->affine(y, x, m, 1.0f, (float)-log(s), n);
    }
}

/* float32, inner > 1: columns in chunks, the inner loops contiguous */
#define CHUNK 256
static void cols_f32(void *ctx, int64_t o0, int64_t o1) {
    const struct sjob *j = ctx;
    const int64_t n = j->n, inner = j->inner;
    float m[CHUNK];
    double s[CHUNK];
    for (int64_t o = o0; o < o1; o++) {
        const float *xb = (const float *)j->x->data + o * n * inner;
        float *yb = (float *)j->y->data + o * n * inner;
        for (int64_t c0 = 0; c0 < inner; c0 += CHUNK) {
            const int64_t w = KW_MIN(CHUNK, inner - c0);
            const float *x = xb + c0;
            float *y = yb + c0;
            for (int64_t i = 0; i < w; i++) m[i] = x[i], s[i] = 0;
            for (int64_t k = 1; k < n; k++)
                for (int64_t i = 0; i < w; i++) {
                    const float v = x[k * inner + i];
                    if (v > m[i] || v != v) m[i] = v;
                }
            for (int64_t k = 0; k < n; k++)
                for (int64_t i = 0; i < w; i++) {
                    const float e = expf(x[k * inner + i] - m[i]);
                    y[k * inner + i] = e;
                    s[i] += e;
                }
            if (j->mode == SOFTMAX) {
                for (int64_t i = 0; i < w; i++) m[i] = (float)(1.0 / s[i]);
                for (int64_t k = 0; k < n; k++)
                    for (int64_t i = 0; i < w; i++) y[k * inner + i] *= m[i];
            } else {
                float ls[CHUNK];
                for (int64_t i = 0; i < w; i++) ls[i] = (float)log(s[i]);
                for (int64_t k = 0; k < n; k++)
                    for (int64_t i = 0; i < w; i++)
                        y[k * inner + i] = (x[k * inner + i] - m[i]) - ls[i];
            }
        }
    }
}

/* any float dtype, in double, one column at a time */
static void cols_f64(void *ctx, int64_t o0, int64_t o1) {
    const struct sjob *j = ctx;
    const int64_t n = j->n, inner = j->inner;
    for (int64_t o = o0; o < o1; o++)
        for (int64_t i = 0; i < inner; i++) {
            const int64_t b = o * n * inner + i;
            double m = kw__get_f64(j->x, b);
            int64_t arg = 0;
            for (int64_t k = 1; k < n; k++) {
                const double v = kw__get_f64(j->x, b + k * inner);
                if (v > m || (v != v && m == m)) m = v, arg = k;
            }
            if (j->mode == HARDMAX) {
                kw__set_f64(j->y, b + arg * inner, 1.0);
                continue;
            }
            double s = 0;
            for (int64_t k = 0; k < n; k++)
                s += exp(kw__get_f64(j->x, b + k * inner) - m);
            const double ls = log(s);
            for (int64_t k = 0; k < n; k++) {
                const double v = kw__get_f64(j->x, b + k * inner);
                kw__set_f64(j->y, b + k * inner,
                            j->mode == SOFTMAX ? exp(v - m) / s : (v - m) - ls);
            }
        }
}

static enum kw_status softmax_run(struct kw__op_ctx *c, enum smode mode) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be a tensor");
    if (!kw__dtype_is_float(x->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "dtype %s",
                           kw_onnx_dtype_name(x->dtype));
    const int r = x->rank;
    const int64_t a = kw__attr_i(c, "axis", c->opset >= 13 ? -1 : 1);
    int axis;
    if (!kw__axis(a, r, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "axis %lld out of range for rank %d", (long long)a, r);
    struct sjob j = {x, NULL, mode, 1, 1, NULL};
    int64_t outer = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    if (c->opset >= 13) {
        j.n = x->dims[axis];
        for (int i = axis + 1; i < r; i++) j.inner *= x->dims[i];
    } else {
        for (int i = axis; i < r; i++) j.n *= x->dims[i];
    }
    j.y = kw__out_tensor(c, 0, x->dtype, r, x->dims);
    if (!j.y) return KW_STATUS_ERR_NOMEM;
    if (kw_onnx_numel(x) == 0) return KW_STATUS_OK;
    const int64_t per = KW_MAX(1, 16384 / (j.n * j.inner));
    if (x->dtype == KW_ONNX_FLOAT && mode != HARDMAX) {
        j.ops = kw__rowops();
        kw__parallel_for(c, outer, per, j.inner == 1 ? rows_f32 : cols_f32, &j);
    } else {
        kw__parallel_for(c, outer, per, cols_f64, &j);
    }
    return KW_STATUS_OK;
}

enum kw_status kw__op_softmax(struct kw__op_ctx *c) { return softmax_run(c, SOFTMAX); }
enum kw_status kw__op_logsoftmax(struct kw__op_ctx *c) { return softmax_run(c, LOGSOFTMAX); }
enum kw_status kw__op_hardmax(struct kw__op_ctx *c) { return softmax_run(c, HARDMAX); }
