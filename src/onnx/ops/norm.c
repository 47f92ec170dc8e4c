/*
 * norm.c — LayerNormalization, BatchNormalization (inference, and the
 * opset-14 training mode), InstanceNormalization, LRN and
 * MeanVarianceNormalization (entries in reduce.c's table). float32 runs on
 * the SIMD row kernels (rowops.h), other float dtypes in double.
 * Entry points: kw__op_layernorm, kw__op_batchnorm, kw__op_instancenorm,
 * kw__op_lrn, kw__op_mvn.
 */
#include "onnx/ops/rowops.h"

static int float_tensor(const struct kw_onnx_value *v) {
    return kw__is_tensor(v) && kw__dtype_is_float(v->dtype);
}

/* ---- LayerNormalization ---- */

struct lnjob {
    const struct kw_onnx_value *x;
    struct kw_onnx_value *y, *mean, *inv;
    int64_t D;            /* values per row */
    const double *s, *b;  /* scale, bias expanded to D (b may be NULL) */
    const float *sf, *bf; /* the same in float */
    float eps;
    const struct kw__rowops *ops;
};

static void ln_rows(void *ctx, int64_t r0, int64_t r1) {
    const struct lnjob *j = ctx;
    const int64_t D = j->D;
    for (int64_t r = r0; r < r1; r++) {
        double m, inv;
        if (j->ops) {
            const float *x = (const float *)j->x->data + r * D;
            float mf, vf;
            j->ops->mean_var(x, D, &mf, &vf);
            const float invf = 1.0f / sqrtf(vf + j->eps);
            j->ops->norm((float *)j->y->data + r * D, x, mf, invf, j->sf, j->bf, D);
            m = mf, inv = invf;
        } else {
            double s = 0, q = 0;
            for (int64_t i = 0; i < D; i++) s += kw__get_f64(j->x, r * D + i);
            m = s / (double)D;
            for (int64_t i = 0; i < D; i++) {
                const double d = kw__get_f64(j->x, r * D + i) - m;
                q += d * d;
            }
            inv = 1.0 / sqrt(q / (double)D + j->eps);
            for (int64_t i = 0; i < D; i++)
                kw__set_f64(j->y, r * D + i,
                            (kw__get_f64(j->x, r * D + i) - m) * inv * j->s[i] +
                                (j->b ? j->b[i] : 0.0));
        }
        if (j->mean) kw__set_f64(j->mean, r, m);
        if (j->inv) kw__set_f64(j->inv, r, inv);
    }
}

/* p (D doubles and floats) = t broadcast to dims[axis:] of x; t may not
 * vary along the axes before axis. */
static enum kw_status expand_param(struct kw__op_ctx *c, const char *what,
                                   const struct kw_onnx_value *t,
                                   const struct kw_onnx_value *x, int axis,
                                   int64_t D, double *p, float *pf) {
    const int r = x->rank;
    if (!float_tensor(t) || t->rank > r)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "%s must be a float tensor of rank <= %d", what, r);
    const int rn = r - axis;
    int64_t st[KW_ONNX_MAX_RANK] = {0}, own[KW_ONNX_MAX_RANK];
    kw__strides(t->rank, t->dims, own);
    for (int k = 0; k < t->rank; k++) {
        const int i = r - t->rank + k; /* the axis of x it lines up with */
        const int64_t d = t->dims[k];
        if (i < axis ? d != 1 : (d != 1 && d != x->dims[i]))
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                               "%s shape does not broadcast to the normalized "
                               "dimensions", what);
        if (i >= axis && d != 1) st[i - axis] = own[k];
    }
    int64_t idx[KW_ONNX_MAX_RANK] = {0}, off = 0;
    for (int64_t e = 0; e < D; e++) {
        p[e] = kw__get_f64(t, off);
        pf[e] = (float)p[e];
        for (int a = rn - 1; a >= 0; a--) {
            off += st[a];
            if (++idx[a] < x->dims[axis + a]) break;
            off -= st[a] * x->dims[axis + a];
            idx[a] = 0;
        }
    }
    return KW_STATUS_OK;
}

