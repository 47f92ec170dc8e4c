/*
 * conv_dw.c — float32 depthwise 2-D Conv (one input channel per group).
 * With AVX-512: small planes 16 channels at a time (conv_dwc_avx512.c;
 * with AVX2 too, conv_dwc_avx2.c),
 * bigger stride-2 planes on a flat output grid (conv_dwf_avx512.c); the
 * rest plane by plane on the SIMD kernel of nn_kern.h. Input in the c16
 * layout (dwc.h) goes 16 channels a block with no copy, and a merged
 * pointwise layer before it (kw__node.pre) is computed here too. Bias
 * and the fused activation included. Entry points: kw__conv_dw,
 * kw__conv_dw_c16, kw__conv_dw_pre.
 */
#include <math.h>

#include "onnx/ops/conv_ct.h"
#include "onnx/ops/dwc.h"

/* ---- the channel-blocked kernels' geometry (dwc.h) ---- */

void kw__dwc_dims(const struct kw__dwc *g, int64_t *hp, int64_t *wp) {
    *hp = KW_MAX(g->ih + g->pt, (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1);
    *wp = KW_MAX(g->iw + g->pl, (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1);
}

int64_t kw__dwc_scratch_floats(const struct kw__dwc *g, int64_t *zero) {
    int64_t hp, wp;
    kw__dwc_dims(g, &hp, &wp);
    *zero = hp * wp * 16 + 16; /* the input's border; the rest is written */
    return (hp * wp + g->oh * g->ow + g->kh * g->kw) * 16 + 16;
}

/* 1 when the columns outside [a, b) are over an eighth of the row of a
 * small plane (up to 32x32 in): the block then goes through a
 * zero-bordered copy (edge pixels, one at a time, would cost more than
 * the copy; on bigger planes the copy costs more) */
int kw__dwb_interior(const struct kw__dwc *g, int64_t *a, int64_t *b) {
    const int64_t span = (g->kw - 1) * g->dw;
    *a = KW_MIN((g->pl + g->sw - 1) / g->sw, g->ow);
    *b = g->iw - 1 - span + g->pl >= 0
             ? (g->iw - 1 - span + g->pl) / g->sw + 1
             : 0;
    *b = KW_MAX(KW_MIN(*b, g->ow), *a);
    return (g->ow - (*b - *a)) * 8 > g->ow && g->ih * g->iw <= 1024;
}

int64_t kw__dwb_scratch_floats(const struct kw__dwc *g, int64_t *zero) {
    int64_t a, b, hp, wp;
    kw__dwc_dims(g, &hp, &wp);
    const int64_t copy = kw__dwb_interior(g, &a, &b) ? hp * wp * 16 : 0;
    /* the weights, then the copy's zero border; the output is written */
    const int64_t head = g->kh * g->kw * 16 + 16 + 16;
    *zero = copy ? head + copy : 0;
    return head + copy + g->oh * g->ow * 16;
}

/* Zeroed scratch buffers for the chunks of one parallel run, one per
 * chunk running at a time and kept for the run's later chunks: the
 * kernels rely on borders that stay zero, and zeroing a fresh buffer for
 * every chunk cost a sixth of a small plane's layer. */
#define SCR_SLOTS 64
struct scr_slots {
    size_t floats, zero; /* zero: of them, from the start, zeroed */
    int n;
    struct {
        _Alignas(64) int busy;
        float *p;
    } s[SCR_SLOTS];
};

static void scr_init(struct scr_slots *ss, struct kw__op_ctx *c,
                     int64_t floats, int64_t zero) {
    ss->floats = floats > 0 ? (size_t)floats : 0;
    ss->zero = zero > 0 ? KW_MIN((size_t)zero, ss->floats) : 0;
    ss->n = KW_MIN(KW_MAX(kw__nn_threads(c), 1), SCR_SLOTS);
    for (int i = 0; i < ss->n; i++) ss->s[i].busy = 0, ss->s[i].p = NULL;
}

/* calloc would zero all of a buffer that is mostly written before it
 * is read (a big plane's: a tenth of the layer) */
static float *scr_alloc(const struct scr_slots *ss) {
    float *p = malloc(KW_MAX(ss->floats, (size_t)1) * sizeof(float));
    if (p) memset(p, 0, ss->zero * sizeof(float));
#ifdef KW_POISON_SCRATCH
    for (size_t i = ss->zero; p && i < ss->floats; i++) p[i] = NAN;
#endif
    return p;
}

/* A free slot's buffer (*slot: give it back with scr_give), or NULL on
 * out of memory (*failed set); -1 in *slot: a one-off buffer, to free */
static float *scr_take(struct scr_slots *ss, int *slot, int *failed) {
    float *p = NULL;
    for (int i = 0; i < ss->n; i++) {
        int idle = 0;
        if (!__atomic_compare_exchange_n(&ss->s[i].busy, &idle, 1, 0,
                                         __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            continue;
        if (!ss->s[i].p) ss->s[i].p = scr_alloc(ss);
        p = ss->s[i].p;
        if (!p) __atomic_store_n(&ss->s[i].busy, 0, __ATOMIC_RELEASE);
        *slot = i;
        break;
    }
    if (!p && *slot < 0) /* more chunks at once than threads: not expected */
        p = scr_alloc(ss);
    if (!p) __atomic_store_n(failed, 1, __ATOMIC_RELAXED);
    return p;
}

static void scr_give(struct scr_slots *ss, int slot, float *p) {
    if (slot < 0) free(p);
    else __atomic_store_n(&ss->s[slot].busy, 0, __ATOMIC_RELEASE);
}

static void scr_free(struct scr_slots *ss) {
    for (int i = 0; i < ss->n; i++) free(ss->s[i].p);
}

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

/* Zeroes what of d->pad the planes never overwrite: all of it for the
 * stride-2 split rows of nn_kern.h, else the border around the plane
 * (zeroing the whole buffer for every task would cost a fifth of a big
 * plane's time). */
static void pad_border_zero(const struct kw__dw2d *d) {
    const int64_t wp = d->wp, padn = d->hp * wp + 32;
    if (d->sh != 1 || d->sw != 1 || d->ih + d->pt > d->hp ||
        d->iw + d->pl > wp) {
        memset(d->pad, 0, (size_t)padn * sizeof(float));
        return;
    }
    const int64_t below = (d->pt + d->ih) * wp;
    memset(d->pad, 0, (size_t)(d->pt * wp) * sizeof(float));
    memset(d->pad + below, 0, (size_t)(padn - below) * sizeof(float));
    for (int64_t h = d->pt; h < d->pt + d->ih; h++) {
        float *r = d->pad + h * wp;
        memset(r, 0, (size_t)d->pl * sizeof(float));
        memset(r + d->pl + d->iw, 0,
               (size_t)(wp - d->pl - d->iw) * sizeof(float));
    }
}

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
    /* rows 64-byte aligned, and so (stride 2) the odd columns' half: a
     * tile's loads then cross cache lines less often (96 channels 3x3/2
     * on 112x112: 0.66 -> 0.62 ms) */
    d.wp = kw__cdiv(d.wp, 16) * 16;
    const int64_t padn = kw__nn_prod((int64_t[]){d.hp, d.wp}, 2);
    if (padn < 0 || padn > ((int64_t)1 << 40) ||
        !(d.pad = kw__alloc_aligned(((size_t)padn + 32) * sizeof(float)))) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    pad_border_zero(&d);
    const int64_t insz = g->in[0] * g->in[1], outsz = g->out[0] * g->out[1];
    for (int64_t p = p0; p < p1; p++) {
        const int64_t n = p / j->M, oc = p % j->M, ic = oc / j->Mg;
        d.w = j->w + oc * g->k[0] * g->k[1];
        d.bias = j->bias ? j->bias[oc] : 0.0f;
        j->kern->dw2d(&d, j->x + (n * j->C + ic) * insz, j->y + p * outsz);
    }
    kw__free_aligned(d.pad);
}

/* ---- 16 channels a block (conv_dwc_avx512.c) ---- */

/* A depthwise layer done 16 channels a block (dwc and dwb below) */
struct blk_job {
    struct kw__dwc d;
    const float *x, *w, *bias;
    float *y;
    int64_t C, nb, blocks; /* blocks: nb an image, of all the images */
    int64_t bands;         /* bands of output rows (1: dwc) */
    int dwb, yblk;         /* x in the c16 layout (dwb), y too */
    int avx2;              /* dwc on the AVX2 kernel */
    const struct kw__nn_kern *kern;
    int act; /* left to do after the block: not Relu / Clip */
    float aa, ab;
    int failed;
    struct scr_slots scr;
};

static void blk_job_init(struct blk_job *j, const struct kw__nn_geom *g,
                         int64_t N, int64_t C, const float *x, const float *w,
                         const float *bias, float *y,
                         const struct kw__nn_kern *kern, int act, float aa,
                         float ab) {
    const int64_t nb = (C + 15) / 16;
    *j = (struct blk_job){{g->in[0], g->in[1], g->out[0], g->out[1], g->k[0],
                           g->k[1], g->s[0], g->s[1], g->d[0], g->d[1],
                           g->pb[0], g->pb[1], act, aa, ab},
                          x, w, bias, y, C, nb, N * nb, 1, 0, 0, 0, kern,
                          kw__dwc_act_ok(act) ? 0 : act, aa, ab, 0, {0}};
}

/* Bands of output rows for nth threads: one a thread, unless they
 * would be uneven (7 rows in 2): then one, and the blocks split */
static int64_t dw_bands(const struct kw__nn_geom *g, int nth) {
    return nth > 1 && (g->out[0] % nth == 0 || g->out[0] >= 8 * nth)
               ? KW_MIN(g->out[0], (int64_t)nth)
               : 1;
}

/* items: bands of output rows (always one for dwc), each over every
 * block of 16 channels (a thread's share of the items is then a share
 * of the rows, as in the pointwise layers on either side: kw__claim) */
static void blk_items(void *arg, int64_t b0, int64_t b1) {
    struct blk_job *j = arg;
    int slot = -1;
    float *scratch = scr_take(&j->scr, &slot, &j->failed);
    if (!scratch) return;
    const int64_t isz = j->d.ih * j->d.iw, osz = j->d.oh * j->d.ow,
                  KK = j->d.kh * j->d.kw;
    for (int64_t b = b0; b < b1; b++) {
        const int64_t band = b / j->blocks, c0 = b % j->blocks % j->nb * 16,
                      img = b % j->blocks / j->nb;
        const int64_t oh0 = band * j->d.oh / j->bands,
                      oh1 = (band + 1) * j->d.oh / j->bands;
        const int nch = (int)KW_MIN((int64_t)16, j->C - c0);
        const float *x = j->x + (img * j->C + c0) * isz,
                    *bias = j->bias ? j->bias + c0 : NULL;
        float *y = j->y + (img * j->C + c0) * osz;
        if (!j->dwb) {
            if (j->avx2)
                kw__dwc_block_avx2(&j->d, nch, x, j->w + c0 * KK, bias, y,
                                   scratch);
            else
                kw__dwc_block_avx512(&j->d, nch, x, j->w + c0 * KK, bias, y,
                                     scratch);
            if (j->act) j->kern->act(y, nch * osz, j->act, j->aa, j->ab);
            continue;
        }
        kw__dwb_block_avx512(&j->d, x, j->w + c0 * KK, bias, y, j->yblk, oh0,
                             oh1, scratch);
        if (j->act) /* the band: its pixels in c16, its rows of each plane */
            for (int c = 0; c < (j->yblk ? 1 : 16); c++)
                j->kern->act(j->yblk ? y + oh0 * j->d.ow * 16
                                     : y + c * osz + oh0 * j->d.ow,
                             (oh1 - oh0) * j->d.ow * (j->yblk ? 16 : 1),
                             j->act, j->aa, j->ab);
    }
    scr_give(&j->scr, slot, scratch);
}

/* ---- any plane on a flat output grid (conv_dwf_avx512.c) ---- */

struct dwf_job {
    struct kw__dwf f;
    const uint16_t *masks;
    const float *x, *w, *bias;
    float *y;
    int64_t C, M, Mg, isz, osz, KK;
    const struct kw__nn_kern *kern;
    int act; /* left to do after the plane: not Relu / Clip */
    float aa, ab;
    int failed;
    struct scr_slots scr;
};

static void dwf_planes(void *arg, int64_t p0, int64_t p1) {
#if KW_HAVE_X86
    struct dwf_job *j = arg;
    int slot = -1;
    float *scratch = scr_take(&j->scr, &slot, &j->failed);
    if (!scratch) return;
    for (int64_t p = p0; p < p1; p++) {
        const int64_t n = p / j->M, oc = p % j->M, ic = oc / j->Mg;
        float *y = j->y + p * j->osz;
        kw__dwf_plane_avx512(&j->f, j->masks, j->x + (n * j->C + ic) * j->isz,
                             j->w + oc * j->KK, j->bias ? j->bias[oc] : 0.0f,
                             y, scratch);
        if (j->act) j->kern->act(y, j->osz, j->act, j->aa, j->ab);
    }
    scr_give(&j->scr, slot, scratch);
#else
    (void)arg, (void)p0, (void)p1;
#endif
}

/* The flat-grid geometry of g; 0 when it does not apply (strides over
 * 2, negative begin pads, over 64 taps, a plane too big). */
static int dwf_plan(struct kw__dwf *f, const struct kw__nn_geom *g, int act,
                    float aa, float ab) {
    const int64_t kh = g->k[0], kw = g->k[1], sh = g->s[0], sw = g->s[1];
    if (sh > 2 || sw > 2 || g->pb[0] < 0 || g->pb[1] < 0 || kh * kw > 64 ||
        g->out[0] < 1 || g->out[1] < 1 || g->in[0] > (1 << 20) ||
        g->in[1] > (1 << 20) || g->d[0] > 64 || g->d[1] > 64)
        return 0;
    const int64_t hp = KW_MAX(g->in[0] + g->pb[0],
                              (g->out[0] - 1) * sh + (kh - 1) * g->d[0] + 1);
    const int64_t wp = KW_MAX(g->in[1] + g->pb[1],
                              (g->out[1] - 1) * sw + (kw - 1) * g->d[1] + 1);
    *f = (struct kw__dwf){.ih = g->in[0], .iw = g->in[1], .sh = sh, .sw = sw,
                          .pt = g->pb[0], .pl = g->pb[1],
                          .hp2 = kw__cdiv(hp, sh), .W = kw__cdiv(wp, sw),
                          .ntaps = (int)(kh * kw),
                          .act = kw__dwc_act_ok(act) ? act : 0,
                          .a = aa, .b = ab};
    /* a pitch of whole vectors when it costs few lanes: each row then
     * starts a vector, and stores need no compress */
    const int64_t w16 = kw__cdiv(f->W, 16) * 16;
    if (w16 * 8 <= f->W * 9) f->W = w16;
    if (f->hp2 * f->W > ((int64_t)1 << 24)) return 0; /* 64 MiB a plane */
    f->nvec = kw__cdiv(g->out[0] * f->W, 16);
    for (int64_t t = 0; t < kh * kw; t++) {
        const int64_t dy = t / kw * g->d[0], dx = t % kw * g->d[1];
        f->off[t] = ((dy % sh) * sw + dx % sw) * f->hp2 * f->W +
                    dy / sh * f->W + dx / sw;
        f->reach = KW_MAX(f->reach, dy / sh * f->W + dx / sw + 8 * 16);
    }
    return 1;
}

/* 1 when the flat-grid kernel applies (and ran: *st set) */
static int conv_dwf(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                    int64_t N, int64_t C, int64_t M, const float *x,
                    const float *w, const float *bias, float *y,
                    const struct kw__nn_kern *kern, int act, float aa,
                    float ab, enum kw_status *st) {
    struct dwf_job j = {.x = x, .w = w, .bias = bias, .y = y, .C = C,
                        .M = M, .Mg = M / C, .isz = g->in[0] * g->in[1],
                        .osz = g->out[0] * g->out[1],
                        .KK = g->k[0] * g->k[1], .kern = kern, .aa = aa,
                        .ab = ab};
    /* stride 1 stays with the plane kernel, whose 4-row tiles load each
     * input vector once for several output rows */
    if (!KW_HAVE_X86 || kw__nn_isa() != KW__ISA_AVX512 || g->nsp != 2 ||
        (g->s[0] == 1 && g->s[1] == 1) || !dwf_plan(&j.f, g, act, aa, ab))
        return 0;
    j.act = kw__dwc_act_ok(act) ? 0 : act;
    uint16_t *masks = malloc((size_t)j.f.nvec * sizeof *masks);
    if (!masks) {
        *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        return 1;
    }
    const int64_t lanes = g->out[0] * j.f.W;
    for (int64_t v = 0; v < j.f.nvec; v++) {
        unsigned m = 0;
        for (int l = 0; l < 16; l++) {
            const int64_t L = v * 16 + l;
            if (L < lanes && L % j.f.W < g->out[1]) m |= 1u << l;
        }
        masks[v] = (uint16_t)m;
    }
    j.masks = masks;
    const int64_t nscr = kw__dwf_scratch_floats(&j.f);
    scr_init(&j.scr, c, nscr, nscr);
    kw__nn_parallel(c, N * M, 1, dwf_planes, &j);
    scr_free(&j.scr);
    free(masks);
    *st = j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                   : KW_STATUS_OK;
    return 1;
}

/* 1 when the channel-blocked kernel applies (and ran: *st set) */
static int conv_dwc(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                    int64_t N, int64_t C, const float *x, const float *w,
                    const float *bias, float *y,
                    const struct kw__nn_kern *kern, int act, float aa,
                    float ab, enum kw_status *st) {
#if KW_HAVE_X86
    /* small planes only (up to 32x32 in, 16x16 out): from 28x28 out
     * on, rows vectorise well enough plane by plane and the transposes
     * cost more than they save, but for bigger kernels with AVX2 */
    const enum kw__isa isa = kw__nn_isa();
    /* (with AVX2, 5x5 kernels up to 64x64 in, 32x32 out: EfficientNet-
     * Lite0's 28x28 layers 0.56 -> 0.49 ms and 0.50 -> 0.42; a 3x3 one
     * there loses a tenth) */
    const int64_t big =
        isa == KW__ISA_AVX2 && g->k[0] * g->k[1] >= 25 ? 4 : 1;
    if ((isa != KW__ISA_AVX512 && isa != KW__ISA_AVX2) ||
        g->out[0] * g->out[1] > 256 * big || g->in[0] * g->in[1] > 1024 * big ||
        g->k[0] * g->k[1] > 64 || g->pb[0] < 0 || g->pb[1] < 0)
        return 0;
    struct blk_job j;
    blk_job_init(&j, g, N, C, x, w, bias, y, kern, act, aa, ab);
    j.avx2 = isa == KW__ISA_AVX2;
    int64_t zero;
    const int64_t nscr = kw__dwc_scratch_floats(&j.d, &zero);
    if (nscr <= 0 || nscr >= ((int64_t)1 << 30)) return 0;
    scr_init(&j.scr, c, nscr, zero);
    kw__nn_parallel(c, j.blocks, 1, blk_items, &j);
    scr_free(&j.scr);
    *st = j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                   : KW_STATUS_OK;
    return 1;
#else
    (void)c, (void)g, (void)N, (void)C, (void)x, (void)w, (void)bias;
    (void)y, (void)kern, (void)act, (void)aa, (void)ab, (void)st;
    return 0;
#endif
}

/* ---- c16 input (dwc.h), 16 channels a block ---- */

int kw__conv_dw_c16(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                    int64_t N, int64_t C, int64_t M, const float *x,
                    const float *w, const float *bias, float *y, int yblk,
                    const struct kw__nn_kern *kern, int act, float aa,
                    float ab, enum kw_status *st) {
    if (!KW_HAVE_X86 || kw__nn_isa() != KW__ISA_AVX512 || g->nsp != 2 ||
        M != C || C % 16 || g->k[0] * g->k[1] > 64 || g->pb[0] < 0 ||
        g->pb[1] < 0)
        return 0;
#if KW_HAVE_X86
    struct blk_job j;
    blk_job_init(&j, g, N, C, x, w, bias, y, kern, act, aa, ab);
    j.dwb = 1;
    j.yblk = yblk;
    j.bands = dw_bands(g, kw__nn_threads(c));
    int64_t zero;
    const int64_t nscr = kw__dwb_scratch_floats(&j.d, &zero);
    scr_init(&j.scr, c, nscr, zero);
    kw__nn_parallel(c, j.blocks * j.bands, 1, blk_items, &j);
    scr_free(&j.scr);
    *st = j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                   : KW_STATUS_OK;
#else
    (void)N, (void)x, (void)w, (void)bias, (void)y, (void)yblk, (void)kern;
    (void)act, (void)aa, (void)ab, (void)st;
#endif
    return 1;
}

/* ---- a pointwise layer and the depthwise one it feeds (conv_ct.h) ---- */

struct pre_job {
    struct blk_job dw;  /* the depthwise layer, C of it = M */
    struct kw__ct ct;   /* the pointwise one: one image, all its channels */
    const struct kw__dw_pre *pre;
    int64_t nparts;     /* in turn: pixel shares of each panel */
    float *e;           /* in turn: the whole expansion, N images */
    int64_t dwscr;      /* block by block: a slot's floats before its
                         * block of the expansion (the depthwise
                         * kernel's scratch) */
};

/* The expansion of image img into e (c16): how 0, block blk (16
 * channels) alone, or 2, the panel of blocks blk and blk + 1, of input
 * rows [r0, r1); 1, panel blk (32 channels), share part, into the
 * image's place in e (all M channels) */
static void pre_expand_block(const struct pre_job *j, int64_t img,
                             int64_t blk, int64_t part, float *e, int how,
                             int64_t r0, int64_t r1) {
    struct kw__ct d = j->ct;
    d.x = j->pre->x + img * j->pre->C * d.OHOW;
    if (how == 1) {
        d.y = e + img * d.M * d.OHOW;
        kw__ct_pointwise_part(&d, j->pre->xblk, blk, part, j->nparts);
        return;
    }
    d.x += r0 * j->dw.d.iw * (j->pre->xblk ? 16 : 1);
    d.OHOW = (r1 - r0) * j->dw.d.iw;
    d.w += blk / 2 * j->pre->C * KW_CT_MV + (how ? 0 : blk % 2 * 16);
    d.bias = d.bias ? d.bias + blk * 16 : NULL;
    d.M = how ? KW_CT_MV : 16;
    d.y = e;
    kw__ct_pointwise_part(&d, j->pre->xblk, 0, 0, 1);
}

/* The input rows [*r0, *r1) that output rows [oh0, oh1) read */
static void band_rows(const struct kw__dwc *g, int64_t oh0, int64_t oh1,
                      int64_t *r0, int64_t *r1) {
    *r0 = KW_MAX(oh0 * g->sh - g->pt, (int64_t)0);
    *r1 = KW_MIN((oh1 - 1) * g->sh - g->pt + (g->kh - 1) * g->dh + 1, g->ih);
    *r1 = KW_MAX(*r1, *r0);
}

/* The most input rows of nbands bands of g's output rows; 0 when a
 * band would have under 2 rows, or its input under 1024 pixels */
static int64_t band_max_rows(const struct kw__dwc *g, int64_t nbands) {
    int64_t most = 0;
    if (nbands < 2 || g->oh < 2 * nbands) return 0;
    for (int64_t b = 0; b < nbands; b++) {
        int64_t r0, r1;
        band_rows(g, b * g->oh / nbands, (b + 1) * g->oh / nbands, &r0, &r1);
        if ((r1 - r0) * g->iw <= 1024) return 0;
        most = KW_MAX(most, r1 - r0);
    }
    return most;
}

/* Block blk (and blk + 1 when pair) of image img, expanded in e (rows
 * [r0, r1) of the plane), convolved into output rows [oh0, oh1) */
static void pre_convolve(const struct pre_job *j, int64_t img, int64_t blk,
                         int pair, const float *e, int64_t r0, int64_t r1,
                         int64_t oh0, int64_t oh1, float *scratch) {
    const struct blk_job *dw = &j->dw;
    /* the rows in e as a plane of their own, its top pad moved down */
    struct kw__dwc g = dw->d;
    g.ih = r1 - r0;
    g.pt += r0;
    const int64_t osz = g.oh * g.ow, KK = g.kh * g.kw;
    for (int h = 0; h <= pair; h++) {
        const int64_t c0 = (blk + h) * 16;
        float *y = dw->y + (img * dw->C + c0) * osz;
        kw__dwb_block_avx512(&g, e + h * 16 * g.ih * g.iw, dw->w + c0 * KK,
                             dw->bias ? dw->bias + c0 : NULL, y, dw->yblk,
                             oh0, oh1, scratch);
        if (dw->act) /* the band: its pixels in c16, its rows of each plane */
            for (int c = 0; c < (dw->yblk ? 1 : 16); c++)
                dw->kern->act(dw->yblk ? y + oh0 * g.ow * 16
                                       : y + c * osz + oh0 * g.ow,
                              (oh1 - oh0) * g.ow * (dw->yblk ? 16 : 1),
                              dw->act, dw->aa, dw->ab);
    }
}

/* in turn: items (pixel share, panel), the shares outer (as ct_items) */
static void pre_expand(void *arg, int64_t i0, int64_t i1) {
    struct pre_job *j = arg;
    const int64_t np = kw__cdiv(j->dw.nb, 2);
    for (int64_t i = i0; i < i1; i++) {
        const int64_t p = i % np, r = i / np;
        pre_expand_block(j, r / j->nparts, p, r % j->nparts, j->e, 1, 0, 0);
    }
}

/* A chunk's slot of the scratch (NULL: out of memory, noted in the job),
 * *e the part of it past the depthwise kernel's, for the expansion */
static float *pre_slot(struct pre_job *j, int *slot, float **e) {
    float *buf = scr_take(&j->dw.scr, slot, &j->dw.failed);
    if (buf) *e = kw__align64(buf + j->dwscr);
    return buf;
}

/* block by block: items (image, block), expanded into the chunk's slot
 * (in L2) two blocks, a panel, at a time where the chunk holds both
 * (FMAs that each load feeds twice), else one, and convolved from there */
static void pre_blocks(void *arg, int64_t b0, int64_t b1) {
    struct pre_job *j = arg;
    const struct blk_job *dw = &j->dw;
    int slot = -1;
    float *e, *buf = pre_slot(j, &slot, &e);
    if (!buf) return;
    for (int64_t b = b0; b < b1;) {
        const int64_t img = b / dw->nb, blk = b % dw->nb;
        const int pair = blk % 2 == 0 && b + 1 < b1 && blk + 1 < dw->nb;
        pre_expand_block(j, img, blk, 0, e, pair ? 2 : 0, 0, dw->d.ih);
        pre_convolve(j, img, blk, pair, e, 0, dw->d.ih, 0, dw->d.oh, buf);
        b += 1 + pair;
    }
    scr_give(&j->dw.scr, slot, buf);
}

/* band by band: items (image, band of output rows), the band's input
 * rows expanded a panel at a time (an odd last block alone) into the
 * chunk's slot and convolved from there; for threads that blocks would
 * leave half a panel each (6 blocks in 2), at the cost of the rows two
 * bands share, expanded for both */
static void pre_bands(void *arg, int64_t i0, int64_t i1) {
    struct pre_job *j = arg;
    const struct blk_job *dw = &j->dw;
    int slot = -1;
    float *e, *buf = pre_slot(j, &slot, &e);
    if (!buf) return;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t img = i / dw->bands, band = i % dw->bands;
        const int64_t oh0 = band * dw->d.oh / dw->bands,
                      oh1 = (band + 1) * dw->d.oh / dw->bands;
        int64_t r0, r1;
        band_rows(&dw->d, oh0, oh1, &r0, &r1);
        for (int64_t blk = 0; blk < dw->nb; blk += 2) {
            const int pair = blk + 1 < dw->nb;
            pre_expand_block(j, img, blk, 0, e, pair ? 2 : 0, r0, r1);
            pre_convolve(j, img, blk, pair, e, r0, r1, oh0, oh1, buf);
        }
    }
    scr_give(&j->dw.scr, slot, buf);
}

int kw__conv_dw_pre(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                    int64_t N, int64_t M, const struct kw__dw_pre *pre,
                    const float *w, const float *bias, float *y, int yblk,
                    const struct kw__nn_kern *kern, int act, float aa,
                    float ab, enum kw_status *st) {
    const int64_t HW = g->in[0] * g->in[1];
    if (!KW_HAVE_X86 || kw__nn_isa() != KW__ISA_AVX512 || g->nsp != 2 ||
        M % 16 || g->k[0] * g->k[1] > 64 || g->pb[0] < 0 || g->pb[1] < 0 ||
        !kw__ukr_ex_act_ok(pre->act) || pre->C < 1 ||
        (pre->xblk && pre->C % 16))
        return 0;
#if KW_HAVE_X86
    int64_t *roff = malloc((size_t)KW_MAX(pre->C, (int64_t)1) * sizeof *roff);
    if (!roff) {
        *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        return 1;
    }
    for (int64_t k = 0; k < pre->C; k++)
        roff[k] = pre->xblk ? k / 16 * HW * 16 + k % 16 : k * HW;
    struct pre_job j = {
        .ct = {NULL, roff, pre->C, pre->w, pre->bias, NULL, NULL, M, HW, 1,
               0, KW_CT_MV, pre->act, pre->a, pre->b},
        .pre = pre, .nparts = 1};
    blk_job_init(&j.dw, g, N, M, NULL, w, bias, y, kern, act, aa, ab);
    j.dw.dwb = 1;
    j.dw.yblk = yblk;
    /* An expansion of 1 MiB and up (56x56 planes) is not made whole:
     * block by block where each thread's share outgrows L2 and the
     * blocks pair up into panels evenly (at one thread; 112x112 at two,
     * 64 channels), else band by band (the bands big planes still: the
     * kernel copies small ones into a bordered scratch), else block by
     * block where the blocks split evenly still, a lone block in some
     * shares (on smaller shares the expansion by blocks costs more than
     * L2 saves); else the expansion whole, then the depthwise layer as
     * kw__conv_dw_c16 */
    const int nth = kw__nn_threads(c);
    const int64_t nbt = N * j.dw.nb, rows = band_max_rows(&j.dw.d, nth);
    const int share_big = M * HW >= nth * ((int64_t)1 << 18);
    const int by_bands = M * HW >= ((int64_t)1 << 18) && rows &&
                         !(share_big && nbt % (2 * nth) == 0);
    if (by_bands || (share_big && (nth == 1 || j.dw.nb % nth == 0 ||
                                   j.dw.nb >= 8 * nth))) {
        int64_t zero;
        j.dwscr = kw__dwb_scratch_floats(&j.dw.d, &zero);
        j.dw.bands = by_bands ? nth : 1;
        scr_init(&j.dw.scr, c,
                 j.dwscr + (by_bands ? rows : g->in[0]) * g->in[1] * KW_CT_MV +
                     16,
                 zero);
        /* blocks: a thread's in one chunk, so that they pair up into
         * panels */
        if (by_bands)
            kw__nn_parallel(c, N * nth, 1, pre_bands, &j);
        else
            kw__nn_parallel(c, nbt, KW_MAX(nbt / nth, (int64_t)1), pre_blocks,
                            &j);
        scr_free(&j.dw.scr);
        *st = j.dw.failed
                  ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                  : KW_STATUS_OK;
    } else {
        struct kw_onnx_value *hold = NULL;
        j.e = kw__conv_scratch_get(c, N * M * HW, &hold);
        if (!j.e) {
            *st = kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory");
        } else {
            /* pixel shares when the depthwise layer splits its rows
             * (so each thread convolves what it expanded: from the other
             * core it would cost more than the work), or when the panels
             * are too few to share out */
            const int64_t np = kw__cdiv(j.dw.nb, 2), bands = dw_bands(g, nth);
            if (nth > 1 && (np < 8 * nth || bands > 1))
                j.nparts = KW_MIN(kw__cdiv(HW, KW_CT_NP),
                                  kw__cdiv(kw__cdiv(8 * nth, np), bands) *
                                      bands);
            kw__nn_parallel(nth > 1 ? c : NULL, N * j.nparts * np, 1,
                            pre_expand, &j);
            if (!kw__conv_dw_c16(c, g, N, M, M, j.e, w, bias, y, yblk, kern,
                                 act, aa, ab, st)) /* checked above */
                *st = kw__op_fail(c, KW_STATUS_ERR_UNSUPPORTED,
                                  "depthwise geometry");
        }
        kw__conv_scratch_put(c, hold);
    }
    free(roff);
#else
    (void)N, (void)pre, (void)w, (void)bias, (void)y, (void)yblk, (void)kern;
    (void)act, (void)aa, (void)ab, (void)st, (void)HW;
#endif
    return 1;
}

enum kw_status kw__conv_dw(struct kw__op_ctx *c, const struct kw__nn_geom *g,
                           int64_t N, int64_t C, int64_t M, const float *x,
                           const float *w, const float *bias, float *y,
                           const struct kw__nn_kern *kern, int act, float aa,
                           float ab) {
    enum kw_status st = KW_STATUS_OK;
    if (M == C && conv_dwc(c, g, N, C, x, w, bias, y, kern, act, aa, ab, &st))
        return st;
    if (conv_dwf(c, g, N, C, M, x, w, bias, y, kern, act, aa, ab, &st))
        return st;
    struct dwk_job j = {g, x, w, bias, y, C, M, M / C, kern, act, aa, ab, 0};
    kw__nn_parallel(c, N * M, 1, dwk_planes, &j);
    return j.failed ? kw__op_fail(c, KW_STATUS_ERR_NOMEM, "out of memory")
                    : KW_STATUS_OK;
}
