/*
 * conv_dwc_avx2.c — kw__dwc_block_avx2: the depthwise convolution of
 * small planes a block of channels at a time, as conv_dwc_avx512.c does
 * it, for AVX2: the block's 16 channels go as two halves of 8, each
 * through a zero-bordered pixel-major scratch (one ymm of 8 channels a
 * pixel, so an output pixel is kh*kw whole-vector FMAs with no row
 * edges), and the result is transposed back into the planes.
 * Also the even/odd split of a row (stride-2 phase planes).
 * Entry points: kw__dwc_block_avx2, kw__deint2_avx2 (dwc.h).
 */
#include <immintrin.h>

#include "onnx/ops/dwc.h"
#include "onnx/ops/vec_avx2.h"

/* 8-pixel chunks of nch (<= 8) planes (isz pixels, iw a row) into the
 * pixel-major padded scratch (pixel (h, w) at ((h+pt)*wp + w+pl)*8) */
static void planes_in(const struct kw__dwc *g, int nch, const float *x,
                      int64_t wp, float *in) {
    const int64_t isz = g->ih * g->iw;
    int64_t h = 0, w = 0;
    for (int64_t p0 = 0; p0 < isz; p0 += 8) {
        const int64_t n = KW_MIN((int64_t)8, isz - p0);
        const __m256i m = kw__lanes8(n);
        __m256 r[8];
        for (int c = 0; c < 8; c++)
            r[c] = c >= nch  ? _mm256_setzero_ps()
                   : n == 8 ? _mm256_loadu_ps(x + c * isz + p0)
                            : _mm256_maskload_ps(x + c * isz + p0, m);
        kw__tr8(r);
        for (int64_t i = 0; i < n; i++) {
            _mm256_store_ps(in + ((h + g->pt) * wp + w + g->pl) * 8, r[i]);
            if (++w == g->iw) w = 0, h++;
        }
    }
}

/* the pixel-major output (np pixels of 8 channels) back to nch planes
 * of osz pixels */
static void planes_out(int64_t np, int nch, const float *out, float *y,
                       int64_t osz) {
    for (int64_t p0 = 0; p0 < np; p0 += 8) {
        const int64_t n = KW_MIN((int64_t)8, np - p0);
        __m256 r[8];
        for (int i = 0; i < 8; i++)
            r[i] = i < n ? _mm256_load_ps(out + (p0 + i) * 8)
                         : _mm256_setzero_ps();
        kw__tr8(r);
        for (int c = 0; c < nch; c++) {
            kw__store8n(y + c * osz + p0, r[c], n);
        }
    }
}

/* NP output pixels of one row as NP accumulators: kernel row kh reads
 * padded row r0 + kh*dh, tap kw column c0 + kw*dw (+ i*sw for pixel i),
 * rows pitch floats apart; written to out (NP pixels of 8 channels) */
static inline __attribute__((always_inline)) void
pixels(const int NP, const struct kw__dwc *g, const float *in, int64_t pitch,
       const __m256 *wv, __m256 bias, int64_t r0, int64_t c0, float *out,
       int act, __m256 va, __m256 vb) {
    __m256 acc[8];
    for (int i = 0; i < NP; i++) acc[i] = bias;
    for (int64_t kh = 0; kh < g->kh; kh++) {
        const float *row = in + (r0 + kh * g->dh) * pitch;
        for (int64_t kw = 0; kw < g->kw; kw++) {
            const __m256 w = wv[kh * g->kw + kw];
            const float *px = row + (c0 + kw * g->dw) * 8;
            for (int i = 0; i < NP; i++)
                acc[i] = _mm256_fmadd_ps(
                    w, _mm256_load_ps(px + (int64_t)i * g->sw * 8), acc[i]);
        }
    }
    for (int i = 0; i < NP; i++)
        _mm256_store_ps(out + i * 8, kw__act8(acc[i], act, va, vb));
}

/* pixels() for a K x K kernel, stride S, no dilation: each input
 * pixel of a kernel row is loaded once and feeds every output whose
 * taps cover it (3x3: 10 loads a row of 8 outputs instead of 24), the
 * kernel row's K weights held in registers */
static inline __attribute__((always_inline)) void
pixels_k(const int NP, const int K, const int S, const float *in,
         int64_t pitch, const __m256 *wv, __m256 bias, int64_t r0,
         int64_t c0, float *out, int act, __m256 va, __m256 vb) {
    __m256 acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < NP; i++) acc[i] = bias;
    for (int kh = 0; kh < K; kh++) {
        const float *row = in + (r0 + kh) * pitch + c0 * 8;
        __m256 w[5];
#pragma GCC unroll 5
        for (int kw = 0; kw < K; kw++) w[kw] = wv[kh * K + kw];
#pragma GCC unroll 24
        for (int j = 0; j < (NP - 1) * S + K; j++) {
            const __m256 v = _mm256_load_ps(row + j * 8);
#pragma GCC unroll 5
            for (int kw = 0; kw < K; kw++) {
                const int i = (j - kw) / S;
                if (j >= kw && (j - kw) % S == 0 && i < NP)
                    acc[i] = _mm256_fmadd_ps(w[kw], v, acc[i]);
            }
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < NP; i++)
        _mm256_store_ps(out + i * 8, kw__act8(acc[i], act, va, vb));
}

