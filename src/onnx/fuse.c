/*
 * fuse.c — graph fusions at load, each applied only where it cannot change
 * results beyond rounding:
 *  - Conv followed by inference BatchNormalization: the normalisation is
 *    folded into the convolution's weights and bias (float32 constants);
 *  - Conv / ConvTranspose / Gemm / MatMul / Add followed by an activation
 *    (Relu, Clip with constant bounds, LeakyRelu, Sigmoid, HardSigmoid,
 *    HardSwish): the activation runs on the producer's output in place;
 *  - MatMul followed by Add of a constant: the bias is added in place;
 *  - Mul by a constant per input channel, maybe then Add of one, before
 *    a Conv (a normalised image): the scale goes into the weights
 *    (fold_input_scale);
 *  - Conv followed by Add of a computed value (a residual connection):
 *    the value becomes the Conv's input 3, added before its activation
 *    (kw__op_conv), and the Conv takes the Add's place in the order.
 * The intermediate value must have no other reader (node, subgraph or
 * graph output). Post-operations are applied by kw__node_epilogue.
 * Then, with AVX-512, the values between a pointwise Conv (or an image
 * stem), the depthwise Conv it feeds and the pointwise Conv that one
 * feeds are marked to be handed over in the channel-blocked c16 layout
 * (plan_c16), as are the values that only 1x1 Convs read, as input or
 * as the residual (plan_c16_stream: ResNet's block outputs), and such a
 * pointwise + depthwise pair becomes one node (merge_pre).
 */
#include "onnx/exec.h"
#include "onnx/model.h"
#include "onnx/ops/conv_ct.h"

static void count_one(void *ctx, int slot) { ((int *)ctx)[slot]++; }

/* Readers of every slot: node inputs, subgraph references, graph outputs. */
static int *count_readers(const struct kw__graph *g) {
    int *n = calloc((size_t)g->n_values + 1, sizeof *n);
    if (!n) return NULL;
    for (int k = 0; k < g->n_nodes; k++) kw__node_reads(&g->nodes[k], count_one, n);
    for (int i = 0; i < g->n_outputs; i++) n[g->outputs[i]] += 2;
    return n;
}

static int is_op(const struct kw__node *n, const char *op) {
    return !n->domain[0] && !strcmp(n->op_type, op) && n->op;
}

static const struct kw_onnx_value *const_f32(const struct kw__graph *g, int s) {
    const struct kw_onnx_value *v = s >= 0 ? g->init[s] : NULL;
    return v && v->kind == KW_ONNX_TENSOR && v->dtype == KW_ONNX_FLOAT ? v : NULL;
}

/* The node (index) that reads slot s as its input 0, or -1. */
static int sole_reader(const struct kw__graph *g, int from, int s) {
    for (int k = from; k < g->n_nodes; k++)
        for (int i = 0; i < g->nodes[k].n_in; i++)
            if (g->nodes[k].in[i] == s) return i == 0 ? k : -1;
    return -1;
}

/* The first node from `from` on that reads slot s, and where (*pos). */
static int first_reader(const struct kw__graph *g, int from, int s, int *pos) {
    for (int k = from; k < g->n_nodes; k++)
        for (int i = 0; i < g->nodes[k].n_in; i++)
            if (g->nodes[k].in[i] == s) {
                *pos = i;
                return k;
            }
    return -1;
}

/* Conv nodes[k] + Add nodes[r] reading its output at input pos: the
 * Add's other operand becomes the Conv's input 3, and the Conv moves to
 * the Add's place (where that operand is computed), the Add removed.
 * Only a computed operand: a constant one is usually a broadcast bias. */
static int fuse_residual(struct kw__graph *g, struct kw__raw_model *raw,
                         int k, int r, int pos) {
    struct kw__node *p = &g->nodes[k], *a = &g->nodes[r];
    if (p->fused_act || p->n_in < 2 || p->n_in > 3 || a->n_in != 2 ||
        a->n_out < 1 || a->n_attrs || a->opset < 7)
        return 0;
    const int other = a->in[1 - pos];
    if (other < 0 || other == p->out[0] || g->init[other]) return 0;
    int *in = kw__arena_alloc(&raw->arena, 5 * sizeof *in);
    if (!in) return 0;
    for (int i = 0; i < 3; i++) in[i] = i < p->n_in ? p->in[i] : -1;
    in[3] = other;
    struct kw__node conv = *p;
    conv.in = in;
    conv.n_in = 4;
    conv.out[0] = a->out[0];
    conv.fused_act = a->fused_act; /* Add + Relu fused before */
    conv.act_alpha = a->act_alpha;
    conv.act_beta = a->act_beta;
    *a = conv;
    memmove(p, p + 1, sizeof *p * (size_t)(g->n_nodes - k - 1));
    g->n_nodes--;
    return 1;
}

