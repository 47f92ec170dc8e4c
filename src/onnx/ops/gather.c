/*
 * gather.c — indexing operators of the shape family: Gather,
 * GatherElements, GatherND, Scatter/ScatterElements, ScatterND (with
 * reductions), OneHot, Compress, NonZero. Every index read from a tensor is
 * range-checked (negative ones count from the end) before memory is
 * touched; contiguous slices are copied with memcpy.
 */
#include "onnx/ops/shape_util.h"

static enum kw_status nomem(struct kw__op_ctx *c) {
    return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
}

static int index_type(struct kw__op_ctx *c, const struct kw_onnx_value *v) {
    if (v->dtype == KW_ONNX_INT64 || v->dtype == KW_ONNX_INT32) return 1;
    kw__op_fail(c, KW_STATUS_ERR_FORMAT, "indices must be int32 or int64, not %s",
                kw_onnx_dtype_name(v->dtype));
    return 0;
}

/* Index i of v normalised into [0, dim); 0 after reporting. */
static int get_index(struct kw__op_ctx *c, const struct kw_onnx_value *v,
                     int64_t i, int64_t dim, int64_t *out) {
    int64_t x = v->dtype == KW_ONNX_INT64 ? ((const int64_t *)v->data)[i]
                                          : ((const int32_t *)v->data)[i];
    if (x < -dim || x >= dim) {
        kw__op_fail(c, KW_STATUS_ERR_INVALID_ARG,
                    "index %lld out of range for dimension %lld",
                    (long long)x, (long long)dim);
        return 0;
    }
    *out = x < 0 ? x + dim : x;
    return 1;
}

enum kw_status kw__op_gather(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *iv = kw__sh_req(c, 1);
    if (!x || !iv || !index_type(c, iv)) return KW_STATUS_ERR_FORMAT;
    int r = x->rank, q = iv->rank, axis;
    if (!kw__axis(kw__attr_i(c, "axis", 0), r, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    if (r - 1 + q > KW_ONNX_MAX_RANK)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "result rank too high");
    int64_t dims[KW_ONNX_MAX_RANK], outer = 1, inner = 1, dim = x->dims[axis];
    int ro = 0;
    for (int k = 0; k < axis; k++) outer *= (dims[ro++] = x->dims[k]);
    for (int k = 0; k < q; k++) dims[ro++] = iv->dims[k];
    for (int k = axis + 1; k < r; k++) inner *= (dims[ro++] = x->dims[k]);
    int64_t ni = kw_onnx_numel(iv);
    int64_t *idx = malloc((size_t)(ni ? ni : 1) * sizeof *idx);
    if (!idx) return nomem(c);
    for (int64_t j = 0; j < ni; j++)
        if (!get_index(c, iv, j, dim, &idx[j])) {
            free(idx);
            return KW_STATUS_ERR_INVALID_ARG;
        }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, ro, dims);
    if (!y) {
        free(idx);
        return KW_STATUS_ERR_NOMEM;
    }
    size_t es = kw_onnx_dtype_size(x->dtype), run = (size_t)inner * es;
    char *o = y->data;
    const char *src = x->data;
    for (int64_t b = 0; b < outer; b++)
        for (int64_t j = 0; j < ni; j++, o += run)
            if (!kw__sh_copy(x->dtype, o,
                             src + (size_t)(b * dim + idx[j]) * run,
                             (size_t)inner)) {
                free(idx);
                return nomem(c);
            }
    free(idx);
    return KW_STATUS_OK;
}

/* Element offsets into data for every position of indices (same rank),
 * with indices' value replacing the coordinate on axis. NULL after
 * reporting. */
