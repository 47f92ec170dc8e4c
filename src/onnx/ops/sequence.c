/*
 * sequence.c — tensor sequences and optionals: SequenceEmpty/Construct/
 * Insert/At/Erase/Length, SplitToSequence, ConcatFromSequence, Optional,
 * OptionalHasElement, OptionalGetElement (registered in control.c), plus
 * the slice/stack copies Loop and Scan share (kw__axis_copy,
 * kw__stack_out) and kw__optional_new.
 */
#include "onnx/ops/control_util.h"

#include <stdlib.h>
#include <string.h>

/* ---- shared helpers ---- */

int kw__axis_copy(struct kw_onnx_value *dst, int64_t dst_axis, int64_t dst_pos,
                  const struct kw_onnx_value *src, int64_t src_axis,
                  int64_t src_pos, int64_t count, int64_t outer,
                  int64_t inner) {
    size_t run = (size_t)(count * inner);
    if (dst->dtype == KW_ONNX_STRING) {
        char **d = dst->data;
        char *const *s = src->data;
        for (int64_t o = 0; o < outer; o++) {
            char **dp = d + (o * dst_axis + dst_pos) * inner;
            char *const *sp = s + (o * src_axis + src_pos) * inner;
            for (size_t i = 0; i < run; i++) {
                const char *str = sp[i] ? sp[i] : "";
                size_t len = strlen(str);
                char *copy = malloc(len + 1);
                if (!copy) return 0;
                memcpy(copy, str, len + 1);
                free(dp[i]);
                dp[i] = copy;
            }
        }
        return 1;
    }
    size_t es = kw_onnx_dtype_size(dst->dtype);
    if (!run || !es) return 1;
    for (int64_t o = 0; o < outer; o++)
        memcpy((char *)dst->data +
                   (size_t)((o * dst_axis + dst_pos) * inner) * es,
               (const char *)src->data +
                   (size_t)((o * src_axis + src_pos) * inner) * es,
               run * es);
    return 1;
}

static int same_shape(const struct kw_onnx_value *a,
                      const struct kw_onnx_value *b) {
    if (a->dtype != b->dtype || a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

enum kw_status kw__stack_out(struct kw__op_ctx *c, int k,
                             struct kw_onnx_value *const *vals, int64_t n,
                             int n_lead, const int64_t *lead, int64_t axis,
                             int reverse, const struct kw__type_info *decl) {
    if (!kw__out_wanted(c, k)) return KW_STATUS_OK;
    const struct kw_onnx_value *tmpl = NULL;
    for (int64_t i = 0; i < n && !tmpl; i++) tmpl = vals[i];
    int dtype, srank;
    int64_t sdims[KW_ONNX_MAX_RANK];
    if (tmpl) {
        if (!kw__is_tensor(tmpl))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "scan output %d is not a tensor", k);
        dtype = tmpl->dtype;
        srank = tmpl->rank;
        memcpy(sdims, tmpl->dims, sizeof sdims);
    } else {
        /* nothing produced (zero iterations): shape from the declaration */
        dtype =
            decl && decl->known && decl->dtype ? decl->dtype : KW_ONNX_FLOAT;
        srank = decl && decl->known && decl->rank > 0 ? decl->rank : 0;
        for (int d = 0; d < srank; d++)
            sdims[d] = decl->dims[d] > 0 ? decl->dims[d] : 0;
    }
    if (n_lead < 1 || srank + n_lead > KW_ONNX_MAX_RANK)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "stacked output %d has rank above %d", k,
                           KW_ONNX_MAX_RANK);
    if (axis < 0 || axis > srank)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "output axis %lld out of range for rank %d",
                           (long long)axis, srank);
    for (int64_t i = 0; i < n; i++)
        if (vals[i] && (!kw__is_tensor(vals[i]) || !same_shape(vals[i], tmpl)))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "output %d: slices differ in dtype or shape", k);
    int64_t dims[KW_ONNX_MAX_RANK];
    int r = 0;
    for (int d = 0; d < axis; d++) dims[r++] = sdims[d];
    for (int d = 0; d < n_lead; d++) dims[r++] = lead[d];
    for (int d = (int)axis; d < srank; d++) dims[r++] = sdims[d];
    struct kw_onnx_value *out = kw__out_tensor(c, k, dtype, r, dims);
    if (!out) return KW_STATUS_ERR_NOMEM;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= sdims[d];
    for (int d = (int)axis; d < srank; d++) inner *= sdims[d];
    for (int64_t i = 0; i < n; i++) {
        if (!vals[i]) continue;
        int64_t pos = reverse ? n - 1 - i : i;
        if (!kw__axis_copy(out, n, pos, vals[i], 1, 0, 1, outer, inner))
            return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    return KW_STATUS_OK;
}