/* Conv (k) + BatchNormalization (b): new weight and bias constants. */
static int fold_bn(struct kw__graph *g, struct kw__raw_model *raw,
                   const int *readers, struct kw__node *conv,
                   const struct kw__node *bn) {
    if (conv->n_in < 2 || bn->n_in < 5 || bn->n_out < 1) return 0;
    for (int o = 1; o < bn->n_out; o++)
        if (bn->out[o] >= 0) return 0; /* training outputs wanted */
    if (kw__attr(bn, "training_mode") && kw__attr(bn, "training_mode")->i) return 0;
    const struct kw_onnx_value *w = const_f32(g, conv->in[1]);
    const struct kw_onnx_value *cb = conv->n_in > 2 ? const_f32(g, conv->in[2]) : NULL;
    const struct kw_onnx_value *sc = const_f32(g, bn->in[1]), *bb = const_f32(g, bn->in[2]),
                               *mean = const_f32(g, bn->in[3]), *var = const_f32(g, bn->in[4]);
    if (!w || !sc || !bb || !mean || !var || w->rank < 3) return 0;
    if (conv->n_in > 2 && conv->in[2] >= 0 && !cb) return 0;
    int64_t co = w->dims[0];
    if (kw_onnx_numel(sc) != co || kw_onnx_numel(bb) != co ||
        kw_onnx_numel(mean) != co || kw_onnx_numel(var) != co ||
        (cb && kw_onnx_numel(cb) != co))
        return 0;
    /* the weight and the BN bias slot get new tensors: nobody else may
     * read them */
    if (readers[conv->in[1]] != 1 || readers[bn->in[2]] != 1) return 0;
    const struct kw__attr *ea = kw__attr(bn, "epsilon");
    float eps = ea && ea->type == KW_ATTR_FLOAT ? ea->f : 1e-5f;
    struct kw_onnx_value *nw = kw__value_clone(w);
    struct kw_onnx_value *nb = kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, &co);
    if (!nw || !nb || !kw__model_keep(raw, nw) || !kw__model_keep(raw, nb)) {
        /* nw may already be kept; nb freed only when it is not */
        if (nb && (!raw->n_tensors || raw->tensors[raw->n_tensors - 1] != nb))
            kw_onnx_value_free(nb);
        return 0;
    }
    int64_t per = kw_onnx_numel(w) / co;
    float *W = nw->data, *B = nb->data;
    const float *S = sc->data, *BB = bb->data, *M = mean->data, *V = var->data;
    for (int64_t c = 0; c < co; c++) {
        float f = S[c] / sqrtf(V[c] + eps);
        for (int64_t i = 0; i < per; i++) W[c * per + i] *= f;
        float b0 = cb ? ((const float *)cb->data)[c] : 0.0f;
        B[c] = (b0 - M[c]) * f + BB[c];
    }
    g->init[conv->in[1]] = nw;
    g->init[bn->in[2]] = nb;
    conv->in[2] = bn->in[2];
    if (conv->n_in < 3) conv->n_in = 3; /* in[] has room for one more */
    conv->out[0] = bn->out[0];
    return 1;
}

