/*
 * conv_pv.c — the pixel-vector pointwise convolution (conv_pv.h): the
 * weights as pairs of output channels, made at the first run that takes
 * this path; the input's rows read in place where each tile's row is a
 * whole number of aligned vectors, else copied first into tiles of 48
 * pixels (a 7x7 or 14x14 plane's rows sit at every alignment, and a
 * load across two cache lines costs two); the pixels past the last
 * vector copied as columns. Threads take (chunk of pairs, tile) items,
 * each its pairs' weights. Entry point: kw__conv_pv.
 */
#include "onnx/ops/conv_pv.h"
#include "onnx/ops/conv_ct.h"

#define PV_TILE (8 * KW_PV_V) /* pixels a tile */

struct pv_job {
    struct kw__pv d;
    const float *x; /* the image's input planes */
    float *xp;      /* the tiles (tile t at t * K * 48), or NULL: in place */
    float *xd;      /* the columns of the last r pixels */
    int64_t nvec;   /* whole vectors of pixels in a plane */
    int64_t ntile;  /* tiles of them (the last may be narrower) */
    int64_t r;      /* pixels past them */
    int64_t items_t; /* items a chunk of pairs: the tiles, and the columns */
    int64_t npair, nchunk;
    int64_t kc;     /* K block */
};

/* vectors in tile t */
static int tile_vecs(const struct pv_job *j, int64_t t) {
    return (int)KW_MIN((int64_t)KW_PV_V, j->nvec - t * KW_PV_V);
}

/* input rows [k0, k1) into the tiles and the columns */
static void pv_pack(void *arg, int64_t k0, int64_t k1) {
    const struct pv_job *j = arg;
    const int64_t HW = j->d.HW, K = j->d.K, q0 = j->nvec * 8;
    for (int64_t k = k0; k < k1; k++) {
        const float *row = j->x + k * HW;
        if (j->xp)
            for (int64_t t = 0; t < j->ntile; t++) {
                const int v = tile_vecs(j, t);
                memcpy(j->xp + t * K * PV_TILE + k * 8 * v,
                       row + t * PV_TILE, (size_t)v * 8 * sizeof(float));
            }
        for (int64_t i = 0; i < j->r; i++) {
            float *c = j->xd + i * 2 * j->d.K4 + 2 * k;
            c[0] = c[1] = row[q0 + i];
        }
    }
}

/* items: (chunk of pairs, tile or columns), the chunks outer, so each
 * thread's share of items is a share of the pairs: of the weights */
static void pv_items(void *arg, int64_t i0, int64_t i1) {
    const struct pv_job *j = arg;
    const int64_t K = j->d.K;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t ch = i / j->items_t, t = i % j->items_t;
        const int64_t p0 = ch * j->npair / j->nchunk,
                      p1 = (ch + 1) * j->npair / j->nchunk;
        if (t == j->ntile) {
            kw__pv_cols_avx2(&j->d, p0, p1, j->xd, (int)j->r, j->nvec * 8);
            continue;
        }
        const int v = tile_vecs(j, t);
        const int64_t ldx = j->xp ? 8 * v : j->d.HW;
        const float *xt =
            j->xp ? j->xp + t * K * PV_TILE : j->x + t * PV_TILE;
        for (int64_t k0 = 0; k0 < K; k0 += j->kc) {
            const int64_t kc = KW_MIN(j->kc, K - k0);
            for (int64_t p = p0; p < p1; p++)
                kw__pv_tile_avx2(&j->d, p, xt + k0 * ldx, ldx, k0, kc, v,
                                 t * PV_TILE, k0 == 0, k0 + kc >= K);
        }
    }
}

/* w (M x K) as pairs of rows, K padded to K4 (zeros) */
static const float *pv_weights(struct kw__conv_pack *pk, const float *w,
                               int64_t M, int64_t K, int64_t K4) {
    if (!pk || pk->group != 1 || pk->Mg != M || pk->Kdim != K) return NULL;
    if (!pk->pv && !pk->pv_tried) {
        pk->pv_tried = 1;
        const int64_t np = kw__cdiv(M, 2);
        float *w2 =
            kw__conv_pack_alt(pk, kw__nn_prod((int64_t[]){np, K4, 2}, 3));
        if (!w2) return NULL;
        for (int64_t p = 0; p < np; p++)
            for (int64_t k = 0; k < K4; k++)
                for (int e = 0; e < 2; e++) {
                    const int64_t m = 2 * p + e;
                    w2[(p * K4 + k) * 2 + e] =
                        m < M && k < K ? w[m * K + k] : 0.0f;
                }
        pk->pv = w2;
    }
    return pk->pv;
}