static int64_t *element_offsets(struct kw__op_ctx *c,
                                const struct kw_onnx_value *x,
                                const struct kw_onnx_value *iv, int axis) {
    int r = x->rank;
    if (iv->rank != r) {
        kw__op_fail(c, KW_STATUS_ERR_FORMAT, "indices rank %d != data rank %d",
                    iv->rank, r);
        return NULL;
    }
    for (int k = 0; k < r; k++)
        if (k != axis && iv->dims[k] > x->dims[k]) {
            kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                        "indices dimension %d (%lld) exceeds data's (%lld)", k,
                        (long long)iv->dims[k], (long long)x->dims[k]);
            return NULL;
        }
    int64_t n = kw_onnx_numel(iv), st[KW_ONNX_MAX_RANK],
            pos[KW_ONNX_MAX_RANK] = {0};
    kw__strides(r, x->dims, st);
    int64_t *off = malloc((size_t)(n ? n : 1) * sizeof *off);
    if (!off) {
        nomem(c);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t ix, o = 0;
        if (!get_index(c, iv, i, x->dims[axis], &ix)) {
            free(off);
            return NULL;
        }
        for (int k = 0; k < r; k++) o += (k == axis ? ix : pos[k]) * st[k];
        off[i] = o;
        for (int k = r - 1; k >= 0; k--) {
            if (++pos[k] < iv->dims[k]) break;
            pos[k] = 0;
        }
    }
    return off;
}

enum kw_status kw__op_gather_elements(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *iv = kw__sh_req(c, 1);
    if (!x || !iv || !index_type(c, iv)) return KW_STATUS_ERR_FORMAT;
    int axis;
    if (!kw__axis(kw__attr_i(c, "axis", 0), x->rank, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    int64_t *off = element_offsets(c, x, iv, axis);
    if (!off) return KW_STATUS_ERR_INVALID_ARG;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, iv->rank, iv->dims);
    if (!y) {
        free(off);
        return KW_STATUS_ERR_NOMEM;
    }
    size_t es = kw_onnx_dtype_size(x->dtype);
    int64_t n = kw_onnx_numel(iv);
    for (int64_t i = 0; i < n; i++)
        if (!kw__sh_copy(x->dtype, (char *)y->data + (size_t)i * es,
                         (const char *)x->data + (size_t)off[i] * es, 1)) {
            free(off);
            return nomem(c);
        }
    free(off);
    return KW_STATUS_OK;
}

/* Offsets (elements) of the data slices that an ND index tensor picks:
 * indices [..., m] into data with b leading batch dims. *n_out tuples,
 * *slice elements each. NULL after reporting. */
static int64_t *nd_offsets(struct kw__op_ctx *c, const struct kw_onnx_value *x,
                           const struct kw_onnx_value *iv, int b,
                           int64_t *n_out, int64_t *slice) {
    int r = x->rank, q = iv->rank;
    if (q < 1 || b < 0 || b >= q || b >= r) {
        kw__op_fail(c, KW_STATUS_ERR_FORMAT, "invalid ranks / batch_dims");
        return NULL;
    }
    int64_t m = iv->dims[q - 1];
    if (m < 1 || m > r - b) {
        kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                    "index tuples of %lld for data rank %d", (long long)m, r);
        return NULL;
    }
    for (int k = 0; k < b; k++)
        if (iv->dims[k] != x->dims[k]) {
            kw__op_fail(c, KW_STATUS_ERR_FORMAT, "batch dimension %d differs",
                        k);
            return NULL;
        }
    int64_t st[KW_ONNX_MAX_RANK], nb = 1, per = 1, bstride = 1, s = 1;
    kw__strides(r, x->dims, st);
    for (int k = 0; k < b; k++) nb *= x->dims[k];
    for (int k = b; k < q - 1; k++) per *= iv->dims[k];
    for (int k = b; k < r; k++) bstride *= x->dims[k];
    for (int k = b + (int)m; k < r; k++) s *= x->dims[k];
    int64_t n = nb * per;
    int64_t *off = malloc((size_t)(n ? n : 1) * sizeof *off);
    if (!off) {
        nomem(c);
        return NULL;
    }
    for (int64_t t = 0; t < n; t++) {
        int64_t o = (t / (per ? per : 1)) * bstride;
        for (int64_t j = 0; j < m; j++) {
            int64_t ix;
            if (!get_index(c, iv, t * m + j, x->dims[b + j], &ix)) {
                free(off);
                return NULL;
            }
            o += ix * st[b + j];
        }
        off[t] = o;
    }
    *n_out = n;
    *slice = s;
    return off;
}

