/*
 * test_quant_simd.c — every SIMD quant kernel (vec_dot, activation
 * quantizers, gemm tiles) of every ISA this CPU has, against the scalar
 * reference (kw__*_variant(type, KW__ISA_REF)) on 1, 2, 3, 5, 17 and 33
 * blocks. Types or ISAs without a kernel are skipped (listed on stderr).
 *
 * Exact types: q4_1, q5_0, q8_0, q4_K and q6_K (the SmolLM2 GGUFs) must be
 * bit-identical to the reference in vec_dot and in every tile, since the
 * references follow the arithmetic llama.cpp runs on x86 lane by lane
 * (tools/peer/kernel_parity.sh checks that side against the peer). Tiles
 * are compared with REF's tile where REF has one (q4_K: its ny == 4 case
 * is ggml's repacked gemm, the others its gemv) and with REF's vec_dot
 * otherwise; the wide-batch tiles (kw__gemm_wide, q6_K) with REF's.
 *
 * Other types keep tolerances (eps = FLT_EPSILON), and why:
 *  - vec_dot, random scales: |d - ref| <= 1e-5 * sum|x_k y_k| over the
 *    dequantized rows (integer parts are exact; only the order of the float
 *    block sums differs). Power-of-two scales ("exact" mode) make every float
 *    step exact while the sums stay below 2^24: there the bound is 1e-6.
 *    f16 x f16: (n/8 + 8) eps * sum|x_k y_k| (as dot_f16 in test_ops.c).
 *  - gemm tiles: each of the nx*ny outputs vs the same ISA's vec_dot, same
 *    1e-5 bound; cells outside the nx x ny tile must stay untouched.
 *  - quantizers (q8_0, q8_1, q8_K): byte-identical to the reference,
 *    including exact .5 ties (round half to even, as ggml's x86 code), so
 *    no tie exception is needed; tie inputs are tested explicitly.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu/isa_table.h"
#include "cpu/ref/quant_blocks.h"
#include "cpu/ref/quant_ref.h"
#include "testutil.h"

static uint64_t g_rng = 0x5EED5EED12345678ull;
static float randf(void) { return kw_test_randf(&g_rng); }
static uint32_t randu(void) { return (uint32_t)(kw_test_rand(&g_rng) >> 32); }

static const uint32_t k_types[] = {
    KW_TYPE_Q4_1, KW_TYPE_Q8_0, KW_TYPE_Q4_K, KW_TYPE_Q6_K, KW_TYPE_Q4_0,
    KW_TYPE_Q5_K, KW_TYPE_Q5_0, KW_TYPE_Q5_1, KW_TYPE_Q3_K, KW_TYPE_Q2_K,
    KW_TYPE_IQ4_NL, KW_TYPE_IQ4_XS, KW_TYPE_F16};
#define N_TYPES ((int)(sizeof k_types / sizeof k_types[0]))
static const int k_blocks[] = {1, 2, 3, 5, 17, 33};
#define N_BLOCKS ((int)(sizeof k_blocks / sizeof k_blocks[0]))
static const enum kw__isa k_isas[] = {KW__ISA_AVX2, KW__ISA_AVX512};

enum fill_mode { FILL_RANDOM, FILL_EXACT, FILL_MAX };

/* Types whose SIMD kernels must equal the reference bit for bit. */
static int exact_type(uint32_t t) {
    return t == KW_TYPE_Q4_1 || t == KW_TYPE_Q5_0 || t == KW_TYPE_Q8_0 ||
           t == KW_TYPE_Q4_K || t == KW_TYPE_Q6_K;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

/* The activation type each weight type's dot pairs with (ggml's). */
static uint32_t vec_dot_type(uint32_t t) {
    switch (t) {
    case KW_TYPE_Q4_1: case KW_TYPE_Q5_1: return KW_TYPE_Q8_1;
    case KW_TYPE_Q4_0: case KW_TYPE_Q5_0: case KW_TYPE_Q8_0:
    case KW_TYPE_IQ4_NL: return KW_TYPE_Q8_0;
    case KW_TYPE_F16: return KW_TYPE_F16;
    default: return KW_TYPE_Q8_K;
    }
}

#ifndef KW_TEST_TO_FLOAT /* a dev harness may supply another dequantizer */
#define KW_TEST_TO_FLOAT(t) (kw__traits(t)->to_float)
#endif

/* Offsets of the fp16 scale fields of a weight block (-1 ends). */
static void scale_offsets(uint32_t t, int off[3]) {
    off[0] = off[1] = off[2] = -1;
    switch (t) {
    case KW_TYPE_Q4_0: case KW_TYPE_Q5_0: case KW_TYPE_Q8_0:
    case KW_TYPE_IQ4_NL: case KW_TYPE_IQ4_XS:
        off[0] = 0; break;
    case KW_TYPE_Q4_1: case KW_TYPE_Q5_1: case KW_TYPE_Q4_K: case KW_TYPE_Q5_K:
        off[0] = 0; off[1] = 2; break;
    case KW_TYPE_Q2_K: off[0] = 80; off[1] = 82; break;
    case KW_TYPE_Q3_K: off[0] = 108; break;
    case KW_TYPE_Q6_K: off[0] = 208; break;
    default: break;
    }
}

static uint16_t scale_h(enum fill_mode m) {
    if (m == FILL_RANDOM) return kw__fp32_to_fp16(0.001f + 0.05f * randf());
    /* powers of two keep every float product exact */
    return kw__fp32_to_fp16(ldexpf(1.0f, -(int)(randu() % 6)));
}

/* Weight row: random bytes (every bit pattern the integer paths can meet)
 * with sane fp16 scales; FILL_MAX sets all quant bits (the saturation
 * worst case of the maddubs paths). */
static void fill_weights(uint32_t t, void *row, int64_t n, enum fill_mode m) {
    const struct kw__type_traits *tr = kw__traits(t);
    const int64_t nb = n / tr->blck_size;
    uint8_t *p = row;
    if (t == KW_TYPE_F16) {
        uint16_t *h = row;
        for (int64_t i = 0; i < n; i++)
            h[i] = kw__fp32_to_fp16(m == FILL_MAX ? 1.0f : randf());
        return;
    }
    int off[3];
    scale_offsets(t, off);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = p + b * (int64_t)tr->type_size;
        for (size_t k = 0; k < tr->type_size; k++)
            blk[k] = m == FILL_MAX ? (t == KW_TYPE_Q8_0 ? 0x80 : 0xFF)
                                   : (uint8_t)randu();
        for (int k = 0; k < 3 && off[k] >= 0; k++) {
            const uint16_t h = scale_h(m);
            memcpy(blk + off[k], &h, 2);
        }
    }
}