enum kw_status kw__op_layernorm(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0), *sc = kw__in(c, 1),
                               *bi = kw__in(c, 2);
    if (!float_tensor(x) || !sc)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "needs a float input X and Scale");
    const int r = x->rank;
    int axis;
    const int64_t a = kw__attr_i(c, "axis", -1);
    if (!kw__axis(a, r, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "axis %lld out of range for rank %d", (long long)a, r);
    struct lnjob j = {0};
    j.x = x;
    j.eps = kw__attr_f(c, "epsilon", 1e-5f);
    int64_t rows = 1, sd[KW_ONNX_MAX_RANK];
    j.D = 1;
    for (int i = 0; i < r; i++) {
        if (i < axis) rows *= x->dims[i], sd[i] = x->dims[i];
        else j.D *= x->dims[i], sd[i] = 1;
    }
    j.y = kw__out_tensor(c, 0, x->dtype, r, x->dims);
    if (!j.y) return KW_STATUS_ERR_NOMEM;
    if (kw__out_wanted(c, 1) &&
        !(j.mean = kw__out_tensor(c, 1, KW_ONNX_FLOAT, r, sd)))
        return KW_STATUS_ERR_NOMEM;
    if (kw__out_wanted(c, 2) &&
        !(j.inv = kw__out_tensor(c, 2, KW_ONNX_FLOAT, r, sd)))
        return KW_STATUS_ERR_NOMEM;
    if (rows == 0 || j.D == 0) return KW_STATUS_OK;
    const size_t n = (size_t)j.D;
    double *s = malloc(n * sizeof(double)), *b = bi ? malloc(n * sizeof(double)) : NULL;
    float *sf = malloc(n * sizeof(float)), *bf = bi ? malloc(n * sizeof(float)) : NULL;
    enum kw_status st = KW_STATUS_OK;
    if (!s || !sf || (bi && (!b || !bf)))
        st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    if (st == KW_STATUS_OK) st = expand_param(c, "Scale", sc, x, axis, j.D, s, sf);
    if (st == KW_STATUS_OK && bi) st = expand_param(c, "B", bi, x, axis, j.D, b, bf);
    if (st == KW_STATUS_OK) {
        j.s = s, j.b = b, j.sf = sf, j.bf = bf;
        if (x->dtype == KW_ONNX_FLOAT) j.ops = kw__rowops();
        kw__parallel_for(c, rows, KW_MAX(1, 8192 / j.D), ln_rows, &j);
    }
    free(s), free(b), free(sf), free(bf);
    return st;
}

/* ---- per-channel normalizations over (N, C, spatial...) planes ---- */

struct planejob {
    const struct kw_onnx_value *x;
    struct kw_onnx_value *y;
    int64_t C, S;          /* channels, values per plane */
    const double *a, *b, *m; /* y = (x - m[c]) * a[c] + b[c] (batchnorm) */
    const double *scale, *bias; /* instancenorm: per-channel affine */
    float eps;
    int instance;
    const struct kw__rowops *ops;
};

static void plane_range(void *ctx, int64_t p0, int64_t p1) {
    const struct planejob *j = ctx;
    const int64_t S = j->S;
    for (int64_t p = p0; p < p1; p++) {
        const int64_t ch = p % j->C, base = p * S;
        double m, a, b;
        if (j->instance) {
            double mean, var;
            if (j->ops) {
                float mf, vf;
                j->ops->mean_var((const float *)j->x->data + base, S, &mf, &vf);
                mean = mf, var = vf;
            } else {
                double s = 0, q = 0;
                for (int64_t i = 0; i < S; i++) s += kw__get_f64(j->x, base + i);
                mean = s / (double)S;
                for (int64_t i = 0; i < S; i++) {
                    const double d = kw__get_f64(j->x, base + i) - mean;
                    q += d * d;
                }
                var = q / (double)S;
            }
            m = mean;
            a = j->scale[ch] / sqrt(var + j->eps);
            b = j->bias[ch];
        } else {
            m = j->m[ch], a = j->a[ch], b = j->b[ch];
        }
        if (j->ops) {
            j->ops->affine((float *)j->y->data + base,
                           (const float *)j->x->data + base, (float)m,
                           (float)a, (float)b, S);
        } else {
            for (int64_t i = 0; i < S; i++)
                kw__set_f64(j->y, base + i,
                            (kw__get_f64(j->x, base + i) - m) * a + b);
        }
    }
}

/* Reads a per-channel parameter (C values) into p. */
static enum kw_status channel_param(struct kw__op_ctx *c, int k,
                                    const char *what, int64_t C, double *p) {
    const struct kw_onnx_value *t = kw__in(c, k);
    if (!float_tensor(t) || kw_onnx_numel(t) != C || t->rank != 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "%s must be a float tensor of shape [%lld]", what,
                           (long long)C);
    for (int64_t i = 0; i < C; i++) p[i] = kw__get_f64(t, i);
    return KW_STATUS_OK;
}