struct kw_onnx_value *kw__optional_new(struct kw_onnx_value *item,
                                       int elem_dtype) {
    /* built as a sequence so the items array is allocated the way
     * kw_onnx_value_free expects, then relabelled */
    struct kw_onnx_value *o = kw__sequence_new(elem_dtype);
    if (!o) {
        kw_onnx_value_free(item);
        return NULL;
    }
    if (item && !kw__sequence_push(o, item)) {
        kw_onnx_value_free(item);
        kw_onnx_value_free(o);
        return NULL;
    }
    o->kind = KW_ONNX_OPTIONAL;
    return o;
}

/* ---- argument checks ---- */

static enum kw_status need_seq(struct kw__op_ctx *c, int k,
                               const struct kw_onnx_value **out) {
    const struct kw_onnx_value *v = kw__in(c, k);
    if (!v || v->kind != KW_ONNX_SEQUENCE)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input %d must be a sequence", k);
    *out = v;
    return KW_STATUS_OK;
}

static enum kw_status need_tensor(struct kw__op_ctx *c, int k,
                                  const struct kw_onnx_value **out) {
    const struct kw_onnx_value *v = kw__in(c, k);
    if (!kw__is_tensor(v))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input %d must be a tensor",
                           k);
    *out = v;
    return KW_STATUS_OK;
}

/* A position input (int32/int64, one element); *has = 0 when absent. */
static enum kw_status get_position(struct kw__op_ctx *c, int k, int *has,
                                   int64_t *pos) {
    const struct kw_onnx_value *p = kw__in(c, k);
    *has = 0;
    if (!p) return KW_STATUS_OK;
    if (!kw__is_tensor(p) ||
        (p->dtype != KW_ONNX_INT32 && p->dtype != KW_ONNX_INT64) ||
        kw_onnx_numel(p) != 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "position must be one int32/int64 element");
    *has = 1;
    *pos = kw__get_i64(p, 0);
    return KW_STATUS_OK;
}

static int seq_elem_dtype(const struct kw_onnx_value *s) {
    if (s->n_items && s->items[0] && kw__is_tensor(s->items[0]))
        return s->items[0]->dtype;
    return s->elem_dtype;
}

/* Copy of s's items [0, n) except index skip (-1: none) with extra (taken;
 * may be NULL) inserted before index at (-1: none). */
static struct kw_onnx_value *seq_rebuild(const struct kw_onnx_value *s,
                                         int elem_dtype, int64_t skip,
                                         struct kw_onnx_value *extra,
                                         int64_t at) {
    struct kw_onnx_value *o = kw__sequence_new(elem_dtype);
    if (!o) goto fail;
    for (int64_t i = 0; i <= (int64_t)s->n_items; i++) {
        if (i == at) {
            struct kw_onnx_value *e = extra;
            extra = NULL;
            if (!kw__sequence_push(o, e)) {
                kw_onnx_value_free(e);
                goto fail;
            }
        }
        if (i == (int64_t)s->n_items) break;
        if (i == skip) continue;
        struct kw_onnx_value *e = kw__value_clone(s->items[i]);
        if (!e || !kw__sequence_push(o, e)) {
            kw_onnx_value_free(e);
            goto fail;
        }
    }
    kw_onnx_value_free(extra);
    return o;
fail:
    kw_onnx_value_free(extra);
    kw_onnx_value_free(o);
    return NULL;
}

static enum kw_status nomem(struct kw__op_ctx *c) {
    return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
}