enum kw_status kw__op_gather_nd(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *iv = kw__sh_req(c, 1);
    if (!x || !iv || !index_type(c, iv)) return KW_STATUS_ERR_FORMAT;
    int64_t b = kw__attr_i(c, "batch_dims", 0), n, s;
    if (b < 0 || b > KW_ONNX_MAX_RANK)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "invalid batch_dims");
    int64_t *off = nd_offsets(c, x, iv, (int)b, &n, &s);
    if (!off) return KW_STATUS_ERR_INVALID_ARG;
    int q = iv->rank, ro = 0;
    int64_t m = iv->dims[q - 1], dims[KW_ONNX_MAX_RANK];
    if (q - 1 + x->rank - b - m > KW_ONNX_MAX_RANK) {
        free(off);
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "result rank too high");
    }
    for (int k = 0; k < q - 1; k++) dims[ro++] = iv->dims[k];
    for (int k = (int)(b + m); k < x->rank; k++) dims[ro++] = x->dims[k];
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, ro, dims);
    if (!y) {
        free(off);
        return KW_STATUS_ERR_NOMEM;
    }
    size_t es = kw_onnx_dtype_size(x->dtype);
    for (int64_t t = 0; t < n; t++)
        if (!kw__sh_copy(x->dtype, (char *)y->data + (size_t)(t * s) * es,
                         (const char *)x->data + (size_t)off[t] * es,
                         (size_t)s)) {
            free(off);
            return nomem(c);
        }
    free(off);
    return KW_STATUS_OK;
}

/* ---- scatter ---- */

enum red { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static int reduction(struct kw__op_ctx *c, int *red) {
    const char *s = kw__attr_s(c, "reduction", "none");
    *red = !strcmp(s, "none") ? RED_NONE : !strcmp(s, "add") ? RED_ADD
         : !strcmp(s, "mul") ? RED_MUL : !strcmp(s, "max") ? RED_MAX
         : !strcmp(s, "min") ? RED_MIN : -1;
    if (*red < 0) {
        kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "reduction '%s'", s);
        return 0;
    }
    return 1;
}

/* y[yi] = y[yi] (red) u[ui]; 0 when out of memory (strings). */
static int scatter1(struct kw_onnx_value *y, int64_t yi,
                    const struct kw_onnx_value *u, int64_t ui, int red) {
    size_t es = kw_onnx_dtype_size(y->dtype);
    if (red == RED_NONE)
        return kw__sh_copy(y->dtype, (char *)y->data + (size_t)yi * es,
                           (const char *)u->data + (size_t)ui * es, 1);
    if (y->dtype == KW_ONNX_FLOAT) {
        float *a = (float *)y->data + yi, b = ((const float *)u->data)[ui];
        *a = red == RED_ADD ? *a + b : red == RED_MUL ? *a * b
           : red == RED_MAX ? (b > *a ? b : *a) : (b < *a ? b : *a);
    } else if (kw__dtype_is_float(y->dtype)) {
        double a = kw__get_f64(y, yi), b = kw__get_f64(u, ui);
        kw__set_f64(y, yi, red == RED_ADD ? a + b : red == RED_MUL ? a * b
                         : red == RED_MAX ? (b > a ? b : a) : (b < a ? b : a));
    } else {
        int64_t a = kw__get_i64(y, yi), b = kw__get_i64(u, ui);
        uint64_t ua = (uint64_t)a, ub = (uint64_t)b; /* wrap, never UB */
        int64_t v = red == RED_ADD ? (int64_t)(ua + ub)
                  : red == RED_MUL ? (int64_t)(ua * ub)
                  : red == RED_MAX ? (b > a ? b : a) : (b < a ? b : a);
        kw__set_i64(y, yi, v);
    }
    return 1;
}

static int scatter_types(struct kw__op_ctx *c, const struct kw_onnx_value *x,
                         const struct kw_onnx_value *u, int red) {
    if (u->dtype != x->dtype) {
        kw__op_fail(c, KW_STATUS_ERR_FORMAT, "updates type differs from data");
        return 0;
    }
    if (red != RED_NONE && !(kw__dtype_is_float(x->dtype) ||
                             kw__dtype_is_int(x->dtype))) {
        kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "reduction on %s",
                    kw_onnx_dtype_name(x->dtype));
        return 0;
    }
    return 1;
}

