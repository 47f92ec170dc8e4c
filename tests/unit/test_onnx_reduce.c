/*
 * test_onnx_reduce.c — the reduce/normalization/softmax/loss family on
 * hand-built values through fake nodes (no loader): every SIMD row kernel
 * against the scalar reference on odd lengths; the operators against
 * double-precision references written here (axes, keepdims, opset rules,
 * int dtypes, threaded vs single-threaded); refusal of bad axes/targets.
 */
#include <math.h>
#include <string.h>

#include "onnx/exec.h"
#include "onnx/ops/rowops.h"
#include "onnx_fake.h"
#include "testutil.h"

static struct kw__exec *g_exec; /* with a 4-thread pool, or NULL */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

/* a random float tensor (values in [-scale, scale)) */
static struct kw_onnx_value *rnd(int dtype, int rank, const int64_t *dims,
                                 float scale) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, rank, dims);
    for (int64_t i = 0; i < kw_onnx_numel(v); i++)
        kw__set_f64(v, i, kw_test_randf(&g_rng) * scale);
    return v;
}

/* |a - b| <= atol + rtol |b| for every element, same shape and dtype */
static int close_to(const struct kw_onnx_value *v, int rank,
                    const int64_t *dims, const double *want, double rtol,
                    double atol) {
    if (!kw__is_tensor(v) || v->rank != rank) return 0;
    for (int d = 0; d < rank; d++)
        if (v->dims[d] != dims[d]) return 0;
    for (int64_t i = 0; i < kw_onnx_numel(v); i++) {
        const double a = kw__get_f64(v, i), b = want[i];
        if (a != a && b != b) continue;
        if (!(fabs(a - b) <= atol + rtol * fabs(b))) {
            fprintf(stderr, "  element %lld: %.9g, want %.9g\n", (long long)i,
                    a, b);
            return 0;
        }
    }
    return 1;
}

/* ---- row kernels: each ISA against the reference ---- */

static int near(double a, double b, double rtol) {
    return fabs(a - b) <= 1e-6 + rtol * fabs(b);
}

static void test_rowops(void) {
    const struct kw__rowops *ref = kw__rowops_variant(KW__ISA_REF);
    CHECK(ref != NULL && kw__rowops() != NULL);
    static const int64_t lens[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33,
                                   63, 65, 100, 257, 1000, 4099};
    enum { MAXN = 4099 + 3 }; /* room for the offset starts */
    float *x = malloc(MAXN * sizeof(float)), *s = malloc(MAXN * sizeof(float));
    float *b = malloc(MAXN * sizeof(float)), *y0 = malloc(MAXN * sizeof(float));
    float *y1 = malloc(MAXN * sizeof(float));
    for (int i = 0; i < MAXN; i++) {
        x[i] = kw_test_randf(&g_rng) * 4.0f + 1.0f;
        s[i] = kw_test_randf(&g_rng);
        b[i] = kw_test_randf(&g_rng);
    }
    for (int isa = 1; isa < KW__ISA_COUNT; isa++) {
        const struct kw__rowops *o = kw__rowops_variant((enum kw__isa)isa);
        if (!o) continue;
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            const int64_t n = lens[li];
            const float *xo = x + (li % 3); /* unaligned starts too */
            CHECKF(near(o->sum(xo, n), ref->sum(xo, n), 1e-5), "sum isa %d n %lld",
                   isa, (long long)n);
            CHECKF(o->max(xo, n) == ref->max(xo, n), "max isa %d n %lld", isa,
                   (long long)n);
            const float m = ref->max(xo, n);
            const double e0 = ref->exp_sum(y0, xo, m, n);
            const double e1 = o->exp_sum(y1, xo, m, n);
            int ok = near(e1, e0, 1e-5);
            for (int64_t i = 0; i < n; i++) ok &= near(y1[i], y0[i], 1e-5);
            CHECKF(ok, "exp_sum isa %d n %lld", isa, (long long)n);
            ref->affine(y0, xo, 0.5f, 1.5f, -0.25f, n);
            o->affine(y1, xo, 0.5f, 1.5f, -0.25f, n);
            ok = 1;
            for (int64_t i = 0; i < n; i++) ok &= near(y1[i], y0[i], 1e-6);
            CHECKF(ok, "affine isa %d n %lld", isa, (long long)n);
            float m0, v0, m1, v1;
            ref->mean_var(xo, n, &m0, &v0);
            o->mean_var(xo, n, &m1, &v1);
            CHECKF(near(m1, m0, 1e-5) && near(v1, v0, 1e-4),
                   "mean_var isa %d n %lld", isa, (long long)n);
            for (int withb = 0; withb < 2; withb++) {
                ref->norm(y0, xo, m0, 0.7f, s, withb ? b : NULL, n);
                o->norm(y1, xo, m0, 0.7f, s, withb ? b : NULL, n);
                ok = 1;
                for (int64_t i = 0; i < n; i++) ok &= near(y1[i], y0[i], 1e-6);
                CHECKF(ok, "norm isa %d n %lld b %d", isa, (long long)n, withb);
            }
        }
        /* NaN reaches max from any lane */
        for (int64_t at = 0; at < 19; at++) {
            for (int i = 0; i < 19; i++) y0[i] = (float)i;
            y0[at] = NAN;
            CHECKF(isnan(o->max(y0, 19)), "max NaN isa %d at %lld", isa,
                   (long long)at);
        }
    }
    free(x), free(s), free(b), free(y0), free(y1);
}

