/*
 * conv.c — Conv (1-D/2-D/3-D..., groups, dilations, pads/auto_pad),
 * ConvTranspose (output_padding, output_shape), ConvInteger, QLinearConv.
 * float32 Conv, 1-D/2-D: weights packed for the GEMM micro-kernel (at load
 * when constant), the input expanded straight into packed panels per
 * output tile, bias and fused activation on the tile; depthwise 2-D by
 * the SIMD kernel of nn_kern.h. The reference (KW_FORCE_REF, 3-D): 1x1
 * straight to the GEMM, depthwise by a direct loop, else im2col + GEMM.
 * ConvTranspose: GEMM then col2im. Integer and rare dtypes: a direct convolution in double.
 */
#include "onnx/ops/nn_internal.h"

/* Column-buffer budget (floats) for one im2col chunk. */
#define COL_BUDGET ((int64_t)1 << 21)

static void sp_strides(int n, const int64_t *d, int64_t *st) {
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        st[i] = s;
        s *= d[i];
    }
}

/* ---- im2col ---- */

struct im2col_job {
    const struct kw__nn_geom *g;
    const float *x; /* (Cg, in...) */
    float *col;     /* (Kdim, pc) */
    int64_t KK, q0, q1, L, pc;
    int64_t ist[KW_NN_MAX_SP];
};

static void im2col_rows(void *arg, int64_t r0, int64_t r1) {
    const struct im2col_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    const int n = g->nsp, last = n - 1;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t ci = r / j->KK;
        int64_t kk = r % j->KK, kidx[KW_NN_MAX_SP];
        for (int d = n - 1; d >= 0; d--) {
            kidx[d] = kk % g->k[d];
            kk /= g->k[d];
        }
        const float *xc = j->x + ci * j->ist[0] * g->in[0];
        /* valid output columns [lo, hi) of the last dimension */
        const int64_t sL = g->s[last];
        const int64_t off = kidx[last] * g->d[last] - g->pb[last];
        int64_t lo = off >= 0 ? 0 : (-off + sL - 1) / sL;
        int64_t hi = g->in[last] - 1 - off < 0
                         ? 0
                         : (g->in[last] - 1 - off) / sL + 1;
        if (hi > j->L) hi = j->L;
        if (lo > hi) lo = hi;
        for (int64_t q = j->q0; q < j->q1; q++) {
            float *dst = j->col + r * j->pc + (q - j->q0) * j->L;
            int64_t qq = q, base = 0;
            int ok = 1;
            for (int d = last - 1; d >= 0; d--) {
                const int64_t o = qq % g->out[d];
                qq /= g->out[d];
                const int64_t id = o * g->s[d] - g->pb[d] + kidx[d] * g->d[d];
                if (id < 0 || id >= g->in[d]) ok = 0;
                base += id * j->ist[d];
            }
            if (!ok || lo == hi) {
                memset(dst, 0, (size_t)j->L * sizeof(float));
                continue;
            }
            const float *src = xc + base + off;
            int64_t w = 0;
            for (; w < lo; w++) dst[w] = 0.0f;
            if (sL == 1)
                memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
            else
                for (w = lo; w < hi; w++) dst[w] = src[w * sL];
            for (w = hi; w < j->L; w++) dst[w] = 0.0f;
        }
    }
}

/* ---- depthwise 2-D ---- */

struct dw_job {
    const struct kw__nn_geom *g;
    const float *x, *w;
    float *y;
    int64_t C, M, Mg;
};

static void dw_planes(void *arg, int64_t p0, int64_t p1) {
    const struct dw_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    const int64_t IH = g->in[0], IW = g->in[1], OH = g->out[0],
                  OW = g->out[1], KH = g->k[0], KW = g->k[1];
    const int64_t sh = g->s[0], sw = g->s[1], dh = g->d[0], dw = g->d[1];
    for (int64_t p = p0; p < p1; p++) {
        const int64_t n = p / j->M, oc = p % j->M, ic = oc / j->Mg;
        const float *x = j->x + (n * j->C + ic) * IH * IW;
        const float *w = j->w + oc * KH * KW;
        float *y = j->y + p * OH * OW;
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t off = kw * dw - g->pb[1];
            int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
            int64_t hi = IW - 1 - off < 0 ? 0 : (IW - 1 - off) / sw + 1;
            if (hi > OW) hi = OW;
            if (lo >= hi) continue;
            for (int64_t oh = 0; oh < OH; oh++) {
                float *yr = y + oh * OW;
                for (int64_t kh = 0; kh < KH; kh++) {
                    const int64_t ih = oh * sh - g->pb[0] + kh * dh;
                    if (ih < 0 || ih >= IH) continue;
                    const float wv = w[kh * KW + kw];
                    const float *xr = x + ih * IW + off;
                    if (sw == 1)
                        for (int64_t ow = lo; ow < hi; ow++)
                            yr[ow] += wv * xr[ow];
                    else
                        for (int64_t ow = lo; ow < hi; ow++)
                            yr[ow] += wv * xr[ow * sw];
                }
            }
        }
    }
}

