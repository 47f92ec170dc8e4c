/*
 * test_onnx_nn.c — the NN operator family without the loader: the packed
 * GEMM on every ISA (odd M, N, K, transposes, 1 and 2 threads) against a
 * double-precision loop; Conv / ConvTranspose / MatMul through fake nodes
 * against naive loops; known values for pooling, quantization, Einsum,
 * Det and NonMaxSuppression. KW_BENCH=1 also prints GFLOP/s.
 */
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "onnx/exec.h"
#include "onnx/ops/nn_internal.h"
#include "onnx_fake.h"
#include "testutil.h"

static uint64_t g_rng = 0x1234567;

/* ---- fake nodes ---- */

static enum kw_status fake_run(struct kwt_fake *f, kw__op_fn fn) {
    enum kw_status st = fn(&f->ctx);
    if (st) fprintf(stderr, "  op %s: %s\n", f->node.op_type, f->err);
    return st;
}

static struct kw_onnx_value *rand_tensor(int rank, const int64_t *dims) {
    struct kw_onnx_value *v = kw_onnx_tensor_new(KW_ONNX_FLOAT, rank, dims);
    float *d = v->data;
    for (int64_t i = 0; i < kw_onnx_numel(v); i++) d[i] = kw_test_randf(&g_rng);
    return v;
}

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

/* ---- GEMM ---- */

static struct kw_onnx_model g_model2; /* a 2-thread pool for ctx.exec */
static struct kw__exec g_exec2;
static struct kw__node g_node2 = {.name = "bench", .op_type = "Gemm",
                                  .domain = ""};

static struct kw__op_ctx ctx2(char *err, size_t n) {
    struct kw__op_ctx c = {.node = &g_node2, .exec = &g_exec2, .err = err,
                           .err_size = n};
    return c;
}

static void gemm_case(int64_t M, int64_t N, int64_t K, int ta, int tb,
                      float alpha) {
    float *a = malloc((size_t)(M * K) * 4), *b = malloc((size_t)(K * N) * 4);
    float *cc = malloc((size_t)(M * N) * 4);
    double *want = malloc((size_t)(M * N) * 8);
    for (int64_t i = 0; i < M * K; i++) a[i] = kw_test_randf(&g_rng);
    for (int64_t i = 0; i < K * N; i++) b[i] = kw_test_randf(&g_rng);
    struct kw__sgemm g = {M, N, K, a, ta ? 1 : K, ta ? M : 1, b, tb ? 1 : N,
                          tb ? K : 1, cc, N, alpha};
    float *c0 = malloc((size_t)(M * N) * 4);
    for (int64_t i = 0; i < M * N; i++) c0[i] = kw_test_randf(&g_rng);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)a[i * g.a_rs + k * g.a_cs] *
                     b[k * g.b_rs + j * g.b_cs];
            want[i * N + j] = c0[i * N + j] + alpha * s;
        }
    char err[256];
    struct kw__op_ctx c2 = ctx2(err, sizeof err);
    for (int isa = 0; isa < KW__ISA_COUNT; isa++)
        for (int th = 1; th <= 2; th++) {
            memcpy(cc, c0, (size_t)(M * N) * 4);
            kw__sgemm_run_isa(th == 2 ? &c2 : NULL, &g, (enum kw__isa)isa);
            char what[96];
            snprintf(what, sizeof what, "gemm %lldx%lldx%lld t%d%d isa %d th %d",
                     (long long)M, (long long)N, (long long)K, ta, tb, isa, th);
            CHECKF(close_to(cc, want, M * N, 1e-4, what), "%s", what);
        }
    free(a);
    free(b);
    free(cc);
    free(c0);
    free(want);
}

