/*
 * conv_ct.c — the channel-vector convolution (conv_ct.h). The packed
 * GEMM copies every kernel tap's window of the input into B panels
 * (through stride-phase planes when strided): on a strided 3x3 or a
 * pointwise layer over a long K on a small plane, that costs about what
 * onnxruntime's channel-blocked layout saves it. Here the input is read
 * where it lies (a zero-bordered copy when the layer pads), each tile
 * broadcasting its pixels against vectors of output channels and
 * writing its output rows directly. Work goes panel by panel, K block by
 * K block over groups of pixel runs, so a block of weights stays in L1
 * while the runs go by; threads take (run chunk, panel) items. Input
 * and output may be in the c16 layout (dwc.h) instead of planes. Entry
 * points: kw__conv_ct, kw__ct_pointwise_part, kw__ct_pack.
 */
#include "onnx/ops/conv_ct.h"

struct ct_job {
    struct kw__ct d;
    int64_t OW, SH, SW, wp;
    int flat;     /* 1x1, stride 1, unpadded: the plane is one long row */
    int64_t ngr;  /* pixel runs per output row (flat: over the plane) */
    int64_t units; /* pixel runs in all */
    int64_t npan;  /* panels of 32 output channels */
    int64_t uch;   /* run chunks per panel (threads share few panels) */
    int xblk;      /* x in the c16 layout: a pixel 16 floats on */
    void (*tile)(const struct kw__ct *, int64_t, const struct kw__ct_blk *,
                 int64_t, int, int64_t, int); /* the ISA's micro-kernel */
    int64_t kc;    /* its K block */
    int gq;        /* runs start at multiples of gq pixels in a row */
    int npr;       /* and take at most npr of them (a multiple of gq) */
};

/* the micro-kernel of the ISA in use (AVX-512 or AVX2) into j: 0 when
 * there is none */
static int ct_isa(struct ct_job *j) {
#if KW_HAVE_X86
    const enum kw__isa isa = kw__nn_isa();
    if (isa == KW__ISA_AVX512) {
        j->tile = kw__ct_tile_avx512, j->kc = KW_CT_KC;
        j->gq = 1, j->npr = KW_CT_NP;
    } else if (isa == KW__ISA_AVX2) { /* its kernel's chunks of 3 pixels */
        j->tile = kw__ct_tile_avx2, j->kc = KW_CT_KC2;
        j->gq = 3, j->npr = 12;
    } else {
        return 0;
    }
    return 1;
#else
    (void)j;
    return 0;
#endif
}

/* the first pixel of run i of ngr over a row of n: runs of near-equal
 * length in granules of gq */
static int64_t run_start(const struct ct_job *j, int64_t i, int64_t n) {
    return KW_MIN(n, i * kw__cdiv(n, j->gq) / j->ngr * j->gq);
}

/* the runs of a row of n pixels */
static int64_t run_count(const struct ct_job *j, int64_t n) {
    return kw__cdiv(kw__cdiv(n, j->gq), j->npr / j->gq);
}

/* run u: its first output pixel, count and input offset */
static int ct_run(const struct ct_job *j, int64_t u, int64_t *q0,
                  int64_t *xo) {
    int64_t n;
    if (j->flat) {
        *q0 = run_start(j, u, j->d.OHOW);
        n = run_start(j, u + 1, j->d.OHOW) - *q0;
        *xo = j->xblk ? *q0 * 16 : *q0;
    } else {
        const int64_t oh = u / j->ngr, gi = u % j->ngr;
        const int64_t ow0 = run_start(j, gi, j->OW);
        n = run_start(j, gi + 1, j->OW) - ow0;
        *q0 = oh * j->OW + ow0;
        *xo = (oh * j->SH * j->wp + ow0 * j->SW) * (j->xblk ? 16 : 1);
    }
    return (int)n;
}

/* runs in a group: their partial sums (28 KiB) live on the stack */
#define CT_GROUP 16

/* runs [u0, u1) of panel p: groups of runs, each taken K block by K
 * block, so a block of the panel's weights stays in L1 while the
 * group's runs go by (their partial sums wait in part) */
static void ct_runs(const struct ct_job *j, int64_t p, int64_t u0,
                    int64_t u1) {
    _Alignas(64) float part[CT_GROUP * KW_CT_NP * KW_CT_MV];
    const int64_t kc = j->kc;
    for (int64_t g0 = u0; g0 < u1; g0 += CT_GROUP) {
        const int64_t g1 = KW_MIN(u1, g0 + CT_GROUP);
        for (int64_t k0 = 0; k0 < j->d.kdim; k0 += kc) {
            struct kw__ct_blk b = {k0, KW_MIN(kc, j->d.kdim - k0),
                                   k0 == 0, k0 + kc >= j->d.kdim, 0,
                                   NULL};
            for (int64_t u = g0; u < g1; u++) {
                int64_t q0, xo;
                const int n = ct_run(j, u, &q0, &xo);
                b.part = part + (u - g0) * KW_CT_NP * KW_CT_MV;
                b.pf = u == g0;
                j->tile(&j->d, p, &b, xo, (int)j->SW * (j->xblk ? 16 : 1),
                        q0, n);
            }
        }
    }
}