int kw__conv_pv(struct kw__op_ctx *c, const struct kw__nn_geom *g, int64_t N,
                int64_t C, int64_t M, int64_t group, const float *x,
                const float *w, const float *bias, const float *res, float *y,
                int act, enum kw_status *st) {
#if KW_HAVE_X86
    if (kw__nn_isa() != KW__ISA_AVX2 || g->nsp != 2 || group != 1 ||
        !kw__ukr_ex_act_ok(act) || g->k[0] != 1 || g->k[1] != 1 ||
        g->s[0] != 1 || g->s[1] != 1 || g->pb[0] || g->pb[1] || g->pe[0] ||
        g->pe[1])
        return 0;
    const int64_t HW = g->out[0] * g->out[1];
    /* where it wins (AVX2, one thread, against the path taken before):
     * planes up to 16x16 (7x7: 192 -> 1152 0.71 -> 0.59 ms, 960 -> 160
     * 0.45 -> 0.41; 14x14: 96 -> 576 0.66 -> 0.59, 384 -> 64 0.32 ->
     * 0.27; 16x16: 256 -> 64 0.28 -> 0.24), and widening layers on any
     * (24 -> 144 at 56x56 0.70 -> 0.65). Narrowing ones on bigger planes
     * stay on the GEMM, whose 6 x 16 tile reads the input a third as
     * often (144 -> 24 at 56x56: 0.64 against 0.70) */
    if (HW < 8 || (HW > 256 && M <= C) || C < 1) return 0;
    const int64_t K4 = kw__cdiv(C, 4) * 4;
    const float *w2 = pv_weights(c->node->state, w, M, C, K4);
    if (!w2) return 0;
    struct pv_job j = {
        .d = {w2, C, K4, bias, NULL, NULL, M, HW, act, c->node->act_alpha,
              c->node->act_beta},
        .nvec = HW / 8, .r = HW % 8, .npair = kw__cdiv(M, 2)};
    j.ntile = kw__cdiv(j.nvec, KW_PV_V);
    j.items_t = j.ntile + (j.r > 0);
    /* K blocks of at most 512 steps: a tile's rows of them (96 KiB)
     * stay in L2 while the pairs go by (2048 -> 512 at 7x7: 3.03 ms in
     * one block, 2.77 in four) */
    j.kc = kw__cdiv(C, kw__cdiv(C, KW_PV_KC));
    /* in place: every row of a tile 32-byte aligned */
    const int inplace = HW % 8 == 0 && (uintptr_t)x % 32 == 0;
    const int64_t nxp = inplace ? 0 : C * j.nvec * 8, nxd = j.r * 2 * K4;
    struct kw_onnx_value *hold = NULL;
    float *buf = nxp + nxd ? kw__conv_scratch_get(c, nxp + nxd + 16, &hold)
                           : NULL;
    if (nxp + nxd && !buf) {
        *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        return 1;
    }
    j.xp = nxp ? kw__align64(buf) : NULL;
    j.xd = nxd ? (j.xp ? j.xp + nxp : kw__align64(buf)) : NULL;
    if (j.xd) /* the steps past K */
        for (int64_t i = 0; i < j.r; i++)
            memset(j.xd + i * 2 * K4 + 2 * C, 0,
                   (size_t)(K4 - C) * 2 * sizeof(float));
    const int nth = kw__nn_threads(c);
    const int par = nth > 1 && 2.0 * (double)M * (double)HW * (double)C > 4e5;
    /* the threads share the pairs (each streams its share of the
     * weights and all the input), or, narrowing with more pixels than
     * channels out and a tile or more each, the tiles (480 -> 80 at
     * 14x14 on two threads: 0.29 -> 0.26 ms) */
    const int tiles = j.ntile >= nth && HW > M && M <= C;
    j.nchunk = par && !tiles ? KW_MIN(j.npair, (int64_t)nth) : 1;
    for (int64_t b = 0; b < N; b++) {
        j.x = x + b * C * HW;
        j.d.y = y + b * M * HW;
        j.d.res = res ? res + b * M * HW : NULL;
        if (j.xp || j.xd) kw__nn_parallel(par ? c : NULL, C, 1, pv_pack, &j);
        kw__nn_parallel(par ? c : NULL, j.nchunk * j.items_t, 1, pv_items,
                        &j);
    }
    kw__conv_scratch_put(c, hold);
    *st = KW_STATUS_OK;
    return 1;
#else
    (void)c, (void)g, (void)N, (void)C, (void)M, (void)group, (void)x,
        (void)w, (void)bias, (void)res, (void)y, (void)act, (void)st;
    return 0;
#endif
}
