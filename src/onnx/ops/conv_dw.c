/*
 * conv_dw.c — float32 depthwise 2-D Conv (one input channel per group):
 * tiny planes 16 channels at a time with AVX-512 (conv_dwc_avx512.c),
 * else the SIMD kernel of nn_kern.h plane by plane, with bias and the
 * fused activation. Entry point: kw__conv_dw.
 */
#include "onnx/ops/conv_internal.h"
#include "onnx/ops/dwc.h"

/* ---- plane by plane with the SIMD kernel of nn_kern.h ---- */

struct dwk_job {
    const struct kw__nn_geom *g;
    const float *x, *w, *bias;
    float *y;
    int64_t C, M, Mg;
    const struct kw__nn_kern *kern;
    int act;
    float aa, ab;
    int failed;
};

static void dwk_planes(void *arg, int64_t p0, int64_t p1) {
    struct dwk_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    struct kw__dw2d d = {g->in[0], g->in[1], g->out[0], g->out[1],
                         g->k[0],  g->k[1],  g->s[0],   g->s[1],
                         g->d[0],  g->d[1],  g->pb[0],  g->pb[1],
                         NULL,     0.0f,     j->act,    j->aa,
                         j->ab,    NULL,     0,         0};
    d.hp = KW_MAX(d.ih + d.pt, (d.oh - 1) * d.sh + (d.kh - 1) * d.dh + 1);
    d.wp = KW_MAX(d.iw + d.pl, (d.ow - 1) * d.sw + (d.kw - 1) * d.dw + 1);
    const int64_t padn = kw__nn_prod((int64_t[]){d.hp, d.wp}, 2);
    if (padn < 0 || padn > ((int64_t)1 << 40) ||
        !(d.pad = calloc((size_t)padn + 32, sizeof(float)))) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    const int64_t insz = g->in[0] * g->in[1], outsz = g->out[0] * g->out[1];
    for (int64_t p = p0; p < p1; p++) {
        const int64_t n = p / j->M, oc = p % j->M, ic = oc / j->Mg;
        d.w = j->w + oc * g->k[0] * g->k[1];
        d.bias = j->bias ? j->bias[oc] : 0.0f;
        j->kern->dw2d(&d, j->x + (n * j->C + ic) * insz, j->y + p * outsz);
    }
    free(d.pad);
}

/* ---- small planes, 16 channels a block (conv_dwc_avx512.c) ---- */

struct dwc_job {
    struct kw__dwc d;
    const float *x, *w, *bias;
    float *y;
    int64_t C, blocks_per_image;
    const struct kw__nn_kern *kern;
    int act; /* left to do after the block: not Relu / Clip */
    float aa, ab;
    int failed;
};

static void dwc_blocks(void *arg, int64_t b0, int64_t b1) {
    struct dwc_job *j = arg;
    const int64_t n = kw__dwc_scratch_floats(&j->d);
    float *scratch = n > 0 && n < ((int64_t)1 << 30)
                         ? malloc((size_t)n * sizeof(float))
                         : NULL;
    if (!scratch) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    const int64_t isz = j->d.ih * j->d.iw, osz = j->d.oh * j->d.ow,
                  KK = j->d.kh * j->d.kw;
    for (int64_t b = b0; b < b1; b++) {
        const int64_t img = b / j->blocks_per_image,
                      c0 = b % j->blocks_per_image * 16;
        const int nch = (int)KW_MIN((int64_t)16, j->C - c0);
        float *y = j->y + (img * j->C + c0) * osz;
        kw__dwc_block_avx512(&j->d, nch, j->x + (img * j->C + c0) * isz,
                             j->w + c0 * KK, j->bias ? j->bias + c0 : NULL, y,
                             scratch);
        if (j->act) j->kern->act(y, nch * osz, j->act, j->aa, j->ab);
    }
    free(scratch);
}

/* 1 when the channel-blocked kernel applies (and ran: *st set) */
static int conv_dwc(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                    int64_t N, int64_t C, const float *x, const float *w,
                    const float *bias, float *y,
                    const struct kw__nn_kern *kern, int act, float aa,
                    float ab, enum kw_status *st) {
#if KW_HAVE_X86
    /* tiny planes only (7x7: 2.5 times faster in a model); from 14x14
     * on, rows vectorise well enough plane by plane and the transposes
     * cost more than they save */
    if (kw__nn_isa() != KW__ISA_AVX512 || g->out[0] * g->out[1] > 100 ||
        g->in[0] * g->in[1] > 100 ||
        g->k[0] * g->k[1] > 64 || g->pb[0] < 0 || g->pb[1] < 0)
        return 0;
    struct dwc_job j = {{g->in[0], g->in[1], g->out[0], g->out[1], g->k[0],
                         g->k[1], g->s[0], g->s[1], g->d[0], g->d[1],
                         g->pb[0], g->pb[1], act, aa, ab},
                        x, w, bias, y, C, (C + 15) / 16, kern,
                        kw__dwc_act_ok(act) ? 0 : act, aa, ab, 0};
    kw__nn_parallel(c, N * j.blocks_per_image, 1, dwc_blocks, &j);
    *st = j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                   : KW_STATUS_OK;
    return 1;
#else
    (void)c, (void)g, (void)N, (void)C, (void)x, (void)w, (void)bias;
    (void)y, (void)kern, (void)act, (void)aa, (void)ab, (void)st;
    return 0;
#endif
}

enum kw_status kw__conv_dw(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                           int64_t N, int64_t C, int64_t M, const float *x,
                           const float *w, const float *bias, float *y,
                           const struct kw__nn_kern *kern, int act, float aa,
                           float ab) {
    enum kw_status st = KW_STATUS_OK;
    if (M == C && conv_dwc(c, g, N, C, x, w, bias, y, kern, act, aa, ab, &st))
        return st;
    struct dwk_job j = {g, x, w, bias, y, C, M, M / C, kern, act, aa, ab, 0};
    kw__nn_parallel(c, N * M, 1, dwk_planes, &j);
    return j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                    : KW_STATUS_OK;
}
