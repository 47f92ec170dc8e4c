/*
 * sort.c — shape-family operators that compare or accumulate elements:
 * Unique, TopK, ArgMax, ArgMin, CumSum. Orders are made deterministic by
 * breaking ties on the original index (stable merge sort).
 */
#include "onnx/ops/shape_util.h"

static enum kw_status nomem(struct kw__op_ctx *c) {
    return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
}

/* <0, 0, >0 comparing element i of a with element j of b (same dtype). */
static int cmp_elem(const struct kw_onnx_value *a, int64_t i,
                    const struct kw_onnx_value *b, int64_t j) {
    switch (a->dtype) {
    case KW_ONNX_STRING: {
        const char *x = ((char *const *)a->data)[i],
                   *y = ((char *const *)b->data)[j];
        return strcmp(x ? x : "", y ? y : "");
    }
    case KW_ONNX_UINT64: {
        uint64_t x = ((const uint64_t *)a->data)[i],
                 y = ((const uint64_t *)b->data)[j];
        return (x > y) - (x < y);
    }
    case KW_ONNX_FLOAT: case KW_ONNX_DOUBLE: case KW_ONNX_FLOAT16:
    case KW_ONNX_BFLOAT16: {
        double x = kw__get_f64(a, i), y = kw__get_f64(b, j);
        if (x != x || y != y) return (x != x) - (y != y); /* NaN last */
        return (x > y) - (x < y);
    }
    default: {
        int64_t x = kw__get_i64(a, i), y = kw__get_i64(b, j);
        return (x > y) - (x < y);
    }
    }
}

typedef int (*cmp_fn)(const void *ctx, int64_t a, int64_t b);

/* Stable merge sort of v[0..n) (tmp: n scratch entries). */
static void merge_sort(int64_t *v, int64_t *tmp, int64_t n, cmp_fn cmp,
                       const void *ctx) {
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n,
                    hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(ctx, v[j], v[i]) < 0 ? v[j++] : v[i++];
            while (i < mid) tmp[k++] = v[i++];
            while (j < hi) tmp[k++] = v[j++];
        }
        memcpy(v, tmp, (size_t)n * sizeof *v);
    }
}

/* ---- Unique ---- */

struct uctx {
    const struct kw_onnx_value *x;
    int64_t outer, n, inner;
};

static int cmp_slices(const void *p, int64_t a, int64_t b) {
    const struct uctx *u = p;
    for (int64_t o = 0; o < u->outer; o++)
        for (int64_t k = 0; k < u->inner; k++) {
            int64_t base = o * u->n * u->inner + k;
            int r = cmp_elem(u->x, base + a * u->inner, u->x,
                             base + b * u->inner);
            if (r) return r;
        }
    return 0;
}

static int cmp_first(const void *p, int64_t a, int64_t b) {
    const int64_t *first = p;
    return (first[a] > first[b]) - (first[a] < first[b]);
}

