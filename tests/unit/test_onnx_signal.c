/*
 * test_onnx_signal.c — the signal/recurrent/image/misc operator family
 * through fake nodes: Resize's float32 2-D path (1 and 2 threads) against
 * its double reference on odd shapes and every mode, known Resize/GridSample
 * values, DFT round trips against a direct sum, RNN/GRU/LSTM direction and
 * sequence_lens consistency and their float32 path against the double one,
 * TfIdf/StringNormalizer cases, random ops'
 * ranges and seeds, and malformed inputs that must fail cleanly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/exec.h"
#include "onnx/ops/signal_ops.h"
#include "testutil.h"

static uint64_t g_rng = 0x5167a1;

#define MAX_ATTRS 12
struct fake {
    struct kw__node node;
    struct kw__attr attrs[MAX_ATTRS];
    int ins[8], outs[4];
    struct kw_onnx_value *in[8], *out[4];
    char err[512];
    struct kw__op_ctx ctx;
};

static struct kw_onnx_model g_model2; /* a 2-thread pool for ctx.exec */
static struct kw__exec g_exec2;

static void fake_init(struct fake *f, const char *op, int opset) {
    memset(f, 0, sizeof *f);
    f->node.name = "t";
    f->node.op_type = op;
    f->node.domain = "";
    f->node.attrs = f->attrs;
    f->node.in = f->ins;
    f->node.out = f->outs;
    f->node.opset = opset;
    f->ctx.node = &f->node;
    f->ctx.opset = opset;
    f->ctx.in = f->in;
    f->ctx.out = f->out;
    f->ctx.err = f->err;
    f->ctx.err_size = sizeof f->err;
}

static void fake_in(struct fake *f, struct kw_onnx_value *v) {
    const int k = f->node.n_in++;
    f->ins[k] = v ? k : -1;
    f->in[k] = v;
    f->ctx.n_in = f->node.n_in;
}

static void fake_outs(struct fake *f, int n) {
    for (int k = 0; k < n; k++) f->outs[k] = 10 + k;
    f->node.n_out = f->ctx.n_out = n;
}

static struct kw__attr *attr_new(struct fake *f, const char *name, int type) {
    struct kw__attr *a = &f->attrs[f->node.n_attrs++];
    a->name = name;
    a->type = type;
    return a;
}
static void attr_i(struct fake *f, const char *name, int64_t v) {
    attr_new(f, name, KW_ATTR_INT)->i = v;
}
static void attr_f(struct fake *f, const char *name, float v) {
    attr_new(f, name, KW_ATTR_FLOAT)->f = v;
}
static void attr_s(struct fake *f, const char *name, const char *s) {
    struct kw__attr *a = attr_new(f, name, KW_ATTR_STRING);
    a->s = s;
    a->s_len = strlen(s);
}
static void attr_ints(struct fake *f, const char *name, int64_t *v, size_t n) {
    struct kw__attr *a = attr_new(f, name, KW_ATTR_INTS);
    a->ints = v;
    a->n = n;
}
static void attr_strings(struct fake *f, const char *name, const char **v, size_t n) {
    struct kw__attr *a = attr_new(f, name, KW_ATTR_STRINGS);
    a->strings = v;
    a->n = n;
}

/* Runs the registered implementation of the node's op at its opset. */
static enum kw_status fake_run(struct fake *f) {
    const struct kw__op *op = kw__op_find("", f->node.op_type, f->node.opset);
    if (!op) {
        fprintf(stderr, "  no implementation of %s-%d\n", f->node.op_type, f->node.opset);
        return KW_STATUS_ERR_UNSUPPORTED;
    }
    return op->run(&f->ctx);
}

static void fake_reset_outs(struct fake *f) {
    for (int k = 0; k < f->node.n_out; k++) {
        kw_onnx_value_free(f->out[k]);
        f->out[k] = NULL;
    }
}

static void fake_free(struct fake *f) {
    for (int k = 0; k < f->node.n_in; k++) kw_onnx_value_free(f->in[k]);
    fake_reset_outs(f);
}

static struct kw_onnx_value *tensor_f(int rank, const int64_t *dims, const float *vals) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_FLOAT, rank, dims);
    if (vals) memcpy(v->data, vals, v->nbytes);
    else
        for (int64_t i = 0; i < kw_onnx_numel(v); i++)
            ((float *)v->data)[i] = kw_test_randf(&g_rng);
    return v;
}

