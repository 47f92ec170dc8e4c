/*
 * conv_dwc_avx512.c — depthwise 2-D convolution of small planes (7x7,
 * 14x14: the late layers of MobileNet / EfficientNet), 16 channels at a
 * time. The planes go into a zero-bordered pixel-major scratch, one zmm
 * of 16 channels per pixel, so each output pixel is kh*kw whole-vector
 * FMAs with no row edges; the result is transposed back. The
 * plane-by-plane kernel spends most of such a plane on per-row and
 * per-plane overheads and on vector lanes past the row's end.
 * Also the even/odd split of a row (stride-2 phase planes).
 * Entry points: kw__dwc_block_avx512, kw__dwb_block_avx512,
 * kw__deint2_avx512 (dwc.h).
 */
#include <immintrin.h>
#include <string.h>

#include "onnx/ops/dwc.h"
#include "onnx/ops/tr16_avx512.h"

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

/* the pixel-major output (np pixels of 16 channels) back to nch planes
 * of osz pixels (the np at the start of y's) */
static void planes_out(int64_t np, int nch, const float *out, float *y,
                       int64_t osz) {
    for (int64_t p0 = 0; p0 < np; p0 += 16) {
        const int n = (int)KW_MIN((int64_t)16, np - p0);
        const __mmask16 m = (__mmask16)((1u << n) - 1);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < n ? _mm512_loadu_ps(out + (p0 + i) * 16)
                         : _mm512_setzero_ps();
        kw__tr16(r);
        for (int c = 0; c < nch; c++)
            _mm512_mask_storeu_ps(y + c * osz + p0, m, r[c]);
    }
}

/* NP output pixels of one row as NP accumulators: taps ky0..ky1-1 (the
 * rows inside the input) of kernel row ky read input row r0 + ky*dh,
 * tap kx column c0 + kx*dw (+ i*sw for pixel i), rows pitch floats
 * apart; written to out (NP pixels of 16 channels) */
static inline __attribute__((always_inline)) void
pixels(const int NP, const struct kw__dwc *g, const float *in, int64_t pitch,
       const __m512 *wv, __m512 bias, int64_t r0, int64_t ky0, int64_t ky1,
       int64_t c0, float *out, int act, __m512 va, __m512 vb) {
    __m512 acc[8];
    for (int i = 0; i < NP; i++) acc[i] = bias;
    for (int64_t kh = ky0; kh < ky1; kh++) {
        const float *row = in + (r0 + kh * g->dh) * pitch;
        for (int64_t kw = 0; kw < g->kw; kw++) {
            const __m512 w = wv[kh * g->kw + kw];
            const float *px = row + (c0 + kw * g->dw) * 16;
            for (int i = 0; i < NP; i++)
                acc[i] = _mm512_fmadd_ps(
                    w, _mm512_loadu_ps(px + (int64_t)i * g->sw * 16), acc[i]);
        }
    }
    for (int i = 0; i < NP; i++)
        _mm512_storeu_ps(out + i * 16, act_v(acc[i], act, va, vb));
}

/* n (up to 8 at a time) pixels from column ow0 of output row oh, as
 * pixels() takes them */
static void row_run(const struct kw__dwc *g, const float *in, int64_t pitch,
                    const __m512 *wv, __m512 bias, int64_t r0, int64_t ky0,
                    int64_t ky1, int64_t ow0, int64_t n, int64_t pl,
                    float *out, int act, __m512 va, __m512 vb) {
    /* the row's remainder in one go too: one pixel at a time would
     * wait on a single accumulator's FMA latency */
    for (int64_t ow = ow0; ow < ow0 + n; ow += 8) {
        const int64_t c0 = ow * g->sw - pl;
        float *o = out + ow * 16;
        switch (KW_MIN((int64_t)8, ow0 + n - ow)) {
#define PX(k)                                                               \
    case k:                                                                 \
        pixels(k, g, in, pitch, wv, bias, r0, ky0, ky1, c0, o, act, va, vb); \
        break;
            PX(1) PX(2) PX(3) PX(4) PX(5) PX(6) PX(7) PX(8)
#undef PX
        }
    }
}

/* The block's 16 channels of weights as kh*kw vectors and the bias as
 * one (nch of them real, the rest zero) */
static void block_weights(const struct kw__dwc *g, int nch, const float *w,
                          const float *bias, float *wt, __m512 *wv,
                          __m512 *vb0) {
    const int64_t KK = g->kh * g->kw;
    for (int64_t t = 0; t < KK * 16; t++) wt[t] = 0.0f;
    for (int c = 0; c < nch; c++)
        for (int64_t t = 0; t < KK; t++) wt[t * 16 + c] = w[c * KK + t];
    for (int64_t t = 0; t < KW_MIN(KK, (int64_t)64); t++)
        wv[t] = _mm512_load_ps(wt + t * 16);
    float b16[16] = {0};
    for (int c = 0; c < nch && bias; c++) b16[c] = bias[c];
    *vb0 = _mm512_loadu_ps(b16);
}

