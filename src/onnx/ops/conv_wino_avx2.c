/*
 * conv_wino_avx2.c — the Winograd transforms of wino.h for AVX2: the same
 * arithmetic as conv_wino_avx512.c (B^T d B in, A^T m A out, bias and
 * Relu / Clip), on 8 tiles of a tile row at a time. Without lane
 * permutes across a whole register, a row's tiles are gathered and
 * scattered by 4x4 transposes inside the 128-bit halves.
 * Entry points: kw__wino_in_avx2, kw__wino_out_avx2, kw__wino4_in_avx2,
 * kw__wino4_out_avx2 (wino.h).
 */
#include <immintrin.h>

#include "onnx/ops/wino.h"
#include "onnx/ops/vec_avx2.h"

static inline int64_t tx_lo(const struct kw__wino *w, int64_t ty) {
    return KW_MAX(w->t0 - ty * w->tw, (int64_t)0);
}
static inline int64_t tx_hi(const struct kw__wino *w, int64_t ty) {
    return KW_MIN(w->t1 - ty * w->tw, w->tw);
}

static inline __m256 bias_act(__m256 x, __m256 b, int act, __m256 va,
                              __m256 vb) {
    return kw__act8(_mm256_add_ps(x, b), act, va, vb);
}

/* 4x4 transposes of a, b, c, d inside each 128-bit half */
static inline void tr4(__m256 *a, __m256 *b, __m256 *c, __m256 *d) {
    const __m256 t0 = _mm256_unpacklo_ps(*a, *b), t1 = _mm256_unpackhi_ps(*a, *b);
    const __m256 t2 = _mm256_unpacklo_ps(*c, *d), t3 = _mm256_unpackhi_ps(*c, *d);
    *a = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    *b = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    *c = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    *d = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
}

/* even / odd floats of p[0..16) */
static inline void split(const float *p, __m256 *ev, __m256 *od) {
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    /* in-half picks give a0 a2 b0 b2 | a4 a6 b4 b6; the 64-bit pairs
     * then go in order */
    *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
        _MM_SHUFFLE(3, 1, 2, 0)));
    *od = _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))),
        _MM_SHUFFLE(3, 1, 2, 0)));
}

void kw__wino_in_avx2(const struct kw__wino *w, const float *xp, int64_t c0,
                      int64_t c1, float *v) {
    const int64_t CT = w->c * w->vt;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = xp + c * w->plane;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 8) {
                const int64_t nt = tx_hi(w, ty) - tx;
                __m256 d[4][4];
                for (int r = 0; r < 4; r++) {
                    const float *row = xc + (2 * ty + r) * w->wp + 2 * tx;
                    split(row, &d[r][0], &d[r][1]);
                    split(row + 2, &d[r][2], &d[r][3]);
                }
                __m256 t[4][4]; /* d B, row by row */
                for (int r = 0; r < 4; r++) {
                    t[r][0] = _mm256_sub_ps(d[r][0], d[r][2]);
                    t[r][1] = _mm256_add_ps(d[r][1], d[r][2]);
                    t[r][2] = _mm256_sub_ps(d[r][2], d[r][1]);
                    t[r][3] = _mm256_sub_ps(d[r][1], d[r][3]);
                }
                float *o = v + c * w->vt + ty * w->tw + tx - w->t0;
                for (int j = 0; j < 4; j++) { /* B^T (d B), column j */
                    kw__store8n(o + (0 * 4 + j) * CT,
                                _mm256_sub_ps(t[0][j], t[2][j]), nt);
                    kw__store8n(o + (1 * 4 + j) * CT,
                                _mm256_add_ps(t[1][j], t[2][j]), nt);
                    kw__store8n(o + (2 * 4 + j) * CT,
                                _mm256_sub_ps(t[2][j], t[1][j]), nt);
                    kw__store8n(o + (3 * 4 + j) * CT,
                                _mm256_sub_ps(t[1][j], t[3][j]), nt);
                }
            }
    }
}

/* n (> 0) outputs of a row from lanes that hold 8 tiles' columns */
static inline void store_row(float *yr, const __m256 *out, int nv,
                             int64_t n) {
    for (int v = 0; v < nv && 8 * v < n; v++)
        kw__store8n(yr + 8 * v, out[v], n - 8 * v);
}