/* Sets output 0 to v (NULL: out of memory). */
static enum kw_status set0(struct kw__op_ctx *c, struct kw_onnx_value *v) {
    if (!v) return nomem(c);
    if (kw__out_wanted(c, 0))
        kw__out_set(c, 0, v);
    else
        kw_onnx_value_free(v);
    return KW_STATUS_OK;
}

/* ---- sequence operators ---- */

enum kw_status kw__op_sequence_empty(struct kw__op_ctx *c) {
    int64_t dt = kw__attr_i(c, "dtype", KW_ONNX_FLOAT);
    if (!kw_onnx_dtype_size((int)dt) || dt > KW_ONNX_BFLOAT16)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "unknown dtype %lld",
                           (long long)dt);
    return set0(c, kw__sequence_new((int)dt));
}

enum kw_status kw__op_sequence_construct(struct kw__op_ctx *c) {
    if (c->n_in < 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "needs an input");
    const struct kw_onnx_value *first = NULL;
    enum kw_status st = need_tensor(c, 0, &first);
    if (st) return st;
    for (int k = 1; k < c->n_in; k++) {
        const struct kw_onnx_value *t = NULL;
        if ((st = need_tensor(c, k, &t))) return st;
        if (t->dtype != first->dtype)
            return kw__op_fail(
                c, KW_STATUS_ERR_FORMAT, "inputs differ in dtype (%s, %s)",
                kw_onnx_dtype_name(first->dtype), kw_onnx_dtype_name(t->dtype));
    }
    struct kw_onnx_value *o = kw__sequence_new(first->dtype);
    if (!o) return nomem(c);
    for (int k = 0; k < c->n_in; k++) {
        struct kw_onnx_value *e = kw__value_clone(c->in[k]);
        if (!e || !kw__sequence_push(o, e)) {
            kw_onnx_value_free(e);
            kw_onnx_value_free(o);
            return nomem(c);
        }
    }
    return set0(c, o);
}

enum kw_status kw__op_sequence_insert(struct kw__op_ctx *c) {
    const struct kw_onnx_value *s = NULL, *t = NULL;
    enum kw_status st;
    int has;
    int64_t pos = 0;
    if ((st = need_seq(c, 0, &s)) || (st = need_tensor(c, 1, &t)) ||
        (st = get_position(c, 2, &has, &pos)))
        return st;
    int64_t n = (int64_t)s->n_items;
    if (!has) pos = n;
    if (pos < -n || pos > n)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "position %lld out of range [%lld, %lld]",
                           (long long)pos, (long long)-n, (long long)n);
    if (pos < 0) pos += n;
    /* an empty sequence's declared type is not trusted (files name the
     * element kind there, not the dtype) */
    if (n && seq_elem_dtype(s) != t->dtype)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "tensor dtype %s differs from the sequence's %s",
                           kw_onnx_dtype_name(t->dtype),
                           kw_onnx_dtype_name(seq_elem_dtype(s)));
    struct kw_onnx_value *e = kw__value_clone(t);
    if (!e) return nomem(c);
    return set0(c, seq_rebuild(s, t->dtype, -1, e, pos));
}

enum kw_status kw__op_sequence_at(struct kw__op_ctx *c) {
    const struct kw_onnx_value *s = NULL;
    enum kw_status st;
    int has;
    int64_t pos = 0;
    if ((st = need_seq(c, 0, &s)) || (st = get_position(c, 1, &has, &pos)))
        return st;
    int64_t n = (int64_t)s->n_items;
    if (!has)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "position is required");
    if (pos < -n || pos >= n)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "position %lld out of range for %lld items",
                           (long long)pos, (long long)n);
    if (pos < 0) pos += n;
    return set0(c, kw__value_clone(s->items[pos]));
}

enum kw_status kw__op_sequence_erase(struct kw__op_ctx *c) {
    const struct kw_onnx_value *s = NULL;
    enum kw_status st;
    int has;
    int64_t pos = -1;
    if ((st = need_seq(c, 0, &s)) || (st = get_position(c, 1, &has, &pos)))
        return st;
    int64_t n = (int64_t)s->n_items;
    if (!has) pos = -1;
    if (pos < -n || pos >= n)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "position %lld out of range for %lld items",
                           (long long)pos, (long long)n);
    if (pos < 0) pos += n;
    return set0(c, seq_rebuild(s, seq_elem_dtype(s), pos, NULL, -1));
}

