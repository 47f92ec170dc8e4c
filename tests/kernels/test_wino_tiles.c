/*
 * test_wino_tiles.c — the Winograd transforms (wino.h) on a range of
 * tiles, as conv_wino.c runs them chunk by chunk: for F(2x2, 3x3) and
 * F(4x4, 3x3), odd planes and ranges that start and end inside tile
 * rows, the input transform of tiles [t0, t1) must give the columns the
 * whole-plane transform gives those tiles, bit for bit, and the output
 * transform must write exactly those tiles' outputs (the same bits as
 * the whole-plane one) and nothing else: a chunk storing past its range
 * would overwrite a neighbour chunk's finished outputs. Needs AVX-512
 * (skipped, 77, without it or under KW_FORCE_REF).
 */
#include <math.h>
#include <string.h>

#include "onnx/ops/nn_internal.h"
#include "onnx/ops/wino.h"
#include "testutil.h"

static uint64_t g_rng = 0x3a770707ull;

#define SENTINEL 12345.0f

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
    if (tile == 4) {
        kw__wino4_in_avx512(&all, xp, 0, c, vall);
        kw__wino4_in_avx512(&part, xp, 0, c, vpart);
    } else {
        kw__wino_in_avx512(&all, xp, 0, c, vall);
        kw__wino_in_avx512(&part, xp, 0, c, vpart);
    }
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
    if (tile == 4) {
        kw__wino4_out_avx512(&all, mall, 0, m, bias, KW_ACT_RELU, 0, 0, yall);
        kw__wino4_out_avx512(&part, mpart, 0, m, bias, KW_ACT_RELU, 0, 0,
                             ypart);
    } else {
        kw__wino_out_avx512(&all, mall, 0, m, bias, KW_ACT_RELU, 0, 0, yall);
        kw__wino_out_avx512(&part, mpart, 0, m, bias, KW_ACT_RELU, 0, 0,
                            ypart);
    }
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
    if (kw__nn_isa() != KW__ISA_AVX512) {
        printf("skip: the Winograd transforms need AVX-512\n");
        return 77;
    }
    /* planes of odd sizes; ranges inside one row, across rows, from and
     * to the edges, the whole plane, longer than 16 tiles of a row */
    static const int64_t planes[][4] = {/* c, m, oh, ow */
                                        {3, 5, 26, 38},
                                        {17, 2, 14, 15},
                                        {2, 3, 9, 70},
                                        {1, 1, 5, 5}};
    for (int tile = 2; tile <= 4; tile += 2)
        for (size_t p = 0; p < sizeof planes / sizeof *planes; p++) {
            const int64_t c = planes[p][0], m = planes[p][1];
            const int64_t oh = planes[p][2], ow = planes[p][3];
            const int64_t tw = (ow + tile - 1) / tile;
            const int64_t T = (oh + tile - 1) / tile * tw;
            const int64_t cuts[][2] = {{0, T},
                                       {0, T / 2},
                                       {T / 2, T},
                                       {1, KW_MIN(tw - 1, T)},
                                       {tw / 2, KW_MIN(tw / 2 + 2 * tw + 3, T)},
                                       {T - 1, T}};
            for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++)
                if (cuts[k][0] < cuts[k][1])
                    run_case(tile, c, m, oh, ow, cuts[k][0], cuts[k][1]);
        }
    return kw_test_finish("test_wino_tiles");
}
