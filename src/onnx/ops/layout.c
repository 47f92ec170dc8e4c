/*
 * layout.c — shape-family operators that move elements without looking at
 * them: Transpose, Concat, Split, Slice, Tile, Pad, DepthToSpace,
 * SpaceToDepth, Trilu, ReverseSequence. Most are one strided view copy
 * (kw__sh_view_copy); Concat/Split/Pad copy contiguous runs with memcpy.
 */
#include "onnx/ops/shape_util.h"

static enum kw_status nomem(struct kw__op_ctx *c) {
    return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
}

enum kw_status kw__op_transpose(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int r = x->rank, perm[KW_ONNX_MAX_RANK];
    size_t np;
    const int64_t *p = kw__attr_ints(c, "perm", &np);
    if (p) {
        if ((int)np != r)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "perm has %zu entries for rank %d", np, r);
        if (!kw__sh_axes(c, p, r, r, perm)) return KW_STATUS_ERR_FORMAT;
    } else {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
    }
    int64_t st[KW_ONNX_MAX_RANK], vs[KW_ONNX_MAX_RANK], dims[KW_ONNX_MAX_RANK];
    kw__strides(r, x->dims, st);
    for (int i = 0; i < r; i++) {
        dims[i] = x->dims[perm[i]];
        vs[i] = st[perm[i]];
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (!kw__sh_view_copy(c, x->dtype, y->data, x->data, r, dims, vs))
        return nomem(c);
    return KW_STATUS_OK;
}

enum kw_status kw__op_concat(struct kw__op_ctx *c) {
    if (c->n_in < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "no inputs");
    struct kw_onnx_value *x0 = kw__sh_req(c, 0);
    if (!x0) return KW_STATUS_ERR_FORMAT;
    int r = x0->rank, axis;
    if (r < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "cannot concat scalars");
    if (!kw__axis(kw__attr_i(c, "axis", c->opset < 4 ? 1 : 0), r, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    int64_t dims[KW_ONNX_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < c->n_in; i++) {
        struct kw_onnx_value *x = kw__sh_req(c, i);
        if (!x) return KW_STATUS_ERR_FORMAT;
        if (x->dtype != x0->dtype || x->rank != r)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "input %d differs in type or rank", i);
        for (int k = 0; k < r; k++)
            if (k != axis && x->dims[k] != x0->dims[k])
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "input %d: dimension %d is %lld, not %lld",
                                   i, k, (long long)x->dims[k],
                                   (long long)x0->dims[k]);
        if (__builtin_add_overflow(dims[axis], x->dims[axis], &dims[axis]))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "too large");
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x0->dtype, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++) outer *= dims[k];
    for (int k = axis + 1; k < r; k++) inner *= dims[k];
    size_t es = kw_onnx_dtype_size(x0->dtype);
    char *o = y->data;
    for (int64_t b = 0; b < outer; b++)
        for (int i = 0; i < c->n_in; i++) {
            const struct kw_onnx_value *x = c->in[i];
            size_t run = (size_t)(x->dims[axis] * inner);
            if (!kw__sh_copy(x0->dtype, o,
                             (const char *)x->data + (size_t)b * run * es,
                             run))
                return nomem(c);
            o += run * es;
        }
    return KW_STATUS_OK;
}