/* ---- reductions ---- */

static void test_reduce_examples(void) {
    /* the ONNX example: shape (3, 2, 2), values 1..12 */
    const int64_t d[3] = {3, 2, 2};
    struct kw_onnx_value *x = kw_onnx_tensor_new(KW_ONNX_FLOAT, 3, d);
    for (int i = 0; i < 12; i++) ((float *)x->data)[i] = (float)(i + 1);
    struct kwt_call k;

    /* ReduceSum opset 13: axes as input [1], keepdims */
    const int64_t one = 1, ax1[1] = {1};
    struct kw_onnx_value *axes = kwt_tensor_i64(1, &one, ax1);
    struct kw_onnx_value *in[2] = {x, axes};
    CHECK(kwt_call_run(&k, g_exec, "ReduceSum", 13, in, 2, 1, NULL, 0) == KW_STATUS_OK);
    const int64_t kd[3] = {3, 1, 2};
    const double sum1[6] = {4, 6, 12, 14, 20, 22};
    CHECK(close_to(k.out[0], 3, kd, sum1, 0, 0));
    kwt_call_free(&k);

    /* no axes input: everything, unless noop_with_empty_axes */
    struct kw__attr nk[2] = {kwt_a_int("keepdims", 0),
                             kwt_a_int("noop_with_empty_axes", 1)};
    CHECK(kwt_call_run(&k, g_exec, "ReduceSum", 13, in, 1, 1, nk, 1) == KW_STATUS_OK);
    const double all = 78;
    CHECK(close_to(k.out[0], 0, NULL, &all, 0, 0));
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, g_exec, "ReduceSum", 13, in, 1, 1, nk, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->rank == 3 &&
          ((float *)k.out[0]->data)[11] == 12.0f);
    kwt_call_free(&k);

    /* opset 11 attributes: axes [-2], keepdims 0 */
    int64_t neg[1] = {-2};
    struct kw__attr at[2] = {kwt_a_ints("axes", neg, 1), kwt_a_int("keepdims", 0)};
    const int64_t od[2] = {3, 2};
    struct {
        const char *op;
        double want[6];
    } cases[] = {
        {"ReduceMean", {2, 3, 6, 7, 10, 11}},
        {"ReduceMax", {3, 4, 7, 8, 11, 12}},
        {"ReduceMin", {1, 2, 5, 6, 9, 10}},
        {"ReduceProd", {3, 8, 35, 48, 99, 120}},
        {"ReduceL1", {4, 6, 12, 14, 20, 22}},
        {"ReduceL2", {sqrt(10), sqrt(20), sqrt(74), sqrt(100), sqrt(202), sqrt(244)}},
        {"ReduceSumSquare", {10, 20, 74, 100, 202, 244}},
        {"ReduceLogSum", {log(4), log(6), log(12), log(14), log(20), log(22)}},
        {"ReduceLogSumExp",
         {log(exp(1) + exp(3)), log(exp(2) + exp(4)), log(exp(5) + exp(7)),
          log(exp(6) + exp(8)), log(exp(9) + exp(11)), log(exp(10) + exp(12))}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECKF(kwt_call_run(&k, g_exec, cases[i].op, 11, in, 1, 1, at, 2) == KW_STATUS_OK,
               "%s: %s", cases[i].op, k.err);
        CHECKF(close_to(k.out[0], 2, od, cases[i].want, 1e-6, 0), "%s",
               cases[i].op);
        kwt_call_free(&k);
    }

    /* bad axes are refused */
    int64_t bad[1] = {3}, dup[2] = {1, -2};
    struct kw__attr ab = kwt_a_ints("axes", bad, 1), ad = kwt_a_ints("axes", dup, 2);
    CHECK(kwt_call_run(&k, g_exec, "ReduceMax", 11, in, 1, 1, &ab, 1) == KW_STATUS_ERR_FORMAT);
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, g_exec, "ReduceMax", 11, in, 1, 1, &ad, 1) == KW_STATUS_ERR_FORMAT);
    kwt_call_free(&k);
    kw_onnx_value_free(axes);
    kw_onnx_value_free(x);
}