/* ---- float32 Conv: the reference (im2col + kw__sgemm_run) ---- */

static enum kw_status conv_f32_ref(struct kw__op_ctx *c,
                               const struct kw__nn_geom *g, int64_t N,
                               int64_t C, int64_t M, int64_t group,
                               const float *x, const float *w,
                               const float *bias, float *y) {
    const int n = g->nsp;
    const int64_t Cg = C / group, Mg = M / group;
    const int64_t insz = kw__nn_prod(g->in, n), outsz = kw__nn_prod(g->out, n);
    const int64_t KK = kw__nn_prod(g->k, n), Kdim = Cg * KK;
    if (bias)
        for (int64_t b = 0; b < N; b++)
            for (int64_t m = 0; m < M; m++) {
                float *yp = y + (b * M + m) * outsz;
                for (int64_t i = 0; i < outsz; i++) yp[i] = bias[m];
            }
    if (outsz == 0 || N == 0 || M == 0 || Kdim == 0) return KW_STATUS_OK;
    if (Cg == 1 && n == 2) {
        struct dw_job j = {g, x, w, y, C, M, Mg};
        kw__nn_parallel(c, N * M, 1, dw_planes, &j);
        return KW_STATUS_OK;
    }
    int pointwise = 1;
    for (int d = 0; d < n; d++)
        if (g->k[d] != 1 || g->s[d] != 1 || g->pb[d] || g->pe[d])
            pointwise = 0;
    if (pointwise) {
        for (int64_t b = 0; b < N; b++)
            for (int64_t gi = 0; gi < group; gi++) {
                struct kw__sgemm s = {Mg, outsz, Cg, w + gi * Mg * Cg, Cg, 1,
                                      x + (b * C + gi * Cg) * insz, insz, 1,
                                      y + (b * M + gi * Mg) * outsz, outsz,
                                      1.0f};
                kw__sgemm_run(c, &s);
            }
        return KW_STATUS_OK;
    }
    const int64_t L = g->out[n - 1], outer = outsz / L;
    int64_t rows = COL_BUDGET / (Kdim * L);
    if (rows < 1) rows = 1;
    if (rows > outer) rows = outer;
    float *col = kw__alloc_aligned((size_t)(Kdim * rows * L) * sizeof(float));
    if (!col) return kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    struct im2col_job j = {.g = g, .col = col, .KK = KK, .L = L};
    sp_strides(n, g->in, j.ist);
    for (int64_t b = 0; b < N; b++)
        for (int64_t gi = 0; gi < group; gi++) {
            j.x = x + (b * C + gi * Cg) * insz;
            for (int64_t q0 = 0; q0 < outer; q0 += rows) {
                j.q0 = q0;
                j.q1 = KW_MIN(outer, q0 + rows);
                j.pc = (j.q1 - q0) * L;
                kw__nn_parallel(c, Kdim, 16, im2col_rows, &j);
                struct kw__sgemm s = {Mg, j.pc, Kdim, w + gi * Mg * Kdim,
                                      Kdim, 1, col, j.pc, 1,
                                      y + (b * M + gi * Mg) * outsz + q0 * L,
                                      outsz, 1.0f};
                kw__sgemm_run(c, &s);
            }
        }
    kw__free_aligned(col);
    return KW_STATUS_OK;
}

/* ---- float32 1-D / 2-D Conv on the packed GEMM micro-kernels ----
 *
 * The weights (M x Cg*KH*KW per group) are packed once into the
 * micro-kernel's MR-row panels (at load when they are constant); the
 * input is expanded straight into NR-column panels (im2col and packing in
 * one pass), per output tile and K block, so each thread works on its own
 * tiles of the output. Bias and the fused activation are applied on the
 * tile while it is in cache. */

#define CKC 128 /* K block */

struct conv_pack {
    enum kw__isa isa;
    kw__sgemm_ukr_fn ukr;
    int mr, nr;
    int64_t group, Mg, Kdim, mgpad;
    float *a; /* per group mgpad*Kdim floats: K blocks of CKC, each as
                 mgpad/mr panels of (kc x mr) */
};

static void conv_pack_free(void *p) {
    struct conv_pack *k = p;
    if (!k) return;
    kw__free_aligned(k->a);
    free(k);
}

