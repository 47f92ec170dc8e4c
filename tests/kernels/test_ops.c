/*
 * test_ops.c — the float ops of struct kw__ops and kw__rope_cache: the
 * reference against independent double-precision formulas (with
 * tolerances), every SIMD variant against the reference bit for bit on odd
 * lengths, vector tails, exp's special ranges and rope shapes, fp16
 * conversion over many bit patterns. KW_BENCH=1 also prints ns/op per ISA.
 *
 * Variants must equal the reference exactly (a NaN only has to stay NaN):
 * the reference fixes ggml's AVX-512 lane order and exp polynomial, so the
 * tokens kaiwu generates do not depend on the machine. Reference tolerances
 * (eps = FLT_EPSILON): rmsnorm 6 eps; dot_f16 (n/64 + 8) eps sum|x*y| (f32
 * lanes of n/64 terms, then a 6-level tree); swiglu 4 eps; softmax 1e-6
 * relative (polynomial exp, ~1.5 ulp).
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "cpu/kernels.h"
#include "testutil.h"

#define EPS FLT_EPSILON

static const int64_t k_lens[] = {1,  3,   7,   8,   15,  16,  17,  31,  32,
                                  33, 48,  63,  64,  65,  127, 128, 129, 200,
                                  576, 1000, 1024};
#define N_LENS ((int)(sizeof k_lens / sizeof k_lens[0]))
#define MAXN 1024

static uint64_t g_rng = 0x1234567887654321ull;

static float randf(void) { return kw_test_randf(&g_rng); }

static void fill(float *x, int64_t n, float amp) {
    for (int64_t i = 0; i < n; i++) x[i] = amp * randf();
}

static void fill_f16(uint16_t *x, int64_t n, float amp) {
    for (int64_t i = 0; i < n; i++) x[i] = kw__fp32_to_fp16(amp * randf());
}

static int same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

/* bit-identical, or both NaN */
static int same_val(float a, float b) { return same_bits(a, b) || (a != a && b != b); }

/* index of the first element that differs (same_val), or -1 */
static int64_t first_diff(const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!same_val(a[i], b[i])) return i;
    return -1;
}

/* ---- reference vs independent formulas -------------------------------- */

