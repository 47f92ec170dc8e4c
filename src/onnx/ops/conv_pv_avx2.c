/*
 * conv_pv_avx2.c — the micro-kernels of the pixel-vector pointwise
 * convolution (conv_pv.h). The tile: 2 output channels x up to 6
 * vectors of pixels in 12 registers, two weight broadcasts and one
 * pixel vector live, 12 FMAs a K step. The columns: the last HW mod 8
 * pixels, each as a vector of 4 K steps x 2 channels against the
 * weights' own pair layout, summed across at the end.
 * Entry points: kw__pv_tile_avx2, kw__pv_cols_avx2.
 */
#include "onnx/ops/conv_pv.h"
#include "onnx/ops/vec_avx2.h"

/* act(v) of one sum (Relu / Clip), as kw__act8 */
static inline float act1(const struct kw__pv *d, float v) {
    if (d->act == KW_ACT_RELU) return v > 0.0f ? v : 0.0f;
    if (d->act == KW_ACT_CLIP) return v < d->a ? d->a : v > d->b ? d->b : v;
    return v;
}

/* The accumulators are named one by one (an array of them GCC keeps in
 * memory): a<row><vector>. */
static inline __attribute__((always_inline)) void
tile(const int V, const struct kw__pv *d, int64_t p, const float *x,
     int64_t ldx, int64_t k0, int64_t kc, int64_t q0, int first, int last) {
    const int64_t m = 2 * p, HW = d->HW;
    const int two = m + 1 < d->M;
    float *y0 = d->y + m * HW + q0, *y1 = two ? y0 + HW : y0;
    const float *w = d->w2 + (p * d->K4 + k0) * 2;
    const __m256 z = _mm256_setzero_ps();
    __m256 a00 = z, a01 = z, a02 = z, a03 = z, a04 = z, a05 = z, a10 = z,
           a11 = z, a12 = z, a13 = z, a14 = z, a15 = z;
    if (first) {
        const __m256 b0 = d->bias ? _mm256_set1_ps(d->bias[m]) : z;
        const __m256 b1 = d->bias && two ? _mm256_set1_ps(d->bias[m + 1]) : z;
        a00 = a01 = a02 = a03 = a04 = a05 = b0;
        a10 = a11 = a12 = a13 = a14 = a15 = b1;
    } else {
#define PV_IN(v)                                                            \
    if (V > v) {                                                            \
        a0##v = _mm256_loadu_ps(y0 + 8 * v);                                \
        a1##v = _mm256_loadu_ps(y1 + 8 * v);                                \
    }
        PV_IN(0) PV_IN(1) PV_IN(2) PV_IN(3) PV_IN(4) PV_IN(5)
#undef PV_IN
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 w0 = _mm256_broadcast_ss(w), w1 = _mm256_broadcast_ss(w + 1);
        /* the empty asm keeps the pixel vector in a register: GCC would
         * fold its load into both FMAs, and Zen 1, which loads 256 bits
         * as two halves, then spends more cycles loading than in FMAs
         * (86 % of peak instead of 94 % on 192 -> 1152 at 7x7) */
#define PV_FMA(v)                                                           \
    if (V > v) {                                                            \
        __m256 xv = _mm256_loadu_ps(x + 8 * v);                             \
        __asm__("" : "+x"(xv));                                             \
        a0##v = _mm256_fmadd_ps(w0, xv, a0##v);                             \
        a1##v = _mm256_fmadd_ps(w1, xv, a1##v);                             \
    }
        PV_FMA(0) PV_FMA(1) PV_FMA(2) PV_FMA(3) PV_FMA(4) PV_FMA(5)
#undef PV_FMA
        w += 2;
        x += ldx;
    }
    if (last) {
        const __m256 va = _mm256_set1_ps(d->a), vb = _mm256_set1_ps(d->b);
        const float *r0 = d->res ? d->res + m * HW + q0 : NULL;
        const float *r1 = r0 && two ? r0 + HW : r0;
#define PV_OUT(v)                                                           \
    if (V > v) {                                                            \
        if (r0) {                                                           \
            a0##v = _mm256_add_ps(a0##v, _mm256_loadu_ps(r0 + 8 * v));      \
            a1##v = _mm256_add_ps(a1##v, _mm256_loadu_ps(r1 + 8 * v));      \
        }                                                                   \
        a0##v = kw__act8(a0##v, d->act, va, vb);                            \
        a1##v = kw__act8(a1##v, d->act, va, vb);                            \
    }
        PV_OUT(0) PV_OUT(1) PV_OUT(2) PV_OUT(3) PV_OUT(4) PV_OUT(5)
#undef PV_OUT
    }
#define PV_ST(v)                                                            \
    if (V > v) {                                                            \
        _mm256_storeu_ps(y0 + 8 * v, a0##v);                                \
        if (two) _mm256_storeu_ps(y1 + 8 * v, a1##v);                       \
    }
    PV_ST(0) PV_ST(1) PV_ST(2) PV_ST(3) PV_ST(4) PV_ST(5)
#undef PV_ST
}

void kw__pv_tile_avx2(const struct kw__pv *d, int64_t p, const float *x,
                      int64_t ldx, int64_t k0, int64_t kc, int v, int64_t q0,
                      int first, int last) {
    switch (v) {
    case 1: tile(1, d, p, x, ldx, k0, kc, q0, first, last); break;
    case 2: tile(2, d, p, x, ldx, k0, kc, q0, first, last); break;
    case 3: tile(3, d, p, x, ldx, k0, kc, q0, first, last); break;
    case 4: tile(4, d, p, x, ldx, k0, kc, q0, first, last); break;
    case 5: tile(5, d, p, x, ldx, k0, kc, q0, first, last); break;
    case 6: tile(6, d, p, x, ldx, k0, kc, q0, first, last); break;
    default: break;
    }
}

/* G pairs from p x R pixels: G x R accumulators, each 4 K steps x the
 * pair's 2 channels (the weights' layout), R pixel vectors live */
static inline __attribute__((always_inline)) void
cols(const int G, const int R, const struct kw__pv *d, int64_t p,
     const float *xd, int64_t q0) {
    const int64_t ldw = 2 * d->K4;
    const float *w = d->w2 + p * ldw;
    __m256 acc[4][7];
#pragma GCC unroll 4
    for (int g = 0; g < G; g++)
#pragma GCC unroll 7
        for (int j = 0; j < R; j++) acc[g][j] = _mm256_setzero_ps();
    for (int64_t k = 0; k < ldw; k += 8) {
        __m256 xv[7];
#pragma GCC unroll 7
        for (int j = 0; j < R; j++) xv[j] = _mm256_loadu_ps(xd + j * ldw + k);
#pragma GCC unroll 4
        for (int g = 0; g < G; g++) {
            const __m256 wv = _mm256_loadu_ps(w + g * ldw + k);
#pragma GCC unroll 7
            for (int j = 0; j < R; j++)
                acc[g][j] = _mm256_fmadd_ps(wv, xv[j], acc[g][j]);
        }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; g++) {
        const int64_t m = 2 * (p + g);
#pragma GCC unroll 7
        for (int j = 0; j < R; j++) {
            /* lanes: step pairs (even: channel m, odd: m + 1) */
            __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[g][j]),
                                  _mm256_extractf128_ps(acc[g][j], 1));
            s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            float v[2] = {_mm_cvtss_f32(s),
                          _mm_cvtss_f32(_mm_shuffle_ps(s, s, 1))};
            for (int e = 0; e < 2 && m + e < d->M; e++) {
                const int64_t o = (m + e) * d->HW + q0 + j;
                float t = v[e] + (d->bias ? d->bias[m + e] : 0.0f);
                if (d->res) t += d->res[o];
                d->y[o] = act1(d, t);
            }
        }
    }
}

/* pairs [p0, p1) in groups of G, the rest one by one */
#define PV_COLS(G, R)                                                       \
    {                                                                       \
        int64_t p = p0;                                                     \
        for (; p + G <= p1; p += G) cols(G, R, d, p, xd, q0);               \
        for (; p < p1; p++) cols(1, R, d, p, xd, q0);                       \
    }                                                                       \
    break;

void kw__pv_cols_avx2(const struct kw__pv *d, int64_t p0, int64_t p1,
                      const float *xd, int r, int64_t q0) {
    /* groups with enough chains to cover the FMA latency, in registers */
    switch (r) {
    case 1: PV_COLS(4, 1)
    case 2: PV_COLS(4, 2)
    case 3: PV_COLS(3, 3)
    case 4: PV_COLS(2, 4)
    case 5: PV_COLS(1, 5)
    case 6: PV_COLS(1, 6)
    case 7: PV_COLS(1, 7)
    default: break;
    }
}
#undef PV_COLS