static void test_reduce_ints(void) {
    const int64_t d[2] = {2, 3};
    struct kw_onnx_value *x = kw_onnx_tensor_new(KW_ONNX_INT32, 2, d);
    const int32_t v[6] = {-5, 7, 2, 9, -1, -8};
    memcpy(x->data, v, sizeof v);
    int64_t ax[1] = {1};
    struct kw__attr at[2] = {kwt_a_ints("axes", ax, 1), kwt_a_int("keepdims", 0)};
    struct kwt_call k;
    struct kw_onnx_value *in[1] = {x};
    CHECK(kwt_call_run(&k, g_exec, "ReduceMax", 13, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->dtype == KW_ONNX_INT32 &&
          ((int32_t *)k.out[0]->data)[0] == 7 &&
          ((int32_t *)k.out[0]->data)[1] == 9);
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, g_exec, "ReduceSum", 11, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && ((int32_t *)k.out[0]->data)[0] == 4 &&
          ((int32_t *)k.out[0]->data)[1] == 0);
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, g_exec, "ReduceL1", 13, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && ((int32_t *)k.out[0]->data)[0] == 14 &&
          ((int32_t *)k.out[0]->data)[1] == 18);
    kwt_call_free(&k);
    kw_onnx_value_free(x);

    /* uint8 min/max compare unsigned */
    struct kw_onnx_value *u = kw_onnx_tensor_new(KW_ONNX_UINT8, 2, d);
    const uint8_t uv[6] = {200, 3, 255, 0, 128, 1};
    memcpy(u->data, uv, sizeof uv);
    in[0] = u;
    CHECK(kwt_call_run(&k, g_exec, "ReduceMax", 13, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && ((uint8_t *)k.out[0]->data)[0] == 255 &&
          ((uint8_t *)k.out[0]->data)[1] == 128);
    kwt_call_free(&k);
    kw_onnx_value_free(u);

    /* reducing nothing: the identity of each reduction */
    const int64_t ed[2] = {2, 0}, od[1] = {2};
    struct kw_onnx_value *e = kw_onnx_tensor_new(KW_ONNX_INT32, 2, ed);
    in[0] = e;
    CHECK(kwt_call_run(&k, g_exec, "ReduceMax", 13, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && k.out[0]->rank == 1 && k.out[0]->dims[0] == 2 &&
          ((int32_t *)k.out[0]->data)[1] == INT32_MIN);
    kwt_call_free(&k);
    kw_onnx_value_free(e);
    e = kw_onnx_tensor_new(KW_ONNX_FLOAT, 2, ed);
    in[0] = e;
    const double zero[2] = {0, 0};
    CHECK(kwt_call_run(&k, g_exec, "ReduceSum", 11, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 1, od, zero, 0, 0));
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, g_exec, "ReduceLogSumExp", 13, in, 1, 1, at, 2) == KW_STATUS_OK);
    CHECK(k.out[0] && isinf(((float *)k.out[0]->data)[0]) &&
          ((float *)k.out[0]->data)[0] < 0);
    kwt_call_free(&k);
    kw_onnx_value_free(e);
}

/* ReduceSum/Mean float32 fast rows and column sums against double sums
 * over random shapes and axis sets. */