static void test_ref_formulas(const struct kw__ops *r) {
    float x[MAXN], w[MAXN], y[MAXN], u[MAXN];
    for (int li = 0; li < N_LENS; li++) {
        const int64_t n = k_lens[li];
        /* rmsnorm */
        fill(x, n, 3.0f);
        fill(w, n, 1.5f);
        r->rmsnorm(y, x, w, n, 1e-5f);
        double ss = 0;
        for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
        const double sc = 1.0 / sqrt(ss / (double)n + 1e-5);
        for (int64_t i = 0; i < n; i++) {
            const double e = x[i] * sc * w[i];
            CHECKF(fabs(y[i] - e) <= 6 * EPS * fabs(e) + 1e-30,
                   "rmsnorm n=%lld i=%lld %g vs %g", (long long)n, (long long)i,
                   y[i], e);
        }
        r->rmsnorm(y, x, NULL, n, 1e-5f); /* no weight */
        for (int64_t i = 0; i < n; i++)
            CHECK(fabs(y[i] - x[i] * sc) <= 6 * EPS * fabs(x[i] * sc) + 1e-30);

        /* dot_f16 vs the exact (double) sum */
        uint16_t hx[MAXN], hy[MAXN];
        fill_f16(hx, n, 2.0f);
        fill_f16(hy, n, 2.0f);
        double exact = 0, mag = 0;
        for (int64_t i = 0; i < n; i++) {
            const double p = (double)kw__fp16_to_fp32(hx[i]) * kw__fp16_to_fp32(hy[i]);
            exact += p;
            mag += fabs(p);
        }
        const float d = r->dot_f16(hx, hy, n);
        CHECKF(fabs(d - exact) <= (double)(n / 64 + 8) * EPS * mag + 1e-30,
               "dot_f16 n=%lld %g vs %g", (long long)n, d, exact);

        /* axpy_f16: one rounding of y + a*x */
        fill(y, n, 1.0f);
        memcpy(u, y, (size_t)n * sizeof *u);
        r->axpy_f16(y, hx, 0.37f, n);
        for (int64_t i = 0; i < n; i++) {
            /* the product of two floats is exact in double */
            const double e = u[i] + (double)0.37f * kw__fp16_to_fp32(hx[i]);
            CHECKF(fabs(y[i] - e) <= 0.5 * EPS * fabs(e) * 1.0001 + 1e-37,
                   "axpy n=%lld i=%lld", (long long)n, (long long)i);
        }

        /* swiglu vs double silu */
        fill(x, n, 12.0f);
        fill(u, n, 2.0f);
        r->swiglu(y, x, u, n);
        for (int64_t i = 0; i < n; i++) {
            const double e = x[i] / (1.0 + exp(-(double)x[i])) * u[i];
            CHECKF(fabs(y[i] - e) <= 4 * EPS * fabs(e) + 1e-37,
                   "swiglu n=%lld i=%lld %g vs %g", (long long)n, (long long)i,
                   y[i], e);
        }

        /* softmax vs double */
        fill(x, n, 8.0f);
        memcpy(u, x, (size_t)n * sizeof *u);
        r->softmax(x, n, 0.125f);
        double mx = -INFINITY, sum = 0, tot = 0;
        for (int64_t i = 0; i < n; i++) mx = fmax(mx, u[i] * 0.125);
        for (int64_t i = 0; i < n; i++) sum += exp(u[i] * 0.125 - mx);
        for (int64_t i = 0; i < n; i++) {
            const double e = exp(u[i] * 0.125 - mx) / sum;
            CHECKF(fabs(x[i] - e) <= 1e-6 * e + 1e-37, "softmax n=%lld i=%lld",
                   (long long)n, (long long)i);
            tot += x[i];
        }
        CHECK(fabs(tot - 1.0) < 1e-5);

        /* add */
        fill(x, n, 1.0f);
        fill(y, n, 1.0f);
        memcpy(u, y, (size_t)n * sizeof *u);
        r->add(y, x, n);
        for (int64_t i = 0; i < n; i++) CHECK(same_bits(y[i], u[i] + x[i]));
    }
    /* softmax of one value and of equal values */
    float one[4] = {-3.0f, -3.0f, -3.0f, -3.0f};
    r->softmax(one, 1, 1.0f);
    CHECK(one[0] == 1.0f);
    r->softmax(one + 1, 3, 2.0f);
    CHECK(fabsf(one[1] - 1.0f / 3) < 1e-7f && one[1] == one[3]);
}

/* to_f16: round to nearest, ties to even, against the neighbours. */
static void check_f16_nearest(const struct kw__ops *r, float f) {
    uint16_t h;
    r->to_f16(&h, &f, 1);
    if (isnan(f)) {
        CHECK((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0);
        return;
    }
    if (fabsf(f) >= 65520.0f) { /* rounds to infinity */
        CHECKF((h & 0x7fff) == 0x7c00, "f16 inf for %g: %04x", f, h);
        return;
    }
    const double v = kw__fp16_to_fp32(h);
    CHECKF((signbit(v) != 0) == (signbit(f) != 0), "f16 sign %g", f);
    const uint16_t mag = h & 0x7fff;
    const double d = fabs(v - f);
    if (mag > 0) {
        const double lo = kw__fp16_to_fp32((uint16_t)((h & 0x8000) | (mag - 1)));
        CHECKF(d < fabs(lo - f) || (d == fabs(lo - f) && !(mag & 1)),
               "f16 not nearest for %a: %04x", f, h);
    }
    if (mag < 0x7bff) {
        const double hi = kw__fp16_to_fp32((uint16_t)((h & 0x8000) | (mag + 1)));
        CHECKF(d < fabs(hi - f) || (d == fabs(hi - f) && !(mag & 1)),
               "f16 not nearest for %a: %04x", f, h);
    }
}

static void test_to_f16_ref(const struct kw__ops *r) {
    for (uint32_t u = 0; u < 0x7f800000u; u += 0x3f1) {
        check_f16_nearest(r, kw__u32_as_f32(u));
        check_f16_nearest(r, -kw__u32_as_f32(u));
    }
    const float special[] = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f,
                             0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-26f, 0x1p-14f,
                             0x1.ffcp-15f, 1.0f + 0x1p-11f, 1.0f + 0x3p-11f,
                             INFINITY, -INFINITY, NAN};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        check_f16_nearest(r, special[i]);
}

