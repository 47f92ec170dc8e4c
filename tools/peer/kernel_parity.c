/*
 * kernel_parity.c — dev tool: checks that kaiwu's quantized kernels give
 * llama.cpp's floats bit for bit. Links the peer's libggml(-cpu) and kaiwu's
 * static library (internal kw__ functions), then compares: the activation
 * quantizers (q8_0, q8_1, q8_K), vec_dot per ISA, gemm tiles per ISA for
 * every (nx, ny), and whole matrix products against a ggml graph run the way
 * llama.cpp runs it (weights in the repack buffer when ggml would put them
 * there). Built and run by tools/peer/kernel_parity.sh; not part of make test.
 *
 * usage: kernel_parity [MODEL_DIR] (MODEL_DIR adds real weight rows)
 *        kernel_parity --pins (the peer's values for test_quant_ref.c)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "gguf.h"

#include "cpu/isa_table.h"
#include "cpu/kernels.h"
#include "cpu/matmul.h"
#include "cpu/ref/quant_ref.h"

static int g_fail; /* mismatches in checks that must be exact */
static float g_sink;

/* ---- random numbers --------------------------------------------------- */

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static float rndu(void) { return (float)(rnd() & 0xFFFFFF) / 16777216.0f; }
static float rndn(void) { /* roughly normal, with rare outliers */
    float s = 0;
    for (int i = 0; i < 4; i++) s += rndu() - 0.5f;
    if ((rnd() & 63) == 0) s *= 8;
    return s;
}

/* activations shaped like the model's: mostly small, a few large */
static void rand_acts(float *x, int64_t n, int mode) {
    for (int64_t i = 0; i < n; i++) {
        if (mode == 1) /* ties: halves at amax 127 round half-even */
            x[i] = (float)((int)(rnd() % 255) - 127) + ((rnd() & 1) ? 0.5f : 0);
        else if (mode == 2 && (rnd() & 7) == 0)
            x[i] = 0.0f;
        else
            x[i] = rndn() * 3.0f;
    }
    if (mode == 1)
        for (int64_t b = 0; b < n; b += 32) x[b] = 127.0f;
}

/* ---- peer helpers ----------------------------------------------------- */

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)level, (void)text, (void)user;
}

static ggml_backend_buffer_type_t repack_buft(void) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_dev_get_extra_bufts_t fn = (ggml_backend_dev_get_extra_bufts_t)
        ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    for (ggml_backend_buffer_type_t *b = fn ? fn(dev) : NULL; b && *b; b++)
        if (!strcmp(ggml_backend_buft_name(*b), "CPU_REPACK")) return *b;
    return NULL;
}

static ggml_backend_t g_be;

/* y[t * n_out + r] = W[r] . x[t] through a ggml graph; repack: weights in
 * the CPU_REPACK buffer (as llama.cpp loads them when a repack exists). */
static void peer_mul_mat(int type, const void *w, int64_t n_in, int64_t n_out,
                         const float *x, int64_t T, float *y, int repack) {
    struct ggml_init_params ip = {ggml_tensor_overhead() * 4, NULL, true};
    struct ggml_context *cw = ggml_init(ip), *cx = ggml_init(ip);
    struct ggml_tensor *W = ggml_new_tensor_2d(cw, (enum ggml_type)type, n_in, n_out);
    struct ggml_tensor *X = ggml_new_tensor_2d(cx, GGML_TYPE_F32, n_in, T);
    ggml_backend_buffer_type_t bt = repack ? repack_buft() : NULL;
    if (repack && !bt) {
        fprintf(stderr, "no CPU_REPACK buffer type\n");
        exit(2);
    }
    ggml_backend_buffer_t bw = ggml_backend_alloc_ctx_tensors_from_buft(
        cw, bt ? bt : ggml_backend_cpu_buffer_type());
    ggml_backend_buffer_t bx = ggml_backend_alloc_ctx_tensors(cx, g_be);
    ggml_backend_tensor_set(W, w, 0, ggml_nbytes(W));
    ggml_backend_tensor_set(X, x, 0, ggml_nbytes(X));
    struct ggml_init_params gp = {ggml_tensor_overhead() * 8 + ggml_graph_overhead(),
                                  NULL, true};
    struct ggml_context *cg = ggml_init(gp);
    struct ggml_tensor *Y = ggml_mul_mat(cg, W, X);
    struct ggml_cgraph *gf = ggml_new_graph(cg);
    ggml_build_forward_expand(gf, Y);
    ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_get_default_buffer_type(g_be));
    ggml_gallocr_alloc_graph(ga, gf);
    ggml_backend_graph_compute(g_be, gf);
    ggml_backend_tensor_get(Y, y, 0, ggml_nbytes(Y));
    ggml_gallocr_free(ga);
    ggml_free(cg);
    ggml_backend_buffer_free(bw);
    ggml_backend_buffer_free(bx);
    ggml_free(cw);
    ggml_free(cx);
}