static int ukr_for(enum kw__isa isa, struct conv_pack *k) {
#if KW_HAVE_X86
    kw__cpu_init();
    if (isa == KW__ISA_AVX512 && kw__cpu_has(KW__ISA_AVX512)) {
        k->ukr = kw__sgemm_ukr_avx512;
        k->mr = KW_SGEMM_AVX512_MR;
        k->nr = KW_SGEMM_AVX512_NR;
        k->isa = KW__ISA_AVX512;
        return 1;
    }
    if (isa >= KW__ISA_AVX2 && kw__cpu_has(KW__ISA_AVX2)) {
        k->ukr = kw__sgemm_ukr_avx2;
        k->mr = KW_SGEMM_AVX2_MR;
        k->nr = KW_SGEMM_AVX2_NR;
        k->isa = KW__ISA_AVX2;
        return 1;
    }
#endif
    (void)isa;
    (void)k;
    return 0;
}

/* w: (M, Kdim) row-major, M = group * Mg. NULL when the ISA has no
 * micro-kernel, on overflow or out of memory. */
static struct conv_pack *conv_pack_new(const float *w, int64_t group,
                                       int64_t Mg, int64_t Kdim,
                                       enum kw__isa isa) {
    struct conv_pack *k = calloc(1, sizeof *k);
    if (!k || !ukr_for(isa, k) || group < 1 || Mg < 1 || Kdim < 1) {
        free(k);
        return NULL;
    }
    k->group = group;
    k->Mg = Mg;
    k->Kdim = Kdim;
    k->mgpad = (Mg + k->mr - 1) / k->mr * k->mr;
    const int64_t n = kw__nn_prod((int64_t[]){group, k->mgpad, Kdim}, 3);
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float) ||
        !(k->a = kw__alloc_aligned((size_t)n * sizeof(float)))) {
        free(k);
        return NULL;
    }
    const int mr = k->mr;
    for (int64_t gi = 0; gi < group; gi++) {
        float *base = k->a + gi * k->mgpad * Kdim;
        for (int64_t k0 = 0; k0 < Kdim; k0 += CKC) {
            const int64_t kc = KW_MIN((int64_t)CKC, Kdim - k0);
            for (int64_t p = 0; p < k->mgpad; p += mr) {
                float *dst = base + k0 * k->mgpad + p * kc;
                for (int r = 0; r < mr; r++) {
                    const int64_t row = p + r;
                    const float *src = w + (gi * Mg + row) * Kdim + k0;
                    for (int64_t q = 0; q < kc; q++)
                        dst[q * mr + r] = row < Mg ? src[q] : 0.0f;
                }
            }
        }
    }
    return k;
}

/* 2-D view of the geometry (1-D: one row; pointwise: one long row) */
struct cg_geom {
    int64_t IH, IW, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
};

struct cg_job {
    const struct conv_pack *pk;
    struct cg_geom q;
    /* flat mode (stride 1): B row r is xp + roff[r] + column, the output
     * computed on a grid of OH x wp columns (wp - OW garbage columns per
     * row, dropped when the tile is stored) */
    int flat;
    int64_t wp;
    const int64_t *roff; /* Kdim row offsets (flat mode) */
    const float *x;      /* (Cg, ...) of this image and group (padded in
                            flat mode) */
    const float *bias;   /* Mg values, or NULL */
    const float *apack;  /* this group's panels */
    float *y;            /* (Mg, OH*OW) */
    int64_t ncols;       /* GEMM columns: OH*OW, or OH*wp (flat) */
    int64_t mc, nc, n_blocks;
    int act;
    float aa, ab;
    const struct kw__nn_kern *kern;
    int failed;
};