/* ---- kw__rope_cache ---------------------------------------------------- */

static double angle_diff(double a, double b) {
    return fabs(remainder(a - b, 2 * M_PI));
}

static void test_rope_cache(void) {
    static const int64_t rots[] = {2, 32, 64, 128};
    static const int32_t poss[] = {0, 1, 7, 100, 8191, 100000};
    float ff[64], cs[128], cs2[128];
    for (int i = 0; i < 64; i++) ff[i] = 1.0f + (float)i / 8.0f;
    for (int ri = 0; ri < 4; ri++) {
        const int64_t nr = rots[ri];
        for (int pi = 0; pi < 6; pi++) {
            for (int variant = 0; variant < 4; variant++) {
                const float base = variant == 3 ? 500000.0f : 10000.0f;
                const float fs = variant == 2 ? 0.25f : 1.0f;
                const float *f = variant == 1 ? ff : NULL;
                const int32_t pos = poss[pi];
                kw__rope_cache(cs, nr, pos, base, fs, f);
                for (int64_t i = 0; i < nr / 2; i++) {
                    const double th = pos * (double)fs *
                                      pow(base, -2.0 * (double)i / (double)nr) /
                                      (f ? f[i] : 1.0);
                    const double c = cs[2 * i], s = cs[2 * i + 1];
                    CHECK(fabs(c * c + s * s - 1.0) < 1e-6);
                    CHECKF(angle_diff(atan2(s, c), th) <= 1e-4 * fabs(th) + 1e-6,
                           "rope_cache n_rot=%lld pos=%d i=%lld: %g vs %g",
                           (long long)nr, pos, (long long)i, atan2(s, c), th);
                }
                if (pos == 0)
                    for (int64_t i = 0; i < nr; i++) CHECK(cs[i] == (i % 2 ? 0.0f : 1.0f));
            }
        }
        /* monotone: at pos 1 every angle is <= 1 rad, so atan2 recovers it,
         * and it decreases with the pair index; it grows with the position
         * while it stays below pi; freq_scale and ff divide it. */
        kw__rope_cache(cs, nr, 1, 10000.0f, 1.0f, NULL);
        for (int64_t i = 1; i < nr / 2; i++)
            CHECK(atan2(cs[2 * i + 1], cs[2 * i]) < atan2(cs[2 * i - 1], cs[2 * i - 2]));
        for (int32_t p = 1; p < 3; p++) {
            kw__rope_cache(cs, nr, p, 10000.0f, 1.0f, NULL);
            kw__rope_cache(cs2, nr, p + 1, 10000.0f, 1.0f, NULL);
            for (int64_t i = 0; i < nr / 2; i++) {
                const double a2 = atan2(cs2[2 * i + 1], cs2[2 * i]);
                if (a2 > 0 && (p + 1) * pow(10000.0, -2.0 * i / nr) < 3.0)
                    CHECK(a2 > atan2(cs[2 * i + 1], cs[2 * i]));
            }
        }
        kw__rope_cache(cs, nr, 3, 10000.0f, 1.0f, NULL);
        kw__rope_cache(cs2, nr, 3, 10000.0f, 0.5f, NULL);
        for (int64_t i = 0; i < nr / 2; i++) {
            const double a = atan2(cs[2 * i + 1], cs[2 * i]);
            const double a2 = atan2(cs2[2 * i + 1], cs2[2 * i]);
            if (fabs(a) < 3.0) CHECK(fabs(a2 - a / 2) <= 1e-6 * fabs(a) + 1e-7);
        }
        for (int i = 0; i < 64; i++) ff[i] = 2.0f;
        kw__rope_cache(cs2, nr, 3, 10000.0f, 1.0f, ff);
        for (int64_t i = 0; i < nr / 2; i++) {
            const double a = atan2(cs[2 * i + 1], cs[2 * i]);
            const double a2 = atan2(cs2[2 * i + 1], cs2[2 * i]);
            if (fabs(a) < 3.0) CHECK(fabs(a2 - a / 2) <= 1e-6 * fabs(a) + 1e-7);
        }
        for (int i = 0; i < 64; i++) ff[i] = 1.0f + (float)i / 8.0f;
    }
}

/* ---- rope: reference vs double, variants vs reference ----------------- */

