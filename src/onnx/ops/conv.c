/*
 * conv.c — Conv (1-D/2-D/3-D..., groups, dilations, pads/auto_pad),
 * ConvInteger, QLinearConv: shape checks and the choice of path.
 * float32 (KW_FORCE_REF aside): depthwise 2-D (conv_dw.c), few input
 * channels (image stems) directly with AVX-512 (conv_direct.c), 3x3
 * stride 1 by Winograd with AVX-512 (conv_wino.c), pointwise layers on
 * small planes (or widening) on pixel vectors with AVX2 (conv_pv.c),
 * strided kernels and small pointwise planes on channel vectors with
 * AVX-512 or AVX2 (conv_ct.c), 1-D / 2-D on the packed GEMM
 * micro-kernels (conv_gemm.c, weights from conv_pack.c), else the
 * reference (conv_ref.c). Where the graph hands a pointwise layer's
 * output to a depthwise one (fuse.c plan_c16), it goes in the c16 layout
 * of dwc.h, which both read and write without a transpose, and the two
 * may run as one node (conv_pre); so do values only 1x1 layers read, as
 * input or as residual (plan_c16_stream). Integer and rare dtypes: a direct
 * convolution in double. Entry points: kw__op_conv, kw__op_conv_integer,
 * kw__op_qlinear_conv.
 */
#include "onnx/ops/conv_ct.h"
#include "onnx/ops/conv_direct.h"
#include "onnx/ops/conv_pv.h"

/* The float32 paths, fastest first. act: the fused activation when the
 * node applies it itself; res: a residual of y's shape (a fused Add)
 * added before it, or NULL. The packed path adds it in its epilogue; the
 * others leave the activation to a pass that adds it first. */
static enum kw_status conv_planes(struct kw__op_ctx *c,
                               const struct kw__nn_geom *g, int64_t N,
                               int64_t C, int64_t M, int64_t group,
                               const float *x, const float *w,
                               const float *bias, const float *res, int act,
                               float *y) {
    const struct kw__node *nd = c->node;
    const float aa = nd->act_alpha, ab = nd->act_beta;
    const int n = g->nsp;
    const int64_t Cg = C / group;
    const int64_t outsz = kw__nn_prod(g->out, n), KK = kw__nn_prod(g->k, n);
    const struct kw__nn_kern *kern = kw__nn_kern();
    const int act1 = res ? KW_ACT_NONE : act; /* for the other paths */
    enum kw_status st = KW_STATUS_OK;
    int done = 0;
    if (kern && outsz > 0 && N > 0 && M > 0 && Cg * KK > 0) {
        if (Cg == 1 && n == 2) {
            st = kw__conv_dw(c, g, N, C, M, x, w, bias, y, kern, act1, aa, ab);
            done = 1;
        } else if (kw__conv_direct(c, g, N, C, M, group, x, w, bias, res, y,
                                   kern, act1, &st)) {
            done = 1;
        } else if (kw__conv_wino(c, g, N, C, M, group, x, w, bias, y, kern,
                                 act1, &st)) {
            done = 1;
        } else if (kw__conv_pv(c, g, N, C, M, group, x, w, bias, res, y, act,
                               &st) ||
                   kw__conv_ct(c, g, N, C, M, group, x, w, bias, res, y, act,
                               0, &st)) {
            return st;
        } else if (kw__conv_f32_packed(c, g, N, C, M, group, x, w, bias, res,
                                       y, kern, act, &st)) {
            return st;
        }
    }
    const int64_t ny = N * M * outsz;
    if (!done) {
        st = kw__conv_f32_ref(c, g, N, C, M, group, x, w, bias, y);
        if (!st && act1) kw__nn_act_ref(y, ny, act1, aa, ab);
    }
    if (st || !res) return st;
    for (int64_t i = 0; i < ny; i++) y[i] += res[i];
    if (act) kw__nn_act_ref(y, ny, act, aa, ab);
    return KW_STATUS_OK;
}

