/*
 * control.c — operator family 'control': If, Loop, Scan (opset 8 with a
 * batch axis, 9+ with per-input axes/directions) and SequenceMap, which
 * run subgraphs through kw__run_subgraph; the table kw__ops_control also
 * registers the sequence/optional operators of sequence.c.
 */
#include "onnx/ops/control_util.h"

#include <stdlib.h>
#include <string.h>

static enum kw_status nomem(struct kw__op_ctx *c) {
    return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
}

static void free_values(struct kw_onnx_value **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) kw_onnx_value_free(v[i]);
}

/* Hands out[k] to output k when wanted, else frees it. */
static void give(struct kw__op_ctx *c, int k, struct kw_onnx_value *v) {
    if (kw__out_wanted(c, k))
        kw__out_set(c, k, v);
    else
        kw_onnx_value_free(v);
}

/* A boolean condition: a tensor with one element. */
static enum kw_status get_cond(struct kw__op_ctx *c,
                               const struct kw_onnx_value *v, const char *what,
                               int *out) {
    if (!kw__is_tensor(v) || kw_onnx_numel(v) != 1 ||
        v->dtype == KW_ONNX_STRING)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "%s must be a tensor of one element", what);
    *out = kw__get_f64(v, 0) != 0;
    return KW_STATUS_OK;
}

static const struct kw__type_info *out_decl(const struct kw__graph *g, int k) {
    return g->out_info && k < g->n_outputs ? &g->out_info[k] : NULL;
}

/* ---- If ---- */

static enum kw_status op_if(struct kw__op_ctx *c) {
    int cond = 0;
    enum kw_status st = get_cond(c, kw__in(c, 0), "cond", &cond);
    if (st) return st;
    const char *name = cond ? "then_branch" : "else_branch";
    const struct kw__graph *g = kw__attr_g(c, name);
    if (!g)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "attribute %s missing",
                           name);
    if (g->n_outputs < c->n_out)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "%s has %d outputs, the node %d", name, g->n_outputs,
                           c->n_out);
    if (c->n_out == 0) return KW_STATUS_OK;
    struct kw_onnx_value **outs = calloc((size_t)c->n_out, sizeof *outs);
    if (!outs) return nomem(c);
    st = kw__run_subgraph(c, g, NULL, 0, outs, c->n_out);
    if (!st)
        for (int k = 0; k < c->n_out; k++) give(c, k, outs[k]);
    free(outs);
    return st;
}

/* ---- Loop ---- */

/* Growable list of values (one scan output's per-iteration slices). */
struct vlist {
    struct kw_onnx_value **v;
    size_t n, cap;
};

static int vlist_push(struct vlist *l, struct kw_onnx_value *x) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        void *p = realloc(l->v, cap * sizeof *l->v);
        if (!p) return 0;
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return 1;
}