/* Activation row of type t (q8_0/q8_1/q8_K via the reference quantizer,
 * f16 directly). FILL_EXACT: power-of-two-friendly values; FILL_MAX: all
 * +1 so every q is 127. Returns 0 when the reference cannot quantize. */
static int fill_act(uint32_t t, void *row, int64_t n, enum fill_mode m) {
    float *f = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        if (m == FILL_MAX) f[i] = 1.0f;
        else if (m == FILL_EXACT) f[i] = (float)((int)(randu() % 255) - 127);
        else f[i] = randf() * (1.0f + 4.0f * (float)(i % 7));
    }
    int ok = 1;
    if (t == KW_TYPE_F16) {
        uint16_t *h = row;
        for (int64_t i = 0; i < n; i++) h[i] = kw__fp32_to_fp16(f[i] / 128.0f);
    } else {
        kw__from_float_fn q = kw__from_float_variant(t, KW__ISA_REF);
        if (q) q(f, row, n);
        else ok = 0;
    }
    free(f);
    return ok;
}

/* Dequantized activation (test-local: q8_1/q8_K may lack to_float). */
static void deq_act(uint32_t t, const void *row, float *out, int64_t n) {
    const uint8_t *p = row;
    if (t == KW_TYPE_F16) {
        for (int64_t i = 0; i < n; i++)
            out[i] = kw__fp16_to_fp32(((const uint16_t *)row)[i]);
    } else if (t == KW_TYPE_Q8_0 || t == KW_TYPE_Q8_1) {
        const size_t bs = t == KW_TYPE_Q8_0 ? 34 : 36, q = bs - 32;
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *b = p + (size_t)(i / 32) * bs;
            uint16_t h;
            memcpy(&h, b, 2);
            out[i] = kw__fp16_to_fp32(h) * (float)(int8_t)b[q + (size_t)(i % 32)];
        }
    } else { /* q8_K */
        const struct kw_block_q8_K *b = row;
        for (int64_t i = 0; i < n; i++)
            out[i] = b[i / 256].d * (float)b[i / 256].qs[i % 256];
    }
}