enum kw_status kw__op_split(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *sv = NULL;
    if (!x) return KW_STATUS_ERR_FORMAT;
    int r = x->rank, axis, n = c->n_out;
    if (!kw__axis(kw__attr_i(c, "axis", 0), r, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axis out of range");
    if (n < 1) return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "no outputs");
    int64_t *sizes = calloc((size_t)n, sizeof *sizes);
    if (!sizes) return nomem(c);
    enum kw_status st = KW_STATUS_OK;
    int64_t dim = x->dims[axis];
    size_t na = 0;
    const int64_t *a = c->opset < 13 ? kw__attr_ints(c, "split", &na) : NULL;
    if (c->opset >= 13 || c->opset < 2) {
        if (!kw__sh_opt(c, 1, &sv)) {
            free(sizes);
            return KW_STATUS_ERR_FORMAT;
        }
    }
    if (sv || a) {
        int cnt = 0;
        if (sv) {
            if (!kw__sh_ints(c, sv, "split", sizes, n, &cnt)) {
                free(sizes);
                return KW_STATUS_ERR_FORMAT;
            }
        } else if (na <= (size_t)n) {
            memcpy(sizes, a, na * sizeof *a);
            cnt = (int)na;
        }
        int64_t sum = 0;
        for (int i = 0; i < cnt && st == KW_STATUS_OK; i++)
            if (sizes[i] < 0 || __builtin_add_overflow(sum, sizes[i], &sum))
                st = kw__op_fail(c, KW_STATUS_ERR_FORMAT, "invalid split");
        if (st == KW_STATUS_OK && (cnt != n || sum != dim))
            st = kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                             "split sizes (%d summing to %lld) do not fit %d "
                             "outputs over %lld",
                             cnt, (long long)sum, n, (long long)dim);
    } else {
        /* equal parts; when uneven the last part is the smaller (opset 18) */
        int64_t part = (dim + n - 1) / n;
        for (int i = 0; i < n; i++) {
            int64_t left = dim - part * i;
            sizes[i] = left < 0 ? 0 : (left < part ? left : part);
        }
        if (dim % n && c->opset < 18)
            st = kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                             "dimension %lld does not split into %d parts",
                             (long long)dim, n);
    }
    int64_t outer = 1, inner = 1, off = 0;
    for (int k = 0; k < axis; k++) outer *= x->dims[k];
    for (int k = axis + 1; k < r; k++) inner *= x->dims[k];
    size_t es = kw_onnx_dtype_size(x->dtype);
    for (int i = 0; i < n && st == KW_STATUS_OK; i++) {
        int64_t dims[KW_ONNX_MAX_RANK];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = sizes[i];
        struct kw_onnx_value *y = kw__out_tensor(c, i, x->dtype, r, dims);
        if (!y) {
            st = KW_STATUS_ERR_NOMEM;
            break;
        }
        size_t run = (size_t)(sizes[i] * inner);
        for (int64_t b = 0; b < outer; b++)
            if (!kw__sh_copy(x->dtype, (char *)y->data + (size_t)b * run * es,
                             (const char *)x->data +
                                 ((size_t)(b * dim + off) * (size_t)inner) * es,
                             run)) {
                st = nomem(c);
                break;
            }
        off += sizes[i];
    }
    free(sizes);
    return st;
}