/* Which buffer llama.cpp loads a 2-D weight into on this CPU. */
static int peer_repacks(int type, int64_t n_out) {
    if (type == GGML_TYPE_Q4_0 || type == GGML_TYPE_Q4_K || type == GGML_TYPE_IQ4_NL)
        return n_out % 8 == 0;
    if (type == GGML_TYPE_Q2_K) return n_out % 8 == 0 && ggml_cpu_has_avx512();
    return 0;
}

/* ---- weights ---------------------------------------------------------- */

/* Random weight rows: quantized from random floats by the peer (realistic
 * scales), or raw random bytes with sane fp16 scales (every bit pattern of
 * the quants, including the ones ggml's quantizers never emit). */
static void rand_weights(int type, void *dst, int64_t n_in, int64_t rows,
                         int raw) {
    const size_t rb = ggml_row_size((enum ggml_type)type, n_in);
    if (!raw) {
        float *f = malloc(sizeof(float) * (size_t)(n_in * rows));
        for (int64_t i = 0; i < n_in * rows; i++) f[i] = rndn() * 0.05f;
        ggml_quantize_chunk((enum ggml_type)type, f, dst, 0, rows, n_in, NULL);
        free(f);
        return;
    }
    uint8_t *p = dst;
    for (size_t i = 0; i < rb * (size_t)rows; i++) p[i] = (uint8_t)rnd();
    const size_t bs = ggml_type_size((enum ggml_type)type);
    for (size_t b = 0; b < rb * (size_t)rows / bs; b++) {
        uint8_t *blk = p + b * bs;
        /* positions of the fp16 fields in each block */
        int off[2] = {-1, -1};
        switch (type) {
        case GGML_TYPE_Q4_0: case GGML_TYPE_Q5_0: case GGML_TYPE_Q8_0:
        case GGML_TYPE_IQ4_NL: case GGML_TYPE_IQ4_XS: off[0] = 0; break;
        case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_1: case GGML_TYPE_Q4_K:
        case GGML_TYPE_Q5_K: off[0] = 0, off[1] = 2; break;
        case GGML_TYPE_Q2_K: off[0] = 80, off[1] = 82; break;
        case GGML_TYPE_Q3_K: off[0] = 108; break;
        case GGML_TYPE_Q6_K: off[0] = 208; break;
        default: break;
        }
        for (int k = 0; k < 2; k++) {
            if (off[k] < 0) continue;
            const float v = (rndu() * 0.02f + 1e-4f) * ((rnd() & 1) ? 1 : -1);
            const ggml_fp16_t h = ggml_fp32_to_fp16(k == 1 ? fabsf(v) : v);
            memcpy(blk + off[k], &h, 2);
        }
    }
}

/* Real rows: `rows` rows starting at row0 of tensor `name` in a GGUF. */
static void *model_rows(const char *path, const char *name, int64_t row0,
                        int64_t rows, int *type, int64_t *n_in) {
    struct ggml_context *meta = NULL;
    struct gguf_init_params gp = {true, &meta};
    struct gguf_context *g = gguf_init_from_file(path, gp);
    if (!g) return NULL;
    const int64_t id = gguf_find_tensor(g, name);
    void *out = NULL;
    if (id >= 0) {
        struct ggml_tensor *t = ggml_get_tensor(meta, name);
        *type = t->type;
        *n_in = t->ne[0];
        if (row0 + rows > t->ne[1]) row0 = t->ne[1] - rows;
        const size_t rb = ggml_row_size(t->type, t->ne[0]);
        out = malloc(rb * (size_t)rows);
        FILE *f = fopen(path, "rb");
        if (!f || fseek(f, (long)(gguf_get_data_offset(g) +
                                  gguf_get_tensor_offset(g, id) + rb * (size_t)row0),
                        SEEK_SET) ||
            fread(out, rb, (size_t)rows, f) != (size_t)rows) {
            free(out);
            out = NULL;
        }
        if (f) fclose(f);
    }
    gguf_free(g);
    ggml_free(meta);
    return out;
}