/* sum |x_k y_k| of the dequantized rows, or -1 when x cannot dequantize */
static double abs_dot(uint32_t t, uint32_t vt, const void *x, const void *y,
                      int64_t n) {
    kw__to_float_fn tf = KW_TEST_TO_FLOAT(t);
    if (!tf) return -1.0;
    float *fx = malloc((size_t)n * sizeof(float));
    float *fy = malloc((size_t)n * sizeof(float));
    tf(x, fx, n);
    deq_act(vt, y, fy, n);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += fabs((double)fx[i] * fy[i]);
    free(fx);
    free(fy);
    return s;
}

static double tol_for(double absdot, float ref, double rel) {
    /* without a dequantizer, fall back to the result's own magnitude */
    return absdot >= 0 ? rel * absdot + 1e-30 : 1e-4 * (fabs(ref) + 1.0);
}

/* ---- vec_dot ------------------------------------------------------------ */

static void test_vec_dot(uint32_t t) {
    const struct kw__type_traits *tr = kw__traits(t);
    const uint32_t vt = vec_dot_type(t);
    kw__vec_dot_fn ref = kw__vec_dot_variant(t, KW__ISA_REF);
    if (!ref) {
        fprintf(stderr, "skip vec_dot %s: no reference\n", tr->name);
        return;
    }
    for (int bi = 0; bi < N_BLOCKS; bi++) {
        const int64_t n = k_blocks[bi] * (tr->blck_size == 1 ? 32 + 1
                                                               : tr->blck_size);
        void *x = malloc(kw__row_size(t, n));
        void *y = malloc(kw__row_size(vt, n));
        for (int m = FILL_RANDOM; m <= FILL_MAX; m++) {
            fill_weights(t, x, n, (enum fill_mode)m);
            if (!fill_act(vt, y, n, (enum fill_mode)m)) {
                fprintf(stderr, "skip vec_dot %s: no %s quantizer\n", tr->name,
                        kw_type_name(vt));
                goto done;
            }
            float r = 0;
            ref(n, &r, x, y);
            /* f16: lane-wise f32 sums vs the reference's order, bounded
             * like dot_f16 in test_ops.c */
            const double rel = t == KW_TYPE_F16 ? ((double)n / 8 + 8) * FLT_EPSILON
                               : m == FILL_EXACT ? 1e-6 : 1e-5;
            const double tol = tol_for(abs_dot(t, vt, x, y, n), r, rel);
            for (int ii = 0; ii < 2; ii++) {
                kw__vec_dot_fn f = kw__vec_dot_variant(t, k_isas[ii]);
                if (!f) continue;
                float v = -12345.0f;
                f(n, &v, x, y);
                if (exact_type(t))
                    CHECKF(same_bits(v, r),
                           "%s %s n=%lld mode=%d: %.9g vs ref %.9g (must be "
                           "bit-identical)", tr->name, kw__isa_name(k_isas[ii]),
                           (long long)n, m, (double)v, (double)r);
                else
                CHECKF(fabs((double)v - r) <= tol,
                       "%s %s n=%lld mode=%d: %.9g vs ref %.9g (tol %.3g)",
                       tr->name, kw__isa_name(k_isas[ii]), (long long)n, m,
                       (double)v, (double)r, tol);
            }
        }
    done:
        free(x);
        free(y);
    }
}

/* ---- quantizers ---------------------------------------------------------- */