/* items: a chunk of runs for one panel, the chunks outer (the threads'
 * shares of items are then shares of the plane's rows, as in the layers
 * around: kw__claim) */
static void ct_items(void *arg, int64_t i0, int64_t i1) {
    struct ct_job *j = arg;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t p = i % j->npan, uc = i / j->npan;
        ct_runs(j, p, uc * j->units / j->uch, (uc + 1) * j->units / j->uch);
    }
}

/* the runs of a pointwise, unstrided, unpadded layer: the plane as one
 * long row */
static void ct_flat(struct ct_job *j) {
    j->flat = 1;
    j->ngr = run_count(j, j->d.OHOW);
    j->units = j->ngr;
}

void kw__ct_pointwise_part(const struct kw__ct *d, int xblk, int64_t p,
                           int64_t part, int64_t nparts) {
    struct ct_job j = {.d = *d, .OW = d->OHOW, .SH = 1, .SW = 1,
                       .wp = d->OHOW, .npan = 1, .uch = 1, .xblk = xblk};
    if (!ct_isa(&j)) return;
    ct_flat(&j);
    ct_runs(&j, p, part * j.units / nparts, (part + 1) * j.units / nparts);
}

void kw__ct_pack(const float *w, int64_t M, int64_t kdim, int pw,
                 float *out) {
    const int64_t np = kw__cdiv(M, pw);
    for (int64_t p = 0; p < np; p++)
        for (int64_t k = 0; k < kdim; k++)
            for (int r = 0; r < pw; r++) {
                const int64_t m = p * pw + r;
                out[(p * kdim + k) * pw + r] = m < M ? w[m * kdim + k] : 0.0f;
            }
}

/* The weights as panels of 32 output channels (kdim x 32 each), made
 * at the first run that takes this path; NULL: not prepared (weights
 * not constant) or out of memory. */
static const float *ct_weights(struct kw__conv_pack *pk, const float *w,
                               int64_t M, int64_t kdim) {
    if (!pk || pk->group != 1 || pk->Mg != M || pk->Kdim != kdim) return NULL;
    if (!pk->ct && !pk->ct_tried) {
        pk->ct_tried = 1;
        const int64_t np = kw__cdiv(M, KW_CT_MV);
        float *ct = kw__conv_pack_alt(
            pk, kw__nn_prod((int64_t[]){np, kdim, KW_CT_MV}, 3));
        if (!ct) return NULL;
        kw__ct_pack(w, M, kdim, KW_CT_MV, ct);
        pk->ct = ct;
    }
    return pk->ct;
}