static struct kw_onnx_value *tensor_i64(int rank, const int64_t *dims, const int64_t *vals) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_INT64, rank, dims);
    memcpy(v->data, vals, v->nbytes);
    return v;
}

static struct kw_onnx_value *scalar_i64(int64_t x) {
    return tensor_i64(0, NULL, &x);
}

static int near(double a, double b, double tol) {
    return fabs(a - b) <= tol * (1 + fabs(b));
}

static int all_near(const struct kw_onnx_value *v, const double *want, int64_t n,
                    double tol, const char *what) {
    if (!v || kw_onnx_numel(v) != n) {
        fprintf(stderr, "  %s: wrong element count\n", what);
        return 0;
    }
    for (int64_t i = 0; i < n; i++)
        if (!near(kw__get_f64(v, i), want[i], tol)) {
            fprintf(stderr, "  %s: [%lld] got %.7g want %.7g\n", what, (long long)i,
                    kw__get_f64(v, i), want[i]);
            return 0;
        }
    return 1;
}

/* ---- Resize ---- */

static void test_resize_known(void) {
    /* the ONNX example: 2x2 upsampled by 2, linear, half_pixel */
    struct fake f;
    fake_init(&f, "Resize", 13);
    attr_s(&f, "mode", "linear");
    int64_t xd[4] = {1, 1, 2, 2}, sd[1] = {4};
    fake_in(&f, tensor_f(4, xd, (float[]){1, 2, 3, 4}));
    fake_in(&f, NULL);
    fake_in(&f, tensor_f(1, sd, (float[]){1, 1, 2, 2}));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    static const double want[16] = {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5,
                                    2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4};
    CHECK(all_near(f.out[0], want, 16, 1e-6, "resize linear 2x"));
    fake_free(&f);

    /* uint8 rounds half to even and saturates */
    fake_init(&f, "Resize", 13);
    attr_s(&f, "mode", "linear");
    attr_s(&f, "coordinate_transformation_mode", "align_corners");
    int64_t ud[1] = {2}, sd1[1] = {1};
    struct kw_onnx_value *u = kw_onnx_tensor_new(KW_ONNX_UINT8, 1, ud);
    ((uint8_t *)u->data)[0] = 1;
    ((uint8_t *)u->data)[1] = 4;
    fake_in(&f, u);
    fake_in(&f, NULL);
    fake_in(&f, NULL);
    fake_in(&f, tensor_i64(1, sd1, (int64_t[]){3}));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    CHECK(all_near(f.out[0], (double[]){1, 2, 4}, 3, 0, "resize uint8")); /* 2.5 -> 2 */
    fake_free(&f);
}

/* The float32 2-D path (1 and 2 threads) against the double reference. */
static void resize_compare(const int64_t *xd, const float *scales, const char *mode,
                           const char *ctm, int antialias, int exclude) {
    struct kw_onnx_value *x = tensor_f(4, xd, NULL);
    struct kw_onnx_value *ref = NULL;
    for (int pass = 0; pass < 3; pass++) {
        struct fake f;
        fake_init(&f, "Resize", 18);
        attr_s(&f, "mode", mode);
        attr_s(&f, "coordinate_transformation_mode", ctm);
        attr_i(&f, "antialias", antialias);
        attr_i(&f, "exclude_outside", exclude);
        int64_t sd[1] = {4};
        fake_in(&f, kw__value_clone(x));
        fake_in(&f, NULL);
        fake_in(&f, tensor_f(1, sd, scales));
        fake_outs(&f, 1);
        if (pass == 0) setenv("KW_FORCE_REF", "1", 1);
        if (pass == 2) f.ctx.exec = &g_exec2;
        enum kw_status st = fake_run(&f);
        unsetenv("KW_FORCE_REF");
        CHECKF(st == KW_STATUS_OK, "resize %s %s: %s", mode, ctm, f.err);
        if (st == KW_STATUS_OK && pass == 0) {
            ref = f.out[0];
            f.out[0] = NULL;
        } else if (st == KW_STATUS_OK && ref) {
            int ok = f.out[0]->rank == 4;
            for (int k = 0; ok && k < 4; k++) ok = f.out[0]->dims[k] == ref->dims[k];
            for (int64_t i = 0; ok && i < kw_onnx_numel(ref); i++)
                ok = near(((float *)f.out[0]->data)[i], ((float *)ref->data)[i], 1e-5);
            CHECKF(ok, "resize fast path %s %s aa%d ex%d [%lld %lld %lld %lld] pass %d",
                   mode, ctm, antialias, exclude, (long long)xd[0], (long long)xd[1],
                   (long long)xd[2], (long long)xd[3], pass);
        }
        fake_free(&f);
    }
    kw_onnx_value_free(ref);
    kw_onnx_value_free(x);
}