/* conv_planes, with x, y and / or the residual in the c16 layout when
 * the graph chose it (fuse.c plan_c16, plan_c16_stream): the kernels
 * that read or write it, else conv_planes between reorders. */
static enum kw_status conv_f32(struct kw__op_ctx *c,
                               const struct kw__nn_geom *g, int64_t N,
                               int64_t C, int64_t M, int64_t group,
                               const float *x, const float *w,
                               const float *bias, const float *res, int act,
                               float *y) {
    const struct kw__node *nd = c->node;
    const int xb = nd->blk_in, yb = nd->blk_out, rb = res && nd->blk_res;
    if (!xb && !yb && !rb)
        return conv_planes(c, g, N, C, M, group, x, w, bias, res, act, y);
    const struct kw__nn_kern *kern = kw__nn_kern();
    enum kw_status st = KW_STATUS_OK;
    if (kern && xb && !res && group == C && g->nsp == 2 &&
        kw__conv_dw_c16(c, g, N, C, M, x, w, bias, y, yb, kern, act,
                        nd->act_alpha, nd->act_beta, &st))
        return st;
    if (kern && kw__conv_ct(c, g, N, C, M, group, x, w, bias, res, y, act,
                            (xb ? KW_BLK_X : 0) | (yb ? KW_BLK_Y : 0) |
                                (rb ? KW_BLK_R : 0),
                            &st))
        return st;
    const int64_t insz = kw__nn_prod(g->in, g->nsp),
                  outsz = kw__nn_prod(g->out, g->nsp);
    struct kw_onnx_value *xh = NULL, *yh = NULL, *rh = NULL;
    float *xs = xb ? kw__conv_scratch_get(c, N * C * insz, &xh) : (float *)x;
    float *ys = yb ? kw__conv_scratch_get(c, N * M * outsz, &yh) : y;
    float *rs = rb ? kw__conv_scratch_get(c, N * M * outsz, &rh) : (float *)res;
    if (!xs || !ys || (res && !rs) || (xb && C % 16) || ((yb || rb) && M % 16)) {
        st = xs && ys && (!res || rs)
                 ? kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "channel-blocked layout of %lld -> %lld "
                               "channels",
                               (long long)C, (long long)M)
                 : kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    } else {
        if (xb) kw__c16_reorder(x, xs, N, C, insz, 0);
        if (rb) kw__c16_reorder(res, rs, N, M, outsz, 0);
        st = conv_planes(c, g, N, C, M, group, xs, w, bias, rs, act, ys);
        if (!st && yb) kw__c16_reorder(ys, y, N, M, outsz, 1);
    }
    kw__conv_scratch_put(c, xh);
    kw__conv_scratch_put(c, yh);
    kw__conv_scratch_put(c, rh);
    return st;
}

void kw__c16_reorder(const float *src, float *dst, int64_t n, int64_t C,
                     int64_t hw, int to_c16) {
    for (int64_t i = 0; i < n * C; i++) {
        const int64_t img = i / C, ch = i % C;
        const int64_t blk = (img * C + ch / 16 * 16) * hw;
        for (int64_t p = 0; p < hw; p++) {
            const int64_t plane = i * hw + p, b16 = blk + p * 16 + ch % 16;
            if (to_c16) dst[b16] = src[plane];
            else dst[plane] = src[b16];
        }
    }
}

/* ---- shape checks shared by the convolutions ---- */

struct conv_shape {
    struct kw__nn_geom g;
    int64_t N, C, M, group;
    int rank;
    int64_t ydims[KW_ONNX_MAX_RANK];
};