enum kw_status kw__op_unique(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    const struct kw__attr *aa = kw__attr(c->node, "axis");
    int sorted = (int)kw__attr_i(c, "sorted", 1), axis = 0;
    struct uctx u = {x, 1, kw_onnx_numel(x), 1};
    if (aa) {
        if (!kw__axis(aa->i, x->rank, &axis))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
        u.n = x->dims[axis];
        for (int k = 0; k < axis; k++) u.outer *= x->dims[k];
        for (int k = axis + 1; k < x->rank; k++) u.inner *= x->dims[k];
    }
    int64_t n = u.n;
    size_t nn = (size_t)(n ? n : 1);
    int64_t *ord = malloc(nn * 8), *tmp = malloc(nn * 8),
            *grp = malloc(nn * 8), *first = malloc(nn * 8),
            *cnt = malloc(nn * 8), *rank = malloc(nn * 8);
    enum kw_status st = KW_STATUS_OK;
    if (!ord || !tmp || !grp || !first || !cnt || !rank) {
        st = nomem(c);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) ord[i] = i;
    merge_sort(ord, tmp, n, cmp_slices, &u);
    /* groups of equal slices, in sorted order; first = smallest index */
    int64_t U = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || cmp_slices(&u, ord[i - 1], ord[i])) {
            first[U] = ord[i];
            cnt[U++] = 0;
        }
        grp[ord[i]] = U - 1;
        cnt[U - 1]++;
    }
    /* final order of the groups: sorted, or by first appearance */
    for (int64_t g = 0; g < U; g++) ord[g] = g;
    if (!sorted) merge_sort(ord, tmp, U, cmp_first, first);
    for (int64_t g = 0; g < U; g++) rank[ord[g]] = g;
    int64_t dims[KW_ONNX_MAX_RANK];
    int r = 1;
    dims[0] = U;
    if (aa) {
        r = x->rank;
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = U;
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, dims);
    if (!y) {
        st = KW_STATUS_ERR_NOMEM;
        goto done;
    }
    size_t es = kw_onnx_dtype_size(x->dtype);
    for (int64_t o = 0; o < u.outer && st == KW_STATUS_OK; o++)
        for (int64_t g = 0; g < U; g++)
            if (!kw__sh_copy(x->dtype,
                             (char *)y->data +
                                 (size_t)((o * U + g) * u.inner) * es,
                             (const char *)x->data +
                                 (size_t)((o * n + first[ord[g]]) * u.inner) *
                                     es,
                             (size_t)u.inner)) {
                st = nomem(c);
                break;
            }
    struct kw_onnx_value *yi = NULL, *yv = NULL, *yc = NULL;
    if (st == KW_STATUS_OK && kw__out_wanted(c, 1) &&
        !(yi = kw__out_tensor(c, 1, KW_ONNX_INT64, 1, &U)))
        st = KW_STATUS_ERR_NOMEM;
    if (st == KW_STATUS_OK && kw__out_wanted(c, 2) &&
        !(yv = kw__out_tensor(c, 2, KW_ONNX_INT64, 1, &n)))
        st = KW_STATUS_ERR_NOMEM;
    if (st == KW_STATUS_OK && kw__out_wanted(c, 3) &&
        !(yc = kw__out_tensor(c, 3, KW_ONNX_INT64, 1, &U)))
        st = KW_STATUS_ERR_NOMEM;
    if (st == KW_STATUS_OK) {
        for (int64_t g = 0; g < U; g++) {
            if (yi) ((int64_t *)yi->data)[g] = first[ord[g]];
            if (yc) ((int64_t *)yc->data)[g] = cnt[ord[g]];
        }
        if (yv)
            for (int64_t i = 0; i < n; i++)
                ((int64_t *)yv->data)[i] = rank[grp[i]];
    }
done:
    free(ord);
    free(tmp);
    free(grp);
    free(first);
    free(cnt);
    free(rank);
    return st;
}

/* ---- TopK ---- */

struct tctx {
    const struct kw_onnx_value *x;
    int64_t base, stride;
    int largest;
};

static int cmp_topk(const void *p, int64_t a, int64_t b) {
    const struct tctx *t = p;
    int r = cmp_elem(t->x, t->base + a * t->stride, t->x,
                     t->base + b * t->stride);
    return t->largest ? -r : r;
}