enum kw_status kw__op_slice(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int r = x->rank, ns, ne, na = 0, nst = 0;
    int64_t starts[KW_ONNX_MAX_RANK], ends[KW_ONNX_MAX_RANK],
        axes[KW_ONNX_MAX_RANK], steps[KW_ONNX_MAX_RANK];
    int have_axes = 0, have_steps = 0;
    if (c->opset < 10) {
        size_t n1, n2, n3;
        const int64_t *a1 = kw__attr_ints(c, "starts", &n1),
                      *a2 = kw__attr_ints(c, "ends", &n2),
                      *a3 = kw__attr_ints(c, "axes", &n3);
        if (!a1 || !a2 || n1 > KW_ONNX_MAX_RANK || n2 > KW_ONNX_MAX_RANK ||
            n3 > KW_ONNX_MAX_RANK)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "starts/ends missing or too long");
        memcpy(starts, a1, n1 * 8);
        memcpy(ends, a2, n2 * 8);
        ns = (int)n1;
        ne = (int)n2;
        if (a3) {
            memcpy(axes, a3, n3 * 8);
            na = (int)n3;
            have_axes = 1;
        }
    } else {
        struct kw_onnx_value *sv = kw__sh_req(c, 1), *ev = kw__sh_req(c, 2),
                             *av, *tv;
        if (!sv || !ev || !kw__sh_opt(c, 3, &av) || !kw__sh_opt(c, 4, &tv))
            return KW_STATUS_ERR_FORMAT;
        if (!kw__sh_ints(c, sv, "starts", starts, KW_ONNX_MAX_RANK, &ns) ||
            !kw__sh_ints(c, ev, "ends", ends, KW_ONNX_MAX_RANK, &ne) ||
            (av && !kw__sh_ints(c, av, "axes", axes, KW_ONNX_MAX_RANK, &na)) ||
            (tv && !kw__sh_ints(c, tv, "steps", steps, KW_ONNX_MAX_RANK, &nst)))
            return KW_STATUS_ERR_FORMAT;
        have_axes = av != NULL;
        have_steps = tv != NULL;
    }
    if (!have_axes) {
        na = ns;
        for (int i = 0; i < ns; i++) axes[i] = i;
    }
    if (!have_steps) {
        nst = ns;
        for (int i = 0; i < ns; i++) steps[i] = 1;
    }
    if (ne != ns || na != ns || nst != ns)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "starts, ends, axes and steps differ in length");
    int ax[KW_ONNX_MAX_RANK];
    if (!kw__sh_axes(c, axes, ns, r, ax)) return KW_STATUS_ERR_FORMAT;
    int64_t st[KW_ONNX_MAX_RANK], dims[KW_ONNX_MAX_RANK], vs[KW_ONNX_MAX_RANK];
    kw__strides(r, x->dims, st);
    memcpy(dims, x->dims, sizeof dims);
    memcpy(vs, st, sizeof vs);
    int64_t base = 0;
    for (int i = 0; i < ns; i++) {
        int k = ax[i];
        int64_t d = x->dims[k], s = starts[i], e = ends[i], step = steps[i];
        if (step == 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "step is 0");
        if (s < 0) s += d;
        if (e < 0) e += d;
        uint64_t cnt = 0;
        if (step > 0) {
            s = s < 0 ? 0 : (s > d ? d : s);
            e = e < 0 ? 0 : (e > d ? d : e);
            if (e > s) cnt = 1 + (uint64_t)(e - s - 1) / (uint64_t)step;
        } else {
            s = s < 0 ? 0 : (s > d - 1 ? d - 1 : s);
            e = e < -1 ? -1 : (e > d - 1 ? d - 1 : e);
            if (s > e) cnt = 1 + (uint64_t)(s - e - 1) / (0 - (uint64_t)step);
        }
        dims[k] = (int64_t)cnt;
        if (cnt) base += s * st[k];
        /* with two or more picks |step| < d, so this cannot overflow */
        vs[k] = cnt > 1 ? st[k] * step : st[k];
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (kw_onnx_numel(y) == 0) return KW_STATUS_OK;
    const char *src = (const char *)x->data +
                      (size_t)base * kw_onnx_dtype_size(x->dtype);
    if (!kw__sh_view_copy(c, x->dtype, y->data, src, r, dims, vs))
        return nomem(c);
    return KW_STATUS_OK;
}

enum kw_status kw__op_tile(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *rv = kw__sh_req(c, 1);
    if (!x || !rv) return KW_STATUS_ERR_FORMAT;
    int r = x->rank, n;
    int64_t rep[KW_ONNX_MAX_RANK], dims[KW_ONNX_MAX_RANK], st[KW_ONNX_MAX_RANK];
    if (!kw__sh_ints(c, rv, "repeats", rep, KW_ONNX_MAX_RANK, &n))
        return KW_STATUS_ERR_FORMAT;
    if (n != r)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "repeats has %d values for rank %d", n, r);
    for (int i = 0; i < r; i++)
        if (rep[i] < 0 ||
            __builtin_mul_overflow(x->dims[i], rep[i], &dims[i]))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "invalid repeats");
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    /* output axis i = (repeat, element) pairs: a 2r-rank view, stride 0 on
     * the repeat part */
    int64_t vd[KW_SH_MAX_VIEW], vs[KW_SH_MAX_VIEW];
    kw__strides(r, x->dims, st);
    for (int i = 0; i < r; i++) {
        vd[2 * i] = rep[i];
        vs[2 * i] = 0;
        vd[2 * i + 1] = x->dims[i];
        vs[2 * i + 1] = st[i];
    }
    if (!kw__sh_view_copy(c, x->dtype, y->data, x->data, 2 * r, vd, vs))
        return nomem(c);
    return KW_STATUS_OK;
}

/* One element (string-aware). */
static int put1(int dt, size_t es, char *dst, const char *src) {
    if (dt == KW_ONNX_STRING) return kw__sh_copy(dt, dst, src, 1);
    memcpy(dst, src, es);
    return 1;
}

