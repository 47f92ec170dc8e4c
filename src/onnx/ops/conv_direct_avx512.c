/*
 * conv_direct_avx512.c — the micro-kernel of the direct convolution
 * (conv_direct.h): 8 output channels x up to 48 columns of one output
 * row in 24 zmm accumulators, each k step three loads straight from the
 * phase planes (masked at the row's end, so nothing past it is read) and
 * eight broadcasts of the weights; bias first, Relu / Clip in registers,
 * one masked store per row and vector. Entry point: kw__convd_row_avx512.
 */
#include <immintrin.h>

#include "onnx/ops/conv_direct.h"

static inline __m512 act_v(__m512 x, int act, __m512 va, __m512 vb) {
    if (act == KW_ACT_RELU) return _mm512_max_ps(x, _mm512_setzero_ps());
    if (act == KW_ACT_CLIP) return _mm512_min_ps(vb, _mm512_max_ps(va, x));
    return x;
}

/* NV vectors of columns from ow0 (n of them valid), panel p; three
 * separate accumulator arrays, which the compiler keeps in registers */
static inline __attribute__((always_inline)) void
tile(const int NV, const struct kw__convd *d, int64_t oh, int64_t ow0, int n,
     int64_t p, float *y) {
    const __mmask16 m0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    const __mmask16 m1 = n >= 32   ? 0xffff
                         : n > 16 ? (__mmask16)((1u << (n - 16)) - 1)
                                  : 0;
    const __mmask16 m2 = n >= 48   ? 0xffff
                         : n > 32 ? (__mmask16)((1u << (n - 32)) - 1)
                                  : 0;
    const int64_t r0 = p * KW_CONVD_MR;
    __m512 a0[KW_CONVD_MR], a1[KW_CONVD_MR], a2[KW_CONVD_MR];
#pragma GCC unroll 8
    for (int r = 0; r < KW_CONVD_MR; r++) {
        const float b = d->bias && r0 + r < d->M ? d->bias[r0 + r] : 0.0f;
        a0[r] = a1[r] = a2[r] = _mm512_set1_ps(b);
    }
    const float *ap = d->ap + p * d->kdim * KW_CONVD_MR;
    const float *xrow = d->xp + oh * d->wp + ow0;
    for (int64_t k = 0; k < d->kdim; k++) {
        const float *bk = xrow + d->roff[k];
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, bk);
        const __m512 b1 = NV > 1 ? _mm512_maskz_loadu_ps(m1, bk + 16) : b0;
        const __m512 b2 = NV > 2 ? _mm512_maskz_loadu_ps(m2, bk + 32) : b0;
    #pragma GCC unroll 8
    for (int r = 0; r < KW_CONVD_MR; r++) {
            const __m512 a = _mm512_set1_ps(ap[r]);
            a0[r] = _mm512_fmadd_ps(a, b0, a0[r]);
            if (NV > 1) a1[r] = _mm512_fmadd_ps(a, b1, a1[r]);
            if (NV > 2) a2[r] = _mm512_fmadd_ps(a, b2, a2[r]);
        }
        ap += KW_CONVD_MR;
    }
    const __m512 va = _mm512_set1_ps(d->a), vb = _mm512_set1_ps(d->b);
#pragma GCC unroll 8
    for (int r = 0; r < KW_CONVD_MR; r++) {
        if (r0 + r >= d->M) break;
        float *yr = y + (r0 + r) * d->OHOW + oh * d->OW + ow0;
        _mm512_mask_storeu_ps(yr, m0, act_v(a0[r], d->act, va, vb));
        if (NV > 1)
            _mm512_mask_storeu_ps(yr + 16, m1, act_v(a1[r], d->act, va, vb));
        if (NV > 2)
            _mm512_mask_storeu_ps(yr + 32, m2, act_v(a2[r], d->act, va, vb));
    }
}

void kw__convd_row_avx512(const struct kw__convd *d, int64_t oh, float *y) {
    const int64_t np = (d->M + KW_CONVD_MR - 1) / KW_CONVD_MR;
    for (int64_t ow0 = 0; ow0 < d->OW; ow0 += 48) {
        const int n = (int)KW_MIN((int64_t)48, d->OW - ow0);
        for (int64_t p = 0; p < np; p++) {
            if (n > 32) tile(3, d, oh, ow0, n, p, y);
            else if (n > 16) tile(2, d, oh, ow0, n, p, y);
            else tile(1, d, oh, ow0, n, p, y);
        }
    }
}
