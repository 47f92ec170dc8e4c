/*
 * shape.c — operator family 'shape' (table kw__ops_shape): shape queries
 * and reshapes (Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Expand),
 * constant makers (Constant, ConstantOfShape, Range, EyeLike) and Dropout.
 * The indexing/layout/sorting operators of the family live in gather.c,
 * layout.c and sort.c; all are registered in the table at the end.
 */
#include "onnx/ops/shape_util.h"

static enum kw_status op_shape(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int64_t r = x->rank, start = 0, end = r;
    if (c->opset >= 15) {
        start = kw__attr_i(c, "start", 0);
        end = kw__attr_i(c, "end", r);
        /* negative counts from the back; both clamp to [0, rank] */
        if (start < 0) start = start < -r ? 0 : start + r;
        if (end < 0) end = end < -r ? 0 : end + r;
        if (start > r) start = r;
        if (end > r) end = r;
    }
    int64_t n = end > start ? end - start : 0;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, KW_ONNX_INT64, 1, &n);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t *o = y->data;
    for (int64_t i = 0; i < n; i++) o[i] = x->dims[start + i];
    return KW_STATUS_OK;
}

static enum kw_status op_size(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, KW_ONNX_INT64, 0, NULL);
    if (!y) return KW_STATUS_ERR_NOMEM;
    *(int64_t *)y->data = kw_onnx_numel(x);
    return KW_STATUS_OK;
}

static enum kw_status op_reshape(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *sv;
    if (!x) return KW_STATUS_ERR_FORMAT;
    int64_t shape[KW_ONNX_MAX_RANK];
    int n = 0;
    if (c->opset < 5) {
        size_t na;
        const int64_t *a = kw__attr_ints(c, "shape", &na);
        if (!a || na > KW_ONNX_MAX_RANK)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "attribute 'shape' missing or too long");
        n = (int)na;
        memcpy(shape, a, na * sizeof *a);
    } else {
        if (!(sv = kw__sh_req(c, 1))) return KW_STATUS_ERR_FORMAT;
        if (!kw__sh_ints(c, sv, "shape", shape, KW_ONNX_MAX_RANK, &n))
            return KW_STATUS_ERR_FORMAT;
    }
    int allowzero = c->opset >= 14 && kw__attr_i(c, "allowzero", 0);
    int infer = -1;
    uint64_t known = 1;
    for (int i = 0; i < n; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= x->rank)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "shape[%d] = 0 copies a missing dimension",
                                   i);
            shape[i] = x->dims[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "more than one -1 in shape");
            infer = i;
            continue;
        }
        if (shape[i] < 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "invalid dimension %lld in shape",
                               (long long)shape[i]);
        if (!kw__mul_u64(known, (uint64_t)shape[i], &known) ||
            known > (uint64_t)INT64_MAX)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "shape overflows");
    }
    int64_t total = kw_onnx_numel(x);
    if (infer >= 0) {
        if (known == 0 || (uint64_t)total % known)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "cannot infer -1: %lld elements over %llu",
                               (long long)total, (unsigned long long)known);
        shape[infer] = total / (int64_t)known;
    } else if (known != (uint64_t)total) {
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "cannot reshape %lld elements into %llu",
                           (long long)total, (unsigned long long)known);
    }
    return kw__sh_out_reshaped(c, 0, x, n, shape);
}

static enum kw_status op_flatten(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int64_t axis = kw__attr_i(c, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "axis %lld out of range for rank %d",
                           (long long)kw__attr_i(c, "axis", 1), x->rank);
    int64_t d[2] = {1, 1};
    for (int i = 0; i < x->rank; i++) d[i >= axis] *= x->dims[i];
    return kw__sh_out_reshaped(c, 0, x, 2, d);
}

/* The axes of Squeeze/Unsqueeze: an attribute before opset 13, then an
 * optional input. *have = 0 when none given. */