enum kw_status kw__op_pad(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int r = x->rank, dt = x->dtype, np = 0;
    size_t es = kw_onnx_dtype_size(dt);
    int64_t pads[2 * KW_ONNX_MAX_RANK];
    const char *mode = kw__attr_s(c, "mode", "constant");
    /* fill value as one element of x's type */
    union { char b[16]; double d; char *s; } fill;
    memset(&fill, 0, sizeof fill);
    struct kw_onnx_value tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.kind = KW_ONNX_TENSOR;
    tmp.dtype = dt;
    tmp.data = fill.b;
    tmp.nbytes = es;
    static const char empty[1] = "";
    if (dt == KW_ONNX_STRING) fill.s = (char *)(uintptr_t)empty;
    int ax[KW_ONNX_MAX_RANK], nax = r;
    for (int i = 0; i < r; i++) ax[i] = i;
    if (c->opset < 11) {
        size_t n;
        const int64_t *p = kw__attr_ints(c, c->opset < 2 ? "paddings" : "pads",
                                         &n);
        if (!p || n > 2 * KW_ONNX_MAX_RANK)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "pads missing");
        memcpy(pads, p, n * 8);
        np = (int)n;
        double v = kw__attr_f(c, "value", 0.f);
        if (dt != KW_ONNX_STRING) kw__set_f64(&tmp, 0, v);
    } else {
        struct kw_onnx_value *pv = kw__sh_req(c, 1), *cv, *av;
        if (!pv || !kw__sh_opt(c, 2, &cv) || !kw__sh_opt(c, 3, &av))
            return KW_STATUS_ERR_FORMAT;
        if (!kw__sh_ints(c, pv, "pads", pads, 2 * KW_ONNX_MAX_RANK, &np))
            return KW_STATUS_ERR_FORMAT;
        if (cv && kw_onnx_numel(cv) >= 1) {
            if (cv->dtype == dt)
                memcpy(fill.b, cv->data, es);
            else if (dt != KW_ONNX_STRING && cv->dtype != KW_ONNX_STRING)
                kw__set_f64(&tmp, 0, kw__get_f64(cv, 0));
            else
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "constant_value type differs from data");
        }
        if (av) {
            int64_t a[KW_ONNX_MAX_RANK];
            if (!kw__sh_ints(c, av, "axes", a, KW_ONNX_MAX_RANK, &nax) ||
                !kw__sh_axes(c, a, nax, r, ax))
                return KW_STATUS_ERR_FORMAT;
        }
    }
    if (np != 2 * nax)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "%d pads for %d axes", np, nax);
    int m = !strcmp(mode, "constant") ? 0 : !strcmp(mode, "reflect") ? 1
            : !strcmp(mode, "edge") ? 2 : !strcmp(mode, "wrap") ? 3 : -1;
    if (m < 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "mode '%s'", mode);
    int64_t pb[KW_ONNX_MAX_RANK] = {0}, dims[KW_ONNX_MAX_RANK];
    int64_t total = 0;
    for (int i = 0; i < nax; i++) {
        pb[ax[i]] = pads[i];
        int64_t d = x->dims[ax[i]], e = pads[i + nax];
        if (__builtin_add_overflow(d, pads[i], &d) ||
            __builtin_add_overflow(d, e, &d) || d < 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "pads give axis %d a negative size", ax[i]);
        dims[ax[i]] = d;
        if (m && d > 0 && x->dims[ax[i]] == 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "cannot %s-pad an empty axis", mode);
    }
    for (int i = 0; i < r; i++) {
        int padded = 0;
        for (int j = 0; j < nax; j++) padded |= ax[j] == i;
        if (!padded) dims[i] = x->dims[i];
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (r == 0) return put1(dt, es, y->data, x->data) ? KW_STATUS_OK
                                                      : nomem(c);
    /* per axis: output index -> input index, or -1 for the fill value */
    for (int i = 0; i < r; i++) total += dims[i];
    int64_t *map = malloc((size_t)(total ? total : 1) * sizeof *map);
    if (!map) return nomem(c);
    int64_t *mp[KW_ONNX_MAX_RANK], *q = map;
    for (int i = 0; i < r; i++) {
        mp[i] = q;
        int64_t d = x->dims[i];
        for (int64_t o = 0; o < dims[i]; o++) {
            int64_t s = o - pb[i];
            if (s < 0 || s >= d) {
                if (m == 0) s = -1;
                else if (m == 2) s = s < 0 ? 0 : d - 1;
                else if (m == 3) s = ((s % d) + d) % d;
                else if (d == 1) s = 0;
                else { /* reflect without repeating the edge */
                    int64_t per = 2 * (d - 1);
                    s = ((s % per) + per) % per;
                    if (s >= d) s = per - s;
                }
            }
            q[o] = s;
        }
        q += dims[i];
    }
    int64_t st[KW_ONNX_MAX_RANK], idx[KW_ONNX_MAX_RANK] = {0};
    kw__strides(r, x->dims, st);
    int64_t rows = 1, w = dims[r - 1];
    for (int i = 0; i < r - 1; i++) rows *= dims[i];
    /* the identity stretch of the last axis, copied with one memcpy */
    int64_t lo = 0, hi = 0;
    while (lo < w && mp[r - 1][lo] < 0) lo++;
    for (hi = lo; hi < w && mp[r - 1][hi] >= 0 &&
                  mp[r - 1][hi] == mp[r - 1][lo] + (hi - lo);
         hi++) {
    }
    char *o = y->data;
    const char *src = x->data;
    enum kw_status ret = KW_STATUS_OK;
    for (int64_t row = 0; row < rows && ret == KW_STATUS_OK; row++) {
        int64_t off = 0;
        int fillrow = 0;
        for (int i = 0; i < r - 1; i++) {
            int64_t s = mp[i][idx[i]];
            if (s < 0) fillrow = 1;
            else off += s * st[i];
        }
        for (int64_t j = 0; j < w; j++) {
            char *dst = o + (size_t)j * es;
            int64_t s = fillrow ? -1 : mp[r - 1][j];
            if (!fillrow && j == lo && hi > lo && dt != KW_ONNX_STRING) {
                memcpy(dst, src + (size_t)(off + s) * es, (size_t)(hi - lo) * es);
                j = hi - 1;
                continue;
            }
            if (!put1(dt, es, dst, s < 0 ? fill.b : src + (size_t)(off + s) * es)) {
                ret = nomem(c);
                break;
            }
        }
        o += (size_t)w * es;
        for (int i = r - 2; i >= 0; i--) {
            if (++idx[i] < dims[i]) break;
            idx[i] = 0;
        }
    }
    free(map);
    return ret;
}