/* Output columns [j0, j0+ncur) as runs on one output row and one panel. */
static int cg_runs(const struct cg_job *j, int64_t j0, int64_t ncur,
                   struct kw__im2col_run *runs) {
    const struct cg_geom *q = &j->q;
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

static void cg_tiles(void *arg, int64_t t0, int64_t t1) {
    struct cg_job *j = arg;
    const struct conv_pack *pk = j->pk;
    const int mr = pk->mr, nr = pk->nr;
    const int64_t kcmax = KW_MIN((int64_t)CKC, pk->Kdim);
    const int64_t ncpad = (j->nc + nr - 1) / nr * nr;
    const int direct = !j->flat || j->wp == j->q.OW;
    float *pb = kw__alloc_aligned((size_t)(kcmax * ncpad) * sizeof(float));
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
    const struct cg_geom *q = &j->q;
    const struct kw__im2col im = {j->x, q->IH, q->IW, q->KH, q->KW,
                                  q->DH, q->DW, q->SW, nr};
    const int64_t OW = q->OW;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t i0 = (t / j->n_blocks) * j->mc;
        const int64_t j0 = (t % j->n_blocks) * j->nc;
        const int64_t mcur = KW_MIN(j->mc, pk->Mg - i0);
        const int64_t ncur = KW_MIN(j->nc, j->ncols - j0);
        if (mcur <= 0 || ncur <= 0) continue;
        const int nruns = j->flat ? 0 : cg_runs(j, j0, ncur, runs);
        /* C tile: straight in y, or a scratch tile (ldc ncur) */
        float *cbase = direct ? j->y + i0 * j->ncols + j0 : ct;
        const int64_t ldc = direct ? j->ncols : ncur;
        for (int64_t i = 0; i < mcur; i++) {
            float *cr = cbase + i * ldc;
            const float b = j->bias ? j->bias[i0 + i] : 0.0f;
            for (int64_t c = 0; c < ncur; c++) cr[c] = b;
        }
        for (int64_t k0 = 0; k0 < pk->Kdim; k0 += CKC) {
            const int64_t kc = KW_MIN((int64_t)CKC, pk->Kdim - k0);
            if (j->flat)
                j->kern->pack_rows(j->x + j0, j->roff + k0, kc, ncur, nr, pb);
            else
                j->kern->im2col(&im, runs, nruns, k0, kc, ncur, pb);
            const float *ablk = j->apack + k0 * pk->mgpad;
            for (int64_t qc = 0; qc < ncur; qc += nr) {
                const float *bp = pb + (qc / nr) * kc * nr;
                const int n = (int)KW_MIN((int64_t)nr, ncur - qc);
                for (int64_t p = 0; p < mcur; p += mr) {
                    const int m = (int)KW_MIN((int64_t)mr, mcur - p);
                    pk->ukr(kc, ablk + (i0 + p) * kc, bp,
                            cbase + p * ldc + qc, ldc, m, n);
                }
            }
        }
        if (direct) {
            if (j->act)
                for (int64_t i = 0; i < mcur; i++)
                    j->kern->act(cbase + i * ldc, ncur, j->act, j->aa, j->ab);
            continue;
        }
        /* drop the garbage columns: flat column c is (c / wp, c % wp) */
        for (int64_t i = 0; i < mcur; i++) {
            const float *cr = ct + i * ldc;
            float *yr = j->y + (i0 + i) * q->OH * OW;
            for (int64_t c = 0; c < ncur;) {
                const int64_t col = j0 + c, oh = col / j->wp, ow = col % j->wp;
                const int64_t len = KW_MIN(j->wp - ow, ncur - c);
                if (ow < OW) {
                    const int64_t keep = KW_MIN(len, OW - ow);
                    memcpy(yr + oh * OW + ow, cr + c, (size_t)keep * sizeof(float));
                    if (j->act)
                        j->kern->act(yr + oh * OW + ow, keep, j->act, j->aa,
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

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The Cg planes of x (ih x iw) into xp with the padding as zeros:
 * (ih + pt + pb) x wp each, wp = iw + pl + pr. */
struct pad_job {
    const float *x;
    float *xp;
    int64_t ih, iw, hp, wp, pt, pl;
};

static void pad_planes(void *arg, int64_t c0, int64_t c1) {
    const struct pad_job *p = arg;
    for (int64_t ci = c0; ci < c1; ci++) {
        const float *s = p->x + ci * p->ih * p->iw;
        float *d = p->xp + ci * p->hp * p->wp;
        memset(d, 0, (size_t)(p->pt * p->wp) * sizeof(float));
        for (int64_t h = 0; h < p->ih; h++) {
            float *dr = d + (p->pt + h) * p->wp;
            memset(dr, 0, (size_t)p->pl * sizeof(float));
            memcpy(dr + p->pl, s + h * p->iw, (size_t)p->iw * sizeof(float));
            memset(dr + p->pl + p->iw, 0,
                   (size_t)(p->wp - p->pl - p->iw) * sizeof(float));
        }
        memset(d + (p->pt + p->ih) * p->wp, 0,
               (size_t)((p->hp - p->pt - p->ih) * p->wp) * sizeof(float));
    }
}

/* 1 when done (or failed: *st set), 0 when this path does not apply */
static int conv_f32_packed(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                           int64_t N, int64_t C, int64_t M, int64_t group,
                           const float *x, const float *w, const float *bias,
                           float *y, const struct kw__nn_kern *kern, int act,
                           enum kw_status *st) {
    const int n = g->nsp;
    if ((n != 1 && n != 2) || !kern) return 0;
    const int64_t Cg = C / group, Mg = M / group;
    const int64_t KK = kw__nn_prod(g->k, n), Kdim = Cg * KK;
    const struct conv_pack *pk = c->node->state;
    struct conv_pack *tmp = NULL;
    kw__cpu_init();
    if (!pk || pk->isa != kw__nn_isa() || pk->Kdim != Kdim ||
        pk->group != group || pk->Mg != Mg) {
        pk = tmp = conv_pack_new(w, group, Mg, Kdim, kw__nn_isa());
        if (!tmp) return 0;
    }
    struct cg_job j = {.pk = pk, .act = act, .kern = kern};
    struct cg_geom *q = &j.q;
    int64_t pb_h = 0, pe_h = 0, pe_w;
    if (n == 2) {
        *q = (struct cg_geom){g->in[0], g->in[1], g->out[0], g->out[1],
                              g->k[0],  g->k[1],  g->s[0],   g->s[1],
                              g->d[0],  g->d[1],  g->pb[0],  g->pb[1]};
        pb_h = g->pb[0];
        pe_h = g->pe[0];
        pe_w = g->pe[1];
    } else {
        *q = (struct cg_geom){1, g->in[0], 1, g->out[0], 1, g->k[0], 1,
                              g->s[0], 1, g->d[0], 0, g->pb[0]};
        pe_w = g->pe[0];
    }
    if (c->node->fused_act) {
        j.aa = c->node->act_alpha;
        j.ab = c->node->act_beta;
    }
    const int64_t insz = kw__nn_prod(g->in, n);
    float *xp = NULL;
    int64_t *roff = NULL, hp = q->IH, xp_plane = 0;
    j.flat = q->SH == 1 && q->SW == 1;
    j.ncols = q->OH * q->OW;
    if (j.flat) {
        const int pad = pb_h || pe_h || q->PL || pe_w;
        j.wp = q->IW + q->PL + pe_w;
        hp = q->IH + pb_h + pe_h;
        j.ncols = q->OH * j.wp;
        /* reading x in place would run (KW-1)*DW past the last plane */
        if (pad || q->KW > 1) {
            xp_plane = hp * j.wp;
            const int64_t tot = kw__nn_prod((int64_t[]){Cg, xp_plane}, 2);
            if (tot >= 0 && tot < ((int64_t)1 << 40))
                xp = kw__alloc_aligned((size_t)(tot + (q->KW - 1) * q->DW + 64) *
                                       sizeof(float));
            if (xp)
                memset(xp + tot, 0,
                       (size_t)((q->KW - 1) * q->DW + 64) * sizeof(float));
        } else {
            xp_plane = insz;
        }
        roff = malloc((size_t)Kdim * sizeof *roff);
        if (!roff || (xp_plane != insz && !xp)) {
            free(roff);
            kw__free_aligned(xp);
            conv_pack_free(tmp);
            *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
            return 1;
        }
        for (int64_t r = 0; r < Kdim; r++) {
            const int64_t kk = r % KK;
            roff[r] = (r / KK) * xp_plane + (kk / q->KW) * q->DH * j.wp +
                      (kk % q->KW) * q->DW;
        }
        j.roff = roff;
    }
    const int nth = kw__nn_threads(c);
    const double flops = 2.0 * (double)Mg * (double)j.ncols * (double)Kdim;
    const int64_t want = nth > 1 && flops > 4e5 ? 3 * (int64_t)nth : 1;
    j.nc = KW_MIN((int64_t)256, cdiv(j.ncols, pk->nr) * pk->nr);
    j.mc = pk->mgpad;
    if (cdiv(j.ncols, j.nc) < want)
        j.nc = KW_MAX(cdiv(cdiv(j.ncols, want), pk->nr) * pk->nr,
                      (int64_t)2 * pk->nr);
    j.n_blocks = cdiv(j.ncols, j.nc);
    if (j.n_blocks < want) {
        int64_t mb = KW_MIN(cdiv(want, j.n_blocks), pk->mgpad / pk->mr);
        j.mc = cdiv(cdiv(pk->mgpad, mb), pk->mr) * pk->mr;
    }
    const int64_t tiles = cdiv(pk->Mg, j.mc) * j.n_blocks;
    for (int64_t b = 0; b < N && !j.failed; b++)
        for (int64_t gi = 0; gi < group && !j.failed; gi++) {
            j.x = x + (b * C + gi * Cg) * insz;
            if (xp) {
                struct pad_job pj = {j.x, xp, q->IH, q->IW, hp, j.wp, pb_h,
                                     q->PL};
                kw__nn_parallel(want > 1 ? c : NULL, Cg, 8, pad_planes, &pj);
                j.x = xp;
            }
            j.y = y + (b * M + gi * Mg) * q->OH * q->OW;
            j.bias = bias ? bias + gi * Mg : NULL;
            j.apack = pk->a + gi * pk->mgpad * Kdim;
            if (want > 1)
                kw__nn_parallel(c, tiles, 1, cg_tiles, &j);
            else
                cg_tiles(&j, 0, tiles);
        }
    conv_pack_free(tmp);
    kw__free_aligned(xp);
    free(roff);
    *st = j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                   : KW_STATUS_OK;
    return 1;
}

/* ---- float32 depthwise 2-D with the SIMD kernel ---- */

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

static enum kw_status conv_f32(struct kw__op_ctx *c,
                               const struct kw__nn_geom *g, int64_t N,
                               int64_t C, int64_t M, int64_t group,
                               const float *x, const float *w,
                               const float *bias, float *y) {
    const struct kw__node *nd = c->node;
    const int act = nd->act_in_op ? nd->fused_act : KW_ACT_NONE;
    const int n = g->nsp;
    const int64_t Cg = C / group, Mg = M / group;
    const int64_t outsz = kw__nn_prod(g->out, n), KK = kw__nn_prod(g->k, n);
    const struct kw__nn_kern *kern = kw__nn_kern();
    enum kw_status st = KW_STATUS_OK;
    if (kern && outsz > 0 && N > 0 && M > 0 && Cg * KK > 0) {
        if (Cg == 1 && n == 2) {
            struct dwk_job j = {g, x, w, bias, y, C, M, Mg, kern, act,
                                nd->act_alpha, nd->act_beta, 0};
            kw__nn_parallel(c, N * M, 1, dwk_planes, &j);
            return j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM,
                                          "out of memory")
                            : KW_STATUS_OK;
        }
        if (conv_f32_packed(c, g, N, C, M, group, x, w, bias, y, kern, act,
                            &st))
            return st;
    }
    st = conv_f32_ref(c, g, N, C, M, group, x, w, bias, y);
    if (!st && act)
        kw__nn_act_ref(y, N * M * outsz, act, nd->act_alpha, nd->act_beta);
    return st;
}

void kw__conv_prepare(struct kw__node *n, const struct kw__graph *g) {
    if (n->n_in < 2 || n->in[1] < 0 || n->in[1] >= g->n_values) return;
    const struct kw_onnx_value *W = g->init[n->in[1]];
    if (!W || W->kind != KW_ONNX_TENSOR || W->dtype != KW_ONNX_FLOAT ||
        W->rank < 3)
        return;
    /* X must be float32 too (or the node fails), and every float32 path
     * of conv_f32 applies the activation */
    if (n->fused_act) n->act_in_op = 1;
    const struct kw__attr *ga = kw__attr(n, "group");
    const int64_t group = ga && ga->type == KW_ATTR_INT ? ga->i : 1;
    const int64_t M = W->dims[0], Cg = W->dims[1];
    const int64_t KK = kw__nn_prod(W->dims + 2, W->rank - 2);
    if (group < 1 || M < 1 || M % group || Cg < 1 || KK < 1 ||
        W->rank > 4 || (Cg == 1 && W->rank == 4) ||
        kw__nn_prod((int64_t[]){M, Cg, KK}, 3) != kw_onnx_numel(W))
        return;
    kw__cpu_init();
    struct conv_pack *pk =
        conv_pack_new(W->data, group, M / group, Cg * KK, kw__nn_isa());
    if (!pk) return;
    n->state = pk;
    n->state_free = conv_pack_free;
}

/* ---- direct convolution in double ---- */

struct direct_job {
    const struct kw__nn_geom *g;
    int64_t C, M, group;
    const double *x, *w, *bias;
    double *y;
};

static void direct_planes(void *arg, int64_t p0, int64_t p1) {
    const struct direct_job *j = arg;
    const struct kw__nn_geom *g = j->g;
    const int n = g->nsp;
    const int64_t Cg = j->C / j->group, Mg = j->M / j->group;
    const int64_t insz = kw__nn_prod(g->in, n), outsz = kw__nn_prod(g->out, n);
    const int64_t KK = kw__nn_prod(g->k, n);
    int64_t ist[KW_NN_MAX_SP];
    sp_strides(n, g->in, ist);
    for (int64_t p = p0; p < p1; p++) {
        const int64_t b = p / j->M, m = p % j->M, gi = m / Mg;
        const double *xb = j->x + (b * j->C + gi * Cg) * insz;
        const double *wm = j->w + m * Cg * KK;
        double *yp = j->y + p * outsz;
        int64_t o[KW_NN_MAX_SP] = {0};
        for (int64_t op = 0; op < outsz; op++) {
            double acc = j->bias ? j->bias[m] : 0.0;
            for (int64_t kk = 0; kk < KK; kk++) {
                int64_t r = kk, off = 0;
                int ok = 1;
                for (int d = n - 1; d >= 0; d--) {
                    const int64_t kd = r % g->k[d];
                    r /= g->k[d];
                    const int64_t id = o[d] * g->s[d] - g->pb[d] + kd * g->d[d];
                    if (id < 0 || id >= g->in[d]) ok = 0;
                    off += id * ist[d];
                }
                if (!ok) continue;
                for (int64_t ci = 0; ci < Cg; ci++)
                    acc += xb[ci * insz + off] * wm[ci * KK + kk];
            }
            yp[op] = acc;
            for (int d = n - 1; d >= 0; d--) {
                if (++o[d] < g->out[d]) break;
                o[d] = 0;
            }
        }
    }
}

void kw__nn_conv_direct(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                        int64_t N, int64_t C, int64_t M, int64_t group,
                        const double *x, const double *w, const double *bias,
                        double *y) {
    struct direct_job j = {g, C, M, group, x, w, bias, y};
    kw__nn_parallel(c, N * M, 1, direct_planes, &j);
}

/* ---- shape checks shared by the convolutions ---- */

struct conv_shape {
    struct kw__nn_geom g;
    int64_t N, C, M, group;
    int rank;
    int64_t ydims[KW_ONNX_MAX_RANK];
};

static enum kw_status conv_shape(struct kw__op_ctx *c,
                                 const struct kw_onnx_value *X,
                                 const struct kw_onnx_value *W,
                                 struct conv_shape *s) {
    if (!kw__is_tensor(X) || !kw__is_tensor(W))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT, "X and W are required");
    if (X->rank < 3 || W->rank != X->rank)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "X (rank %d) and W (rank %d) must be (N, C, ...) "
                           "of the same rank >= 3",
                           X->rank, W->rank);
    s->N = X->dims[0];
    s->C = X->dims[1];
    s->M = W->dims[0];
    s->group = kw__attr_i(c, "group", 1);
    if (s->group < 1 || s->C % s->group || s->M % s->group ||
        W->dims[1] != s->C / s->group)
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "channels do not match: C=%lld, W=(%lld, %lld), "
                           "group=%lld",
                           (long long)s->C, (long long)W->dims[0],
                           (long long)W->dims[1], (long long)s->group);
    enum kw_status st = kw__nn_geom_init(c, X, W->dims + 2, 0, &s->g);
    if (st) return st;
    for (int d = 0; d < s->g.nsp; d++)
        if (s->g.k[d] != W->dims[d + 2])
            return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                               "kernel_shape disagrees with W");
    s->rank = X->rank;
    s->ydims[0] = s->N;
    s->ydims[1] = s->M;
    for (int d = 0; d < s->g.nsp; d++) s->ydims[d + 2] = s->g.out[d];
    /* every index product below must fit in int64 */
    int64_t col = kw__nn_prod((int64_t[]){W->dims[1], kw__nn_prod(s->g.k,
                                                                  s->g.nsp),
                                          kw__nn_prod(s->g.out, s->g.nsp)},
                              3);
    if (col < 0 || kw__nn_prod(s->ydims, s->rank) < 0)
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED, "sizes too large");
    return KW_STATUS_OK;
}