static void test_reduce_random(void) {
    const int64_t d[4] = {3, 5, 7, 33};
    struct kw_onnx_value *x = rnd(KW_ONNX_FLOAT, 4, d, 1.0f);
    for (int mask = 1; mask < 16; mask++) {
        int64_t axes[4], na = 0, od[4];
        for (int a = 0; a < 4; a++)
            if (mask >> a & 1) axes[na++] = a;
        for (int a = 0; a < 4; a++) od[a] = mask >> a & 1 ? 1 : d[a];
        int64_t on = od[0] * od[1] * od[2] * od[3];
        double *want = calloc((size_t)on, sizeof(double));
        double *wmax = malloc((size_t)on * sizeof(double));
        for (int64_t i = 0; i < on; i++) wmax[i] = -INFINITY;
        double R = 1;
        for (int a = 0; a < 4; a++) R *= mask >> a & 1 ? (double)d[a] : 1;
        for (int64_t i = 0; i < kw_onnx_numel(x); i++) {
            int64_t idx[4], rem = i, o = 0;
            for (int a = 3; a >= 0; a--) idx[a] = rem % d[a], rem /= d[a];
            for (int a = 0; a < 4; a++) o = o * od[a] + (mask >> a & 1 ? 0 : idx[a]);
            want[o] += ((float *)x->data)[i] / R;
            wmax[o] = fmax(wmax[o], ((float *)x->data)[i]);
        }
        const int64_t one = na;
        struct kw_onnx_value *ax = kwt_tensor_i64(1, &one, axes);
        struct kw__attr at = kwt_a_ints("axes", axes, (size_t)na);
        struct kw_onnx_value *in[2] = {x, ax};
        struct kwt_call k;
        CHECK(kwt_call_run(&k, g_exec, "ReduceMean", 13, in, 1, 1, &at, 1) == KW_STATUS_OK);
        CHECKF(close_to(k.out[0], 4, od, want, 1e-4, 1e-6), "mean mask %d", mask);
        kwt_call_free(&k);
        for (int64_t i = 0; i < on; i++) want[i] *= R;
        CHECK(kwt_call_run(&k, g_exec, "ReduceSum", 13, in, 2, 1, NULL, 0) == KW_STATUS_OK);
        CHECKF(close_to(k.out[0], 4, od, want, 1e-4, 1e-5), "sum mask %d", mask);
        kwt_call_free(&k);
        CHECK(kwt_call_run(&k, g_exec, "ReduceMax", 13, in, 1, 1, &at, 1) == KW_STATUS_OK);
        CHECKF(close_to(k.out[0], 4, od, wmax, 0, 0), "max mask %d", mask);
        kwt_call_free(&k);
        kw_onnx_value_free(ax);
        free(want), free(wmax);
    }
    kw_onnx_value_free(x);
}

/* ---- softmax family ---- */

/* softmax/logsoftmax of x along (outer, n, inner) in double */
static double *softmax_ref(const struct kw_onnx_value *x, int64_t outer,
                           int64_t n, int64_t inner, int log_) {
    double *y = malloc((size_t)kw_onnx_numel(x) * sizeof(double));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const int64_t b = o * n * inner + i;
            double m = -INFINITY, s = 0;
            for (int64_t k = 0; k < n; k++) m = fmax(m, kw__get_f64(x, b + k * inner));
            for (int64_t k = 0; k < n; k++) s += exp(kw__get_f64(x, b + k * inner) - m);
            for (int64_t k = 0; k < n; k++) {
                const double v = kw__get_f64(x, b + k * inner) - m;
                y[b + k * inner] = log_ ? v - log(s) : exp(v) / s;
            }
        }
    return y;
}

