/*
 * test_onnx_perf_kernels.c — the float32 fast paths of the NN operators
 * against naive double-precision loops on odd shapes, on every ISA the
 * CPU has (reference, AVX2, AVX-512; kw__nn_force_isa) and with 1 and 2
 * threads: Conv (packed weights prepared at load or packed per run,
 * 1-D/2-D, groups, strides, pads, dilations, the fused activation taken
 * over from the epilogue), depthwise Conv, MaxPool / AveragePool /
 * GlobalAveragePool (3x3/2 MaxPool with NaNs too), and the kernel
 * table's activations, sum and dot.
 */
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/exec.h"
#include "onnx/ops/nn_internal.h"
#include "testutil.h"

static uint64_t g_rng = 0x5eed1234;
static struct kw_onnx_model g_model2; /* a 2-thread pool for ctx.exec */
static struct kw__exec g_exec2;

static int close_to(const float *got, const double *want, int64_t n,
                    double tol, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i])))) {
            fprintf(stderr, "  %s: [%lld] got %.7g want %.7g\n", what,
                    (long long)i, got[i], want[i]);
            return 0;
        }
    return 1;
}

static struct kw_onnx_value *rand_tensor(int rank, const int64_t *dims) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_FLOAT, rank, dims);
    float *d = v->data;
    for (int64_t i = 0; i < kw_onnx_numel(v); i++) d[i] = kw_test_randf(&g_rng);
    return v;
}

static float act_ref(int act, float x, float a, float b) {
    float y = x;
    kw__nn_act_ref(&y, 1, act, a, b);
    return y;
}

/* ---- a node with its context ---- */

#define MAX_ATTRS 8
struct fake {
    struct kw__node node;
    struct kw__attr attrs[MAX_ATTRS];
    int64_t ints[MAX_ATTRS][8];
    int ins[4], outs[1];
    struct kw_onnx_value *in[4], *out[1];
    char err[512];
    struct kw__op_ctx ctx;
};

static void fake_init(struct fake *f, const char *op) {
    memset(f, 0, sizeof *f);
    f->node.name = "t";
    f->node.op_type = op;
    f->node.domain = "";
    f->node.attrs = f->attrs;
    f->node.in = f->ins;
    f->node.out = f->outs;
    f->node.opset = 13;
    f->node.n_out = 1;
    f->outs[0] = 9;
    f->ctx = (struct kw__op_ctx){.node = &f->node, .opset = 13, .in = f->in,
                                 .out = f->out, .n_out = 1, .err = f->err,
                                 .err_size = sizeof f->err};
}

static void fake_in(struct fake *f, struct kw_onnx_value *v) {
    const int k = f->node.n_in++;
    f->ins[k] = k;
    f->in[k] = v;
    f->ctx.n_in = f->node.n_in;
}

static void attr_ints(struct fake *f, const char *name, int n,
                      const int64_t *v) {
    const int k = f->node.n_attrs++;
    memcpy(f->ints[k], v, sizeof(int64_t) * (size_t)n);
    f->attrs[k] = (struct kw__attr){.name = name, .type = KW_ATTR_INTS,
                                    .n = (size_t)n, .ints = f->ints[k]};
}

static void attr_i(struct fake *f, const char *name, int64_t v) {
    f->attrs[f->node.n_attrs++] =
        (struct kw__attr){.name = name, .type = KW_ATTR_INT, .i = v};
}

/* ---- Conv ---- */

struct conv_case {
    int nsp;
    int64_t N, C, M, group, in[2], k[2], s[2], d[2], pb[2], pe[2];
    int act;
};

