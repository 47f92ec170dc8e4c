/*
 * test_onnx_conv_fast.c — the packed float32 Conv against a naive double
 * loop where the fast path has its own logic: strided convolutions read
 * through stride-phase planes (7x7/2 stems, 1x1/2 downsampling, strides
 * 3 and (2,1), dilation with stride, pads on one side), the micro-kernel
 * epilogue (bias start, Relu / Clip in registers, several K blocks,
 * ragged tiles), Winograd F(2x2, 3x3) for 3x3 stride 1, the
 * channel-blocked depthwise kernel of small planes,
 * tiles claimed by 1 and 2 threads, outputs written
 * over a reused buffer full of NaN (Conv skips zeroing its output), and
 * a fused residual Add (input 3, added before the activation: in the
 * micro-kernel's epilogue, at the copy of a scratch tile, or after the
 * other paths), same-shaped or broadcast from (M, 1, ...). Pointwise
 * layers whose x the micro-kernel reads in place (few output channels,
 * ragged last panels, several K blocks, groups, 1-D) and panels of at
 * most 16 columns (half-width tiles); the in-place micro-kernel alone on
 * every m, n (masked columns) and epilogue; pointwise layers on planes of
 * few columns (7x7) with long K blocks; the channel-vector path
 * (conv_ct.c) on strided kernels and small pointwise planes; the
 * pixel-vector path (conv_pv.c) on planes of every remainder of 8
 * pixels; batches of several images.
 */
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/exec.h"
#include "onnx/ops/conv_internal.h"
#include "testutil.h"

static uint64_t g_rng = 0x0c0a7f00d;
/* g_keep: the prepared weights of the AVX-512 runs stay in g_state[th]
 * after the case; g_reuse: the next case runs on them instead */
static int g_keep, g_reuse;
static void *g_state[3];
static struct kw_onnx_model g_model2; /* a 2-thread pool */

struct ccase {
    int nsp;
    int64_t C, M, group, in[2], k[2], s[2], d[2], pb[2], pe[2];
    int act; /* 0 none, 1 Relu, 2 Clip(0, 6) */
};

static float act_of(int act, float v) {
    if (act == 1) return v > 0 ? v : 0;
    if (act == 2) return v < 0 ? 0 : v > 6 ? 6 : v;
    return v;
}

/* res: NULL, or the residual (rmode 1: y's shape; 2: one value per m);
 * mag: per output, the sum of the magnitudes of its products (float
 * rounding of a sum is bounded relative to it, not to the result) */
