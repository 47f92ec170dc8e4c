/*
 * conv_direct_avx2.c — the micro-kernel of the direct convolution
 * (conv_direct.h) for AVX2: half a panel (4 output channels) x up to 24
 * columns of one output row in 12 ymm accumulators, each k step three
 * loads straight from the phase planes (masked at the row's end, so
 * nothing past it is read) and four broadcasts of the weights; bias
 * first, Relu / Clip in registers, one store per row and vector.
 * Entry point: kw__convd_row_avx2.
 */
#include <immintrin.h>

#include "onnx/ops/conv_direct.h"
#include "onnx/ops/vec_avx2.h"

#define HR 4 /* output channels a tile: half a panel */

/* vector v of a row: whole, or masked when the row ends inside it */
static inline __m256 load_v(const float *p, int v, int n, __m256i mk) {
    return n >= 8 * v + 8 ? _mm256_loadu_ps(p + 8 * v)
                          : _mm256_maskload_ps(p + 8 * v, mk);
}
static inline void store_v(float *p, int v, int n, __m256 x) {
    kw__store8n(p + 8 * v, x, n - 8 * v);
}

/* NV vectors of columns from ow0 (n of them valid), rows r0 .. r0+3 of
 * panel p (h: which half); named accumulators stay in registers */
static inline __attribute__((always_inline)) void
tile(const int NV, const struct kw__convd *d, int64_t oh, int64_t ow0, int n,
     int64_t p, int h, float *y) {
    const __m256i m0 = kw__lanes8(n), m1 = kw__lanes8(n - 8), m2 = kw__lanes8(n - 16);
    const int64_t r0 = p * KW_CONVD_MR + h * HR;
    __m256 acc[HR][3];
    for (int r = 0; r < HR; r++) {
        const float b = d->bias && r0 + r < d->M ? d->bias[r0 + r] : 0.0f;
        acc[r][0] = acc[r][1] = acc[r][2] = _mm256_set1_ps(b);
    }
    __m256 a00 = acc[0][0], a01 = acc[0][1], a02 = acc[0][2];
    __m256 a10 = acc[1][0], a11 = acc[1][1], a12 = acc[1][2];
    __m256 a20 = acc[2][0], a21 = acc[2][1], a22 = acc[2][2];
    __m256 a30 = acc[3][0], a31 = acc[3][1], a32 = acc[3][2];
    const float *ap = d->ap + p * d->kdim * KW_CONVD_MR + h * HR;
    const float *xrow = d->xp + oh * d->wp + ow0;
    for (int64_t k = 0; k < d->kdim; k++) {
        const float *bk = xrow + d->roff[k];
        const __m256 b0 = load_v(bk, 0, n, m0);
        const __m256 b1 = NV > 1 ? load_v(bk, 1, n, m1) : b0;
        const __m256 b2 = NV > 2 ? load_v(bk, 2, n, m2) : b0;
#define KW_ROW(r, x0, x1, x2)                                                 \
    do {                                                                      \
        const __m256 a = _mm256_broadcast_ss(ap + r);                         \
        x0 = _mm256_fmadd_ps(a, b0, x0);                                      \
        if (NV > 1) x1 = _mm256_fmadd_ps(a, b1, x1);                          \
        if (NV > 2) x2 = _mm256_fmadd_ps(a, b2, x2);                          \
    } while (0)
        KW_ROW(0, a00, a01, a02);
        KW_ROW(1, a10, a11, a12);
        KW_ROW(2, a20, a21, a22);
        KW_ROW(3, a30, a31, a32);
#undef KW_ROW
        ap += KW_CONVD_MR;
    }
    const __m256 va = _mm256_set1_ps(d->a), vb = _mm256_set1_ps(d->b);
    const __m256 out[HR][3] = {{a00, a01, a02}, {a10, a11, a12},
                               {a20, a21, a22}, {a30, a31, a32}};
    for (int r = 0; r < HR; r++) {
        if (r0 + r >= d->M) break;
        float *yr = y + (r0 + r) * d->OHOW + oh * d->OW + ow0;
        store_v(yr, 0, n, kw__act8(out[r][0], d->act, va, vb));
        if (NV > 1) store_v(yr, 1, n, kw__act8(out[r][1], d->act, va, vb));
        if (NV > 2) store_v(yr, 2, n, kw__act8(out[r][2], d->act, va, vb));
    }
}

void kw__convd_row_avx2(const struct kw__convd *d, int64_t oh, float *y) {
    const int64_t np = (d->M + KW_CONVD_MR - 1) / KW_CONVD_MR;
    for (int64_t ow0 = 0; ow0 < d->OW; ow0 += 24) {
        const int n = (int)KW_MIN((int64_t)24, d->OW - ow0);
        for (int64_t p = 0; p < np; p++)
            for (int h = 0; h < 2; h++) {
                if (p * KW_CONVD_MR + h * HR >= d->M) break;
                if (n > 16) tile(3, d, oh, ow0, n, p, h, y);
                else if (n > 8) tile(2, d, oh, ow0, n, p, h, y);
                else tile(1, d, oh, ow0, n, p, h, y);
            }
    }
}
