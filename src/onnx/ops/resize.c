/*
 * resize.c — Resize (opset 10..19) and Upsample (7, 9). Every resized axis
 * gets a tap table (source indices and weights per output position) built
 * from the coordinate transformation and interpolation kernel; the tables
 * are then applied separably in double precision (any numeric dtype), as a
 * direct gather (nearest, any fixed-size dtype), or by the threaded float32
 * 2-D path when only the two innermost axes change (the vision-model case).
 * Entry points: kw__op_resize, kw__op_upsample.
 */
#include <stdlib.h>
#include <string.h>

#include "onnx/ops/signal_ops.h"

enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC,
       CT_TF_CROP_AND_RESIZE, CT_TF_HALF_PIXEL_FOR_NN, CT_HALF_PIXEL_SYMMETRIC };
enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC };
enum { NR_PREFER_FLOOR, NR_PREFER_CEIL, NR_FLOOR, NR_CEIL, NR_SIMPLE };

struct rs_params {
    int mode, ctm, nearest, antialias, exclude_outside;
    double cubic_a, extrapolation;
};

/* Per output position along one axis: n taps starting at idx[o*n] with
 * weights w[o*n]; ext[o] set when the position lies outside the crop
 * window (tf_crop_and_resize) and takes the extrapolation value. */
struct rs_taps {
    int64_t in, out;
    int n;
    int identity;
    int64_t *idx;
    double *w;
    unsigned char *ext;
};

static void taps_free(struct rs_taps *t) {
    free(t->idx);
    free(t->w);
    free(t->ext);
    memset(t, 0, sizeof *t);
}

/* Source coordinate of output position o; out_f is scale * in, which is
 * what the reference uses (it differs from the integer size when the scale
 * does not divide evenly). */
static double rs_coord(int ctm, double o, double scale, int64_t in,
                       int64_t out, double roi0, double roi1) {
    double out_f = scale * (double)in;
    switch (ctm) {
    case CT_ALIGN_CORNERS:
        return out_f == 1 ? 0.0 : o * (double)(in - 1) / (out_f - 1);
    case CT_ASYMMETRIC:
        return o / scale;
    case CT_TF_CROP_AND_RESIZE: {
        double x = out_f == 1 ? (roi1 - roi0) * (double)(in - 1) / 2
                              : o * (roi1 - roi0) * (double)(in - 1) / (out_f - 1);
        return x + roi0 * (double)(in - 1);
    }
    case CT_PYTORCH_HALF_PIXEL:
        return out_f == 1 ? -0.5 : (o + 0.5) / scale - 0.5;
    case CT_TF_HALF_PIXEL_FOR_NN:
        return (o + 0.5) / scale;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / out_f, center = (double)in / 2;
        return center * (1 - adj) + (o + 0.5) / scale - 0.5;
    }
    default: /* CT_HALF_PIXEL */
        return (o + 0.5) / scale - 0.5;
    }
}

static int64_t rs_round(int rule, double x, double scale) {
    double f = floor(x), r = x - f;
    switch (rule) {
    case NR_PREFER_CEIL: return (int64_t)(r < 0.5 ? f : f + 1);
    case NR_FLOOR: return (int64_t)f;
    case NR_CEIL: return (int64_t)ceil(x);
    case NR_SIMPLE: return (int64_t)(scale < 1 ? ceil(x) : f);
    default: return (int64_t)(r <= 0.5 ? f : f + 1);
    }
}