static void want_conv1(const struct ccase *t, const float *x, const float *w,
                       const float *bias, const int64_t *out, const float *res,
                       int rmode, double *y, double *mag) {
    const int n = t->nsp;
    const int64_t Cg = t->C / t->group, Mg = t->M / t->group;
    const int64_t IH = n == 2 ? t->in[0] : 1, IW = t->in[n - 1];
    const int64_t OH = n == 2 ? out[0] : 1, OW = out[n - 1];
    const int64_t KH = n == 2 ? t->k[0] : 1, KW = t->k[n - 1];
    const int64_t SH = n == 2 ? t->s[0] : 1, SW = t->s[n - 1];
    const int64_t DH = n == 2 ? t->d[0] : 1, DW = t->d[n - 1];
    const int64_t PT = n == 2 ? t->pb[0] : 0, PL = t->pb[n - 1];
    for (int64_t m = 0; m < t->M; m++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double acc = bias[m], sabs = fabs(bias[m]);
                for (int64_t ci = 0; ci < Cg; ci++)
                    for (int64_t kh = 0; kh < KH; kh++)
                        for (int64_t kw = 0; kw < KW; kw++) {
                            const int64_t ih = oh * SH - PT + kh * DH;
                            const int64_t iw = ow * SW - PL + kw * DW;
                            if (ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
                            const double p =
                                (double)x[((m / Mg * Cg + ci) * IH + ih) * IW + iw] *
                                w[((m * Cg + ci) * KH + kh) * KW + kw];
                            acc += p;
                            sabs += fabs(p);
                        }
                const int64_t o = (m * OH + oh) * OW + ow;
                mag[o] = sabs;
                float v = (float)acc;
                if (res) v += res[rmode == 1 ? o : m];
                y[o] = act_of(t->act, v);
            }
}

/* every image of the batch (a residual of y's shape per image) */
static void want_conv(const struct ccase *t, int64_t nb, const float *x,
                      const float *w, const float *bias, const int64_t *out,
                      const float *res, int rmode, double *y, double *mag) {
    const int n = t->nsp;
    const int64_t xs = t->C * t->in[0] * (n == 2 ? t->in[1] : 1),
                  ys = t->M * out[0] * (n == 2 ? out[1] : 1);
    for (int64_t b = 0; b < nb; b++)
        want_conv1(t, x + b * xs, w, bias, out,
                   res && rmode == 1 ? res + b * ys : res, rmode, y + b * ys,
                   mag + b * ys);
}

/* nb images */
static void run_case(const struct ccase *t, int rmode, int64_t nb) {
    const int n = t->nsp;
    int64_t xd[4] = {nb, t->C}, wd[4] = {t->M, t->C / t->group}, bd[1] = {t->M};
    int64_t out[2] = {1, 1}, ny = nb * t->M;
    for (int i = 0; i < n; i++) {
        xd[2 + i] = t->in[i];
        wd[2 + i] = t->k[i];
        out[i] = (t->in[i] + t->pb[i] + t->pe[i] - (t->k[i] - 1) * t->d[i] - 1) /
                     t->s[i] + 1;
        ny *= out[i];
    }
    struct kw_onnx_value *X = kw_onnx_tensor_new(KW_ONNX_FLOAT, 2 + n, xd);
    struct kw_onnx_value *W = kw_onnx_tensor_new(KW_ONNX_FLOAT, 2 + n, wd);
    struct kw_onnx_value *B = kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, bd);
    int64_t rd[4] = {nb, t->M, 1, 1};
    for (int i = 0; rmode == 1 && i < n; i++) rd[2 + i] = out[i];
    struct kw_onnx_value *R =
        rmode ? kw_onnx_tensor_new(KW_ONNX_FLOAT, rmode == 1 ? 2 + n : 1 + n,
                                   rmode == 1 ? rd : rd + 1)
              : NULL;
    struct kw_onnx_value *vs[4] = {X, W, B, R};
    for (int v = 0; v < (R ? 4 : 3); v++)
        for (int64_t i = 0; i < kw_onnx_numel(vs[v]); i++)
            ((float *)vs[v]->data)[i] = kw_test_randf(&g_rng) * 2.0f;
    double *want = malloc((size_t)ny * sizeof *want);
    double *mag = malloc((size_t)ny * sizeof *mag);
    want_conv(t, nb, X->data, W->data, B->data, out, R ? R->data : NULL,
              rmode, want, mag);
    const size_t ybytes = (size_t)ny * sizeof(float);
    for (int isa = 0; isa < KW__ISA_COUNT; isa++)
        for (int prep = 0; prep < 2; prep++)
            for (int th = 1; th <= 2; th++) {
                kw__nn_force_isa(isa);
                struct kw__node node = {0};
                struct kw__attr attrs[5];
                int64_t pads[4], ins[3] = {0, 1, 2};
                int ins_i[4] = {0, 1, 2, 3}, outs[1] = {9};
                (void)ins;
                for (int i = 0; i < n; i++) {
                    pads[i] = t->pb[i];
                    pads[n + i] = t->pe[i];
                }
                attrs[0] = (struct kw__attr){.name = "strides", .type = KW_ATTR_INTS,
                                             .n = (size_t)n, .ints = (int64_t *)t->s};
                attrs[1] = (struct kw__attr){.name = "dilations", .type = KW_ATTR_INTS,
                                             .n = (size_t)n, .ints = (int64_t *)t->d};
                attrs[2] = (struct kw__attr){.name = "pads", .type = KW_ATTR_INTS,
                                             .n = (size_t)(2 * n), .ints = pads};
                attrs[3] = (struct kw__attr){.name = "group", .type = KW_ATTR_INT,
                                             .i = t->group};
                node = (struct kw__node){.name = "t", .op_type = "Conv", .domain = "",
                                         .n_in = R ? 4 : 3, .n_out = 1, .in = ins_i, .out = outs,
                                         .attrs = attrs, .n_attrs = 4, .opset = 13};
                node.fused_act = t->act == 1 ? KW_ACT_RELU : t->act == 2 ? KW_ACT_CLIP : 0;
                node.act_alpha = 0.0f;
                node.act_beta = 6.0f;
                /* (the AVX-512 pack: a CPU without it would run on
                 * an AVX2 pack, which keeps its own copy of W) */
                const int shared = prep && isa == KW__ISA_AVX512 &&
                                   kw__cpu_has(KW__ISA_AVX512);
                if (shared && g_reuse) {
                    node.state = g_state[th];
                    node.state_free = kw__conv_pack_free;
                    g_state[th] = NULL;
                } else if (prep) {
                    struct kw_onnx_value *init[4] = {NULL, W, NULL, NULL};
                    struct kw__graph g = {.n_values = 4, .init = init};
                    /* (kw__node_prepare needs the registry's op) */
                    kw__conv_prepare(&node, &g);
                    /* (depthwise works from W as it is; an ISA the CPU
                     * lacks falls back, under KW_FORCE_REF to the
                     * reference) */
                    CHECKF(node.state != NULL || kw__nn_isa() == KW__ISA_REF ||
                               t->group == t->C,
                           "C%d M%d: nothing prepared", (int)t->C, (int)t->M);
                }
                /* an executor whose reuse pool holds a NaN-filled buffer
                 * the output will land on */
                struct kw__exec e = {.model = th == 2 ? &g_model2 : NULL};
                const size_t cap = ybytes < KW_POOL_MIN_BYTES ? 0 : ybytes;
                if (cap) {
                    e.pool.buf[0] = malloc(cap);
                    e.pool.size[0] = cap;
                    e.pool.n = 1;
                    memset(e.pool.buf[0], 0xff, cap); /* NaN bits */
                }
                struct kw_onnx_value *in[4] = {X, W, B, R}, *outv[1] = {NULL};
                char err[256] = "";
                struct kw__op_ctx c = {.node = &node, .opset = 13, .in = in,
                                       .n_in = R ? 4 : 3,
                                       .out = outv, .n_out = 1, .exec = &e,
                                       .err = err, .err_size = sizeof err};
                enum kw_status st = kw__op_conv(&c);
                if (!st) st = kw__node_epilogue(&c);
                char what[200];
                snprintf(what, sizeof what,
                         "conv%dD C%lld M%lld g%lld in %lldx%lld k%lldx%lld s%lldx%lld "
                         "d%lldx%lld act %d res %d isa %d prep %d th %d reused %d",
                         n, (long long)t->C, (long long)t->M, (long long)t->group,
                         (long long)t->in[0], (long long)t->in[1], (long long)t->k[0],
                         (long long)t->k[1], (long long)t->s[0], (long long)t->s[1],
                         (long long)t->d[0], (long long)t->d[1], t->act, rmode, isa,
                         prep, th,
                         cap ? 1 : 0);
                CHECKF(st == KW_STATUS_OK, "%s: %s", what, err);
                if (!st && outv[0]) {
                    CHECKF(kw_onnx_numel(outv[0]) == ny, "%s: size", what);
                    const float *got = outv[0]->data;
                    int bad = 0;
                    for (int64_t i = 0; i < ny && !bad; i++)
                        /* Winograd F(4x4, 3x3) rounds within a few
                         * 1e-6 of mag: its transforms scale by up to 8,
                         * and over these cases the error is a smooth
                         * tail with worst 1.2e-6 to 2.3e-6. A wrong tap
                         * is off by a product, and one transform
                         * coefficient off by 2e-5 still fails 28 checks */
                        if (!(fabs(got[i] - want[i]) <=
                              KW_MAX(2e-4 * (1 + fabs(want[i])), 5e-6 * mag[i]))) {
                            fprintf(stderr, "  %s: [%lld] got %.7g want %.7g (mag %.4g)\n", what,
                                    (long long)i, got[i], want[i], mag[i]);
                            bad = 1;
                        }
                    CHECKF(!bad, "%s", what);
                }
                kw__exec_release(&e, outv[0]);
                kw__exec_pool_free(&e);
                if (shared && g_keep) g_state[th] = node.state;
                else if (node.state) node.state_free(node.state);
            }
    kw__nn_force_isa(-1);
    kw_onnx_value_free(X);
    kw_onnx_value_free(W);
    kw_onnx_value_free(B);
    kw_onnx_value_free(R);
    free(want);
    free(mag);
}