/* DepthToSpace / SpaceToDepth as one 6-D view each. */
static enum kw_status depth_space(struct kw__op_ctx *c, int to_space) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    if (x->rank != 4)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be 4-D");
    int64_t b = kw__attr_i(c, "blocksize", 0);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (b <= 0 || b > (1 << 20))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "invalid blocksize");
    int64_t od[4], vd[6], vs[6];
    if (to_space) {
        if (C % (b * b))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "channels %lld not divisible by blocksize^2",
                               (long long)C);
        int64_t C2 = C / (b * b);
        const char *mode = kw__attr_s(c, "mode", "DCR");
        int dcr = !strcmp(mode, "DCR");
        if (!dcr && strcmp(mode, "CRD"))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "mode '%s'", mode);
        od[0] = N; od[1] = C2; od[2] = H * b; od[3] = W * b;
        /* output walk (n, c', h, b1, w, b2) */
        int64_t sb1 = dcr ? b * C2 * H * W : b * H * W;
        int64_t sb2 = dcr ? C2 * H * W : H * W;
        int64_t sc = dcr ? H * W : b * b * H * W;
        int64_t v[6] = {N, C2, H, b, W, b}, s[6] = {C * H * W, sc, W, sb1, 1,
                                                    sb2};
        memcpy(vd, v, sizeof v);
        memcpy(vs, s, sizeof s);
    } else {
        if (H % b || W % b)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "spatial size not divisible by blocksize");
        od[0] = N; od[1] = C * b * b; od[2] = H / b; od[3] = W / b;
        /* output walk (n, b1, b2, c, h', w') */
        int64_t v[6] = {N, b, b, C, H / b, W / b},
                s[6] = {C * H * W, W, 1, H * W, b * W, b};
        memcpy(vd, v, sizeof v);
        memcpy(vs, s, sizeof s);
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, 4, od);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (!kw__sh_view_copy(c, x->dtype, y->data, x->data, 6, vd, vs))
        return nomem(c);
    return KW_STATUS_OK;
}