static void test_resize_paths(void) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const ctms[] = {"half_pixel", "align_corners", "asymmetric",
                                       "pytorch_half_pixel", "half_pixel_symmetric"};
    static const int64_t shapes[][4] = {{1, 1, 1, 1}, {1, 3, 5, 7}, {2, 3, 17, 9}, {1, 2, 33, 31}};
    static const float scales[][4] = {{1, 1, 2, 2}, {1, 1, 0.6f, 1.7f}, {1, 1, 3, 0.5f},
                                      {1, 1, 1, 2.5f}};
    for (size_t m = 0; m < 3; m++)
        for (size_t c = 0; c < 5; c++)
            for (size_t s = 0; s < 4; s++)
                resize_compare(shapes[s], scales[(m + c + s) % 4], modes[m], ctms[c], 0,
                               (int)(s & 1));
    resize_compare(shapes[2], scales[1], "linear", "half_pixel", 1, 0);
    resize_compare(shapes[3], (float[]){1, 1, 0.3f, 0.45f}, "cubic", "half_pixel", 1, 0);
}

static void test_resize_bad(void) {
    struct fake f;
    /* scales of the wrong length, a negative size, a rank-0 input */
    fake_init(&f, "Resize", 13);
    int64_t xd[2] = {2, 2}, one[1] = {1}, two[1] = {2};
    fake_in(&f, tensor_f(2, xd, NULL));
    fake_in(&f, NULL);
    fake_in(&f, tensor_f(1, one, (float[]){2}));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) != KW_STATUS_OK && strstr(f.err, "scales"));
    fake_free(&f);
    fake_init(&f, "Resize", 13);
    fake_in(&f, tensor_f(2, xd, NULL));
    fake_in(&f, NULL);
    fake_in(&f, NULL);
    fake_in(&f, tensor_i64(1, two, (int64_t[]){2, -3}));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) != KW_STATUS_OK);
    fake_free(&f);
    fake_init(&f, "Resize", 13);
    fake_in(&f, tensor_f(0, NULL, (float[]){1}));
    fake_in(&f, NULL);
    fake_in(&f, tensor_f(1, one, (float[]){2}));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) != KW_STATUS_OK);
    fake_free(&f);
}

/* ---- GridSample ---- */

static void test_grid_sample(void) {
    /* an identity grid with align_corners reproduces the input exactly */
    static const char *const modes[] = {"bilinear", "bicubic", "nearest"};
    for (int m = 0; m < 3; m++) {
        struct fake f;
        fake_init(&f, "GridSample", 16);
        attr_s(&f, "mode", modes[m]);
        attr_i(&f, "align_corners", 1);
        int64_t xd[4] = {1, 2, 3, 5}, gd[4] = {1, 3, 5, 2};
        struct kw_onnx_value *x = tensor_f(4, xd, NULL);
        struct kw_onnx_value *g = tensor_f(4, gd, NULL);
        float *gp = g->data;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++) {
                gp[(i * 5 + j) * 2] = -1 + 2.0f * (float)j / 4;
                gp[(i * 5 + j) * 2 + 1] = -1 + 2.0f * (float)i / 2;
            }
        double want[30];
        for (int i = 0; i < 30; i++) want[i] = ((float *)x->data)[i];
        fake_in(&f, x);
        fake_in(&f, g);
        fake_outs(&f, 1);
        CHECK(fake_run(&f) == KW_STATUS_OK);
        CHECK(all_near(f.out[0], want, 30, 1e-5, modes[m]));
        fake_free(&f);
    }
    /* mismatched grid */
    struct fake f;
    fake_init(&f, "GridSample", 16);
    int64_t xd[4] = {1, 1, 2, 2}, gd[4] = {1, 2, 2, 3};
    fake_in(&f, tensor_f(4, xd, NULL));
    fake_in(&f, tensor_f(4, gd, NULL));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) != KW_STATUS_OK);
    fake_free(&f);
}

