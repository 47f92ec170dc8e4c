/*
 * quant.c — QuantizeLinear, DequantizeLinear (per-tensor or per-axis) and
 * DynamicQuantizeLinear, plus the rounding/saturation and parameter
 * helpers shared with the integer matmul and convolution operators.
 */
#include "onnx/ops/nn_internal.h"

int64_t kw__nn_saturate(double x, int dtype) {
    double lo, hi;
    switch (dtype) {
    case KW_ONNX_UINT8: lo = 0, hi = 255; break;
    case KW_ONNX_INT8: lo = -128, hi = 127; break;
    case KW_ONNX_UINT16: lo = 0, hi = 65535; break;
    case KW_ONNX_INT16: lo = -32768, hi = 32767; break;
    default: lo = -2147483648.0, hi = 2147483647.0; break;
    }
    if (x != x) return 0;
    x = nearbyint(x); /* the default rounding mode: half to even */
    return (int64_t)(x < lo ? lo : x > hi ? hi : x);
}

int kw__nn_qparam(struct kw__op_ctx *c, const struct kw_onnx_value *v,
                  const char *what, int64_t per_len, double def,
                  double **out) {
    const int64_t n = per_len > 0 ? per_len : 1;
    *out = NULL;
    double *p = malloc((size_t)n * sizeof(double));
    if (!p) {
        kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        return 0;
    }
    if (!v) {
        for (int64_t i = 0; i < n; i++) p[i] = def;
    } else if (!kw__is_tensor(v) || v->dtype == KW_ONNX_STRING) {
        free(p);
        kw__op_fail(c, KW_STATUS_ERR_FORMAT, "%s must be a numeric tensor",
                    what);
        return 0;
    } else if (kw_onnx_numel(v) == 1 && v->rank <= 1) {
        const double x = kw__get_f64(v, 0);
        for (int64_t i = 0; i < n; i++) p[i] = x;
    } else if (per_len > 0 && v->rank == 1 && v->dims[0] == per_len) {
        for (int64_t i = 0; i < n; i++) p[i] = kw__get_f64(v, i);
    } else {
        free(p);
        kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                    "%s must be a scalar%s (got rank %d, %lld elements)",
                    what, per_len > 0 ? " or hold one value per channel" : "",
                    v->rank, (long long)kw_onnx_numel(v));
        return 0;
    }
    *out = p;
    return 1;
}

/* Per-axis layout of x: channel of element i is (i / inner) % nch. */
static enum kw_status axis_layout(struct kw__op_ctx *c,
                                  const struct kw_onnx_value *x,
                                  const struct kw_onnx_value *scale,
                                  int64_t *nch, int64_t *inner) {
    *nch = 0;
    *inner = 1;
    if (!kw__is_tensor(scale))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "scale is missing");
    if (kw_onnx_numel(scale) == 1 && scale->rank <= 1) return KW_STATUS_OK;
    if (c->opset < 13 || scale->rank != 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "scale must be a scalar%s",
                           c->opset < 13 ? "" : " or 1-D");
    int ax;
    if (!kw__axis(kw__attr_i(c, "axis", 1), x->rank, &ax))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    *nch = x->dims[ax];
    for (int i = ax + 1; i < x->rank; i++) *inner *= x->dims[i];
    return KW_STATUS_OK;
}

static int q_dtype_ok(int t) {
    return t == KW_ONNX_UINT8 || t == KW_ONNX_INT8 || t == KW_ONNX_UINT16 ||
           t == KW_ONNX_INT16 || t == KW_ONNX_INT32;
}