struct rope_shape {
    int64_t head_dim, n_rot;
};
static const struct rope_shape k_rope_shapes[] = {
    {64, 64}, {64, 32}, {128, 128}, {24, 24}, {20, 12}, {16, 6}, {8, 2},
    {80, 56}, {34, 30}};
#define N_ROPE_SHAPES ((int)(sizeof k_rope_shapes / sizeof k_rope_shapes[0]))
static const int32_t k_rope_pos[] = {0, 1, 100, 8191};

static void test_rope(const struct kw__ops *r,
                      const struct kw__ops *vars[KW__ISA_COUNT]) {
    float ff[64];
    for (int i = 0; i < 64; i++) ff[i] = 1.0f + 7.0f * (float)i / 64.0f;
    static float x0[9 * 128], xr[9 * 128], xv[9 * 128];
    float cs[128];
    for (int si = 0; si < N_ROPE_SHAPES; si++) {
        const int64_t hd = k_rope_shapes[si].head_dim, nr = k_rope_shapes[si].n_rot;
        for (int pi = 0; pi < 4; pi++) {
            for (int use_ff = 0; use_ff < 2; use_ff++) {
                const int32_t pos = k_rope_pos[pi];
                kw__rope_cache(cs, nr, pos, 10000.0f, 1.0f, use_ff ? ff : NULL);
                for (int neox = 0; neox < 2; neox++) {
                    for (int64_t nh = 1; nh <= 9; nh++) {
                        fill(x0, nh * hd, 2.0f);
                        memcpy(xr, x0, (size_t)(nh * hd) * sizeof *xr);
                        r->rope(xr, nh, hd, nr, cs, neox);
                        const int64_t half = nr / 2;
                        for (int64_t h = 0; h < nh; h++) {
                            const float *a = x0 + h * hd, *b = xr + h * hd;
                            for (int64_t i = 0; i < half; i++) {
                                const int64_t i0 = neox ? i : 2 * i;
                                const int64_t i1 = neox ? i + half : 2 * i + 1;
                                const double c = cs[2 * i], s = cs[2 * i + 1];
                                /* with the table's cos/sin, in double */
                                const double e0 = a[i0] * c - a[i1] * s;
                                const double e1 = a[i0] * s + a[i1] * c;
                                const double tol = 2 * EPS * (fabs(a[i0]) + fabs(a[i1]));
                                CHECK(fabs(b[i0] - e0) <= tol && fabs(b[i1] - e1) <= tol);
                                /* with cos/sin of the exact angle: the float
                                 * table's angle error grows with pos */
                                const double th = pos * pow(10000.0, -2.0 * (double)i / (double)nr) /
                                                  (use_ff ? ff[i] : 1.0);
                                const double t0 = a[i0] * cos(th) - a[i1] * sin(th);
                                const double t1 = a[i0] * sin(th) + a[i1] * cos(th);
                                const double tol2 = (3e-6 * (1 + pos) + 1e-6) *
                                                    (fabs(a[i0]) + fabs(a[i1]));
                                CHECKF(fabs(b[i0] - t0) <= tol2 && fabs(b[i1] - t1) <= tol2,
                                       "rope vs exact angle hd=%lld nr=%lld pos=%d",
                                       (long long)hd, (long long)nr, pos);
                            }
                            for (int64_t i = nr; i < hd; i++) CHECK(same_bits(a[i], b[i]));
                        }
                        for (int isa = 1; isa < KW__ISA_COUNT; isa++) {
                            if (!vars[isa]) continue;
                            memcpy(xv, x0, (size_t)(nh * hd) * sizeof *xv);
                            vars[isa]->rope(xv, nh, hd, nr, cs, neox);
                            int bad = 0;
                            for (int64_t i = 0; i < nh * hd; i++) bad += !same_bits(xv[i], xr[i]);
                            CHECKF(bad == 0, "rope %s hd=%lld nr=%lld pos=%d neox=%d "
                                   "heads=%lld ff=%d: %d values differ",
                                   kw__isa_name((enum kw__isa)isa), (long long)hd,
                                   (long long)nr, pos, neox, (long long)nh, use_ff, bad);
                        }
                    }
                }
            }
        }
    }
}

/* ---- variants vs reference: bit for bit -------------------------------- */

