/*
 * ew_cast.c — Cast, CastLike and Identity. Numeric casts follow C (floats
 * truncate toward zero, integers keep their low bits); to float16 rounds
 * once to nearest-even; to bfloat16 truncates the float32 bits, as the
 * ONNX 1.12 test data does. Strings use numpy's rules: the shortest
 * digits that read back to the same value, positional between 1e-4 and
 * 1e6 (1e16 for double), scientific ("1e-05") outside.
 */
#include <errno.h>
#include <stdio.h>

#include "onnx/ops/ew.h"

static uint16_t f32_to_bf16_trunc(float f) {
    uint32_t u = kw__f32_as_u32(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)(u >> 16);
}

/* numpy's str() of a float: shortest round-trip digits (float32 when f32),
 * positional for 1e-4 <= |v| < hi, else d.ddde+XX. */
static void fmt_float(char *out, size_t cap, double v, int f32) {
    if (v != v) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char tmp[40];
    int maxp = f32 ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (f32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    /* tmp: [-]d[.ddd]e[+-]XX -> digits and decimal exponent */
    char dig[24];
    int nd = 0, neg = tmp[0] == '-';
    const char *q = tmp + neg;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < 23) dig[nd++] = *q;
    int e10 = *q == 'e' ? atoi(q + 1) : 0;
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    dig[nd] = 0;
    double ax = fabs(v), hi = f32 ? 1e6 : 1e16;
    size_t o = 0;
    char buf[64];
    if (neg) buf[o++] = '-';
    if (ax >= 1e-4 && ax < hi) {
        if (e10 >= 0) {
            for (int i = 0; i <= e10; i++) buf[o++] = i < nd ? dig[i] : '0';
            buf[o++] = '.';
            if (nd > e10 + 1)
                for (int i = e10 + 1; i < nd; i++) buf[o++] = dig[i];
            else
                buf[o++] = '0';
        } else {
            buf[o++] = '0';
            buf[o++] = '.';
            for (int i = 0; i < -e10 - 1; i++) buf[o++] = '0';
            for (int i = 0; i < nd; i++) buf[o++] = dig[i];
        }
        buf[o] = 0;
    } else {
        buf[o++] = dig[0];
        if (nd > 1) {
            buf[o++] = '.';
            for (int i = 1; i < nd; i++) buf[o++] = dig[i];
        }
        snprintf(buf + o, sizeof buf - o, "e%c%02d", e10 < 0 ? '-' : '+',
                 e10 < 0 ? -e10 : e10);
    }
    snprintf(out, cap, "%s", buf);
}

/* Element i of x as text (numpy's str()). */
static void elem_str(const struct kw_onnx_value *x, int64_t i, char *out,
                     size_t cap) {
    int dt = x->dtype;
    switch (kw__ew_dom(dt)) {
    case KW__EW_DOM_F:
        fmt_float(out, cap, kw__ew_ld_f(dt, x->data, i), dt != KW_ONNX_DOUBLE);
        break;
    case KW__EW_DOM_S:
        snprintf(out, cap, "%lld", (long long)kw__ew_ld_i(dt, x->data, i));
        break;
    case KW__EW_DOM_U:
        snprintf(out, cap, "%llu",
                 (unsigned long long)(uint64_t)kw__ew_ld_i(dt, x->data, i));
        break;
    default:
        snprintf(out, cap, "%s",
                 ((const uint8_t *)x->data)[i] ? "True" : "False");
        break;
    }
}

