/*
 * test_gemm_tiles.c — the batch-invariance contract (kw__gemm_batch_invariant):
 * for every type it claims, every ISA's gemm tile must equal that ISA's
 * vec_dot bit for bit in each of its nx x ny cells (nx, ny in 1..4; ISAs up
 * to the chosen one, so only REF under KW_FORCE_REF), and
 * kw__mat_mul over T tokens must equal T one-token calls bit for bit, so
 * batched decoding can multiply all sequences in one call. The q4_1 / q8_0
 * pair of the SmolLM2 GGUFs must be claimed (except under KW_FORCE_REF,
 * where there are no tiles and the claim is trivially true anyway).
 */
#include <string.h>

#include "cpu/isa_table.h"
#include "cpu/matmul.h"
#include "testutil.h"

static uint64_t g_rng = 0x7113517113ull;

static const uint32_t k_types[] = {
    KW_TYPE_Q4_0, KW_TYPE_Q4_1, KW_TYPE_Q5_0,   KW_TYPE_Q5_1,
    KW_TYPE_Q8_0, KW_TYPE_Q2_K, KW_TYPE_Q3_K,   KW_TYPE_Q4_K,
    KW_TYPE_Q5_K, KW_TYPE_Q6_K, KW_TYPE_IQ4_NL, KW_TYPE_IQ4_XS,
    KW_TYPE_F16,  KW_TYPE_F32};
#define N_TYPES ((int)(sizeof k_types / sizeof *k_types))
static const enum kw__isa k_isas[] = {KW__ISA_REF, KW__ISA_AVX2,
                                      KW__ISA_AVX512};

/* n_rows quantized rows of n random values (quantizer of type t), stride
 * bytes apart; NULL when the type has no quantizer. */
static uint8_t *rand_rows(uint32_t t, int64_t n, int n_rows, size_t stride) {
    kw__from_float_fn q = kw__traits(t)->from_float;
    if (!q) return NULL;
    uint8_t *out = calloc((size_t)n_rows, stride);
    float *f = malloc(sizeof(float) * (size_t)n);
    for (int r = 0; r < n_rows; r++) {
        /* rows of different magnitudes so scales differ across rows */
        const float mag = 0.25f + (float)r;
        for (int64_t i = 0; i < n; i++) f[i] = mag * kw_test_randf(&g_rng);
        q(f, out + (size_t)r * stride, n);
    }
    free(f);
    return out;
}

/* Every cell of every tile shape against the same ISA's vec_dot. */
static void test_tiles(uint32_t t, enum kw__isa isa, int64_t n) {
    kw__gemm_fn g = kw__gemm_variant(t, isa);
    kw__vec_dot_fn vd = kw__vec_dot_variant(t, isa);
    if (!g || !vd) return;
    const uint32_t vt = kw__traits(t)->vec_dot_type;
    /* 4 spare bytes between rows, as in test_quant_simd.c */
    const size_t xs = kw__row_size(t, n) + 4, ys = kw__row_size(vt, n) + 4;
    uint8_t *x = rand_rows(t, n, 4, xs), *y = rand_rows(vt, n, 4, ys);
    if (!x || !y) {
        free(x), free(y);
        return;
    }
    float want[4][4];
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4; i++) vd(n, &want[j][i], x + i * xs, y + j * ys);
    for (int nx = 1; nx <= 4; nx++)
        for (int ny = 1; ny <= 4; ny++) {
            float s[4 * 5];
            for (int k = 0; k < 20; k++) s[k] = -777.0f;
            g(n, x, xs, nx, y, ys, ny, s, 5);
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 5; i++) {
                    const float v = s[j * 5 + i];
                    if (i < nx && j < ny)
                        CHECKF(!memcmp(&v, &want[j][i], sizeof v),
                               "%s %s n=%lld tile %dx%d cell [%d,%d]: %.9g vs "
                               "vec_dot %.9g (must be bit-identical)",
                               kw_type_name(t), kw__isa_name(isa), (long long)n,
                               nx, ny, i, j, (double)v, (double)want[j][i]);
                    else
                        CHECKF(v == -777.0f, "%s %s tile %dx%d wrote [%d,%d]",
                               kw_type_name(t), kw__isa_name(isa), nx, ny, i, j);
                }
        }
    free(x), free(y);
}