#define CHECK_SAME(a, b, n, ...)                                              \
    do {                                                                      \
        const int64_t at_ = first_diff(a, b, n);                              \
        CHECKF(at_ < 0, __VA_ARGS__);                                         \
        if (at_ >= 0)                                                         \
            fprintf(stderr, "  first at %lld: %a vs ref %a\n", (long long)at_, \
                    (a)[at_], (b)[at_]);                                      \
    } while (0)

/* activations whose squares span many binades, so a double sum in another
 * order than the reference's would round differently */
static void fill_wide(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        x[i] = ldexpf(randf(), (int)(kw_test_rand(&g_rng) % 31) - 20);
}

static void test_variant(const struct kw__ops *r, const struct kw__ops *v,
                         const char *isa) {
    static float x[MAXN], w[MAXN], y[MAXN], yr[MAXN], u[MAXN];
    static uint16_t hx[MAXN], hy[MAXN], h1[MAXN], h2[MAXN];
    for (int li = 0; li < N_LENS; li++) {
        const int64_t n = k_lens[li];
        const long long ln = (long long)n;
        for (int rep = 0; rep < 4; rep++) {
            /* rmsnorm, with inputs of mixed magnitude, with and without w */
            if (rep == 1)
                fill_wide(x, n);
            else
                fill(x, n, rep == 3 ? 100.0f : 1.0f);
            if (rep == 2) x[0] = 1000.0f;
            fill(w, n, 2.0f);
            r->rmsnorm(yr, x, w, n, 1e-6f);
            v->rmsnorm(y, x, w, n, 1e-6f);
            CHECK_SAME(y, yr, n, "rmsnorm %s n=%lld rep=%d", isa, ln, rep);
            r->rmsnorm(yr, x, NULL, n, 1e-6f);
            v->rmsnorm(y, x, NULL, n, 1e-6f);
            CHECK_SAME(y, yr, n, "rmsnorm (no w) %s n=%lld rep=%d", isa, ln, rep);

            /* dot_f16, also with large products and cancellation */
            fill_f16(hx, n, rep == 3 ? 60.0f : 1.0f);
            fill_f16(hy, n, rep == 2 ? 1000.0f : 1.0f);
            const float dr = r->dot_f16(hx, hy, n), dv = v->dot_f16(hx, hy, n);
            CHECKF(same_bits(dv, dr), "dot_f16 %s n=%lld rep=%d: %a vs ref %a",
                   isa, ln, rep, dv, dr);

            /* axpy_f16 */
            fill(y, n, 1.0f);
            memcpy(yr, y, (size_t)n * sizeof *y);
            const float a = 0.5f + randf();
            r->axpy_f16(yr, hx, a, n);
            v->axpy_f16(y, hx, a, n);
            CHECK_SAME(y, yr, n, "axpy_f16 %s n=%lld", isa, ln);

            /* to_f16 on random bit patterns: all magnitudes, inf and NaN */
            for (int64_t i = 0; i < n; i++) x[i] = kw__u32_as_f32((uint32_t)kw_test_rand(&g_rng));
            r->to_f16(h1, x, n);
            v->to_f16(h2, x, n);
            for (int64_t i = 0; i < n; i++)
                CHECKF(h1[i] == h2[i], "to_f16 %s %a: %04x vs ref %04x", isa, x[i],
                       h2[i], h1[i]);

            /* swiglu: moderate inputs, then extremes (exp over/underflow) */
            fill(x, n, rep == 3 ? 120.0f : 10.0f);
            if (rep == 2)
                for (int64_t i = 0; i < n; i++) x[i] = (float)((i % 9) - 4) * 50.0f + randf();
            fill(u, n, 3.0f);
            r->swiglu(yr, x, u, n);
            v->swiglu(y, x, u, n);
            CHECK_SAME(y, yr, n, "swiglu %s n=%lld rep=%d", isa, ln, rep);

            /* softmax */
            fill(x, n, rep == 3 ? 60.0f : 5.0f);
            memcpy(y, x, (size_t)n * sizeof *y);
            memcpy(yr, x, (size_t)n * sizeof *y);
            const float scale = rep == 1 ? 1.0f : 0.125f;
            r->softmax(yr, n, scale);
            v->softmax(y, n, scale);
            CHECK_SAME(y, yr, n, "softmax %s n=%lld rep=%d", isa, ln, rep);

            /* add */
            fill(x, n, 1.0f);
            fill(y, n, 1.0f);
            memcpy(yr, y, (size_t)n * sizeof *y);
            r->add(yr, x, n);
            v->add(y, x, n);
            CHECK_SAME(y, yr, n, "add %s n=%lld", isa, ln);
        }
    }
    /* masked entries (-inf, as attention masks write them) become exact
     * zeros, the rest matches the reference */
    for (int64_t n = 1; n <= 40; n += 13) {
        fill(x, n, 4.0f);
        for (int64_t i = 0; i < n; i += 3) x[i] = -INFINITY;
        x[n - 1] = 1.0f;
        memcpy(y, x, (size_t)n * sizeof *x);
        r->softmax(x, n, 0.5f);
        v->softmax(y, n, 0.5f);
        for (int64_t i = 0; i < n; i += 3)
            if (i != n - 1) CHECK(x[i] == 0.0f && y[i] == 0.0f);
        CHECK_SAME(y, x, n, "softmax masked %s n=%lld", isa, (long long)n);
    }
    /* n = 0 touches nothing */
    y[0] = 5.0f;
    v->rmsnorm(y, x, w, 0, 1e-5f);
    v->softmax(y, 0, 1.0f);
    v->add(y, x, 0);
    v->swiglu(y, x, w, 0);
    v->axpy_f16(y, hx, 1.0f, 0);
    CHECK(y[0] == 5.0f && v->dot_f16(hx, hy, 0) == 0.0f);
    /* exp special ranges through softmax: a spread that underflows */
    for (int64_t i = 0; i < 64; i++) x[i] = -(float)i * 3.0f;
    memcpy(y, x, 64 * sizeof *x);
    r->softmax(x, 64, 1.0f);
    v->softmax(y, 64, 1.0f);
    CHECK_SAME(y, x, 64, "softmax spread %s", isa);
}

