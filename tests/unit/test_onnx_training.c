/*
 * test_onnx_training.c — the ai.onnx.preview.training optimizers (Adagrad,
 * Adam, Momentum) through fake nodes: values from the ONNX reference for
 * the first update (T = 0) and a later one (T > 0), float and double, the
 * grouped output order with several tensors, outputs left out, and
 * malformed nodes (counts, shapes, dtypes, attributes) that must fail with
 * KW_STATUS_ERR_FORMAT.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_internal.h"
#include "onnx_fake.h"
#include "testutil.h"

static const char TRAINING[] = "ai.onnx.preview.training";

/* A 1-D tensor of dtype (float or double) holding vals[0..n). */
static struct kw_onnx_value *vec(int dtype, int64_t n, const double *vals) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, 1, &n);
    for (int64_t i = 0; i < n; i++) kw__set_f64(v, i, vals[i]);
    return v;
}
static struct kw_onnx_value *scalar(int dtype, double x) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(dtype, 0, NULL);
    kw__set_f64(v, 0, x);
    return v;
}
static struct kw_onnx_value *count(int64_t t) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_INT64, 0, NULL);
    kw__set_i64(v, 0, t);
    return v;
}

static int all_near(const struct kw_onnx_value *v, int dtype, const double *want,
                    int64_t n, double tol, const char *what) {
    if (!v || v->dtype != dtype || v->rank != 1 || v->dims[0] != n) {
        fprintf(stderr, "  %s: wrong dtype or shape\n", what);
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        const double got = kw__get_f64(v, i);
        if (!(fabs(got - want[i]) <= tol * (1 + fabs(want[i])))) {
            fprintf(stderr, "  %s: [%lld] got %.10g want %.10g\n", what,
                    (long long)i, got, want[i]);
            return 0;
        }
    }
    return 1;
}

/* The shared T > 0 case (reference values from onnx.reference). */
static const double X3[3] = {0.5, -1.25, 2.0}, G3[3] = {0.3, 0.75, -1.5},
                    V3[3] = {0.1, -0.2, 0.4}, H3[3] = {0.2, 0.05, 1.0};

/* Inputs R (r_type), T = 3 and the shared state X3, G3, [V3,] H3 (ty). */
static void in_t3(struct kwt_fake *f, int r_type, int ty, int with_v) {
    kwt_fake_in(f, scalar(r_type, 0.05));
    kwt_fake_in(f, count(3));
    kwt_fake_in(f, vec(ty, 3, X3));
    kwt_fake_in(f, vec(ty, 3, G3));
    if (with_v) kwt_fake_in(f, vec(ty, 3, V3));
    kwt_fake_in(f, vec(ty, 3, H3));
}

/* ---- Adagrad ---- */

static void adagrad_node(struct kwt_fake *f, float decay, float eps,
                         float norm) {
    kwt_fake_init(f, TRAINING, "Adagrad", 1);
    kwt_fake_float(f, "decay_factor", decay);
    kwt_fake_float(f, "epsilon", eps);
    kwt_fake_float(f, "norm_coefficient", norm);
}

static void test_adagrad(void) {
    /* ONNX node test: R 0.1, T 0, X 1, G -1, H 2 */
    struct kwt_fake f;
    adagrad_node(&f, 0.1f, 1e-5f, 1e-3f);
    kwt_fake_in(&f, scalar(KW_ONNX_FLOAT, 0.1));
    kwt_fake_in(&f, count(0));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){1}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){-1}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){2}));
    kwt_fake_outs(&f, 2);
    CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
    CHECK(all_near(f.out[0], KW_ONNX_FLOAT, (double[]){1.05769622}, 1, 1e-6, "adagrad X"));
    CHECK(all_near(f.out[1], KW_ONNX_FLOAT, (double[]){2.9980011}, 1, 1e-6, "adagrad H"));
    kwt_fake_free(&f);

    /* T = 3 decays the rate; double throughout */
    for (int dt = 0; dt < 2; dt++) {
        const int ty = dt ? KW_ONNX_DOUBLE : KW_ONNX_FLOAT;
        adagrad_node(&f, 0.25f, 1e-3f, 0.01f);
        in_t3(&f, ty, ty, 0);
        kwt_fake_outs(&f, 2);
        CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
        CHECK(all_near(f.out[0], ty,
                       (double[]){0.483931404926, -1.27730686586, 2.0236607239},
                       3, 1e-5, "adagrad T=3 X"));
        CHECK(all_near(f.out[1], ty, (double[]){0.293025, 0.59390625, 3.1904}, 3,
                       1e-5, "adagrad T=3 H"));
        kwt_fake_free(&f);
    }

    /* two tensors: outputs X1, X2, H1, H2 */
    adagrad_node(&f, 0.1f, 1e-5f, 1e-3f);
    kwt_fake_in(&f, scalar(KW_ONNX_FLOAT, 0.1));
    kwt_fake_in(&f, count(0));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){1}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 2, (double[]){1, 2}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){-1}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 2, (double[]){-1, -3}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){2}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 2, (double[]){4, 1}));
    kwt_fake_outs(&f, 4);
    f.outs[2] = -1; /* H1 not wanted */
    CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
    CHECK(all_near(f.out[0], KW_ONNX_FLOAT, (double[]){1.05769622}, 1, 1e-6, "X1"));
    CHECK(all_near(f.out[1], KW_ONNX_FLOAT, (double[]){1.04468536, 2.09486175}, 2,
                   1e-6, "X2"));
    CHECK(f.out[2] == NULL);
    CHECK(all_near(f.out[3], KW_ONNX_FLOAT, (double[]){4.9980011, 9.98800373}, 2,
                   1e-6, "H2"));
    kwt_fake_free(&f);
}

