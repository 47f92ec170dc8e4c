/*
 * test_onnx_elementwise.c — the elementwise operator family: SIMD float32
 * kernels against the reference on odd lengths, and operators run through
 * a hand-built node (broadcasting, integer edge cases, casts to and from
 * strings, half rounding, legacy opsets, Where on strings, Identity).
 */
#include <math.h>
#include <string.h>

#include "cpu/kernels.h"
#include "onnx/ops/ew.h"
#include "onnx_fake.h"
#include "testutil.h"

/* ---- SIMD kernels vs reference ---- */

static int close_f(float a, float b, float rtol) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabsf(a - b) <= 1e-30f + rtol * fabsf(b) || a == b;
}

static void check_kernels(const char *isa, kw__ew_bin_f32_fn bin,
                          kw__ew_un_f32_fn un) {
    uint64_t rng = 42;
    enum { N = 1100 };
    static float a[N], b[N], y0[N + 1], y1[N + 1];
    for (int i = 0; i < N; i++) {
        a[i] = kw_test_randf(&rng) * 8;
        b[i] = kw_test_randf(&rng) * 8 + 0.01f;
    }
    a[3] = NAN;
    a[5] = INFINITY;
    a[7] = -INFINITY;
    a[9] = -0.0f;
    a[11] = 100.0f;  /* exp overflow */
    a[13] = -100.0f; /* exp underflow */
    a[15] = 1e-6f;   /* tanh near 0 */
    const int lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 1027};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int n = lens[li];
        for (int op = 0; op < KW__EW_NBIN_F32; op++)
            for (int sa = 0; sa <= 1; sa++)
                for (int sb = 0; sb <= 1; sb++) {
                    y1[n] = 12345.0f; /* guard: nothing past n */
                    kw__ew_bin_f32_ref(op, y0, a + 1, sa, b + 2, sb, n);
                    bin(op, y1, a + 1, sa, b + 2, sb, n);
                    int bad = -1;
                    for (int i = 0; i < n && bad < 0; i++)
                        if (memcmp(&y0[i], &y1[i], 4) &&
                            !(isnan(y0[i]) && isnan(y1[i])))
                            bad = i;
                    CHECKF(bad < 0 && y1[n] == 12345.0f,
                           "%s bin op %d sa %d sb %d n %d at %d", isa, op, sa,
                           sb, n, bad);
                }
        for (int op = 0; op < KW__EW_NUN_F32; op++) {
            y1[n] = 12345.0f;
            kw__ew_un_f32_ref(op, y0, a + 1, n);
            un(op, y1, a + 1, n);
            int bad = -1;
            for (int i = 0; i < n && bad < 0; i++)
                if (!close_f(y1[i], y0[i], op == KW__EW_RELU ? 0 : 1e-5f))
                    bad = i;
            CHECKF(bad < 0 && y1[n] == 12345.0f,
                   "%s unary op %d n %d at %d: %g vs %g", isa, op, n, bad,
                   bad >= 0 ? y1[bad] : 0, bad >= 0 ? y0[bad] : 0);
        }
    }
}

/* ---- operators through a fake node ---- */

static void fake_init(struct kwt_fake *f, const char *op, int n_in) {
    kwt_fake_init(f, "", op, 0);
    f->node.n_in = n_in;
    f->node.n_out = 1;
}

/* Runs op at opset on ins; the output (or NULL on failure) in *y. */
static enum kw_status run(struct kwt_fake *f, int opset,
                          struct kw_onnx_value **ins, int n_in,
                          struct kw_onnx_value **y) {
    f->node.n_in = n_in;
    f->node.opset = opset;
    const struct kw__op *op = kw__op_find("", f->node.op_type, opset);
    CHECKF(op != NULL, "%s at opset %d not registered", f->node.op_type,
           opset);
    if (!op) return KW_STATUS_ERR_UNSUPPORTED;
    struct kw__op_ctx c = {&f->node, opset, ins, n_in, f->out, 1,
                           NULL, f->err, sizeof f->err};
    f->out[0] = NULL;
    enum kw_status st = op->run(&c);
    *y = st ? NULL : f->out[0];
    if (st) kw_onnx_value_free(f->out[0]);
    return st;
}

