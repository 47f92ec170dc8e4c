/*
 * pool.c — MaxPool (indices output, storage_order, dilations, ceil_mode),
 * AveragePool (count_include_pad), LpPool, their Global forms, and
 * MaxUnpool. Any spatial rank; planes (n, c) are spread over threads and
 * read through a double copy, so every numeric dtype shares one loop;
 * float32 2-D max/average and global average pooling take the SIMD
 * kernels of nn_kern.h, 3x3 stride-2 max with AVX-512 its own
 * (pool_max_avx512.c), stride-1 max over big windows a separable pass
 * (KW_FORCE_REF=1: the reference loops).
 */
#include "onnx/exec.h"
#include "onnx/ops/nn_internal.h"
#include "onnx/ops/pool_max.h"

enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP };

struct pool_job {
    struct kw__nn_geom g;
    enum pool_kind kind;
    const struct kw_onnx_value *x;
    struct kw_onnx_value *y, *ind;
    int count_pad, col_major, global;
    const struct kw__nn_kern *kern; /* NULL: the reference loops */
    double p;
    int64_t insz, outsz;
    int failed;
};

static void load_plane(const struct kw_onnx_value *x, int64_t off, int64_t n,
                       double *dst) {
    if (x->dtype == KW_ONNX_FLOAT) {
        const float *s = (const float *)x->data + off;
        for (int64_t i = 0; i < n; i++) dst[i] = s[i];
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = kw__get_f64(x, off + i);
    }
}

static void store(struct kw_onnx_value *y, int64_t i, double v) {
    if (y->dtype == KW_ONNX_FLOAT)
        ((float *)y->data)[i] = (float)v;
    else
        kw__set_f64(y, i, v);
}

/* The common image case (float32, 2-D, max or average) without the
 * generic index arithmetic. */
static void pool2d_f32(const struct pool_job *j, int64_t p) {
    const struct kw__nn_geom *g = &j->g;
    const int64_t IH = g->in[0], IW = g->in[1], OH = g->out[0], OW = g->out[1];
    const float *x = (const float *)j->x->data + p * j->insz;
    float *y = (float *)j->y->data + p * j->outsz;
    int64_t *ind = j->ind ? (int64_t *)j->ind->data + p * j->outsz : NULL;
    for (int64_t oh = 0; oh < OH; oh++) {
        const int64_t hs = oh * g->s[0] - g->pb[0];
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t ws = ow * g->s[1] - g->pb[1];
            float best = 0.0f, acc = 0.0f;
            int64_t at = -1, cnt = 0;
            for (int64_t kh = 0; kh < g->k[0]; kh++) {
                const int64_t ih = hs + kh * g->d[0];
                const int hin = ih >= 0 && ih < IH;
                const int hpad = ih >= -g->pb[0] && ih < IH + g->pe[0];
                for (int64_t kw = 0; kw < g->k[1]; kw++) {
                    const int64_t iw = ws + kw * g->d[1];
                    if (!hin || iw < 0 || iw >= IW) {
                        if (j->count_pad && hpad && iw >= -g->pb[1] &&
                            iw < IW + g->pe[1])
                            cnt++;
                        continue;
                    }
                    const float v = x[ih * IW + iw];
                    cnt++;
                    if (j->kind == POOL_MAX) {
                        if (at < 0 || v > best) {
                            best = v;
                            at = j->col_major ? iw * IH + ih : ih * IW + iw;
                        }
                    } else {
                        acc += v;
                    }
                }
            }
            if (j->kind == POOL_MAX) {
                y[oh * OW + ow] = at >= 0 ? best : 0.0f;
                if (ind) ind[oh * OW + ow] = at >= 0 ? p * j->insz + at : -1;
            } else {
                y[oh * OW + ow] = cnt ? acc / (float)cnt : 0.0f;
            }
        }
    }
}