/* Activation node a fused into producer p. */
static int fuse_act(const struct kw__graph *g, struct kw__node *p,
                    const struct kw__node *a) {
    if (p->fused_act || a->n_out < 1) return 0;
    int act = 0;
    float alpha = 0, beta = 0;
    if (is_op(a, "Relu")) {
        act = KW_ACT_RELU;
    } else if (is_op(a, "LeakyRelu")) {
        act = KW_ACT_LEAKY_RELU;
        const struct kw__attr *at = kw__attr(a, "alpha");
        alpha = at && at->type == KW_ATTR_FLOAT ? at->f : 0.01f;
    } else if (is_op(a, "Sigmoid")) {
        act = KW_ACT_SIGMOID;
    } else if (is_op(a, "HardSigmoid")) {
        act = KW_ACT_HARD_SIGMOID;
        const struct kw__attr *x = kw__attr(a, "alpha"), *y = kw__attr(a, "beta");
        alpha = x && x->type == KW_ATTR_FLOAT ? x->f : 0.2f;
        beta = y && y->type == KW_ATTR_FLOAT ? y->f : 0.5f;
    } else if (is_op(a, "HardSwish")) {
        act = KW_ACT_HARD_SWISH;
    } else if (is_op(a, "Clip")) {
        act = KW_ACT_CLIP;
        alpha = -INFINITY;
        beta = INFINITY;
        if (a->opset < 11) {
            const struct kw__attr *x = kw__attr(a, "min"), *y = kw__attr(a, "max");
            if (x) alpha = x->f;
            if (y) beta = y->f;
        } else {
            for (int i = 1; i < a->n_in && i < 3; i++) {
                if (a->in[i] < 0) continue;
                const struct kw_onnx_value *v = const_f32(g, a->in[i]);
                if (!v || kw_onnx_numel(v) != 1) return 0;
                if (i == 1) alpha = ((const float *)v->data)[0];
                else beta = ((const float *)v->data)[0];
            }
        }
    } else {
        return 0;
    }
    p->fused_act = act;
    p->act_alpha = alpha;
    p->act_beta = beta;
    p->out[0] = a->out[0];
    return 1;
}

/* An integer-list attribute all of whose values are v (or absent). */
static int ints_all(const struct kw__node *n, const char *name, int64_t v) {
    const struct kw__attr *a = kw__attr(n, name);
    if (!a) return 1;
    if (a->type != KW_ATTR_INTS) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->ints[i] != v) return 0;
    return 1;
}

static int64_t attr_int(const struct kw__node *n, const char *name,
                        int64_t dflt) {
    const struct kw__attr *a = kw__attr(n, name);
    return a && a->type == KW_ATTR_INT ? a->i : dflt;
}

/* A 2-D Conv with constant float weights (kh, kw) of (M, C/group),
 * explicit pads >= 0; 0: not one. */
static int conv2d(const struct kw__graph *g, const struct kw__node *n,
                  int64_t *M, int64_t *Cg, int64_t *taps, int64_t *group) {
    if (!is_op(n, "Conv") || n->n_in < 2) return 0;
    const struct kw_onnx_value *w = const_f32(g, n->in[1]);
    if (!w || w->rank != 4) return 0;
    const struct kw__attr *ap = kw__attr(n, "auto_pad"),
                          *pads = kw__attr(n, "pads");
    if (ap && (ap->type != KW_ATTR_STRING || strcmp(ap->s, "NOTSET")))
        return 0;
    if (pads && pads->type != KW_ATTR_INTS) return 0;
    for (size_t i = 0; pads && i < pads->n; i++)
        if (pads->ints[i] < 0) return 0;
    *M = w->dims[0];
    *Cg = w->dims[1];
    *taps = w->dims[2] * w->dims[3];
    *group = attr_int(n, "group", 1);
    return 1;
}

/* Pointwise, one group, unstrided, unpadded: what kw__conv_ct reads and
 * writes in c16 */
static int pointwise(const struct kw__graph *g, const struct kw__node *n,
                     int64_t *M, int64_t *C) {
    int64_t taps, group;
    return conv2d(g, n, M, C, &taps, &group) && taps == 1 && group == 1 &&
           ints_all(n, "strides", 1) && ints_all(n, "pads", 0);
}

/* The node reading slot s (its only reader, as input 0), or NULL */
static struct kw__node *only_reader(struct kw__graph *g, const int *readers,
                                    int k, int s) {
    if (s < 0 || readers[s] != 1) return NULL;
    const int r = sole_reader(g, k + 1, s);
    return r < 0 ? NULL : &g->nodes[r];
}

/* One group, stride 1 or 2 across: what kw__conv_ct writes in c16 */
static int ct_writes(const struct kw__graph *g, const struct kw__node *n,
                     int64_t *M) {
    int64_t Cg, taps, group;
    const struct kw__attr *st = kw__attr(n, "strides");
    return conv2d(g, n, M, &Cg, &taps, &group) && group == 1 &&
           (!st || (st->type == KW_ATTR_INTS && st->n == 2 &&
                    (st->ints[1] == 1 || st->ints[1] == 2)));
}