/* ---- DFT / STFT ---- */

static void dft_case(int64_t n, int64_t dft_len, int onesided) {
    int64_t xd[3] = {2, n, 1};
    struct kw_onnx_value *x = tensor_f(3, xd, NULL);
    struct fake f;
    fake_init(&f, "DFT", 17);
    attr_i(&f, "onesided", onesided);
    fake_in(&f, kw__value_clone(x));
    fake_in(&f, dft_len ? scalar_i64(dft_len) : NULL);
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    int64_t N = dft_len ? dft_len : n, bins = onesided ? N / 2 + 1 : N;
    const float *xs = x->data;
    int ok = f.out[0] && f.out[0]->dims[1] == bins && f.out[0]->dims[2] == 2;
    for (int64_t b = 0; ok && b < 2; b++)
        for (int64_t k = 0; ok && k < bins; k++) {
            double re = 0, im = 0;
            for (int64_t j = 0; j < n && j < N; j++) {
                double a = -2 * M_PI * (double)(k * j % N) / (double)N;
                re += xs[b * n + j] * cos(a);
                im += xs[b * n + j] * sin(a);
            }
            const float *y = (const float *)f.out[0]->data + (b * bins + k) * 2;
            ok = near(y[0], re, 1e-4) && near(y[1], im, 1e-4);
        }
    CHECKF(ok, "dft n=%lld len=%lld onesided=%d", (long long)n, (long long)dft_len, onesided);
    /* inverse of the full spectrum gives the (padded/cut) signal back */
    if (!onesided && f.out[0]) {
        struct fake g;
        fake_init(&g, "DFT", 17);
        attr_i(&g, "inverse", 1);
        fake_in(&g, f.out[0]);
        f.out[0] = NULL;
        fake_outs(&g, 1);
        CHECK(fake_run(&g) == KW_STATUS_OK);
        int ok2 = g.out[0] != NULL;
        for (int64_t b = 0; ok2 && b < 2; b++)
            for (int64_t j = 0; ok2 && j < N; j++) {
                const float *y = (const float *)g.out[0]->data + (b * N + j) * 2;
                ok2 = near(y[0], j < n ? xs[b * n + j] : 0, 1e-4) && near(y[1], 0, 1e-4);
            }
        CHECKF(ok2, "idft n=%lld", (long long)n);
        fake_free(&g);
    }
    fake_free(&f);
    kw_onnx_value_free(x);
}

static void test_dft(void) {
    dft_case(8, 0, 0);
    dft_case(6, 0, 0);
    dft_case(7, 0, 1);
    dft_case(5, 8, 0);
    dft_case(16, 12, 1);
    dft_case(1, 0, 0);
    /* STFT frame count and a bad frame_step */
    struct fake f;
    fake_init(&f, "STFT", 17);
    int64_t sd[3] = {1, 100, 1};
    fake_in(&f, tensor_f(3, sd, NULL));
    fake_in(&f, scalar_i64(10));
    fake_in(&f, NULL);
    fake_in(&f, scalar_i64(32));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    CHECK(f.out[0] && f.out[0]->dims[1] == 7 && f.out[0]->dims[2] == 17);
    kw_onnx_value_free(f.in[1]);
    f.in[1] = scalar_i64(0);
    fake_reset_outs(&f);
    CHECK(fake_run(&f) != KW_STATUS_OK);
    fake_free(&f);
}

/* ---- RNN / GRU / LSTM ---- */

