/*
 * test_wino_tiles.c — the Winograd transforms (wino.h) on a range of
 * tiles, as conv_wino.c runs them chunk by chunk: for F(2x2, 3x3) and
 * F(4x4, 3x3), odd planes and ranges that start and end inside tile
 * rows, the input transform of tiles [t0, t1) must give the columns the
 * whole-plane transform gives those tiles, bit for bit, and the output
 * transform must write exactly those tiles' outputs (the same bits as
 * the whole-plane one) and nothing else: a chunk storing past its range
 * would overwrite a neighbour chunk's finished outputs. Each ISA's
 * transforms the CPU has (AVX-512, AVX2); they must also agree with a
 * plain evaluation of B^T d B and A^T m A within rounding (skipped, 77,
 * with neither or under KW_FORCE_REF).
 */
#include <math.h>
#include <string.h>

#include "onnx/ops/nn_internal.h"
#include "onnx/ops/wino.h"
#include "testutil.h"

static uint64_t g_rng = 0x3a770707ull;

#define SENTINEL 12345.0f

static const struct kw__wino_fns *g_fns;

/* B^T (tile 2: 4x4, tile 4: 6x6) and A^T (2x4, 4x6) */
static const double bt2[4][4] = {
    {1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const double at2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
static const double bt4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                 {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                 {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double at4[4][6] = {{1, 1, 1, 1, 1, 0},
                                 {0, 1, -1, 2, -2, 0},
                                 {0, 1, 1, 4, 4, 0},
                                 {0, 1, -1, 8, -8, 1}};

/* L^T z R where L is r x n (row-major) and z n x n: r x r */
static void sandwich(const double *L, int r, int n, const double *z,
                     double *o) {
    for (int i = 0; i < r; i++)
        for (int j = 0; j < r; j++) {
            double acc = 0;
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++)
                    acc += L[i * n + a] * z[a * n + b] * L[j * n + b];
            o[i * r + j] = acc;
        }
}

/* the whole-plane results against the plain transforms (tolerance: a
 * few ulps of the sum of magnitudes, as the vector code reassociates) */
static void check_plain(int tile, const struct kw__wino *w, const float *xp,
                        const float *v, const float *mx, const float *bias,
                        const float *y) {
    const int n = tile + 2, nn = n * n;
    const int64_t T = w->th * w->tw;
    const double *B = tile == 4 ? &bt4[0][0] : &bt2[0][0];
    const double *A = tile == 4 ? &at4[0][0] : &at2[0][0];
    double d[36], o[36], mag[36], absd[36];
    double absB[36], absA[24];
    for (int i = 0; i < nn; i++) absB[i] = fabs(B[i]);
    for (int i = 0; i < tile * n; i++) absA[i] = fabs(A[i]);
    int64_t bad_in = 0, bad_out = 0;
    for (int64_t ci = 0; ci < w->c; ci++)
        for (int64_t t = 0; t < T; t++) {
            const int64_t ty = t / w->tw, tx = t % w->tw;
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) {
                    d[a * n + b] = xp[ci * w->plane +
                                      (tile * ty + a) * w->wp + tile * tx + b];
                    absd[a * n + b] = fabs(d[a * n + b]);
                }
            sandwich(B, n, n, d, o);
            sandwich(absB, n, n, absd, mag);
            for (int i = 0; i < nn; i++)
                bad_in += !(fabs(v[(i * w->c + ci) * T + t] - o[i]) <=
                            2e-6 * mag[i]);
        }
    for (int64_t k = 0; k < w->m; k++)
        for (int64_t t = 0; t < T; t++) {
            const int64_t ty = t / w->tw, tx = t % w->tw;
            for (int i = 0; i < nn; i++) {
                d[i] = mx[(i * w->m + k) * T + t];
                absd[i] = fabs(d[i]);
            }
            sandwich(A, tile, n, d, o);
            sandwich(absA, tile, n, absd, mag);
            for (int a = 0; a < tile; a++)
                for (int b = 0; b < tile; b++) {
                    const int64_t oy = tile * ty + a, ox = tile * tx + b;
                    if (oy >= w->oh || ox >= w->ow) continue;
                    const double want = o[a * tile + b] + bias[k];
                    const double r = want > 0 ? want : 0; /* Relu */
                    bad_out += !(fabs(y[(k * w->oh + oy) * w->ow + ox] - r) <=
                                 2e-6 * (mag[a * tile + b] + fabs(bias[k])));
                }
        }
    CHECKF(!bad_in && !bad_out,
           "F(%dx%d) on %lldx%lld: %lld transformed inputs and %lld outputs "
           "off the plain transforms",
           tile, tile, (long long)w->oh, (long long)w->ow, (long long)bad_in,
           (long long)bad_out);
}

static void run_case(int tile, int64_t c, int64_t m, int64_t oh, int64_t ow,
                     int64_t t0, int64_t t1) {
    const int64_t th = (oh + tile - 1) / tile, tw = (ow + tile - 1) / tile;
    const int64_t T = th * tw, nn = (tile + 2) * (tile + 2);
    const int64_t hp = tile * th + 2;
    const int64_t wp = tile * tw + 2 + (tile == 2 ? 32 : 0);
    const int64_t plane = hp * wp;
    /* slack past the last plane: the loads of a 16-tile group run on */
    float *xp = malloc(sizeof(float) * (size_t)(c * plane + 128));
    for (int64_t i = 0; i < c * plane + 128; i++) xp[i] = kw_test_randf(&g_rng);
    const int64_t nt = t1 - t0;
    float *vall = malloc(sizeof(float) * (size_t)(nn * c * T));
    float *vpart = malloc(sizeof(float) * (size_t)(nn * c * nt));
    struct kw__wino all = {c, m, th, tw, oh, ow, wp, plane, 0, T, T};
    struct kw__wino part = all;
    part.t0 = t0, part.t1 = t1, part.vt = nt;
    g_fns->in[tile / 4](&all, xp, 0, c, vall);
    g_fns->in[tile / 4](&part, xp, 0, c, vpart);
    int bad = 0;
    for (int64_t r = 0; r < nn * c && !bad; r++)
        bad = memcmp(vpart + r * nt, vall + r * T + t0,
                     sizeof(float) * (size_t)nt) != 0;
    CHECKF(!bad, "F(%dx%d) in: tiles [%lld, %lld) of %lldx%lld differ", tile,
           tile, (long long)t0, (long long)t1, (long long)th, (long long)tw);
    /* out: sums for all tiles, and the range's columns of them */
    float *mall = malloc(sizeof(float) * (size_t)(nn * m * T));
    float *mpart = malloc(sizeof(float) * (size_t)(nn * m * nt));
    for (int64_t i = 0; i < nn * m * T; i++) mall[i] = kw_test_randf(&g_rng);
    for (int64_t r = 0; r < nn * m; r++)
        memcpy(mpart + r * nt, mall + r * T + t0, sizeof(float) * (size_t)nt);
    float *bias = malloc(sizeof(float) * (size_t)m);
    for (int64_t i = 0; i < m; i++) bias[i] = kw_test_randf(&g_rng);
    float *yall = malloc(sizeof(float) * (size_t)(m * oh * ow));
    float *ypart = malloc(sizeof(float) * (size_t)(m * oh * ow));
    for (int64_t i = 0; i < m * oh * ow; i++) ypart[i] = SENTINEL;
    g_fns->out[tile / 4](&all, mall, 0, m, bias, KW_ACT_RELU, 0, 0, yall);
    g_fns->out[tile / 4](&part, mpart, 0, m, bias, KW_ACT_RELU, 0, 0, ypart);
    if (t0 == 0 && t1 == T) check_plain(tile, &all, xp, vall, mall, bias, yall);
    int64_t wrong = 0, stray = 0;
    for (int64_t k = 0; k < m; k++)
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x = 0; x < ow; x++) {
                const int64_t t = y / tile * tw + x / tile;
                const int64_t i = (k * oh + y) * ow + x;
                if (t >= t0 && t < t1)
                    wrong += memcmp(&ypart[i], &yall[i], sizeof(float)) != 0;
                else
                    stray += ypart[i] != SENTINEL;
            }
    CHECKF(!wrong && !stray,
           "F(%dx%d) out: tiles [%lld, %lld) of %lldx%lld: %lld outputs "
           "differ, %lld written outside the range",
           tile, tile, (long long)t0, (long long)t1, (long long)th,
           (long long)tw, (long long)wrong, (long long)stray);
    free(xp), free(vall), free(vpart), free(mall), free(mpart), free(bias);
    free(yall), free(ypart);
}

int main(void) {
    /* planes of odd sizes; ranges inside one row, across rows, from and
     * to the edges, the whole plane, longer than 16 tiles of a row */
    static const int64_t planes[][4] = {/* c, m, oh, ow */
                                        {3, 5, 26, 38},
                                        {17, 2, 14, 15},
                                        {2, 3, 9, 70},
                                        {1, 1, 5, 5}};
    int ran = 0;
    for (int isa = KW__ISA_AVX512; isa >= KW__ISA_AVX2; isa--) {
        if ((int)kw__nn_isa() < isa || !(g_fns = kw__wino_fns((enum kw__isa)isa)))
            continue;
        ran = 1;
        for (int tile = 2; tile <= 4; tile += 2)
            for (size_t p = 0; p < sizeof planes / sizeof *planes; p++) {
                const int64_t c = planes[p][0], m = planes[p][1];
                const int64_t oh = planes[p][2], ow = planes[p][3];
                const int64_t tw = (ow + tile - 1) / tile;
                const int64_t T = (oh + tile - 1) / tile * tw;
                const int64_t cuts[][2] = {
                    {0, T},         {0, T / 2},
                    {T / 2, T},     {1, KW_MIN(tw - 1, T)},
                    {tw / 2, KW_MIN(tw / 2 + 2 * tw + 3, T)},
                    {T - 1, T}};
                for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++)
                    if (cuts[k][0] < cuts[k][1])
                        run_case(tile, c, m, oh, ow, cuts[k][0], cuts[k][1]);
            }
    }
    if (!ran) {
        printf("skip: the Winograd transforms need AVX-512 or AVX2\n");
        return 77;
    }
    return kw_test_finish("test_wino_tiles");
}
