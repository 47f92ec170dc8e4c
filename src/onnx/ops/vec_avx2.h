/*
 * vec_avx2.h — the small AVX2 helpers the convolution and pooling
 * kernels share (gemm_avx2.c, conv_wino_avx2.c, conv_direct_avx2.c,
 * conv_dwc_avx2.c, pool_max_avx2.c, ew_simd_avx2.c): a lane mask for a
 * vector's first n floats and the fused Relu / Clip on a vector. Include
 * only from files built with AVX2.
 */
#ifndef KW_ONNX_OPS_VEC_AVX2_H
#define KW_ONNX_OPS_VEC_AVX2_H

#include <immintrin.h>

#include "onnx/onnx_internal.h"

/* the first n (clamped to 0..8) of 8 lanes, for maskload / maskstore */
static inline __m256i kw__lanes8(int64_t n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(
        _mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), idx);
}

/* act(x) for Relu / Clip (a, b: Clip's bounds), x otherwise, with
 * kw__act_apply's comparisons (the operand order keeps NaN as it does) */
static inline __attribute__((always_inline)) __m256
kw__act8(__m256 x, int act, __m256 va, __m256 vb) {
    if (act == KW_ACT_RELU) return _mm256_max_ps(x, _mm256_setzero_ps());
    if (act == KW_ACT_CLIP) return _mm256_min_ps(vb, _mm256_max_ps(va, x));
    return x;
}

#endif /* KW_ONNX_OPS_VEC_AVX2_H */
