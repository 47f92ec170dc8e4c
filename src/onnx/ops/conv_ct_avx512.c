/*
 * conv_ct_avx512.c — the micro-kernel of the channel-vector convolution
 * (conv_ct.h): 32 output channels x NP pixels in 2*NP zmm accumulators;
 * each k step loads two weight vectors and broadcasts NP input floats
 * (at a fixed stride, so each is one load with a constant offset), the
 * same two loads per 24 FMAs as the packed GEMM but with nothing packed.
 * The tile is transposed into the output planes with the residual and
 * the activation, or stored as it is in the c16 layout; a c16 residual
 * is added before either. The transposing store stays out of line:
 * inlined into the tile with the residual's code, it cost the K loop
 * registers (a 1024 -> 256 layer on 14x14 took 0.74 ms instead of
 * 0.62); the c16 one is short and stays inline (out of line it cost the
 * short-K expansion layers of MobileNetV2 about 5 %).
 * Entry point: kw__ct_tile_avx512.
 */
#include "onnx/ops/conv_ct.h"
#include "onnx/ops/tr16_avx512.h"

static inline __m512 act_v(__m512 x, int act, __m512 va, __m512 vb) {
    if (act == KW_ACT_RELU) return _mm512_max_ps(x, _mm512_setzero_ps());
    if (act == KW_ACT_CLIP) return _mm512_min_ps(vb, _mm512_max_ps(va, x));
    return x;
}

/* the c16 residual of pixel q0 + j, channels m0.. (rblk) */
static inline const float *res_blk(const struct kw__ct *d, int64_t m0,
                                   int64_t q0, int j) {
    return d->res + (m0 * d->OHOW + (q0 + j) * 16);
}

/* 16 channels (mv of them kept) x NP pixels in acc -> the planes (a
 * c16 residual added before the transpose, a planar one after) */
static __attribute__((noinline)) void
store_half(const int NP, const struct kw__ct *d, const __m512 *acc,
           int64_t m0, int mv, int64_t q0) {
    __m512 r[16];
    for (int j = 0; j < 16; j++) {
        r[j] = j < NP ? acc[j] : _mm512_setzero_ps();
        if (j < NP && d->rblk)
            r[j] = _mm512_add_ps(r[j], _mm512_loadu_ps(res_blk(d, m0, q0, j)));
    }
    kw__tr16(r);
    const __mmask16 mq = (__mmask16)((1u << NP) - 1);
    const __m512 va = _mm512_set1_ps(d->a), vb = _mm512_set1_ps(d->b);
    for (int c = 0; c < mv; c++) {
        const int64_t o = (m0 + c) * d->OHOW + q0;
        __m512 v = r[c];
        if (d->res && !d->rblk)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mq, d->res + o));
        _mm512_mask_storeu_ps(d->y + o, mq, act_v(v, d->act, va, vb));
    }
}

/* the same into the c16 layout: each pixel's 16 channels one vector */
static inline __attribute__((always_inline)) void
store_blk(const int NP, const struct kw__ct *d, const __m512 *acc,
          int64_t m0, int64_t q0) {
    const __m512 va = _mm512_set1_ps(d->a), vb = _mm512_set1_ps(d->b);
    float *y = d->y + (m0 * d->OHOW + q0 * 16);
    if (d->res) {
        const float *r = res_blk(d, m0, q0, 0);
        for (int j = 0; j < NP; j++)
            _mm512_storeu_ps(y + j * 16,
                             act_v(_mm512_add_ps(acc[j],
                                                 _mm512_loadu_ps(r + j * 16)),
                                   d->act, va, vb));
        return;
    }
    for (int j = 0; j < NP; j++)
        _mm512_storeu_ps(y + j * 16, act_v(acc[j], d->act, va, vb));
}

/* TWO: both vectors of the panel; 0: a last panel of up to 16
 * channels, whose second vector would be all padding */