static int read_axes(struct kw__op_ctx *c, int64_t *axes, int *n, int *have) {
    *n = 0;
    *have = 0;
    if (c->opset < 13) {
        size_t na;
        const int64_t *a = kw__attr_ints(c, "axes", &na);
        if (!a) return 1;
        if (na > KW_ONNX_MAX_RANK * 2) {
            kw__op_fail(c, KW_STATUS_ERR_FORMAT, "too many axes");
            return 0;
        }
        memcpy(axes, a, na * sizeof *a);
        *n = (int)na;
        *have = 1;
        return 1;
    }
    struct kw_onnx_value *av;
    if (!kw__sh_opt(c, 1, &av)) return 0;
    if (!av) return 1;
    *have = 1;
    return kw__sh_ints(c, av, "axes", axes, KW_ONNX_MAX_RANK * 2, n);
}

static enum kw_status op_squeeze(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int64_t axes[KW_ONNX_MAX_RANK * 2];
    int n, have, ax[KW_ONNX_MAX_RANK * 2];
    if (!read_axes(c, axes, &n, &have)) return KW_STATUS_ERR_FORMAT;
    int drop[KW_ONNX_MAX_RANK] = {0};
    if (have) {
        if (!kw__sh_axes(c, axes, n, x->rank, ax))
            return KW_STATUS_ERR_FORMAT;
        for (int i = 0; i < n; i++) {
            if (x->dims[ax[i]] != 1)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "cannot squeeze axis %d of size %lld",
                                   ax[i], (long long)x->dims[ax[i]]);
            drop[ax[i]] = 1;
        }
    } else {
        for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
    }
    int64_t d[KW_ONNX_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i]) d[r++] = x->dims[i];
    return kw__sh_out_reshaped(c, 0, x, r, d);
}

static enum kw_status op_unsqueeze(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    int64_t axes[KW_ONNX_MAX_RANK * 2];
    int n, have, ax[KW_ONNX_MAX_RANK * 2];
    if (!read_axes(c, axes, &n, &have)) return KW_STATUS_ERR_FORMAT;
    if (!have)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "axes are required");
    int r = x->rank + n;
    if (r > KW_ONNX_MAX_RANK)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "result rank %d exceeds %d", r, KW_ONNX_MAX_RANK);
    if (!kw__sh_axes(c, axes, n, r, ax)) return KW_STATUS_ERR_FORMAT;
    int ins[KW_ONNX_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) ins[ax[i]] = 1;
    int64_t d[KW_ONNX_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) d[i] = ins[i] ? 1 : x->dims[j++];
    return kw__sh_out_reshaped(c, 0, x, r, d);
}

static enum kw_status op_expand(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *sv = kw__sh_req(c, 1);
    if (!x || !sv) return KW_STATUS_ERR_FORMAT;
    int64_t shape[KW_ONNX_MAX_RANK], dims[KW_ONNX_MAX_RANK];
    int n, r;
    if (!kw__sh_ints(c, sv, "shape", shape, KW_ONNX_MAX_RANK, &n))
        return KW_STATUS_ERR_FORMAT;
    for (int i = 0; i < n; i++)
        if (shape[i] < 0)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "negative dimension in shape");
    if (!kw__broadcast(x->rank, x->dims, n, shape, &r, dims))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "shape does not broadcast with the input");
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, r, dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t st[KW_ONNX_MAX_RANK];
    kw__bcast_strides(x->rank, x->dims, r, dims, st);
    if (!kw__sh_view_copy(c, x->dtype, y->data, x->data, r, dims, st))
        return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    return KW_STATUS_OK;
}

/* ---- constants ---- */