/* Checks X is (N, C, ...) and sizes the planes. */
static enum kw_status planes_of(struct kw__op_ctx *c,
                                const struct kw_onnx_value *x,
                                struct planejob *j, int64_t *n_planes) {
    if (!float_tensor(x) || x->rank < 2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "X must be a float tensor (N, C, ...)");
    j->x = x;
    j->C = x->dims[1];
    j->S = 1;
    for (int i = 2; i < x->rank; i++) j->S *= x->dims[i];
    *n_planes = x->dims[0] * j->C;
    return KW_STATUS_OK;
}

/* Reads the first n of scale, B, mean, var (inputs 1..n) into buf, C values
 * each, then makes Y. */
static enum kw_status params_and_out(struct kw__op_ctx *c,
                                     const struct kw_onnx_value *x,
                                     struct planejob *j, int n, double *buf) {
    static const char *const names[] = {"scale", "B", "mean", "var"};
    enum kw_status st;
    for (int k = 0; k < n; k++)
        if ((st = channel_param(c, k + 1, names[k], j->C, buf + k * j->C)) !=
            KW_STATUS_OK)
            return st;
    j->y = kw__out_tensor(c, 0, x->dtype, x->rank, x->dims);
    return j->y ? KW_STATUS_OK : KW_STATUS_ERR_NOMEM;
}

/* Normalizes every plane, float32 on the row kernels. */
static void run_planes(struct kw__op_ctx *c, struct planejob *j,
                       int64_t n_planes) {
    if (j->x->dtype == KW_ONNX_FLOAT) j->ops = kw__rowops();
    kw__parallel_for(c, n_planes, KW_MAX(1, 16384 / KW_MAX(j->S, 1)),
                     plane_range, j);
}

enum kw_status kw__op_batchnorm(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    struct planejob j = {0};
    int64_t n_planes = 0;
    enum kw_status st = planes_of(c, x, &j, &n_planes);
    if (st != KW_STATUS_OK) return st;
    if (c->opset < 9 && kw__attr_i(c, "spatial", 1) == 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "spatial=0");
    const int training = c->opset >= 14 && kw__attr_i(c, "training_mode", 0);
    if (!training)
        for (int k = 1; k < c->n_out; k++)
            if (kw__out_wanted(c, k))
                return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                                   "training outputs outside training_mode");
    const double eps = kw__attr_f(c, "epsilon", 1e-5f);
    const double mom = kw__attr_f(c, "momentum", 0.9f);
    const int64_t C = j.C;
    double *buf = calloc((size_t)(C ? C : 1), 6 * sizeof(double));
    if (!buf) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    double *sc = buf, *bi = buf + C, *mean = buf + 2 * C, *var = buf + 3 * C;
    double *a = buf + 4 * C, *b = buf + 5 * C;
    /* sc, bi, mean, var lie in this order at the start of buf */
    if ((st = params_and_out(c, x, &j, 4, buf)) != KW_STATUS_OK) goto done;
    /* training: normalize with this batch's statistics, report the running
     * ones updated with them */
    double *bm = a, *bv = b; /* batch mean/var, then a/b reuse the space */
    if (training) {
        const int64_t N = x->dims[0], S = j.S;
        for (int64_t ch = 0; ch < C; ch++) {
            double s = 0, q = 0;
            const double cnt = (double)N * (double)S;
            for (int64_t n = 0; n < N; n++)
                for (int64_t i = 0; i < S; i++)
                    s += kw__get_f64(x, (n * C + ch) * S + i);
            const double m = cnt > 0 ? s / cnt : 0;
            for (int64_t n = 0; n < N; n++)
                for (int64_t i = 0; i < S; i++) {
                    const double d = kw__get_f64(x, (n * C + ch) * S + i) - m;
                    q += d * d;
                }
            bm[ch] = m;
            bv[ch] = cnt > 0 ? q / cnt : 0;
        }
        const int64_t cd[1] = {C};
        for (int k = 1; k <= 2; k++) {
            if (!kw__out_wanted(c, k)) continue;
            const struct kw_onnx_value *run = kw__in(c, k + 2);
            struct kw_onnx_value *o = kw__out_tensor(c, k, run->dtype, 1, cd);
            if (!o) {
                st = KW_STATUS_ERR_NOMEM;
                goto done;
            }
            for (int64_t ch = 0; ch < C; ch++)
                kw__set_f64(o, ch, (k == 1 ? mean[ch] : var[ch]) * mom +
                                       (k == 1 ? bm[ch] : bv[ch]) * (1 - mom));
        }
        for (int64_t ch = 0; ch < C; ch++) mean[ch] = bm[ch], var[ch] = bv[ch];
    }
    for (int64_t ch = 0; ch < C; ch++) {
        a[ch] = sc[ch] / sqrt(var[ch] + eps);
        b[ch] = bi[ch];
    }
    j.m = mean, j.a = a, j.b = b;
    run_planes(c, &j, n_planes);