static double rs_cubic(double a, double t) {
    t = fabs(t);
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* Builds the taps of one axis; 0 when out of memory. */
static int taps_build(const struct rs_params *p, int64_t in, int64_t out,
                      double scale, double roi0, double roi1,
                      struct rs_taps *t) {
    memset(t, 0, sizeof *t);
    t->in = in;
    t->out = out;
    if (p->mode == MODE_NEAREST) {
        t->n = 1;
    } else {
        /* kernel support in source pixels: 1 (linear) or 2 (cubic), widened
         * by 1/scale when antialiasing a downscale */
        double s = p->antialias && scale < 1 ? scale : 1.0;
        double support = p->mode == MODE_CUBIC ? 2.0 : 1.0;
        double half = ceil(support / s);
        if (half > 1e6) return 0;
        t->n = (int)(2 * half);
    }
    size_t cnt;
    if (!kw__mul_size((size_t)out, (size_t)t->n, &cnt)) return 0;
    t->idx = malloc((cnt ? cnt : 1) * sizeof *t->idx);
    t->w = malloc((cnt ? cnt : 1) * sizeof *t->w);
    t->ext = calloc(out ? (size_t)out : 1, 1);
    if (!t->idx || !t->w || !t->ext) {
        taps_free(t);
        return 0;
    }
    double s = p->antialias && scale < 1 ? scale : 1.0;
    for (int64_t o = 0; o < out; o++) {
        double x = rs_coord(p->ctm, (double)o, scale, in, out, roi0, roi1);
        int64_t *ix = t->idx + o * t->n;
        double *w = t->w + o * t->n;
        if (p->ctm == CT_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in - 1)))
            t->ext[o] = 1;
        if (p->mode == MODE_NEAREST) {
            ix[0] = clamp64(rs_round(p->nearest, x, scale), 0, in - 1);
            w[0] = 1;
            continue;
        }
        /* window of n taps around x: floor(x) - n/2 + 1 ... floor(x) + n/2 */
        int64_t first = (int64_t)floor(x) - t->n / 2 + 1;
        double sum = 0;
        for (int k = 0; k < t->n; k++) {
            double d = ((double)(first + k) - x) * s;
            double wk = p->mode == MODE_CUBIC ? rs_cubic(p->cubic_a, d)
                                              : KW_MAX(0.0, 1 - fabs(d));
            if (p->exclude_outside && (first + k < 0 || first + k >= in))
                wk = 0;
            w[k] = wk;
            ix[k] = clamp64(first + k, 0, in - 1);
            sum += wk;
        }
        if ((p->antialias || p->exclude_outside) && sum != 0)
            for (int k = 0; k < t->n; k++) w[k] /= sum;
    }
    return 1;
}

/* ---- generic separable path (double) ---- */

struct sep_job {
    const double *src;
    double *dst;
    const struct rs_taps *t;
    int64_t inner;
    double extrapolation;
};

static void sep_run(void *ctx, int64_t i0, int64_t i1) {
    const struct sep_job *j = ctx;
    const struct rs_taps *t = j->t;
    for (int64_t ob = i0; ob < i1; ob++) {
        const double *s = j->src + ob * t->in * j->inner;
        double *d = j->dst + ob * t->out * j->inner;
        for (int64_t o = 0; o < t->out; o++) {
            double *dr = d + o * j->inner;
            if (t->ext[o]) {
                for (int64_t k = 0; k < j->inner; k++) dr[k] = j->extrapolation;
                continue;
            }
            for (int64_t k = 0; k < j->inner; k++) dr[k] = 0;
            for (int q = 0; q < t->n; q++) {
                double w = t->w[o * t->n + q];
                if (w == 0) continue;
                const double *sr = s + t->idx[o * t->n + q] * j->inner;
                for (int64_t k = 0; k < j->inner; k++) dr[k] += w * sr[k];
            }
        }
    }
}

static void store_rounded(struct kw_onnx_value *y, int64_t i, double v) {
    int t = y->dtype;
    if (kw__dtype_is_float(t)) {
        kw__set_f64(y, i, v);
        return;
    }
    if (t == KW_ONNX_BOOL) {
        kw__set_i64(y, i, v != 0);
        return;
    }
    /* integers: round half to even, then saturate (as the reference) */
    double r = nearbyint(v), lo, hi;
    switch (t) {
    case KW_ONNX_UINT8: lo = 0; hi = 255; break;
    case KW_ONNX_INT8: lo = -128; hi = 127; break;
    case KW_ONNX_UINT16: lo = 0; hi = 65535; break;
    case KW_ONNX_INT16: lo = -32768; hi = 32767; break;
    case KW_ONNX_UINT32: lo = 0; hi = 4294967295.0; break;
    case KW_ONNX_INT32: lo = -2147483648.0; hi = 2147483647.0; break;
    case KW_ONNX_UINT64: lo = 0; hi = 18446744073709549568.0; break;
    default: lo = -9223372036854775808.0; hi = 9223372036854774784.0; break;
    }
    r = r != r ? 0 : r < lo ? lo : r > hi ? hi : r;
    if (t == KW_ONNX_UINT64) kw__set_i64(y, i, (int64_t)(uint64_t)r);
    else kw__set_i64(y, i, (int64_t)r);
}