static enum kw_status op_constant(struct kw__op_ctx *c) {
    const struct kw__node *nd = c->node;
    for (int i = 0; i < nd->n_attrs; i++) {
        const struct kw__attr *a = &nd->attrs[i];
        struct kw_onnx_value *y = NULL;
        int64_t n = (int64_t)a->n;
        if (!strcmp(a->name, "value") && a->type == KW_ATTR_TENSOR && a->t) {
            y = kw__value_clone(a->t);
            if (!y) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
            kw__out_set(c, 0, y);
            return KW_STATUS_OK;
        } else if (!strcmp(a->name, "value_float") &&
                   a->type == KW_ATTR_FLOAT) {
            if (!(y = kw__out_tensor(c, 0, KW_ONNX_FLOAT, 0, NULL)))
                return KW_STATUS_ERR_NOMEM;
            *(float *)y->data = a->f;
        } else if (!strcmp(a->name, "value_int") && a->type == KW_ATTR_INT) {
            if (!(y = kw__out_tensor(c, 0, KW_ONNX_INT64, 0, NULL)))
                return KW_STATUS_ERR_NOMEM;
            *(int64_t *)y->data = a->i;
        } else if (!strcmp(a->name, "value_floats") &&
                   a->type == KW_ATTR_FLOATS) {
            if (!(y = kw__out_tensor(c, 0, KW_ONNX_FLOAT, 1, &n)))
                return KW_STATUS_ERR_NOMEM;
            if (n) memcpy(y->data, a->floats, a->n * sizeof(float));
        } else if (!strcmp(a->name, "value_ints") &&
                   a->type == KW_ATTR_INTS) {
            if (!(y = kw__out_tensor(c, 0, KW_ONNX_INT64, 1, &n)))
                return KW_STATUS_ERR_NOMEM;
            if (n) memcpy(y->data, a->ints, a->n * sizeof(int64_t));
        } else if (!strcmp(a->name, "value_string") &&
                   a->type == KW_ATTR_STRING) {
            if (!(y = kw__out_tensor(c, 0, KW_ONNX_STRING, 0, NULL)))
                return KW_STATUS_ERR_NOMEM;
            const char *s = a->s ? a->s : "";
            if (!kw__sh_copy(KW_ONNX_STRING, y->data, &s, 1))
                return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        } else if (!strcmp(a->name, "value_strings") &&
                   a->type == KW_ATTR_STRINGS) {
            if (!(y = kw__out_tensor(c, 0, KW_ONNX_STRING, 1, &n)))
                return KW_STATUS_ERR_NOMEM;
            if (!kw__sh_copy(KW_ONNX_STRING, y->data, a->strings, a->n))
                return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        } else if (!strcmp(a->name, "sparse_value")) {
            return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                               "sparse_value is not supported");
        } else {
            continue;
        }
        return KW_STATUS_OK;
    }
    return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "no value attribute");
}

static enum kw_status op_constant_of_shape(struct kw__op_ctx *c) {
    struct kw_onnx_value *sv = kw__sh_req(c, 0);
    if (!sv) return KW_STATUS_ERR_FORMAT;
    int64_t shape[KW_ONNX_MAX_RANK];
    int n;
    if (!kw__sh_ints(c, sv, "shape", shape, KW_ONNX_MAX_RANK, &n))
        return KW_STATUS_ERR_FORMAT;
    const struct kw__attr *a = kw__attr(c->node, "value");
    const struct kw_onnx_value *val = NULL;
    if (a && a->type == KW_ATTR_TENSOR && a->t) {
        val = a->t;
        if (!kw__is_tensor(val) || kw_onnx_numel(val) != 1)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "value must hold one element");
    }
    int dt = val ? val->dtype : KW_ONNX_FLOAT;
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, n, shape);
    if (!y) return KW_STATUS_ERR_NOMEM;
    if (!val) return KW_STATUS_OK; /* zeros */
    size_t es = kw_onnx_dtype_size(dt);
    int64_t cnt = kw_onnx_numel(y);
    if (dt == KW_ONNX_STRING) {
        for (int64_t i = 0; i < cnt; i++)
            if (!kw__sh_copy(dt, (char **)y->data + i, val->data, 1))
                return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        return KW_STATUS_OK;
    }
    char *o = y->data;
    for (int64_t i = 0; i < cnt; i++) memcpy(o + (size_t)i * es, val->data, es);
    return KW_STATUS_OK;
}