static struct kw_onnx_value *tensor(int dt, int rank, const int64_t *dims,
                                    const double *vals) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(dt, rank, dims);
    int64_t n = kw_onnx_numel(v);
    for (int64_t i = 0; i < n; i++) kw__set_f64(v, i, vals[i]);
    return v;
}

static int same(const struct kw_onnx_value *y, int dt, int rank,
                const int64_t *dims, const double *want) {
    if (!y || y->dtype != dt || y->rank != rank ||
        memcmp(y->dims, dims, sizeof(int64_t) * (size_t)rank))
        return 0;
    for (int64_t i = 0; i < kw_onnx_numel(y); i++) {
        double g = kw__get_f64(y, i);
        if (!(g == want[i] || (isnan(g) && isnan(want[i])))) {
            fprintf(stderr, "  element %lld: %.17g, want %.17g\n",
                    (long long)i, g, want[i]);
            return 0;
        }
    }
    return 1;
}

static void test_broadcast_int(void) {
    struct kwt_fake f;
    fake_init(&f, "Add", 2);
    const int64_t da[2] = {3, 1}, db[2] = {1, 4}, dy[2] = {3, 4};
    struct kw_onnx_value *in[2] = {
        tensor(KW_ONNX_INT32, 2, da, (double[]){1, 2, 3}),
        tensor(KW_ONNX_INT32, 2, db, (double[]){10, 20, 30, 40})};
    struct kw_onnx_value *y;
    CHECK(run(&f, 14, in, 2, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_INT32, 2, dy,
               (double[]){11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43}));
    kw_onnx_value_free(y);
    /* shapes that do not broadcast fail cleanly */
    const int64_t dc[1] = {3};
    kw_onnx_value_free(in[1]);
    in[1] = tensor(KW_ONNX_INT32, 1, dc, (double[]){1, 2, 3});
    fake_init(&f, "Mul", 2);
    const int64_t dd[2] = {2, 2};
    kw_onnx_value_free(in[0]);
    in[0] = tensor(KW_ONNX_INT32, 2, dd, (double[]){1, 2, 3, 4});
    CHECK(run(&f, 14, in, 2, &y) == KW_STATUS_ERR_FORMAT);
    for (int i = 0; i < 2; i++) kw_onnx_value_free(in[i]);
}

static void test_int_edges(void) {
    struct kwt_fake f;
    struct kw_onnx_value *y;
    const int64_t d4[1] = {4};
    /* division by zero and INT64_MIN / -1 must not trap */
    fake_init(&f, "Div", 2);
    struct kw_onnx_value *in[2] = {
        kw_onnx_tensor_new(KW_ONNX_INT64, 1, d4),
        kw_onnx_tensor_new(KW_ONNX_INT64, 1, d4)};
    int64_t *a = in[0]->data, *b = in[1]->data;
    a[0] = 7; b[0] = 0;
    a[1] = INT64_MIN; b[1] = -1;
    a[2] = -7; b[2] = 2;
    a[3] = 7; b[3] = -2;
    CHECK(run(&f, 14, in, 2, &y) == KW_STATUS_OK);
    if (y) {
        int64_t *r = y->data;
        CHECK(r[0] == 0 && r[1] == INT64_MIN && r[2] == -3 && r[3] == -3);
    }
    kw_onnx_value_free(y);
    /* Mod: Python's sign rule by default, C's with fmod=1 */
    fake_init(&f, "Mod", 2);
    CHECK(run(&f, 13, in, 2, &y) == KW_STATUS_OK);
    if (y) {
        int64_t *r = y->data;
        CHECK(r[0] == 0 && r[1] == 0 && r[2] == 1 && r[3] == -1);
    }
    kw_onnx_value_free(y);
    kwt_fake_int(&f, "fmod", 1);
    CHECK(run(&f, 13, in, 2, &y) == KW_STATUS_OK);
    if (y) {
        int64_t *r = y->data;
        CHECK(r[0] == 0 && r[1] == 0 && r[2] == -1 && r[3] == 1);
    }
    kw_onnx_value_free(y);
    for (int i = 0; i < 2; i++) kw_onnx_value_free(in[i]);
    /* BitShift past the width gives 0; uint8 wraps */
    fake_init(&f, "BitShift", 2);
    kwt_fake_str(&f, "direction", "LEFT");
    in[0] = tensor(KW_ONNX_UINT8, 1, d4, (double[]){1, 255, 3, 1});
    in[1] = tensor(KW_ONNX_UINT8, 1, d4, (double[]){3, 1, 200, 7});
    CHECK(run(&f, 11, in, 2, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_UINT8, 1, d4, (double[]){8, 254, 0, 128}));
    kw_onnx_value_free(y);
    /* Pow: integer base with float exponent truncates */
    fake_init(&f, "Pow", 2);
    kw_onnx_value_free(in[1]);
    in[1] = tensor(KW_ONNX_FLOAT, 1, d4, (double[]){0.5, 2, 0, 1.5});
    CHECK(run(&f, 15, in, 2, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_UINT8, 1, d4, (double[]){1, 65025 % 256, 1, 1}));
    kw_onnx_value_free(y);
    for (int i = 0; i < 2; i++) kw_onnx_value_free(in[i]);
}