/* Stride-1 max pooling of one plane, rows then columns. The cell by
 * cell loop keeps a window's first valid value unless a greater one
 * follows, so a window is NaN exactly when its first value is, and NaNs
 * elsewhere never win; no valid value gives 0. Per row and output
 * column, t holds the greatest number of the row's window (NaNs passed
 * over), and t + ih*ow the same but NaN when the window's first value
 * is: that one stands for the first row of a window. */
static void max_pool_s1(const struct kw__pool2d *q, const float *x, float *y,
                        float *t) {
    float *tf = t + q->ih * q->ow;
    for (int64_t h = 0; h < q->ih; h++)
        for (int64_t ow = 0; ow < q->ow; ow++) {
            const int64_t w0 = KW_MAX(ow - q->pl, (int64_t)0),
                          w1 = KW_MIN(ow - q->pl + q->kw, q->iw);
            const float *r = x + h * q->iw;
            float m = w0 < w1 ? r[w0] : 0.0f;
            for (int64_t w = w0 + 1; w < w1; w++)
                if (r[w] > m || m != m) m = r[w];
            t[h * q->ow + ow] = m;
            tf[h * q->ow + ow] = w0 < w1 && r[w0] != r[w0] ? r[w0] : m;
        }
    for (int64_t oh = 0; oh < q->oh; oh++) {
        const int64_t h0 = KW_MAX(oh - q->pt, (int64_t)0),
                      h1 = KW_MIN(oh - q->pt + q->kh, q->ih);
        float *yr = y + oh * q->ow;
        for (int64_t ow = 0; ow < q->ow; ow++) {
            const int64_t w0 = KW_MAX(ow - q->pl, (int64_t)0),
                          w1 = KW_MIN(ow - q->pl + q->kw, q->iw);
            yr[ow] = h0 < h1 && w0 < w1 ? tf[h0 * q->ow + ow] : 0.0f;
        }
        for (int64_t h = h0 + 1; h < h1; h++) {
            const float *tr = t + h * q->ow;
            for (int64_t ow = 0; ow < q->ow; ow++)
                if (tr[ow] > yr[ow]) yr[ow] = tr[ow];
        }
    }
}

/* The SIMD kernels (nn_kern.h) take float32 2-D max/average pooling
 * without dilation or indices output; global average pooling sums each
 * plane. */
static int pool_simd(struct pool_job *j, int64_t p0, int64_t p1) {
    const struct kw__nn_geom *g = &j->g;
    if (!j->kern || j->x->dtype != KW_ONNX_FLOAT || j->kind == POOL_LP ||
        j->ind || g->nsp != 2 || g->d[0] != 1 || g->d[1] != 1)
        return 0;
    const float *x = j->x->data;
    float *y = j->y->data;
    if (j->global && j->kind == POOL_AVG) {
        for (int64_t p = p0; p < p1; p++)
            y[p] = j->kern->sum(x + p * j->insz, j->insz) / (float)j->insz;
        return 1;
    }
    const struct kw__pool2d q = {g->in[0], g->in[1], g->out[0], g->out[1],
                                 g->k[0],  g->k[1],  g->s[0],   g->s[1],
                                 g->pb[0], g->pb[1], g->pe[0],  g->pe[1],
                                 j->kind == POOL_MAX, j->count_pad};
#if KW_HAVE_X86
    /* 3x3 stride 2 max (ResNet's stem): separable, 2-3 times faster */
    if (q.is_max && q.kh == 3 && q.kw == 3 && q.sh == 2 && q.sw == 2 &&
        kw__nn_isa() >= KW__ISA_AVX2) {
        const int64_t n = kw__maxpool3s2_scratch(&q);
        float *t = n > 0 && n < ((int64_t)1 << 30)
                       ? malloc((size_t)n * sizeof(float))
                       : NULL;
        if (t) {
            for (int64_t p = p0; p < p1; p++)
                (kw__nn_isa() == KW__ISA_AVX512 ? kw__maxpool3s2_avx512
                                                : kw__maxpool3s2_avx2)(
                    &q, x + p * j->insz, y + p * j->outsz, t);
            free(t);
            return 1;
        }
    }
#endif
    /* stride-1 max over a big window (YOLO's SPP: 5x5 to 13x13):
     * separable, k + k comparisons per output instead of k * k */
    if (q.is_max && q.sh == 1 && q.sw == 1 && q.kh * q.kw > 9) {
        float *t = malloc((size_t)(2 * q.ih * q.ow + 1) * sizeof(float));
        if (t) {
            for (int64_t p = p0; p < p1; p++)
                max_pool_s1(&q, x + p * j->insz, y + p * j->outsz, t);
            free(t);
            return 1;
        }
    }
    for (int64_t p = p0; p < p1; p++)
        j->kern->pool2d(&q, x + p * j->insz, y + p * j->outsz);
    return 1;
}