enum kw_status kw__op_sequence_length(struct kw__op_ctx *c) {
    const struct kw_onnx_value *s = NULL;
    enum kw_status st = need_seq(c, 0, &s);
    if (st) return st;
    if (!kw__out_wanted(c, 0)) return KW_STATUS_OK;
    struct kw_onnx_value *o = kw__out_tensor(c, 0, KW_ONNX_INT64, 0, NULL);
    if (!o) return KW_STATUS_ERR_NOMEM;
    ((int64_t *)o->data)[0] = (int64_t)s->n_items;
    return KW_STATUS_OK;
}

enum kw_status kw__op_split_to_sequence(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = NULL, *sp = kw__in(c, 1);
    enum kw_status st = need_tensor(c, 0, &x);
    if (st) return st;
    int axis;
    if (!kw__axis(kw__attr_i(c, "axis", 0), x->rank, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "axis out of range for rank %d", x->rank);
    int keepdims = kw__attr_i(c, "keepdims", 1) != 0;
    int64_t len = x->dims[axis];
    /* chunk lengths: every part of size `each` (the last maybe shorter),
     * or the explicit list */
    int64_t each = 1, n_parts;
    const struct kw_onnx_value *list = NULL;
    if (sp) {
        if (!kw__is_tensor(sp) ||
            (sp->dtype != KW_ONNX_INT32 && sp->dtype != KW_ONNX_INT64) ||
            sp->rank > 1)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "split must be an int32/int64 scalar or 1-D");
        keepdims = 1; /* only applies without 'split' */
        if (sp->rank == 0) {
            each = kw__get_i64(sp, 0);
            if (each <= 0)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "split %lld must be positive",
                                   (long long)each);
        } else {
            list = sp;
        }
    }
    if (list) {
        n_parts = list->dims[0];
        int64_t sum = 0;
        for (int64_t i = 0; i < n_parts; i++) {
            int64_t l = kw__get_i64(list, i);
            if (l < 0 || l > len - sum)
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "split length %lld negative or past "
                                   "dimension %lld",
                                   (long long)l, (long long)len);
            sum += l;
        }
        if (sum != len)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "split lengths sum to %lld, dimension is %lld",
                               (long long)sum, (long long)len);
    } else {
        n_parts = len / each + (len % each != 0);
    }
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) inner *= x->dims[d];
    struct kw_onnx_value *o = kw__sequence_new(x->dtype);
    if (!o) return nomem(c);
    int64_t start = 0;
    for (int64_t i = 0; i < n_parts; i++) {
        int64_t l = list ? kw__get_i64(list, i)
                         : (len - start < each ? len - start : each);
        int64_t dims[KW_ONNX_MAX_RANK];
        int r = 0;
        for (int d = 0; d < x->rank; d++) {
            if (d == axis && !keepdims) continue;
            dims[r++] = d == axis ? l : x->dims[d];
        }
        struct kw_onnx_value *e = kw_onnx_tensor_new(x->dtype, r, dims);
        if (!e || !kw__axis_copy(e, l, 0, x, len, start, l, outer, inner) ||
            !kw__sequence_push(o, e)) {
            kw_onnx_value_free(e);
            kw_onnx_value_free(o);
            return nomem(c);
        }
        start += l;
    }
    return set0(c, o);
}

