/*
 * conv_gemm.c — float32 1-D / 2-D Conv on the packed GEMM micro-kernels.
 * The weights come packed (conv_pack.c); every stride is read through
 * stride-phase planes of the padded input, so each kernel tap is a
 * shifted window packed by contiguous copies (else im2col per tile;
 * some 1x1 stride-1 layers have the micro-kernel read x in place);
 * output tiles are claimed by the threads one by one, and the
 * micro-kernel starts from the bias and applies Relu / Clip as it
 * stores, while the tile is in cache. Entry points: kw__conv_f32_packed, and the tile
 * driver (kw__cg_tiles, kw__conv_tiling, kw__phase_run) that the
 * Winograd path reuses.
 */
#include "onnx/ops/conv_internal.h"
#include "onnx/ops/dwc.h"

/* Output columns [j0, j0+ncur) as runs on one output row and one panel. */
static int cg_runs(const struct kw__cg_job *j, int64_t j0, int64_t ncur,
                   struct kw__im2col_run *runs) {
    const struct kw__cg_geom *q = &j->q;
    const int64_t OW = q->OW, nr = j->pk->nr;
    int n = 0;
    for (int64_t c = 0; c < ncur;) {
        const int64_t col = j0 + c, oh = col / OW, ow = col % OW;
        const int64_t in_panel = nr - c % nr, in_row = OW - ow;
        const int64_t len = KW_MIN(KW_MIN(in_panel, in_row), ncur - c);
        runs[n++] = (struct kw__im2col_run){c / nr, c % nr, len,
                                            oh * q->SH - q->PT,
                                            ow * q->SW - q->PL};
        c += len;
    }
    return n;
}

static void cg_tiles(struct kw__cg_job *j, int ith, int64_t t0, int64_t t1);

/* one thread of the pool: tiles claimed one at a time */
void kw__cg_pool(void *arg, int ith, int nth) {
    (void)nth;
    cg_tiles(arg, ith, 0, 0);
}

void kw__cg_tiles(void *arg, int64_t t0, int64_t t1) {
    cg_tiles(arg, 0, t0, t1);
}

/* A scratch buffer of n floats (unzeroed) from the executor's buffer
 * pool, which keeps big buffers between runs: fresh pages for every call
 * would cost more in page faults than the work they hold. *hold gets
 * the value to give back with kw__conv_scratch_put. */
float *kw__conv_scratch_get(struct kw__op_ctx *c, int64_t n,
                          struct kw_onnx_value **hold) {
    *hold = NULL;
    if (n <= 0 || n >= ((int64_t)1 << 36)) return NULL;
    if (c->exec) c->exec->no_zero = 1;
    *hold = kw__exec_tensor(c->exec, KW_ONNX_FLOAT, 1, &n);
    if (c->exec) c->exec->no_zero = 0;
    if (!*hold) return NULL;
    kw__exec_account(c->exec, *hold);
    return (*hold)->data;
}

void kw__conv_scratch_put(struct kw__op_ctx *c, struct kw_onnx_value *hold) {
    if (hold) kw__exec_release(c->exec, hold);
}

/* Tile i of n over np panels of width w (total length len): panels
 * [i*np/n, (i+1)*np/n), so tiles differ by one panel at most. */
static void tile_span(int64_t np, int64_t n, int64_t i, int64_t w,
                      int64_t len, int64_t *lo, int64_t *hi) {
    *lo = KW_MIN(len, i * np / n * w);
    *hi = KW_MIN(len, (i + 1) * np / n * w);
}

/* The tiling: tm x tn tiles (walked N fastest) over mp row panels (of
 * mr) and np column panels (of nr). A tile covers whole rows of A when
 * it can, and as many columns as keep its packed B block (kdim x
 * columns) near 128 KiB, in L2: long rows for a short K, so C is written
 * in long runs. With several threads, which claim tiles one by one, the
 * tiling with the least time for its busiest thread, per K step: rounds
 * of one tile per thread, each R x C MACs (~32 a cycle) plus packing its
 * C columns of B (~4 a cycle; every row tile packs them again) plus
 * streaming its R rows of A (~16 a cycle). */