static enum kw_status conv_shape(struct kw__op_ctx *c,
                                 const struct kw_onnx_value *X,
                                 const struct kw_onnx_value *W,
                                 struct conv_shape *s) {
    if (!kw__is_tensor(X) || !kw__is_tensor(W))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X and W are required");
    if (X->rank < 3 || W->rank != X->rank)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "X (rank %d) and W (rank %d) must be (N, C, ...) "
                           "of the same rank >= 3",
                           X->rank, W->rank);
    s->N = X->dims[0];
    s->C = X->dims[1];
    s->M = W->dims[0];
    s->group = kw__attr_i(c, "group", 1);
    if (s->group < 1 || s->C % s->group || s->M % s->group ||
        W->dims[1] != s->C / s->group)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "channels do not match: C=%lld, W=(%lld, %lld), "
                           "group=%lld",
                           (long long)s->C, (long long)W->dims[0],
                           (long long)W->dims[1], (long long)s->group);
    enum kw_status st = kw__nn_geom_init(c, X, W->dims + 2, 0, &s->g);
    if (st) return st;
    for (int d = 0; d < s->g.nsp; d++)
        if (s->g.k[d] != W->dims[d + 2])
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "kernel_shape disagrees with W");
    s->rank = X->rank;
    s->ydims[0] = s->N;
    s->ydims[1] = s->M;
    for (int d = 0; d < s->g.nsp; d++) s->ydims[d + 2] = s->g.out[d];
    /* every index product below must fit in int64 */
    int64_t col = kw__nn_prod((int64_t[]){W->dims[1], kw__nn_prod(s->g.k,
                                                                  s->g.nsp),
                                          kw__nn_prod(s->g.out, s->g.nsp)},
                              3);
    if (col < 0 || kw__nn_prod(s->ydims, s->rank) < 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "sizes too large");
    return KW_STATUS_OK;
}

/* A tensor's values as doubles, minus a zero point per channel of axis
 * dimension ch_dim (NULL zp: none). */
static double *to_f64(const struct kw_onnx_value *v, const double *zp,
                      int per_channel_outer) {
    const int64_t n = kw_onnx_numel(v);
    double *d = malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!d) return NULL;
    const int64_t inner = per_channel_outer && v->dims[0]
                              ? n / v->dims[0]
                              : (n ? n : 1);
    for (int64_t i = 0; i < n; i++)
        d[i] = kw__get_f64(v, i) - (zp ? zp[per_channel_outer ? i / inner : 0]
                                       : 0.0);
    return d;
}

/* The convolution of X, W, B into Y (of s's output shape); for float32
 * res (or NULL) and act as conv_f32 takes them, other dtypes in double
 * (their activation comes from kw__node_epilogue). */
static enum kw_status conv_into(struct kw__op_ctx *c, const struct conv_shape *s,
                                const struct kw_onnx_value *X,
                                const struct kw_onnx_value *W,
                                const struct kw_onnx_value *B, const float *res,
                                int act, struct kw_onnx_value *Y) {
    if (X->dtype == KW_ONNX_FLOAT)
        return conv_f32(c, &s->g, s->N, s->C, s->M, s->group, X->data, W->data,
                        B ? B->data : NULL, res, act, Y->data);
    double *x = to_f64(X, NULL, 0), *w = to_f64(W, NULL, 0);
    double *b = B ? to_f64(B, NULL, 0) : NULL;
    double *y = malloc((size_t)(kw_onnx_numel(Y) + 1) * sizeof(double));
    enum kw_status st = KW_STATUS_OK;
    if (!x || !w || (B && !b) || !y) {
        st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    } else {
        kw__nn_conv_direct(c, &s->g, s->N, s->C, s->M, s->group, x, w, b, y);
        for (int64_t i = 0; i < kw_onnx_numel(Y); i++) kw__set_f64(Y, i, y[i]);
    }
    free(x);
    free(w);
    free(b);
    free(y);
    return st;
}

/* A fused Add (fuse.c) whose other operand R is not float32 of the
 * convolution's shape: Y = conv + R with broadcasting, in double, on a
 * convolution computed apart (rare; Y may be larger than the conv). */