/* Runs op over X [T, B, I] with random weights; returns Y and Y_h. */
static void rnn_run(const char *op, const char *dir, int64_t T, int64_t B, int64_t I,
                    int64_t H, uint64_t seed, const float *x, const int32_t *seqlen,
                    int lbr, struct kw_onnx_value **y, struct kw_onnx_value **yh) {
    int G = !strcmp(op, "RNN") ? 1 : !strcmp(op, "GRU") ? 3 : 4;
    int64_t D = !strcmp(dir, "bidirectional") ? 2 : 1;
    uint64_t s = seed;
    struct fake f;
    fake_init(&f, op, 14);
    attr_i(&f, "hidden_size", H);
    attr_s(&f, "direction", dir);
    if (lbr) attr_i(&f, "linear_before_reset", 1);
    int64_t xd[3] = {T, B, I}, wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H};
    fake_in(&f, tensor_f(3, xd, x));
    struct kw_onnx_value *w = tensor_f(3, wd, NULL), *r = tensor_f(3, rd, NULL);
    struct kw_onnx_value *b = tensor_f(2, bd, NULL);
    /* the same weights for both directions: reverse == forward on a
     * reversed sequence */
    for (int64_t i = 0; i < G * H * I; i++) ((float *)w->data)[i] = kw_test_randf(&s) * 0.5f;
    for (int64_t i = 0; i < G * H * H; i++) ((float *)r->data)[i] = kw_test_randf(&s) * 0.5f;
    for (int64_t i = 0; i < 2 * G * H; i++) ((float *)b->data)[i] = kw_test_randf(&s) * 0.5f;
    if (D == 2) {
        memcpy((float *)w->data + G * H * I, w->data, (size_t)(G * H * I) * 4);
        memcpy((float *)r->data + G * H * H, r->data, (size_t)(G * H * H) * 4);
        memcpy((float *)b->data + 2 * G * H, b->data, (size_t)(2 * G * H) * 4);
    }
    fake_in(&f, w);
    fake_in(&f, r);
    fake_in(&f, b);
    struct kw_onnx_value *sl = NULL;
    if (seqlen) {
        int64_t sld[1] = {B};
        sl = kw_onnx_tensor_new(KW_ONNX_INT32, 1, sld);
        memcpy(sl->data, seqlen, (size_t)B * 4);
    }
    fake_in(&f, sl);
    fake_outs(&f, 2);
    CHECKF(fake_run(&f) == KW_STATUS_OK, "%s %s: %s", op, dir, f.err);
    *y = f.out[0];
    *yh = f.out[1];
    f.out[0] = f.out[1] = NULL;
    fake_free(&f);
}

/* A float tensor's values as a new double tensor. */
static struct kw_onnx_value *to_double(const struct kw_onnx_value *v) {
    if (!v) return NULL;
    struct kw_onnx_value *d = kw_onnx_tensor_new(KW_ONNX_DOUBLE, v->rank, v->dims);
    for (int64_t i = 0; i < kw_onnx_numel(v); i++)
        ((double *)d->data)[i] = ((const float *)v->data)[i];
    return d;
}

/* The float32 path (GEMM + float gates) against the double reference on
 * the same values: odd sizes, both directions, sequence_lens with a zero
 * length, initial states and (LSTM) peepholes and clip. */
static void rnn_f32_vs_f64(const char *op, int lbr, int layout, int64_t B, int threads) {
    const int64_t T = 7, I = 5, H = 9, D = 2;
    int G = !strcmp(op, "GRU") ? 3 : 4, lstm = G == 4;
    int64_t xd[3] = {T, B, I}, xdl[3] = {B, T, I}, wd[3] = {D, G * H, I};
    int64_t rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H}, sld[1] = {B};
    int64_t hd[3] = {D, B, H}, hdl[3] = {B, D, H}, pd[2] = {D, 3 * H};
    struct kw_onnx_value *in[8] = {
        tensor_f(3, layout ? xdl : xd, NULL), tensor_f(3, wd, NULL), tensor_f(3, rd, NULL),
        tensor_f(2, bd, NULL), tensor_i64(1, sld, (int64_t[]){7, 4, 0}),
        tensor_f(3, layout ? hdl : hd, NULL), lstm ? tensor_f(3, layout ? hdl : hd, NULL) : NULL,
        lstm ? tensor_f(2, pd, NULL) : NULL};
    struct kw_onnx_value *out[2][3] = {{NULL}};
    for (int pass = 0; pass < 2; pass++) {
        struct fake f;
        fake_init(&f, op, 14);
        if (threads) f.ctx.exec = &g_exec2;
        attr_i(&f, "hidden_size", H);
        attr_s(&f, "direction", "bidirectional");
        if (layout) attr_i(&f, "layout", 1);
        if (lbr) attr_i(&f, "linear_before_reset", 1);
        if (lstm) attr_f(&f, "clip", 1.5f);
        for (int k = 0; k < (lstm ? 8 : 6); k++)
            fake_in(&f, k == 4  ? tensor_i64(1, sld, in[4]->data)
                        : pass  ? to_double(in[k])
                                : tensor_f(in[k]->rank, in[k]->dims, in[k]->data));
        fake_outs(&f, lstm ? 3 : 2);
        CHECKF(fake_run(&f) == KW_STATUS_OK, "%s: %s", op, f.err);
        for (int k = 0; k < f.node.n_out; k++) {
            out[pass][k] = f.out[k];
            f.out[k] = NULL;
        }
        fake_free(&f);
    }
    for (int k = 0; k < (lstm ? 3 : 2); k++) {
        const struct kw_onnx_value *a = out[0][k], *b = out[1][k];
        if (!a || !b) continue;
        CHECK(a->dtype == KW_ONNX_FLOAT && b->dtype == KW_ONNX_DOUBLE);
        double want[7 * 2 * 3 * 9];
        int64_t n = kw_onnx_numel(b);
        CHECK(n <= 7 * 2 * 3 * 9 && n == kw_onnx_numel(a));
        for (int64_t i = 0; i < n && i < 7 * 2 * 3 * 9; i++) want[i] = ((double *)b->data)[i];
        CHECKF(all_near(a, want, n, 1e-5, op), "%s f32 == f64 (output %d lbr %d layout %d)",
               op, k, lbr, layout);
    }
    for (int k = 0; k < 8; k++) kw_onnx_value_free(in[k]);
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 3; k++) kw_onnx_value_free(out[p][k]);
}