/* (pointwise or stem) -> depthwise (-> pointwise (-> pointwise)): the
 * values between go in the c16 layout, which the AVX-512 kernels read
 * and write without the transposes between planes and channel vectors
 * (conv.c) */
static void plan_c16(struct kw__graph *g) {
    if (kw__nn_isa() != KW__ISA_AVX512) return;
    int *readers = count_readers(g);
    if (!readers) return;
    for (int k = 0; k < g->n_nodes; k++) {
        struct kw__node *p = &g->nodes[k];
        int64_t M, C, M2, Cg, taps, group;
        if (p->n_in > 3 || p->n_out < 1 || !ct_writes(g, p, &M) || M % 16)
            continue;
        struct kw__node *d = only_reader(g, readers, k, p->out[0]);
        if (!d || !conv2d(g, d, &M2, &Cg, &taps, &group) || Cg != 1 ||
            group != M || M2 != M || taps > 64 || d->n_out < 1)
            continue;
        p->blk_out = d->blk_in = 1;
        const int kd = (int)(d - g->nodes);
        struct kw__node *q = only_reader(g, readers, kd, d->out[0]);
        if (!q || !pointwise(g, q, &M2, &C) || C != M) continue;
        d->blk_out = q->blk_in = 1;
        /* and on to a pointwise layer that reads nothing else (the
         * 16 channels between the first two blocks of MobileNetV2 and
         * EfficientNet) */
        const int kq = (int)(q - g->nodes);
        struct kw__node *r = only_reader(g, readers, kq, q->out[0]);
        int64_t C2;
        if (r && q->n_in <= 3 && M2 % 16 == 0 && pointwise(g, r, &M, &C2) &&
            C2 == M2)
            q->blk_out = r->blk_in = 1;
    }
    free(readers);
}

/* A 1x1 unpadded Conv of one group, stride 1 or 2 both ways: what
 * kw__conv_ct reads and writes in c16 at any size */
static int pointwise_s12(const struct kw__graph *g, const struct kw__node *n,
                         int64_t *M, int64_t *C) {
    int64_t taps, group;
    const struct kw__attr *st = kw__attr(n, "strides");
    return conv2d(g, n, M, C, &taps, &group) && taps == 1 && group == 1 &&
           ints_all(n, "pads", 0) &&
           (!st || (st->type == KW_ATTR_INTS && st->n == 2 &&
                    st->ints[0] == st->ints[1] &&
                    (st->ints[0] == 1 || st->ints[0] == 2)));
}

struct stream_ctx {
    const struct kw__graph *g;
    int *ok; /* per slot: reads a c16 kernel takes */
};

/* A read of slot s at input i of n that kw__conv_ct takes in c16: the
 * input of a 1x1 layer, or the residual of any Conv (added to the sums
 * as they are laid out, whatever the output's layout) */
static void count_c16_reads(struct stream_ctx *x, const struct kw__node *n) {
    int64_t M, C;
    if (!is_op(n, "Conv") || n->pre) return;
    if (n->n_in > 0 && n->in[0] >= 0 && pointwise_s12(x->g, n, &M, &C) &&
        C % 16 == 0)
        x->ok[n->in[0]]++;
    if (n->n_in > 3 && n->in[3] >= 0) x->ok[n->in[3]]++;
}

/* The residual stream of a network of 1x1 layers (ResNet's bottlenecks,
 * MobileNet's projections): a 1x1 Conv's output whose every reader is
 * such a read goes in c16 too, so the wide 1x1 layers read their input
 * as channel vectors. A value whose producer adds a residual only if
 * that residual is c16 (a c16 output is stored as the sums lie). */