/* kw__mat_mul (chosen ISA) over T tokens and rows [r0, n_out) vs one call
 * per token, and vs the chosen vec_dot per cell. */
static void test_mat_mul(uint32_t t, int64_t n_in, int64_t n_out, int64_t T) {
    const struct kw__type_traits *tr = kw__traits(t);
    struct kw__mat w = {t, n_in, n_out, kw__row_size(t, n_in), NULL};
    const size_t xq_row = kw__mat_act_row_bytes(&w);
    uint8_t *wq = rand_rows(t, n_in, (int)n_out, w.row_bytes);
    uint8_t *xq = rand_rows(tr->vec_dot_type, n_in, (int)T, xq_row);
    if (!wq || !xq) {
        free(wq), free(xq);
        return;
    }
    w.data = wq;
    const int64_t r0 = 3;
    float *all = malloc(sizeof(float) * (size_t)(n_out * T));
    float *one = malloc(sizeof(float) * (size_t)(n_out * T));
    for (int64_t i = 0; i < n_out * T; i++) all[i] = one[i] = 0.5f;
    kw__mat_mul(&w, xq, xq_row, T, all, (size_t)n_out, r0, n_out, 1);
    for (int64_t k = 0; k < T; k++)
        kw__mat_mul(&w, xq + (size_t)k * xq_row, xq_row, 1,
                    one + (size_t)(k * n_out), (size_t)n_out, r0, n_out, 1);
    CHECKF(!memcmp(all, one, sizeof(float) * (size_t)(n_out * T)),
           "%s mat_mul T=%lld n_out=%lld differs from %lld one-token calls",
           tr->name, (long long)T, (long long)n_out, (long long)T);
    for (int64_t k = 0; k < T; k++)
        for (int64_t r = r0; r < n_out; r++) {
            float s;
            tr->vec_dot(n_in, &s, wq + (size_t)r * w.row_bytes,
                        xq + (size_t)k * xq_row);
            s = 0.5f + s;
            CHECKF(!memcmp(&s, &all[k * n_out + r], sizeof s),
                   "%s mat_mul T=%lld row %lld token %lld: %.9g vs vec_dot "
                   "%.9g",
                   tr->name, (long long)T, (long long)r, (long long)k,
                   (double)all[k * n_out + r], (double)s);
        }
    free(wq), free(xq), free(all), free(one);
}

int main(void) {
    kw__cpu_init();
    const char *force = getenv("KW_FORCE_REF");
    const int forced = force && *force && strcmp(force, "0") != 0;
    if (!forced && kw__cpu_isa() != KW__ISA_REF) {
        CHECKF(kw__gemm_batch_invariant(KW_TYPE_Q4_1), "q4_1 not invariant");
        CHECKF(kw__gemm_batch_invariant(KW_TYPE_Q8_0), "q8_0 not invariant");
    }
    for (int k = 0; k < N_TYPES; k++) {
        const uint32_t t = k_types[k];
        const int inv = kw__gemm_batch_invariant(t);
        fprintf(stderr, "%-7s %s\n", kw_type_name(t),
                inv ? "batch-invariant: tested" : "batch-dependent: skipped");
        if (!inv) continue;
        const int64_t bs = kw__traits(t)->blck_size;
        const int64_t unit = bs == 1 ? 32 : bs; /* f16/f32: 32 elements */
        const int64_t blocks[] = {1, 3, 18, 33}; /* 18 * 32 = 576 = n_embd */
        for (int ii = 0; ii < 3; ii++) {
            /* the claim is about the chosen ISA's layered table */
            if (k_isas[ii] > kw__cpu_isa()) continue;
            for (int b = 0; b < 4; b++) test_tiles(t, k_isas[ii], blocks[b] * unit);
        }
        const int64_t n_in = bs >= 256 ? 512 : 576;
        for (int64_t T = 1; T <= 9; T++) test_mat_mul(t, n_in, 37, T);
        test_mat_mul(t, n_in, 21, 8);
    }
    return kw_test_finish("test_gemm_tiles");
}