static enum kw_status op_loop(struct kw__op_ctx *c) {
    const struct kw__graph *g = kw__attr_g(c, "body");
    if (!g)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "attribute body missing");
    const struct kw_onnx_value *m_in = kw__in(c, 0), *cond_in = kw__in(c, 1);
    int64_t trip = 0;
    int has_trip = m_in != NULL, has_cond = cond_in != NULL, cond = 1;
    enum kw_status st;
    if (has_trip) {
        if (!kw__is_tensor(m_in) || kw_onnx_numel(m_in) != 1 ||
            !kw__dtype_is_int(m_in->dtype))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "M must be one integer element");
        trip = kw__get_i64(m_in, 0);
    }
    if (has_cond && (st = get_cond(c, cond_in, "cond", &cond))) return st;
    if (!has_trip && !has_cond)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "a loop without M and cond never ends");
    int n_carried = c->n_in > 2 ? c->n_in - 2 : 0;
    int n_scan = g->n_outputs - 1 - n_carried;
    if (g->n_inputs != 2 + n_carried || n_scan < 0 ||
        c->n_out > n_carried + n_scan)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "body has %d inputs and %d outputs for %d carried "
                           "values and %d node outputs",
                           g->n_inputs, g->n_outputs, n_carried, c->n_out);
    for (int j = 0; j < n_carried; j++)
        if (!kw__in(c, 2 + j))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "loop-carried input %d is missing", j);

    int n_bo = g->n_outputs;
    struct kw_onnx_value **ins = calloc((size_t)(2 + n_carried), sizeof *ins);
    struct kw_onnx_value **outs = calloc((size_t)n_bo, sizeof *outs);
    struct vlist *scans = calloc((size_t)n_scan + 1, sizeof *scans);
    struct kw_onnx_value *iter = kw_onnx_tensor_new(KW_ONNX_INT64, 0, NULL);
    struct kw_onnx_value *cv = kw_onnx_tensor_new(KW_ONNX_BOOL, 0, NULL);
    st = KW_STATUS_OK;
    if (!ins || !outs || !scans || !iter || !cv) {
        st = nomem(c);
        goto done;
    }
    ins[0] = iter;
    ins[1] = cv;
    for (int j = 0; j < n_carried && !st; j++)
        if (!(ins[2 + j] = kw__value_clone(c->in[2 + j]))) st = nomem(c);
    for (int64_t i = 0; !st && (!has_trip || i < trip) && cond; i++) {
        ((int64_t *)iter->data)[0] = i;
        ((uint8_t *)cv->data)[0] = (uint8_t)cond;
        st = kw__run_subgraph(c, g, ins, 2 + n_carried, outs, n_bo);
        if (st) break;
        /* without a cond input, the body's cond output is ignored */
        if (has_cond) st = get_cond(c, outs[0], "body's cond output", &cond);
        kw_onnx_value_free(outs[0]);
        outs[0] = NULL;
        for (int j = 0; j < n_carried; j++) {
            kw_onnx_value_free(ins[2 + j]);
            ins[2 + j] = outs[1 + j];
            outs[1 + j] = NULL;
        }
        for (int k = 0; k < n_scan; k++) {
            if (!st && !vlist_push(&scans[k], outs[1 + n_carried + k])) {
                st = nomem(c);
                kw_onnx_value_free(outs[1 + n_carried + k]);
            } else if (st) {
                kw_onnx_value_free(outs[1 + n_carried + k]);
            }
            outs[1 + n_carried + k] = NULL;
        }
    }
    for (int j = 0; !st && j < n_carried && j < c->n_out; j++) {
        give(c, j, ins[2 + j]);
        ins[2 + j] = NULL;
    }
    for (int k = 0; !st && k < n_scan && n_carried + k < c->n_out; k++) {
        int64_t lead[1] = {(int64_t)scans[k].n};
        st = kw__stack_out(c, n_carried + k, scans[k].v, lead[0], 1, lead, 0, 0,
                           out_decl(g, 1 + n_carried + k));
    }
done:
    if (ins) free_values(ins + 2, (size_t)n_carried);
    if (scans)
        for (int k = 0; k < n_scan; k++) {
            free_values(scans[k].v, scans[k].n);
            free(scans[k].v);
        }
    free(scans);
    free(ins);
    free(outs);
    kw_onnx_value_free(iter);
    kw_onnx_value_free(cv);
    return st;
}

/* ---- Scan ---- */

/* Slice t of x along axis (that axis removed). */
static struct kw_onnx_value *take_slice(const struct kw_onnx_value *x, int axis,
                                        int64_t t) {
    int64_t dims[KW_ONNX_MAX_RANK], outer = 1, inner = 1;
    int r = 0;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis) outer *= x->dims[d];
        if (d > axis) inner *= x->dims[d];
        if (d != axis) dims[r++] = x->dims[d];
    }
    struct kw_onnx_value *s = kw_onnx_tensor_new(x->dtype, r, dims);
    if (s && !kw__axis_copy(s, 1, 0, x, x->dims[axis], t, 1, outer, inner)) {
        kw_onnx_value_free(s);
        return NULL;
    }
    return s;
}