void kw__wino_out_avx2(const struct kw__wino *w, const float *mx, int64_t m0,
                       int64_t m1, const float *bias, int act, float aa,
                       float ab, float *y) {
    const int64_t MT = w->m * w->vt;
    const __m256 va = _mm256_set1_ps(aa), vb = _mm256_set1_ps(ab);
    for (int64_t m = m0; m < m1; m++) {
        const __m256 b = _mm256_set1_ps(bias ? bias[m] : 0.0f);
        float *ym = y + m * w->oh * w->ow;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 8) {
                const __m256i mk = kw__lanes8(tx_hi(w, ty) - tx);
                const float *s = mx + m * w->vt + ty * w->tw + tx - w->t0;
                __m256 q[4][4];
                for (int i = 0; i < 16; i++)
                    q[i / 4][i % 4] = _mm256_maskload_ps(s + i * MT, mk);
                __m256 r[2][4]; /* A^T q: rows 0+1+2 and 1-2-3 */
                for (int j = 0; j < 4; j++) {
                    r[0][j] = _mm256_add_ps(_mm256_add_ps(q[0][j], q[1][j]), q[2][j]);
                    r[1][j] = _mm256_sub_ps(_mm256_sub_ps(q[1][j], q[2][j]), q[3][j]);
                }
                for (int a = 0; a < 2; a++) {
                    const int64_t oy = 2 * ty + a;
                    if (oy >= w->oh) break;
                    const __m256 e = bias_act(
                        _mm256_add_ps(_mm256_add_ps(r[a][0], r[a][1]), r[a][2]),
                        b, act, va, vb);
                    const __m256 o = bias_act(
                        _mm256_sub_ps(_mm256_sub_ps(r[a][1], r[a][2]), r[a][3]),
                        b, act, va, vb);
                    /* e0 o0 e1 o1 | e4 o4 e5 o5 and e2 o2 e3 o3 | e6 ... */
                    const __m256 lo = _mm256_unpacklo_ps(e, o),
                                 hi = _mm256_unpackhi_ps(e, o);
                    const __m256 out[2] = {_mm256_permute2f128_ps(lo, hi, 0x20),
                                           _mm256_permute2f128_ps(lo, hi, 0x31)};
                    store_row(ym + oy * w->ow + 2 * tx, out, 2,
                              KW_MIN(w->ow - 2 * tx, 2 * (tx_hi(w, ty) - tx)));
                }
            }
    }
}

/* ---- F(4x4, 3x3) ---- */

static inline void bt6(const __m256 *z, __m256 *o) {
    const __m256 four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f),
                 two = _mm256_set1_ps(2.0f);
    const __m256 a = _mm256_fnmadd_ps(four, z[2], z[4]); /* z4 - 4 z2 */
    const __m256 b = _mm256_fnmadd_ps(four, z[1], z[3]); /* z3 - 4 z1 */
    const __m256 c = _mm256_sub_ps(z[4], z[2]);
    const __m256 d = _mm256_mul_ps(two, _mm256_sub_ps(z[3], z[1]));
    o[0] = _mm256_fmadd_ps(four, z[0], _mm256_fnmadd_ps(five, z[2], z[4]));
    o[1] = _mm256_add_ps(a, b);
    o[2] = _mm256_sub_ps(a, b);
    o[3] = _mm256_add_ps(c, d);
    o[4] = _mm256_sub_ps(c, d);
    o[5] = _mm256_fmadd_ps(four, z[1], _mm256_fnmadd_ps(five, z[3], z[5]));
}

static inline void at6(const __m256 *z, __m256 *o) {
    const __m256 a = _mm256_add_ps(z[1], z[2]), b = _mm256_sub_ps(z[1], z[2]);
    const __m256 c = _mm256_add_ps(z[3], z[4]), d = _mm256_sub_ps(z[3], z[4]);
    o[0] = _mm256_add_ps(_mm256_add_ps(z[0], a), c);
    o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), d, b);
    o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), c, a);
    o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), d, b), z[5]);
}

/* columns j = 0..5 of 8 tiles from row (tile i at row[4i]): p[j] =
 * row[4i + j] across i; the row is read to row[33] */