/* ---- Adam ---- */

static void test_adam(void) {
    /* ONNX node test (T = 0: no bias correction) */
    struct kwt_fake f;
    kwt_fake_init(&f, TRAINING, "Adam", 1);
    kwt_fake_float(&f, "alpha", 0.95f);
    kwt_fake_float(&f, "beta", 0.1f);
    kwt_fake_float(&f, "epsilon", 1e-7f);
    kwt_fake_float(&f, "norm_coefficient", 1e-3f);
    kwt_fake_in(&f, scalar(KW_ONNX_FLOAT, 0.1));
    kwt_fake_in(&f, count(0));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 2, (double[]){1.2, 2.8}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 2, (double[]){-0.94, -2.5}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 2, (double[]){1.7, 3.6}));
    kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 2, (double[]){0.1, 0.1}));
    kwt_fake_outs(&f, 3);
    CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
    CHECK(all_near(f.out[0], KW_ONNX_FLOAT, (double[]){1.02503633, 2.66103268}, 2,
                   1e-6, "adam X"));
    CHECK(all_near(f.out[1], KW_ONNX_FLOAT, (double[]){1.56806004, 3.29513979}, 2,
                   1e-6, "adam V"));
    CHECK(all_near(f.out[2], KW_ONNX_FLOAT, (double[]){0.803210795, 5.62240696}, 2,
                   1e-6, "adam H"));
    kwt_fake_free(&f);

    /* T = 3 with bias correction and post-update decay */
    for (int dt = 0; dt < 2; dt++) {
        const int ty = dt ? KW_ONNX_DOUBLE : KW_ONNX_FLOAT;
        kwt_fake_init(&f, TRAINING, "Adam", 1);
        kwt_fake_float(&f, "alpha", 0.9f);
        kwt_fake_float(&f, "beta", 0.99f);
        kwt_fake_float(&f, "epsilon", 1e-3f);
        kwt_fake_float(&f, "norm_coefficient", 0.01f);
        kwt_fake_float(&f, "norm_coefficient_post", 0.02f);
        in_t3(&f, KW_ONNX_DOUBLE, ty, 1); /* R may differ from X's type */
        kwt_fake_outs(&f, 3);
        CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
        CHECK(all_near(f.out[0], ty,
                       (double[]){0.481600057211, -1.21093461195, 1.95343934785},
                       3, 1e-5, "adam T=3 X"));
        CHECK(all_near(f.out[1], ty, (double[]){0.1205, -0.10625, 0.212}, 3, 1e-5,
                       "adam T=3 V"));
        CHECK(all_near(f.out[2], ty, (double[]){0.19893025, 0.0549390625, 1.011904},
                       3, 1e-5, "adam T=3 H"));
        kwt_fake_free(&f);
    }
}

/* ---- Momentum ---- */

static void momentum_case(const char *mode, int64_t t, float beta, const double *xs,
                          const double *x_want, const double *v_want, int n,
                          double r, float alpha, float norm, const double *gs,
                          const double *vs) {
    for (int dt = 0; dt < 2; dt++) {
        const int ty = dt ? KW_ONNX_DOUBLE : KW_ONNX_FLOAT;
        struct kwt_fake f;
        kwt_fake_init(&f, TRAINING, "Momentum", 1);
        kwt_fake_float(&f, "alpha", alpha);
        kwt_fake_float(&f, "beta", beta);
        kwt_fake_float(&f, "norm_coefficient", norm);
        kwt_fake_str(&f, "mode", mode);
        kwt_fake_in(&f, scalar(KW_ONNX_FLOAT, r));
        kwt_fake_in(&f, count(t));
        kwt_fake_in(&f, vec(ty, n, xs));
        kwt_fake_in(&f, vec(ty, n, gs));
        kwt_fake_in(&f, vec(ty, n, vs));
        kwt_fake_outs(&f, 2);
        CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
        CHECKF(all_near(f.out[0], ty, x_want, n, 1e-5, mode), "X, T=%lld", (long long)t);
        CHECKF(all_near(f.out[1], ty, v_want, n, 1e-5, mode), "V, T=%lld", (long long)t);
        kwt_fake_free(&f);
    }
}