static void test_softmax(void) {
    const int64_t d[3] = {4, 37, 19};
    const int dtypes[3] = {KW_ONNX_FLOAT, KW_ONNX_DOUBLE, KW_ONNX_FLOAT16};
    for (int t = 0; t < 3; t++) {
        struct kw_onnx_value *x = rnd(dtypes[t], 3, d, 20.0f);
        struct kw_onnx_value *in[1] = {x};
        for (int lg = 0; lg < 2; lg++)
            for (int axis = -1; axis < 3; axis++) {
                const int a = axis < 0 ? 2 : axis;
                int64_t outer = 1, inner = 1;
                for (int i = 0; i < a; i++) outer *= d[i];
                for (int i = a + 1; i < 3; i++) inner *= d[i];
                double *want = softmax_ref(x, outer, d[a], inner, lg);
                struct kw__attr at = kwt_a_int("axis", axis);
                struct kwt_call k;
                const char *op = lg ? "LogSoftmax" : "Softmax";
                CHECK(kwt_call_run(&k, g_exec, op, 13, in, 1, 1, &at, 1) == KW_STATUS_OK);
                const double rtol = dtypes[t] == KW_ONNX_FLOAT16 ? 2e-3 : 1e-5;
                CHECKF(close_to(k.out[0], 3, d, want, rtol, 1e-7),
                       "%s dtype %d axis %d", op, dtypes[t], axis);
                kwt_call_free(&k);
                free(want);
            }
        /* opset 11: rows are dims[axis:] flattened */
        double *want = softmax_ref(x, d[0], d[1] * d[2], 1, 0);
        struct kw__attr at = kwt_a_int("axis", 1);
        struct kwt_call k;
        CHECK(kwt_call_run(&k, g_exec, "Softmax", 11, in, 1, 1, &at, 1) == KW_STATUS_OK);
        CHECKF(close_to(k.out[0], 3, d, want, 2e-3, 1e-7), "Softmax-11");
        kwt_call_free(&k);
        free(want);
        kw_onnx_value_free(x);
    }

    /* large numbers stay finite; hardmax picks the first maximum */
    const int64_t d2[2] = {2, 4};
    struct kw_onnx_value *x = kw_onnx_tensor_new(KW_ONNX_FLOAT, 2, d2);
    const float v[8] = {0, 1, 2, 3, 10000, 10001, 10002, 10003};
    memcpy(x->data, v, sizeof v);
    struct kw_onnx_value *in[1] = {x};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, g_exec, "LogSoftmax", 13, in, 1, 1, NULL, 0) == KW_STATUS_OK);
    const double ls[8] = {-3.4401897, -2.4401897, -1.4401897, -0.44018975,
                          -3.4401897, -2.4401897, -1.4401897, -0.44018975};
    CHECK(close_to(k.out[0], 2, d2, ls, 1e-5, 1e-7));
    kwt_call_free(&k);
    ((float *)x->data)[2] = 3;
    CHECK(kwt_call_run(&k, g_exec, "Hardmax", 13, in, 1, 1, NULL, 0) == KW_STATUS_OK);
    const double hm[8] = {0, 0, 1, 0, 0, 0, 0, 1};
    CHECK(close_to(k.out[0], 2, d2, hm, 0, 0));
    kwt_call_free(&k);
    struct kw__attr bad = kwt_a_int("axis", 2);
    CHECK(kwt_call_run(&k, g_exec, "Softmax", 13, in, 1, 1, &bad, 1) == KW_STATUS_ERR_FORMAT);
    kwt_call_free(&k);
    kw_onnx_value_free(x);
}

/* ---- normalizations ---- */

static void test_layernorm(void) {
    const int64_t d[3] = {5, 3, 333};
    for (int t = 0; t < 2; t++) {
        const int dt = t ? KW_ONNX_DOUBLE : KW_ONNX_FLOAT;
        struct kw_onnx_value *x = rnd(dt, 3, d, 3.0f);
        for (int axis = 0; axis < 3; axis++) {
            int64_t rows = 1, D = 1, sd[3];
            for (int i = 0; i < 3; i++) {
                if (i < axis) rows *= d[i];
                else D *= d[i];
                sd[i] = i < axis ? d[i] : 1;
            }
            /* scale over the trailing dims, bias broadcast from rank 1 */
            struct kw_onnx_value *s = rnd(dt, 3 - axis, d + axis, 1.0f);
            const int64_t bd[1] = {d[2]};
            struct kw_onnx_value *b = rnd(dt, 1, bd, 1.0f);
            double *want = malloc((size_t)(rows * D) * sizeof(double));
            double *wm = malloc((size_t)rows * sizeof(double));
            double *wi = malloc((size_t)rows * sizeof(double));
            for (int64_t r = 0; r < rows; r++) {
                double m = 0, q = 0;
                for (int64_t i = 0; i < D; i++) m += kw__get_f64(x, r * D + i);
                m /= (double)D;
                for (int64_t i = 0; i < D; i++) {
                    const double e = kw__get_f64(x, r * D + i) - m;
                    q += e * e;
                }
                const double inv = 1.0 / sqrt(q / (double)D + 1e-3);
                wm[r] = m, wi[r] = inv;
                for (int64_t i = 0; i < D; i++)
                    want[r * D + i] = (kw__get_f64(x, r * D + i) - m) * inv *
                                          kw__get_f64(s, i) +
                                      kw__get_f64(b, i % d[2]);
            }
            struct kw__attr at[2] = {kwt_a_int("axis", axis - 3),
                                     kwt_a_float("epsilon", 1e-3f)};
            struct kw_onnx_value *in[3] = {x, s, b};
            struct kwt_call k;
            CHECKF(kwt_call_run(&k, g_exec, "LayerNormalization", 17, in, 3, 3, at, 2) ==
                       KW_STATUS_OK, "%s", k.err);
            CHECKF(close_to(k.out[0], 3, d, want, 1e-4, 1e-5), "LN y axis %d", axis);
            CHECKF(close_to(k.out[1], 3, sd, wm, 1e-4, 1e-6), "LN mean axis %d", axis);
            CHECKF(close_to(k.out[2], 3, sd, wi, 1e-4, 1e-6), "LN inv axis %d", axis);
            CHECK(k.out[1] && k.out[1]->dtype == KW_ONNX_FLOAT);
            kwt_call_free(&k);
            free(want), free(wm), free(wi);
            kw_onnx_value_free(s);
            kw_onnx_value_free(b);
        }
        kw_onnx_value_free(x);
    }
}