static void plan_c16_stream(struct kw__graph *g) {
    if (kw__nn_isa() != KW__ISA_AVX512) return;
    int *readers = count_readers(g);
    int *ok = calloc((size_t)g->n_values + 1, sizeof *ok);
    int *prod = malloc(((size_t)g->n_values + 1) * sizeof *prod);
    if (!readers || !ok || !prod) goto out;
    struct stream_ctx x = {g, ok};
    for (int s = 0; s <= g->n_values; s++) prod[s] = -1;
    for (int k = 0; k < g->n_nodes; k++) {
        const struct kw__node *n = &g->nodes[k];
        int64_t M, C;
        count_c16_reads(&x, n);
        if (is_op(n, "Conv") && !n->pre && !n->blk_out && n->n_out == 1 &&
            n->out[0] >= 0 && n->n_in <= 4 && pointwise_s12(g, n, &M, &C) &&
            M % 16 == 0 && kw__ukr_ex_act_ok(n->fused_act))
            prod[n->out[0]] = k;
    }
    for (int s = 0; s < g->n_values; s++)
        if (prod[s] >= 0 && (readers[s] == 0 || ok[s] != readers[s]))
            prod[s] = -1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int s = 0; s < g->n_values; s++) {
            if (prod[s] < 0) continue;
            const struct kw__node *n = &g->nodes[prod[s]];
            const int r = n->n_in > 3 ? n->in[3] : -1;
            if (r >= 0 && prod[r] < 0) {
                prod[s] = -1;
                changed = 1;
            }
        }
    }
    for (int k = 0; k < g->n_nodes; k++) {
        struct kw__node *n = &g->nodes[k];
        if (!is_op(n, "Conv") || n->pre) continue;
        if (n->n_out == 1 && n->out[0] >= 0 && prod[n->out[0]] == k)
            n->blk_out = 1;
        if (n->n_in > 0 && n->in[0] >= 0 && prod[n->in[0]] >= 0)
            n->blk_in = 1;
        if (n->n_in > 3 && n->in[3] >= 0 && prod[n->in[3]] >= 0)
            n->blk_res = 1;
        /* a c16 residual in a c16 output's place: each tile reads its
         * residual before it stores (kw__conv_ct; the other paths copy
         * it out first) */
        if (n->blk_out && n->blk_res) n->inplace_in1 = 4;
    }
out:
    free(readers);
    free(ok);
    free(prod);
}

/* pointwise p (nodes[k]) -> depthwise d, both planned c16: d computes
 * p's output 16 channels at a time just before it reads them, so a big
 * plane's expansion never leaves L2 (conv_dw.c kw__conv_dw_pre). p's
 * weight slot gets the packed panels (only p may read it), from the
 * tensor's first 64-byte boundary (16 floats spare). */
static int merge_pre(struct kw__graph *g, struct kw__raw_model *raw,
                     const int *readers, int k) {
    struct kw__node *p = &g->nodes[k];
    int64_t M, C;
    if (!p->blk_out || p->n_in > 3 || !pointwise(g, p, &M, &C) || C < 1 ||
        !kw__ukr_ex_act_ok(p->fused_act) || readers[p->in[1]] != 1)
        return 0;
    struct kw__node *d = only_reader(g, readers, k, p->out[0]);
    int64_t Md, Cg, taps, group;
    if (!d || !d->blk_in || d->pre || d->n_in > 3 ||
        !conv2d(g, d, &Md, &Cg, &taps, &group) || Cg != 1 || group != M)
        return 0;
    const int64_t n = kw__cdiv(M, KW_CT_MV) * KW_CT_MV * C + 16;
    struct kw_onnx_value *pw = kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, &n);
    int *in = kw__arena_alloc(&raw->arena, 6 * sizeof *in);
    if (!pw || !in || !kw__model_keep(raw, pw)) {
        kw_onnx_value_free(pw);
        return 0;
    }
    kw__ct_pack(const_f32(g, p->in[1])->data, M, C, KW_CT_MV,
                kw__align64(pw->data));
    g->init[p->in[1]] = pw;
    for (int i = 0; i < 4; i++) in[i] = i < d->n_in ? d->in[i] : -1;
    /* in[3], a fused residual, stays -1 (d has none) */
    in[0] = p->in[0];
    in[4] = p->in[1];
    in[5] = p->n_in > 2 ? p->in[2] : -1;
    d->in = in;
    d->n_in = 6;
    d->pre = 1;
    d->blk_in = p->blk_in;
    d->pre_act = p->fused_act;
    d->pre_alpha = p->act_alpha;
    d->pre_beta = p->act_beta;
    memmove(p, p + 1, sizeof *p * (size_t)(g->n_nodes - k - 1));
    g->n_nodes--;
    return 1;
}

/* s's value per channel c of a rank-R operand (axis 1), or -1 when s
 * is not per-channel (C channels) or would widen that operand. */