static void test_rnn(void) {
    static const char *const ops[] = {"RNN", "GRU", "LSTM", "GRU"};
    const int64_t T = 5, B = 3, I = 4, H = 6;
    float x[5 * 3 * 4], xr[5 * 3 * 4];
    for (int i = 0; i < T * B * I; i++) x[i] = kw_test_randf(&g_rng);
    for (int64_t t = 0; t < T; t++)
        memcpy(xr + t * B * I, x + (T - 1 - t) * B * I, (size_t)(B * I) * 4);
    for (int o = 0; o < 4; o++) {
        int lbr = o == 3;
        struct kw_onnx_value *yf, *hf, *yb, *hb, *yr, *hr;
        rnn_run(ops[o], "forward", T, B, I, H, 7, x, NULL, lbr, &yf, &hf);
        rnn_run(ops[o], "bidirectional", T, B, I, H, 7, x, NULL, lbr, &yb, &hb);
        rnn_run(ops[o], "reverse", T, B, I, H, 7, xr, NULL, lbr, &yr, &hr);
        if (!yf || !yb || !yr || !hf || !hb || !hr) break;
        /* Y_h forward half of bidirectional == forward; the reverse half
         * == reverse run over the reversed input == forward's Y_h */
        int ok = 1;
        for (int64_t i = 0; ok && i < B * H; i++) {
            float a = ((float *)hf->data)[i];
            ok = near(((float *)hb->data)[i], a, 1e-5) &&
                 near(((float *)hr->data)[i], a, 1e-5);
        }
        /* reversed-direction Y at t equals forward Y at T-1-t */
        for (int64_t t = 0; ok && t < T; t++)
            for (int64_t i = 0; ok && i < B * H; i++)
                ok = near(((float *)yr->data)[t * B * H + i],
                          ((float *)yf->data)[(T - 1 - t) * B * H + i], 1e-5);
        CHECKF(ok, "%s directions agree (lbr %d)", ops[o], lbr);
        kw_onnx_value_free(yf);
        kw_onnx_value_free(hf);
        kw_onnx_value_free(yb);
        kw_onnx_value_free(hb);
        kw_onnx_value_free(yr);
        kw_onnx_value_free(hr);
    }
    /* sequence_lens: a row of length 2 ends with the state after step 2
     * and zeros after it */
    struct kw_onnx_value *y1, *h1, *y2, *h2;
    int32_t lens[3] = {5, 2, 0};
    rnn_run("LSTM", "forward", T, B, I, H, 9, x, NULL, 0, &y1, &h1);
    rnn_run("LSTM", "forward", T, B, I, H, 9, x, lens, 0, &y2, &h2);
    if (y1 && y2 && h1 && h2) {
        const float *a = y1->data, *b = y2->data, *hb = h2->data;
        int ok = 1;
        for (int64_t j = 0; j < H; j++) {
            ok &= near(hb[1 * H + j], a[(1 * B + 1) * H + j], 1e-6);
            ok &= hb[2 * H + j] == 0 && b[(3 * B + 1) * H + j] == 0;
            ok &= near(hb[j], ((float *)h1->data)[j], 1e-6);
        }
        CHECK(ok);
    }
    kw_onnx_value_free(y1);
    kw_onnx_value_free(h1);
    kw_onnx_value_free(y2);
    kw_onnx_value_free(h2);

    /* float path vs double reference: the GEMM (3 rows) and GEMV (1, 2)
     * recurrences, batch-first layout, two threads */
    rnn_f32_vs_f64("LSTM", 0, 0, 3, 0);
    rnn_f32_vs_f64("LSTM", 0, 1, 1, 1);
    rnn_f32_vs_f64("GRU", 0, 0, 3, 1);
    rnn_f32_vs_f64("GRU", 1, 1, 2, 0);
    rnn_f32_vs_f64("GRU", 0, 0, 1, 0);

    /* W of the wrong shape, sequence_lens past T */
    struct fake f;
    fake_init(&f, "GRU", 14);
    attr_i(&f, "hidden_size", 2);
    int64_t xd[3] = {2, 1, 3}, wd[3] = {1, 5, 3}, rd[3] = {1, 6, 2};
    fake_in(&f, tensor_f(3, xd, NULL));
    fake_in(&f, tensor_f(3, wd, NULL));
    fake_in(&f, tensor_f(3, rd, NULL));
    fake_outs(&f, 2);
    CHECK(fake_run(&f) != KW_STATUS_OK);
    fake_free(&f);
    fake_init(&f, "RNN", 14);
    attr_i(&f, "hidden_size", 2);
    int64_t wd1[3] = {1, 2, 3}, rd1[3] = {1, 2, 2}, one[1] = {1};
    fake_in(&f, tensor_f(3, xd, NULL));
    fake_in(&f, tensor_f(3, wd1, NULL));
    fake_in(&f, tensor_f(3, rd1, NULL));
    fake_in(&f, NULL);
    fake_in(&f, tensor_i64(1, one, (int64_t[]){3}));
    fake_outs(&f, 2);
    CHECK(fake_run(&f) != KW_STATUS_OK);
    fake_free(&f);
}

