/*
 * pool_max_avx512.c — float32 3x3 stride-2 max pooling of one plane (the
 * ResNet stem's MaxPool) with AVX-512, separably: each output row takes
 * the column maxima of its (up to) 3 input rows once, then the maxima of
 * 3 neighbouring columns at every other position, 16 outputs a step.
 * Same results as the reference's row-major '>' scan, NaN included (the
 * window's first tap when it is NaN, else the largest other value); only
 * the sign of a zero tied for the maximum with the other zero may differ.
 * Entry point: kw__maxpool3s2_avx512 (pool.c).
 */
#include <immintrin.h>
#include <math.h>

#include "onnx/ops/pool_max.h"

/* The reference for one border cell: the clipped window, row-major. */
static float cell(const struct kw__pool2d *p, const float *x, int64_t oh,
                  int64_t ow) {
    const int64_t hs = oh * 2 - p->pt, ws = ow * 2 - p->pl;
    const int64_t h0 = hs < 0 ? 0 : hs, h1 = hs + 3 < p->ih ? hs + 3 : p->ih;
    const int64_t w0 = ws < 0 ? 0 : ws, w1 = ws + 3 < p->iw ? ws + 3 : p->iw;
    if (h0 >= h1 || w0 >= w1) return 0.0f;
    float best = x[h0 * p->iw + w0];
    for (int64_t h = h0; h < h1; h++)
        for (int64_t w = h == h0 ? w0 + 1 : w0; w < w1; w++) {
            const float v = x[h * p->iw + w];
            if (v > best) best = v;
        }
    return best;
}

static inline __mmask16 tail_mask(int64_t n) {
    return n >= 16  ? (__mmask16)0xffff
           : n <= 0 ? (__mmask16)0
                    : (__mmask16)((1u << n) - 1);
}

int64_t kw__maxpool3s2_scratch(const struct kw__pool2d *p) {
    return p->iw + 64;
}

void kw__maxpool3s2_avx512(const struct kw__pool2d *p, const float *x,
                           float *y, float *t) {
    const int64_t IH = p->ih, IW = p->iw, OW = p->ow;
    /* outputs whose window lies inside the row: [lo, hi) */
    int64_t lo = (p->pl + 1) / 2,
            hi = IW - 3 + p->pl < 0 ? 0 : (IW - 3 + p->pl) / 2 + 1;
    if (hi > OW) hi = OW;
    if (lo > hi) lo = hi;
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    /* t[IW..) stays -inf: the last block's unused lanes read it */
    for (int64_t c = IW; c < IW + 64; c++) t[c] = -INFINITY;
    for (int64_t oh = 0; oh < p->oh; oh++) {
        float *yr = y + oh * OW;
        const int64_t hs = oh * 2 - p->pt;
        const int64_t r0 = hs < 0 ? 0 : hs, r1 = hs + 3 > IH ? IH : hs + 3;
        if (r0 >= r1) {
            for (int64_t ow = 0; ow < OW; ow++) yr[ow] = 0.0f;
            continue;
        }
        for (int64_t ow = 0; ow < lo; ow++) yr[ow] = cell(p, x, oh, ow);
        for (int64_t ow = hi; ow < OW; ow++) yr[ow] = cell(p, x, oh, ow);
        if (lo == hi) continue;
        /* t = the column maxima, NaN ignored (MAXPS keeps its second
         * operand when either is NaN, and t never is) */
        const float *x0 = x + r0 * IW;
        for (int64_t c = 0; c < IW; c += 16) {
            const __mmask16 m = tail_mask(IW - c);
            __m512 v = ninf;
            for (int64_t r = 0; r < r1 - r0; r++)
                v = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x0 + r * IW + c), v);
            _mm512_mask_storeu_ps(t + c, m, v);
        }
        for (int64_t ow = lo; ow < hi; ow += 16) {
            const __mmask16 m = tail_mask(hi - ow);
            const int64_t c = ow * 2 - p->pl; /* >= 0, c + 2*15 + 2 < IW + 32 */
            const __m512 a = _mm512_loadu_ps(t + c),
                         b = _mm512_loadu_ps(t + c + 16),
                         a2 = _mm512_loadu_ps(t + c + 2),
                         b2 = _mm512_loadu_ps(t + c + 18);
            /* ties keep the left column (MAXPS keeps its second operand) */
            __m512 v = _mm512_max_ps(_mm512_permutex2var_ps(a, od, b),
                                     _mm512_permutex2var_ps(a, ev, b));
            v = _mm512_max_ps(_mm512_permutex2var_ps(a2, ev, b2), v);
            /* the window's first tap x[r0][c], when NaN, is the answer */
            const __mmask16 m0 = tail_mask(IW - c), m1 = tail_mask(IW - c - 16);
            const __m512 f = _mm512_permutex2var_ps(
                _mm512_maskz_loadu_ps(m0, x0 + c), ev,
                _mm512_maskz_loadu_ps(m1, x0 + c + 16));
            v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q), v,
                                     f);
            _mm512_mask_storeu_ps(yr + ow, m, v);
        }
    }
}