enum kw_status kw__op_quantize_linear(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0), *sc = kw__in(c, 1),
                               *zp = kw__in(c, 2);
    if (!kw__is_tensor(x) ||
        (!kw__dtype_is_float(x->dtype) && x->dtype != KW_ONNX_INT32))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "x must be a float or int32 tensor");
    if (kw__attr_i(c, "block_size", 0) != 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "blocked quantization");
    const int yt = zp ? zp->dtype : KW_ONNX_UINT8;
    if (!q_dtype_ok(yt) || yt == KW_ONNX_INT32)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "output type %s", kw_onnx_dtype_name(yt));
    int64_t nch, inner;
    enum kw_status st = axis_layout(c, x, sc, &nch, &inner);
    if (st) return st;
    double *s = NULL, *z = NULL;
    if (!kw__nn_qparam(c, sc, "y_scale", nch, 1, &s) ||
        !kw__nn_qparam(c, zp, "y_zero_point", nch, 0, &z)) {
        free(s);
        return KW_STATUS_ERR_FORMAT;
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, yt, x->rank, x->dims);
    if (y) {
        const int64_t n = kw_onnx_numel(x);
        for (int64_t i = 0; i < n; i++) {
            const int64_t ch = nch ? (i / inner) % nch : 0;
            /* divide in float like the reference runtimes */
            const float q = (float)kw__get_f64(x, i) / (float)s[ch];
            kw__set_i64(y, i, kw__nn_saturate(nearbyintf(q) + z[ch], yt));
        }
    }
    free(s);
    free(z);
    return y ? KW_STATUS_OK : KW_STATUS_ERR_NOMEM;
}

enum kw_status kw__op_dequantize_linear(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0), *sc = kw__in(c, 1),
                               *zp = kw__in(c, 2);
    if (!kw__is_tensor(x) || !q_dtype_ok(x->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "x must be an 8/16/32-bit integer tensor");
    if (zp && (!kw__is_tensor(zp) || zp->dtype != x->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "x_zero_point must have x's dtype");
    if (!kw__is_tensor(sc) || !kw__dtype_is_float(sc->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "x_scale must be a float tensor");
    int64_t nch, inner;
    enum kw_status st = axis_layout(c, x, sc, &nch, &inner);
    if (st) return st;
    double *s = NULL, *z = NULL;
    if (!kw__nn_qparam(c, sc, "x_scale", nch, 1, &s) ||
        !kw__nn_qparam(c, zp, "x_zero_point", nch, 0, &z)) {
        free(s);
        return KW_STATUS_ERR_FORMAT;
    }
    const int yt = c->opset >= 19 ? sc->dtype : KW_ONNX_FLOAT;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, yt, x->rank, x->dims);
    if (y) {
        const int64_t n = kw_onnx_numel(x);
        for (int64_t i = 0; i < n; i++) {
            const int64_t ch = nch ? (i / inner) % nch : 0;
            const float d = (float)(kw__get_i64(x, i) - (int64_t)z[ch]);
            kw__set_f64(y, i, d * (float)s[ch]);
        }
    }
    free(s);
    free(z);
    return y ? KW_STATUS_OK : KW_STATUS_ERR_NOMEM;
}

enum kw_status kw__op_dynamic_quantize_linear(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x) || x->dtype != KW_ONNX_FLOAT)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "x must be a float tensor");
    const int64_t n = kw_onnx_numel(x);
    const float *xd = x->data;
    float lo = 0.0f, hi = 0.0f; /* the range always includes zero */
    for (int64_t i = 0; i < n; i++) {
        if (xd[i] < lo) lo = xd[i];
        if (xd[i] > hi) hi = xd[i];
    }
    const float scale = (hi - lo) / 255.0f;
    const int64_t zp =
        scale > 0 ? kw__nn_saturate(nearbyintf(0.0f - lo / scale),
                                    KW_ONNX_UINT8)
                  : 0;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, KW_ONNX_UINT8, x->rank,
                                             x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    uint8_t *yd = y->data;
    for (int64_t i = 0; i < n; i++)
        yd[i] = scale > 0 ? (uint8_t)kw__nn_saturate(
                                nearbyintf(xd[i] / scale) + (double)zp,
                                KW_ONNX_UINT8)
                          : (uint8_t)zp;
    if (kw__out_wanted(c, 1)) {
        struct kw_onnx_value *s = kw__out_tensor(c, 1, KW_ONNX_FLOAT, 0, NULL);
        if (!s) return KW_STATUS_ERR_NOMEM;
        *(float *)s->data = scale;
    }
    if (kw__out_wanted(c, 2)) {
        struct kw_onnx_value *z = kw__out_tensor(c, 2, KW_ONNX_UINT8, 0, NULL);
        if (!z) return KW_STATUS_ERR_NOMEM;
        *(uint8_t *)z->data = (uint8_t)zp;
    }
    return KW_STATUS_OK;
}