/* Reads an optional per-input int list attribute into v (default 0). */
static enum kw_status ints_attr(struct kw__op_ctx *c, const char *name,
                                int count, int64_t *v) {
    size_t n;
    const int64_t *a = kw__attr_ints(c, name, &n);
    for (int i = 0; i < count; i++) v[i] = 0;
    if (!a) return KW_STATUS_OK;
    if (n != (size_t)count)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "attribute %s has %zu entries, %d expected", name, n,
                           count);
    for (int i = 0; i < count; i++) v[i] = a[i];
    return KW_STATUS_OK;
}

/* One Scan run over T steps. state[] holds the N current states (replaced
 * as the body runs; owned); scan input j steps along axis in_axis[j] of
 * xs[j], reversed where in_dir[j]; the body's K scan outputs of step t go
 * to slots[k][t] (tensors; owned). */
static enum kw_status scan_steps(struct kw__op_ctx *c,
                                 const struct kw__graph *g, int N, int M, int K,
                                 struct kw_onnx_value **state,
                                 struct kw_onnx_value *const *xs,
                                 const int *in_axis, const int64_t *in_dir,
                                 int64_t T, struct kw_onnx_value ***slots) {
    struct kw_onnx_value **ins = calloc((size_t)(N + M) + 1, sizeof *ins);
    struct kw_onnx_value **outs = calloc((size_t)(N + K) + 1, sizeof *outs);
    enum kw_status st = KW_STATUS_OK;
    if (!ins || !outs) {
        st = nomem(c);
        goto done;
    }
    for (int64_t t = 0; t < T && !st; t++) {
        for (int j = 0; j < N; j++) ins[j] = state[j];
        for (int j = 0; j < M && !st; j++) {
            int64_t at = in_dir[j] ? T - 1 - t : t;
            if (!(ins[N + j] = take_slice(xs[j], in_axis[j], at)))
                st = nomem(c);
        }
        if (!st) st = kw__run_subgraph(c, g, ins, N + M, outs, N + K);
        for (int j = 0; j < M; j++) {
            kw_onnx_value_free(ins[N + j]);
            ins[N + j] = NULL;
        }
        if (st) break;
        for (int j = 0; j < N; j++) {
            kw_onnx_value_free(state[j]);
            state[j] = outs[j];
        }
        for (int k = 0; k < K; k++) slots[k][t] = outs[N + k];
    }
done:
    free(ins);
    free(outs);
    return st;
}