/* A tensor's values as doubles, minus a zero point per channel of axis
 * dimension ch_dim (NULL zp: none). */
static double *to_f64(const struct kw_onnx_value *v, const double *zp,
                      int per_channel_outer) {
    const int64_t n = kw_onnx_numel(v);
    double *d = malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!d) return NULL;
    const int64_t inner = per_channel_outer && v->dims[0]
                              ? n / v->dims[0]
                              : (n ? n : 1);
    for (int64_t i = 0; i < n; i++)
        d[i] = kw__get_f64(v, i) - (zp ? zp[per_channel_outer ? i / inner : 0]
                                       : 0.0);
    return d;
}

enum kw_status kw__op_conv(struct kw__op_ctx *c) {
    const struct kw_onnx_value *X = kw__in(c, 0), *W = kw__in(c, 1),
                               *B = kw__in(c, 2);
    struct conv_shape s;
    enum kw_status st = conv_shape(c, X, W, &s);
    if (st) return st;
    if (!kw__dtype_is_float(X->dtype) || W->dtype != X->dtype ||
        (B && (!kw__is_tensor(B) || B->dtype != X->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "unsupported dtype %s",
                           kw_onnx_dtype_name(X->dtype));
    if (B && (B->rank != 1 || B->dims[0] != s.M))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "B must have %lld elements", (long long)s.M);
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, X->dtype, s.rank, s.ydims);
    if (!Y) return KW_STATUS_ERR_NOMEM;
    if (X->dtype == KW_ONNX_FLOAT)
        return conv_f32(c, &s.g, s.N, s.C, s.M, s.group, X->data, W->data,
                        B ? B->data : NULL, Y->data);
    double *x = to_f64(X, NULL, 0), *w = to_f64(W, NULL, 0);
    double *b = B ? to_f64(B, NULL, 0) : NULL;
    double *y = malloc((size_t)(kw_onnx_numel(Y) + 1) * sizeof(double));
    st = KW_STATUS_OK;
    if (!x || !w || (B && !b) || !y) {
        st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
    } else {
        kw__nn_conv_direct(c, &s.g, s.N, s.C, s.M, s.group, x, w, b, y);
        for (int64_t i = 0; i < kw_onnx_numel(Y); i++) kw__set_f64(Y, i, y[i]);
    }
    free(x);
    free(w);
    free(b);
    free(y);
    return st;
}