static void pool_planes(void *arg, int64_t p0, int64_t p1) {
    struct pool_job *j = arg;
    if (pool_simd(j, p0, p1)) return;
    if (j->x->dtype == KW_ONNX_FLOAT && j->g.nsp == 2 && j->kind != POOL_LP) {
        for (int64_t p = p0; p < p1; p++) pool2d_f32(j, p);
        return;
    }
    const struct kw__nn_geom *g = &j->g;
    const int n = g->nsp;
    double *xb = malloc((size_t)(j->insz ? j->insz : 1) * sizeof(double));
    if (!xb) {
        j->failed = 1;
        return;
    }
    int64_t ist[KW_NN_MAX_SP], cst[KW_NN_MAX_SP];
    for (int d = n - 1; d >= 0; d--)
        ist[d] = d == n - 1 ? 1 : ist[d + 1] * g->in[d + 1];
    for (int d = 0; d < n; d++) cst[d] = d == 0 ? 1 : cst[d - 1] * g->in[d - 1];
    const int64_t KK = kw__nn_prod(g->k, n);
    for (int64_t p = p0; p < p1; p++) {
        load_plane(j->x, p * j->insz, j->insz, xb);
        int64_t o[KW_NN_MAX_SP] = {0};
        for (int64_t op = 0; op < j->outsz; op++) {
            double acc = 0, best = 0;
            int64_t cnt = 0, best_at = -1;
            for (int64_t kk = 0; kk < KK; kk++) {
                int64_t r = kk, off = 0, coff = 0;
                int inside = 1, in_pad = 1;
                for (int d = n - 1; d >= 0; d--) {
                    const int64_t kd = r % g->k[d];
                    r /= g->k[d];
                    const int64_t id = o[d] * g->s[d] - g->pb[d] + kd * g->d[d];
                    if (id < 0 || id >= g->in[d]) inside = 0;
                    if (id < -g->pb[d] || id >= g->in[d] + g->pe[d]) in_pad = 0;
                    off += id * ist[d];
                    coff += id * cst[d];
                }
                if (!inside) {
                    if (in_pad && j->count_pad) cnt++;
                    continue;
                }
                const double v = xb[off];
                cnt++;
                if (j->kind == POOL_MAX) {
                    /* NaN never wins, like the reference's '>' */
                    if (best_at < 0 || v > best) {
                        best = v;
                        best_at = j->col_major ? coff : off;
                    }
                } else if (j->kind == POOL_AVG) {
                    acc += v;
                } else {
                    acc += pow(fabs(v), j->p);
                }
            }
            const int64_t yi = p * j->outsz + op;
            if (j->kind == POOL_MAX) {
                store(j->y, yi, best_at >= 0 ? best : 0.0);
                if (j->ind)
                    ((int64_t *)j->ind->data)[yi] =
                        best_at >= 0 ? p * j->insz + best_at : -1;
            } else if (j->kind == POOL_AVG) {
                store(j->y, yi, cnt ? acc / (double)cnt : 0.0);
            } else {
                store(j->y, yi, pow(acc, 1.0 / j->p));
            }
            for (int d = n - 1; d >= 0; d--) {
                if (++o[d] < g->out[d]) break;
                o[d] = 0;
            }
        }
    }
    free(xb);
}