/* ---- comparisons -------------------------------------------------------- */

struct tally {
    long n, bad;
    double maxrel;
};

static void tally_add(struct tally *t, float want, float got) {
    t->n++;
    uint32_t a, b;
    memcpy(&a, &want, 4);
    memcpy(&b, &got, 4);
    if (a != b) {
        t->bad++;
        const double rel = fabs((double)want - got) / (fabs(want) + 1e-6);
        if (rel > t->maxrel) t->maxrel = rel;
    }
}

static void report(const char *what, const struct tally *t, int must) {
    printf("%-46s %s %ld/%ld", what, t->bad ? "MISMATCH" : "ok      ", t->bad,
           t->n);
    if (t->bad) printf("  max rel %.2e%s", t->maxrel, must ? "" : " (info)");
    printf("\n");
    if (must && t->bad) g_fail++;
}

/* ---- quantizers --------------------------------------------------------- */

static void check_quantizers(void) {
    const int types[] = {GGML_TYPE_Q8_0, GGML_TYPE_Q8_1, GGML_TYPE_Q8_K};
    const int64_t n = 1536;
    float *x = malloc(sizeof(float) * n);
    uint8_t *a = malloc(4096), *b = malloc(4096);
    for (int ti = 0; ti < 3; ti++) {
        const int type = types[ti];
        const size_t rb = ggml_row_size((enum ggml_type)type, n);
        ggml_from_float_t peer = ggml_get_type_traits_cpu((enum ggml_type)type)->from_float;
        for (int isa = 0; isa < KW__ISA_COUNT; isa++) {
            if (!kw__cpu_has((enum kw__isa)isa)) continue;
            kw__from_float_fn q = kw__from_float_variant((uint32_t)type, (enum kw__isa)isa);
            if (!q) continue;
            long bad = 0, total = 0;
            for (int it = 0; it < 3000; it++) {
                rand_acts(x, n, it % 3);
                peer(x, a, n);
                q(x, b, n);
                total++;
                if (memcmp(a, b, rb)) bad++;
            }
            char what[80];
            snprintf(what, sizeof what, "quantize %s [%s]",
                     ggml_type_name((enum ggml_type)type), kw__isa_name((enum kw__isa)isa));
            printf("%-46s %s %ld/%ld rows\n", what, bad ? "MISMATCH" : "ok      ",
                   bad, total);
            if (bad) g_fail++;
        }
    }
    free(x);
    free(a);
    free(b);
}

/* ---- vec_dot and tiles ---------------------------------------------------- */

/* The types whose products must match exactly (the SmolLM2 files). */
static int must_match(int type) {
    return type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q8_0 ||
           type == GGML_TYPE_Q5_0 || type == GGML_TYPE_Q4_K ||
           type == GGML_TYPE_Q6_K;
}

/* Weights (4 rows) x activations (4 columns) of n_in: vec_dot and every
 * tile shape of every ISA against the peer's vec_dot. */