enum kw_status kw__op_depth_to_space(struct kw__op_ctx *c) {
    return depth_space(c, 1);
}
enum kw_status kw__op_space_to_depth(struct kw__op_ctx *c) {
    return depth_space(c, 0);
}

enum kw_status kw__op_trilu(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *kv;
    if (!x || !kw__sh_opt(c, 1, &kv)) return KW_STATUS_ERR_FORMAT;
    if (x->rank < 2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input rank below 2");
    int64_t k = 0;
    if (kv && !kw__sh_scalar_i(c, kv, "k", &k)) return KW_STATUS_ERR_FORMAT;
    int upper = (int)kw__attr_i(c, "upper", 1);
    struct kw_onnx_value *y = kw__tensor_like(x);
    if (!y) return nomem(c);
    kw__out_set(c, 0, y);
    int64_t R = x->dims[x->rank - 2], C = x->dims[x->rank - 1];
    int64_t mats = (R > 0 && C > 0) ? kw_onnx_numel(x) / (R * C) : 0;
    /* clamp k so i + k cannot overflow */
    if (k > C + 1) k = C + 1;
    if (k < -R - 1) k = -R - 1;
    size_t es = kw_onnx_dtype_size(x->dtype);
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < R; i++) {
            /* kept columns: j - i >= k (upper) or j - i <= k (lower) */
            int64_t j0 = upper ? i + k : 0, j1 = upper ? C : i + k + 1;
            if (j0 < 0) j0 = 0;
            if (j1 > C) j1 = C;
            if (j1 <= j0) continue;
            size_t at = (size_t)((m * R + i) * C + j0);
            if (!kw__sh_copy(x->dtype, (char *)y->data + at * es,
                             (const char *)x->data + at * es,
                             (size_t)(j1 - j0)))
                return nomem(c);
        }
    return KW_STATUS_OK;
}

enum kw_status kw__op_reverse_sequence(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *lv = kw__sh_req(c, 1);
    if (!x || !lv) return KW_STATUS_ERR_FORMAT;
    int64_t ba = kw__attr_i(c, "batch_axis", 1), ta = kw__attr_i(c, "time_axis", 0);
    if (x->rank < 2 || !((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "needs rank >= 2 and batch/time axes 0 and 1");
    int64_t B = x->dims[ba], T = x->dims[ta], inner = 1;
    for (int i = 2; i < x->rank; i++) inner *= x->dims[i];
    if (!kw__dtype_is_int(lv->dtype) || kw_onnx_numel(lv) != B)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "sequence_lens must hold %lld integers",
                           (long long)B);
    struct kw_onnx_value *y = kw__tensor_like(x);
    if (!y) return nomem(c);
    kw__out_set(c, 0, y);
    int64_t sb = ba == 0 ? x->dims[1] * inner : inner;
    int64_t stt = ta == 0 ? x->dims[1] * inner : inner;
    size_t es = kw_onnx_dtype_size(x->dtype);
    for (int64_t b = 0; b < B; b++) {
        int64_t len = kw__get_i64(lv, b);
        if (len < 0 || len > T)
            return kw__op_fail(c, KW_STATUS_ERR_INVALID_ARG,
                               "sequence length %lld outside [0, %lld]",
                               (long long)len, (long long)T);
        for (int64_t t = 0; t < T; t++) {
            int64_t from = t < len ? len - 1 - t : t;
            if (!kw__sh_copy(x->dtype,
                             (char *)y->data + (size_t)(b * sb + t * stt) * es,
                             (const char *)x->data +
                                 (size_t)(b * sb + from * stt) * es,
                             (size_t)inner))
                return nomem(c);
        }
    }
    return KW_STATUS_OK;
}