static void test_cast_strings(void) {
    struct kwt_fake f;
    struct kw_onnx_value *y;
    const int64_t d[1] = {12};
    const double vals[12] = {1.0,      100.0,     1e6,    999999.94,
                             1e-4,     1.0001e-4, 0.1,    -2.5,
                             1.5e16,   NAN,       -INFINITY, 0.039187793};
    const char *want[12] = {"1.0",   "100.0",     "1e+06", "999999.94",
                            "1e-04", "0.00010001", "0.1",  "-2.5",
                            "1.5e+16", "nan",     "-inf",  "0.039187793"};
    struct kw_onnx_value *x = tensor(KW_ONNX_FLOAT, 1, d, vals);
    fake_init(&f, "Cast", 1);
    kwt_fake_int(&f, "to", KW_ONNX_STRING);
    CHECK(run(&f, 13, &x, 1, &y) == KW_STATUS_OK);
    for (int i = 0; y && i < 12; i++) {
        const char *s = ((char **)y->data)[i];
        CHECKF(!strcmp(s, want[i]), "float %.9g -> '%s', want '%s'",
               vals[i], s, want[i]);
    }
    /* and back */
    struct kw_onnx_value *z;
    fake_init(&f, "Cast", 1);
    kwt_fake_int(&f, "to", KW_ONNX_FLOAT);
    CHECK(run(&f, 13, &y, 1, &z) == KW_STATUS_OK);
    for (int i = 0; z && i < 12; i++) {
        float g = ((float *)z->data)[i], w = (float)vals[i];
        CHECKF(g == w || (isnan(g) && isnan(w)), "'%s' -> %.9g",
               ((char **)y->data)[i], g);
    }
    kw_onnx_value_free(z);
    /* text that is no number fails with a message */
    free(((char **)y->data)[0]);
    ((char **)y->data)[0] = strdup("x1");
    CHECK(run(&f, 13, &y, 1, &z) == KW_STATUS_ERR_FORMAT);
    CHECK(strstr(f.err, "x1") != NULL);
    kw_onnx_value_free(y);
    kw_onnx_value_free(x);
}