/* ConvInteger / QLinearConv: acc = conv(x - xzp, w - wzp[m]) (+ bias) in
 * exact integer arithmetic carried in doubles. */
static enum kw_status qconv_acc(struct kw__op_ctx *c,
                                const struct kw_onnx_value *X,
                                const struct kw_onnx_value *xzp_v,
                                const struct kw_onnx_value *W,
                                const struct kw_onnx_value *wzp_v,
                                const struct kw_onnx_value *B,
                                struct conv_shape *s, double **acc) {
    *acc = NULL;
    enum kw_status st = conv_shape(c, X, W, s);
    if (st) return st;
    if ((X->dtype != KW_ONNX_UINT8 && X->dtype != KW_ONNX_INT8) ||
        (W->dtype != KW_ONNX_UINT8 && W->dtype != KW_ONNX_INT8))
        return kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                           "x and w must be uint8 or int8");
    if ((xzp_v && (!kw__is_tensor(xzp_v) || xzp_v->dtype != X->dtype)) ||
        (wzp_v && (!kw__is_tensor(wzp_v) || wzp_v->dtype != W->dtype)))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "zero points must match their input's dtype");
    if (B && (!kw__is_tensor(B) || B->dtype != KW_ONNX_INT32 ||
              B->rank != 1 || B->dims[0] != s->M))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "B must be int32 with %lld elements",
                           (long long)s->M);
    double *xzp = NULL, *wzp = NULL, *x = NULL, *w = NULL, *b = NULL, *y = NULL;
    if (!kw__nn_qparam(c, xzp_v, "x_zero_point", 0, 0, &xzp) ||
        !kw__nn_qparam(c, wzp_v, "w_zero_point", s->M, 0, &wzp)) {
        free(xzp);
        return KW_STATUS_ERR_FORMAT;
    }
    x = to_f64(X, xzp, 0);
    w = to_f64(W, wzp, 1);
    b = B ? to_f64(B, NULL, 0) : NULL;
    const int64_t ny = kw__nn_prod(s->ydims, s->rank);
    y = malloc((size_t)(ny + 1) * sizeof(double));
    if (!x || !w || (B && !b) || !y) {
        st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        free(y);
        y = NULL;
    } else {
        kw__nn_conv_direct(c, &s->g, s->N, s->C, s->M, s->group, x, w, b, y);
    }
    free(xzp);
    free(wzp);
    free(x);
    free(w);
    free(b);
    *acc = y;
    return st;
}