/* The polynomial exp on every 13th float in [-110, -30] (its subnormal
 * outputs and underflow included) and on a spread over [-200, 0], seen
 * directly: with x[0] = 0 and the rest <= -30, the softmax total rounds to
 * 1 and its outputs are the exps themselves. */
static void test_exp_range(const struct kw__ops *r, const struct kw__ops *v,
                           const char *isa) {
    static float x[MAXN], y[MAXN];
    const uint32_t lo = kw__f32_as_u32(-30.0f), hi = kw__f32_as_u32(-110.0f);
    int64_t bad = 0, cnt = 0;
    for (uint32_t b = lo; b <= hi;) {
        x[0] = 0.0f;
        for (int i = 1; i < MAXN; i++, b = b <= hi - 13 ? b + 13 : hi + 1)
            x[i] = b <= hi ? kw__u32_as_f32(b) : -30.0f;
        memcpy(y, x, sizeof x);
        r->softmax(x, MAXN, 1.0f);
        v->softmax(y, MAXN, 1.0f);
        CHECK(x[0] == 1.0f);
        bad += first_diff(y, x, MAXN) >= 0;
        cnt++;
    }
    CHECKF(bad == 0, "exp %s: %lld of %lld blocks differ", isa, (long long)bad,
           (long long)cnt);
    for (int i = 0; i < MAXN; i++) x[i] = -200.0f * (float)i / MAXN;
    memcpy(y, x, sizeof x);
    r->softmax(x, MAXN, 1.0f);
    v->softmax(y, MAXN, 1.0f);
    CHECK_SAME(y, x, MAXN, "exp spread %s", isa);
}

/* swiglu (so exp of -g, overflow to inf included) on every 1021st float
 * bit pattern of both signs, and densely where exp(-g) leaves the normal
 * range; u = 1 so g / (1 + exp(-g)) shows through. */
static void test_swiglu_sweep(const struct kw__ops *r, const struct kw__ops *v,
                              const char *isa) {
    enum { B = MAXN };
    static float g[B], one[B], y[B], yr[B];
    for (int i = 0; i < B; i++) one[i] = 1.0f;
    int64_t bad = 0, cnt = 0;
    uint64_t u = 0;
    while (u <= 0xffffffffu) {
        int m = 0;
        for (; m < B && u <= 0xffffffffu; m++, u += 1021) g[m] = kw__u32_as_f32((uint32_t)u);
        r->swiglu(yr, g, one, m);
        v->swiglu(y, g, one, m);
        bad += first_diff(y, yr, m) >= 0;
        cnt++;
    }
    for (float a = 80.0f; a < 110.0f; a += 0.75f) {
        for (int i = 0; i < B; i++) g[i] = (i & 1 ? a : -a) + 0.75f * (float)i / B;
        r->swiglu(yr, g, one, B);
        v->swiglu(y, g, one, B);
        bad += first_diff(y, yr, B) >= 0;
        cnt++;
    }
    CHECKF(bad == 0, "swiglu sweep %s: %lld of %lld blocks differ", isa,
           (long long)bad, (long long)cnt);
}