/* ---- text ---- */

static void test_text(void) {
    struct fake f;
    fake_init(&f, "StringNormalizer", 10);
    attr_s(&f, "case_change_action", "UPPER");
    const char *stop[] = {"Straße"};
    attr_strings(&f, "stopwords", stop, 1);
    int64_t d[1] = {3};
    struct kw_onnx_value *x = kw_onnx_tensor_new(KW_ONNX_STRING, 1, d);
    const char *in[3] = {"ärger", "STRASSE", "straße"};
    for (int i = 0; i < 3; i++) ((char **)x->data)[i] = strdup(in[i]);
    fake_in(&f, x);
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    CHECK(f.out[0] && f.out[0]->dims[0] == 2 &&
          !strcmp(((char **)f.out[0]->data)[0], "ÄRGER") &&
          !strcmp(((char **)f.out[0]->data)[1], "STRASSE"));
    fake_free(&f);

    /* TFIDF with weights over strings: unigrams once, bigrams with skips */
    fake_init(&f, "TfIdfVectorizer", 9);
    attr_s(&f, "mode", "TFIDF");
    attr_i(&f, "min_gram_length", 1);
    attr_i(&f, "max_gram_length", 2);
    attr_i(&f, "max_skip_count", 1);
    const char *pool[] = {"a", "b", "a", "b", "b", "a"};
    attr_strings(&f, "pool_strings", pool, 6);
    int64_t counts[2] = {0, 2}, idx[4] = {3, 2, 1, 0};
    attr_ints(&f, "ngram_counts", counts, 2);
    attr_ints(&f, "ngram_indexes", idx, 4);
    struct kw__attr *w = attr_new(&f, "weights", KW_ATTR_FLOATS);
    static float weights[4] = {1, 2, 3, 4};
    w->floats = weights;
    w->n = 4;
    int64_t xd[1] = {4};
    x = kw_onnx_tensor_new(KW_ONNX_STRING, 1, xd);
    const char *words[4] = {"a", "b", "a", "c"};
    for (int i = 0; i < 4; i++) ((char **)x->data)[i] = strdup(words[i]);
    fake_in(&f, x);
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    /* a:2 b:1; ab: (0,1) skip0 + none skip1... ab at (0,1) and ba at (1,2);
     * skip 1: (0,2)=aa no, (1,3)=bc no */
    CHECK(all_near(f.out[0], (double[]){1 * 1, 2 * 1, 3 * 1, 4 * 2}, 4, 0, "tfidf"));
    fake_free(&f);

    /* ngram_counts past the pool must fail cleanly */
    fake_init(&f, "TfIdfVectorizer", 9);
    int64_t pool_i[2] = {1, 2}, bad_counts[2] = {0, 7}, idx2[2] = {0, 1};
    attr_ints(&f, "pool_int64s", pool_i, 2);
    attr_ints(&f, "ngram_counts", bad_counts, 2);
    attr_ints(&f, "ngram_indexes", idx2, 2);
    attr_i(&f, "max_gram_length", 2);
    fake_in(&f, tensor_i64(1, (int64_t[]){2}, pool_i));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) != KW_STATUS_OK);
    fake_free(&f);
}