static void check_dots(int type, int64_t n_in, const void *w, int iters,
                       const char *tag) {
    const enum ggml_type vt = ggml_get_type_traits_cpu((enum ggml_type)type)->vec_dot_type;
    const size_t wrb = ggml_row_size((enum ggml_type)type, n_in);
    const size_t arb = ggml_row_size(vt, n_in);
    ggml_vec_dot_t pdot = ggml_get_type_traits_cpu((enum ggml_type)type)->vec_dot;
    ggml_from_float_t pq = ggml_get_type_traits_cpu(vt)->from_float;
    uint8_t *wq = malloc(wrb * 4), *aq = malloc(arb * 4);
    float *x = malloc(sizeof(float) * (size_t)n_in);
    struct tally vd[KW__ISA_COUNT] = {{0}}, tl[KW__ISA_COUNT] = {{0}};
    for (int it = 0; it < iters; it++) {
        if (w) memcpy(wq, (const uint8_t *)w + (size_t)(it % 8) * wrb, wrb * 4);
        else rand_weights(type, wq, n_in, 4, it & 1);
        for (int j = 0; j < 4; j++) {
            rand_acts(x, n_in, j == 3 ? 2 : 0);
            pq(x, aq + j * arb, n_in);
        }
        float want[16];
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < 4; i++)
                pdot((int)n_in, &want[j * 4 + i], 0, wq + i * wrb, 0,
                     aq + j * arb, 0, 1);
        for (int isa = 0; isa < KW__ISA_COUNT; isa++) {
            if (!kw__cpu_has((enum kw__isa)isa)) continue;
            kw__vec_dot_fn d = kw__vec_dot_variant((uint32_t)type, (enum kw__isa)isa);
            if (d)
                for (int j = 0; j < 4; j++)
                    for (int i = 0; i < 4; i++) {
                        float s;
                        d(n_in, &s, wq + i * wrb, aq + j * arb);
                        tally_add(&vd[isa], want[j * 4 + i], s);
                    }
            kw__gemm_fn g = kw__gemm_variant((uint32_t)type, (enum kw__isa)isa);
            /* tiles only stand for vec_dot where the peer's batched path
             * computes like its vec_dot (see must_tile_match) */
            if (g)
                for (int nx = 1; nx <= 4; nx++)
                    for (int ny = 1; ny <= 4; ny++) {
                        float s[16];
                        g(n_in, wq, wrb, nx, aq, arb, ny, s, 4);
                        for (int j = 0; j < ny; j++)
                            for (int i = 0; i < nx; i++)
                                tally_add(&tl[isa], want[j * 4 + i], s[j * 4 + i]);
                    }
        }
    }
    for (int isa = 0; isa < KW__ISA_COUNT; isa++) {
        if (!kw__cpu_has((enum kw__isa)isa)) continue;
        char what[96];
        snprintf(what, sizeof what, "vec_dot %s%s [%s]",
                 ggml_type_name((enum ggml_type)type), tag, kw__isa_name((enum kw__isa)isa));
        /* q4_K weights of SmolLM2 are repacked by ggml, so its vec_dot is
         * not what llama.cpp runs (check_mat covers the real path) */
        if (vd[isa].n) report(what, &vd[isa], must_match(type) && type != GGML_TYPE_Q4_K);
        snprintf(what, sizeof what, "tile~vec_dot %s%s [%s]",
                 ggml_type_name((enum ggml_type)type), tag, kw__isa_name((enum kw__isa)isa));
        if (tl[isa].n) report(what, &tl[isa], 0);
    }
    free(wq);
    free(aq);
    free(x);
}

/* kw__mat_mul's tiling with one ISA's kernels (tokens in 4s from the
 * first, rows in 4s, even for one token; the wide tile from
 * KW__WIDE_BATCH tokens; vec_dot where an ISA has no tile). */
static void mat_mul_isa(const struct kw__mat *m, const uint8_t *xq, size_t arb,
                        int64_t T, float *y, enum kw__isa isa) {
    kw__gemm_fn g = T >= KW__WIDE_BATCH ? kw__gemm_wide_variant(m->type, isa) : NULL;
    if (!g) g = kw__gemm_variant(m->type, isa);
    kw__vec_dot_fn d = kw__vec_dot_variant(m->type, isa);
    if (!d) d = kw__vec_dot_variant(m->type, KW__ISA_REF);
    for (int64_t t = 0; t < T; t += 4)
        for (int64_t r = 0; r < m->n_out; r += 4) {
            const int ny = (int)(T - t < 4 ? T - t : 4);
            const int nx = (int)(m->n_out - r < 4 ? m->n_out - r : 4);
            if (g) {
                g(m->n_in, m->data + (size_t)r * m->row_bytes, m->row_bytes, nx,
                  xq + (size_t)t * arb, arb, ny, y + t * m->n_out + r,
                  (size_t)m->n_out);
                continue;
            }
            for (int j = 0; j < ny; j++)
                for (int i = 0; i < nx; i++)
                    d(m->n_in, &y[(t + j) * m->n_out + r + i],
                      m->data + (size_t)(r + i) * m->row_bytes,
                      xq + (size_t)(t + j) * arb);
        }
}

/* Whole products: kaiwu's kw__mat_quantize + kw__mat_mul against the peer's
 * graph, for batch sizes that take each of the peer's paths. */