enum kw_status kw__op_concat_from_sequence(struct kw__op_ctx *c) {
    const struct kw_onnx_value *s = NULL;
    enum kw_status st = need_seq(c, 0, &s);
    if (st) return st;
    if (!kw__attr(c->node, "axis"))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "attribute axis missing");
    int64_t axis_attr = kw__attr_i(c, "axis", 0);
    int new_axis = kw__attr_i(c, "new_axis", 0) != 0;
    int64_t n = (int64_t)s->n_items;
    if (n == 0) return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "empty sequence");
    const struct kw_onnx_value *f = s->items[0];
    for (int64_t i = 0; i < n; i++)
        if (!kw__is_tensor(s->items[i]) || s->items[i]->dtype != f->dtype ||
            s->items[i]->rank != f->rank)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "items differ in kind, dtype or rank");
    int axis;
    if (new_axis) {
        if (!kw__axis(axis_attr, f->rank + 1, &axis))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "axis %lld out of range for rank %d",
                               (long long)axis_attr, f->rank + 1);
        int64_t lead[1] = {n};
        return kw__stack_out(c, 0, s->items, n, 1, lead, axis, 0, NULL);
    }
    if (!kw__axis(axis_attr, f->rank, &axis))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "axis %lld out of range for rank %d",
                           (long long)axis_attr, f->rank);
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct kw_onnx_value *e = s->items[i];
        for (int d = 0; d < f->rank; d++)
            if (d != axis && e->dims[d] != f->dims[d])
                return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                                   "item %lld differs in dimension %d",
                                   (long long)i, d);
        if (__builtin_add_overflow(total, e->dims[axis], &total))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "size overflow");
    }
    if (!kw__out_wanted(c, 0)) return KW_STATUS_OK;
    int64_t dims[KW_ONNX_MAX_RANK];
    memcpy(dims, f->dims, sizeof dims);
    dims[axis] = total;
    struct kw_onnx_value *o = kw__out_tensor(c, 0, f->dtype, f->rank, dims);
    if (!o) return KW_STATUS_ERR_NOMEM;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= f->dims[d];
    for (int d = axis + 1; d < f->rank; d++) inner *= f->dims[d];
    int64_t off = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct kw_onnx_value *e = s->items[i];
        int64_t l = e->dims[axis];
        if (!kw__axis_copy(o, total, off, e, l, 0, l, outer, inner))
            return nomem(c);
        off += l;
    }
    return KW_STATUS_OK;
}

/* ---- optionals ---- */

static int value_elem_dtype(const struct kw_onnx_value *v) {
    if (kw__is_tensor(v)) return v->dtype;
    if (v->kind == KW_ONNX_SEQUENCE) return seq_elem_dtype(v);
    return v->elem_dtype;
}

enum kw_status kw__op_optional(struct kw__op_ctx *c) {
    const struct kw_onnx_value *x = kw__in(c, 0);
    if (!x) {
        const struct kw__attr *tp = kw__attr(c->node, "type");
        if (!tp || tp->type != KW_ATTR_TYPE_PROTO)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "an empty Optional needs attribute 'type'");
        return set0(c, kw__optional_new(NULL, tp->tp_dtype));
    }
    if (x->kind != KW_ONNX_TENSOR && x->kind != KW_ONNX_SEQUENCE)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input must be a tensor or a sequence");
    struct kw_onnx_value *e = kw__value_clone(x);
    if (!e) return nomem(c);
    return set0(c, kw__optional_new(e, value_elem_dtype(x)));
}

/* The element an input holds: itself for a tensor/sequence, the item for
 * an optional, NULL for an empty optional or an absent input. */
static const struct kw_onnx_value *held(const struct kw_onnx_value *v) {
    if (!v || v->kind == KW_ONNX_NONE) return NULL;
    if (v->kind == KW_ONNX_OPTIONAL) return v->n_items ? v->items[0] : NULL;
    return v;
}

enum kw_status kw__op_optional_has_element(struct kw__op_ctx *c) {
    if (!kw__out_wanted(c, 0)) return KW_STATUS_OK;
    struct kw_onnx_value *o = kw__out_tensor(c, 0, KW_ONNX_BOOL, 0, NULL);
    if (!o) return KW_STATUS_ERR_NOMEM;
    ((uint8_t *)o->data)[0] = held(kw__in(c, 0)) != NULL;
    return KW_STATUS_OK;
}

enum kw_status kw__op_optional_get_element(struct kw__op_ctx *c) {
    const struct kw_onnx_value *e = held(kw__in(c, 0));
    if (!e)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "the optional input is empty");
    return set0(c, kw__value_clone(e));
}