static void test_momentum(void) {
    const double x[2] = {1.2, 2.8}, g[2] = {-0.94, -2.5}, v[2] = {1.7, 3.6};
    /* ONNX node tests (T = 0: the gradient enters with weight 1) */
    momentum_case("standard", 0, 0.1f, x, (double[]){1.13238001, 2.70772004},
                  (double[]){0.676200032, 0.922799826}, 2, 0.1, 0.95f, 1e-3f, g, v);
    momentum_case("nesterov", 0, 1.0f, x, (double[]){1.22753501, 2.95713997},
                  (double[]){0.687000036, 0.947999954}, 2, 0.1, 0.95f, 0.01f, g, v);
    /* T = 3 scales the gradient by beta */
    momentum_case("standard", 3, 0.5f, X3, (double[]){0.487875, -1.2594375, 2.019},
                  (double[]){0.2425, 0.18875, -0.38}, 3, 0.05, 0.9f, 0.01f, G3, V3);
    momentum_case("nesterov", 3, 0.5f, X3,
                  (double[]){0.4738375, -1.29536875, 2.0911},
                  (double[]){0.2425, 0.18875, -0.38}, 3, 0.05, 0.9f, 0.01f, G3, V3);
}

/* ---- malformed nodes ---- */

/* Builds an Adam node (R, T, X, G, V, H of 2 floats) then lets edit break
 * it; the run must fail with ERR_FORMAT. */
/* A well-formed Adam node (T = 1, four 2-element tensors, 3 outputs). */
static void adam_valid(struct kwt_fake *f) {
    kwt_fake_init(f, TRAINING, "Adam", 1);
    kwt_fake_in(f, scalar(KW_ONNX_FLOAT, 0.1));
    kwt_fake_in(f, count(1));
    for (int k = 0; k < 4; k++) kwt_fake_in(f, vec(KW_ONNX_FLOAT, 2, (double[]){1, 2}));
    kwt_fake_outs(f, 3);
}

static void adam_bad(const char *what, void (*edit)(struct kwt_fake *)) {
    struct kwt_fake f;
    adam_valid(&f);
    edit(&f);
    const enum kw_status st = kwt_fake_run(&f);
    CHECKF(st == KW_STATUS_ERR_FORMAT, "%s: status %d", what, (int)st);
    CHECKF(f.err[0] != 0, "%s: no message", what);
    kwt_fake_free(&f);
}

static void replace_in(struct kwt_fake *f, int k, struct kw_onnx_value *v) {
    kw_onnx_value_free(f->in[k]);
    f->in[k] = v;
    f->ins[k] = v ? k : -1;
}

static void e_none(struct kwt_fake *f) { (void)f; }
static void e_drop_input(struct kwt_fake *f) {
    kw_onnx_value_free(f->in[--f->node.n_in]);
    f->in[f->node.n_in] = NULL;
    f->ctx.n_in = f->node.n_in;
}
static void e_only_rt(struct kwt_fake *f) {
    while (f->node.n_in > 2) e_drop_input(f);
}
static void e_extra_input(struct kwt_fake *f) {
    kwt_fake_in(f, vec(KW_ONNX_FLOAT, 2, (double[]){1, 2}));
}
static void e_too_many_outputs(struct kwt_fake *f) { kwt_fake_outs(f, 4); }
static void e_no_outputs(struct kwt_fake *f) { kwt_fake_outs(f, 0); }
static void e_r_vector(struct kwt_fake *f) {
    replace_in(f, 0, vec(KW_ONNX_FLOAT, 2, (double[]){1, 2}));
}
static void e_r_int(struct kwt_fake *f) { replace_in(f, 0, count(1)); }
static void e_r_absent(struct kwt_fake *f) { replace_in(f, 0, NULL); }
static void e_t_float(struct kwt_fake *f) { replace_in(f, 1, scalar(KW_ONNX_FLOAT, 1)); }
static void e_t_vector(struct kwt_fake *f) {
    int64_t d = 2;
    replace_in(f, 1, kw_onnx_tensor_new(KW_ONNX_INT64, 1, &d));
}
static void e_x_int(struct kwt_fake *f) {
    int64_t d = 2;
    replace_in(f, 2, kw_onnx_tensor_new(KW_ONNX_INT32, 1, &d));
}
static void e_h_shape(struct kwt_fake *f) {
    replace_in(f, 5, vec(KW_ONNX_FLOAT, 3, (double[]){1, 2, 3}));
}
static void e_v_rank(struct kwt_fake *f) {
    int64_t d[2] = {1, 2};
    replace_in(f, 4, kw_onnx_tensor_new(KW_ONNX_FLOAT, 2, d));
}
static void e_g_double(struct kwt_fake *f) {
    replace_in(f, 3, vec(KW_ONNX_DOUBLE, 2, (double[]){1, 2}));
}
static void e_g_absent(struct kwt_fake *f) { replace_in(f, 3, NULL); }
static void e_seq(struct kwt_fake *f) {
    replace_in(f, 4, kw__sequence_new(KW_ONNX_FLOAT));
}

