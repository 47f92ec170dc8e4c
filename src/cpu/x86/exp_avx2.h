/*
 * exp_avx2.h — exp(x) in 8 lanes, bit-identical to one lane of ggml's
 * AVX-512 ggml_v_expf, shared by the AVX2 float ops and tiled attention;
 * include only from files built with AVX2+FMA flags.
 */
#ifndef KW_CPU_X86_EXP_AVX2_H
#define KW_CPU_X86_EXP_AVX2_H

#include <immintrin.h>
#include <math.h>

/* 2^e for integer lanes e in [-126, 127] */
static inline __m256 pow2i(__m256i e) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

/* exp(x) in 8 lanes, bit-identical to one lane of ggml's AVX-512
 * ggml_v_expf (exp_lane in ops_ref.c: same constants and FMA steps).
 * AVX-512's scalef(p, n) = p * 2^n rounded once becomes two products,
 * p * 2^(n>>1) (exact: p is near 1, |n>>1| <= 96) and then * 2^(n - n>>1),
 * the only rounding. |n| > 192 saturates to 0 or inf. */
static inline __m256 exp8(__m256 x) {
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b = _mm256_fnmadd_ps(
        n, _mm256_set1_ps(0x1.7f7d1cp-20f),
        _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 huge = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 hi = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b,
                                      _mm256_set1_ps(0x1.573e2ep-5f));
    const __m256 mid = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b,
                                       _mm256_set1_ps(0x1.fffdb6p-2f));
    const __m256 lo = _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b,
                                      _mm256_set1_ps(1.0f));
    const __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(hi, u, mid), u, lo);
    /* huge and NaN lanes convert to INT_MIN: a factor of 1 (NaN p passes
     * through, as scalef passes it) or garbage that the blend replaces */
    const __m256i e = _mm256_cvtps_epi32(n);
    const __m256i e1 = _mm256_srai_epi32(e, 1);
    const __m256 r = _mm256_mul_ps(_mm256_mul_ps(p, pow2i(e1)),
                                   pow2i(_mm256_sub_epi32(e, e1)));
    if (!_mm256_movemask_ps(huge)) return r;
    const __m256 neg = _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ);
    const __m256 sat = _mm256_andnot_ps(neg, _mm256_set1_ps(INFINITY));
    return _mm256_blendv_ps(r, sat, huge);
}

#endif