static void check_quant(uint32_t t, const float *f, int64_t n, const char *what) {
    kw__from_float_fn ref = kw__from_float_variant(t, KW__ISA_REF);
    const size_t sz = kw__row_size(t, n);
    uint8_t *a = malloc(sz), *b = malloc(sz);
    memset(a, 0, sz);
    ref(f, a, n);
    for (int ii = 0; ii < 2; ii++) {
        kw__from_float_fn q = kw__from_float_variant(t, k_isas[ii]);
        if (!q) continue;
        memset(b, 0xA5, sz);
        q(f, b, n);
        size_t bad = sz;
        for (size_t k = 0; k < sz && bad == sz; k++)
            if (a[k] != b[k]) bad = k;
        CHECKF(bad == sz, "%s %s %s n=%lld: first differing byte %zu (%u vs %u)",
               kw_type_name(t), kw__isa_name(k_isas[ii]), what, (long long)n,
               bad, bad < sz ? b[bad] : 0, bad < sz ? a[bad] : 0);
    }
    free(a);
    free(b);
}

static void test_quantizer(uint32_t t) {
    if (!kw__from_float_variant(t, KW__ISA_REF)) {
        fprintf(stderr, "skip quantizer %s: no reference\n", kw_type_name(t));
        return;
    }
    const int64_t bs = kw__traits(t)->blck_size;
    const int64_t nmax = 33 * bs;
    float *f = malloc((size_t)nmax * sizeof(float));
    for (int bi = 0; bi < N_BLOCKS; bi++) {
        const int64_t n = k_blocks[bi] * bs;
        for (int64_t i = 0; i < n; i++)
            f[i] = randf() * (float)(1 + i % 13) * (i % 29 == 3 ? 100.0f : 1.0f);
        check_quant(t, f, n, "random");
        /* ties: with amax = 127 (q8_0/q8_1: d = 1) or max = -127 (q8_K:
         * iscale = 1) every k + 0.5 is an exact tie of the rounding */
        for (int64_t i = 0; i < n; i++) {
            const int k = (int)(randu() % 253) - 126;
            f[i] = (float)k + (k < 126 ? 0.5f : -0.5f);
            if (i % bs == 0) f[i] = t == KW_TYPE_Q8_K ? -127.0f : 127.0f;
        }
        check_quant(t, f, n, "ties");
        /* zeros, tiny values, and +-amax pairs (q8_K takes the first) */
        for (int64_t i = 0; i < n; i++) f[i] = 0.0f;
        for (int64_t i = bs; i < n; i++)
            f[i] = ((i / bs) % 2) ? 1e-30f * randf() : 0.25f * randf();
        if (n > 2 * bs) {
            f[2 * bs + 5] = 3.0f;
            f[2 * bs + 9] = -3.0f;
        }
        check_quant(t, f, n, "edge");
    }
    free(f);
}

/* ---- gemm tiles ---------------------------------------------------------- */

/* What a tile call must return for an exact type: REF's tile (rg) where it
 * has one, else REF's vec_dot per cell. */
static void ref_tile(kw__gemm_fn rg, kw__vec_dot_fn rv, int64_t n,
                     const uint8_t *x, size_t xs, int nx, const uint8_t *y,
                     size_t ys, int ny, float out[4][4]) {
    if (rg) {
        float s[16];
        rg(n, x, xs, nx, y, ys, ny, s, 4);
        for (int j = 0; j < ny; j++)
            for (int i = 0; i < nx; i++) out[j][i] = s[j * 4 + i];
        return;
    }
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) rv(n, &out[j][i], x + i * xs, y + j * ys);
}