enum kw_status kw__op_scatter_elements(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *iv = kw__sh_req(c, 1),
                         *u = kw__sh_req(c, 2);
    if (!x || !iv || !u || !index_type(c, iv)) return KW_STATUS_ERR_FORMAT;
    int axis, red = RED_NONE;
    if (!kw__axis(kw__attr_i(c, "axis", 0), x->rank, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    if ((c->opset >= 16 && !reduction(c, &red)) ||
        !scatter_types(c, x, u, red))
        return KW_STATUS_ERR_FORMAT;
    if (u->rank != iv->rank ||
        memcmp(u->dims, iv->dims, sizeof(int64_t) * (size_t)u->rank))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "updates and indices differ in shape");
    int64_t *off = element_offsets(c, x, iv, axis);
    if (!off) return KW_STATUS_ERR_INVALID_ARG;
    struct kw_onnx_value *y = kw__value_clone(x);
    if (!y) {
        free(off);
        return nomem(c);
    }
    kw__out_set(c, 0, y);
    int64_t n = kw_onnx_numel(iv);
    for (int64_t i = 0; i < n; i++)
        if (!scatter1(y, off[i], u, i, red)) {
            free(off);
            return nomem(c);
        }
    free(off);
    return KW_STATUS_OK;
}

enum kw_status kw__op_scatter_nd(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *iv = kw__sh_req(c, 1),
                         *u = kw__sh_req(c, 2);
    if (!x || !iv || !u || !index_type(c, iv)) return KW_STATUS_ERR_FORMAT;
    int red = RED_NONE;
    if ((c->opset >= 16 && !reduction(c, &red)) ||
        !scatter_types(c, x, u, red))
        return KW_STATUS_ERR_FORMAT;
    int64_t n, s;
    int64_t *off = nd_offsets(c, x, iv, 0, &n, &s);
    if (!off) return KW_STATUS_ERR_INVALID_ARG;
    /* updates: indices.shape[:-1] + data.shape[m:] */
    int q = iv->rank, m = (int)iv->dims[q - 1], ok = u->rank == q - 1 + x->rank - m;
    for (int k = 0; ok && k < q - 1; k++) ok = u->dims[k] == iv->dims[k];
    for (int k = m; ok && k < x->rank; k++)
        ok = u->dims[q - 1 + k - m] == x->dims[k];
    if (!ok) {
        free(off);
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "updates shape mismatch");
    }
    struct kw_onnx_value *y = kw__value_clone(x);
    if (!y) {
        free(off);
        return nomem(c);
    }
    kw__out_set(c, 0, y);
    for (int64_t t = 0; t < n; t++)
        for (int64_t j = 0; j < s; j++)
            if (!scatter1(y, off[t] + j, u, t * s + j, red)) {
                free(off);
                return nomem(c);
            }
    free(off);
    return KW_STATUS_OK;
}

/* ---- OneHot, Compress, NonZero ---- */