/* The in-place epilogue kernel of isa (kw__sgemm_ukr_exd_avx512 /
 * _avx2, B read in place) against a scalar loop on every m <= mr,
 * n <= nr, with and without the bias start, residual and Clip; B ends
 * right after the last column read (n columns of the last row), so any
 * read past it would land outside the allocation's data. */
static void test_ukr_exd(enum kw__isa isa) {
    enum { MR = KW_SGEMM_AVX512_MR, KC = 37, LDB = 45, LDC = 40 };
    float w[MR * KC], c[MR * LDC], c0[MR * LDC], res[MR * LDC], bias[MR];
    for (int i = 0; i < MR * KC; i++) w[i] = kw_test_randf(&g_rng);
    /* (no pack, or no in-place kernel, without the ISA) */
    struct kw__conv_pack *pk = kw__conv_pack_new(w, 1, MR, KC, isa);
    if (!pk || !pk->ukr_exd || pk->isa != isa) {
        kw__conv_pack_free(pk);
        return;
    }
    const int mr = pk->mr, nr = pk->nr;
    /* (the pack's first panel: rows 0 .. mr-1 of w) */
    for (int i = 0; i < MR * LDC; i++) {
        c0[i] = kw_test_randf(&g_rng);
        res[i] = kw_test_randf(&g_rng);
    }
    for (int i = 0; i < MR; i++) bias[i] = kw_test_randf(&g_rng);
    for (int n = 1; n <= nr; n++) {
        /* exactly (KC-1)*LDB + n floats: the last row ends at n */
        const size_t nb = (size_t)(KC - 1) * LDB + (size_t)n;
        float *b = malloc(nb * sizeof(float));
        for (size_t i = 0; i < nb; i++) b[i] = kw_test_randf(&g_rng);
        for (int m = 1; m <= mr; m++)
            for (int mode = 0; mode < 3; mode++) {
                const struct kw__ukr_epi e = {mode ? bias : NULL, mode != 0,
                                              mode == 2 ? KW_ACT_CLIP : 0,
                                              -0.5f, 0.5f,
                                              mode == 2 ? res : NULL, LDC};
                memcpy(c, c0, sizeof c);
                pk->ukr_exd(KC, pk->a, b, LDB, c, LDC, m, n, &e);
                int bad = 0;
                for (int i = 0; i < mr && !bad; i++)
                    for (int jn = 0; jn < LDC && !bad; jn++) {
                        double want = c0[i * LDC + jn];
                        if (i < m && jn < n) {
                            double acc = mode ? bias[i] : want;
                            for (int k = 0; k < KC; k++)
                                acc += (double)w[i * KC + k] * b[k * LDB + jn];
                            if (mode == 2) {
                                acc += res[i * LDC + jn];
                                acc = acc < -0.5 ? -0.5 : acc > 0.5 ? 0.5 : acc;
                            }
                            want = acc;
                        }
                        const double got = c[i * LDC + jn];
                        if (!(fabs(got - want) <= 1e-4 * (1 + fabs(want)))) {
                            fprintf(stderr, "  ukr_exd isa %d m%d n%d mode %d: "
                                    "[%d][%d] got %.7g want %.7g\n", isa, m,
                                    n, mode, i, jn, got, want);
                            bad = 1;
                        }
                    }
                CHECKF(!bad, "ukr_exd isa %d m%d n%d mode %d", isa, m, n,
                       mode);
            }
        free(b);
    }
    kw__conv_pack_free(pk);
}

