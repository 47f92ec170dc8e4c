/*
 * conv_wino_avx512.c — the transforms of the Winograd F(2x2, 3x3) and
 * F(4x4, 3x3) convolutions (stride 1, no dilation): 16 products per 2x2
 * output tile instead of 36, or 36 per 4x4 tile instead of 144. Below for
 * F(2x2, 3x3); F(4x4, 3x3) is alike with 6x6 patches read at a stride of
 * 4 (kw__wino4_in_avx512, kw__wino4_out_avx512). In: each 4x4 input patch d -> V = B^T d B, written as 16
 * matrices (C x T, T tiles in row-major tile order); conv.c multiplies
 * them by the transformed weights U = G g G^T on the packed GEMM; out:
 * each tile's 16 sums m -> Y = A^T m A, plus bias and Relu / Clip. Both
 * run on 16 tiles of a tile row at once.
 * Entry points: kw__wino_in_avx512, kw__wino_out_avx512 (wino.h).
 */
#include <immintrin.h>

#include "onnx/ops/wino.h"

/* the columns of tile row ty inside the tiles [t0, t1) */
static inline int64_t tx_lo(const struct kw__wino *w, int64_t ty) {
    return KW_MAX(w->t0 - ty * w->tw, (int64_t)0);
}
static inline int64_t tx_hi(const struct kw__wino *w, int64_t ty) {
    return KW_MIN(w->t1 - ty * w->tw, w->tw);
}

static inline __mmask16 lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* act(x + b) for Relu / Clip (a, b: Clip's bounds), x + b otherwise */
static inline __m512 bias_act(__m512 x, __m512 b, int act, __m512 va,
                              __m512 vb) {
    x = _mm512_add_ps(x, b);
    if (act == KW_ACT_RELU) return _mm512_max_ps(x, _mm512_setzero_ps());
    if (act == KW_ACT_CLIP) return _mm512_min_ps(vb, _mm512_max_ps(va, x));
    return x;
}

/* the lanes that interleave two vectors: lo pairs lanes 0..7 of x and y
 * (x0 y0 x1 y1 ...), hi lanes 8..15 */
static inline __m512i zip_lo(void) {
    return _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22,
                             7, 23);
}
static inline __m512i zip_hi(void) {
    return _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14,
                             30, 15, 31);
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
    const int64_t CT = w->c * w->vt;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = xp + c * w->plane;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 16) {
                const __mmask16 mk = lanes(tx_hi(w, ty) - tx);
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
                float *o = v + c * w->vt + ty * w->tw + tx - w->t0;
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
    const int64_t MT = w->m * w->vt;
    const __m512i lo = zip_lo(), hi = zip_hi();
    const __m512 va = _mm512_set1_ps(aa), vb = _mm512_set1_ps(ab);
    for (int64_t m = m0; m < m1; m++) {
        const __m512 b = _mm512_set1_ps(bias ? bias[m] : 0.0f);
        float *ym = y + m * w->oh * w->ow;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 16) {
                const __mmask16 mk = lanes(tx_hi(w, ty) - tx);
                const float *s = mx + m * w->vt + ty * w->tw + tx - w->t0;
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
                    const __m512 e = bias_act(
                        _mm512_add_ps(_mm512_add_ps(r[a][0], r[a][1]), r[a][2]),
                        b, act, va, vb);
                    const __m512 o = bias_act(
                        _mm512_sub_ps(_mm512_sub_ps(r[a][1], r[a][2]), r[a][3]),
                        b, act, va, vb);
                    /* columns 2tx.. interleave even and odd */
                    /* (> 0; only the tiles in range) */
                    const int64_t n = KW_MIN(w->ow - 2 * tx, 2 * (tx_hi(w, ty) - tx));
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

/* ---- F(4x4, 3x3): 36 products per 4x4 output tile instead of 144 ---- */

/* B^T z for six values (a row of d, then a column of d B) */
static inline void bt6(const __m512 *z, __m512 *o) {
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f),
                 two = _mm512_set1_ps(2.0f);
    const __m512 a = _mm512_fnmadd_ps(four, z[2], z[4]); /* z4 - 4 z2 */
    const __m512 b = _mm512_fnmadd_ps(four, z[1], z[3]); /* z3 - 4 z1 */
    const __m512 c = _mm512_sub_ps(z[4], z[2]);
    const __m512 d = _mm512_mul_ps(two, _mm512_sub_ps(z[3], z[1]));
    o[0] = _mm512_fmadd_ps(four, z[0], _mm512_fnmadd_ps(five, z[2], z[4]));
    o[1] = _mm512_add_ps(a, b);
    o[2] = _mm512_sub_ps(a, b);
    o[3] = _mm512_add_ps(c, d);
    o[4] = _mm512_sub_ps(c, d);
    o[5] = _mm512_fmadd_ps(four, z[1], _mm512_fnmadd_ps(five, z[3], z[5]));
}

/* A^T z: six values to four */
static inline void at6(const __m512 *z, __m512 *o) {
    const __m512 a = _mm512_add_ps(z[1], z[2]), b = _mm512_sub_ps(z[1], z[2]);
    const __m512 c = _mm512_add_ps(z[3], z[4]), d = _mm512_sub_ps(z[3], z[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(z[0], a), c);
    o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d, b);
    o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c, a);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d, b), z[5]);
}