static void test_malformed(void) {
    /* the unbroken node runs */
    {
        struct kwt_fake f;
        adam_valid(&f);
        e_none(&f);
        CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
        kwt_fake_free(&f);
    }
    adam_bad("missing H", e_drop_input);
    adam_bad("only R and T", e_only_rt);
    adam_bad("7 inputs", e_extra_input);
    adam_bad("4 outputs for one tensor", e_too_many_outputs);
    adam_bad("no outputs", e_no_outputs);
    adam_bad("R not scalar", e_r_vector);
    adam_bad("R int64", e_r_int);
    adam_bad("R absent", e_r_absent);
    adam_bad("T float", e_t_float);
    adam_bad("T not scalar", e_t_vector);
    adam_bad("X int32", e_x_int);
    adam_bad("H other shape", e_h_shape);
    adam_bad("V other rank", e_v_rank);
    adam_bad("G double with float X", e_g_double);
    adam_bad("G absent", e_g_absent);
    adam_bad("V a sequence", e_seq);

    /* Momentum: attributes are required and mode is checked */
    static const char *const drop[] = {"alpha", "beta", "norm_coefficient", "mode",
                                       NULL};
    for (int d = 0; d <= 4; d++) {
        struct kwt_fake f;
        kwt_fake_init(&f, TRAINING, "Momentum", 1);
        if (!drop[d] || strcmp(drop[d], "alpha")) kwt_fake_float(&f, "alpha", 0.9f);
        if (!drop[d] || strcmp(drop[d], "beta")) kwt_fake_float(&f, "beta", 0.5f);
        if (!drop[d] || strcmp(drop[d], "norm_coefficient"))
            kwt_fake_float(&f, "norm_coefficient", 0);
        if (!drop[d] || strcmp(drop[d], "mode"))
            kwt_fake_str(&f, "mode", drop[d] ? "standard" : "heavy-ball");
        kwt_fake_in(&f, scalar(KW_ONNX_FLOAT, 0.1));
        kwt_fake_in(&f, count(1));
        for (int k = 0; k < 3; k++) kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){1}));
        kwt_fake_outs(&f, 2);
        const enum kw_status st = kwt_fake_run(&f);
        CHECKF(st == KW_STATUS_ERR_FORMAT, "momentum without %s / bad mode: %d",
               drop[d] ? drop[d] : "(none)", (int)st);
        kwt_fake_free(&f);
    }

    /* Adagrad: 5 tensors after R and T is not a multiple of 3 */
    {
        struct kwt_fake f;
        kwt_fake_init(&f, TRAINING, "Adagrad", 1);
        kwt_fake_in(&f, scalar(KW_ONNX_FLOAT, 0.1));
        kwt_fake_in(&f, count(1));
        for (int k = 0; k < 5; k++) kwt_fake_in(&f, vec(KW_ONNX_FLOAT, 1, (double[]){1}));
        kwt_fake_outs(&f, 2);
        CHECK(kwt_fake_run(&f) == KW_STATUS_ERR_FORMAT);
        kwt_fake_free(&f);
    }

    /* an empty tensor is fine */
    {
        struct kwt_fake f;
        kwt_fake_init(&f, TRAINING, "Adagrad", 1);
        int64_t z = 0;
        kwt_fake_in(&f, scalar(KW_ONNX_FLOAT, 0.1));
        kwt_fake_in(&f, count(1));
        for (int k = 0; k < 3; k++) kwt_fake_in(&f, kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, &z));
        kwt_fake_outs(&f, 2);
        CHECK(kwt_fake_run(&f) == KW_STATUS_OK);
        CHECK(f.out[0] && kw_onnx_numel(f.out[0]) == 0);
        kwt_fake_free(&f);
    }
}

int main(void) {
    test_adagrad();
    test_adam();
    test_momentum();
    test_malformed();
    return kw_test_finish("onnx_training");
}