static inline __attribute__((always_inline)) void
tile(const int NP, const int SX, const int TWO, const struct kw__ct *d,
     int64_t p, const struct kw__ct_blk *b, int64_t xo, int64_t q0) {
    const int64_t m0 = p * d->pw;
    const int mv = (int)KW_MIN((int64_t)d->pw, d->M - m0);
    const __mmask16 k0 = mv >= 16 ? 0xffff : (__mmask16)((1u << mv) - 1);
    const __mmask16 k1 = mv >= 32   ? 0xffff
                         : mv > 16 ? (__mmask16)((1u << (mv - 16)) - 1)
                                   : 0;
    __m512 a0[KW_CT_NP], a1[KW_CT_NP];
    if (b->first) {
        const __m512 b0 = d->bias ? _mm512_maskz_loadu_ps(k0, d->bias + m0)
                                  : _mm512_setzero_ps();
        const __m512 b1 = d->bias
                              ? _mm512_maskz_loadu_ps(k1, d->bias + m0 + 16)
                              : _mm512_setzero_ps();
        for (int j = 0; j < NP; j++) a0[j] = b0, a1[j] = b1;
    } else {
        for (int j = 0; j < NP; j++) {
            a0[j] = _mm512_load_ps(b->part + j * KW_CT_MV);
            a1[j] = TWO ? _mm512_load_ps(b->part + j * KW_CT_MV + 16)
                        : _mm512_setzero_ps();
        }
    }
    const float *w = d->w + (p * d->kdim + b->k0) * d->pw;
    const float *x = d->x + xo;
    const int64_t *ro = d->roff + b->k0;
    for (int64_t k = 0; k < b->kc; k++) {
        const __m512 w0 = _mm512_loadu_ps(w),
                     w1 = TWO ? _mm512_loadu_ps(w + 16) : w0;
        const float *px = x + ro[k];
        /* the weights come from memory once per panel: 2 KiB ahead,
         * and (the first run of a block) the next block into L2 */
        if (b->pf) _mm_prefetch((const char *)(w + 512), _MM_HINT_T0);
        if (b->pf) {
            _mm_prefetch((const char *)(w + KW_CT_KC * d->pw), _MM_HINT_T1);
            if (TWO)
                _mm_prefetch((const char *)(w + KW_CT_KC * d->pw + 16),
                             _MM_HINT_T1);
        }
        for (int j = 0; j < NP; j++) {
            const __m512 v = _mm512_set1_ps(px[j * SX]);
            a0[j] = _mm512_fmadd_ps(w0, v, a0[j]);
            if (TWO) a1[j] = _mm512_fmadd_ps(w1, v, a1[j]);
        }
        w += d->pw;
    }
    if (!b->last) {
        for (int j = 0; j < NP; j++) {
            _mm512_store_ps(b->part + j * KW_CT_MV, a0[j]);
            if (TWO) _mm512_store_ps(b->part + j * KW_CT_MV + 16, a1[j]);
        }
        return;
    }
    if (d->yblk) {
        store_blk(NP, d, a0, m0, q0);
        if (mv > 16) store_blk(NP, d, a1, m0 + 16, q0);
        return;
    }
    store_half(NP, d, a0, m0, KW_MIN(mv, 16), q0);
    if (mv > 16) store_half(NP, d, a1, m0 + 16, mv - 16, q0);
}

void kw__ct_tile_avx512(const struct kw__ct *d, int64_t p,
                        const struct kw__ct_blk *b, int64_t xo, int sx,
                        int64_t q0, int np) {
    const int two = d->pw == KW_CT_MV && d->M - p * KW_CT_MV > 16;
#define CT_SX(n, t)                                                         \
    {                                                                       \
        if (sx == 1) tile(n, 1, t, d, p, b, xo, q0);                        \
        else if (sx == 2) tile(n, 2, t, d, p, b, xo, q0);                   \
        else if (sx == 16) tile(n, 16, t, d, p, b, xo, q0);                 \
        else tile(n, 32, t, d, p, b, xo, q0);                               \
    }
#define CT_NP(n)                                                            \
    case n:                                                                 \
        if (two) CT_SX(n, 1) else CT_SX(n, 0)                               \
        break;
    switch (np) {
        CT_NP(1) CT_NP(2) CT_NP(3) CT_NP(4) CT_NP(5) CT_NP(6)
        CT_NP(7) CT_NP(8) CT_NP(9) CT_NP(10) CT_NP(11) CT_NP(12)
        CT_NP(13) CT_NP(14)
    default:
        break;
    }
#undef CT_NP
#undef CT_SX
}