/* wide: the tiles for batches of >= KW__WIDE_BATCH tokens. */
static void test_gemm(uint32_t t, int wide) {
    const struct kw__type_traits *tr = kw__traits(t);
    const uint32_t vt = vec_dot_type(t);
    const int exact = exact_type(t);
    kw__gemm_fn rg = wide ? kw__gemm_wide_variant(t, KW__ISA_REF)
                          : kw__gemm_variant(t, KW__ISA_REF);
    kw__vec_dot_fn rv = kw__vec_dot_variant(t, KW__ISA_REF);
    if (wide && !rg) return;
    for (int ii = 0; ii < 2; ii++) {
        kw__gemm_fn g = wide ? kw__gemm_wide_variant(t, k_isas[ii])
                             : kw__gemm_variant(t, k_isas[ii]);
        kw__vec_dot_fn vd = kw__vec_dot_variant(t, k_isas[ii]);
        if (!g || !vd || (exact && !rv)) continue;
        for (int bi = 0; bi < N_BLOCKS; bi += 2) {
            const int64_t n = k_blocks[bi] * tr->blck_size *
                              (tr->blck_size == 1 ? 64 : 1);
            /* strided rows: 4 spare bytes between rows (blocks keep the
             * 2/4-byte alignment of their fp16/f32 fields, as in GGUF) */
            const size_t xrow = kw__row_size(t, n), yrow = kw__row_size(vt, n);
            const size_t xs = xrow + 4, ys = yrow + 4;
            uint8_t *x = malloc(4 * xs), *y = malloc(4 * ys);
            int ok = 1;
            for (int r = 0; r < 4 && ok; r++) {
                fill_weights(t, x + r * xs, n, FILL_RANDOM);
                ok = fill_act(vt, y + r * ys, n, FILL_RANDOM);
            }
            if (!ok) {
                free(x);
                free(y);
                return;
            }
            float want[4][4];
            double tol[4][4];
            for (int j = 0; j < 4; j++)
                for (int i = 0; i < 4; i++) {
                    vd(n, &want[j][i], x + i * xs, y + j * ys);
                    tol[j][i] = tol_for(abs_dot(t, vt, x + i * xs, y + j * ys, n),
                                        want[j][i], 1e-5);
                }
            for (int nx = 1; nx <= 4; nx++)
                for (int ny = 1; ny <= 4; ny++) {
                    float s[4 * 5], rs[4][4];
                    if (exact) ref_tile(rg, rv, n, x, xs, nx, y, ys, ny, rs);
                    for (int k = 0; k < 20; k++) s[k] = -777.0f;
                    g(n, x, xs, nx, y, ys, ny, s, 5);
                    for (int j = 0; j < 4; j++)
                        for (int i = 0; i < 5; i++) {
                            const float v = s[j * 5 + i];
                            if (j < ny && i < nx && exact)
                                CHECKF(same_bits(v, rs[j][i]),
                                       "gemm%s %s %s n=%lld %dx%d [%d,%d]: %.9g "
                                       "vs ref %.9g (must be bit-identical)",
                                       wide ? " wide" : "", tr->name,
                                       kw__isa_name(k_isas[ii]), (long long)n,
                                       nx, ny, i, j, (double)v, (double)rs[j][i]);
                            else if (j < ny && i < nx)
                                CHECKF(fabs((double)v - want[j][i]) <= tol[j][i],
                                       "gemm %s %s n=%lld %dx%d [%d,%d]: %.9g "
                                       "vs vec_dot %.9g",
                                       tr->name, kw__isa_name(k_isas[ii]),
                                       (long long)n, nx, ny, i, j, (double)v,
                                       (double)want[j][i]);
                            else
                                CHECKF(v == -777.0f,
                                       "gemm %s %s %dx%d wrote outside [%d,%d]",
                                       tr->name, kw__isa_name(k_isas[ii]), nx,
                                       ny, i, j);
                        }
                }
            free(x);
            free(y);
        }
    }
}

int main(void) {
    kw__cpu_init();
    int any = 0;
    for (int ii = 0; ii < 2; ii++) {
        const int has = kw__cpu_has(k_isas[ii]);
        fprintf(stderr, "isa %s: %s\n", kw__isa_name(k_isas[ii]),
                has ? "tested" : "not on this CPU");
        any |= has;
    }
    if (!any) {
        fprintf(stderr, "no SIMD ISA on this CPU\n");
        return 77;
    }
    for (int k = 0; k < N_TYPES; k++) {
        const uint32_t vt = kw__traits(k_types[k])->vec_dot_type;
        CHECKF(vt == 0 || vt == vec_dot_type(k_types[k]),
               "%s: traits vec_dot_type %u", kw_type_name(k_types[k]), vt);
        test_vec_dot(k_types[k]);
        test_gemm(k_types[k], 0);
        test_gemm(k_types[k], 1);
    }
    test_quantizer(KW_TYPE_Q8_0);
    test_quantizer(KW_TYPE_Q8_1);
    test_quantizer(KW_TYPE_Q8_K);
    return kw_test_finish("test_quant_simd");
}