int main(void) {
    if (kw__pool_new(2, &g_model2.pool) != KW_STATUS_OK) return 1;
    static const struct ccase cases[] = {
        /* ResNet stem 7x7/2 pad 3 (odd input), fused Relu */
        {2, 3, 20, 1, {37, 41}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 1},
        /* the direct path on rows of 61 (past AVX2's 24-column tiles
         * twice, then a ragged one) and 13 channels (a lone row in the
         * last half panel) */
        {2, 3, 13, 1, {30, 61}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        /* 1x1/2 downsampling, even and odd sizes */
        {2, 40, 26, 1, {14, 14}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 17, 13, 1, {15, 9}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 2},
        /* 3x3/2 pad 1 (EfficientNet / MobileNet stems), Clip */
        {2, 3, 32, 1, {33, 34}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 2},
        /* pads on one side only (TF "SAME"), stride 2 */
        {2, 8, 12, 1, {16, 17}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, 1},
        /* stride 3, dilation 2; strides (2, 1); (1, 3) with groups */
        {2, 6, 9, 1, {20, 23}, {3, 3}, {3, 3}, {2, 2}, {2, 1}, {1, 2}, 0},
        {2, 5, 14, 1, {12, 19}, {3, 5}, {2, 1}, {1, 1}, {1, 2}, {1, 2}, 1},
        {2, 8, 6, 2, {11, 25}, {3, 3}, {1, 3}, {1, 2}, {1, 0}, {0, 2}, 2},
        /* stride 4 with a 2x2 kernel: phases no tap reads stay unbuilt */
        {2, 4, 7, 1, {18, 21}, {2, 2}, {4, 4}, {1, 1}, {0, 1}, {1, 0}, 0},
        /* several K blocks (Kdim 600), ragged M, stride 1 and 2 */
        {2, 24, 29, 1, {13, 11}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 2},
        {2, 24, 29, 1, {13, 11}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 1},
        /* big enough for many tiles per thread and a reused buffer */
        {2, 16, 40, 1, {40, 45}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 16, 24, 1, {41, 38}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* 3x3 stride 1, one group, 16+ channels: Winograd F(2x2, 3x3);
         * odd and even output sizes, one-sided and no pads, Clip */
        {2, 16, 24, 1, {15, 13}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 33, 40, 1, {15, 18}, {3, 3}, {1, 1}, {1, 1}, {0, 1}, {1, 0}, 1},
        {2, 20, 17, 1, {14, 17}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 300, 20, 1, {16, 16}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* enough 4x4 tiles: Winograd F(4x4, 3x3); sizes not a multiple
         * of 4, more than 16 tiles across, one-sided and no pads */
        {2, 20, 24, 1, {29, 31}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 17, 33, 1, {30, 70}, {3, 3}, {1, 1}, {1, 1}, {0, 1}, {1, 0}, 1},
        {2, 16, 16, 1, {24, 24}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 128, 20, 1, {28, 28}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 96, 17, 1, {14, 15}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        /* enough work for 2 threads: chunks of tiles split mid tile row
         * (F(4x4): 7 x 10 tiles; F(2x2): 7 x 8), where each chunk must
         * store only its own tiles' outputs */
        {2, 64, 48, 1, {26, 38}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 160, 32, 1, {14, 15}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0},
        /* one chunk of tiles (AVX2 at 2 threads: the output channels
         * split, 50 of them in row tiles of 6) */
        {2, 256, 50, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1},
        /* 16 tiles (7x7): too few for Winograd with AVX-512 (the
         * packed path), enough with AVX2 */
        {2, 20, 24, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 16, 16, 1, {36, 35}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0},
        /* depthwise on small planes: channel blocks of 16 (the last
         * partial), 3x3 / 5x5, stride 1 / 2, odd sizes, one-sided pads */
        {2, 40, 40, 40, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 33, 33, 33, {14, 14}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, 1},
        {2, 20, 20, 20, {14, 13}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 0},
        {2, 17, 17, 17, {11, 9}, {5, 5}, {2, 2}, {1, 1}, {2, 2}, {2, 2}, 2},
        {2, 16, 16, 16, {9, 10}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, 1},
        /* depthwise on bigger planes: stride 2 on the flat grid (odd
         * sizes, TF "SAME" pads, 5x5, dilation 2, stride 2 one way,
         * channel multiplier 2), stride 1 plane by plane */
        {2, 5, 5, 5, {57, 56}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, 2},
        {2, 3, 3, 3, {37, 40}, {5, 5}, {2, 2}, {1, 1}, {1, 1}, {2, 2}, 1},
        {2, 4, 4, 4, {23, 30}, {3, 3}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, 0},
        {2, 3, 3, 3, {20, 35}, {3, 3}, {1, 2}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 3, 6, 3, {21, 33}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 3, 3, 3, {31, 45}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 2, 2, 2, {30, 29}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 0},
        /* few input channels: the direct path (grayscale with dilation,
         * stride 2 one way, 4 channels and M not a multiple of 8, an
         * output row past 48 columns) */
        {2, 1, 17, 1, {21, 30}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, 1},
        {2, 2, 8, 1, {19, 23}, {3, 5}, {2, 1}, {1, 1}, {1, 2}, {0, 2}, 2},
        {2, 4, 9, 1, {12, 13}, {2, 2}, {1, 2}, {1, 1}, {0, 0}, {1, 1}, 0},
        {2, 3, 12, 1, {20, 101}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0},
        /* pointwise read in place: 1-2 row panels or up to 96 outputs
         * off 256-byte row strides; ragged last panels of 9 and 16
         * columns, none, several K blocks (300 channels), two groups */
        {2, 20, 23, 1, {13, 13}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 300, 17, 1, {9, 15}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 40, 64, 1, {12, 12}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 24, 20, 1, {16, 16}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 12, 10, 2, {9, 11}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {1, 30, 9, 1, {75, 0}, {1, 0}, {1, 0}, {1, 0}, {0, 0}, {0, 0}, 1},
        /* packed pointwise: 256-byte row strides past 2 row panels, and
         * many row panels with a 4-column last panel (half width) */
        {2, 24, 30, 1, {16, 16}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 70, 100, 1, {14, 14}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        /* pointwise onto planes of at most 64 columns, K >= 256: ragged
         * row and column panels, a stride-2 phase plane, groups */
        {2, 260, 40, 1, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 300, 33, 1, {5, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 256, 64, 1, {6, 8}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 256, 70, 1, {13, 14}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 512, 64, 2, {6, 6}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        /* the channel-vector path (prepared weights, K >= 128): strided
         * kernels (pads both sides and one side, stride (1, 2),
         * dilation 2, output rows of several pixel runs, ragged last
         * panels of 8 and 24 channels) and a pointwise 16x16 plane */
        {2, 20, 40, 1, {15, 17}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 16, 24, 1, {14, 15}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, 2},
        {2, 16, 35, 1, {12, 25}, {3, 3}, {1, 2}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 15, 56, 1, {17, 30}, {3, 3}, {2, 2}, {2, 2}, {2, 2}, {2, 2}, 0},
        {2, 130, 50, 1, {16, 16}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        /* and small pointwise planes (7x7-size; with AVX2 they take
         * the pixel-vector path): a last panel of 16 channels, one of
         * 30 (a ragged 4th vector), 16 channels alone */
        {2, 130, 48, 1, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 140, 30, 1, {8, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 200, 16, 1, {5, 11}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        /* the pixel-vector path (AVX2, planes up to 16x16 or widening):
         * tiles of 6 vectors and narrower ones, 1-7 pixels past the
         * last vector (the columns, in groups of 4, 3, 2 and 1 pairs
         * and their ragged ends), odd M (a lone last channel), K not a
         * multiple of 4, K blocks (600: two of 300), rows read in
         * place (8x8, and a widening 20x20) */
        {2, 131, 47, 1, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 96, 58, 1, {14, 14}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 9, 21, 1, {13, 2}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 37, 13, 1, {5, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 40, 11, 1, {3, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 21, 9, 1, {6, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0},
        {2, 64, 15, 1, {5, 3}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 600, 34, 1, {9, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 50, 70, 1, {8, 8}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 24, 41, 1, {20, 20}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        /* 1-D, stride 3 */
        {1, 5, 11, 1, {50, 0}, {4, 0}, {3, 0}, {1, 0}, {2, 0}, {1, 0}, 1},
    };
    test_ukr_exd(KW__ISA_AVX512);
    test_ukr_exd(KW__ISA_AVX2);
    /* a node's prepared weights run on the channel-vector path (the
     * pixel-vector one with AVX2; either drops the GEMM's copy), then a
     * bigger plane on the packed GEMM
     * (which packs the weights it is given per run: the test gives new
     * ones, so a stale copy would show) */
    {
        static const struct ccase small = {2, 130, 64, 1, {12, 12}, {1, 1},
                                           {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1};
        struct ccase big = small;
        big.in[0] = big.in[1] = 40;
        g_keep = 1;
        run_case(&small, 0, 1);
        g_keep = 0;
        g_reuse = 1;
        run_case(&big, 0, 1);
        g_reuse = 0;
    }
    for (int rmode = 0; rmode < 3; rmode++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case(&cases[i], rmode, 1);
    /* batches of 3 images: channel-vector (strided, pointwise), pixel
     * vectors, packed GEMM, Winograd, depthwise */
    static const struct ccase batched[] = {
        {2, 20, 40, 1, {15, 17}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1},
        {2, 130, 64, 1, {7, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 2},
        {2, 45, 33, 1, {7, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1},
        {2, 16, 24, 1, {11, 13}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0},
        {2, 20, 24, 1, {29, 31}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2},
        {2, 33, 33, 33, {14, 14}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1}, 1},
    };
    for (int rmode = 0; rmode < 3; rmode++)
        for (size_t i = 0; i < sizeof batched / sizeof batched[0]; i++)
            run_case(&batched[i], rmode, 3);
    kw__pool_free(g_model2.pool);
    return kw_test_finish("test_onnx_conv_fast");
}