void kw__dwc_block_avx512(const struct kw__dwc *g, int nch, const float *x,
                          const float *w, const float *bias, float *y,
                          float *scratch) {
    int64_t hp, wp;
    kw__dwc_dims(g, &hp, &wp);
    /* 64-byte aligned pieces: input pixels, output pixels, weights */
    float *in = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *out = in + hp * wp * 16;
    float *wt = out + g->oh * g->ow * 16;
    /* in's border is still zero (the scratch came zeroed, and every
     * block writes all 16 lanes of the same interior pixels) */
    planes_in(g, nch, x, wp, in);
    __m512 wv[64], vb0;
    block_weights(g, nch, w, bias, wt, wv, &vb0);
    const int act = kw__dwc_act_ok(g->act) ? g->act : 0;
    const __m512 va = _mm512_set1_ps(g->a), vb = _mm512_set1_ps(g->b);
    for (int64_t oh = 0; oh < g->oh; oh++)
        row_run(g, in, wp * 16, wv, vb0, oh * g->sh, 0, g->kh, 0, g->ow, 0,
                out + oh * g->ow * 16, act, va, vb);
    planes_out(g->oh * g->ow, nch, out, y, g->oh * g->ow);
}

/* One pixel near a side of the plane: only the taps inside it (the
 * kernel rows on two accumulators, not to wait on one FMA chain) */
static void edge_pixel(const struct kw__dwc *g, const float *x,
                       const __m512 *wv, __m512 bias, int64_t r0,
                       int64_t ky0, int64_t ky1, int64_t c0, float *out,
                       int act, __m512 va, __m512 vb) {
    __m512 acc[2] = {bias, _mm512_setzero_ps()};
    const int64_t kx0 = c0 < 0 ? (-c0 + g->dw - 1) / g->dw : 0;
    int64_t kx1 = g->kw;
    while (kx1 > kx0 && c0 + (kx1 - 1) * g->dw >= g->iw) kx1--;
    for (int64_t kh = ky0; kh < ky1; kh++) {
        const int64_t row = (r0 + kh * g->dh) * g->iw + c0; /* c0 may be < 0 */
        for (int64_t kw = kx0; kw < kx1; kw++)
            acc[kh & 1] = _mm512_fmadd_ps(
                wv[kh * g->kw + kw],
                _mm512_loadu_ps(x + (row + kw * g->dw) * 16), acc[kh & 1]);
    }
    _mm512_storeu_ps(out,
                     act_v(_mm512_add_ps(acc[0], acc[1]), act, va, vb));
}

void kw__dwb_block_avx512(const struct kw__dwc *g, const float *x,
                          const float *w, const float *bias, float *y,
                          int yblk, int64_t oh0, int64_t oh1,
                          float *scratch) {
    int64_t a, b, hp, wp;
    kw__dwc_dims(g, &hp, &wp);
    const int copy = kw__dwb_interior(g, &a, &b);
    float *wt = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *in = wt + g->kh * g->kw * 16 + 16;
    float *out = yblk ? y : in + (copy ? hp * wp * 16 : 0);
    __m512 wv[64], vb0;
    block_weights(g, 16, w, bias, wt, wv, &vb0);
    const int act = kw__dwc_act_ok(g->act) ? g->act : 0;
    const __m512 va = _mm512_set1_ps(g->a), vb = _mm512_set1_ps(g->b);
    const int64_t q0 = oh0 * g->ow, nq = (oh1 - oh0) * g->ow,
                  osz = g->oh * g->ow;
    if (copy) {
        /* the rows the band reads; the border stays zero from block to
         * block (as dwc), and rows copied for another band are not read */
        const int64_t h0 = KW_MAX(oh0 * g->sh - g->pt, (int64_t)0);
        const int64_t h1 = KW_MIN((oh1 - 1) * g->sh - g->pt +
                                      (g->kh - 1) * g->dh + 1,
                                  g->ih);
        for (int64_t h = h0; h < h1; h++)
            memcpy(in + ((h + g->pt) * wp + g->pl) * 16, x + h * g->iw * 16,
                   (size_t)g->iw * 16 * sizeof(float));
        for (int64_t oh = oh0; oh < oh1; oh++)
            row_run(g, in, wp * 16, wv, vb0, oh * g->sh, 0, g->kh, 0, g->ow,
                    0, out + oh * g->ow * 16, act, va, vb);
        if (!yblk) planes_out(nq, 16, out + q0 * 16, y + q0, osz);
        return;
    }
    for (int64_t oh = oh0; oh < oh1; oh++) {
        const int64_t r0 = oh * g->sh - g->pt;
        int64_t ky0 = 0, ky1 = g->kh;
        while (ky0 < ky1 && r0 + ky0 * g->dh < 0) ky0++;
        while (ky1 > ky0 && r0 + (ky1 - 1) * g->dh >= g->ih) ky1--;
        float *o = out + oh * g->ow * 16;
        for (int64_t ow = 0; ow < g->ow; ow++) {
            if (ow == a && b > a) {
                row_run(g, x, g->iw * 16, wv, vb0, r0, ky0, ky1, a, b - a,
                        g->pl, o, act, va, vb);
                ow = b - 1;
                continue;
            }
            edge_pixel(g, x, wv, vb0, r0, ky0, ky1, ow * g->sw - g->pl,
                       o + ow * 16, act, va, vb);
        }
    }
    if (!yblk) planes_out(nq, 16, out + q0 * 16, y + q0, osz);
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