static void test_cast_half(void) {
    struct kwt_fake f;
    struct kw_onnx_value *y;
    const int64_t d[1] = {6};
    /* ties to even, straight from double (no double rounding), overflow */
    const double v[6] = {1.0 + 0x1p-11, 1.0 + 3 * 0x1p-11,
                         1.0 + 0x1p-11 + 0x1p-40, 65519.0, 65520.0, 0x1p-25};
    const uint16_t want[6] = {0x3c00, 0x3c02, 0x3c01, 0x7bff, 0x7c00, 0x0000};
    struct kw_onnx_value *x = tensor(KW_ONNX_DOUBLE, 1, d, v);
    fake_init(&f, "Cast", 1);
    kwt_fake_int(&f, "to", KW_ONNX_FLOAT16);
    CHECK(run(&f, 13, &x, 1, &y) == KW_STATUS_OK);
    for (int i = 0; y && i < 6; i++)
        CHECKF(((uint16_t *)y->data)[i] == want[i], "%.17g -> %04x", v[i],
               ((uint16_t *)y->data)[i]);
    kw_onnx_value_free(y);
    kw_onnx_value_free(x);
    /* float to bfloat16 truncates (the ONNX 1.12 test data's rule) */
    const int64_t d2[1] = {2};
    x = kw_onnx_tensor_new(KW_ONNX_FLOAT, 1, d2);
    ((float *)x->data)[0] = 0.48033666610717773f;
    ((float *)x->data)[1] = NAN;
    fake_init(&f, "Cast", 1);
    kwt_fake_int(&f, "to", KW_ONNX_BFLOAT16);
    CHECK(run(&f, 13, &x, 1, &y) == KW_STATUS_OK);
    CHECK(y && ((uint16_t *)y->data)[0] == 16117 &&
          ((uint16_t *)y->data)[1] == 0x7fc0);
    kw_onnx_value_free(y);
    kw_onnx_value_free(x);
}

static void test_legacy_and_clip(void) {
    struct kwt_fake f;
    struct kw_onnx_value *y;
    /* opset 6 Add: broadcast=1 axis=0 aligns B (2) with A's first dim */
    const int64_t da[2] = {2, 3}, db[1] = {2};
    struct kw_onnx_value *in[3] = {
        tensor(KW_ONNX_FLOAT, 2, da, (double[]){1, 2, 3, 4, 5, 6}),
        tensor(KW_ONNX_FLOAT, 1, db, (double[]){10, 20}), NULL};
    fake_init(&f, "Add", 2);
    kwt_fake_int(&f, "broadcast", 1);
    kwt_fake_int(&f, "axis", 0);
    CHECK(run(&f, 6, in, 2, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_FLOAT, 2, da,
               (double[]){11, 12, 13, 24, 25, 26}));
    kw_onnx_value_free(y);
    /* Clip before 11: attributes; from 11: optional inputs (min absent) */
    fake_init(&f, "Clip", 1);
    kwt_fake_float(&f, "min", 2);
    kwt_fake_float(&f, "max", 4.5f);
    CHECK(run(&f, 6, in, 1, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_FLOAT, 2, da, (double[]){2, 2, 3, 4, 4.5, 4.5}));
    kw_onnx_value_free(y);
    fake_init(&f, "Clip", 3);
    kw_onnx_value_free(in[1]);
    const int64_t d0[1] = {0};
    in[1] = NULL;
    in[2] = tensor(KW_ONNX_FLOAT, 0, d0, (double[]){3});
    CHECK(run(&f, 13, in, 3, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_FLOAT, 2, da, (double[]){1, 2, 3, 3, 3, 3}));
    kw_onnx_value_free(y);
    for (int i = 0; i < 3; i++) kw_onnx_value_free(in[i]);
}