/* output row oh, 8 pixels at a time (the remainder in one go too: one
 * pixel at a time would wait on a single accumulator's FMA latency) */
static void row_run(const struct kw__dwc *g, const float *in, int64_t pitch,
                    const __m256 *wv, __m256 bias, int64_t oh, float *out,
                    int act, __m256 va, __m256 vb) {
    /* the pixels_k kernel: 1 + (5x5) 2 + (stride 2) 1, or 0: none (14x14
     * planes: 576 channels 3x3 0.30 -> 0.27 ms, 672 5x5 0.51 -> 0.44) */
    const int kn = g->dh == 1 && g->dw == 1 && g->sh == g->sw &&
                           (g->sw == 1 || g->sw == 2) && g->kh == g->kw &&
                           (g->kh == 3 || g->kh == 5)
                       ? 1 + (g->kh == 5 ? 2 : 0) + (g->sw == 2)
                       : 0;
    for (int64_t ow = 0; ow < g->ow; ow += 8) {
        const int64_t c0 = ow * g->sw, r0 = oh * g->sh;
        float *o = out + ow * 8;
        const int np = (int)KW_MIN((int64_t)8, g->ow - ow);
        if (kn) {
            switch (kn * 8 + np - 1) {
#define PXK(k, K, S)                                                          \
    case ((K == 5 ? 3 : 1) + (S == 2)) * 8 + k - 1:                           \
        pixels_k(k, K, S, in, pitch, wv, bias, r0, c0, o, act, va, vb);       \
        break;
#define PXKS(K, S)                                                            \
    PXK(1, K, S) PXK(2, K, S) PXK(3, K, S) PXK(4, K, S) PXK(5, K, S)          \
    PXK(6, K, S) PXK(7, K, S) PXK(8, K, S)
                PXKS(3, 1) PXKS(3, 2) PXKS(5, 1) PXKS(5, 2)
#undef PXKS
#undef PXK
            default: break;
            }
            continue;
        }
        switch (np) {
#define PX(k)                                                                 \
    case k:                                                                   \
        pixels(k, g, in, pitch, wv, bias, r0, c0, o, act, va, vb);            \
        break;
            PX(1) PX(2) PX(3) PX(4) PX(5) PX(6) PX(7) PX(8)
#undef PX
        }
    }
}

void kw__dwc_block_avx2(const struct kw__dwc *g, int nch, const float *x,
                        const float *w, const float *bias, float *y,
                        float *scratch) {
    int64_t hp, wp;
    kw__dwc_dims(g, &hp, &wp);
    /* the pieces kw__dwc_scratch_floats sized for 16 lanes, 32-byte
     * aligned: input pixels (its border zero: only interior pixels are
     * ever written), output pixels */
    float *in = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *out = in + hp * wp * 16;
    const int64_t KK = g->kh * g->kw, isz = g->ih * g->iw,
                  osz = g->oh * g->ow;
    const int act = kw__dwc_act_ok(g->act) ? g->act : 0;
    const __m256 va = _mm256_set1_ps(g->a), vb = _mm256_set1_ps(g->b);
    for (int c0 = 0; c0 < nch; c0 += 8) {
        const int nc = nch - c0 < 8 ? nch - c0 : 8;
        planes_in(g, nc, x + c0 * isz, wp, in);
        _Alignas(32) float wt[64 * 8], b8[8] = {0};
        __m256 wv[64];
        for (int64_t t = 0; t < KK; t++) {
            for (int c = 0; c < 8; c++)
                wt[t * 8 + c] = c < nc ? w[(c0 + c) * KK + t] : 0.0f;
            wv[t] = _mm256_load_ps(wt + t * 8);
        }
        for (int c = 0; c < nc && bias; c++) b8[c] = bias[c0 + c];
        const __m256 vb0 = _mm256_load_ps(b8);
        for (int64_t oh = 0; oh < g->oh; oh++)
            row_run(g, in, wp * 8, wv, vb0, oh, out + oh * g->ow * 8, act, va,
                    vb);
        planes_out(osz, nc, out, y + c0 * osz, osz);
    }
}

void kw__deint2_avx2(const float *x, int64_t n, float *ev, float *od) {
    int64_t k = 0;
    for (; 2 * k + 16 <= n; k += 8) {
        const __m256 a = _mm256_loadu_ps(x + 2 * k),
                     b = _mm256_loadu_ps(x + 2 * k + 8);
        /* a0 a2 b0 b2 | a4 a6 b4 b6, then the 64-bit lanes in order */
        const __m256d e = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)),
                      o = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xdd));
        _mm256_storeu_ps(ev + k,
                         _mm256_castpd_ps(_mm256_permute4x64_pd(e, 0xd8)));
        _mm256_storeu_ps(od + k,
                         _mm256_castpd_ps(_mm256_permute4x64_pd(o, 0xd8)));
    }
    for (; 2 * k < n; k++) {
        ev[k] = x[2 * k];
        if (2 * k + 1 < n) od[k] = x[2 * k + 1];
    }
}