static void test_batch_instance(void) {
    const int64_t d[4] = {2, 3, 5, 7}, cd[1] = {3};
    struct kw_onnx_value *x = rnd(KW_ONNX_FLOAT, 4, d, 2.0f);
    struct kw_onnx_value *s = rnd(KW_ONNX_FLOAT, 1, cd, 1.0f);
    struct kw_onnx_value *b = rnd(KW_ONNX_FLOAT, 1, cd, 1.0f);
    struct kw_onnx_value *m = rnd(KW_ONNX_FLOAT, 1, cd, 1.0f);
    struct kw_onnx_value *v = rnd(KW_ONNX_FLOAT, 1, cd, 0.5f);
    for (int c = 0; c < 3; c++) ((float *)v->data)[c] += 1.0f;
    const int64_t S = 35, n = 210;
    double *want = malloc(n * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        const int c = (int)(i / S % 3);
        want[i] = (kw__get_f64(x, i) - kw__get_f64(m, c)) /
                      sqrt(kw__get_f64(v, c) + 1e-2) * kw__get_f64(s, c) +
                  kw__get_f64(b, c);
    }
    struct kw__attr eps = kwt_a_float("epsilon", 1e-2f);
    struct kw_onnx_value *in[5] = {x, s, b, m, v};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, g_exec, "BatchNormalization", 15, in, 5, 1, &eps, 1) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 4, d, want, 1e-5, 1e-6));
    kwt_call_free(&k);

    /* training mode: batch statistics, running ones updated */
    double bm[3] = {0}, bv[3] = {0};
    for (int64_t i = 0; i < n; i++) bm[i / S % 3] += kw__get_f64(x, i) / 70.0;
    for (int64_t i = 0; i < n; i++) {
        const double e = kw__get_f64(x, i) - bm[i / S % 3];
        bv[i / S % 3] += e * e / 70.0;
    }
    for (int64_t i = 0; i < n; i++) {
        const int c = (int)(i / S % 3);
        want[i] = (kw__get_f64(x, i) - bm[c]) / sqrt(bv[c] + 1e-2) *
                      kw__get_f64(s, c) + kw__get_f64(b, c);
    }
    double rm[3], rv[3];
    for (int c = 0; c < 3; c++) {
        rm[c] = kw__get_f64(m, c) * 0.9 + bm[c] * 0.1;
        rv[c] = kw__get_f64(v, c) * 0.9 + bv[c] * 0.1;
    }
    struct kw__attr tr[2] = {eps, kwt_a_int("training_mode", 1)};
    CHECK(kwt_call_run(&k, g_exec, "BatchNormalization", 15, in, 5, 3, tr, 2) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 4, d, want, 1e-4, 1e-6));
    CHECK(close_to(k.out[1], 1, cd, rm, 1e-5, 1e-7));
    CHECK(close_to(k.out[2], 1, cd, rv, 1e-5, 1e-7));
    kwt_call_free(&k);

    /* instance norm: statistics per (n, c) plane */
    for (int64_t p = 0; p < 6; p++) {
        double mu = 0, q = 0;
        for (int64_t i = 0; i < S; i++) mu += kw__get_f64(x, p * S + i) / (double)S;
        for (int64_t i = 0; i < S; i++) {
            const double e = kw__get_f64(x, p * S + i) - mu;
            q += e * e / (double)S;
        }
        for (int64_t i = 0; i < S; i++)
            want[p * S + i] = (kw__get_f64(x, p * S + i) - mu) / sqrt(q + 1e-2) *
                                  kw__get_f64(s, p % 3) + kw__get_f64(b, p % 3);
    }
    CHECK(kwt_call_run(&k, g_exec, "InstanceNormalization", 6, in, 3, 1, &eps, 1) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 4, d, want, 1e-4, 1e-6));
    kwt_call_free(&k);

    /* LRN, size 2: channels c and c+1 */
    for (int64_t i = 0; i < n; i++) {
        const int64_t c = i / S % 3;
        double q = 0;
        for (int64_t cc = c; cc <= c + 1 && cc < 3; cc++) {
            const double e = kw__get_f64(x, i + (cc - c) * S);
            q += e * e;
        }
        want[i] = kw__get_f64(x, i) / pow(1.0 + 1e-4 / 2 * q, 0.75);
    }
    struct kw__attr sz = kwt_a_int("size", 2);
    CHECK(kwt_call_run(&k, g_exec, "LRN", 13, in, 1, 1, &sz, 1) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 4, d, want, 1e-5, 1e-7));
    kwt_call_free(&k);

    /* wrong parameter shapes are refused */
    in[1] = b, in[2] = x;
    CHECK(kwt_call_run(&k, g_exec, "BatchNormalization", 15, in, 5, 1, NULL, 0) == KW_STATUS_ERR_FORMAT);
    kwt_call_free(&k);
    free(want);
    kw_onnx_value_free(x), kw_onnx_value_free(s), kw_onnx_value_free(b);
    kw_onnx_value_free(m), kw_onnx_value_free(v);
}