static void check_mat(int type, int64_t n_in, int64_t n_out, const void *w,
                      const char *tag) {
    const size_t wrb = ggml_row_size((enum ggml_type)type, n_in);
    uint8_t *wbuf = malloc(wrb * (size_t)n_out);
    if (w) memcpy(wbuf, w, wrb * (size_t)n_out);
    else rand_weights(type, wbuf, n_in, n_out, 0);
    const int Ts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 31};
    struct kw__mat m = {(uint32_t)type, n_in, n_out, wrb, wbuf};
    const size_t arb = kw__mat_act_row_bytes(&m);
    for (size_t k = 0; k < sizeof Ts / sizeof Ts[0]; k++) {
        const int64_t T = Ts[k];
        float *x = malloc(sizeof(float) * (size_t)(n_in * T));
        float *yp = malloc(sizeof(float) * (size_t)(n_out * T));
        float *yk = malloc(sizeof(float) * (size_t)(n_out * T));
        uint8_t *xq = malloc(arb * (size_t)T);
        for (int64_t t = 0; t < T; t++) rand_acts(x + t * n_in, n_in, (int)(t % 3 == 2) * 2);
        peer_mul_mat(type, wbuf, n_in, n_out, x, T, yp, peer_repacks(type, n_out));
        kw__mat_quantize(&m, x, (size_t)n_in, xq, arb, 0, T);
        kw__mat_mul(&m, xq, arb, T, yk, (size_t)n_out, 0, n_out, 0);
        struct tally t = {0};
        for (int64_t i = 0; i < n_out * T; i++) tally_add(&t, yp[i], yk[i]);
        char what[96];
        snprintf(what, sizeof what, "mat_mul %s%s T=%d [%s]%s",
                 ggml_type_name((enum ggml_type)type), tag, (int)T,
                 kw__isa_name(kw__cpu_isa()), peer_repacks(type, n_out) ? " repack" : "");
        report(what, &t, must_match(type));
        /* the same product through each other ISA's kernels, tiled as
         * kw__mat_mul tiles it */
        for (int isa = 0; isa < KW__ISA_COUNT; isa++) {
            if (isa == (int)kw__cpu_isa() || !kw__cpu_has((enum kw__isa)isa)) continue;
            mat_mul_isa(&m, xq, arb, T, yk, (enum kw__isa)isa);
            struct tally ti = {0};
            for (int64_t i = 0; i < n_out * T; i++) tally_add(&ti, yp[i], yk[i]);
            snprintf(what, sizeof what, "mat_mul %s%s T=%d [%s]",
                     ggml_type_name((enum ggml_type)type), tag, (int)T,
                     kw__isa_name((enum kw__isa)isa));
            report(what, &ti, must_match(type));
        }
        free(x);
        free(yp);
        free(yk);
        free(xq);
    }
    free(wbuf);
}

/* ---- speed ------------------------------------------------------------- */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ns per (weight block, activation block) pair: peer vec_dot, kaiwu
 * vec_dot and 4x4 tile (AVX-512). */