done:
    free(buf);
    return st;
}

enum kw_status kw__op_instancenorm(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    struct planejob j = {0};
    int64_t n_planes = 0;
    enum kw_status st = planes_of(c, x, &j, &n_planes);
    if (st != KW_STATUS_OK) return st;
    double *buf = calloc((size_t)(j.C ? j.C : 1), 2 * sizeof(double));
    if (!buf) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    if ((st = params_and_out(c, x, &j, 2, buf)) != KW_STATUS_OK) goto done;
    if (j.S == 0) goto done;
    j.instance = 1;
    j.scale = buf, j.bias = buf + j.C;
    j.eps = kw__attr_f(c, "epsilon", 1e-5f);
    run_planes(c, &j, n_planes);
done:
    free(buf);
    return st;
}

/* ---- LRN: each value over the sum of squares of nearby channels ---- */

enum kw_status kw__op_lrn(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    struct planejob j = {0};
    int64_t n_planes = 0;
    enum kw_status st = planes_of(c, x, &j, &n_planes);
    if (st != KW_STATUS_OK) return st;
    const int64_t size = kw__attr_i(c, "size", 0);
    if (size < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "size must be >= 1");
    const double alpha = kw__attr_f(c, "alpha", 1e-4f);
    const double beta = kw__attr_f(c, "beta", 0.75f);
    const double bias = kw__attr_f(c, "bias", 1.0f);
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, x->rank, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    const int64_t C = j.C, S = j.S, lo = (size - 1) / 2, hi = size / 2;
    for (int64_t p = 0; p < n_planes; p++) {
        const int64_t n = p / C, ch = p % C;
        const int64_t c0 = KW_MAX(0, ch - lo), c1 = KW_MIN(C - 1, ch + hi);
        for (int64_t i = 0; i < S; i++) {
            double q = 0;
            for (int64_t k = c0; k <= c1; k++) {
                const double v = kw__get_f64(x, (n * C + k) * S + i);
                q += v * v;
            }
            kw__set_f64(y, p * S + i, kw__get_f64(x, p * S + i) /
                                          pow(bias + alpha / (double)size * q, beta));
        }
    }
    return KW_STATUS_OK;
}

/* ---- MeanVarianceNormalization: (x - mean) / (std + 1e-9) over axes ---- */

enum kw_status kw__op_mvn(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!float_tensor(x))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X must be a float tensor");
    const int r = x->rank;
    static const int64_t def_axes[3] = {0, 2, 3};
    size_t na;
    const int64_t *axes = kw__attr_ints(c, "axes", &na);
    if (!axes) axes = def_axes, na = 3;
    int mask[KW_ONNX_MAX_RANK] = {0};
    for (size_t i = 0; i < na; i++) {
        int ax;
        if (!kw__axis(axes[i], r, &ax))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "axis %lld out of range for rank %d",
                               (long long)axes[i], r);
        mask[ax] = 1;
    }
    /* group index of each element: its index with the reduced axes at 0 */
    int64_t gs[KW_ONNX_MAX_RANK], g = 1;
    for (int i = r - 1; i >= 0; i--) {
        gs[i] = mask[i] ? 0 : g;
        if (!mask[i]) g *= x->dims[i];
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    const int64_t n = kw_onnx_numel(x);
    if (n == 0) return KW_STATUS_OK;
    double *acc = calloc((size_t)g, 3 * sizeof(double));
    if (!acc) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    double *sum = acc, *sq = acc + g, *cnt = acc + 2 * g;
    for (int pass = 0; pass < 2; pass++) {
        int64_t idx[KW_ONNX_MAX_RANK] = {0}, gi = 0;
        for (int64_t e = 0; e < n; e++) {
            const double v = kw__get_f64(x, e);
            if (pass == 0) {
                sum[gi] += v, sq[gi] += v * v, cnt[gi] += 1;
            } else {
                const double m = sum[gi] / cnt[gi];
                const double var = sq[gi] / cnt[gi] - m * m;
                kw__set_f64(y, e, (v - m) / (sqrt(var > 0 ? var : 0) + 1e-9));
            }
            for (int a = r - 1; a >= 0; a--) {
                gi += gs[a];
                if (++idx[a] < x->dims[a]) break;
                gi -= gs[a] * x->dims[a];
                idx[a] = 0;
            }
        }
    }
    free(acc);
    return KW_STATUS_OK;
}
