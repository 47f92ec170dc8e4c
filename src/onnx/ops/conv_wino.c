/*
 * conv_wino.c — float32 3x3 stride-1 Conv by Winograd with AVX-512 or AVX2:
 * F(2x2, 3x3) (16 products per 2x2 output tile instead of 36) and, on
 * planes with enough 4x4 tiles, F(4x4, 3x3) (36 per 4x4 tile instead of
 * 144). The input tiles and the weights are transformed (wino.h; the
 * weights once, by the first run that needs them), the
 * transformed planes multiplied as 16 or 36 GEMMs (U_xi (M x C) by V_xi
 * (C x tiles)) on the packed kernels (conv_gemm.c), and the sums
 * transformed back with bias and activation. The tiles go in chunks of
 * about KW_WINO_CW, each transformed in, multiplied and transformed out
 * by one thread while its share of V and of the sums stays in L2, all
 * chunks on one pool run (with a run per step and per GEMM, ResNet-50's
 * 56x56 layers took 0.74 ms at 2 threads; so, 0.54). Rounding differs from the
 * direct sum by a few ulps of the larger terms (F(4x4)'s a few more).
 * Entry point: kw__conv_wino.
 */
#include "onnx/ops/conv_internal.h"
#include "onnx/ops/dwc.h"
#include "onnx/ops/wino.h"

#define KW_WINO_CW 64 /* tiles a chunk */

/* Worth it and possible: 2-D 3x3, stride and dilation 1, one group,
 * AVX-512 or AVX2, enough channels that the GEMMs dominate the
 * transforms, and at least 32 tiles with AVX-512 (with fewer, the 16
 * transformed weight matrices, 16/9 of the weights, are streamed for too
 * little work), 16 with AVX2: there a 7x7 plane's 49 columns fill 49/64
 * of the GEMM's panels, and its 16 tiles all of them, so ResNet-50's
 * 512-channel layers take half the time (8.4 -> 4.1 ms). */
static int wino_fits(const struct kw__nn_geom *g, int64_t Cg, int64_t Mg,
                     int64_t group, enum kw__isa isa) {
    const int64_t min_tiles = isa == KW__ISA_AVX2 ? 16 : 32;
    return g->nsp == 2 && g->k[0] == 3 && g->k[1] == 3 && g->s[0] == 1 &&
           g->s[1] == 1 && g->d[0] == 1 && g->d[1] == 1 && group == 1 &&
           Cg >= 16 && Mg >= 16 &&
           (g->out[0] + 1) / 2 * ((g->out[1] + 1) / 2) >= min_tiles &&
           g->pb[0] >= 0 && g->pb[1] >= 0 && g->pe[0] >= 0 && g->pe[1] >= 0;
}

struct wino_job {
    struct kw__wino w;
    const float *xp, *bias;
    float *y;
    int act;
    float aa, ab;
    int tile;    /* outputs across a tile: 2 or 4 */
    int64_t nch; /* chunks of tiles */
    int64_t mparts; /* shares of the output channels a chunk comes in */
    float *buf;  /* per thread: the chunk's v and mx */
    int64_t per; /* floats a thread */
    int64_t *roff; /* per thread: C row offsets */
    struct kw__cg_job gj; /* the GEMMs, but for the chunk's columns */
    kw__wino_in_fn *in;
    kw__wino_out_fn *out;
    struct kw__claim claim;
    int failed;
};

/* Item it on thread ith: chunk it / mparts of the tiles transformed in
 * (all channels), multiplied as nn GEMMs and transformed out for share
 * it % mparts of the output channels, while its v and mx (a share of the
 * plane) stay in L2; items go to threads as kw__claim hands them out, so
 * each reads the rows the layers before wrote on its core. */