static enum kw_status conv_add_general(struct kw__op_ctx *c,
                                       const struct conv_shape *s,
                                       const struct kw_onnx_value *X,
                                       const struct kw_onnx_value *W,
                                       const struct kw_onnx_value *B,
                                       const struct kw_onnx_value *R, int act) {
    const int rank = KW_MAX(s->rank, R->rank);
    int64_t yd[KW_ONNX_MAX_RANK], ts[KW_ONNX_MAX_RANK], rs[KW_ONNX_MAX_RANK];
    int64_t tstep = 1, rstep = 1;
    for (int i = rank - 1; i >= 0; i--) {
        const int it = i - (rank - s->rank), ir = i - (rank - R->rank);
        const int64_t t = it >= 0 ? s->ydims[it] : 1, r = ir >= 0 ? R->dims[ir] : 1;
        if (t != r && t != 1 && r != 1)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "the fused Add's operands do not broadcast");
        yd[i] = t == 1 ? r : t;
        ts[i] = t == 1 ? 0 : tstep;
        rs[i] = r == 1 ? 0 : rstep;
        tstep *= t;
        rstep *= r;
    }
    struct kw_onnx_value *T = kw_onnx_tensor_new(X->dtype, s->rank, s->ydims);
    if (!T) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    enum kw_status st = conv_into(c, s, X, W, B, NULL, KW_ACT_NONE, T);
    struct kw_onnx_value *Y =
        st ? NULL : kw__out_tensor_raw(c, 0, X->dtype, rank, yd);
    if (!st && !Y) st = KW_STATUS_ERR_NOMEM;
    if (!st) {
        int64_t idx[KW_ONNX_MAX_RANK] = {0}, to = 0, ro = 0;
        for (int64_t i = 0; i < kw_onnx_numel(Y); i++) {
            kw__set_f64(Y, i, kw__get_f64(T, to) + kw__get_f64(R, ro));
            for (int d = rank - 1; d >= 0; d--) {
                to += ts[d];
                ro += rs[d];
                if (++idx[d] < yd[d]) break;
                to -= ts[d] * yd[d];
                ro -= rs[d] * yd[d];
                idx[d] = 0;
            }
        }
        if (act && Y->dtype == KW_ONNX_FLOAT)
            kw__nn_act_ref(Y->data, kw_onnx_numel(Y), act, c->node->act_alpha,
                           c->node->act_beta);
    }
    kw_onnx_value_free(T);
    return st;
}

/* A depthwise Conv that runs the pointwise one before it (kw__node.pre):
 * X that one's input, E / BE its weights (packed) and bias (inputs 4,
 * 5); the depthwise geometry is that of X with M channels. */
static enum kw_status conv_pre(struct kw__op_ctx *c) {
    const struct kw_onnx_value *X = kw__in(c, 0), *W = kw__in(c, 1),
                               *B = kw__in(c, 2), *E = kw__in(c, 4),
                               *BE = kw__in(c, 5);
    if (!kw__is_tensor(X) || !kw__is_tensor(W) || !kw__is_tensor(E) ||
        X->rank != 4 || W->rank != 4 || X->dtype != KW_ONNX_FLOAT ||
        W->dtype != KW_ONNX_FLOAT || E->dtype != KW_ONNX_FLOAT ||
        (B && (!kw__is_tensor(B) || B->dtype != KW_ONNX_FLOAT)) ||
        (BE && (!kw__is_tensor(BE) || BE->dtype != KW_ONNX_FLOAT)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "a merged pointwise + depthwise Conv needs "
                           "float32 4-D tensors");
    const int64_t M = W->dims[0], C = X->dims[1];
    if (M % 16 ||
        kw_onnx_numel(E) != kw__cdiv(M, KW_CT_MV) * KW_CT_MV * C + 16 ||
        (BE && kw_onnx_numel(BE) != M) || (B && kw_onnx_numel(B) != M))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "the merged pointwise Conv's weights do not fit "
                           "%lld -> %lld channels",
                           (long long)C, (long long)M);
    struct kw_onnx_value Xe = *X; /* the pointwise layer's output shape */
    Xe.dims[1] = M;
    struct conv_shape s;
    enum kw_status st = conv_shape(c, &Xe, W, &s);
    if (st) return st;
    if (s.group != M || W->dims[1] != 1)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "a merged Conv must be depthwise");
    struct kw_onnx_value *Y = kw__out_tensor_raw(c, 0, X->dtype, 4, s.ydims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    const struct kw__node *nd = c->node;
    const struct kw__dw_pre pre = {X->data, kw__align64(E->data),
                                   BE ? BE->data : NULL, C,
                                   nd->blk_in, nd->pre_act, nd->pre_alpha,
                                   nd->pre_beta};
    const int act = nd->act_in_op ? nd->fused_act : KW_ACT_NONE;
    const struct kw__nn_kern *kern = kw__nn_kern();
    if (kern && kw__conv_dw_pre(c, &s.g, s.N, M, &pre, W->data,
                                B ? B->data : NULL, Y->data, nd->blk_out, kern,
                                act, nd->act_alpha, nd->act_beta, &st))
        return st;
    /* the merge (fuse.c) takes only what the kernel does: not reached */
    return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                       "no kernel for this merged pointwise + depthwise "
                       "Conv (AVX-512, pads >= 0, up to 64 taps)");
}