/* Scan 9+: inputs [states(N)..., scan inputs(M)...]. */
static enum kw_status op_scan9(struct kw__op_ctx *c) {
    const struct kw__graph *g = kw__attr_g(c, "body");
    if (!g)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "attribute body missing");
    int64_t m_attr = kw__attr_i(c, "num_scan_inputs", -1);
    if (m_attr < 1 || m_attr > c->n_in)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "num_scan_inputs %lld invalid for %d inputs",
                           (long long)m_attr, c->n_in);
    int M = (int)m_attr, N = c->n_in - M, K = g->n_outputs - N;
    if (g->n_inputs != N + M || K < 0 || c->n_out > N + K)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "body has %d inputs and %d outputs for %d states "
                           "and %d scan inputs",
                           g->n_inputs, g->n_outputs, N, M);
    for (int j = 0; j < c->n_in; j++)
        if (!kw__in(c, j))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input %d missing", j);

    enum kw_status st = KW_STATUS_OK;
    int64_t *attrs = calloc((size_t)(2 * M + 2 * K) + 1, sizeof *attrs);
    int *in_axis = calloc((size_t)M + 1, sizeof *in_axis);
    struct kw_onnx_value **state = calloc((size_t)N + 1, sizeof *state);
    struct kw_onnx_value ***slots = calloc((size_t)K + 1, sizeof *slots);
    int64_t T = -1;
    if (!attrs || !in_axis || !state || !slots) {
        st = nomem(c);
        goto done;
    }
    int64_t *in_ax = attrs, *in_dir = attrs + M, *out_ax = attrs + 2 * M,
            *out_dir = attrs + 2 * M + K;
    if ((st = ints_attr(c, "scan_input_axes", M, in_ax)) ||
        (st = ints_attr(c, "scan_input_directions", M, in_dir)) ||
        (st = ints_attr(c, "scan_output_axes", K, out_ax)) ||
        (st = ints_attr(c, "scan_output_directions", K, out_dir)))
        goto done;
    for (int j = 0; j < M; j++) {
        const struct kw_onnx_value *x = c->in[N + j];
        if (!kw__is_tensor(x) || !kw__axis(in_ax[j], x->rank, &in_axis[j])) {
            st = kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                             "scan input %d: not a tensor or axis %lld out of "
                             "range",
                             j, (long long)in_ax[j]);
            goto done;
        }
        int64_t len = x->dims[in_axis[j]];
        if (T >= 0 && len != T) {
            st = kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                             "scan inputs differ in length (%lld, %lld)",
                             (long long)T, (long long)len);
            goto done;
        }
        T = len;
    }
    for (int k = 0; k < K; k++)
        if (!(slots[k] = calloc((size_t)T + 1, sizeof **slots))) {
            st = nomem(c);
            goto done;
        }
    for (int j = 0; j < N; j++)
        if (!(state[j] = kw__value_clone(c->in[j]))) {
            st = nomem(c);
            goto done;
        }
    st = scan_steps(c, g, N, M, K, state, c->in + N, in_axis, in_dir, T, slots);
    for (int j = 0; !st && j < N && j < c->n_out; j++) {
        give(c, j, state[j]);
        state[j] = NULL;
    }
    for (int k = 0; !st && k < K && N + k < c->n_out; k++) {
        const struct kw__type_info *decl = out_decl(g, N + k);
        const struct kw_onnx_value *s0 = T > 0 ? slots[k][0] : NULL;
        int srank = s0 && kw__is_tensor(s0)                 ? s0->rank
                    : decl && decl->known && decl->rank > 0 ? decl->rank
                                                            : 0;
        int axis;
        if (!kw__axis(out_ax[k], srank + 1, &axis)) {
            st = kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                             "scan output %d: axis %lld out of range", k,
                             (long long)out_ax[k]);
            break;
        }
        int64_t lead[1] = {T};
        st = kw__stack_out(c, N + k, slots[k], T, 1, lead, axis,
                           out_dir[k] != 0, decl);
    }
done:
    if (state) free_values(state, (size_t)N);
    if (slots)
        for (int k = 0; k < K; k++) {
            if (slots[k]) free_values(slots[k], (size_t)T);
            free(slots[k]);
        }
    free(slots);
    free(state);
    free(in_axis);
    free(attrs);
    return st;
}

/* Scan 8: inputs [sequence_lens?, states(N)..., scan inputs(M)...], every
 * one with a leading batch axis; scan inputs are [batch, time, ...]. Each
 * batch entry runs on its own; steps past its sequence length leave zeros
 * in the scan outputs. */