static void conv_want(const struct conv_case *t, const float *x,
                      const float *w, const float *bias, const int64_t *out,
                      double *y) {
    const int n = t->nsp;
    const int64_t Cg = t->C / t->group, Mg = t->M / t->group;
    const int64_t IH = n == 2 ? t->in[0] : 1, IW = t->in[n - 1];
    const int64_t OH = n == 2 ? out[0] : 1, OW = out[n - 1];
    const int64_t KH = n == 2 ? t->k[0] : 1, KW = t->k[n - 1];
    const int64_t SH = n == 2 ? t->s[0] : 1, SW = t->s[n - 1];
    const int64_t DH = n == 2 ? t->d[0] : 1, DW = t->d[n - 1];
    const int64_t PT = n == 2 ? t->pb[0] : 0, PL = t->pb[n - 1];
    for (int64_t b = 0; b < t->N; b++)
        for (int64_t m = 0; m < t->M; m++) {
            const int64_t gi = m / Mg;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double acc = bias ? bias[m] : 0;
                    for (int64_t ci = 0; ci < Cg; ci++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                const int64_t ih = oh * SH - PT + kh * DH;
                                const int64_t iw = ow * SW - PL + kw * DW;
                                if (ih < 0 || ih >= IH || iw < 0 || iw >= IW)
                                    continue;
                                acc += (double)x[((b * t->C + gi * Cg + ci) * IH + ih) * IW + iw] *
                                       w[((m * Cg + ci) * KH + kh) * KW + kw];
                            }
                    y[((b * t->M + m) * OH + oh) * OW + ow] =
                        act_ref(t->act, (float)acc, 0.0f, 6.0f);
                }
        }
}

static void conv_case_run(const struct conv_case *t) {
    const int n = t->nsp;
    int64_t xd[4] = {t->N, t->C}, wd[4] = {t->M, t->C / t->group}, bd[1] = {t->M};
    int64_t out[2];
    for (int i = 0; i < n; i++) {
        xd[2 + i] = t->in[i];
        wd[2 + i] = t->k[i];
        out[i] = (t->in[i] + t->pb[i] + t->pe[i] - (t->k[i] - 1) * t->d[i] - 1) /
                     t->s[i] + 1;
    }
    struct kw_onnx_value *X = rand_tensor(2 + n, xd), *W = rand_tensor(2 + n, wd),
                         *B = rand_tensor(1, bd);
    int64_t ny = t->N * t->M * out[0] * (n == 2 ? out[1] : 1);
    double *want = malloc((size_t)ny * sizeof *want);
    conv_want(t, X->data, W->data, B->data, out, want);
    for (int isa = 0; isa < KW__ISA_COUNT; isa++)
        for (int prep = 0; prep < 2; prep++)
            for (int th = 1; th <= 2; th++) {
                kw__nn_force_isa(isa);
                struct fake f;
                fake_init(&f, "Conv");
                fake_in(&f, X);
                fake_in(&f, W);
                fake_in(&f, B);
                int64_t pads[4];
                for (int i = 0; i < n; i++) {
                    pads[i] = t->pb[i];
                    pads[n + i] = t->pe[i];
                }
                attr_ints(&f, "strides", n, t->s);
                attr_ints(&f, "dilations", n, t->d);
                attr_ints(&f, "pads", 2 * n, pads);
                attr_i(&f, "group", t->group);
                f.node.fused_act = t->act;
                f.node.act_alpha = 0.0f;
                f.node.act_beta = 6.0f;
                if (prep) {
                    /* W as a constant of a graph, like a loaded model */
                    struct kw_onnx_value *init[3] = {NULL, W, NULL};
                    struct kw__graph g = {.n_values = 3, .init = init};
                    /* straight to the Conv hook: kw__node_prepare would
                     * skip a node without the registry's op */
                    kw__conv_prepare(&f.node, &g);
                    /* (no micro-kernel on the reference ISA, which an ISA
                     * the CPU lacks falls back to under KW_FORCE_REF;
                     * depthwise works from W as it is) */
                    CHECKF(f.node.state != NULL ||
                               kw__nn_isa() == KW__ISA_REF ||
                               (t->group == t->C && n == 2),
                           "conv C%lld M%lld g%lld isa %d: nothing prepared",
                           (long long)t->C, (long long)t->M,
                           (long long)t->group, isa);
                }
                if (th == 2) f.ctx.exec = &g_exec2;
                enum kw_status st = kw__op_conv(&f.ctx);
                if (!st) st = kw__node_epilogue(&f.ctx);
                char what[160];
                snprintf(what, sizeof what,
                         "conv %dD N%lld C%lld M%lld g%lld in %lldx%lld k%lld "
                         "s%lld d%lld act %d isa %d prep %d th %d",
                         n, (long long)t->N, (long long)t->C, (long long)t->M,
                         (long long)t->group, (long long)t->in[0],
                         (long long)t->in[1], (long long)t->k[0],
                         (long long)t->s[0], (long long)t->d[0], t->act, isa,
                         prep, th);
                CHECKF(st == KW_STATUS_OK, "%s: %s", what, f.err);
                if (!st) {
                    CHECKF(kw_onnx_numel(f.out[0]) == ny, "%s: size", what);
                    CHECKF(close_to(f.out[0]->data, want, ny, 2e-4, what),
                           "%s", what);
                }
                kw_onnx_value_free(f.out[0]);
                if (f.node.state) f.node.state_free(f.node.state);
            }
    kw__nn_force_isa(-1);
    kw_onnx_value_free(X);
    kw_onnx_value_free(W);
    kw_onnx_value_free(B);
    free(want);
}