/* Inputs X, W, B and, after a fused Add (fuse.c), the residual R
 * (input 3), added before the fused activation. */
enum kw_status kw__op_conv(struct kw__op_ctx *c) {
    if (c->node->pre) return conv_pre(c);
    const struct kw_onnx_value *X = kw__in(c, 0), *W = kw__in(c, 1),
                               *B = kw__in(c, 2), *R = kw__in(c, 3);
    struct conv_shape s;
    enum kw_status st = conv_shape(c, X, W, &s);
    if (st) return st;
    if (!kw__dtype_is_float(X->dtype) || W->dtype != X->dtype ||
        (B && (!kw__is_tensor(B) || B->dtype != X->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "unsupported dtype %s",
                           kw_onnx_dtype_name(X->dtype));
    if (B && (B->rank != 1 || B->dims[0] != s.M))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "B must have %lld elements", (long long)s.M);
    const int act = c->node->act_in_op ? c->node->fused_act : KW_ACT_NONE;
    if (R) {
        if (!kw__is_tensor(R) || R->dtype != X->dtype)
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "the fused Add's operand must be a %s tensor",
                               kw_onnx_dtype_name(X->dtype));
        int same = R->rank == s.rank && X->dtype == KW_ONNX_FLOAT;
        for (int i = 0; same && i < s.rank; i++)
            if (R->dims[i] != s.ydims[i]) same = 0;
        if (!same) return conv_add_general(c, &s, X, W, B, R, act);
    }
    /* every path below writes all of Y */
    struct kw_onnx_value *Y = kw__out_tensor_raw(c, 0, X->dtype, s.rank, s.ydims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    return conv_into(c, &s, X, W, B, R ? R->data : NULL, act, Y);
}

/* ConvInteger / QLinearConv: acc = conv(x - xzp, w - wzp[m]) (+ bias) in
 * exact integer arithmetic carried in doubles. */
static enum kw_status qconv_acc(struct kw__op_ctx *c,
                                const struct kw_onnx_value *X,
                                const struct kw_onnx_value *xzp_v,
                                const struct kw_onnx_value *W,
                                const struct kw_onnx_value *wzp_v,
                                const struct kw_onnx_value *B,
                                struct conv_shape *s, double **acc) {
    *acc = NULL;
    enum kw_status st = conv_shape(c, X, W, s);
    if (st) return st;
    if ((X->dtype != KW_ONNX_UINT8 && X->dtype != KW_ONNX_INT8) ||
        (W->dtype != KW_ONNX_UINT8 && W->dtype != KW_ONNX_INT8))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "x and w must be uint8 or int8");
    if ((xzp_v && (!kw__is_tensor(xzp_v) || xzp_v->dtype != X->dtype)) ||
        (wzp_v && (!kw__is_tensor(wzp_v) || wzp_v->dtype != W->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "zero points must match their input's dtype");
    if (B && (!kw__is_tensor(B) || B->dtype != KW_ONNX_INT32 ||
              B->rank != 1 || B->dims[0] != s->M))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "B must be int32 with %lld elements",
                           (long long)s->M);
    double *xzp = NULL, *wzp = NULL, *x = NULL, *w = NULL, *b = NULL, *y = NULL;
    if (!kw__nn_qparam(c, xzp_v, "x_zero_point", 0, 0, &xzp) ||
        !kw__nn_qparam(c, wzp_v, "w_zero_point", s->M, 0, &wzp)) {
        free(xzp);
        return KW_STATUS_ERR_FORMAT;
    }
    x = to_f64(X, xzp, 0);
    w = to_f64(W, wzp, 1);
    b = B ? to_f64(B, NULL, 0) : NULL;
    const int64_t ny = kw__nn_prod(s->ydims, s->rank);
    y = malloc((size_t)(ny + 1) * sizeof(double));
    if (!x || !w || (B && !b) || !y) {
        st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        free(y);
        y = NULL;
    } else {
        kw__nn_conv_direct(c, &s->g, s->N, s->C, s->M, s->group, x, w, b, y);
    }
    free(xzp);
    free(wzp);
    free(x);
    free(w);
    free(b);
    *acc = y;
    return st;
}

enum kw_status kw__op_conv_integer(struct kw__op_ctx *c) {
    struct conv_shape s;
    double *acc;
    enum kw_status st = qconv_acc(c, kw__in(c, 0), kw__in(c, 2), kw__in(c, 1),
                                  kw__in(c, 3), NULL, &s, &acc);
    if (st) return st;
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, KW_ONNX_INT32, s.rank,
                                             s.ydims);
    if (Y) {
        int32_t *yd = Y->data;
        for (int64_t i = 0; i < kw_onnx_numel(Y); i++)
            yd[i] = (int32_t)(uint32_t)(int64_t)acc[i];
    }
    free(acc);
    return Y ? KW_STATUS_OK : KW_STATUS_ERR_NOMEM;
}