static enum kw_status resize_generic(struct kw__op_ctx *c,
                                     const struct kw_onnx_value *x,
                                     struct kw_onnx_value *y,
                                     const struct rs_taps *taps,
                                     double extrapolation) {
    int r = x->rank;
    int64_t cur[KW_ONNX_MAX_RANK];
    memcpy(cur, x->dims, sizeof cur);
    int64_t n = kw_onnx_numel(x);
    double *a = malloc((size_t)(n ? n : 1) * sizeof *a);
    if (!a) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) a[i] = kw__get_f64(x, i);
    for (int ax = 0; ax < r; ax++) {
        if (taps[ax].identity) continue;
        int64_t outer = 1, inner = 1;
        for (int k = 0; k < ax; k++) outer *= cur[k];
        for (int k = ax + 1; k < r; k++) inner *= cur[k];
        size_t m;
        if (!kw__mul_size((size_t)(outer * inner), (size_t)taps[ax].out, &m)) {
            free(a);
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "output too large");
        }
        double *b = malloc((m ? m : 1) * sizeof *b);
        if (!b) {
            free(a);
            return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        }
        struct sep_job j = {a, b, &taps[ax], inner, extrapolation};
        kw__parallel_for(c, outer, 1, sep_run, &j);
        free(a);
        a = b;
        cur[ax] = taps[ax].out;
    }
    int64_t m = kw_onnx_numel(y);
    for (int64_t i = 0; i < m; i++) store_rounded(y, i, a[i]);
    free(a);
    return KW_STATUS_OK;
}

/* ---- nearest: plain gather of elements (any fixed-size dtype) ---- */

static enum kw_status resize_gather(struct kw__op_ctx *c,
                                    const struct kw_onnx_value *x,
                                    struct kw_onnx_value *y,
                                    const struct rs_taps *taps,
                                    double extrapolation) {
    int r = x->rank;
    size_t es = kw_onnx_dtype_size(x->dtype);
    int64_t xs[KW_ONNX_MAX_RANK], pos[KW_ONNX_MAX_RANK] = {0};
    kw__strides(r, x->dims, xs);
    int64_t m = kw_onnx_numel(y);
    const char *src = x->data;
    char *dst = y->data;
    for (int64_t i = 0; i < m; i++) {
        int64_t off = 0;
        int ext = 0;
        for (int k = 0; k < r; k++) {
            off += taps[k].idx[pos[k]] * xs[k];
            ext |= taps[k].ext[pos[k]];
        }
        if (ext) store_rounded(y, i, extrapolation);
        else if (x->dtype == KW_ONNX_STRING) {
            const char *s = ((char *const *)x->data)[off];
            size_t l = strlen(s);
            char *d = malloc(l + 1);
            if (!d) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
            memcpy(d, s, l + 1);
            ((char **)y->data)[i] = d;
        } else
            memcpy(dst + i * es, src + off * es, es);
        for (int k = r - 1; k >= 0; k--) {
            if (++pos[k] < y->dims[k]) break;
            pos[k] = 0;
        }
    }
    return KW_STATUS_OK;
}

/* ---- float32, only the two innermost axes resized ---- */

struct f2_job {
    const float *src;
    float *dst;
    const struct rs_taps *ty, *tx;
    float ext_value;
    int failed; /* set (atomically) when a worker ran out of memory */
};