static void test_where_identity_variadic(void) {
    struct kwt_fake f;
    struct kw_onnx_value *y;
    const int64_t d2[1] = {2}, d1[1] = {1};
    struct kw_onnx_value *in[3] = {
        tensor(KW_ONNX_BOOL, 1, d2, (double[]){1, 0}),
        kw_onnx_tensor_new(KW_ONNX_STRING, 1, d2),
        kw_onnx_tensor_new(KW_ONNX_STRING, 1, d1)};
    ((char **)in[1]->data)[0] = strdup("a");
    ((char **)in[1]->data)[1] = strdup("b");
    ((char **)in[2]->data)[0] = strdup("z");
    fake_init(&f, "Where", 3);
    CHECK(run(&f, 16, in, 3, &y) == KW_STATUS_OK);
    CHECK(y && !strcmp(((char **)y->data)[0], "a") &&
          !strcmp(((char **)y->data)[1], "z"));
    kw_onnx_value_free(y);
    /* Identity clones a sequence */
    struct kw_onnx_value *seq = kw__sequence_new(KW_ONNX_STRING);
    kw__sequence_push(seq, in[1]);
    in[1] = NULL;
    fake_init(&f, "Identity", 1);
    CHECK(run(&f, 16, &seq, 1, &y) == KW_STATUS_OK);
    CHECK(y && y->kind == KW_ONNX_SEQUENCE && y->n_items == 1 &&
          y->items[0] != seq->items[0] &&
          !strcmp(((char **)y->items[0]->data)[1], "b"));
    kw_onnx_value_free(y);
    kw_onnx_value_free(seq);
    for (int i = 0; i < 3; i++) kw_onnx_value_free(in[i]);
    /* Mean of three broadcast inputs; Max propagates NaN */
    const int64_t d3[1] = {3}, d23[2] = {2, 3};
    in[0] = tensor(KW_ONNX_FLOAT, 1, d3, (double[]){1, 2, NAN});
    in[1] = tensor(KW_ONNX_FLOAT, 2, d23, (double[]){3, 4, 5, 6, 7, 8});
    in[2] = tensor(KW_ONNX_FLOAT, 1, d1, (double[]){2});
    fake_init(&f, "Mean", 3);
    CHECK(run(&f, 13, in, 3, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_FLOAT, 2, d23,
               (double[]){2, 8.0f / 3, NAN, 3, 11.0f / 3, NAN}));
    kw_onnx_value_free(y);
    fake_init(&f, "Max", 3);
    CHECK(run(&f, 13, in, 3, &y) == KW_STATUS_OK);
    CHECK(same(y, KW_ONNX_FLOAT, 2, d23, (double[]){3, 4, NAN, 6, 7, NAN}));
    kw_onnx_value_free(y);
    for (int i = 0; i < 3; i++) kw_onnx_value_free(in[i]);
    /* wrong dtypes are refused by name */
    in[0] = tensor(KW_ONNX_INT32, 1, d1, (double[]){1});
    fake_init(&f, "Sqrt", 1);
    CHECK(run(&f, 13, in, 1, &y) == KW_STATUS_ERR_UNSUPPORTED);
    CHECK(strstr(f.err, "int32") != NULL);
    kw_onnx_value_free(in[0]);
}

/* A big float32 op through the row driver equals the reference. */
static void test_big_unary(void) {
    struct kwt_fake f;
    struct kw_onnx_value *y;
    const int64_t d[2] = {3, 33333};
    struct kw_onnx_value *x = kw_onnx_tensor_new(KW_ONNX_FLOAT, 2, d);
    uint64_t rng = 7;
    float *xf = x->data;
    for (int64_t i = 0; i < 3 * 33333; i++) xf[i] = kw_test_randf(&rng) * 6;
    fake_init(&f, "Sigmoid", 1);
    CHECK(run(&f, 13, &x, 1, &y) == KW_STATUS_OK);
    int bad = 0;
    for (int64_t i = 0; y && i < 3 * 33333; i++)
        if (!close_f(((float *)y->data)[i],
                     (float)(1.0 / (1.0 + exp(-(double)xf[i]))), 1e-5f))
            bad++;
    CHECK(bad == 0);
    kw_onnx_value_free(y);
    kw_onnx_value_free(x);
}

int main(void) {
    check_kernels("ref", kw__ew_bin_f32_ref, kw__ew_un_f32_ref);
#ifdef KW_HAVE_X86
    if (kw__cpu_has(KW__ISA_AVX2))
        check_kernels("avx2", kw__ew_bin_f32_avx2, kw__ew_un_f32_avx2);
    if (kw__cpu_has(KW__ISA_AVX512))
        check_kernels("avx512", kw__ew_bin_f32_avx512, kw__ew_un_f32_avx512);
#endif
    test_broadcast_int();
    test_int_edges();
    test_cast_strings();
    test_cast_half();
    test_legacy_and_clip();
    test_where_identity_variadic();
    test_big_unary();
    return kw_test_finish("test_onnx_elementwise");
}