enum kw_status kw__op_topk(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *kv;
    if (!x) return KW_STATUS_ERR_FORMAT;
    int64_t k;
    if (c->opset < 10) {
        k = kw__attr_i(c, "k", -1);
    } else {
        if (!(kv = kw__sh_req(c, 1)) || !kw__sh_scalar_i(c, kv, "K", &k))
            return KW_STATUS_ERR_FORMAT;
    }
    int axis, r = x->rank;
    if (!kw__axis(kw__attr_i(c, "axis", -1), r, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    int64_t n = x->dims[axis];
    if (k < 0 || k > n)
        return kw__op_fail(c, KW_STATUS_ERR_INVALID_ARG,
                           "k = %lld outside [0, %lld]", (long long)k,
                           (long long)n);
    struct tctx t = {x, 0, 1, c->opset < 11 || kw__attr_i(c, "largest", 1)};
    int64_t dims[KW_ONNX_MAX_RANK], outer = 1, inner = 1;
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis + 1; i < r; i++) inner *= x->dims[i];
    struct kw_onnx_value *yv = kw__out_tensor(c, 0, x->dtype, r, dims), *yi;
    if (!yv) return KW_STATUS_ERR_NOMEM;
    if (!(yi = kw__out_tensor(c, 1, KW_ONNX_INT64, r, dims)))
        return KW_STATUS_ERR_NOMEM;
    size_t nn = (size_t)(n ? n : 1), es = kw_onnx_dtype_size(x->dtype);
    int64_t *ord = malloc(nn * 8), *tmp = malloc(nn * 8);
    if (!ord || !tmp) {
        free(ord);
        free(tmp);
        return nomem(c);
    }
    t.stride = inner;
    enum kw_status st = KW_STATUS_OK;
    for (int64_t o = 0; o < outer && st == KW_STATUS_OK; o++)
        for (int64_t in = 0; in < inner; in++) {
            t.base = o * n * inner + in;
            for (int64_t i = 0; i < n; i++) ord[i] = i;
            merge_sort(ord, tmp, n, cmp_topk, &t);
            for (int64_t j = 0; j < k; j++) {
                int64_t at = (o * k + j) * inner + in;
                ((int64_t *)yi->data)[at] = ord[j];
                if (!kw__sh_copy(x->dtype, (char *)yv->data + (size_t)at * es,
                                 (const char *)x->data +
                                     (size_t)(t.base + ord[j] * inner) * es,
                                 1)) {
                    st = nomem(c);
                    break;
                }
            }
        }
    free(ord);
    free(tmp);
    return st;
}

/* ---- ArgMax / ArgMin ---- */

static enum kw_status arg_extreme(struct kw__op_ctx *c, int want_max) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    if (!(kw__dtype_is_float(x->dtype) || kw__dtype_is_int(x->dtype) ||
          x->dtype == KW_ONNX_BOOL))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "type %s",
                           kw_onnx_dtype_name(x->dtype));
    int r = x->rank, axis;
    if (!kw__axis(kw__attr_i(c, "axis", 0), r, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    int keep = (int)kw__attr_i(c, "keepdims", 1);
    int last = c->opset >= 12 && kw__attr_i(c, "select_last_index", 0);
    int64_t n = x->dims[axis], outer = 1, inner = 1, dims[KW_ONNX_MAX_RANK];
    if (n == 0)
        return kw__op_fail(c, KW_STATUS_ERR_INVALID_ARG, "empty axis");
    int ro = 0;
    for (int i = 0; i < r; i++) {
        if (i < axis) outer *= x->dims[i];
        if (i > axis) inner *= x->dims[i];
        if (i != axis) dims[ro++] = x->dims[i];
        else if (keep) dims[ro++] = 1;
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, KW_ONNX_INT64, ro, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t *o = y->data;
    for (int64_t b = 0; b < outer; b++)
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = b * n * inner + in, best = 0;
            if (x->dtype == KW_ONNX_FLOAT) {
                const float *p = (const float *)x->data + base;
                float bv = p[0];
                for (int64_t i = 1; i < n; i++) {
                    float v = p[i * inner];
                    int better = want_max ? (last ? v >= bv : v > bv)
                                          : (last ? v <= bv : v < bv);
                    if (better) {
                        bv = v;
                        best = i;
                    }
                }
            } else {
                for (int64_t i = 1; i < n; i++) {
                    int d = cmp_elem(x, base + i * inner, x,
                                     base + best * inner);
                    if (!want_max) d = -d;
                    if (d > 0 || (last && d == 0)) best = i;
                }
            }
            o[b * inner + in] = best;
        }
    return KW_STATUS_OK;
}

enum kw_status kw__op_argmax(struct kw__op_ctx *c) {
    return arg_extreme(c, 1);
}
enum kw_status kw__op_argmin(struct kw__op_ctx *c) {
    return arg_extreme(c, 0);
}

/* ---- CumSum ---- */

enum kw_status kw__op_cumsum(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *av = kw__sh_req(c, 1);
    if (!x || !av) return KW_STATUS_ERR_FORMAT;
    if (!(kw__dtype_is_float(x->dtype) || kw__dtype_is_int(x->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "type %s",
                           kw_onnx_dtype_name(x->dtype));
    int64_t a;
    int axis;
    if (!kw__dtype_is_int(av->dtype) || !kw__sh_scalar_i(c, av, "axis", &a))
        return KW_STATUS_ERR_FORMAT;
    if (!kw__axis(a, x->rank, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    int excl = (int)kw__attr_i(c, "exclusive", 0),
        rev = (int)kw__attr_i(c, "reverse", 0);
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, x->rank, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t n = x->dims[axis], outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= x->dims[i];
    int isf = kw__dtype_is_float(x->dtype);
    for (int64_t b = 0; b < outer; b++)
        for (int64_t in = 0; in < inner; in++) {
            double sf = 0;
            uint64_t si = 0; /* wraps like the integer type would */
            for (int64_t s = 0; s < n; s++) {
                int64_t i = rev ? n - 1 - s : s;
                int64_t at = (b * n + i) * inner + in;
                if (x->dtype == KW_ONNX_FLOAT) {
                    float *yo = (float *)y->data;
                    float v = ((const float *)x->data)[at];
                    float acc = (float)sf;
                    yo[at] = excl ? acc : acc + v;
                    sf = (double)(acc + v);
                } else if (isf) {
                    double v = kw__get_f64(x, at);
                    kw__set_f64(y, at, excl ? sf : sf + v);
                    sf += v;
                } else {
                    uint64_t v = (uint64_t)kw__get_i64(x, at);
                    kw__set_i64(y, at, (int64_t)(excl ? si : si + v));
                    si += v;
                }
            }
        }
    return KW_STATUS_OK;
}