static void test_mvn(void) {
    const int64_t d[4] = {2, 3, 2, 2};
    struct kw_onnx_value *x = rnd(KW_ONNX_FLOAT, 4, d, 2.0f);
    double want[24];
    for (int c = 0; c < 3; c++) {
        double s = 0, q = 0;
        for (int nn = 0; nn < 2; nn++)
            for (int i = 0; i < 4; i++) {
                const double v = kw__get_f64(x, (nn * 3 + c) * 4 + i);
                s += v / 8, q += v * v / 8;
            }
        for (int nn = 0; nn < 2; nn++)
            for (int i = 0; i < 4; i++) {
                const int64_t e = (nn * 3 + c) * 4 + i;
                want[e] = (kw__get_f64(x, e) - s) / (sqrt(q - s * s) + 1e-9);
            }
    }
    struct kw_onnx_value *in[1] = {x};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, g_exec, "MeanVarianceNormalization", 13, in, 1, 1, NULL, 0) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 4, d, want, 1e-4, 1e-6));
    kwt_call_free(&k);
    kw_onnx_value_free(x);
}

/* ---- losses ---- */

static void test_losses(void) {
    /* input (2, 3, 2), targets (2, 2), one ignored */
    const int64_t d[3] = {2, 3, 2}, td[2] = {2, 2}, wd[1] = {3};
    struct kw_onnx_value *x = rnd(KW_ONNX_FLOAT, 3, d, 2.0f);
    const int64_t tv[4] = {0, 2, 1, 1};
    struct kw_onnx_value *t = kwt_tensor_i64(2, td, tv);
    struct kw_onnx_value *w = kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, wd);
    const float wv[3] = {0.5f, 2.0f, 1.5f};
    memcpy(w->data, wv, sizeof wv);
    double lp[12];
    for (int nn = 0; nn < 2; nn++)
        for (int dd = 0; dd < 2; dd++) {
            double m = -INFINITY, s = 0;
            for (int c = 0; c < 3; c++) m = fmax(m, kw__get_f64(x, (nn * 3 + c) * 2 + dd));
            for (int c = 0; c < 3; c++) s += exp(kw__get_f64(x, (nn * 3 + c) * 2 + dd) - m);
            for (int c = 0; c < 3; c++)
                lp[(nn * 3 + c) * 2 + dd] = kw__get_f64(x, (nn * 3 + c) * 2 + dd) - m - log(s);
        }
    /* ignore_index 2: target (0, 1) is skipped */
    double none[4], tot = 0, wsum = 0;
    for (int nn = 0; nn < 2; nn++)
        for (int dd = 0; dd < 2; dd++) {
            const int64_t c = tv[nn * 2 + dd];
            const double wt = c == 2 ? 0 : wv[c];
            none[nn * 2 + dd] = c == 2 ? 0 : -lp[(nn * 3 + c) * 2 + dd] * wt;
            tot += none[nn * 2 + dd];
            wsum += wt;
        }
    const double mean = tot / wsum;
    struct kw__attr at[2] = {kwt_a_int("ignore_index", 2), kwt_a_str("reduction", "none")};
    struct kw_onnx_value *in[3] = {x, t, w};
    struct kwt_call k;
    CHECK(kwt_call_run(&k, g_exec, "SoftmaxCrossEntropyLoss", 13, in, 3, 2, at, 2) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 2, td, none, 1e-5, 1e-7));
    CHECK(close_to(k.out[1], 3, d, lp, 1e-5, 1e-7));
    kwt_call_free(&k);
    CHECK(kwt_call_run(&k, g_exec, "SoftmaxCrossEntropyLoss", 13, in, 3, 1, at, 1) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 0, NULL, &mean, 1e-5, 1e-7));
    kwt_call_free(&k);

    /* NLL on the log-probabilities gives the same */
    struct kw_onnx_value *xl = kw_onnx_tensor_new(KW_ONNX_FLOAT, 3, d);
    for (int i = 0; i < 12; i++) ((float *)xl->data)[i] = (float)lp[i];
    in[0] = xl;
    at[1] = kwt_a_str("reduction", "sum");
    CHECK(kwt_call_run(&k, g_exec, "NegativeLogLikelihoodLoss", 13, in, 3, 1, at, 2) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 0, NULL, &tot, 1e-5, 1e-7));
    kwt_call_free(&k);

    /* a target outside [0, C) that is not ignored is refused */
    ((int64_t *)t->data)[3] = 3;
    CHECK(kwt_call_run(&k, g_exec, "NegativeLogLikelihoodLoss", 13, in, 3, 1, at, 2) ==
          KW_STATUS_ERR_FORMAT);
    kwt_call_free(&k);
    kw_onnx_value_free(x), kw_onnx_value_free(xl), kw_onnx_value_free(t);
    kw_onnx_value_free(w);
}