static int pool_dtype_ok(int t, enum pool_kind k) {
    if (kw__dtype_is_float(t)) return 1;
    return k == POOL_MAX && (t == KW_ONNX_UINT8 || t == KW_ONNX_INT8);
}

static enum kw_status run_pool(struct kw__op_ctx *c, struct pool_job *j) {
    const struct kw_onnx_value *x = j->x;
    const int n = j->g.nsp;
    int64_t ydims[KW_ONNX_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int d = 0; d < n; d++) ydims[d + 2] = j->g.out[d];
    j->insz = kw__nn_prod(j->g.in, n);
    j->outsz = kw__nn_prod(j->g.out, n);
    const int64_t planes = x->dims[0] * x->dims[1];
    if (j->insz < 0 || j->outsz < 0 || kw__nn_prod(ydims, x->rank) < 0 ||
        kw__nn_prod(j->g.k, n) < 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "sizes too large");
    /* every path writes all of y */
    j->y = kw__out_tensor_raw(c, 0, x->dtype, x->rank, ydims);
    if (!j->y) return KW_STATUS_ERR_NOMEM;
    if (j->kind == POOL_MAX && kw__out_wanted(c, 1)) {
        j->ind = kw__out_tensor(c, 1, KW_ONNX_INT64, x->rank, ydims);
        if (!j->ind) return KW_STATUS_ERR_NOMEM;
    }
    j->kern = kw__nn_kern();
    const int64_t per = j->outsz * kw__nn_prod(j->g.k, n);
    kw__nn_parallel(c, planes, per > 16384 ? 1 : 16384 / (per + 1) + 1,
                    pool_planes, j);
    if (j->failed) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    return KW_STATUS_OK;
}

static enum kw_status pool_op(struct kw__op_ctx *c, enum pool_kind kind) {
    struct pool_job j = {.kind = kind, .x = kw__in(c, 0)};
    if (!kw__is_tensor(j.x) || !pool_dtype_ok(j.x->dtype, kind))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "unsupported input %s",
                           j.x ? kw_onnx_dtype_name(j.x->dtype) : "(none)");
    const int ceil = kind != POOL_LP && kw__attr_i(c, "ceil_mode", 0) != 0;
    enum kw_status st = kw__nn_geom_init(c, j.x, NULL, ceil, &j.g);
    if (st) return st;
    j.count_pad = kind == POOL_AVG && kw__attr_i(c, "count_include_pad", 0);
    j.col_major = kind == POOL_MAX && kw__attr_i(c, "storage_order", 0) == 1;
    j.p = kw__attr_f(c, "p", 2.0f);
    if (kind == POOL_LP && !(j.p > 0))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "p must be positive");
    return run_pool(c, &j);
}

enum kw_status kw__op_max_pool(struct kw__op_ctx *c) {
    return pool_op(c, POOL_MAX);
}
enum kw_status kw__op_average_pool(struct kw__op_ctx *c) {
    return pool_op(c, POOL_AVG);
}
enum kw_status kw__op_lp_pool(struct kw__op_ctx *c) {
    return pool_op(c, POOL_LP);
}

static enum kw_status global_op(struct kw__op_ctx *c, enum pool_kind kind) {
    struct pool_job j = {.kind = kind, .x = kw__in(c, 0)};
    if (!kw__is_tensor(j.x) || !pool_dtype_ok(j.x->dtype, kind))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "unsupported input");
    if (j.x->rank < 3)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input must be (N, C, spatial...)");
    j.g.nsp = j.x->rank - 2;
    for (int d = 0; d < j.g.nsp; d++) {
        j.g.in[d] = j.g.k[d] = j.x->dims[d + 2];
        j.g.s[d] = j.g.d[d] = j.g.out[d] = 1;
        if (j.g.in[d] == 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "empty spatial dim");
    }
    j.p = kw__attr_f(c, "p", 2.0f);
    j.global = 1;
    return run_pool(c, &j);
}