static enum kw_status op_range(struct kw__op_ctx *c) {
    struct kw_onnx_value *s = kw__sh_req(c, 0), *l = kw__sh_req(c, 1),
                         *d = kw__sh_req(c, 2);
    if (!s || !l || !d) return KW_STATUS_ERR_FORMAT;
    int dt = s->dtype;
    if (l->dtype != dt || d->dtype != dt || kw_onnx_numel(s) != 1 ||
        kw_onnx_numel(l) != 1 || kw_onnx_numel(d) != 1 ||
        !(kw__dtype_is_float(dt) || kw__dtype_is_int(dt)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "start, limit and delta must be numeric scalars "
                           "of one type");
    int64_t n;
    if (kw__dtype_is_float(dt)) {
        double a = kw__get_f64(s, 0), b = kw__get_f64(l, 0),
               e = kw__get_f64(d, 0);
        double cnt = ceil((b - a) / e);
        if (e == 0 || !(cnt == cnt) || cnt > 1e12)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "invalid range (%g, %g, %g)", a, b, e);
        n = cnt > 0 ? (int64_t)cnt : 0;
        struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, 1, &n);
        if (!y) return KW_STATUS_ERR_NOMEM;
        for (int64_t i = 0; i < n; i++) kw__set_f64(y, i, a + (double)i * e);
        return KW_STATUS_OK;
    }
    int64_t a = kw__get_i64(s, 0), b = kw__get_i64(l, 0),
            e = kw__get_i64(d, 0);
    if (e == 0) return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "delta is 0");
    /* count = ceil((b - a) / e), done in unsigned to survive extremes */
    uint64_t span, step = e > 0 ? (uint64_t)e : 0 - (uint64_t)e;
    if (e > 0 ? b <= a : b >= a) {
        n = 0;
    } else {
        span = e > 0 ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b;
        uint64_t cnt = 1 + (span - 1) / step;
        if (cnt > ((uint64_t)1 << 40))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "range too long");
        n = (int64_t)cnt;
    }
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, 1, &n);
    if (!y) return KW_STATUS_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++)
        kw__set_i64(y, i, (int64_t)((uint64_t)a + (uint64_t)i * (uint64_t)e));
    return KW_STATUS_OK;
}

static enum kw_status op_eyelike(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0);
    if (!x) return KW_STATUS_ERR_FORMAT;
    if (x->rank != 2)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input must be 2-D");
    int dt = (int)kw__attr_i(c, "dtype", x->dtype);
    if (!(kw__dtype_is_float(dt) || kw__dtype_is_int(dt) ||
          dt == KW_ONNX_BOOL))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "dtype %s",
                           kw_onnx_dtype_name(dt));
    struct kw_onnx_value *y = kw__out_tensor(c, 0, dt, 2, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t k = kw__attr_i(c, "k", 0), rows = x->dims[0], cols = x->dims[1];
    for (int64_t i = 0; i < rows; i++) {
        /* column i + k, compared without overflowing for huge k */
        if (k >= cols || k <= -rows) break;
        int64_t j = i + k;
        if (j >= 0 && j < cols) kw__set_f64(y, i * cols + j, 1.0);
    }
    return KW_STATUS_OK;
}

/* ---- Dropout ---- */