/* Text to element i of y; 0 when it does not parse. */
static int parse_str(const char *s, struct kw_onnx_value *y, int64_t i) {
    int dt = y->dtype;
    if (!s) s = "";
    if (dt == KW_ONNX_BOOL) { /* numpy: any non-empty string is true */
        ((uint8_t *)y->data)[i] = s[0] != 0;
        return 1;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
    char *end;
    if (kw__dtype_is_int(dt)) {
        errno = 0;
        int64_t v;
        if (dt == KW_ONNX_UINT64 && *s != '-')
            v = (int64_t)strtoull(s, &end, 10);
        else
            v = strtoll(s, &end, 10);
        if (end == s || errno) return 0;
        while (*end == ' ' || *end == '\t' || *end == '\n') end++;
        if (*end) return 0;
        kw__ew_st_i(dt, y->data, i, v);
        return 1;
    }
    double d;
    if (dt == KW_ONNX_FLOAT)
        d = strtof(s, &end); /* rounds once, straight to float */
    else
        d = strtod(s, &end);
    if (end == s) return 0;
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    if (*end) return 0;
    kw__ew_st_f(dt, y->data, i, d);
    return 1;
}

struct cctx {
    int dx, dy;
};

static void cast_row(const void *ctx, void *y, const void *const *xs,
                     const int64_t *s, int64_t n) {
    const struct cctx *k = ctx;
    const void *x = xs[0];
    int64_t sx = s[0];
    if (k->dy == KW_ONNX_BFLOAT16 && kw__dtype_is_float(k->dx)) {
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)y)[i] = f32_to_bf16_trunc(
                (float)kw__ew_ld_f(k->dx, x, i * sx));
        return;
    }
    switch (kw__ew_dom(k->dx)) {
    case KW__EW_DOM_F:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_f(k->dy, y, i, kw__ew_ld_f(k->dx, x, i * sx));
        break;
    case KW__EW_DOM_U:
        if (kw__dtype_is_float(k->dy)) {
            for (int64_t i = 0; i < n; i++)
                kw__ew_st_f(k->dy, y, i,
                            (double)(uint64_t)kw__ew_ld_i(k->dx, x, i * sx));
            break;
        }
        /* fall through */
    default:
        for (int64_t i = 0; i < n; i++)
            kw__ew_st_i(k->dy, y, i, kw__ew_ld_i(k->dx, x, i * sx));
        break;
    }
}

static enum kw_status cast_to(struct kw__op_ctx *c, int to) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!kw__is_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be a tensor");
    int from = x->dtype;
    int ok_from = from == KW_ONNX_STRING || kw__ew_dom(from) != KW__EW_DOM_NONE;
    int ok_to = to == KW_ONNX_STRING || kw__ew_dom(to) != KW__EW_DOM_NONE;
    if (!ok_from || !ok_to)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "cast from %s to %s is not supported",
                           kw_onnx_dtype_name(from), kw_onnx_dtype_name(to));
    struct kw_onnx_value *y = kw__out_tensor(c, 0, to, x->rank, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t n = kw_onnx_numel(x);
    if (to == KW_ONNX_STRING) {
        char buf[96];
        for (int64_t i = 0; i < n; i++) {
            const char *src = buf;
            if (from == KW_ONNX_STRING) {
                src = ((char *const *)x->data)[i];
                if (!src) src = "";
            } else {
                elem_str(x, i, buf, sizeof buf);
            }
            if (!(((char **)y->data)[i] = strdup(src)))
                return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        }
        return KW_STATUS_OK;
    }
    if (from == KW_ONNX_STRING) {
        for (int64_t i = 0; i < n; i++) {
            const char *s = ((char *const *)x->data)[i];
            if (!parse_str(s, y, i))
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "cannot read '%.40s' as %s", s ? s : "",
                                   kw_onnx_dtype_name(to));
        }
        return KW_STATUS_OK;
    }
    struct cctx k = {from, to};
    struct kw__ew_plan p;
    const struct kw_onnx_value *ins[1] = {x};
    kw__ew_plan_init(&p, 1, ins, x->rank, x->dims, kw_onnx_dtype_size(to));
    const void *xd[1] = {x->data};
    kw__ew_run(c, &p, y->data, xd, cast_row, &k);
    return KW_STATUS_OK;
}

enum kw_status kw__ew_op_cast(struct kw__op_ctx *c) {
    const struct kw__attr *a = kw__attr(c->node, "to");
    if (!a || a->type != KW_ATTR_INT || a->i < 0 || a->i > 64)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "needs an integer attribute 'to'");
    return cast_to(c, (int)a->i);
}

enum kw_status kw__ew_op_castlike(struct kw__op_ctx *c) {
    const struct kw_onnx_value *t = kw__in(c, 1);
    if (!kw__is_tensor(t))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "target_type must be a tensor");
    return cast_to(c, t->dtype);
}

/* Identity copies any value: tensor, sequence or optional. */
enum kw_status kw__ew_op_identity(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!x) return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "missing input");
    struct kw_onnx_value *y = kw__value_clone(x);
    if (!y) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    kw__out_set(c, 0, y);
    return KW_STATUS_OK;
}