static enum kw_status op_scan8(struct kw__op_ctx *c) {
    const struct kw__graph *g = kw__attr_g(c, "body");
    if (!g)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "attribute body missing");
    int64_t m_attr = kw__attr_i(c, "num_scan_inputs", -1);
    if (m_attr < 1 || m_attr > c->n_in - 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "num_scan_inputs %lld invalid for %d inputs",
                           (long long)m_attr, c->n_in);
    int M = (int)m_attr, N = c->n_in - 1 - M, K = g->n_outputs - N;
    if (g->n_inputs != N + M || K < 0 || c->n_out > N + K)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "body has %d inputs and %d outputs for %d states "
                           "and %d scan inputs",
                           g->n_inputs, g->n_outputs, N, M);
    int64_t B = -1, T = -1;
    for (int j = 1; j < c->n_in; j++) {
        const struct kw_onnx_value *x = kw__in(c, j);
        int scan = j > N;
        if (!kw__is_tensor(x) || x->rank < 1 + scan)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "input %d must be a tensor of rank >= %d", j,
                               1 + scan);
        if ((B >= 0 && x->dims[0] != B) || (scan && T >= 0 && x->dims[1] != T))
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "inputs differ in batch or sequence length");
        B = x->dims[0];
        if (scan) T = x->dims[1];
    }
    const struct kw_onnx_value *lens = kw__in(c, 0);
    if (lens && (!kw__is_tensor(lens) || !kw__dtype_is_int(lens->dtype) ||
                 lens->rank != 1 || lens->dims[0] != B))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "sequence_lens must be an integer vector of %lld",
                           (long long)B);
    for (int64_t b = 0; lens && b < B; b++) {
        int64_t l = kw__get_i64(lens, b);
        if (l < 0 || l > T)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "sequence length %lld outside [0, %lld]",
                               (long long)l, (long long)T);
    }
    size_t bt;
    if (!kw__mul_size((size_t)B, (size_t)T, &bt))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "size overflow");

    enum kw_status st = KW_STATUS_OK;
    int64_t *dirs = calloc((size_t)M + 1, sizeof *dirs);
    int *in_axis = calloc((size_t)M + 1, sizeof *in_axis);
    struct kw_onnx_value **xs = calloc((size_t)M + 1, sizeof *xs);
    struct kw_onnx_value **state = calloc((size_t)N + 1, sizeof *state);
    /* finals[j][b]: state j after batch entry b; slots[k][b*T + t] */
    struct kw_onnx_value ***finals = calloc((size_t)N + 1, sizeof *finals);
    struct kw_onnx_value ***slots = calloc((size_t)K + 1, sizeof *slots);
    struct kw_onnx_value ***step = calloc((size_t)K + 1, sizeof *step);
    if (!dirs || !in_axis || !xs || !state || !finals || !slots || !step) {
        st = nomem(c);
        goto done;
    }
    if ((st = ints_attr(c, "directions", M, dirs))) goto done;
    for (int j = 0; j < N; j++)
        if (!(finals[j] = calloc((size_t)B + 1, sizeof **finals))) {
            st = nomem(c);
            goto done;
        }
    for (int k = 0; k < K; k++)
        if (!(slots[k] = calloc(bt + 1, sizeof **slots))) {
            st = nomem(c);
            goto done;
        }
    for (int64_t b = 0; b < B && !st; b++) {
        int64_t len = lens ? kw__get_i64(lens, b) : T;
        /* this batch entry's states and scan inputs ([time, ...], cut to
         * its length so reversal starts at its last valid step) */
        for (int j = 0; j < N && !st; j++)
            if (!(state[j] = take_slice(c->in[1 + j], 0, b))) st = nomem(c);
        for (int j = 0; j < M && !st; j++) {
            struct kw_onnx_value *x = take_slice(c->in[1 + N + j], 0, b);
            if (x) x->dims[0] = len; /* the leading rows stay in place */
            xs[j] = x;
            if (!x) st = nomem(c);
        }
        for (int k = 0; k < K; k++) step[k] = slots[k] + b * T;
        if (!st)
            st = scan_steps(c, g, N, M, K, state, xs, in_axis, dirs, len, step);
        for (int j = 0; j < M; j++) {
            kw_onnx_value_free(xs[j]);
            xs[j] = NULL;
        }
        for (int j = 0; j < N; j++) {
            finals[j][b] = state[j];
            state[j] = NULL;
        }
    }
    for (int j = 0; !st && j < N && j < c->n_out; j++) {
        int64_t lead[1] = {B};
        st = kw__stack_out(c, j, finals[j], B, 1, lead, 0, 0, out_decl(g, j));
    }
    for (int k = 0; !st && k < K && N + k < c->n_out; k++) {
        int64_t lead[2] = {B, T};
        st = kw__stack_out(c, N + k, slots[k], (int64_t)bt, 2, lead, 0, 0,
                           out_decl(g, N + k));
    }
done:
    if (state) free_values(state, (size_t)N);
    if (finals)
        for (int j = 0; j < N; j++) {
            if (finals[j]) free_values(finals[j], (size_t)B);
            free(finals[j]);
        }
    if (slots)
        for (int k = 0; k < K; k++) {
            if (slots[k]) free_values(slots[k], bt);
            free(slots[k]);
        }
    free(step);
    free(slots);
    free(finals);
    free(state);
    free(xs);
    free(in_axis);
    free(dirs);
    return st;
}

