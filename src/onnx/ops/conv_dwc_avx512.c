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
#include "onnx/ops/tr16_avx512.h"

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

/* 16-pixel chunks of nch planes (isz pixels, iw a row) into the
 * pixel-major padded scratch (pixel (h, w) at ((h+pt)*wp + w+pl)*16) */
static void planes_in(const struct kw__dwc *g, int nch, const float *x,
                      int64_t wp, float *in) {
    const int64_t isz = g->ih * g->iw;
    int64_t h = 0, w = 0;
    for (int64_t p0 = 0; p0 < isz; p0 += 16) {
        const int n = (int)KW_MIN((int64_t)16, isz - p0);
        const __mmask16 m = (__mmask16)((1u << n) - 1);
        __m512 r[16];
        for (int c = 0; c < 16; c++)
            r[c] = c < nch ? _mm512_maskz_loadu_ps(m, x + c * isz + p0)
                           : _mm512_setzero_ps();
        kw__tr16(r);
        for (int i = 0; i < n; i++) {
            _mm512_store_ps(in + ((h + g->pt) * wp + w + g->pl) * 16, r[i]);
            if (++w == g->iw) w = 0, h++;
        }
    }
}

/* the pixel-major output (osz pixels of 16 channels) back to nch planes */
static void planes_out(int64_t osz, int nch, const float *out, float *y) {
    for (int64_t p0 = 0; p0 < osz; p0 += 16) {
        const int n = (int)KW_MIN((int64_t)16, osz - p0);
        const __mmask16 m = (__mmask16)((1u << n) - 1);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < n ? _mm512_load_ps(out + (p0 + i) * 16)
                         : _mm512_setzero_ps();
        kw__tr16(r);
        for (int c = 0; c < nch; c++)
            _mm512_mask_storeu_ps(y + c * osz + p0, m, r[c]);
    }
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
    const int64_t KK = g->kh * g->kw, osz = g->oh * g->ow;
    /* in's border is still zero (the scratch came zeroed, and every
     * block writes all 16 lanes of the same interior pixels); lanes of
     * wt past nch hold stale weights, whose results are never stored */
    planes_in(g, nch, x, wp, in);
    for (int c = 0; c < nch; c++)
        for (int64_t t = 0; t < KK; t++) wt[t * 16 + c] = w[c * KK + t];
    __m512 wv[64];
    const int64_t nw = KW_MIN(KK, (int64_t)64);
    for (int64_t t = 0; t < nw; t++) wv[t] = _mm512_load_ps(wt + t * 16);
    float b16[16] = {0};
    for (int c = 0; c < nch && bias; c++) b16[c] = bias[c];
    const __m512 vb0 = _mm512_loadu_ps(b16);
    const int act = g->act == KW_ACT_RELU || g->act == KW_ACT_CLIP ? g->act : 0;
    const __m512 va = _mm512_set1_ps(g->a), vb = _mm512_set1_ps(g->b);
    for (int64_t oh = 0; oh < g->oh; oh++) {
        /* the row's remainder in one go too: one pixel at a time would
         * wait on a single accumulator's FMA latency */
        for (int64_t ow = 0; ow < g->ow; ow += 8) {
            switch (KW_MIN((int64_t)8, g->ow - ow)) {
#define PX(n)                                                               \
    case n:                                                                 \
        pixels(n, g, in, wp, wv, vb0, oh, ow, out, act, va, vb);            \
        break;
                PX(1) PX(2) PX(3) PX(4) PX(5) PX(6) PX(7) PX(8)
#undef PX
            }
        }
    }
    planes_out(osz, nch, out, y);
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
    if (2 * k < n) { /* the last < 32: masked, nothing read or written past */
        const int r = (int)(n - 2 * k);
        const __mmask16 ma = (__mmask16)((1u << KW_MIN(r, 16)) - 1),
                        mb = (__mmask16)(r > 16 ? (1u << (r - 16)) - 1 : 0);
        const __m512 a = _mm512_maskz_loadu_ps(ma, x + 2 * k),
                     b = _mm512_maskz_loadu_ps(mb, x + 2 * k + 16);
        _mm512_mask_storeu_ps(ev + k, (__mmask16)((1u << ((r + 1) / 2)) - 1),
                              _mm512_permutex2var_ps(a, ie, b));
        _mm512_mask_storeu_ps(od + k, (__mmask16)((1u << (r / 2)) - 1),
                              _mm512_permutex2var_ps(a, io, b));
    }
}