static void bench(int type, int64_t n_in) {
    const enum ggml_type vt = ggml_get_type_traits_cpu((enum ggml_type)type)->vec_dot_type;
    const size_t wrb = ggml_row_size((enum ggml_type)type, n_in);
    const size_t arb = ggml_row_size(vt, n_in);
    const int R = 64, C = 4;
    uint8_t *w = malloc(wrb * R), *a = malloc(arb * C);
    float *x = malloc(sizeof(float) * (size_t)n_in);
    rand_weights(type, w, n_in, R, 0);
    for (int j = 0; j < C; j++) {
        rand_acts(x, n_in, 0);
        ggml_get_type_traits_cpu(vt)->from_float(x, a + j * arb, n_in);
    }
    const double pairs = (double)R * C * (double)(n_in / ggml_blck_size((enum ggml_type)type));
    ggml_vec_dot_t pdot = ggml_get_type_traits_cpu((enum ggml_type)type)->vec_dot;
    kw__vec_dot_fn kd = kw__vec_dot_variant((uint32_t)type, KW__ISA_AVX512);
    kw__gemm_fn kg = kw__gemm_variant((uint32_t)type, KW__ISA_AVX512);
    double best[4] = {1e30, 1e30, 1e30, 1e30};
    volatile float sink = 0; /* keeps the timed loops */
    for (int rep = 0; rep < 200; rep++) {
        double t0 = now_ns();
        for (int r = 0; r < R; r++)
            for (int j = 0; j < C; j++) {
                float s;
                pdot((int)n_in, &s, 0, w + r * wrb, 0, a + j * arb, 0, 1);
                sink += s;
            }
        double t1 = now_ns();
        if (kd)
            for (int r = 0; r < R; r++)
                for (int j = 0; j < C; j++) {
                    float s;
                    kd(n_in, &s, w + r * wrb, a + j * arb);
                    sink += s;
                }
        double t2 = now_ns();
        if (kg)
            for (int r = 0; r < R; r += 4) {
                float s[16];
                kg(n_in, w + r * wrb, wrb, 4, a, arb, 4, s, 4);
                sink += s[5];
            }
        double t3 = now_ns();
        if (kg) /* one token (decode): 4 rows x 1 column per call */
            for (int j = 0; j < C; j++)
                for (int r = 0; r < R; r += 4) {
                    float s[16];
                    kg(n_in, w + r * wrb, wrb, 4, a + j * arb, arb, 1, s, 4);
                    sink += s[2];
                }
        double t4 = now_ns();
        if (t4 - t3 < best[3]) best[3] = t4 - t3;
        if (t1 - t0 < best[0]) best[0] = t1 - t0;
        if (t2 - t1 < best[1]) best[1] = t2 - t1;
        if (t3 - t2 < best[2]) best[2] = t3 - t2;
    }
    g_sink += sink;
    printf("speed %-6s n=%-5d ns/block-pair: peer vec_dot %.2f  kaiwu vec_dot %.2f"
           "  kaiwu 4x4 tile %.2f  4x1 tile %.2f\n",
           ggml_type_name((enum ggml_type)type), (int)n_in, best[0] / pairs,
           kd ? best[1] / pairs : 0.0, kg ? best[2] / pairs : 0.0,
           kg ? best[3] / pairs : 0.0);
    free(w);
    free(a);
    free(x);
}

/* ---- pinned values for tests/kernels/test_quant_ref.c ------------------ */

/* Deterministic inputs (the test rebuilds them the same way): 8 weight
 * rows and 8 activation rows; the peer's products for 1 token (vec_dot /
 * gemv regime) and 8 tokens (batched regime, tokens 0 and 7 kept). */
static uint32_t g_pin;
static uint32_t pin_next(void) {
    g_pin = g_pin * 1664525u + 1013904223u;
    return g_pin >> 8;
}

static void pin_inputs(int type, int64_t n, uint8_t *w, float *x) {
    g_pin = 12345u + (uint32_t)type;
    const size_t rb = ggml_row_size((enum ggml_type)type, n);
    for (size_t i = 0; i < 8 * rb; i++) w[i] = (uint8_t)pin_next();
    const size_t bs = ggml_type_size((enum ggml_type)type);
    for (size_t b = 0; b < 8 * rb / bs; b++) {
        uint8_t *blk = w + b * bs;
        const int d_off = type == GGML_TYPE_Q6_K ? 208 : 0;
        const ggml_fp16_t d = ggml_fp32_to_fp16(0.001f + (float)(pin_next() % 1000) * 1e-5f);
        memcpy(blk + d_off, &d, 2);
        if (type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q4_K) {
            const float m = (float)(pin_next() % 1000) * 1e-5f;
            const ggml_fp16_t mh = ggml_fp32_to_fp16(type == GGML_TYPE_Q4_1 ? -m : m);
            memcpy(blk + 2, &mh, 2);
        }
    }
    for (int64_t i = 0; i < 8 * n; i++)
        x[i] = (float)((int)(pin_next() % 2001) - 1000) * 0.00731f;
}