enum kw_status kw__op_global_average_pool(struct kw__op_ctx *c) {
    return global_op(c, POOL_AVG);
}
enum kw_status kw__op_global_max_pool(struct kw__op_ctx *c) {
    return global_op(c, POOL_MAX);
}
enum kw_status kw__op_global_lp_pool(struct kw__op_ctx *c) {
    return global_op(c, POOL_LP);
}

/* ---- MaxUnpool ---- */

enum kw_status kw__op_max_unpool(struct kw__op_ctx *c) {
    const struct kw_onnx_value *X = kw__in(c, 0), *I = kw__in(c, 1),
                               *S = kw__in(c, 2);
    if (!kw__is_tensor(X) || !kw__is_tensor(I) || I->dtype != KW_ONNX_INT64 ||
        X->dtype == KW_ONNX_STRING)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "needs X and int64 indices I");
    if (X->rank < 3 || I->rank != X->rank)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X and I ranks differ");
    for (int d = 0; d < X->rank; d++)
        if (I->dims[d] != X->dims[d])
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "X and I shapes differ");
    struct kw__nn_geom g;
    /* the pooling that made X: kernel, strides and pads give its input size */
    size_t nk, ns, np;
    const int64_t *k = kw__attr_ints(c, "kernel_shape", &nk);
    const int64_t *s = kw__attr_ints(c, "strides", &ns);
    const int64_t *pads = kw__attr_ints(c, "pads", &np);
    const int n = X->rank - 2;
    if (!k || nk != (size_t)n || (s && ns != (size_t)n) ||
        (pads && np != 2 * (size_t)n))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "kernel_shape/strides/pads do not match rank %d",
                           X->rank);
    memset(&g, 0, sizeof g);
    int64_t inf[KW_ONNX_MAX_RANK] = {X->dims[0], X->dims[1]};
    for (int d = 0; d < n; d++) {
        const int64_t sd = s ? s[d] : 1;
        const int64_t pb = pads ? pads[d] : 0, pe = pads ? pads[d + n] : 0;
        if (k[d] < 1 || sd < 1 || pb < 0 || pe < 0 || k[d] > (1 << 30) ||
            sd > (1 << 30) || pb > (1 << 30) || pe > (1 << 30) ||
            X->dims[d + 2] > (1 << 30))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "bad geometry");
        inf[d + 2] = (X->dims[d + 2] - 1) * sd - pb - pe + k[d];
        if (inf[d + 2] < 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "negative output");
    }
    int64_t odims[KW_ONNX_MAX_RANK];
    memcpy(odims, inf, sizeof odims);
    if (S) {
        if (!kw__is_tensor(S) || S->dtype != KW_ONNX_INT64 || S->rank != 1 ||
            S->dims[0] != X->rank)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "output_shape must be int64 of %d values",
                               X->rank);
        for (int d = 0; d < X->rank; d++) {
            odims[d] = ((const int64_t *)S->data)[d];
            if (odims[d] < inf[d])
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "output_shape smaller than the inferred "
                                   "shape");
        }
    }
    const int64_t ninf = kw__nn_prod(inf, X->rank);
    if (ninf < 0 || kw__nn_prod(odims, X->rank) < 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "sizes too large");
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, X->dtype, X->rank, odims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    const size_t es = kw_onnx_dtype_size(X->dtype);
    /* scatter into the inferred shape, which sits at the output's origin */
    int64_t ist[KW_ONNX_MAX_RANK], ost[KW_ONNX_MAX_RANK];
    kw__strides(X->rank, inf, ist);
    kw__strides(X->rank, odims, ost);
    const int64_t *idx = I->data;
    for (int64_t i = 0; i < kw_onnx_numel(X); i++) {
        int64_t t = idx[i];
        if (t < 0 || t >= ninf)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "index %lld out of range", (long long)t);
        int64_t off = 0;
        for (int d = 0; d < X->rank; d++) {
            off += (t / ist[d]) * ost[d];
            t %= ist[d];
        }
        memcpy((char *)Y->data + (size_t)off * es,
               (const char *)X->data + (size_t)i * es, es);
    }
    return KW_STATUS_OK;
}