void kw__conv_tiling(int64_t mp, int mr, int64_t np, int nr, int64_t kdim,
                        int nth, int64_t *tm, int64_t *tn) {
    int64_t cap = (32768 / KW_MIN(KW_MAX(kdim, 1), (int64_t)KW_CONV_KC)) / nr;
    cap = KW_MAX(cap, (int64_t)1);
    const int64_t tn0 = kw__cdiv(np, cap);
    *tm = 1;
    *tn = tn0;
    if (nth <= 1) return;
    double best = -1;
    for (int64_t a = 1; a <= KW_MIN(mp, 4 * (int64_t)nth); a++)
        for (int64_t b = tn0; b <= KW_MIN(np, tn0 + 4 * (int64_t)nth); b++) {
            const double R = (double)(kw__cdiv(mp, a) * mr),
                         C = (double)(kw__cdiv(np, b) * nr);
            const double rounds = (double)kw__cdiv(a * b, nth);
            const double cost = rounds * (R * C / 32 + C / 4 + R / 16);
            if (best < 0 || cost < best * 0.999) {
                best = cost;
                *tm = a;
                *tn = b;
            }
        }
}

static void cg_tiles(struct kw__cg_job *j, int ith, int64_t t0, int64_t t1) {
    const struct kw__conv_pack *pk = j->pk;
    const int mr = pk->mr, nr = pk->nr;
    const int64_t kcmax = KW_MIN((int64_t)KW_CONV_KC, pk->Kdim);
    const int64_t ncpad = (j->nc + nr - 1) / nr * nr;
    const int direct = !j->flat || j->wp == j->q.OW;
    /* B read in place (j->ldb): nothing packed but a ragged last panel */
    const int inplace = j->flat && j->ldb > 0 && pk->ukr_exd && direct;
    float *pb = kw__alloc_aligned(
        (size_t)(kcmax * (inplace ? nr : ncpad)) * sizeof(float));
    float *ct = direct ? NULL
                       : kw__alloc_aligned((size_t)(j->mc * ncpad) *
                                           sizeof(float));
    struct kw__im2col_run *runs =
        j->flat ? NULL : malloc((size_t)(j->nc + j->nc / nr + 2) * sizeof *runs);
    if (!pb || (!direct && !ct) || (!j->flat && !runs)) {
        kw__free_aligned(pb);
        kw__free_aligned(ct);
        free(runs);
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    const struct kw__cg_geom *q = &j->q;
    const struct kw__im2col im = {j->x, q->IH, q->IW, q->KH, q->KW,
                                  q->DH, q->DW, q->SW, nr};
    const int64_t OW = q->OW;
    int64_t c1 = t0; /* the end of the claimed chunk */
    for (int64_t t = t0;; t++) {
        if (!j->dynamic) {
            if (t >= t1) break;
        } else if (t >= c1 && !kw__claim_next(&j->claim, ith, &t, &c1)) {
            break;
        }
        int64_t i0, i1, j0, j1;
        const int64_t nb = KW_MAX(j->nbat, (int64_t)1), bi = t % nb, tt = t / nb;
        const float *X = j->x + bi * j->bx, *A = j->apack + bi * j->ba;
        float *Y = j->y + bi * j->by;
        tile_span(kw__cdiv(pk->Mg, mr), j->tm, tt / j->tn, mr, pk->Mg, &i0, &i1);
        tile_span(kw__cdiv(j->ncols, nr), j->tn, tt % j->tn, nr, j->ncols, &j0, &j1);
        const int64_t mcur = i1 - i0, ncur = j1 - j0;
        if (mcur <= 0 || ncur <= 0) continue;
        const int nruns = j->flat ? 0 : cg_runs(j, j0, ncur, runs);
        /* C tile: straight in y, or a scratch tile (ldc ncur) */
        float *cbase = direct ? Y + i0 * j->ncols + j0 : ct;
        const int64_t ldc = direct ? j->ncols : ncur;
        /* with the epilogue kernel the first K block starts from the bias
         * and the last adds the residual and applies the activation when
         * it can (a residual on a scratch tile comes at the copy, so the
         * activation waits for it) */
        const int fused = pk->ukr_ex != NULL;
        const int res_in_ukr = fused && direct && j->res;
        const int act_left = fused && kw__ukr_ex_act_ok(j->act) &&
                                     (!j->res || res_in_ukr)
                                 ? 0
                                 : j->act;
        const float *rbase = j->res ? j->res + i0 * j->ncols + j0 : NULL;
        if (!fused)
            for (int64_t i = 0; i < mcur; i++) {
                float *cr = cbase + i * ldc;
                const float b = j->bias ? j->bias[i0 + i] : 0.0f;
                for (int64_t c = 0; c < ncur; c++) cr[c] = b;
            }
        for (int64_t k0 = 0; k0 < pk->Kdim; k0 += KW_CONV_KC) {
            const int64_t kc = KW_MIN((int64_t)KW_CONV_KC, pk->Kdim - k0);
            /* (in place, a ragged last panel is still packed: masked
             * loads would cost the kernel its registers, see
             * gemm_avx512.c) */
            const int64_t qtail = ncur % nr ? ncur / nr * nr : -1;
            if (inplace) {
                if (qtail >= 0)
                    j->kern->pack_rows(X + j0 + qtail, j->roff + k0, kc,
                                       ncur - qtail, nr, pb);
            } else if (j->flat)
                j->kern->pack_rows(X + j0, j->roff + k0, kc, ncur, nr, pb);
            else
                j->kern->im2col(&im, runs, nruns, k0, kc, ncur, pb);
            const float *ablk = A + k0 * pk->mgpad;
            const int last = k0 + kc >= pk->Kdim;
            struct kw__ukr_epi epi = {NULL,
                                      k0 == 0,
                                      last && !act_left ? j->act : 0,
                                      j->aa,
                                      j->ab,
                                      NULL,
                                      ldc};
            /* a short K (memory-bound, pointwise on few channels): rows
             * outer, so each C row is written left to right, a stream the
             * prefetchers follow; else columns outer, the B panel staying
             * in L1 while the A panels stream from L2 */
            const int64_t np_t = kw__cdiv(ncur, nr), mp_t = kw__cdiv(mcur, mr);
            const int rows_outer = pk->Kdim <= 64;
            for (int64_t u = 0; u < np_t * mp_t; u++) {
                const int64_t p = (rows_outer ? u / np_t : u % mp_t) * mr;
                const int64_t qc = (rows_outer ? u % np_t : u / mp_t) * nr;
                const int m = (int)KW_MIN((int64_t)mr, mcur - p);
                const float *bp = pb + (inplace ? 0 : (qc / nr) * kc * nr);
                const int n = (int)KW_MIN((int64_t)nr, ncur - qc);
                if (inplace && qc != qtail) {
                    epi.bias = j->bias ? j->bias + i0 + p : NULL;
                    epi.res = last && res_in_ukr ? rbase + p * ldc + qc : NULL;
                    pk->ukr_exd(kc, ablk + (i0 + p) * kc,
                                X + k0 * j->ldb + j0 + qc, j->ldb,
                                cbase + p * ldc + qc, ldc, m, n, &epi);
                } else if (fused) {
                    epi.bias = j->bias ? j->bias + i0 + p : NULL;
                    epi.res = last && res_in_ukr ? rbase + p * ldc + qc : NULL;
                    pk->ukr_ex(kc, ablk + (i0 + p) * kc, bp,
                               cbase + p * ldc + qc, ldc, m, n, &epi);
                } else {
                    pk->ukr(kc, ablk + (i0 + p) * kc, bp, cbase + p * ldc + qc,
                            ldc, m, n);
                }
            }
        }
        if (direct) {
            if (rbase && !res_in_ukr)
                for (int64_t i = 0; i < mcur; i++) {
                    float *cr = cbase + i * ldc;
                    const float *rr = rbase + i * ldc;
                    for (int64_t c = 0; c < ncur; c++) cr[c] += rr[c];
                }
            if (act_left)
                for (int64_t i = 0; i < mcur; i++)
                    j->kern->act(cbase + i * ldc, ncur, act_left, j->aa, j->ab);
            continue;
        }
        /* drop the garbage columns: flat column c is (c / wp, c % wp) */
        for (int64_t i = 0; i < mcur; i++) {
            const float *cr = ct + i * ldc;
            float *yr = Y + (i0 + i) * q->OH * OW;
            const float *rr = j->res ? j->res + (i0 + i) * q->OH * OW : NULL;
            for (int64_t c = 0; c < ncur;) {
                const int64_t col = j0 + c, oh = col / j->wp, ow = col % j->wp;
                const int64_t len = KW_MIN(j->wp - ow, ncur - c);
                if (ow < OW) {
                    const int64_t keep = KW_MIN(len, OW - ow);
                    float *yo = yr + oh * OW + ow;
                    if (rr)
                        for (int64_t e = 0; e < keep; e++)
                            yo[e] = cr[c + e] + rr[oh * OW + ow + e];
                    else
                        memcpy(yo, cr + c, (size_t)keep * sizeof(float));
                    if (act_left)
                        j->kern->act(yr + oh * OW + ow, keep, act_left, j->aa,
                                     j->ab);
                }
                c += len;
            }
        }
    }
    kw__free_aligned(pb);
    kw__free_aligned(ct);
    free(runs);
}


#if KW_HAVE_X86
/* row[0, wp) = 0 outside [s, s + n) */
static void zero_around(float *row, int64_t s, int64_t n, int64_t wp) {
    const int64_t e = KW_MIN(s + n, wp);
    memset(row, 0, (size_t)KW_MIN(s, wp) * sizeof(float));
    if (e < wp) memset(row + e, 0, (size_t)(wp - e) * sizeof(float));
}

/* sw == 2: each input row read once into its even and odd phase rows
 * (rows [h0, h1) of plane ci's phases) */
static int phase_planes2(const struct kw__phase_job *p, int64_t ci, int64_t h0,
                         int64_t h1) {
    const int64_t plane = p->hp2 * p->wp2, wp2 = p->wp2;
    float *junk = malloc((size_t)(wp2 + 16) * sizeof(float));
    if (!junk) return 0;
    for (int64_t a = 0; a < p->sh; a++) {
        float *d[2];
        for (int b = 0; b < 2; b++) {
            const int s = p->slot[a * 2 + b];
            d[b] = s < 0 ? NULL : p->xp + (ci * p->nslot + s) * plane;
        }
        if (!d[0] && !d[1]) continue;
        for (int64_t i = h0; i < h1; i++) {
            float *r0 = d[0] ? d[0] + i * wp2 : junk;
            float *r1 = d[1] ? d[1] + i * wp2 : junk;
            const int64_t h = i * p->sh + a - p->pt;
            if (h < 0 || h >= p->ih) {
                if (d[0]) memset(r0, 0, (size_t)wp2 * sizeof(float));
                if (d[1]) memset(r1, 0, (size_t)wp2 * sizeof(float));
                continue;
            }
            /* padded column 2j + b is input column 2j + b - pl; only
             * the pads around what the split writes are zeroed */
            const int64_t pl = p->pl, ne = (p->iw + 1) / 2, no = p->iw / 2;
            const int64_t e0 = pl & 1 ? (pl - 1) / 2 : pl / 2;
            const int64_t o0 = pl & 1 ? (pl + 1) / 2 : pl / 2;
            float *ev = pl & 1 ? r1 + e0 : r0 + e0;
            float *od = pl & 1 ? r0 + o0 : r1 + o0;
            const int64_t s0 = pl & 1 ? o0 : e0, n0 = pl & 1 ? no : ne;
            const int64_t s1 = pl & 1 ? e0 : o0, n1 = pl & 1 ? ne : no;
            if (d[0]) zero_around(r0, s0, n0, wp2);
            if (d[1]) zero_around(r1, s1, n1, wp2);
            (p->deint == KW__ISA_AVX2 ? kw__deint2_avx2 : kw__deint2_avx512)(
                p->x + (ci * p->ih + h) * p->iw, p->iw, ev, od);
        }
    }
    free(junk);
    return 1;
}
#endif

/* rows [h0, h1) of plane ci's phases */
static void phase_rows(const struct kw__phase_job *p, int64_t ci, int64_t h0,
                       int64_t h1) {
    const int64_t plane = p->hp2 * p->wp2;
#if KW_HAVE_X86
    if (p->deint && phase_planes2(p, ci, h0, h1)) return;
#endif
    for (int64_t a = 0; a < p->sh; a++)
        for (int64_t b = 0; b < p->sw; b++) {
            const int s = p->slot[a * p->sw + b];
            if (s < 0) continue;
            float *d = p->xp + (ci * p->nslot + s) * plane;
            /* columns j whose input column j*sw + b - pl is inside */
            int64_t jlo = p->pl > b ? (p->pl - b + p->sw - 1) / p->sw : 0;
            int64_t jhi = p->iw + p->pl - b > 0
                              ? (p->iw + p->pl - b + p->sw - 1) / p->sw
                              : 0;
            jhi = KW_MIN(jhi, p->wp2);
            jlo = KW_MIN(jlo, jhi);
            for (int64_t i = h0; i < h1; i++) {
                float *dr = d + i * p->wp2;
                const int64_t h = i * p->sh + a - p->pt;
                if (h < 0 || h >= p->ih) {
                    memset(dr, 0, (size_t)p->wp2 * sizeof(float));
                    continue;
                }
                const float *sr = p->x + (ci * p->ih + h) * p->iw + b - p->pl;
                memset(dr, 0, (size_t)jlo * sizeof(float));
                if (p->sw == 1)
                    memcpy(dr + jlo, sr + jlo,
                           (size_t)(jhi - jlo) * sizeof(float));
                else
                    for (int64_t j = jlo; j < jhi; j++) dr[j] = sr[j * p->sw];
                memset(dr + jhi, 0, (size_t)(p->wp2 - jhi) * sizeof(float));
            }
        }
}

/* items [i0, i1): planes, or (band > 0) bands of rows of them */
static void phase_items(void *arg, int64_t i0, int64_t i1) {
    const struct kw__phase_job *p = arg;
    const int64_t nb = p->band > 0 ? kw__cdiv(p->hp2, p->band) : 1;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t r0 = p->band > 0 ? i % nb * p->band : 0;
        phase_rows(p, i / nb, r0,
                   p->band > 0 ? KW_MIN(p->hp2, r0 + p->band) : p->hp2);
    }
}