static void test_gemm(void) {
    static const int64_t shapes[][3] = {
        {1, 1, 1},    {1, 17, 5},   {7, 1, 3},     {6, 16, 8},
        {1, 40, 37},  {45, 1, 70},
        {8, 32, 9},   {13, 33, 17}, {5, 47, 300},  {31, 29, 257},
        {97, 65, 33}, {130, 70, 513}, {200, 600, 40}, {3, 1100, 7}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            gemm_case(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1,
                      t == 3 ? 0.5f : 1.0f);
    /* matrix-vector shapes (gemv kernels: 8 / 4 / 1-3 rows a pass, the k
     * tail, threads splitting into 8-row blocks), the classifier heads
     * (1x1280 -> 1000, 1x2048 -> 1000) among them */
    static const int64_t gemv[][3] = {
        {1, 1000, 1280}, {1, 1000, 2048}, {1, 1001, 131}, {1, 13, 2049},
        {1, 9, 15},      {1, 3, 17},      {1, 1, 33},     {1, 29, 16},
        {37, 1, 131},    {12, 1, 16},     {1003, 1, 77},  {1, 515, 1}};
    for (size_t s = 0; s < sizeof gemv / sizeof gemv[0]; s++)
        for (int t = 0; t < 4; t++)
            gemm_case(gemv[s][0], gemv[s][1], gemv[s][2], t & 1, t >> 1,
                      t == 1 ? 1.0f : -0.75f);
}

/* ---- Conv ---- */

struct conv_cfg {
    int nsp;
    int64_t N, C, M, group;
    int64_t in[3], k[3], s[3], d[3], pads[6];
    int bias;
    const char *auto_pad;
};

static void naive_conv(const struct conv_cfg *q, const float *x,
                       const float *w, const float *b, const int64_t *out,
                       double *y) {
    const int n = q->nsp;
    int64_t insz = 1, outsz = 1, kk = 1;
    for (int d = 0; d < n; d++) {
        insz *= q->in[d];
        outsz *= out[d];
        kk *= q->k[d];
    }
    const int64_t Cg = q->C / q->group, Mg = q->M / q->group;
    int64_t pb[3];
    for (int d = 0; d < n; d++) pb[d] = q->pads[d];
    for (int64_t bi = 0; bi < q->N; bi++)
        for (int64_t m = 0; m < q->M; m++)
            for (int64_t o = 0; o < outsz; o++) {
                int64_t oi[3], r = o;
                for (int d = n - 1; d >= 0; d--) {
                    oi[d] = r % out[d];
                    r /= out[d];
                }
                double acc = b ? b[m] : 0;
                const int64_t g = m / Mg;
                for (int64_t ci = 0; ci < Cg; ci++)
                    for (int64_t t = 0; t < kk; t++) {
                        int64_t ki[3], rr = t, off = 0, ok = 1;
                        for (int d = n - 1; d >= 0; d--) {
                            ki[d] = rr % q->k[d];
                            rr /= q->k[d];
                        }
                        for (int d = 0; d < n; d++) {
                            const int64_t id =
                                oi[d] * q->s[d] - pb[d] + ki[d] * q->d[d];
                            if (id < 0 || id >= q->in[d]) ok = 0;
                            off = off * q->in[d] + id;
                        }
                        if (!ok) continue;
                        acc += (double)x[((bi * q->C) + g * Cg + ci) * insz + off] *
                               w[(m * Cg + ci) * kk + t];
                    }
                y[(bi * q->M + m) * outsz + o] = acc;
            }
}

static void conv_case(const struct conv_cfg *q) {
    struct kwt_fake f;
    kwt_fake_init(&f, "", "Conv", 13);
    int64_t xd[5] = {q->N, q->C}, wd[5] = {q->M, q->C / q->group};
    for (int d = 0; d < q->nsp; d++) {
        xd[d + 2] = q->in[d];
        wd[d + 2] = q->k[d];
    }
    kwt_fake_in(&f, rand_tensor(q->nsp + 2, xd));
    kwt_fake_in(&f, rand_tensor(q->nsp + 2, wd));
    if (q->bias) kwt_fake_in(&f, rand_tensor(1, &q->M));
    kwt_fake_outs(&f, 1);
    int64_t k[3], s[3], d[3], p[6];
    memcpy(k, q->k, sizeof k);
    memcpy(s, q->s, sizeof s);
    memcpy(d, q->d, sizeof d);
    memcpy(p, q->pads, sizeof p);
    kwt_fake_ints(&f, "kernel_shape", k, (size_t)q->nsp);
    kwt_fake_ints(&f, "strides", s, (size_t)q->nsp);
    kwt_fake_ints(&f, "dilations", d, (size_t)q->nsp);
    kwt_fake_ints(&f, "pads", p, 2 * (size_t)q->nsp);
    kwt_fake_int(&f, "group", q->group);
    if (fake_run(&f, kw__op_conv) == KW_STATUS_OK) {
        const struct kw_onnx_value *Y = f.out[0];
        int64_t out[3];
        for (int i = 0; i < q->nsp; i++) out[i] = Y->dims[i + 2];
        double *want = malloc((size_t)kw_onnx_numel(Y) * 8 + 8);
        naive_conv(q, f.in[0]->data, f.in[1]->data,
                   q->bias ? f.in[2]->data : NULL, out, want);
        for (int i = 0; i < q->nsp; i++) {
            const int64_t ek = (q->k[i] - 1) * q->d[i] + 1;
            CHECK(out[i] == (q->in[i] + q->pads[i] + q->pads[i + q->nsp] - ek) /
                                    q->s[i] + 1);
        }
        char what[64];
        snprintf(what, sizeof what, "conv nsp %d group %lld", q->nsp,
                 (long long)q->group);
        CHECKF(close_to(Y->data, want, kw_onnx_numel(Y), 1e-4, what), "%s",
               what);
        free(want);
    } else {
        CHECK(0);
    }
    kwt_fake_free(&f);
}

static void test_conv(void) {
    static const struct conv_cfg cases[] = {
        /* nsp  N  C  M  g   in          k          s          d          pads */
        {2, 1, 3, 5, 1, {7, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 0},
        {2, 2, 4, 6, 2, {8, 5}, {3, 2}, {2, 1}, {1, 2}, {0, 1, 2, 0}, 1, 0},
        {2, 1, 6, 6, 6, {9, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 0},
        {2, 2, 4, 8, 4, {10, 7}, {3, 3}, {2, 2}, {2, 1}, {2, 0, 1, 1}, 0, 0},
        {2, 1, 5, 7, 1, {6, 6}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, 0},
        {2, 1, 8, 4, 2, {5, 3}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 0, 0},
        {2, 1, 3, 4, 1, {6, 6}, {1, 1}, {2, 2}, {1, 1}, {0, 0, 1, 1}, 1, 0},
        {1, 2, 3, 5, 1, {13}, {4}, {2}, {2}, {3, 1}, 1, 0},
        {3, 1, 2, 3, 1, {5, 6, 4}, {2, 3, 2}, {1, 2, 1}, {2, 1, 1},
         {1, 0, 1, 0, 1, 1}, 1, 0},
        {2, 1, 37, 19, 1, {23, 29}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 0},
        {2, 1, 64, 33, 1, {40, 60}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) conv_case(&cases[i]);
}

/* ConvTranspose against the scatter definition. */
static void test_conv_transpose(void) {
    struct kwt_fake f;
    kwt_fake_init(&f, "", "ConvTranspose", 13);
    const int64_t xd[4] = {2, 4, 3, 4}, wd[4] = {4, 3, 3, 2}, M = 6;
    kwt_fake_in(&f, rand_tensor(4, xd));
    kwt_fake_in(&f, rand_tensor(4, wd));
    kwt_fake_in(&f, rand_tensor(1, &M));
    kwt_fake_outs(&f, 1);
    int64_t s[2] = {2, 3}, d[2] = {1, 2}, p[4] = {1, 0, 0, 2}, op[2] = {1, 0};
    kwt_fake_ints(&f, "strides", s, 2);
    kwt_fake_ints(&f, "dilations", d, 2);
    kwt_fake_ints(&f, "pads", p, 4);
    kwt_fake_ints(&f, "output_padding", op, 2);
    kwt_fake_int(&f, "group", 2);
    if (fake_run(&f, kw__op_conv_transpose) == KW_STATUS_OK) {
        const struct kw_onnx_value *Y = f.out[0];
        /* out = s*(in-1) + op + (k-1)*d + 1 - pads */
        CHECK(Y->dims[1] == 6 && Y->dims[2] == 2 * 2 + 1 + 3 - 1 &&
              Y->dims[3] == 3 * 3 + 0 + 3 - 2);
        const int64_t OH = Y->dims[2], OW = Y->dims[3];
        double *want = calloc((size_t)kw_onnx_numel(Y), 8);
        const float *x = f.in[0]->data, *w = f.in[1]->data, *b = f.in[2]->data;
        for (int64_t n = 0; n < 2; n++)
            for (int64_t m = 0; m < 6; m++)
                for (int64_t i = 0; i < OH * OW; i++)
                    want[(n * 6 + m) * OH * OW + i] = b[m];
        for (int64_t n = 0; n < 2; n++)
            for (int64_t ci = 0; ci < 4; ci++)
                for (int64_t ih = 0; ih < 3; ih++)
                    for (int64_t iw = 0; iw < 4; iw++)
                        for (int64_t mo = 0; mo < 3; mo++)
                            for (int64_t kh = 0; kh < 3; kh++)
                                for (int64_t kw = 0; kw < 2; kw++) {
                                    const int64_t oh = ih * 2 - 1 + kh;
                                    const int64_t ow = iw * 3 - 0 + kw * 2;
                                    if (oh < 0 || oh >= OH || ow < 0 || ow >= OW)
                                        continue;
                                    const int64_t m = (ci / 2) * 3 + mo;
                                    want[((n * 6 + m) * OH + oh) * OW + ow] +=
                                        (double)x[((n * 4 + ci) * 3 + ih) * 4 + iw] *
                                        w[((ci * 3 + mo) * 3 + kh) * 2 + kw];
                                }
        CHECK(close_to(Y->data, want, kw_onnx_numel(Y), 1e-4, "convtranspose"));
        free(want);
    } else {
        CHECK(0);
    }
    kwt_fake_free(&f);
}

/* ---- MatMul broadcasting ---- */

static void test_matmul(void) {
    struct kwt_fake f;
    kwt_fake_init(&f, "", "MatMul", 13);
    const int64_t ad[3] = {3, 5, 7}, bd[4] = {2, 1, 7, 4};
    kwt_fake_in(&f, rand_tensor(3, ad));
    kwt_fake_in(&f, rand_tensor(4, bd));
    kwt_fake_outs(&f, 1);
    if (fake_run(&f, kw__op_matmul) == KW_STATUS_OK) {
        const struct kw_onnx_value *Y = f.out[0];
        CHECK(Y->rank == 4 && Y->dims[0] == 2 && Y->dims[1] == 3 &&
              Y->dims[2] == 5 && Y->dims[3] == 4);
        double want[2 * 3 * 5 * 4];
        const float *a = f.in[0]->data, *b = f.in[1]->data;
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 3; q++)
                for (int i = 0; i < 5; i++)
                    for (int j = 0; j < 4; j++) {
                        double s = 0;
                        for (int k = 0; k < 7; k++)
                            s += (double)a[(q * 5 + i) * 7 + k] * b[(p * 7 + k) * 4 + j];
                        want[((p * 3 + q) * 5 + i) * 4 + j] = s;
                    }
        CHECK(close_to(Y->data, want, 120, 1e-5, "matmul bcast"));
    }
    kwt_fake_free(&f);
    /* 1-D x 2-D and 2-D x 1-D */
    kwt_fake_init(&f, "", "MatMul", 13);
    const int64_t v = 3, md[2] = {3, 2};
    kwt_fake_in(&f, kwt_tensor_f32(1, &v, (float[]){1, 2, 3}));
    kwt_fake_in(&f, kwt_tensor_f32(2, md, (float[]){1, 2, 3, 4, 5, 6}));
    kwt_fake_outs(&f, 1);
    if (fake_run(&f, kw__op_matmul) == KW_STATUS_OK) {
        CHECK(f.out[0]->rank == 1 && f.out[0]->dims[0] == 2);
        CHECK(close_to(f.out[0]->data, (double[]){22, 28}, 2, 1e-6, "vm"));
    }
    kwt_fake_free(&f);
}

/* Gemm op: transposes, alpha/beta, C broadcast as a row vector. */
static void test_gemm_op(void) {
    struct kwt_fake f;
    kwt_fake_init(&f, "", "Gemm", 13);
    const int64_t ad[2] = {3, 2}, bd[2] = {4, 3}, cd = 4;
    kwt_fake_in(&f, kwt_tensor_f32(2, ad, (float[]){1, 2, 3, 4, 5, 6})); /* A^T: 2x3 */
    kwt_fake_in(&f, kwt_tensor_f32(2, bd, (float[]){1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}));
    kwt_fake_in(&f, kwt_tensor_f32(1, &cd, (float[]){10, 20, 30, 40}));
    kwt_fake_outs(&f, 1);
    kwt_fake_int(&f, "transA", 1);
    kwt_fake_int(&f, "transB", 1);
    kwt_fake_float(&f, "alpha", 2.0f);
    kwt_fake_float(&f, "beta", 0.5f);
    if (fake_run(&f, kw__op_gemm) == KW_STATUS_OK) {
        /* A^T = [[1,3,5],[2,4,6]], A^T B^T = [[1,3,5,9],[2,4,6,12]] */
        CHECK(close_to(f.out[0]->data,
                       (double[]){7, 16, 25, 38, 9, 18, 27, 44}, 8, 1e-6,
                       "gemm op"));
    }
    kwt_fake_free(&f);
}

/* Gemm op with M == 1 (the classifier head: transB, alpha, beta, C as
 * [N], [1, N] or [1, 1]) against a double loop. */
static void test_gemm_op_gemv(void) {
    const int64_t K = 37, N = 21;
    for (int cr = 0; cr < 3; cr++) {
        struct kwt_fake f;
        kwt_fake_init(&f, "", "Gemm", 13);
        const int64_t ad[2] = {1, K}, bd[2] = {N, K};
        const int64_t cd1[1] = {N}, cd2[2] = {1, N}, cd3[2] = {1, 1};
        struct kw_onnx_value *A = rand_tensor(2, ad), *B = rand_tensor(2, bd);
        struct kw_onnx_value *C = cr == 0   ? rand_tensor(1, cd1)
                                  : cr == 1 ? rand_tensor(2, cd2)
                                            : rand_tensor(2, cd3);
        kwt_fake_in(&f, A);
        kwt_fake_in(&f, B);
        kwt_fake_in(&f, C);
        kwt_fake_outs(&f, 1);
        kwt_fake_int(&f, "transB", 1);
        kwt_fake_float(&f, "alpha", 0.75f);
        kwt_fake_float(&f, "beta", -1.5f);
        double want[21];
        const float *a = A->data, *b = B->data, *c = C->data;
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += (double)a[k] * b[j * K + k];
            want[j] = 0.75 * s - 1.5 * c[cr == 2 ? 0 : j];
        }
        if (fake_run(&f, kw__op_gemm) == KW_STATUS_OK) {
            CHECK(f.out[0]->rank == 2 && f.out[0]->dims[0] == 1 &&
                  f.out[0]->dims[1] == N);
            CHECK(close_to(f.out[0]->data, want, N, 1e-5, "gemm op gemv"));
        }
        kwt_fake_free(&f);
    }
}

/* Gemm with a constant B packed by the prepare hook (on the first run
 * with more than one row): two K blocks, ragged panels, both layouts of
 * B, 1 and 2 threads, batch 1 (B streamed) before and after; every run
 * against the sum in double. */
static void test_gemm_op_prepacked(void) {
    const int64_t K = 300, N = 70;
    for (int tb = 0; tb < 2; tb++) {
        const int64_t bd[2] = {tb ? N : K, tb ? K : N}, cd[1] = {N};
        struct kw_onnx_value *B = rand_tensor(2, bd), *C = rand_tensor(1, cd);
        struct kw_onnx_value *init[3] = {NULL, B, NULL};
        struct kw__graph gr = {.n_values = 3, .init = init};
        struct kw__node node = {0};
        for (int run = 0; run < 4; run++) {
            const int64_t M = run == 0 || run == 3 ? 1 : 33;
            const int64_t ad[2] = {M, K};
            struct kw_onnx_value *A = rand_tensor(2, ad);
            struct kwt_fake f;
            kwt_fake_init(&f, "", "Gemm", 13);
            kwt_fake_in(&f, A);
            kwt_fake_in(&f, B);
            kwt_fake_in(&f, C);
            kwt_fake_outs(&f, 1);
            kwt_fake_int(&f, "transB", tb);
            kwt_fake_float(&f, "alpha", 0.5f);
            if (run == 0) kw__gemm_prepare(&f.node, &gr);
            else f.node.state = node.state, f.node.state_free = node.state_free;
            node.state = f.node.state;
            node.state_free = f.node.state_free;
            if (run == 2) f.ctx.exec = &g_exec2;
            const float *a = A->data, *b = B->data, *c = C->data;
            double *want = malloc((size_t)(M * N) * sizeof *want);
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double acc = 0;
                    for (int64_t k = 0; k < K; k++)
                        acc += (double)a[i * K + k] *
                               b[tb ? j * K + k : k * N + j];
                    want[i * N + j] = 0.5 * acc + c[j];
                }
            if (fake_run(&f, kw__op_gemm) == KW_STATUS_OK)
                CHECKF(close_to(f.out[0]->data, want, M * N, 1e-4,
                                "gemm prepacked"),
                       "tb %d run %d", tb, run);
            free(want);
            f.node.state = NULL; /* kept for the next run, as B and C */
            f.in[1] = f.in[2] = NULL;
            kwt_fake_free(&f);
        }
        CHECK(node.state != NULL);
        if (node.state) node.state_free(node.state);
        kw_onnx_value_free(B);
        kw_onnx_value_free(C);
    }
}

/* ---- pooling ---- */

static void test_pool(void) {
    const int64_t xd[4] = {1, 1, 4, 4};
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
    struct kwt_fake f;
    /* max 3x3 stride 2 ceil: windows at 0 and 2 */
    kwt_fake_init(&f, "", "MaxPool", 12);
    kwt_fake_in(&f, kwt_tensor_f32(4, xd, x));
    kwt_fake_outs(&f, 2);
    int64_t k[2] = {3, 3}, s[2] = {2, 2};
    kwt_fake_ints(&f, "kernel_shape", k, 2);
    kwt_fake_ints(&f, "strides", s, 2);
    kwt_fake_int(&f, "ceil_mode", 1);
    if (fake_run(&f, kw__op_max_pool) == KW_STATUS_OK) {
        CHECK(f.out[0]->dims[2] == 2 && f.out[0]->dims[3] == 2);
        CHECK(close_to(f.out[0]->data, (double[]){11, 12, 15, 16}, 4, 0, "maxpool"));
        const int64_t *ind = f.out[1]->data;
        CHECK(ind[0] == 10 && ind[1] == 11 && ind[2] == 14 && ind[3] == 15);
    }
    kwt_fake_free(&f);
    /* average with pads, with and without count_include_pad */
    for (int cip = 0; cip < 2; cip++) {
        kwt_fake_init(&f, "", "AveragePool", 11);
        kwt_fake_in(&f, kwt_tensor_f32(4, xd, x));
        kwt_fake_outs(&f, 1);
        int64_t k2[2] = {2, 2}, p[4] = {1, 1, 0, 0};
        kwt_fake_ints(&f, "kernel_shape", k2, 2);
        kwt_fake_ints(&f, "pads", p, 4);
        kwt_fake_int(&f, "count_include_pad", cip);
        if (fake_run(&f, kw__op_average_pool) == KW_STATUS_OK) {
            const float *y = f.out[0]->data;
            CHECK(f.out[0]->dims[2] == 4 && f.out[0]->dims[3] == 4);
            CHECK(fabsf(y[0] - (cip ? 0.25f : 1.0f)) < 1e-6f);
            CHECK(fabsf(y[5] - (1 + 2 + 5 + 6) / 4.0f) < 1e-6f);
        }
        kwt_fake_free(&f);
    }
    kwt_fake_init(&f, "", "GlobalAveragePool", 1);
    kwt_fake_in(&f, kwt_tensor_f32(4, xd, x));
    kwt_fake_outs(&f, 1);
    if (fake_run(&f, kw__op_global_average_pool) == KW_STATUS_OK)
        CHECK(f.out[0]->rank == 4 && ((float *)f.out[0]->data)[0] == 8.5f);
    kwt_fake_free(&f);
}

/* ---- quantization ---- */

static void test_quant(void) {
    struct kwt_fake f;
    kwt_fake_init(&f, "", "QuantizeLinear", 13);
    const int64_t n = 6, one = 1;
    kwt_fake_in(&f, kwt_tensor_f32(1, &n, (float[]){0, 2, 3, 1000, -254, -1000}));
    kwt_fake_in(&f, kwt_tensor_f32(0, NULL, (float[]){2}));
    struct kw_onnx_value *zp = kw_onnx_tensor_new(KW_ONNX_UINT8, 0, NULL);
    *(uint8_t *)zp->data = 128;
    kwt_fake_in(&f, zp);
    kwt_fake_outs(&f, 1);
    (void)one;
    if (fake_run(&f, kw__op_quantize_linear) == KW_STATUS_OK) {
        const uint8_t *y = f.out[0]->data;
        static const uint8_t want[6] = {128, 129, 130, 255, 1, 0};
        CHECK(f.out[0]->dtype == KW_ONNX_UINT8 && !memcmp(y, want, 6));
    }
    kwt_fake_free(&f);
    kwt_fake_init(&f, "", "DynamicQuantizeLinear", 11);
    kwt_fake_in(&f, kwt_tensor_f32(1, &n, (float[]){0, 2, -3, -2.5f, 1.34f, 0.5f}));
    kwt_fake_outs(&f, 3);
    if (fake_run(&f, kw__op_dynamic_quantize_linear) == KW_STATUS_OK) {
        CHECK(fabsf(*(float *)f.out[1]->data - 5.0f / 255) < 1e-7f);
        CHECK(*(uint8_t *)f.out[2]->data == 153);
        static const uint8_t want[6] = {153, 255, 0, 26, 221, 179};
        CHECK(!memcmp(f.out[0]->data, want, 6));
    }
    kwt_fake_free(&f);
}

/* ---- Einsum, Det, NonMaxSuppression ---- */

static void test_misc(void) {
    struct kwt_fake f;
    kwt_fake_init(&f, "", "Einsum", 12);
    const int64_t ad[2] = {2, 3}, bd[2] = {3, 2};
    kwt_fake_in(&f, kwt_tensor_f32(2, ad, (float[]){1, 2, 3, 4, 5, 6}));
    kwt_fake_in(&f, kwt_tensor_f32(2, bd, (float[]){1, 0, 0, 1, 1, 1}));
    kwt_fake_outs(&f, 1);
    kwt_fake_str(&f, "equation", "ij,jk");
    if (fake_run(&f, kw__op_einsum) == KW_STATUS_OK)
        CHECK(close_to(f.out[0]->data, (double[]){4, 5, 10, 11}, 4, 1e-6,
                       "einsum"));
    kwt_fake_free(&f);
    kwt_fake_init(&f, "", "Einsum", 12);
    const int64_t sq[3] = {2, 2, 2};
    kwt_fake_in(&f, kwt_tensor_f32(3, sq, (float[]){1, 2, 3, 4, 5, 6, 7, 8}));
    kwt_fake_outs(&f, 1);
    kwt_fake_str(&f, "equation", "...ii ->...i");
    if (fake_run(&f, kw__op_einsum) == KW_STATUS_OK)
        CHECK(close_to(f.out[0]->data, (double[]){1, 4, 5, 8}, 4, 1e-6,
                       "einsum diag"));
    kwt_fake_free(&f);
    kwt_fake_init(&f, "", "Det", 11);
    const int64_t dd[2] = {3, 3};
    kwt_fake_in(&f, kwt_tensor_f32(2, dd, (float[]){2, -1, 0, -1, 2, -1, 0, -1, 2}));
    kwt_fake_outs(&f, 1);
    if (fake_run(&f, kw__op_det) == KW_STATUS_OK)
        CHECK(f.out[0]->rank == 0 &&
              fabsf(*(float *)f.out[0]->data - 4.0f) < 1e-5f);
    kwt_fake_free(&f);
    kwt_fake_init(&f, "", "NonMaxSuppression", 11);
    const int64_t bxd[3] = {1, 3, 4}, scd[3] = {1, 1, 3};
    kwt_fake_in(&f, kwt_tensor_f32(3, bxd, (float[]){0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 10, 1, 11}));
    kwt_fake_in(&f, kwt_tensor_f32(3, scd, (float[]){0.9f, 0.95f, 0.5f}));
    struct kw_onnx_value *mo = kw_onnx_tensor_new(KW_ONNX_INT64, 1, (int64_t[]){1});
    *(int64_t *)mo->data = 3;
    kwt_fake_in(&f, mo);
    kwt_fake_in(&f, kwt_tensor_f32(1, (int64_t[]){1}, (float[]){0.5f}));
    kwt_fake_outs(&f, 1);
    if (fake_run(&f, kw__op_non_max_suppression) == KW_STATUS_OK) {
        const int64_t *y = f.out[0]->data;
        CHECK(f.out[0]->dims[0] == 2 && y[2] == 1 && y[5] == 2);
    }
    kwt_fake_free(&f);
}

/* Malformed inputs are refused, never crash. */
static void test_errors(void) {
    struct kwt_fake f;
    kwt_fake_init(&f, "", "Conv", 13);
    const int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {2, 2, 3, 3};
    kwt_fake_in(&f, rand_tensor(4, xd));
    kwt_fake_in(&f, rand_tensor(4, wd));
    kwt_fake_outs(&f, 1);
    CHECK(kw__op_conv(&f.ctx) != KW_STATUS_OK);
    kwt_fake_free(&f);
    kwt_fake_init(&f, "", "MaxUnpool", 11);
    const int64_t d[4] = {1, 1, 2, 2};
    kwt_fake_in(&f, rand_tensor(4, d));
    struct kw_onnx_value *I = kw_onnx_tensor_new(KW_ONNX_INT64, 4, d);
    ((int64_t *)I->data)[2] = 1000;
    kwt_fake_in(&f, I);
    kwt_fake_outs(&f, 1);
    int64_t k[2] = {2, 2}, s[2] = {2, 2};
    kwt_fake_ints(&f, "kernel_shape", k, 2);
    kwt_fake_ints(&f, "strides", s, 2);
    CHECK(kw__op_max_unpool(&f.ctx) != KW_STATUS_OK);
    kwt_fake_free(&f);
}

/* ---- benchmark (KW_BENCH=1) ---- */

static double gemm_gflops(int64_t M, int64_t N, int64_t K, enum kw__isa isa,
                          int threads) {
    float *a = kw__alloc_aligned((size_t)(M * K) * 4);
    float *b = kw__alloc_aligned((size_t)(K * N) * 4);
    float *c = kw__alloc_aligned((size_t)(M * N) * 4);
    for (int64_t i = 0; i < M * K; i++) a[i] = kw_test_randf(&g_rng);
    for (int64_t i = 0; i < K * N; i++) b[i] = kw_test_randf(&g_rng);
    memset(c, 0, (size_t)(M * N) * 4);
    struct kw__sgemm g = {M, N, K, a, K, 1, b, N, 1, c, N, 1.0f};
    char err[64];
    struct kw__op_ctx c2 = ctx2(err, sizeof err);
    kw__sgemm_run_isa(threads > 1 ? &c2 : NULL, &g, isa);
    int reps = 0;
    const int64_t t0 = kw__time_us();
    int64_t t1;
    do {
        kw__sgemm_run_isa(threads > 1 ? &c2 : NULL, &g, isa);
        reps++;
        t1 = kw__time_us();
    } while (t1 - t0 < 300000);
    kw__free_aligned(a);
    kw__free_aligned(b);
    kw__free_aligned(c);
    return 2.0 * M * N * K * reps / ((t1 - t0) * 1e3);
}

static void bench(void) {
    static const char *names[] = {"ref", "avx2", "avx512"};
    static const int64_t shapes[][3] = {
        {256, 256, 256}, {64, 3136, 576}, {512, 196, 4608}, {1000, 1, 1024}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int isa = 0; isa < KW__ISA_COUNT; isa++)
            for (int th = 1; th <= 2; th++)
                printf("bench sgemm M=%lld N=%lld K=%lld %-6s %d thread(s): "
                       "%.1f GFLOP/s\n",
                       (long long)shapes[s][0], (long long)shapes[s][1],
                       (long long)shapes[s][2], names[isa], th,
                       gemm_gflops(shapes[s][0], shapes[s][1], shapes[s][2],
                                   (enum kw__isa)isa, th));
    /* a ResNet-style 3x3 layer: 64 -> 64 channels, 56x56 */
    for (int th = 1; th <= 2; th++) {
        struct kwt_fake f;
        kwt_fake_init(&f, "", "Conv", 13);
        const int64_t xd[4] = {1, 64, 56, 56}, wd[4] = {64, 64, 3, 3};
        kwt_fake_in(&f, rand_tensor(4, xd));
        kwt_fake_in(&f, rand_tensor(4, wd));
        kwt_fake_outs(&f, 1);
        int64_t p[4] = {1, 1, 1, 1};
        kwt_fake_ints(&f, "pads", p, 4);
        if (th == 2) f.ctx.exec = &g_exec2;
        int reps = 0;
        const int64_t t0 = kw__time_us();
        int64_t t1;
        do {
            kw__op_conv(&f.ctx);
            reps++;
            t1 = kw__time_us();
        } while (t1 - t0 < 500000);
        printf("bench conv 64x56x56 3x3 -> 64 (%s) %d thread(s): %.1f GFLOP/s\n",
               kw_cpu_isa(), th,
               2.0 * 64 * 56 * 56 * 64 * 9 * reps / ((t1 - t0) * 1e3));
        kwt_fake_free(&f);
    }
}

int main(void) {
    if (kw__pool_new(2, &g_model2.pool) != KW_STATUS_OK) return 1;
    g_exec2.model = &g_model2;
    test_gemm();
    test_conv();
    test_conv_transpose();
    test_matmul();
    test_gemm_op();
    test_gemm_op_gemv();
    test_gemm_op_prepacked();
    test_pool();
    test_quant();
    test_misc();
    test_errors();
    const char *b = getenv("KW_BENCH");
    if (b && *b == '1') bench();
    kw__pool_free(g_model2.pool);
    return kw_test_finish("test_onnx_nn");
}
