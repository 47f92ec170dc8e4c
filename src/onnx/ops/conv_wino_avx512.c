/*
 * conv_wino_avx512.c — the transforms of the Winograd F(2x2, 3x3)
 * convolution (stride 1, no dilation): 16 products per 2x2 output tile
 * instead of 36. In: each 4x4 input patch d -> V = B^T d B, written as 16
 * matrices (C x T, T tiles in row-major tile order); conv.c multiplies
 * them by the transformed weights U = G g G^T on the packed GEMM; out:
 * each tile's 16 sums m -> Y = A^T m A, plus bias and Relu / Clip. Both
 * run on 16 tiles of a tile row at once.
 * Entry points: kw__wino_in_avx512, kw__wino_out_avx512 (wino.h).
 */
#include <immintrin.h>

#include "onnx/ops/wino.h"

static inline __mmask16 lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* even / odd floats of p[0..32) */
static inline void split(const float *p, __m512 *ev, __m512 *od) {
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19,
                                         21, 23, 25, 27, 29, 31);
    const __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
    *ev = _mm512_permutex2var_ps(a, ie, b);
    *od = _mm512_permutex2var_ps(a, io, b);
}

void kw__wino_in_avx512(const struct kw__wino *w, const float *xp,
                        int64_t c0, int64_t c1, float *v) {
    const int64_t T = w->th * w->tw, CT = w->c * T;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = xp + c * w->plane;
        for (int64_t ty = 0; ty < w->th; ty++)
            for (int64_t tx = 0; tx < w->tw; tx += 16) {
                const __mmask16 mk = lanes(w->tw - tx);
                __m512 d[4][4];
                for (int r = 0; r < 4; r++) {
                    const float *row = xc + (2 * ty + r) * w->wp + 2 * tx;
                    split(row, &d[r][0], &d[r][1]);
                    split(row + 2, &d[r][2], &d[r][3]);
                }
                __m512 t[4][4]; /* d B, row by row */
                for (int r = 0; r < 4; r++) {
                    t[r][0] = _mm512_sub_ps(d[r][0], d[r][2]);
                    t[r][1] = _mm512_add_ps(d[r][1], d[r][2]);
                    t[r][2] = _mm512_sub_ps(d[r][2], d[r][1]);
                    t[r][3] = _mm512_sub_ps(d[r][1], d[r][3]);
                }
                float *o = v + c * T + ty * w->tw + tx;
                for (int j = 0; j < 4; j++) { /* B^T (d B), column j */
                    _mm512_mask_storeu_ps(o + (0 * 4 + j) * CT, mk,
                                          _mm512_sub_ps(t[0][j], t[2][j]));
                    _mm512_mask_storeu_ps(o + (1 * 4 + j) * CT, mk,
                                          _mm512_add_ps(t[1][j], t[2][j]));
                    _mm512_mask_storeu_ps(o + (2 * 4 + j) * CT, mk,
                                          _mm512_sub_ps(t[2][j], t[1][j]));
                    _mm512_mask_storeu_ps(o + (3 * 4 + j) * CT, mk,
                                          _mm512_sub_ps(t[1][j], t[3][j]));
                }
            }
    }
}

void kw__wino_out_avx512(const struct kw__wino *w, const float *mx,
                         int64_t m0, int64_t m1, const float *bias, int act,
                         float aa, float ab, float *y) {
    const int64_t T = w->th * w->tw, MT = w->m * T;
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5,
                                         21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28,
                                         13, 29, 14, 30, 15, 31);
    const __m512 va = _mm512_set1_ps(aa), vb = _mm512_set1_ps(ab),
                 zero = _mm512_setzero_ps();
    for (int64_t m = m0; m < m1; m++) {
        const __m512 b = _mm512_set1_ps(bias ? bias[m] : 0.0f);
        float *ym = y + m * w->oh * w->ow;
        for (int64_t ty = 0; ty < w->th; ty++)
            for (int64_t tx = 0; tx < w->tw; tx += 16) {
                const __mmask16 mk = lanes(w->tw - tx);
                const float *s = mx + m * T + ty * w->tw + tx;
                __m512 q[4][4];
                for (int i = 0; i < 16; i++)
                    q[i / 4][i % 4] = _mm512_maskz_loadu_ps(mk, s + i * MT);
                /* A^T q: rows 0+1+2 and 1-2-3 */
                __m512 r[2][4];
                for (int j = 0; j < 4; j++) {
                    r[0][j] = _mm512_add_ps(_mm512_add_ps(q[0][j], q[1][j]), q[2][j]);
                    r[1][j] = _mm512_sub_ps(_mm512_sub_ps(q[1][j], q[2][j]), q[3][j]);
                }
                for (int a = 0; a < 2; a++) {
                    const int64_t oy = 2 * ty + a;
                    if (oy >= w->oh) break;
                    __m512 e = _mm512_add_ps(
                        _mm512_add_ps(_mm512_add_ps(r[a][0], r[a][1]), r[a][2]), b);
                    __m512 o = _mm512_add_ps(
                        _mm512_sub_ps(_mm512_sub_ps(r[a][1], r[a][2]), r[a][3]), b);
                    if (act == KW_ACT_RELU) {
                        e = _mm512_max_ps(e, zero);
                        o = _mm512_max_ps(o, zero);
                    } else if (act == KW_ACT_CLIP) {
                        e = _mm512_min_ps(vb, _mm512_max_ps(va, e));
                        o = _mm512_min_ps(vb, _mm512_max_ps(va, o));
                    }
                    /* columns 2tx.. interleave even and odd */
                    const int64_t n = w->ow - 2 * tx; /* > 0 */
                    float *yr = ym + oy * w->ow + 2 * tx;
                    _mm512_mask_storeu_ps(yr, lanes(n),
                                          _mm512_permutex2var_ps(e, lo, o));
                    if (n > 16)
                        _mm512_mask_storeu_ps(yr + 16, lanes(n - 16),
                                              _mm512_permutex2var_ps(e, hi, o));
                }
            }
    }
}
