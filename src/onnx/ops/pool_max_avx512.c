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
 * The body is shared with AVX2 (pool_max_body.h); here the vector steps.
 * Entry point: kw__maxpool3s2_avx512 (pool_max.h).
 */
#include <immintrin.h>

#include "onnx/ops/pool_max.h"

#define VW 16

static inline __mmask16 tail_mask(int64_t n) {
    return n >= 16  ? (__mmask16)0xffff
           : n <= 0 ? (__mmask16)0
                    : (__mmask16)((1u << n) - 1);
}

/* t[q, q+16) (lanes m) = the column maxima of nr rows from x0 + q, NaN
 * ignored (MAXPS keeps its second operand when either is NaN: the first
 * row meets -inf as the first operand, and the running maximum, never
 * NaN, is the second); returns the first row's NaN lanes. */
static inline __attribute__((always_inline)) __mmask16
col_step(const float *x0, int64_t iw, int nr, int64_t q, int64_t n,
         float *t) {
    const __mmask16 m = tail_mask(n);
    __m512 v = _mm512_maskz_loadu_ps(m, x0 + q);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    v = _mm512_max_ps(v, _mm512_set1_ps(-INFINITY));
    if (nr > 1) v = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x0 + iw + q), v);
    if (nr > 2)
        v = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x0 + 2 * iw + q), v);
    _mm512_mask_storeu_ps(t + q, m, v);
    return nan;
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

#define KW_PM_NAME kw__maxpool3s2_avx512
#include "onnx/ops/pool_max_body.h"