static void print_pins(void) {
    const int types[] = {GGML_TYPE_Q4_1, GGML_TYPE_Q8_0, GGML_TYPE_Q5_0,
                         GGML_TYPE_Q4_K, GGML_TYPE_Q6_K};
    for (int k = 0; k < 5; k++) {
        const int type = types[k];
        const int64_t n = ggml_blck_size((enum ggml_type)type) == 256 ? 512 : 576;
        uint8_t *w = malloc(ggml_row_size((enum ggml_type)type, n) * 8);
        float *x = malloc(sizeof(float) * (size_t)(8 * n)), y1[8], y8[64];
        pin_inputs(type, n, w, x);
        peer_mul_mat(type, w, n, 8, x, 1, y1, peer_repacks(type, 8));
        peer_mul_mat(type, w, n, 8, x, 8, y8, peer_repacks(type, 8));
        printf("    {KW_TYPE_%s, {", ggml_type_name((enum ggml_type)type));
        for (int i = 0; i < 24; i++) {
            const float v = i < 8 ? y1[i] : i < 16 ? y8[i - 8] : y8[56 + i - 16];
            uint32_t u;
            memcpy(&u, &v, 4);
            printf("%s0x%08x", i ? (i % 6 ? ", " : ",\n        ") : "", u);
        }
        printf("}},\n");
        free(w);
        free(x);
    }
}

int main(int argc, char **argv) {
    const char *mdir = argc > 1 ? argv[1] : NULL;
    const int do_bench = getenv("KW_PARITY_BENCH") != NULL;
    ggml_log_set(quiet, NULL);
    ggml_cpu_init();
    kw__cpu_init();
    g_be = ggml_backend_cpu_init();
    ggml_backend_cpu_set_n_threads(g_be, getenv("KW_PARITY_THREADS")
                                             ? atoi(getenv("KW_PARITY_THREADS"))
                                             : 2);
    if (mdir && !strcmp(mdir, "--pins")) {
        print_pins();
        ggml_backend_free(g_be);
        return 0;
    }
    printf("kaiwu ISA: %s\n", kw__isa_name(kw__cpu_isa()));

    check_quantizers();

    const int types[] = {GGML_TYPE_Q4_1, GGML_TYPE_Q8_0, GGML_TYPE_Q5_0,
                         GGML_TYPE_Q4_K, GGML_TYPE_Q6_K, GGML_TYPE_Q4_0,
                         GGML_TYPE_Q5_1, GGML_TYPE_IQ4_NL};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const int type = types[k];
        const int64_t n_in = ggml_blck_size((enum ggml_type)type) == 256 ? 1536 : 576;
        check_dots(type, n_in, NULL, 400, "");
        check_mat(type, n_in, 64, NULL, "");
    }

    if (mdir) {
        static const struct { const char *file, *tensor; } real[] = {
            {"SmolLM2-135M-Instruct.Q4_1.gguf", "blk.3.ffn_up.weight"},
            {"SmolLM2-135M-Instruct.Q4_1.gguf", "blk.7.ffn_down.weight"},
            {"SmolLM2-135M-Instruct.Q4_1.gguf", "token_embd.weight"},
            {"SmolLM2-135M-Instruct.Q8_0.gguf", "blk.5.attn_q.weight"},
            {"SmolLM2-135M-Instruct.Q4_K_M.gguf", "blk.2.ffn_gate.weight"},
            {"SmolLM2-135M-Instruct.Q4_K_M.gguf", "blk.0.ffn_down.weight"},
            {"SmolLM2-135M-Instruct.Q4_K_M.gguf", "blk.1.ffn_down.weight"},
            {"SmolLM2-135M-Instruct.Q4_K_M.gguf", "blk.29.ffn_down.weight"},
            {"SmolLM2-135M-Instruct.Q4_K_M.gguf", "blk.0.attn_v.weight"},
        };
        for (size_t k = 0; k < sizeof real / sizeof real[0]; k++) {
            char path[1024], tag[96];
            snprintf(path, sizeof path, "%s/%s", mdir, real[k].file);
            int type;
            int64_t n_in;
            void *w = model_rows(path, real[k].tensor, 40, 64, &type, &n_in);
            if (!w) {
                printf("(skip %s %s)\n", real[k].file, real[k].tensor);
                continue;
            }
            snprintf(tag, sizeof tag, " %s", real[k].tensor);
            check_dots(type, n_in, w, 56, tag);
            check_mat(type, n_in, 64, w, tag);
            free(w);
        }
    }

    if (do_bench)
        for (size_t k = 0; k < 5; k++)
            bench(types[k], ggml_blck_size((enum ggml_type)types[k]) == 256 ? 1536 : 576);

    (void)g_sink;
    ggml_backend_free(g_be);
    printf("%s\n", g_fail ? "PARITY FAILED" : "PARITY OK");
    return g_fail ? 1 : 0;
}