/* to_f16 of a variant vs the reference over a sweep of all bit patterns
 * (every 61st, both signs; NaN payloads included) and vs kw__fp32_to_fp16
 * for the non-NaNs, subnormal and rounding boundaries included. */
static void test_to_f16_sweep(const struct kw__ops *r, const struct kw__ops *v,
                              const char *isa) {
    enum { B = 4096 };
    static float x[B];
    static uint16_t h[B], hr[B];
    int64_t bad = 0, cnt = 0;
    for (uint64_t u = 0; u <= 0xffffffffu;) {
        int m = 0;
        for (; m < B && u <= 0xffffffffu; m++, u += 61) x[m] = kw__u32_as_f32((uint32_t)u);
        v->to_f16(h, x, m);
        r->to_f16(hr, x, m);
        for (int i = 0; i < m; i++) {
            cnt++;
            bad += h[i] != hr[i] || (!isnan(x[i]) && h[i] != kw__fp32_to_fp16(x[i]));
        }
    }
    /* every half-way point between neighbouring halves (ties) and the
     * subnormal range of both formats */
    for (uint32_t k = 0; k < 0x7c00; k += B / 2) {
        int m = 0;
        for (uint32_t j = k; j < k + B / 2 && j < 0x7c00; j++) {
            const float a = kw__fp16_to_fp32((uint16_t)j);
            const float b = kw__fp16_to_fp32((uint16_t)(j + 1));
            x[m++] = (float)(((double)a + b) / 2);
            x[m++] = -(float)(((double)a + b) / 2);
        }
        v->to_f16(h, x, m);
        for (int i = 0; i < m; i++, cnt++) bad += h[i] != kw__fp32_to_fp16(x[i]);
    }
    CHECKF(bad == 0, "to_f16 %s: %lld of %lld differ", isa, (long long)bad,
           (long long)cnt);
}

/* Every op of every ISA on buffers of exactly n elements, so a sanitizer
 * build sees any read or write past the end (vector tails). */
static void test_tight_buffers(const struct kw__ops *vars[KW__ISA_COUNT]) {
    for (int li = 0; li < N_LENS; li++) {
        const int64_t n = k_lens[li];
        float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
        float *w = malloc((size_t)n * sizeof *w);
        uint16_t *h = malloc((size_t)n * sizeof *h), *h2 = malloc((size_t)n * sizeof *h2);
        if (!x || !y || !w || !h || !h2) {
            CHECK(!"out of memory");
            free(x), free(y), free(w), free(h), free(h2);
            return;
        }
        for (int isa = 0; isa < KW__ISA_COUNT; isa++) {
            const struct kw__ops *o = vars[isa];
            if (!o) continue;
            fill(x, n, 1.0f);
            fill(w, n, 1.0f);
            fill_f16(h, n, 1.0f);
            o->rmsnorm(y, x, w, n, 1e-5f);
            o->to_f16(h2, y, n);
            CHECK(isfinite(o->dot_f16(h, h2, n)));
            o->axpy_f16(y, h, 0.5f, n);
            o->swiglu(y, x, w, n);
            o->softmax(y, n, 0.5f);
            o->add(y, x, n);
            for (int64_t i = 0; i < n; i++) CHECK(isfinite(y[i]));
        }
        free(x), free(y), free(w), free(h), free(h2);
    }
    for (int si = 0; si < N_ROPE_SHAPES; si++) {
        const int64_t hd = k_rope_shapes[si].head_dim, nr = k_rope_shapes[si].n_rot;
        for (int64_t nh = 1; nh <= 3; nh++) {
            float *x = malloc((size_t)(nh * hd) * sizeof *x);
            float *cs = malloc((size_t)nr * sizeof *cs);
            if (!x || !cs) {
                CHECK(!"out of memory");
                free(x), free(cs);
                return;
            }
            kw__rope_cache(cs, nr, 5, 10000.0f, 1.0f, NULL);
            for (int isa = 0; isa < KW__ISA_COUNT; isa++)
                for (int neox = 0; neox < 2 && vars[isa]; neox++) {
                    fill(x, nh * hd, 1.0f);
                    vars[isa]->rope(x, nh, hd, nr, cs, neox);
                }
            free(x), free(cs);
        }
    }
}