/* ---- SequenceMap ---- */

static enum kw_status op_sequence_map(struct kw__op_ctx *c) {
    const struct kw__graph *g = kw__attr_g(c, "body");
    if (!g)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "attribute body missing");
    const struct kw_onnx_value *s0 = kw__in(c, 0);
    if (!s0 || s0->kind != KW_ONNX_SEQUENCE)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "input 0 must be a sequence");
    if (g->n_inputs != c->n_in || g->n_outputs < c->n_out)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "body has %d inputs and %d outputs, the node %d "
                           "and %d",
                           g->n_inputs, g->n_outputs, c->n_in, c->n_out);
    size_t n = s0->n_items;
    for (int j = 0; j < c->n_in; j++) {
        const struct kw_onnx_value *x = c->in[j];
        if (!x)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "input %d missing", j);
        if (x->kind == KW_ONNX_SEQUENCE && x->n_items != n)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "sequence input %d has %zu items, input 0 %zu",
                               j, x->n_items, n);
    }
    enum kw_status st = KW_STATUS_OK;
    int n_out = c->n_out;
    struct kw_onnx_value **ins = calloc((size_t)c->n_in + 1, sizeof *ins);
    struct kw_onnx_value **outs = calloc((size_t)n_out + 1, sizeof *outs);
    struct kw_onnx_value **res = calloc((size_t)n_out + 1, sizeof *res);
    if (!ins || !outs || !res) {
        st = nomem(c);
        goto done;
    }
    for (int k = 0; k < n_out; k++) {
        const struct kw__type_info *d = out_decl(g, k);
        if (!(res[k] = kw__sequence_new(d && d->known ? d->dtype : 0))) {
            st = nomem(c);
            goto done;
        }
    }
    for (size_t i = 0; i < n && !st; i++) {
        for (int j = 0; j < c->n_in; j++)
            ins[j] = c->in[j]->kind == KW_ONNX_SEQUENCE ? c->in[j]->items[i]
                                                        : c->in[j];
        st = kw__run_subgraph(c, g, ins, c->n_in, outs, n_out);
        for (int k = 0; k < n_out && !st; k++) {
            if (!kw__sequence_push(res[k], outs[k])) {
                st = nomem(c);
                break;
            }
            outs[k] = NULL;
        }
        free_values(outs, (size_t)n_out);
        memset(outs, 0, (size_t)n_out * sizeof *outs);
    }
    for (int k = 0; !st && k < n_out; k++) {
        give(c, k, res[k]);
        res[k] = NULL;
    }
done:
    if (res) free_values(res, (size_t)n_out);
    free(res);
    free(outs);
    free(ins);
    return st;
}

const struct kw__op kw__ops_control[] = {
    {"", "If", 1, 0, op_if},
    {"", "Loop", 1, 0, op_loop},
    {"", "Scan", 8, 8, op_scan8},
    {"", "Scan", 9, 0, op_scan9},
    {"", "SequenceMap", 17, 0, op_sequence_map},
    {"", "SequenceEmpty", 11, 0, kw__op_sequence_empty},
    {"", "SequenceConstruct", 11, 0, kw__op_sequence_construct},
    {"", "SequenceInsert", 11, 0, kw__op_sequence_insert},
    {"", "SequenceAt", 11, 0, kw__op_sequence_at},
    {"", "SequenceErase", 11, 0, kw__op_sequence_erase},
    {"", "SequenceLength", 11, 0, kw__op_sequence_length},
    {"", "SplitToSequence", 11, 0, kw__op_split_to_sequence},
    {"", "ConcatFromSequence", 11, 0, kw__op_concat_from_sequence},
    {"", "Optional", 15, 0, kw__op_optional},
    {"", "OptionalHasElement", 15, 0, kw__op_optional_has_element},
    {"", "OptionalGetElement", 15, 0, kw__op_optional_get_element},
    {0},
};