/* ---- windows, mel, random ---- */

static void test_misc(void) {
    struct fake f;
    fake_init(&f, "HannWindow", 17);
    fake_in(&f, scalar_i64(4));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    CHECK(all_near(f.out[0], (double[]){0, 0.5, 1, 0.5}, 4, 1e-6, "hann"));
    fake_free(&f);

    fake_init(&f, "Bernoulli", 15);
    attr_f(&f, "seed", 3);
    int64_t d[1] = {4000};
    struct kw_onnx_value *p = kw_onnx_tensor_new(KW_ONNX_DOUBLE, 1, d);
    for (int i = 0; i < 4000; i++) ((double *)p->data)[i] = i < 1000 ? 0 : i < 2000 ? 1 : 0.3;
    fake_in(&f, p);
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    struct kw_onnx_value *first = f.out[0];
    f.out[0] = NULL;
    CHECK(fake_run(&f) == KW_STATUS_OK); /* same seed, same draw */
    if (first && f.out[0]) {
        int zeros = 1, ones = 1, same = 1;
        double mean = 0;
        for (int i = 0; i < 4000; i++) {
            double v = ((double *)first->data)[i];
            if (i < 1000) zeros &= v == 0;
            else if (i < 2000) ones &= v == 1;
            else mean += v / 2000;
            same &= v == ((double *)f.out[0]->data)[i];
        }
        CHECK(zeros && ones && same && fabs(mean - 0.3) < 0.05);
    }
    kw_onnx_value_free(first);
    fake_free(&f);

    fake_init(&f, "RandomUniformLike", 1);
    attr_f(&f, "low", -2);
    attr_f(&f, "high", 5);
    fake_in(&f, tensor_f(1, d, NULL));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    if (f.out[0]) {
        double lo = 9, hi = -9;
        for (int i = 0; i < 4000; i++) {
            double v = ((float *)f.out[0]->data)[i];
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
        CHECK(lo >= -2 && hi <= 5 && lo < -1.9 && hi > 4.9);
    }
    fake_free(&f);

    fake_init(&f, "MelWeightMatrix", 17);
    fake_in(&f, scalar_i64(8));
    fake_in(&f, scalar_i64(64));
    fake_in(&f, scalar_i64(16000));
    fake_in(&f, tensor_f(0, NULL, (float[]){0}));
    fake_in(&f, tensor_f(0, NULL, (float[]){8000}));
    fake_outs(&f, 1);
    CHECK(fake_run(&f) == KW_STATUS_OK);
    if (f.out[0]) {
        CHECK(f.out[0]->dims[0] == 33 && f.out[0]->dims[1] == 8);
        double maxv = 0;
        for (int64_t i = 0; i < kw_onnx_numel(f.out[0]); i++)
            maxv = fmax(maxv, ((float *)f.out[0]->data)[i]);
        CHECK(maxv == 1);
    }
    fake_free(&f);
}

int main(void) {
    if (kw__pool_new(2, &g_model2.pool) != KW_STATUS_OK) return 1;
    g_exec2.model = &g_model2;
    test_resize_known();
    test_resize_paths();
    test_resize_bad();
    test_grid_sample();
    test_dft();
    test_rnn();
    test_text();
    test_misc();
    kw__pool_free(g_model2.pool);
    return kw_test_finish("onnx_signal");
}