static void wino_chunk(struct wino_job *j, int ith, int64_t it) {
    const int64_t i = it / j->mparts, mp = it % j->mparts;
    const int64_t T = j->w.th * j->w.tw, C = j->w.c, M = j->w.m;
    struct kw__wino w = j->w;
    w.t0 = T * i / j->nch;
    w.t1 = T * (i + 1) / j->nch;
    w.vt = w.t1 - w.t0;
    const int64_t nn = (j->tile + 2) * (j->tile + 2);
    float *v = j->buf + ith * j->per, *mx = v + nn * C * w.vt;
    int64_t *roff = j->roff + ith * C;
    j->in(&w, j->xp, 0, C, v);
    for (int64_t r = 0; r < C; r++) roff[r] = r * w.vt;
    struct kw__cg_job gj = j->gj;
    gj.q = (struct kw__cg_geom){1, w.vt, 1, w.vt, 1, 1, 1, 1, 1, 1, 0, 0};
    gj.wp = gj.ncols = w.vt;
    gj.nc = kw__cdiv(w.vt, gj.pk->nr) * gj.pk->nr;
    gj.roff = roff;
    gj.x = v;
    gj.y = mx;
    gj.bx = C * w.vt;
    gj.by = M * w.vt;
    /* share mp: row tiles mp of mparts (kw__cg_tiles' split) */
    gj.tm = j->mparts;
    kw__cg_tiles(&gj, mp * nn, (mp + 1) * nn);
    if (gj.failed) __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
    const int64_t mr = gj.pk->mr, np = kw__cdiv(M, mr);
    const int64_t m0 = KW_MIN(M, mp * np / j->mparts * mr),
                  m1 = KW_MIN(M, (mp + 1) * np / j->mparts * mr);
    j->out(&w, mx, m0, m1, j->bias, j->act, j->aa, j->ab, j->y);
}

static void wino_pool(void *arg, int ith, int nth) {
    (void)nth;
    struct wino_job *j = arg;
    int64_t i0, i1;
    while (kw__claim_next(&j->claim, ith, &i0, &i1))
        for (int64_t i = i0; i < i1; i++) wino_chunk(j, ith, i);
}

/* The packed weights for 4x4 tiles when the plane has 16 of them or
 * more (F(4x4, 3x3) does 36 products per 16 outputs where F(2x2, 3x3)
 * does 64) and the channels are few enough, else for 2x2 tiles; each
 * made on first use from w. NULL: no Winograd for this node (not
 * prepared, or out of memory). */
static const struct kw__conv_pack *wino_weights(struct kw__conv_pack *own,
                                                const float *w, int64_t C,
                                                int64_t M, int64_t OH,
                                                int64_t OW, int *tile) {
    if (!own || !kw__wino_fns(own->isa) || !own->wino_unit ||
        own->Mg != M || own->Kdim != 9 * C)
        return NULL;
    /* (4x4 tiles round a little worse: up to 128 channels summed, where
     * they stay within the tests' tolerance) */
    *tile = kw__cdiv(OH, 4) * kw__cdiv(OW, 4) >= 16 && C <= 128 ? 4 : 2;
    struct kw__conv_pack **slot = *tile == 4 ? &own->wino4 : &own->wino;
    int *tried = *tile == 4 ? &own->wino4_tried : &own->wino_tried;
    if (!*slot && !*tried) {
        *tried = 1;
        *slot = kw__wino_pack_new(w, M, C, *tile, own->isa);
    }
    return *slot;
}

const struct kw__wino_fns *kw__wino_fns(enum kw__isa isa) {
#if KW_HAVE_X86
    static const struct kw__wino_fns avx512 = {
        {kw__wino_in_avx512, kw__wino4_in_avx512},
        {kw__wino_out_avx512, kw__wino4_out_avx512}};
    static const struct kw__wino_fns avx2 = {
        {kw__wino_in_avx2, kw__wino4_in_avx2},
        {kw__wino_out_avx2, kw__wino4_out_avx2}};
    if (isa == KW__ISA_AVX512 && kw__cpu_has(KW__ISA_AVX512)) return &avx512;
    if (isa == KW__ISA_AVX2 && kw__cpu_has(KW__ISA_AVX2)) return &avx2;
#endif
    (void)isa;
    return NULL;
}