static void f2_run(void *ctx, int64_t r0, int64_t r1) {
    struct f2_job *j = ctx;
    const struct rs_taps *ty = j->ty, *tx = j->tx;
    int64_t ih = ty->in, iw = tx->in, oh = ty->out, ow = tx->out;
    /* one vertically blended source row, then the horizontal taps; the
     * scratch row is per call, so threads share nothing */
    float *row = malloc((size_t)iw * sizeof *row);
    float *wx = malloc((size_t)(ow * tx->n) * sizeof *wx);
    if (!row || !wx) {
        free(row);
        free(wx);
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t k = 0; k < ow * tx->n; k++) wx[k] = (float)tx->w[k];
    /* 32-bit source columns: a narrower gather */
    int32_t *xi32 = iw <= INT32_MAX ? malloc((size_t)(ow * tx->n) * sizeof *xi32)
                                    : NULL;
    for (int64_t k = 0; xi32 && k < ow * tx->n; k++) xi32[k] = (int32_t)tx->idx[k];
    for (int64_t r = r0; r < r1; r++) {
        int64_t plane = r / oh, oy = r % oh;
        const float *s = j->src + plane * ih * iw;
        float *d = j->dst + r * ow;
        if (ty->ext[oy]) {
            for (int64_t ox = 0; ox < ow; ox++) d[ox] = j->ext_value;
            continue;
        }
        const float *sr;
        if (ty->n == 1 && r > r0 && oy > 0 && ty->idx[oy - 1] == ty->idx[oy] &&
            !ty->ext[oy - 1]) {
            /* nearest upscale: the same source row as the row above */
            memcpy(d, d - ow, (size_t)ow * sizeof *d);
            continue;
        }
        if (ty->n == 1) {
            sr = s + ty->idx[oy] * iw;
        } else {
            for (int64_t x = 0; x < iw; x++) row[x] = 0;
            for (int a = 0; a < ty->n; a++) {
                float wy = (float)ty->w[oy * ty->n + a];
                if (wy == 0) continue;
                const float *src = s + ty->idx[oy * ty->n + a] * iw;
                for (int64_t x = 0; x < iw; x++) row[x] += wy * src[x];
            }
            sr = row;
        }
        if (tx->n == 1 && xi32) {
            for (int64_t ox = 0; ox < ow; ox++) d[ox] = sr[xi32[ox]];
        } else if (tx->n == 1) {
            for (int64_t ox = 0; ox < ow; ox++) d[ox] = sr[tx->idx[ox]];
        } else if (tx->n == 2 && xi32) {
            for (int64_t ox = 0; ox < ow; ox++)
                d[ox] = wx[ox * 2] * sr[xi32[ox * 2]] +
                        wx[ox * 2 + 1] * sr[xi32[ox * 2 + 1]];
        } else if (tx->n == 2) {
            for (int64_t ox = 0; ox < ow; ox++) {
                const int64_t *xi = tx->idx + ox * 2;
                d[ox] = wx[ox * 2] * sr[xi[0]] + wx[ox * 2 + 1] * sr[xi[1]];
            }
        } else {
            for (int64_t ox = 0; ox < ow; ox++) {
                const int64_t *xi = tx->idx + ox * tx->n;
                const float *w = wx + ox * tx->n;
                float sum = 0;
                for (int b = 0; b < tx->n; b++) sum += w[b] * sr[xi[b]];
                d[ox] = sum;
            }
        }
        for (int64_t ox = 0; ox < ow; ox++)
            if (tx->ext[ox]) d[ox] = j->ext_value;
    }
    free(row);
    free(wx);
    free(xi32);
}

/* ---- parameters ---- */

static int parse_ctm(const char *s, int *out) {
    static const char *const names[] = {
        "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
        "tf_crop_and_resize", "tf_half_pixel_for_nn", "half_pixel_symmetric"};
    for (int i = 0; i < 7; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 1;
        }
    return 0;
}

static int parse_nearest(const char *s, int *out) {
    static const char *const names[] = {"round_prefer_floor",
                                        "round_prefer_ceil", "floor", "ceil"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 1;
        }
    return 0;
}

/* Shared body. scales_v/sizes_v/roi_v may be NULL; attr_scales is
 * Upsample-7's attribute. legacy: opset < 11 semantics. */
