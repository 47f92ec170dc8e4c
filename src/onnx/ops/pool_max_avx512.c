/*
 * pool_max_avx512.c — float32 3x3 stride-2 max pooling of one plane (the
 * ResNet stem's MaxPool) with AVX-512, separably: each output row takes
 * the column maxima of its (up to) 3 input rows into a scratch row padded
 * with -inf on both sides, then the maxima of 3 neighbouring columns at
 * every other position by lane permutes, 16 outputs a step without masks
 * or bounds checks (pads up to 2; wider ones take the scalar path for the
 * windows wholly outside). The scratch rows alternate, so an output row
 * reads maxima stored one row earlier rather than waiting on stores still
 * in flight, and the input rows of later output rows are prefetched (they
 * come from L3 or memory). Same results as the reference's row-major '>'
 * scan, NaN included (the window's first tap when it is NaN, else the
 * largest other value); only the sign of a zero tied for the maximum with
 * the other zero may differ.
 * Entry points: kw__maxpool3s2_avx512, kw__maxpool3s2_scratch (pool.c).
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "onnx/ops/pool_max.h"

/* -inf columns left of a scratch row (pads up to PADL) and right of it */
#define PADL 16
#define PADR 64
/* output rows ahead whose input rows are prefetched (from L3 or memory:
 * the hardware prefetchers alone leave the loads waiting) */
#define PF_ROWS 4

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
    return 2 * (PADL + p->iw + PADR);
}

/* t[q, q+16) (lanes m) = the column maxima of nr rows from x0 + q, NaN
 * ignored (MAXPS keeps its second operand when either is NaN: the first
 * row meets -inf as the first operand, and the running maximum, never
 * NaN, is the second); returns the first row's NaN lanes. */
static inline __attribute__((always_inline)) __mmask16
col_step(const float *x0, int64_t iw, int nr, int64_t q, __mmask16 m,
         float *t) {
    __m512 v = _mm512_maskz_loadu_ps(m, x0 + q);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    v = _mm512_max_ps(v, _mm512_set1_ps(-INFINITY));
    if (nr > 1) v = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x0 + iw + q), v);
    if (nr > 2)
        v = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x0 + 2 * iw + q), v);
    _mm512_mask_storeu_ps(t + q, m, v);
    return nan;
}

/* t[0, iw) = the column maxima of nr rows from x0; pf: 2 rows to
 * prefetch (a later output row's, from memory). Returns whether the
 * first row has a NaN. */
static inline __attribute__((always_inline)) int
col_max(const float *x0, int64_t iw, int nr, float *t, const char *pf) {
    __mmask16 nan = 0;
    int64_t q = 0;
    for (; q + 16 <= iw; q += 16) {
        _mm_prefetch(pf + q * 4, _MM_HINT_T0);
        _mm_prefetch(pf + (iw + q) * 4, _MM_HINT_T0);
        nan |= col_step(x0, iw, nr, q, (__mmask16)0xffff, t);
    }
    if (q < iw) {
        _mm_prefetch(pf + q * 4, _MM_HINT_T0);
        _mm_prefetch(pf + (iw + q) * 4, _MM_HINT_T0);
        nan |= col_step(x0, iw, nr, q, tail_mask(iw - q), t);
    }
    return nan != 0;
}

/* Outputs [lo, hi) of one row from its column maxima t (-inf outside the
 * row). Each step takes the even columns of the next 32 as well: shifted
 * down a lane they are this step's third taps. */
static void row_out(const float *t, int64_t c, int64_t lo, int64_t hi,
                    float *yr) {
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    __m512 a = _mm512_loadu_ps(t + c), b = _mm512_loadu_ps(t + c + 16);
    __m512 e = _mm512_permutex2var_ps(a, ev, b);
    __m512 o = _mm512_permutex2var_ps(a, od, b);
    int64_t ow = lo;
    for (;; ow += 16, c += 32) {
        a = _mm512_loadu_ps(t + c + 32);
        b = _mm512_loadu_ps(t + c + 48);
        const __m512 en = _mm512_permutex2var_ps(a, ev, b);
        const __m512 e2 = _mm512_castsi512_ps(_mm512_alignr_epi32(
            _mm512_castps_si512(en), _mm512_castps_si512(e), 1));
        /* ties keep the left column (MAXPS keeps its second operand) */
        const __m512 v = _mm512_max_ps(e2, _mm512_max_ps(o, e));
        if (ow + 16 >= hi) {
            _mm512_mask_storeu_ps(yr + ow, tail_mask(hi - ow), v);
            return;
        }
        _mm512_storeu_ps(yr + ow, v);
        e = en;
        o = _mm512_permutex2var_ps(a, od, b);
    }
}

/* The window's first tap (first row x0, column 2*ow - pl, or column 0
 * for a window starting left of the row), when NaN, is the answer: rare,
 * so only rows whose first row has a NaN come here. */
static __attribute__((noinline, cold)) void
nan_taps(const float *x0, int64_t pl, int64_t lo, int64_t hi, float *yr) {
    for (int64_t ow = lo; ow < hi; ow++) {
        const int64_t col = 2 * ow - pl;
        const float f = x0[col < 0 ? 0 : col];
        if (isnan(f)) yr[ow] = f;
    }
}

void kw__maxpool3s2_avx512(const struct kw__pool2d *p, const float *x,
                           float *y, float *scratch) {
    const int64_t IH = p->ih, IW = p->iw, OW = p->ow;
    /* vector outputs [lo, hi): windows from column 2*ow - pl >= -2 (within
     * the scratch's left pad) that reach into the row */
    int64_t lo = p->pl <= 2 ? 0 : (p->pl - 1) / 2;
    int64_t hi = (IW + p->pl + 1) / 2;
    if (hi > OW) hi = OW;
    if (lo > hi) lo = hi;
    float *t[2] = {scratch + PADL, scratch + PADL + (PADL + IW + PADR)};
    for (int64_t c = -PADL; c < IW + PADR; c++) t[0][c] = t[1][c] = -INFINITY;
    /* the row whose column maxima wait in t[cur ^ 1] */
    int64_t pend = -1;
    const float *pend_x0 = NULL;
    int pend_nan = 0, cur = 0;
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
        const float *x0 = x + r0 * IW;
        /* the input rows of output row oh + PF_ROWS: past the plane's end
         * they are the next plane's, which pool.c takes next (a prefetch
         * never faults, and the address is formed as an integer) */
        const char *pf =
            (const char *)((uintptr_t)x0 + (uintptr_t)(2 * PF_ROWS + 1) *
                                               (uintptr_t)IW * sizeof(float));
        const int nan = r1 - r0 == 3
                            ? col_max(x0, IW, 3, t[cur], pf)
                            : col_max(x0, IW, (int)(r1 - r0), t[cur], pf);
        if (pend >= 0) {
            row_out(t[cur ^ 1], lo * 2 - p->pl, lo, hi, y + pend * OW);
            if (pend_nan) nan_taps(pend_x0, p->pl, lo, hi, y + pend * OW);
        }
        pend = oh;
        pend_x0 = x0;
        pend_nan = nan;
        cur ^= 1;
    }
    if (pend >= 0) {
        row_out(t[cur ^ 1], lo * 2 - p->pl, lo, hi, y + pend * OW);
        if (pend_nan) nan_taps(pend_x0, p->pl, lo, hi, y + pend * OW);
    }
}