int kw__conv_wino(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                     int64_t N, int64_t C, int64_t M, int64_t group,
                     const float *x, const float *w, const float *bias,
                     float *y, const struct kw__nn_kern *kern, int act,
                     enum kw_status *st) {
#if KW_HAVE_X86
    if (!kw__wino_fns(kw__nn_isa()) ||
        !wino_fits(g, C / group, M / group, group, kw__nn_isa()))
        return 0;
    const int64_t OH = g->out[0], OW = g->out[1];
    int tile = 2;
    /* only with weights transformed once (at the first run): per run it
     * would cost about what it saves */
    const struct kw__conv_pack *up =
        wino_weights(c->node->state, w, C, M, OH, OW, &tile);
    const struct kw__wino_fns *fns = up ? kw__wino_fns(up->isa) : NULL;
    if (!fns) return 0;
    const int64_t nn = (tile + 2) * (tile + 2); /* products per tile */
    const int64_t th = kw__cdiv(OH, tile), tw = kw__cdiv(OW, tile), T = th * tw;
    const int64_t hp = KW_MAX(g->in[0] + g->pb[0] + g->pe[0], tile * th + 2);
    /* F(2x2)'s loads run up to 32 floats past a row's last tile;
     * F(4x4)'s up to 80 past the last plane (the slack below) */
    const int64_t wp = KW_MAX(g->in[1] + g->pb[1] + g->pe[1], tile * tw + 2) +
                       (tile == 2 ? 32 : 0);
    const int nth = kw__nn_threads(c);
    const int par = nth > 1 && (double)M * (double)T * (double)C > 2e5;
    const int nt = par ? nth : 1;
    /* chunks of about KW_WINO_CW tiles, as many for each thread; with
     * AVX2, a plane of fewer chunks than threads (7x7, 14x14) is one
     * chunk whose output channels the threads share, each streaming its
     * share of the transformed weights rather than all of them (ResNet-
     * 50's 7x7 layers ran 1.1 times faster on two threads than on one) */
    const int64_t mparts =
        nt > 1 && up->isa == KW__ISA_AVX2 && kw__cdiv(T, KW_WINO_CW) < nt
            ? nt
            : 1;
    const int64_t nch =
        mparts > 1 ? 1 : kw__cdiv(kw__cdiv(T, KW_WINO_CW), nt) * nt;
    const int64_t cw = kw__cdiv(T, nch);
    struct wino_job j = {.w = {C, M, th, tw, OH, OW, wp, hp * wp, 0, T, T},
                         .bias = bias,
                         .act = kw__dwc_act_ok(act) ? act : KW_ACT_NONE,
                         .aa = c->node->act_alpha,
                         .ab = c->node->act_beta,
                         .tile = tile,
                         .in = fns->in[tile / 4],
                         .out = fns->out[tile / 4],
                         .nch = nch,
                         .mparts = mparts,
                         .per = nn * (C + M) * cw};
    j.gj = (struct kw__cg_job){.pk = up, .kern = kern, .flat = 1, .tm = 1,
                               .tn = 1, .nbat = nn, .apack = up->a,
                               .ba = up->mgpad * C,
                               .mc = kw__cdiv(M, up->mr) * up->mr};
    const int64_t nx = kw__nn_prod((int64_t[]){C, hp * wp}, 2);
    struct kw_onnx_value *hx, *hb;
    float *xp = kw__conv_scratch_get(c, nx + 96, &hx);
    j.buf = kw__conv_scratch_get(c, j.per * nt, &hb);
    j.roff = malloc((size_t)(C * nt) * sizeof *j.roff);
    if (xp) memset(xp + nx, 0, 96 * sizeof(float));
    const int slot0 = 0;
    for (int64_t b = 0; b < N && xp && j.buf && j.roff && !j.failed; b++) {
        struct kw__phase_job pj = {x + b * C * g->in[0] * g->in[1],
                               xp, g->in[0], g->in[1], hp, wp, g->pb[0],
                               g->pb[1], 1, 1, &slot0, 1, 0, 0};
        kw__phase_run(par ? c : NULL, &pj, C);
        j.xp = xp;
        j.y = y + b * M * OH * OW;
        kw__claim_init(&j.claim, nch * mparts, 1, nt);
        if (par) kw__pool_run_shared(kw__exec_pool(c->exec), wino_pool, &j);
        else wino_pool(&j, 0, 1);
        if (act && !j.act) kern->act(j.y, M * OH * OW, act, j.aa, j.ab);
    }
    if (!xp || !j.buf || !j.roff) j.failed = 1;
    kw__conv_scratch_put(c, hx);
    kw__conv_scratch_put(c, hb);
    free(j.roff);
    *st = j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                   : KW_STATUS_OK;
    return 1;
#else
    (void)c, (void)g, (void)N, (void)C, (void)M, (void)group, (void)x;
    (void)w, (void)bias, (void)y, (void)kern, (void)act, (void)st;
    return 0;
#endif
}