static inline void cols6(const float *row, __m256 *p) {
    const __m256 A = _mm256_loadu_ps(row), B = _mm256_loadu_ps(row + 8),
                 C = _mm256_loadu_ps(row + 16), D = _mm256_loadu_ps(row + 24);
    /* halves: tiles (0, 4), (1, 5), (2, 6), (3, 7); transposed, each
     * register holds one column of tiles 0..3 | 4..7 */
    p[0] = _mm256_permute2f128_ps(A, C, 0x20);
    p[1] = _mm256_permute2f128_ps(A, C, 0x31);
    p[2] = _mm256_permute2f128_ps(B, D, 0x20);
    p[3] = _mm256_permute2f128_ps(B, D, 0x31);
    tr4(&p[0], &p[1], &p[2], &p[3]);
    /* columns 4, 5 are columns 0, 1 of the next tile */
    const __m256i next = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
    p[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(p[0], next),
                           _mm256_broadcast_ss(row + 32), 0x80);
    p[5] = _mm256_blend_ps(_mm256_permutevar8x32_ps(p[1], next),
                           _mm256_broadcast_ss(row + 33), 0x80);
}

void kw__wino4_in_avx2(const struct kw__wino *w, const float *xp, int64_t c0,
                       int64_t c1, float *v) {
    const int64_t CT = w->c * w->vt;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = xp + c * w->plane;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 8) {
                const int64_t nt = tx_hi(w, ty) - tx;
                __m256 t[6][6]; /* d B, row by row */
                for (int r = 0; r < 6; r++) {
                    __m256 d[6];
                    cols6(xc + (4 * ty + r) * w->wp + 4 * tx, d);
                    bt6(d, t[r]);
                }
                float *o = v + c * w->vt + ty * w->tw + tx - w->t0;
                for (int k = 0; k < 6; k++) { /* B^T (d B), column k */
                    __m256 z[6], q[6];
                    for (int r = 0; r < 6; r++) z[r] = t[r][k];
                    bt6(z, q);
                    for (int i = 0; i < 6; i++)
                        kw__store8n(o + (i * 6 + k) * CT, q[i], nt);
                }
            }
    }
}

void kw__wino4_out_avx2(const struct kw__wino *w, const float *mx, int64_t m0,
                        int64_t m1, const float *bias, int act, float aa,
                        float ab, float *y) {
    const int64_t MT = w->m * w->vt;
    const __m256 va = _mm256_set1_ps(aa), vb = _mm256_set1_ps(ab);
    for (int64_t m = m0; m < m1; m++) {
        const __m256 b = _mm256_set1_ps(bias ? bias[m] : 0.0f);
        float *ym = y + m * w->oh * w->ow;
        for (int64_t ty = w->t0 / w->tw; ty * w->tw < w->t1; ty++)
            for (int64_t tx = tx_lo(w, ty); tx < tx_hi(w, ty); tx += 8) {
                const __m256i mk = kw__lanes8(tx_hi(w, ty) - tx);
                const float *s = mx + m * w->vt + ty * w->tw + tx - w->t0;
                __m256 r[4][6]; /* A^T q, column by column */
                for (int k = 0; k < 6; k++) {
                    __m256 z[6], o[4];
                    for (int i = 0; i < 6; i++)
                        z[i] = _mm256_maskload_ps(s + (i * 6 + k) * MT, mk);
                    at6(z, o);
                    for (int a = 0; a < 4; a++) r[a][k] = o[a];
                }
                for (int a = 0; a < 4; a++) {
                    const int64_t oy = 4 * ty + a;
                    if (oy >= w->oh) break;
                    __m256 e[4];
                    at6(r[a], e);
                    for (int bb = 0; bb < 4; bb++)
                        e[bb] = bias_act(e[bb], b, act, va, vb);
                    /* halves: tiles (0, 4), (1, 5), (2, 6), (3, 7) */
                    tr4(&e[0], &e[1], &e[2], &e[3]);
                    const __m256 out[4] = {
                        _mm256_permute2f128_ps(e[0], e[1], 0x20),
                        _mm256_permute2f128_ps(e[2], e[3], 0x20),
                        _mm256_permute2f128_ps(e[0], e[1], 0x31),
                        _mm256_permute2f128_ps(e[2], e[3], 0x31)};
                    store_row(ym + oy * w->ow + 4 * tx, out, 4,
                              KW_MIN(w->ow - 4 * tx, 4 * (tx_hi(w, ty) - tx)));
                }
            }
    }
}