void kw__phase_run(struct kw__op_ctx *c, struct kw__phase_job *p, int64_t C) {
    const int nth = c ? kw__nn_threads(c) : 1;
    p->band = 0;
    if (nth > 1 && C < 8 * nth && p->hp2 > 0)
        p->band = kw__cdiv(p->hp2, kw__cdiv(8 * nth, C));
    const int64_t n = p->band > 0 ? C * kw__cdiv(p->hp2, p->band) : C;
    kw__nn_parallel(c, n, p->band > 0 ? 1 : 8, phase_items, p);
}

int kw__conv_f32_packed(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                           int64_t N, int64_t C, int64_t M, int64_t group,
                           const float *x, const float *w, const float *bias,
                           const float *res, float *y,
                           const struct kw__nn_kern *kern, int act,
                           enum kw_status *st) {
    const int n = g->nsp;
    if ((n != 1 && n != 2) || !kern) return 0;
    const int64_t Cg = C / group, Mg = M / group;
    const int64_t KK = kw__nn_prod(g->k, n), Kdim = Cg * KK;
    const struct kw__conv_pack *pk = c->node->state;
    struct kw__conv_pack *tmp = NULL;
    kw__cpu_init();
    if (!pk || !pk->a || pk->isa != kw__nn_isa() || pk->Kdim != Kdim ||
        pk->group != group || pk->Mg != Mg) {
        pk = tmp = kw__conv_pack_new(w, group, Mg, Kdim, kw__nn_isa());
        if (!tmp) return 0;
    }
    struct kw__cg_job j = {.pk = pk, .act = act, .kern = kern};
    struct kw__cg_geom *q = &j.q;
    int64_t pb_h = 0, pe_h = 0, pe_w;
    if (n == 2) {
        *q = (struct kw__cg_geom){g->in[0], g->in[1], g->out[0], g->out[1],
                              g->k[0],  g->k[1],  g->s[0],   g->s[1],
                              g->d[0],  g->d[1],  g->pb[0],  g->pb[1]};
        pb_h = g->pb[0];
        pe_h = g->pe[0];
        pe_w = g->pe[1];
    } else {
        *q = (struct kw__cg_geom){1, g->in[0], 1, g->out[0], 1, g->k[0], 1,
                              g->s[0], 1, g->d[0], 0, g->pb[0]};
        pe_w = g->pe[0];
    }
    if (c->node->fused_act) {
        j.aa = c->node->act_alpha;
        j.ab = c->node->act_beta;
    }
    const int64_t insz = kw__nn_prod(g->in, n);
    float *xp = NULL;
    int64_t *roff = NULL, hp2 = 0, xp_plane = 0;
    struct kw_onnx_value *xp_hold = NULL;
    int slot[16], nslot = 0;
    /* flat: every stride through its phase planes (up to 16 phases, no
     * negative pads); else im2col per tile */
    j.flat = q->SH * q->SW <= 16 && pb_h >= 0 && pe_h >= 0 && q->PL >= 0 &&
             pe_w >= 0;
    j.ncols = q->OH * q->OW;
    if (j.flat) {
        const int64_t SH = q->SH, SW = q->SW;
        const int pad = pb_h || pe_h || q->PL || pe_w;
        hp2 = KW_MAX(kw__cdiv(q->IH + pb_h + pe_h, SH),
                     q->OH + (q->KH - 1) * q->DH / SH);
        j.wp = KW_MAX(kw__cdiv(q->IW + q->PL + pe_w, SW),
                      q->OW + (q->KW - 1) * q->DW / SW);
        j.ncols = q->OH * j.wp;
        for (int i = 0; i < 16; i++) slot[i] = -1;
        for (int64_t kh = 0; kh < q->KH; kh++)
            for (int64_t kw = 0; kw < q->KW; kw++) {
                const int ph = (int)((kh * q->DH % SH) * SW + kw * q->DW % SW);
                if (slot[ph] < 0) slot[ph] = nslot++;
            }
        /* x in place: stride 1 without padding, and a 1-wide kernel (a
         * wider one would read (KW-1)*DW past the last plane) */
        const int in_place = SH == 1 && SW == 1 && !pad && q->KW == 1;
        if (!in_place) {
            xp_plane = hp2 * j.wp;
            const int64_t tail = (q->KW - 1) * q->DW / SW + 64;
            const int64_t tot = kw__nn_prod((int64_t[]){Cg, nslot, xp_plane}, 3);
            if (tot >= 0 && tot < ((int64_t)1 << 36))
                xp = kw__conv_scratch_get(c, tot + tail, &xp_hold);
            if (xp) memset(xp + tot, 0, (size_t)tail * sizeof(float));
        } else {
            xp_plane = insz;
            nslot = 1;
        }
        roff = malloc((size_t)Kdim * sizeof *roff);
        if (!roff || (!in_place && !xp)) {
            free(roff);
            kw__conv_scratch_put(c, xp_hold);
            kw__conv_pack_free(tmp);
            *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
            return 1;
        }
        for (int64_t kk = 0; kk < KW_MIN(KK, Kdim); kk++) {
            /* tap (kh, kw) sits dy = kh*DH rows, dx = kw*DW columns into
             * the padded window: phase (dy % SH, dx % SW), shifted by
             * (dy / SH, dx / SW) */
            const int64_t dy = kk / q->KW * q->DH, dx = kk % q->KW * q->DW;
            const int s = in_place ? 0 : slot[(dy % SH) * SW + dx % SW];
            roff[kk] = s * xp_plane + dy / SH * j.wp + dx / SW;
        }
        /* the next channel's taps: nslot planes on (no divisions per row:
         * they cost as much as the GEMM of a small pointwise layer) */
        for (int64_t r = KK; r < Kdim; r++)
            roff[r] = roff[r - KK] + nslot * xp_plane;
        j.roff = roff;
        /* 1x1: B row r is x + r * insz, read in place where that beats
         * packing it (measured on MobileNet / ResNet / EfficientNet
         * layers, in the networks): up to 8 row panels when the rows are
         * not a multiple of 256 bytes apart (at 56x56 a panel's rows
         * share few L1 sets, and every row panel after the first reads
         * them from L2), and 1-2 on planes of 8192+ (112x112); with
         * AVX2 (6-row panels) up to 4 at any size (MobileNetV2's and
         * EfficientNet's 56x56 layers to 24 channels 0.83 -> 0.68 ms and
         * 0.56 -> 0.44, their 112x112 ones to 16 0.53 -> 0.45 ms) */
        const int64_t mpan = kw__cdiv(Mg, pk->mr);
        if (in_place && KK == 1 && pk->ukr_exd &&
            ((Mg <= 96 && insz % 64 != 0) || (mpan <= 2 && insz >= 8192) ||
             (pk->isa == KW__ISA_AVX2 && mpan <= 4)))
            j.ldb = insz;
    }
    const int deint = q->SW == 2 ? kw__deint2_isa() : 0;
    const int nth = kw__nn_threads(c);
    const double flops = 2.0 * (double)Mg * (double)j.ncols * (double)Kdim;
    const int64_t want = nth > 1 && flops > 4e5 ? nth : 1;
    const int64_t mp = kw__cdiv(pk->Mg, pk->mr), np = kw__cdiv(j.ncols, pk->nr);
    kw__conv_tiling(mp, pk->mr, np, pk->nr, Kdim, want > 1 ? nth : 1, &j.tm,
                &j.tn);
    j.mc = kw__cdiv(mp, j.tm) * pk->mr;
    j.nc = kw__cdiv(np, j.tn) * pk->nr;
    const int64_t tiles = j.tm * j.tn;
    for (int64_t b = 0; b < N && !j.failed; b++)
        for (int64_t gi = 0; gi < group && !j.failed; gi++) {
            j.x = x + (b * C + gi * Cg) * insz;
            if (xp) {
                struct kw__phase_job pj = {j.x,   xp,    q->IH, q->IW, hp2,
                                       j.wp,  pb_h,  q->PL, q->SH, q->SW,
                                       slot,  nslot, deint, 0};
                kw__phase_run(want > 1 ? c : NULL, &pj, Cg);
                j.x = xp;
            }
            j.y = y + (b * M + gi * Mg) * q->OH * q->OW;
            j.res = res ? res + (b * M + gi * Mg) * q->OH * q->OW : NULL;
            j.bias = bias ? bias + gi * Mg : NULL;
            j.apack = pk->a + gi * pk->mgpad * Kdim;
            if (want > 1) {
                j.dynamic = 1;
                kw__claim_init(&j.claim, tiles, 1, nth);
                kw__pool_run_shared(kw__exec_pool(c->exec), kw__cg_pool, &j);
            } else
                kw__cg_tiles(&j, 0, tiles);
        }
    kw__conv_pack_free(tmp);
    kw__conv_scratch_put(c, xp_hold);
    free(roff);
    *st = j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                   : KW_STATUS_OK;
    return 1;
}