static int per_channel(const struct kw_onnx_value *s, int R, int64_t C) {
    if (!s || s->rank > R) return -1;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        const int axis = R - s->rank + i;
        if (s->dims[i] != 1 && (axis != 1 || s->dims[i] != C)) return -1;
        n *= s->dims[i];
    }
    return n == 1 ? 0 : 1;
}

/* Mul (p) of x by a constant s per input channel, then, optionally, an
 * Add (a) of a constant b per channel, feeding a Conv (cv) as its input
 * 0 alone (a normalised image and its stem): s goes into the Conv's
 * weights (zero padding stays zero), x * s + b = (x + b / s) * s, so the
 * Add keeps b / s. s must be finite and nonzero where an Add follows. */
static int fold_input_scale(struct kw__graph *g, struct kw__raw_model *raw,
                            const int *readers, struct kw__node *p,
                            struct kw__node *a, struct kw__node *cv) {
    if (p->n_in != 2 || p->in[0] < 0 || p->in[1] < 0 || p->fused_act ||
        (a && (a->n_in != 2 || a->fused_act)) || cv->n_in < 2 ||
        cv->in[1] < 0 || readers[cv->in[1]] != 1)
        return 0;
    const int si = g->init[p->in[1]] ? 1 : 0, x = p->in[1 - si];
    const struct kw_onnx_value *sv = const_f32(g, p->in[si]);
    const struct kw_onnx_value *w = const_f32(g, cv->in[1]);
    if (x < 0 || g->init[x] || !sv || !w || w->rank < 3) return 0;
    const int64_t group = attr_int(cv, "group", 1);
    if (group < 1 || w->dims[0] < 1 || w->dims[1] < 1 || w->dims[0] % group)
        return 0;
    const int64_t M = w->dims[0], Cg = w->dims[1], C = Cg * group,
                  per = kw_onnx_numel(w) / (M * Cg);
    const int s_ch = per_channel(sv, w->rank, C);
    if (s_ch < 0) return 0;
    const float *S = sv->data;
    const int bi = a ? (a->in[0] == p->out[0] ? 1 : 0) : 0;
    const struct kw_onnx_value *bv = a ? const_f32(g, a->in[bi]) : NULL;
    const int b_ch = a ? per_channel(bv, w->rank, C) : 0;
    if (a && (b_ch < 0 || a->in[1 - bi] != p->out[0] || readers[a->in[bi]] != 1))
        return 0;
    struct kw_onnx_value *nw = kw__value_clone(w), *nb = NULL;
    if (!nw) return 0;
    float *W = nw->data;
    for (int64_t m = 0; m < M; m++)
        for (int64_t ci = 0; ci < Cg; ci++) {
            const float f = S[s_ch ? m / (M / group) * Cg + ci : 0];
            for (int64_t t = 0; t < per; t++) {
                float *v = &W[(m * Cg + ci) * per + t];
                *v *= f;
                if (!isfinite(f) || !isfinite(*v) || (a && f == 0.0f)) {
                    kw_onnx_value_free(nw);
                    return 0;
                }
            }
        }
    if (a) { /* b / s, per channel when either is */
        int64_t dims[KW_ONNX_MAX_RANK];
        for (int i = 0; i < w->rank; i++) dims[i] = i == 1 && (s_ch || b_ch) ? C : 1;
        nb = kw_onnx_tensor_new(KW_ONNX_FLOAT, w->rank, dims);
        if (!nb) {
            kw_onnx_value_free(nw);
            return 0;
        }
        float *B = nb->data;
        const float *b = bv->data;
        for (int64_t c = 0; c < kw_onnx_numel(nb); c++)
            B[c] = b[b_ch ? c : 0] / S[s_ch ? c : 0];
    }
    if (!kw__model_keep(raw, nw)) {
        kw_onnx_value_free(nw);
        kw_onnx_value_free(nb);
        return 0;
    }
    if (nb && !kw__model_keep(raw, nb)) {
        kw_onnx_value_free(nb);
        return 0;
    }
    g->init[cv->in[1]] = nw;
    if (a) {
        g->init[a->in[bi]] = nb;
        a->in[1 - bi] = x;
    } else {
        cv->in[0] = x;
    }
    return 1;
}

/* Mul nodes[k] read by nodes[r]: a Conv, or an Add that a Conv alone
 * reads (fold_input_scale) */