static enum kw_status resize_run(struct kw__op_ctx *c, int legacy,
                                 const struct kw_onnx_value *x,
                                 const struct kw_onnx_value *roi_v,
                                 const struct kw_onnx_value *scales_v,
                                 const struct kw_onnx_value *sizes_v,
                                 const float *attr_scales, size_t n_attr) {
    if (!kw__is_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X must be a tensor");
    int r = x->rank;
    if (r < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X must have rank >= 1");
    struct rs_params p = {0};
    const char *mode = kw__attr_s(c, "mode", "nearest");
    if (!strcmp(mode, "nearest")) p.mode = MODE_NEAREST;
    else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) p.mode = MODE_LINEAR;
    else if (!strcmp(mode, "cubic") || !strcmp(mode, "bicubic")) p.mode = MODE_CUBIC;
    else return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "mode '%s'", mode);
    if (legacy) {
        p.ctm = CT_ASYMMETRIC;
        p.nearest = NR_SIMPLE;
    } else {
        const char *ct = kw__attr_s(c, "coordinate_transformation_mode", "half_pixel");
        if (!parse_ctm(ct, &p.ctm))
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                               "coordinate_transformation_mode '%s'", ct);
        const char *nm = kw__attr_s(c, "nearest_mode", "round_prefer_floor");
        if (!parse_nearest(nm, &p.nearest))
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "nearest_mode '%s'", nm);
    }
    p.cubic_a = kw__attr_f(c, "cubic_coeff_a", -0.75f);
    p.exclude_outside = kw__attr_i(c, "exclude_outside", 0) != 0;
    p.extrapolation = kw__attr_f(c, "extrapolation_value", 0.0f);
    p.antialias = kw__attr_i(c, "antialias", 0) != 0 && p.mode != MODE_NEAREST;
    const char *policy = kw__attr_s(c, "keep_aspect_ratio_policy", "stretch");
    int pol = !strcmp(policy, "stretch") ? 0 : !strcmp(policy, "not_larger") ? 1
            : !strcmp(policy, "not_smaller") ? 2 : -1;
    if (pol < 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "keep_aspect_ratio_policy '%s'", policy);

    /* axes: which dimensions the scales/sizes/roi entries refer to */
    int axes[KW_ONNX_MAX_RANK], na = r;
    size_t n_axes_attr;
    const int64_t *axes_attr = kw__attr_ints(c, "axes", &n_axes_attr);
    if (axes_attr) {
        if (n_axes_attr > (size_t)r)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "too many axes");
        na = (int)n_axes_attr;
        for (int i = 0; i < na; i++) {
            if (!kw__axis(axes_attr[i], r, &axes[i]))
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis %lld out of range",
                                   (long long)axes_attr[i]);
            for (int k = 0; k < i; k++)
                if (axes[k] == axes[i])
                    return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "repeated axis");
        }
    } else {
        for (int i = 0; i < r; i++) axes[i] = i;
    }

    double scale[KW_ONNX_MAX_RANK], roi0[KW_ONNX_MAX_RANK], roi1[KW_ONNX_MAX_RANK];
    int64_t out[KW_ONNX_MAX_RANK];
    for (int i = 0; i < r; i++) {
        scale[i] = 1;
        roi0[i] = 0;
        roi1[i] = 1;
        out[i] = x->dims[i];
    }
    if (p.ctm == CT_TF_CROP_AND_RESIZE && kw__is_tensor(roi_v) &&
        kw_onnx_numel(roi_v) > 0) {
        if (!kw__dtype_is_float(roi_v->dtype) || kw_onnx_numel(roi_v) != 2 * na)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "roi must hold 2 x %d floats", na);
        for (int i = 0; i < na; i++) {
            roi0[axes[i]] = kw__get_f64(roi_v, i);
            roi1[axes[i]] = kw__get_f64(roi_v, na + i);
        }
    }
    int use_scales = attr_scales != NULL ||
                     (kw__is_tensor(scales_v) && kw_onnx_numel(scales_v) > 0);
    if (use_scales) {
        int64_t ns = attr_scales ? (int64_t)n_attr : kw_onnx_numel(scales_v);
        if (ns != na || (!attr_scales && !kw__dtype_is_float(scales_v->dtype)))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "scales must hold %d floats", na);
        for (int i = 0; i < na; i++) {
            double s = attr_scales ? attr_scales[i] : kw__get_f64(scales_v, i);
            int a = axes[i];
            /* scales are float32 in the model; keep that precision */
            s = (float)s;
            if (!(s > 0) || s > 1e9)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "scale %g not positive", s);
            scale[a] = s;
            double o = floor((double)x->dims[a] * (roi1[a] - roi0[a]) * s);
            if (!(o >= 0) || o > 4e18)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "output size out of range");
            out[a] = (int64_t)o;
        }
    } else if (kw__is_tensor(sizes_v) && kw_onnx_numel(sizes_v) > 0) {
        if (kw_onnx_numel(sizes_v) != na || sizes_v->dtype != KW_ONNX_INT64)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "sizes must hold %d int64", na);
        for (int i = 0; i < na; i++) {
            int64_t sz = ((const int64_t *)sizes_v->data)[i];
            int a = axes[i];
            if (sz < 0 || (sz > 0 && x->dims[a] == 0))
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "bad size %lld", (long long)sz);
            out[a] = sz;
            scale[a] = x->dims[a] ? (double)sz / (double)x->dims[a] : 1;
        }
        if (pol) {
            double s = pol == 1 ? INFINITY : 0;
            for (int i = 0; i < na; i++)
                s = pol == 1 ? KW_MIN(s, scale[axes[i]]) : KW_MAX(s, scale[axes[i]]);
            for (int i = 0; i < na; i++) {
                int a = axes[i];
                scale[a] = s;
                out[a] = (int64_t)(s * (double)x->dims[a] + 0.5);
            }
        }
    } else {
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "neither scales nor sizes given");
    }

    int is_float = kw__dtype_is_float(x->dtype);
    if (p.mode != MODE_NEAREST && !is_float && !kw__dtype_is_int(x->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "%s mode on %s",
                           mode, kw_onnx_dtype_name(x->dtype));
    if (x->dtype == KW_ONNX_STRING && p.ctm == CT_TF_CROP_AND_RESIZE)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "tf_crop_and_resize on strings");
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, out);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (kw_onnx_numel(y) == 0) return KW_STATUS_OK;

    struct rs_taps taps[KW_ONNX_MAX_RANK];
    memset(taps, 0, sizeof taps);
    enum kw_status st = KW_STATUS_OK;
    int changed = 0, inner2d = 1;
    for (int a = 0; a < r; a++) {
        if (!taps_build(&p, x->dims[a], out[a], scale[a], roi0[a], roi1[a], &taps[a])) {
            st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
            goto done;
        }
        taps[a].identity = out[a] == x->dims[a] && scale[a] == 1 &&
                           p.ctm != CT_TF_CROP_AND_RESIZE;
        if (!taps[a].identity) {
            changed = 1;
            if (a < r - 2) inner2d = 0;
        }
    }
    if (!changed) {
        /* nothing changes: copy through the gather path */
        st = resize_gather(c, x, y, taps, p.extrapolation);
    } else if (x->dtype == KW_ONNX_FLOAT && inner2d && r >= 2 &&
               !getenv("KW_FORCE_REF")) {
        int64_t planes = 1;
        for (int k = 0; k < r - 2; k++) planes *= x->dims[k];
        struct f2_job j = {x->data, y->data, &taps[r - 2], &taps[r - 1],
                           (float)p.extrapolation, 0};
        kw__parallel_for(c, planes * out[r - 2], 4, f2_run, &j);
        if (j.failed) st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    } else if (p.mode == MODE_NEAREST) {
        st = resize_gather(c, x, y, taps, p.extrapolation);
    } else {
        st = resize_generic(c, x, y, taps, p.extrapolation);
    }
done:
    for (int a = 0; a < r; a++) taps_free(&taps[a]);
    return st;
}

enum kw_status kw__op_resize(struct kw__op_ctx *c) {
    if (c->opset < 11)
        return resize_run(c, 1, kw__in(c, 0), NULL, kw__in(c, 1), NULL, NULL, 0);
    return resize_run(c, 0, kw__in(c, 0), kw__in(c, 1), kw__in(c, 2),
                      kw__in(c, 3), NULL, 0);
}

enum kw_status kw__op_upsample(struct kw__op_ctx *c) {
    if (c->opset < 9) {
        size_t n;
        const float *s = kw__attr_floats(c, "scales", &n);
        if (!s) return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "scales attribute missing");
        return resize_run(c, 1, kw__in(c, 0), NULL, NULL, NULL, s, n);
    }
    return resize_run(c, 1, kw__in(c, 0), NULL, kw__in(c, 1), NULL, NULL, 0);
}