/* columns j = 0..5 of 16 tiles from row (tile i at row[4i]): p[k] =
 * row[4i + k] across i; the row is read to row[65] */
static inline void cols6(const float *row, __m512 *p) {
    const __m512 a0 = _mm512_loadu_ps(row), a1 = _mm512_loadu_ps(row + 16),
                 a2 = _mm512_loadu_ps(row + 32), a3 = _mm512_loadu_ps(row + 48),
                 a4 = _mm512_loadu_ps(row + 64);
    for (int j = 0; j < 4; j++) {
        const __m512i ix = _mm512_setr_epi32(j, j + 4, j + 8, j + 12, j + 16,
                                             j + 20, j + 24, j + 28, j, j + 4,
                                             j + 8, j + 12, j + 16, j + 20,
                                             j + 24, j + 28);
        p[j] = _mm512_shuffle_f32x4(_mm512_permutex2var_ps(a0, ix, a1),
                                    _mm512_permutex2var_ps(a2, ix, a3), 0x44);
    }
    /* columns 4, 5 are columns 0, 1 of the next tile */
    const __m512i n4 = _mm512_castps_si512(a4);
    p[4] = _mm512_castsi512_ps(
        _mm512_alignr_epi32(n4, _mm512_castps_si512(p[0]), 1));
    p[5] = _mm512_castsi512_ps(_mm512_alignr_epi32(
        _mm512_alignr_epi32(n4, n4, 1), _mm512_castps_si512(p[1]), 1));
}

void kw__wino4_in_avx512(const struct kw__wino *w, const float *xp,
                         int64_t c0, int64_t c1, float *v) {
    const int64_t CT = w->c * w->vt;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = xp + c * w->plane;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 16) {
                const __mmask16 mk = lanes(tx_hi(w, ty) - tx);
                __m512 t[6][6]; /* d B, row by row */
                for (int r = 0; r < 6; r++) {
                    __m512 d[6];
                    cols6(xc + (4 * ty + r) * w->wp + 4 * tx, d);
                    bt6(d, t[r]);
                }
                float *o = v + c * w->vt + ty * w->tw + tx - w->t0;
                for (int k = 0; k < 6; k++) { /* B^T (d B), column k */
                    __m512 z[6], q[6];
                    for (int r = 0; r < 6; r++) z[r] = t[r][k];
                    bt6(z, q);
                    for (int i = 0; i < 6; i++)
                        _mm512_mask_storeu_ps(o + (i * 6 + k) * CT, mk, q[i]);
                }
            }
    }
}

void kw__wino4_out_avx512(const struct kw__wino *w, const float *mx,
                          int64_t m0, int64_t m1, const float *bias, int act,
                          float aa, float ab, float *y) {
    const int64_t MT = w->m * w->vt;
    /* e0..e3 (column b of 16 tiles) -> 64 outputs, tile by tile */
    const __m512i lo = zip_lo(), hi = zip_hi();
    const __m512i q0 = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20,
                                         21, 6, 7, 22, 23);
    const __m512i q1 = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13,
                                         28, 29, 14, 15, 30, 31);
    const __m512 va = _mm512_set1_ps(aa), vb = _mm512_set1_ps(ab);
    for (int64_t m = m0; m < m1; m++) {
        const __m512 b = _mm512_set1_ps(bias ? bias[m] : 0.0f);
        float *ym = y + m * w->oh * w->ow;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 16) {
                const __mmask16 mk = lanes(tx_hi(w, ty) - tx);
                const float *s = mx + m * w->vt + ty * w->tw + tx - w->t0;
                __m512 r[4][6]; /* A^T q, column by column */
                for (int k = 0; k < 6; k++) {
                    __m512 z[6], o[4];
                    for (int i = 0; i < 6; i++)
                        z[i] = _mm512_maskz_loadu_ps(mk, s + (i * 6 + k) * MT);
                    at6(z, o);
                    for (int a = 0; a < 4; a++) r[a][k] = o[a];
                }
                for (int a = 0; a < 4; a++) {
                    const int64_t oy = 4 * ty + a;
                    if (oy >= w->oh) break;
                    __m512 e[4];
                    at6(r[a], e);
                    for (int bb = 0; bb < 4; bb++)
                        e[bb] = bias_act(e[bb], b, act, va, vb);
                    const __m512 p01l = _mm512_permutex2var_ps(e[0], lo, e[1]),
                                 p01h = _mm512_permutex2var_ps(e[0], hi, e[1]),
                                 p23l = _mm512_permutex2var_ps(e[2], lo, e[3]),
                                 p23h = _mm512_permutex2var_ps(e[2], hi, e[3]);
                    const __m512 out[4] = {_mm512_permutex2var_ps(p01l, q0, p23l),
                                           _mm512_permutex2var_ps(p01l, q1, p23l),
                                           _mm512_permutex2var_ps(p01h, q0, p23h),
                                           _mm512_permutex2var_ps(p01h, q1, p23h)};
                    /* columns 4tx.. (n > 0 of them in this row) */
                    const int64_t n = KW_MIN(w->ow - 4 * tx, 4 * (tx_hi(w, ty) - tx));
                    float *yr = ym + oy * w->ow + 4 * tx;
                    for (int v = 0; v < 4 && 16 * v < n; v++)
                        _mm512_mask_storeu_ps(yr + 16 * v, lanes(n - 16 * v),
                                              out[v]);
                }
            }
    }
}
