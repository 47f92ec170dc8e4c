/*
 * pool_max_body.h — the body of the 3x3 stride-2 max pooling (see
 * pool_max_avx512.c for the method), included by pool_max_avx512.c and
 * pool_max_avx2.c after they define VW (lanes), KW_PM_NAME (the entry
 * point) and, for their vectors:
 *   col_step(x0, iw, nr, q, n, t): t[q, q + min(n, VW)) = the column
 *     maxima of nr rows from x0 + q (NaN ignored); nonzero when the
 *     first row has a NaN there;
 *   row_out(t, c, lo, hi, yr): outputs [lo, hi) of a row, output ow
 *     the maximum of t[c + 2(ow - lo) + 0..2].
 */
#include <math.h>
#include <stdint.h>

#include "onnx/ops/pool_max.h"

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

/* t[0, iw) = the column maxima of nr rows from x0; pf: 2 rows to
 * prefetch (a later output row's, from memory). Returns whether the
 * first row has a NaN. */
static inline __attribute__((always_inline)) int
col_max(const float *x0, int64_t iw, int nr, float *t, const char *pf) {
    int nan = 0;
    int64_t q = 0;
    for (; q < iw; q += VW) {
        _mm_prefetch(pf + q * 4, _MM_HINT_T0);
        _mm_prefetch(pf + (iw + q) * 4, _MM_HINT_T0);
        nan |= col_step(x0, iw, nr, q, iw - q, t);
    }
    return nan != 0;
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

void KW_PM_NAME(const struct kw__pool2d *p, const float *x, float *y,
                float *scratch) {
    const int64_t IH = p->ih, IW = p->iw, OW = p->ow;
    /* vector outputs [lo, hi): windows from column 2*ow - pl >= -2 (within
     * the scratch's left pad) that reach into the row */
    int64_t lo = p->pl <= 2 ? 0 : (p->pl - 1) / 2;
    int64_t hi = (IW + p->pl + 1) / 2;
    if (hi > OW) hi = OW;
    if (lo > hi) lo = hi;
    float *t[2] = {scratch + KW_PM_PADL,
                   scratch + KW_PM_PADL + (KW_PM_PADL + IW + KW_PM_PADR)};
    for (int64_t c = -KW_PM_PADL; c < IW + KW_PM_PADR; c++)
        t[0][c] = t[1][c] = -INFINITY;
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
