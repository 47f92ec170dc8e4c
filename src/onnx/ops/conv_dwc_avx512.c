/*
 * conv_dwc_avx512.c — depthwise 2-D convolution of small planes (7x7,
 * 14x14: the late layers of MobileNet / EfficientNet), 16 channels at a
 * time. The planes go into a zero-bordered pixel-major scratch, one zmm
 * of 16 channels per pixel, so each output pixel is kh*kw whole-vector
 * FMAs with no row edges; the result is transposed back. The
 * plane-by-plane kernel spends most of such a plane on per-row and
 * per-plane overheads and on vector lanes past the row's end.
 * Also the even/odd split of a row (stride-2 phase planes).
 * Entry points: kw__dwc_scratch_floats, kw__dwc_block_avx512,
 * kw__deint2_avx512 (dwc.h).
 */
#include <immintrin.h>

#include "onnx/ops/dwc.h"

static void dims(const struct kw__dwc *g, int64_t *hp, int64_t *wp) {
    *hp = KW_MAX(g->ih + g->pt, (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1);
    *wp = KW_MAX(g->iw + g->pl, (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1);
}

int64_t kw__dwc_scratch_floats(const struct kw__dwc *g) {
    int64_t hp, wp;
    dims(g, &hp, &wp);
    return (hp * wp + g->oh * g->ow + g->kh * g->kw) * 16 + 16;
}

static inline __m512 act_v(__m512 x, int act, __m512 va, __m512 vb) {
    if (act == KW_ACT_RELU) return _mm512_max_ps(x, _mm512_setzero_ps());
    if (act == KW_ACT_CLIP) return _mm512_min_ps(vb, _mm512_max_ps(va, x));
    return x;
}

/* NP output pixels of one row from column ow0, as NP accumulators */
static inline __attribute__((always_inline)) void
pixels(const int NP, const struct kw__dwc *g, const float *in, int64_t wp,
       const __m512 *wv, __m512 bias, int64_t oh, int64_t ow0, float *out,
       int act, __m512 va, __m512 vb) {
    __m512 acc[8];
    for (int i = 0; i < NP; i++) acc[i] = bias;
    for (int64_t kh = 0; kh < g->kh; kh++) {
        const float *row = in + (oh * g->sh + kh * g->dh) * wp * 16;
        for (int64_t kw = 0; kw < g->kw; kw++) {
            const __m512 w = wv[kh * g->kw + kw];
            const float *px = row + (ow0 * g->sw + kw * g->dw) * 16;
            for (int i = 0; i < NP; i++)
                acc[i] = _mm512_fmadd_ps(
                    w, _mm512_load_ps(px + (int64_t)i * g->sw * 16), acc[i]);
        }
    }
    for (int i = 0; i < NP; i++)
        _mm512_store_ps(out + (oh * g->ow + ow0 + i) * 16,
                        act_v(acc[i], act, va, vb));
}

void kw__dwc_block_avx512(const struct kw__dwc *g, int nch, const float *x,
                          const float *w, const float *bias, float *y,
                          float *scratch) {
    int64_t hp, wp;
    dims(g, &hp, &wp);
    /* 64-byte aligned pieces: input pixels, output pixels, weights */
    float *in = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *out = in + hp * wp * 16;
    float *wt = out + g->oh * g->ow * 16;
    const int64_t KK = g->kh * g->kw, isz = g->ih * g->iw, osz = g->oh * g->ow;
    memset(in, 0, (size_t)(hp * wp * 16) * sizeof(float));
    memset(wt, 0, (size_t)(KK * 16) * sizeof(float));
    for (int c = 0; c < nch; c++) {
        const float *xc = x + c * isz;
        for (int64_t h = 0; h < g->ih; h++) {
            float *d = in + ((h + g->pt) * wp + g->pl) * 16 + c;
            for (int64_t i = 0; i < g->iw; i++) d[i * 16] = xc[h * g->iw + i];
        }
        for (int64_t t = 0; t < KK; t++) wt[t * 16 + c] = w[c * KK + t];
    }
    __m512 wv[64];
    const int64_t nw = KW_MIN(KK, (int64_t)64);
    for (int64_t t = 0; t < nw; t++) wv[t] = _mm512_load_ps(wt + t * 16);
    float b16[16] = {0};
    for (int c = 0; c < nch && bias; c++) b16[c] = bias[c];
    const __m512 vb0 = _mm512_loadu_ps(b16);
    const int act = g->act == KW_ACT_RELU || g->act == KW_ACT_CLIP ? g->act : 0;
    const __m512 va = _mm512_set1_ps(g->a), vb = _mm512_set1_ps(g->b);
    for (int64_t oh = 0; oh < g->oh; oh++) {
        int64_t ow = 0;
        for (; ow + 8 <= g->ow; ow += 8)
            pixels(8, g, in, wp, wv, vb0, oh, ow, out, act, va, vb);
        for (; ow + 4 <= g->ow; ow += 4)
            pixels(4, g, in, wp, wv, vb0, oh, ow, out, act, va, vb);
        for (; ow < g->ow; ow++)
            pixels(1, g, in, wp, wv, vb0, oh, ow, out, act, va, vb);
    }
    for (int c = 0; c < nch; c++) {
        float *yc = y + c * osz;
        for (int64_t p = 0; p < osz; p++) yc[p] = out[p * 16 + c];
    }
}

void kw__deint2_avx512(const float *x, int64_t n, float *ev, float *od) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19,
                                         21, 23, 25, 27, 29, 31);
    int64_t k = 0;
    for (; 2 * k + 32 <= n; k += 16) {
        const __m512 a = _mm512_loadu_ps(x + 2 * k),
                     b = _mm512_loadu_ps(x + 2 * k + 16);
        _mm512_storeu_ps(ev + k, _mm512_permutex2var_ps(a, ie, b));
        _mm512_storeu_ps(od + k, _mm512_permutex2var_ps(a, io, b));
    }
    for (; 2 * k < n; k++) {
        ev[k] = x[2 * k];
        if (2 * k + 1 < n) od[k] = x[2 * k + 1];
    }
}