static enum kw_status op_dropout(struct kw__op_ctx *c) {
    struct kw_onnx_value *x = kw__sh_req(c, 0), *rv, *tv;
    if (!x) return KW_STATUS_ERR_FORMAT;
    double ratio = kw__attr_f(c, "ratio", 0.5f);
    int training = 0;
    if (c->opset >= 12) {
        if (!kw__sh_opt(c, 1, &rv) || !kw__sh_opt(c, 2, &tv))
            return KW_STATUS_ERR_FORMAT;
        if (rv) {
            if (kw_onnx_numel(rv) != 1)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "ratio must be a scalar");
            ratio = kw__get_f64(rv, 0);
        }
        if (tv) {
            if (kw_onnx_numel(tv) != 1)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "training_mode must be a scalar");
            training = kw__get_f64(tv, 0) != 0;
        }
    }
    /* before opset 12 (is_test, ratio attributes) inference is identity */
    if (!(ratio >= 0 && ratio < 1) && training)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "ratio %g outside [0, 1)", ratio);
    if (training && ratio > 0 && !kw__dtype_is_float(x->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "training dropout of %s",
                           kw_onnx_dtype_name(x->dtype));
    struct kw_onnx_value *y = kw__out_tensor(c, 0, x->dtype, x->rank, x->dims);
    if (!y) return KW_STATUS_ERR_NOMEM;
    int64_t n = kw_onnx_numel(x);
    struct kw_onnx_value *m = NULL;
    if (kw__out_wanted(c, 1)) {
        int mt = c->opset >= 10 ? KW_ONNX_BOOL : x->dtype;
        if (!(m = kw__out_tensor(c, 1, mt, x->rank, x->dims)))
            return KW_STATUS_ERR_NOMEM;
    }
    if (!training || ratio == 0) {
        if (!kw__sh_copy(x->dtype, y->data, x->data, (size_t)n))
            return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        if (m) for (int64_t i = 0; i < n; i++) kw__set_f64(m, i, 1.0);
        return KW_STATUS_OK;
    }
    /* training: keep each element with probability 1 - ratio, scaled up */
    uint64_t st = (uint64_t)kw__attr_i(c, "seed", 0) * 0x9E3779B97F4A7C15ull +
                  0x2545F4914F6CDD1Dull;
    double scale = 1.0 / (1.0 - ratio);
    for (int64_t i = 0; i < n; i++) {
        st ^= st >> 12;
        st ^= st << 25;
        st ^= st >> 27;
        double u = (double)((st * 0x2545F4914F6CDD1Dull) >> 11) * 0x1p-53;
        int keep = u >= ratio;
        kw__set_f64(y, i, keep ? kw__get_f64(x, i) * scale : 0.0);
        if (m) kw__set_f64(m, i, keep);
    }
    return KW_STATUS_OK;
}

const struct kw__op kw__ops_shape[] = {
    {"", "Shape", 1, 0, op_shape},
    {"", "Size", 1, 0, op_size},
    {"", "Reshape", 1, 0, op_reshape},
    {"", "Flatten", 1, 0, op_flatten},
    {"", "Squeeze", 1, 0, op_squeeze},
    {"", "Unsqueeze", 1, 0, op_unsqueeze},
    {"", "Expand", 8, 0, op_expand},
    {"", "Constant", 1, 0, op_constant},
    {"", "ConstantOfShape", 9, 0, op_constant_of_shape},
    {"", "Range", 11, 0, op_range},
    {"", "EyeLike", 9, 0, op_eyelike},
    {"", "Dropout", 1, 0, op_dropout},
    {"", "Transpose", 1, 0, kw__op_transpose},
    {"", "Concat", 1, 0, kw__op_concat},
    {"", "Split", 1, 0, kw__op_split},
    {"", "Slice", 1, 0, kw__op_slice},
    {"", "Tile", 1, 0, kw__op_tile},
    {"", "Pad", 1, 0, kw__op_pad},
    {"", "DepthToSpace", 1, 0, kw__op_depth_to_space},
    {"", "SpaceToDepth", 1, 0, kw__op_space_to_depth},
    {"", "Trilu", 14, 0, kw__op_trilu},
    {"", "ReverseSequence", 10, 0, kw__op_reverse_sequence},
    {"", "Gather", 1, 0, kw__op_gather},
    {"", "GatherElements", 11, 0, kw__op_gather_elements},
    {"", "GatherND", 11, 0, kw__op_gather_nd},
    {"", "Scatter", 9, 10, kw__op_scatter_elements},
    {"", "ScatterElements", 11, 0, kw__op_scatter_elements},
    {"", "ScatterND", 11, 0, kw__op_scatter_nd},
    {"", "OneHot", 9, 0, kw__op_onehot},
    {"", "Compress", 9, 0, kw__op_compress},
    {"", "NonZero", 9, 0, kw__op_nonzero},
    {"", "Unique", 11, 0, kw__op_unique},
    {"", "TopK", 1, 0, kw__op_topk},
    {"", "ArgMax", 1, 0, kw__op_argmax},
    {"", "ArgMin", 1, 0, kw__op_argmin},
    {"", "CumSum", 11, 0, kw__op_cumsum},
    {0},
};