static void test_conv(void) {
    static const struct conv_case cases[] = {
        /* 3x3 pad 1 stride 1 (flat path), odd sizes, ragged M and N */
        {2, 1, 5, 13, 1, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0},
        {2, 2, 16, 70, 1, {11, 13}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* pointwise, pointwise with groups */
        {2, 1, 33, 17, 1, {5, 19}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 1, 12, 8, 4, {6, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        /* strided (run path), asymmetric pads, dilation */
        {2, 1, 3, 24, 1, {15, 17}, {3, 3}, {2, 2}, {1, 1}, {1, 0}, {0, 1}, 1},
        {2, 1, 4, 9, 1, {12, 11}, {3, 2}, {1, 1}, {2, 3}, {2, 1}, {1, 2}, 2},
        {2, 1, 6, 10, 2, {9, 10}, {5, 5}, {3, 2}, {1, 1}, {2, 2}, {2, 2}, 0},
        /* K above one block (Kdim > 256) and many columns */
        {2, 1, 40, 12, 1, {20, 21}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        /* no padding, 3x3: the flat path reads a padded copy */
        {2, 1, 2, 3, 1, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        /* 1-D */
        {1, 2, 6, 11, 1, {23, 0}, {3, 0}, {1, 0}, {1, 0}, {1, 0}, {1, 0}, 1},
        {1, 1, 4, 4, 2, {17, 0}, {5, 0}, {2, 0}, {2, 0}, {3, 0}, {0, 0}, 0},
        /* depthwise 3x3 s1/s2, 5x5, channel multiplier 2, dilation */
        /* 16-channel blocks (two AVX2 halves) and a ragged block of 3;
         * dilation 2 on a small plane, and a 5x5 stride-2 30x29 plane
         * (small enough for AVX2's channel-blocked path) */
        {2, 1, 19, 19, 19, {15, 13}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, 2},
        {2, 1, 21, 21, 21, {30, 29}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {1, 2}, 1},
        {2, 1, 7, 7, 7, {13, 37}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 2, 5, 5, 5, {14, 33}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 1, 3, 3, 3, {19, 40}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 0},
        {2, 1, 3, 6, 3, {11, 35}, {3, 3}, {2, 1}, {2, 2}, {2, 1}, {0, 2}, 2},
        {2, 1, 2, 2, 2, {3, 3}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* depthwise fast path: 5x5 s1/s2 odd shapes, asymmetric pads,
         * rows narrower than a vector, widths at the vector edge */
        {2, 1, 3, 3, 3, {17, 23}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
        {2, 2, 2, 2, 2, {9, 7}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 2},
        {2, 1, 2, 4, 2, {21, 45}, {5, 5}, {2, 2}, {1, 1}, {1, 2}, {2, 1}, 0},
        {2, 1, 3, 3, 3, {7, 7}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 0},
        {2, 1, 2, 2, 2, {14, 14}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, 2},
        {2, 1, 2, 2, 2, {6, 17}, {5, 5}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 1, 2, 2, 2, {5, 16}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0},
        {2, 1, 2, 2, 2, {11, 33}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        conv_case_run(&cases[i]);
}

/* ---- pooling ---- */

static double pool_cell_want(const float *x, int64_t IH, int64_t IW,
                             const int64_t *k, const int64_t *s,
                             const int64_t *pb, const int64_t *pe, int is_max,
                             int count_pad, int64_t oh, int64_t ow) {
    double best = 0, acc = 0;
    int64_t cnt = 0;
    int any = 0;
    for (int64_t kh = 0; kh < k[0]; kh++)
        for (int64_t kw = 0; kw < k[1]; kw++) {
            const int64_t ih = oh * s[0] - pb[0] + kh, iw = ow * s[1] - pb[1] + kw;
            const int in = ih >= 0 && ih < IH && iw >= 0 && iw < IW;
            const int inpad = ih >= -pb[0] && ih < IH + pe[0] && iw >= -pb[1] &&
                              iw < IW + pe[1];
            if (!in) {
                if (count_pad && inpad) cnt++;
                continue;
            }
            const double v = x[ih * IW + iw];
            if (!any || v > best) best = v;
            any = 1;
            acc += v;
            cnt++;
        }
    if (is_max) return any ? best : 0;
    return cnt ? acc / (double)cnt : 0;
}

static void pool_case(int is_max, int global, int64_t C, int64_t IH,
                      int64_t IW, int64_t k0, int64_t k1, int64_t s0,
                      int64_t s1, int64_t p0, int64_t p1, int count_pad) {
    int64_t xd[4] = {1, C, IH, IW};
    struct kw_onnx_value *X = rand_tensor(4, xd);
    int64_t k[2] = {global ? IH : k0, global ? IW : k1},
            s[2] = {global ? 1 : s0, global ? 1 : s1},
            pb[2] = {global ? 0 : p0, global ? 0 : p1},
            pe[2] = {global ? 0 : p1, global ? 0 : p0};
    const int64_t OH = (IH + pb[0] + pe[0] - k[0]) / s[0] + 1,
                  OW = (IW + pb[1] + pe[1] - k[1]) / s[1] + 1;
    double *want = malloc((size_t)(C * OH * OW) * sizeof *want);
    for (int64_t c = 0; c < C; c++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                want[(c * OH + oh) * OW + ow] = pool_cell_want(
                    (const float *)X->data + c * IH * IW, IH, IW, k, s, pb, pe,
                    is_max, count_pad, oh, ow);
    for (int isa = 0; isa < KW__ISA_COUNT; isa++)
        for (int th = 1; th <= 2; th++) {
            kw__nn_force_isa(isa);
            struct fake f;
            fake_init(&f, is_max ? "MaxPool" : "AveragePool");
            fake_in(&f, X);
            enum kw_status st;
            if (global) {
                st = 0;
            } else {
                int64_t pads[4] = {pb[0], pb[1], pe[0], pe[1]};
                attr_ints(&f, "kernel_shape", 2, k);
                attr_ints(&f, "strides", 2, s);
                attr_ints(&f, "pads", 4, pads);
                attr_i(&f, "count_include_pad", count_pad);
            }
            if (th == 2) f.ctx.exec = &g_exec2;
            st = global ? (is_max ? kw__op_global_max_pool(&f.ctx)
                                  : kw__op_global_average_pool(&f.ctx))
                        : (is_max ? kw__op_max_pool(&f.ctx)
                                  : kw__op_average_pool(&f.ctx));
            char what[160];
            snprintf(what, sizeof what,
                     "%s%s C%lld %lldx%lld k%lldx%lld s%lldx%lld p%lld,%lld "
                     "cp%d isa %d th %d",
                     global ? "Global" : "", is_max ? "MaxPool" : "AveragePool",
                     (long long)C, (long long)IH, (long long)IW, (long long)k[0],
                     (long long)k[1], (long long)s[0], (long long)s[1],
                     (long long)pb[0], (long long)pb[1], count_pad, isa, th);
            CHECKF(st == KW_STATUS_OK, "%s: %s", what, f.err);
            if (!st) {
                CHECKF(kw_onnx_numel(f.out[0]) == C * OH * OW, "%s: size", what);
                CHECKF(close_to(f.out[0]->data, want, C * OH * OW,
                                is_max ? 0 : 1e-5, what),
                       "%s", what);
            }
            kw_onnx_value_free(f.out[0]);
        }
    kw__nn_force_isa(-1);
    kw_onnx_value_free(X);
    free(want);
}

/* MaxPool 3x3/2 with NaNs among negative values: a window's first tap
 * that is NaN gives NaN, a NaN elsewhere never wins (the reference's '>'),
 * pads never do, on every ISA and with
 * 1 and 2 threads; pads 0-2 on either side (windows starting left of the
 * row take column 0 as their first tap), a NaN every nan_every values. */
static void pool_nan_case_ks(int64_t C, int64_t IH, int64_t IW, int64_t pt,
                             int64_t pl, int64_t pb_, int64_t pr,
                             int64_t nan_every, int64_t kk, int64_t ss) {
    const int64_t OH = (IH + pt + pb_ - kk) / ss + 1,
                  OW = (IW + pl + pr - kk) / ss + 1;
    int64_t xd[4] = {1, C, IH, IW}, k[2] = {kk, kk}, s[2] = {ss, ss},
            pbeg[2] = {pt, pl}, pend[2] = {pb_, pr};
    struct kw_onnx_value *X = rand_tensor(4, xd);
    float *x = X->data;
    /* all below zero, so a pad read as 0 would win */
    for (int64_t i = 0; i < C * IH * IW; i++) x[i] = -1.0f - fabsf(x[i]);
    for (int64_t i = 0; i < C * IH * IW; i += nan_every) x[i] = NAN;
    double *want = malloc((size_t)(C * OH * OW) * sizeof *want);
    for (int64_t c = 0; c < C; c++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                want[(c * OH + oh) * OW + ow] = pool_cell_want(
                    x + c * IH * IW, IH, IW, k, s, pbeg, pend, 1, 0, oh, ow);
    for (int run = 0; run < 2 * KW__ISA_COUNT; run++) {
        const int isa = run / 2, th = run % 2 + 1;
        kw__nn_force_isa(isa);
        struct fake f;
        fake_init(&f, "MaxPool");
        fake_in(&f, X);
        int64_t pads[4] = {pt, pl, pb_, pr};
        attr_ints(&f, "kernel_shape", 2, k);
        attr_ints(&f, "strides", 2, s);
        attr_ints(&f, "pads", 4, pads);
        if (th == 2) f.ctx.exec = &g_exec2;
        enum kw_status st = kw__op_max_pool(&f.ctx);
        CHECKF(st == KW_STATUS_OK, "MaxPool NaN isa %d: %s", isa, f.err);
        if (!st) {
            const float *y = f.out[0]->data;
            int bad = 0, nans = 0;
            for (int64_t i = 0; i < C * OH * OW && !bad; i++) {
                nans += isnan(want[i]) != 0;
                if (isnan(want[i]) ? !isnan(y[i]) : y[i] != want[i]) {
                    fprintf(stderr,
                            "  MaxPool NaN %lldx%lld pads %lld,%lld,%lld,%lld "
                            "isa %d th %d: [%lld] got %g want %g\n",
                            (long long)IH, (long long)IW, (long long)pt,
                            (long long)pl, (long long)pb_, (long long)pr, isa,
                            th, (long long)i, y[i], want[i]);
                    bad = 1;
                }
            }
            CHECKF(!bad && nans > 0, "MaxPool NaN isa %d th %d", isa, th);
        }
        kw_onnx_value_free(f.out[0]);
    }
    kw__nn_force_isa(-1);
    kw_onnx_value_free(X);
    free(want);
}

static void pool_nan_case(int64_t C, int64_t IH, int64_t IW, int64_t pt,
                          int64_t pl, int64_t pb_, int64_t pr,
                          int64_t nan_every) {
    pool_nan_case_ks(C, IH, IW, pt, pl, pb_, pr, nan_every, 3, 2);
}

static void test_pool(void) {
    pool_nan_case(2, 13, 41, 1, 1, 1, 1, 7);
    pool_nan_case(3, 16, 112, 1, 1, 1, 1, 5); /* ResNet's width */
    pool_nan_case(2, 11, 37, 2, 2, 0, 0, 6);  /* column 0 first taps */
    pool_nan_case(2, 9, 50, 0, 0, 2, 2, 3);   /* windows past the end */
    pool_nan_case(2, 10, 33, 0, 2, 1, 1, 4);
    pool_nan_case(2, 6, 8, 1, 1, 1, 1, 2);
    pool_nan_case(2, 12, 112, 1, 1, 1, 1, 113); /* NaNs in few rows */
    /* stride 1 over big windows (YOLO's SPP), separable: same padding,
     * windows wider than the plane, one-sided pads */
    pool_nan_case_ks(3, 13, 13, 2, 2, 2, 2, 7, 5, 1);
    pool_nan_case_ks(2, 13, 13, 4, 4, 4, 4, 11, 9, 1);
    pool_nan_case_ks(2, 13, 13, 6, 6, 6, 6, 5, 13, 1);
    pool_nan_case_ks(2, 9, 20, 0, 3, 4, 1, 6, 5, 1);
    for (int is_max = 0; is_max < 2; is_max++) {
        pool_case(is_max, 0, 3, 57, 61, 3, 3, 2, 2, 1, 1, 0);
        /* 3x3/2 (max: its own AVX-512 kernel): ResNet's stem, one-sided
         * and no pads, planes narrower than a vector, 1-3 rows */
        pool_case(is_max, 0, 2, 112, 112, 3, 3, 2, 2, 1, 1, 0);
        pool_case(is_max, 0, 3, 20, 35, 3, 3, 2, 2, 0, 1, 0);
        pool_case(is_max, 0, 2, 9, 70, 3, 3, 2, 2, 1, 0, 0);
        pool_case(is_max, 0, 2, 7, 5, 3, 3, 2, 2, 0, 0, 0);
        pool_case(is_max, 0, 2, 3, 4, 3, 3, 2, 2, 1, 1, 0);
        /* pads of 2 (windows from column -2), one row wider than a step
         * of 16 outputs, widths around the vector steps */
        pool_case(is_max, 0, 2, 15, 66, 3, 3, 2, 2, 2, 2, 0);
        pool_case(is_max, 0, 3, 8, 65, 3, 3, 2, 2, 0, 2, 0);
        pool_case(is_max, 0, 2, 9, 97, 3, 3, 2, 2, 2, 0, 0);
        pool_case(is_max, 0, 2, 5, 16, 3, 3, 2, 2, 1, 1, 0);
        pool_case(is_max, 0, 2, 4, 17, 3, 3, 2, 2, 1, 1, 0);
        pool_case(is_max, 0, 5, 19, 37, 3, 3, 1, 1, 1, 1, 1);
        pool_case(is_max, 0, 2, 33, 70, 2, 2, 2, 2, 0, 0, 0);
        pool_case(is_max, 0, 2, 9, 100, 2, 3, 1, 3, 1, 2, 1);
        pool_case(is_max, 0, 4, 5, 7, 3, 3, 1, 1, 1, 1, 0);
        pool_case(is_max, 0, 1, 40, 41, 5, 4, 3, 2, 2, 1, 0);
        pool_case(is_max, 0, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0);
        pool_case(is_max, 1, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0);
        pool_case(is_max, 1, 9, 1, 37, 0, 0, 0, 0, 0, 0, 0);
    }
}

/* ---- kernel table pieces ---- */

static void test_kern(void) {
    float x[203], y[203], r[203];
    for (int i = 0; i < 203; i++) x[i] = 8 * kw_test_randf(&g_rng);
    for (int isa = 1; isa < KW__ISA_COUNT; isa++) {
        const struct kw__nn_kern *k = kw__nn_kern_isa((enum kw__isa)isa);
        if (!k) continue;
        for (int act = KW_ACT_NONE; act <= KW_ACT_HARD_SWISH; act++) {
            memcpy(y, x, sizeof y);
            memcpy(r, x, sizeof r);
            k->act(y, 203, act, 0.2f, 0.5f);
            kw__nn_act_ref(r, 203, act, 0.2f, 0.5f);
            int same = 1;
            for (int i = 0; i < 203; i++)
                same &= fabsf(y[i] - r[i]) <= 1e-6f * (1 + fabsf(r[i]));
            CHECKF(same, "act %d isa %d", act, isa);
        }
        for (int n = 0; n <= 203; n += 29) {
            double s = 0, d = 0;
            for (int i = 0; i < n; i++) {
                s += x[i];
                d += (double)x[i] * x[(i * 7) % 203];
            }
            float xs[203];
            for (int i = 0; i < n; i++) xs[i] = x[(i * 7) % 203];
            CHECKF(fabs(k->sum(x, n) - s) < 1e-4 * (1 + fabs(s)), "sum n %d", n);
            CHECKF(fabs(k->dot(x, xs, n) - d) < 1e-4 * (1 + fabs(d)),
                   "dot n %d", n);
        }
    }
}

int main(void) {
    if (kw__pool_new(2, &g_model2.pool) != KW_STATUS_OK) return 1;
    g_exec2.model = &g_model2;
    test_kern();
    test_pool();
    test_conv();
    kw__pool_free(g_model2.pool);
    return kw_test_finish("test_onnx_perf_kernels");
}