enum kw_status kw__op_conv_integer(struct kw__op_ctx *c) {
    struct conv_shape s;
    double *acc;
    enum kw_status st = qconv_acc(c, kw__in(c, 0), kw__in(c, 2), kw__in(c, 1),
                                  kw__in(c, 3), NULL, &s, &acc);
    if (st) return st;
    struct kw_onnx_value *Y = kw__out_tensor(c, 0, KW_ONNX_INT32, s.rank,
                                             s.ydims);
    if (Y) {
        int32_t *yd = Y->data;
        for (int64_t i = 0; i < kw_onnx_numel(Y); i++)
            yd[i] = (int32_t)(uint32_t)(int64_t)acc[i];
    }
    free(acc);
    return Y ? KW_STATUS_OK : KW_STATUS_ERR_NOMEM;
}

enum kw_status kw__op_qlinear_conv(struct kw__op_ctx *c) {
    const struct kw_onnx_value *yzp_v = kw__in(c, 7);
    if (!kw__is_tensor(yzp_v) ||
        (yzp_v->dtype != KW_ONNX_UINT8 && yzp_v->dtype != KW_ONNX_INT8))
        return kw__op_fail(c, KW_STATUS_ERR_FORMAT,
                           "y_zero_point must be a uint8/int8 tensor");
    struct conv_shape s;
    double *acc, *xs = NULL, *ws = NULL, *ys = NULL, *yzp = NULL;
    enum kw_status st = qconv_acc(c, kw__in(c, 0), kw__in(c, 2), kw__in(c, 3),
                                  kw__in(c, 5), kw__in(c, 8), &s, &acc);
    if (st) return st;
    struct kw_onnx_value *Y = NULL;
    if (!kw__nn_qparam(c, kw__in(c, 1), "x_scale", 0, 1, &xs) ||
        !kw__nn_qparam(c, kw__in(c, 4), "w_scale", s.M, 1, &ws) ||
        !kw__nn_qparam(c, kw__in(c, 6), "y_scale", 0, 1, &ys) ||
        !kw__nn_qparam(c, yzp_v, "y_zero_point", 0, 0, &yzp)) {
        st = KW_STATUS_ERR_FORMAT;
        goto done;
    }
    Y = kw__out_tensor(c, 0, yzp_v->dtype, s.rank, s.ydims);
    if (!Y) {
        st = KW_STATUS_ERR_NOMEM;
        goto done;
    }
    const int64_t outsz = kw__nn_prod(s.g.out, s.g.nsp);
    for (int64_t i = 0; i < kw_onnx_numel(Y); i++) {
        const int64_t m = outsz ? (i / outsz) % s.M : 0;
        const float mult = (float)xs[0] * (float)ws[m] / (float)ys[0];
        const float v = (float)acc[i] * mult;
        kw__set_i64(Y, i, kw__nn_saturate((double)v + yzp[0], Y->dtype));
    }
done:
    free(xs);
    free(ws);
    free(ys);
    free(yzp);
    free(acc);
    return st;
}
