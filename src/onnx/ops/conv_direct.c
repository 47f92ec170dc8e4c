/*
 * conv_direct.c — the direct convolution for layers with few input
 * channels (conv_direct.h). A 3-channel stem has a K of 27 to 147 and
 * writes a big output: packing B for the GEMM, and the flat grid's
 * garbage columns copied out afterwards, would cost as much as the FMAs.
 * Here the stride-phase planes are built once and the micro-kernel reads
 * each kernel tap's row of them in place, writing the output rows
 * directly; threads take output rows. Entry point: kw__conv_direct.
 */
#include "onnx/ops/conv_direct.h"
#include "onnx/ops/dwc.h"

struct convd_job {
    struct kw__convd d;
    float *y;
    void (*row)(const struct kw__convd *d, int64_t oh, float *y);
};

static void convd_rows(void *arg, int64_t r0, int64_t r1) {
    const struct convd_job *j = arg;
    for (int64_t oh = r0; oh < r1; oh++) j->row(&j->d, oh, j->y);
}

int kw__conv_direct(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                    int64_t N, int64_t C, int64_t M, int64_t group,
                    const float *x, const float *w, const float *bias,
                    const float *res, float *y, const struct kw__nn_kern *kern,
                    int act, enum kw_status *st) {
    void (*row)(const struct kw__convd *, int64_t, float *) = NULL;
#if KW_HAVE_X86
    if (kw__nn_isa() == KW__ISA_AVX512) row = kw__convd_row_avx512;
    else if (kw__nn_isa() == KW__ISA_AVX2) row = kw__convd_row_avx2;
#endif
    if (!row || g->nsp != 2 || group != 1 || C > 4 || res || M > 4096)
        return 0;
    const int64_t IH = g->in[0], IW = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->k[0], KW = g->k[1], SH = g->s[0], SW = g->s[1];
    const int64_t DH = g->d[0], DW = g->d[1];
    const int64_t kdim = C * KH * KW;
    if (kdim > 256 || SH > 2 || SW > 2 || g->pb[0] < 0 || g->pb[1] < 0 ||
        g->pe[0] < 0 || g->pe[1] < 0 || DH > 64 || DW > 64)
        return 0;
    /* phase (a, b) of channel ci at (ci * nph + a*SW + b) * plane */
    const int64_t nph = SH * SW;
    const int64_t hp2 = KW_MAX(kw__cdiv(IH + g->pb[0] + g->pe[0], SH),
                               OH + (KH - 1) * DH / SH);
    const int64_t wp2 = KW_MAX(kw__cdiv(IW + g->pb[1] + g->pe[1], SW),
                               OW + (KW - 1) * DW / SW);
    const int64_t plane = hp2 * wp2;
    if (plane > ((int64_t)1 << 28) / nph) return 0;
    int slot[4] = {0, 1, 2, 3};
    struct kw_onnx_value *hold = NULL;
    float *xp = kw__conv_scratch_get(c, C * nph * plane, &hold);
    const int64_t np = kw__cdiv(M, KW_CONVD_MR);
    float *ap = calloc((size_t)(np * kdim * KW_CONVD_MR), sizeof(float));
    int64_t *roff = malloc((size_t)kdim * sizeof *roff);
    if (!xp || !ap || !roff) {
        kw__conv_scratch_put(c, hold);
        free(ap);
        free(roff);
        *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        return 1;
    }
    /* weights (M, C, KH, KW) as panels of 8 output channels, k-major */
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < kdim; k++)
            ap[(m / KW_CONVD_MR * kdim + k) * KW_CONVD_MR + m % KW_CONVD_MR] =
                w[m * kdim + k];
    for (int64_t k = 0; k < kdim; k++) {
        const int64_t kk = k % (KH * KW), dy = kk / KW * DH, dx = kk % KW * DW;
        roff[k] = ((k / (KH * KW)) * nph + (dy % SH) * SW + dx % SW) * plane +
                  dy / SH * wp2 + dx / SW;
    }
    struct convd_job j = {{xp, roff, kdim, wp2, OW, OH * OW, M, ap, bias,
                           kw__ukr_ex_act_ok(act) ? act : 0,
                           c->node->act_alpha, c->node->act_beta},
                          NULL, row};
    const int deint = SW == 2 ? kw__deint2_isa() : 0;
    for (int64_t b = 0; b < N; b++) {
        struct kw__phase_job pj = {x + b * C * IH * IW, xp, IH, IW, hp2, wp2,
                                   g->pb[0], g->pb[1], SH, SW, slot,
                                   (int)nph, deint, 0};
        kw__phase_run(c, &pj, C);
        j.y = y + b * M * OH * OW;
        kw__nn_parallel(c, OH, 1, convd_rows, &j);
        if (!kw__ukr_ex_act_ok(act))
            kern->act(j.y, M * OH * OW, act, j.d.a, j.d.b);
    }
    kw__conv_scratch_put(c, hold);
    free(ap);
    free(roff);
    *st = KW_STATUS_OK;
    return 1;
}
