/*
 * gridsample.c — GridSample (opset 16: 4-D, bilinear/bicubic/nearest;
 * opset 20: N-D, linear/cubic/nearest) with zeros/border/reflection
 * padding. Each output point maps its normalized grid coordinates to input
 * pixels, builds per-dimension taps, and sums their tensor product over
 * every channel (double precision). Entry point: kw__op_grid_sample.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/ops/signal_ops.h"

#define GS_MAX_DIMS 5

enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };
enum { GS_NEAREST, GS_LINEAR, GS_CUBIC };

/* Reflects x back into [lo, hi] off the nearer border, repeatedly. */
static double gs_reflect(double x, double lo, double hi) {
    double range = hi - lo;
    if (range <= 0) return lo;
    if (x < lo) {
        double d = lo - x;
        double n = floor(d / range), r = d - n * range;
        return fmod(n, 2) == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        double d = x - hi;
        double n = floor(d / range), r = d - n * range;
        return fmod(n, 2) == 0 ? hi - r : lo + r;
    }
    return x;
}

static double gs_cubic(double t) {
    const double a = -0.75;
    t = fabs(t);
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0;
}

struct gs_tap {
    int n;
    int64_t idx[4];
    double w[4];
    unsigned char valid[4];
};

/* Index i of a dimension of size d under the padding rule. */
static void gs_fix_index(int pad, int64_t i, int64_t d, double lo, double hi,
                         int64_t *out, unsigned char *valid) {
    *valid = 1;
    if (pad == GS_ZEROS) {
        *valid = i >= 0 && i < d;
        *out = *valid ? i : 0;
    } else if (pad == GS_BORDER) {
        *out = i < 0 ? 0 : i >= d ? d - 1 : i;
    } else {
        int64_t r = (int64_t)gs_reflect((double)i, lo, hi);
        *out = r < 0 ? 0 : r >= d ? d - 1 : r;
    }
}

enum kw_status kw__op_grid_sample(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0), *g = kw__in(c, 1);
    if (!kw__is_tensor(x) || !kw__is_tensor(g))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X and grid must be tensors");
    int r = x->rank, k = r - 2;
    if (k < 1 || k > GS_MAX_DIMS || (c->opset < 20 && k != 2))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "X of rank %d (spatial rank 1..%d, 2 before opset 20)", r,
                           GS_MAX_DIMS);
    if (g->rank != r || g->dims[0] != x->dims[0] || g->dims[r - 1] != k)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "grid must be [N, out..., %d] matching X", k);
    if (!kw__dtype_is_float(x->dtype) || !kw__dtype_is_float(g->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "X and grid must be float");
    const char *ms = kw__attr_s(c, "mode", c->opset >= 20 ? "linear" : "bilinear");
    int mode;
    if (!strcmp(ms, "nearest")) mode = GS_NEAREST;
    else if (!strcmp(ms, "bilinear") || !strcmp(ms, "linear")) mode = GS_LINEAR;
    else if (!strcmp(ms, "bicubic") || !strcmp(ms, "cubic")) mode = GS_CUBIC;
    else return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "mode '%s'", ms);
    const char *ps = kw__attr_s(c, "padding_mode", "zeros");
    int pad;
    if (!strcmp(ps, "zeros")) pad = GS_ZEROS;
    else if (!strcmp(ps, "border")) pad = GS_BORDER;
    else if (!strcmp(ps, "reflection")) pad = GS_REFLECTION;
    else return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "padding_mode '%s'", ps);
    int align = kw__attr_i(c, "align_corners", 0) != 0;

    int64_t N = x->dims[0], C = x->dims[1], ydims[KW_ONNX_MAX_RANK];
    ydims[0] = N;
    ydims[1] = C;
    int64_t npos = 1, plane = 1;
    for (int i = 0; i < k; i++) {
        ydims[2 + i] = g->dims[1 + i];
        npos *= g->dims[1 + i];
        plane *= x->dims[2 + i];
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, ydims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (kw_onnx_numel(y) == 0) return KW_STATUS_OK;
    for (int i = 0; i < k; i++)
        if (x->dims[2 + i] == 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "empty spatial dimension");

    int64_t xs[KW_ONNX_MAX_RANK];
    kw__strides(k, x->dims + 2, xs);
    for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < npos; p++) {
            struct gs_tap t[GS_MAX_DIMS];
            for (int i = 0; i < k; i++) {
                int64_t d = x->dims[2 + i];
                /* the grid's last axis lists coordinates innermost-first */
                double v = kw__get_f64(g, (n * npos + p) * k + (k - 1 - i));
                double xv = align ? (v + 1) / 2 * (double)(d - 1)
                                  : ((v + 1) * (double)d - 1) / 2;
                double lo = align ? 0 : -0.5, hi = align ? (double)(d - 1) : (double)d - 0.5;
                if (mode == GS_NEAREST) xv = nearbyint(xv);
                if (xv < lo || xv > hi) {
                    if (pad == GS_BORDER) xv = xv < 0 ? 0 : xv > (double)(d - 1) ? (double)(d - 1) : xv;
                    else if (pad == GS_REFLECTION) xv = gs_reflect(xv, lo, hi);
                }
                if (!(xv == xv)) xv = 0; /* NaN grid entries read pixel 0 */
                xv = xv < -1e9 ? -1e9 : xv > 1e9 ? 1e9 : xv;
                if (mode == GS_NEAREST) {
                    t[i].n = 1;
                    t[i].w[0] = 1;
                    gs_fix_index(pad, (int64_t)xv, d, lo, hi, &t[i].idx[0], &t[i].valid[0]);
                    continue;
                }
                double f = floor(xv), fr = xv - f;
                int64_t base = (int64_t)f;
                if (mode == GS_LINEAR) {
                    t[i].n = 2;
                    t[i].w[0] = 1 - fr;
                    t[i].w[1] = fr;
                } else {
                    t[i].n = 4;
                    base -= 1;
                    t[i].w[0] = gs_cubic(fr + 1);
                    t[i].w[1] = gs_cubic(fr);
                    t[i].w[2] = gs_cubic(1 - fr);
                    t[i].w[3] = gs_cubic(2 - fr);
                }
                for (int q = 0; q < t[i].n; q++)
                    gs_fix_index(pad, base + q, d, lo, hi, &t[i].idx[q], &t[i].valid[q]);
            }
            for (int64_t ch = 0; ch < C; ch++) {
                int64_t xbase = (n * C + ch) * plane;
                double sum = 0;
                int cnt[GS_MAX_DIMS] = {0};
                for (;;) {
                    double w = 1;
                    int64_t off = 0;
                    int ok = 1;
                    for (int i = 0; i < k; i++) {
                        w *= t[i].w[cnt[i]];
                        off += t[i].idx[cnt[i]] * xs[i];
                        ok &= t[i].valid[cnt[i]];
                    }
                    if (ok && w != 0) sum += w * kw__get_f64(x, xbase + off);
                    int i = k - 1;
                    while (i >= 0 && ++cnt[i] == t[i].n) cnt[i--] = 0;
                    if (i < 0) break;
                }
                kw__set_f64(y, (n * C + ch) * npos + p, sum);
            }
        }
    return KW_STATUS_OK;
}