enum kw_status kw__op_onehot(struct kw__op_ctx *c) {
    struct kw_onnx_value *iv = kw__sh_req(c, 0), *dv = kw__sh_req(c, 1),
                         *vv = kw__sh_req(c, 2);
    if (!iv || !dv || !vv) return KW_STATUS_ERR_FORMAT;
    if (kw_onnx_numel(dv) != 1 || kw_onnx_numel(vv) != 2 ||
        dv->dtype == KW_ONNX_STRING || iv->dtype == KW_ONNX_STRING)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "depth must be a number and values hold 2 items");
    double dd = kw__get_f64(dv, 0);
    if (!(dd >= 1 && dd < 1e12))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "invalid depth %g", dd);
    int64_t depth = (int64_t)dd;
    int r = iv->rank, axis;
    if (r + 1 > KW_ONNX_MAX_RANK)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "rank too high");
    if (!kw__axis(kw__attr_i(c, "axis", -1), r + 1, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    int64_t dims[KW_ONNX_MAX_RANK], outer = 1, inner = 1;
    for (int k = 0, j = 0; k <= r; k++)
        dims[k] = k == axis ? depth : iv->dims[j++];
    for (int k = 0; k < axis; k++) outer *= iv->dims[k];
    for (int k = axis; k < r; k++) inner *= iv->dims[k];
    struct kw_onnx_value *y = kw__out_tensor(c, 0, vv->dtype, r + 1, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    size_t es = kw_onnx_dtype_size(vv->dtype);
    const char *off = vv->data, *on = off + es;
    char *o = y->data;
    int64_t n = kw_onnx_numel(y);
    for (int64_t i = 0; i < n; i++)
        if (!kw__sh_copy(vv->dtype, o + (size_t)i * es, off, 1)) return nomem(c);
    for (int64_t b = 0; b < outer; b++)
        for (int64_t j = 0; j < inner; j++) {
            double f = kw__get_f64(iv, b * inner + j);
            if (!(f > -1e18 && f < 1e18)) continue;
            int64_t ix = (int64_t)f;
            if (ix < 0) ix += depth;
            if (ix < 0 || ix >= depth) continue;
            if (!kw__sh_copy(vv->dtype,
                             o + (size_t)((b * depth + ix) * inner + j) * es,
                             on, 1))
                return nomem(c);
        }
    return KW_STATUS_OK;
}

static int truthy(const struct kw_onnx_value *v, int64_t i) {
    if (v->dtype == KW_ONNX_BOOL || v->dtype == KW_ONNX_UINT8 ||
        v->dtype == KW_ONNX_INT8)
        return ((const uint8_t *)v->data)[i] != 0;
    if (v->dtype == KW_ONNX_STRING) {
        const char *s = ((char *const *)v->data)[i];
        return s && s[0];
    }
    return kw__get_f64(v, i) != 0;
}

enum kw_status kw__op_compress(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *cv = kw__sh_req(c, 1);
    if (!x || !cv) return KW_STATUS_ERR_FORMAT;
    if (cv->rank != 1 || cv->dtype == KW_ONNX_STRING)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "condition must be 1-D");
    const struct kw__attr *aa = kw__attr(c->node, "axis");
    int axis = 0, r = 1;
    int64_t dims[KW_ONNX_MAX_RANK], outer = 1, inner = 1, dim;
    if (aa) {
        r = x->rank;
        if (!kw__axis(aa->i, r, &axis))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
        memcpy(dims, x->dims, sizeof dims);
        for (int k = 0; k < axis; k++) outer *= x->dims[k];
        for (int k = axis + 1; k < r; k++) inner *= x->dims[k];
        dim = x->dims[axis];
    } else {
        dim = kw_onnx_numel(x);
    }
    int64_t len = cv->dims[0] < dim ? cv->dims[0] : dim, cnt = 0;
    for (int64_t i = 0; i < len; i++) cnt += truthy(cv, i);
    for (int64_t i = len; i < cv->dims[0]; i++)
        if (truthy(cv, i))
            return kw__op_fail(c, KW_STATUS_ERR_INVALID_ARG,
                               "condition selects past the axis end");
    dims[axis] = cnt;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    size_t es = kw_onnx_dtype_size(x->dtype), run = (size_t)inner * es;
    char *o = y->data;
    for (int64_t b = 0; b < outer; b++)
        for (int64_t i = 0; i < len; i++) {
            if (!truthy(cv, i)) continue;
            if (!kw__sh_copy(x->dtype, o,
                             (const char *)x->data + (size_t)(b * dim + i) * run,
                             (size_t)inner))
                return nomem(c);
            o += run;
        }
    return KW_STATUS_OK;
}

enum kw_status kw__op_nonzero(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int64_t n = kw_onnx_numel(x), nnz = 0;
    for (int64_t i = 0; i < n; i++) nnz += truthy(x, i);
    int r = x->rank ? x->rank : 1; /* a scalar counts as shape [1] */
    int64_t dims[2] = {r, nnz};
    struct kw_onnx_value *y = kw__out_tensor(c, 0, KW_ONNX_INT64, 2, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t *o = y->data, pos[KW_ONNX_MAX_RANK] = {0}, j = 0;
    for (int64_t i = 0; i < n; i++) {
        if (truthy(x, i)) {
            for (int k = 0; k < x->rank; k++) o[k * nnz + j] = pos[k];
            j++;
        }
        for (int k = x->rank - 1; k >= 0; k--) {
            if (++pos[k] < x->dims[k]) break;
            pos[k] = 0;
        }
    }
    return KW_STATUS_OK;
}