int kw__conv_ct(struct kw__op_ctx *c, const struct kw__nn_geom *g, int64_t N,
                int64_t C, int64_t M, int64_t group, const float *x,
                const float *w, const float *bias, const float *res, float *y,
                int act, int blk, enum kw_status *st) {
    struct ct_job j = {0};
    if (!ct_isa(&j) || g->nsp != 2 || group != 1 || !kw__ukr_ex_act_ok(act))
        return 0;
    const int64_t IH = g->in[0], IW = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->k[0], KW = g->k[1], SH = g->s[0], SW = g->s[1];
    const int64_t DH = g->d[0], DW = g->d[1], KK = KH * KW, kdim = C * KK;
    const int pad = g->pb[0] || g->pb[1] || g->pe[0] || g->pe[1];
    const int xblk = !!(blk & KW_BLK_X), yblk = !!(blk & KW_BLK_Y),
              rblk = res && (blk & KW_BLK_R);
    if ((xblk && (KK != 1 || SH != SW || pad || C % 16)) ||
        (yblk && (M % 16 || (res && !rblk))))
        return 0;
    if ((SW != 1 && SW != 2) || SH < 1 || SH > 64 || g->pb[0] < 0 ||
        g->pb[1] < 0 || g->pe[0] < 0 || g->pe[1] < 0 || DH > 64 || DW > 64 ||
        (kdim < 128 && !blk))
        return 0;
    /* where it beats the packed GEMM in the networks (ResNet-50,
     * MobileNetV2): strided kernels up to 32x32 out, which the GEMM
     * reads through phase planes, and stride-1 layers on small planes,
     * whose input stays in L2 while every panel reads it (on bigger
     * planes the GEMM's packed B, kept in L1, wins; a strided pointwise
     * layer would use half of each line it reads); and when the
     * panels (of 32 channels, the last of 16 when that is enough)
     * waste under a tenth of their lanes */
    const int64_t npx = OH * OW, mpad = kw__cdiv(M, 16) * 16;
    if (!blk && (!(SW == 1 ? npx <= 256 : KK > 1 && npx <= 1024) ||
                 (mpad - M) * 10 >= mpad))
        return 0;
    /* with AVX2 (3 pixels a chunk, conv_ct_avx2.c): strided kernels
     * but onto 7x7 (a 3x3/2 one from 512 channels there 8.2 -> 8.5 ms;
     * 28x28 -> 14x14 7.8 -> 7.3). The pointwise layers it would take
     * go to the pixel-vector path (conv_pv.c) first */
    if (!blk && kw__nn_isa() == KW__ISA_AVX2 &&
        (SW == 1 ? npx > 64 && M > C : npx <= 64))
        return 0;
    const float *wt = ct_weights(c->node->state, w, M, kdim);
    if (!wt) return 0;
    const int64_t hp = pad ? KW_MAX(IH + g->pb[0] + g->pe[0],
                                    (OH - 1) * SH + (KH - 1) * DH + 1)
                           : IH;
    const int64_t wp = pad ? KW_MAX(IW + g->pb[1] + g->pe[1],
                                    (OW - 1) * SW + (KW - 1) * DW + 1)
                           : IW;
    const int64_t plane = hp * wp;
    if (plane > ((int64_t)1 << 30) / KW_MAX(C, (int64_t)1)) return 0;
    struct kw_onnx_value *hold = NULL;
    float *xp = pad ? kw__conv_scratch_get(c, C * plane, &hold) : NULL;
    int64_t *roff = malloc((size_t)kdim * sizeof *roff);
    if (!roff || (pad && !xp)) {
        kw__conv_scratch_put(c, hold);
        free(roff);
        *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        return 1;
    }
    for (int64_t k = 0; k < kdim; k++) {
        const int64_t kk = k % KK;
        roff[k] = xblk ? k / 16 * plane * 16 + k % 16
                       : k / KK * plane + kk / KW * DH * wp + kk % KW * DW;
    }
    j.d = (struct kw__ct){NULL, roff, kdim, wt, bias, NULL, NULL, M, OH * OW,
                          yblk, rblk, KW_CT_MV, act, c->node->act_alpha,
                          c->node->act_beta};
    j.OW = OW, j.SH = SH, j.SW = SW, j.wp = wp;
    j.npan = kw__cdiv(M, KW_CT_MV), j.uch = 1, j.xblk = xblk;
    if (KK == 1 && SH == 1 && SW == 1 && !pad) {
        ct_flat(&j);
    } else {
        j.ngr = run_count(&j, OW);
        j.units = OH * j.ngr;
    }
    const int nth = kw__nn_threads(c);
    const int par =
        nth > 1 && 2.0 * (double)M * (double)(OH * OW) * (double)kdim > 4e5;
    /* threads share the pixels, unless the weights outweigh the input
     * and the panels split evenly: then each reads only its panels' */
    if (par && j.npan < 8 * nth && !(M > OH * OW && j.npan % nth == 0))
        j.uch = KW_MIN(j.units, kw__cdiv(8 * nth, j.npan));
    /* and in chunks whose input (as read) stays in L2 while every panel
     * reads it, where reading all the weights once a chunk costs less
     * than reading the input once a panel (a strided layer on a big
     * plane; not a 3x3 layer's many weights) */
    const double in_bytes = (double)j.units * j.npr * (double)kdim * 4,
                 w_bytes = (double)M * (double)kdim * 4;
    const int64_t uch_l2 = (int64_t)(in_bytes / (256 << 10)) + 1;
    if (j.npan > 1 && (double)uch_l2 * w_bytes * 2 < (double)j.npan * in_bytes)
        j.uch = KW_MIN(j.units, KW_MAX(j.uch, uch_l2));
    const int slot0 = 0;
    for (int64_t b = 0; b < N; b++) {
        const float *xb = x + b * C * IH * IW;
        if (pad) {
            struct kw__phase_job pj = {xb, xp, IH, IW, hp, wp, g->pb[0],
                                       g->pb[1], 1, 1, &slot0, 1, 0, 0};
            kw__phase_run(par ? c : NULL, &pj, C);
            xb = xp;
        }
        j.d.x = xb;
        j.d.y = y + b * M * OH * OW;
        j.d.res = res ? res + b * M * OH * OW : NULL;
        kw__nn_parallel(par ? c : NULL, j.npan * j.uch, 1, ct_items, &j);
    }
    kw__conv_scratch_put(c, hold);
    free(roff);
    *st = KW_STATUS_OK;
    return 1;
}
