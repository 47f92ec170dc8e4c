/*
 * exp_avx512.h — exp(x) in 16 lanes with the algorithm and constants of
 * ggml's AVX-512 ggml_v_expf, shared by the float ops (softmax, swiglu) and
 * the tiled attention; include only from files built with AVX-512 flags.
 */
#ifndef KW_CPU_X86_EXP_AVX512_H
#define KW_CPU_X86_EXP_AVX512_H

#include <immintrin.h>
#include <math.h>

/* exp(x) in 16 lanes: the algorithm and constants of ggml's AVX-512
 * ggml_v_expf (Arm optimized-routines' expf: x = n*ln2 + b with a two-part
 * ln2, exp(b) by a degree-5 minimax polynomial, 2^n by scalef; about 1.5
 * ulp), kept as they are so results are bit-identical to the peer's.
 * |n| > 192 saturates to 0 or inf. */
static inline __m512 exp16(__m512 x) {
    const __m512 shift = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift);
    const __m512 n = _mm512_sub_ps(z, shift);
    const __m512 b = _mm512_fnmadd_ps(
        n, _mm512_set1_ps(0x1.7f7d1cp-20f),
        _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __mmask16 huge = _mm512_cmp_ps_mask(_mm512_abs_ps(n),
                                              _mm512_set1_ps(192.0f), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 hi = _mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b,
                                      _mm512_set1_ps(0x1.573e2ep-5f));
    const __m512 mid = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b,
                                       _mm512_set1_ps(0x1.fffdb6p-2f));
    const __m512 lo = _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b,
                                      _mm512_set1_ps(1.0f));
    const __m512 p = _mm512_fmadd_ps(_mm512_fmadd_ps(hi, u, mid), u, lo);
    const __m512 r = _mm512_scalef_ps(p, n);
    if (!huge) return r;
    const __mmask16 neg =
        _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
    const __m512 sat = _mm512_mask_blend_ps(neg, _mm512_set1_ps(INFINITY),
                                            _mm512_setzero_ps());
    return _mm512_mask_blend_ps(huge, r, sat);
}

#endif