enum kw_status kw__op_qlinear_conv(struct kw__op_ctx *c) {
    const struct kw_onnx_value *yzp_v = kw__in(c, 7);
    if (!kw__is_tensor(yzp_v) ||
        (yzp_v->dtype != KW_ONNX_UINT8 && yzp_v->dtype != KW_ONNX_INT8))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "y_zero_point must be a uint8/int8 tensor");
    struct conv_shape s;
    double *acc, *xs = NULL, *ws = NULL, *ys = NULL, *yzp = NULL;
    enum kw_status st = qconv_acc(c, kw__in(c, 0), kw__in(c, 2), kw__in(c, 3),
                                  kw__in(c, 5), kw__in(c, 8), &s, &acc);
    if (st) return st;
    struct kw_onnx_value *Y = NULL;
    if (!kw__nn_qparam(c, kw__in(c, 1), "x_scale", 0, 1, &xs) ||
        !kw__nn_qparam(c, kw__in(c, 4), "w_scale", s.M, 1, &ws) ||
        !kw__nn_qparam(c, kw__in(c, 6), "y_scale", 0, 1, &ys) ||
        !kw__nn_qparam(c, yzp_v, "y_zero_point", 0, 0, &yzp)) {
        st = KW_STATUS_ERR_FORMAT;
        goto done;
    }
    Y = kw__out_tensor(c, 0, yzp_v->dtype, s.rank, s.ydims);
    if (!Y) {
        st = KW_STATUS_ERR_NOMEM;
        goto done;
    }
    const int64_t outsz = kw__nn_prod(s.g.out, s.g.nsp);
    for (int64_t i = 0; i < kw_onnx_numel(Y); i++) {
        const int64_t m = outsz ? (i / outsz) % s.M : 0;
        const float mult = (float)xs[0] * (float)ws[m] / (float)ys[0];
        const float v = (float)acc[i] * mult;
        kw__set_i64(Y, i, kw__nn_saturate((double)v + yzp[0], Y->dtype));
    }
done:
    free(xs);
    free(ws);
    free(ys);
    free(yzp);
    free(acc);
    return st;
}