/* shapes big enough for kw__parallel_for to split */
static void test_big(void) {
    const int64_t d[2] = {600, 50};
    struct kw_onnx_value *x = rnd(KW_ONNX_FLOAT, 2, d, 5.0f);
    struct kw_onnx_value *in[3] = {x, NULL, NULL};
    double *want = softmax_ref(x, 600, 50, 1, 0);
    struct kwt_call k;
    CHECK(kwt_call_run(&k, g_exec, "Softmax", 13, in, 1, 1, NULL, 0) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 2, d, want, 1e-5, 1e-7));
    kwt_call_free(&k);
    free(want);
    const int64_t one = 1, ax[1] = {1}, od[1] = {600};
    double sums[600] = {0};
    for (int64_t i = 0; i < 600 * 50; i++) sums[i / 50] += kw__get_f64(x, i);
    struct kw_onnx_value *axes = kwt_tensor_i64(1, &one, ax);
    struct kw__attr kd = kwt_a_int("keepdims", 0);
    in[1] = axes;
    CHECK(kwt_call_run(&k, g_exec, "ReduceSum", 13, in, 2, 1, &kd, 1) == KW_STATUS_OK);
    CHECK(close_to(k.out[0], 1, od, sums, 1e-5, 1e-5));
    kwt_call_free(&k);
    kw_onnx_value_free(axes);
    kw_onnx_value_free(x);
}

static void run_all(void) {
    test_big();
    test_reduce_examples();
    test_reduce_ints();
    test_reduce_random();
    test_softmax();
    test_layernorm();
    test_batch_instance();
    test_mvn();
    test_losses();
}

int main(void) {
    test_rowops();
    run_all();
    /* again with a 4-thread pool behind kw__parallel_for */
    struct kw_onnx_model m;
    memset(&m, 0, sizeof m);
    struct kw__exec e;
    memset(&e, 0, sizeof e);
    if (kw__pool_new(4, &m.pool) == KW_STATUS_OK) {
        e.model = &m;
        g_exec = &e;
        run_all();
        g_exec = NULL;
        kw__pool_free(m.pool);
    }
    return kw_test_finish("test_onnx_reduce");
}