/* ---- micro benchmark (KW_BENCH=1) ------------------------------------- */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile float g_sink;

static void bench(const struct kw__ops *o, const char *isa) {
    static float x[2048], w[2048], y[2048], u[2048], cs[64];
    static uint16_t ha[64], hb[64];
    fill(x, 2048, 1.0f);
    fill(w, 2048, 1.0f);
    fill(u, 2048, 1.0f);
    fill_f16(ha, 64, 1.0f);
    fill_f16(hb, 64, 1.0f);
    kw__rope_cache(cs, 64, 100, 10000.0f, 1.0f, NULL);
    /* many short runs, best kept: a shared machine rarely disturbs all */
    const int iters = 2000;
    double best[6];
    for (int op = 0; op < 6; op++) {
        best[op] = 1e30;
        for (int rep = 0; rep < 300; rep++) {
            const double t0 = now_ns();
            float acc = 0;
            for (int it = 0; it < iters; it++) {
                switch (op) {
                case 0: o->rmsnorm(y, x, w, 576, 1e-5f); break;
                case 1: o->rope(x, 9, 64, 64, cs, 0); break;
                case 2: acc += o->dot_f16(ha, hb, 64); break;
                case 3: o->swiglu(y, x, u, 1536); break;
                case 4: o->rope(x, 9, 64, 64, cs, 1); break;
                case 5:
                    memcpy(y, u, 576 * sizeof *y);
                    o->softmax(y, 576, 0.125f);
                    break;
                }
            }
            g_sink = acc + y[0];
            const double dt = (now_ns() - t0) / iters;
            if (dt < best[op]) best[op] = dt;
        }
    }
    printf("bench %-6s rmsnorm(576) %7.1f ns  rope(9x64) %7.1f ns  "
           "rope_neox(9x64) %7.1f ns  dot_f16(64) %6.1f ns  swiglu(1536) %7.1f ns  "
           "softmax(576) %7.1f ns\n",
           isa, best[0], best[1], best[4], best[2], best[3], best[5]);
}

int main(void) {
    const struct kw__ops *vars[KW__ISA_COUNT] = {0};
    for (int isa = 0; isa < KW__ISA_COUNT; isa++)
        vars[isa] = kw__ops_variant((enum kw__isa)isa);
    const struct kw__ops *r = vars[KW__ISA_REF];
    CHECK(r != NULL);
    if (!r) return kw_test_finish("test_ops");
    CHECK(kw__ops() == vars[kw__cpu_isa()]);
    for (int isa = 0; isa < KW__ISA_COUNT; isa++) {
        if (!vars[isa]) continue;
        const struct kw__ops *o = vars[isa];
        CHECK(o->rmsnorm && o->rope && o->dot_f16 && o->axpy_f16 && o->to_f16 &&
              o->swiglu && o->softmax && o->add);
        printf("testing %s\n", kw__isa_name((enum kw__isa)isa));
    }

    test_ref_formulas(r);
    test_to_f16_ref(r);
    test_rope_cache();
    test_rope(r, vars);
    test_tight_buffers(vars);
    for (int isa = 1; isa < KW__ISA_COUNT; isa++) {
        if (!vars[isa]) continue;
        const char *name = kw__isa_name((enum kw__isa)isa);
        test_variant(r, vars[isa], name);
        test_exp_range(r, vars[isa], name);
        test_swiglu_sweep(r, vars[isa], name);
        test_to_f16_sweep(r, vars[isa], name);
    }

    const char *b = getenv("KW_BENCH");
    if (b && *b && strcmp(b, "0") != 0)
        for (int isa = 0; isa < KW__ISA_COUNT; isa++)
            if (vars[isa]) bench(vars[isa], kw__isa_name((enum kw__isa)isa));
    return kw_test_finish("test_ops");
}