static int fold_scale_at(struct kw__graph *g, struct kw__raw_model *raw,
                         const int *readers, int k, int r) {
    struct kw__node *a = &g->nodes[r];
    if (is_op(a, "Conv"))
        return fold_input_scale(g, raw, readers, &g->nodes[k], NULL, a);
    if (!is_op(a, "Add") || a->opset < 7 || a->n_out < 1 || a->out[0] < 0 ||
        readers[a->out[0]] != 1)
        return 0;
    const int c = sole_reader(g, r + 1, a->out[0]);
    return c >= 0 && is_op(&g->nodes[c], "Conv") &&
           fold_input_scale(g, raw, readers, &g->nodes[k], a, &g->nodes[c]);
}

void kw__fuse(struct kw_onnx_model *m) {
    struct kw__graph *g = m->graph;
    struct kw__raw_model *raw = m->arena;
    int changed = 1;
    while (changed) {
        changed = 0;
        int *readers = count_readers(g);
        if (!readers) return;
        for (int k = 0; k < g->n_nodes && !changed; k++) {
            struct kw__node *p = &g->nodes[k];
            if (!p->op || p->n_out < 1 || p->out[0] < 0 || readers[p->out[0]] != 1)
                continue;
            for (int o = 1; o < p->n_out; o++)
                if (p->out[o] >= 0) goto next;
            int pos = 0;
            if (is_op(p, "Conv")) {
                const int r = first_reader(g, k + 1, p->out[0], &pos);
                if (r >= 0 && is_op(&g->nodes[r], "Add") &&
                    fuse_residual(g, raw, k, r, pos)) {
                    changed = 1;
                    continue;
                }
            }
            int r = sole_reader(g, k + 1, p->out[0]);
            if (is_op(p, "Mul") && r < 0) { /* Mul(s, x): x is input 1 */
                r = first_reader(g, k + 1, p->out[0], &pos);
                if (r >= 0 && !is_op(&g->nodes[r], "Add")) r = -1;
            }
            if (r < 0) continue;
            struct kw__node *a = &g->nodes[r];
            if (is_op(p, "Mul") && p->opset >= 7 && fold_scale_at(g, raw, readers, k, r)) {
                memmove(p, p + 1, sizeof *p * (size_t)(g->n_nodes - k - 1));
                g->n_nodes--;
                changed = 1;
                continue;
            }
            int fused = 0;
            if (is_op(p, "Conv") && is_op(a, "BatchNormalization") && !p->fused_act)
                fused = fold_bn(g, raw, readers, p, a);
            else if (is_op(p, "Conv") || is_op(p, "ConvTranspose") ||
                     is_op(p, "Gemm") || is_op(p, "MatMul") || is_op(p, "Add"))
                fused = fuse_act(g, p, a);
            if (fused) {
                memmove(a, a + 1, sizeof *a * (size_t)(g->n_nodes - r - 1));
                g->n_nodes--;
                changed = 1;
            }
        next:;
        }
        free(readers);
    }
    plan_c16(g);
    plan_c16_stream(g);
    for (int k = 0, *readers = count_readers(g); readers;) {
        if (k >= g->n_nodes) {
            free(readers);
            break;
        }
        if (merge_pre(g, raw, readers, k)) {
            free(readers);
            readers = count_readers(g);
        } else {
            k++;
        }
    }
    kw__graph_liveness(g);
}

enum kw_status kw__node_epilogue(struct kw__op_ctx *c) {
    const struct kw__node *n = c->node;
    struct kw_onnx_value *v = c->n_out ? c->out[0] : NULL;
    if (!n->fused_act || n->act_in_op || !v) return KW_STATUS_OK;
    if (!kw__is_tensor(v) || !kw__dtype_is_float(v->dtype))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "fused activation on a non-float output");
    int64_t cnt = kw_onnx_numel(v);
    if (v->dtype == KW_ONNX_FLOAT) {
        float *x = v->data;
        for (int64_t i = 0; i < cnt; i++)
            x[i] = kw__act_apply(n->fused_act, x[i], n->act_alpha, n->act_beta);
    } else {
        for (int64_t i = 0; i < cnt; i++)
            kw__set_f64(v, i, kw__act_apply(n->fused_act, (float)kw__get_f64(v, i),
                                   n->act_alpha, n->act_beta));
    }
    return KW_STATUS_OK;
}
