/*
 * vec_avx2.h — the small AVX2 helpers the convolution and pooling
 * kernels share (gemm_avx2.c, conv_wino_avx2.c, conv_direct_avx2.c,
 * conv_dwc_avx2.c, conv_ct_avx2.c, pool_max_avx2.c, ew_simd_avx2.c): a
 * lane mask for a vector's first n floats, a store of them, the fused
 * Relu / Clip on a vector and an 8x8 transpose. Include
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

/* p[0, n) = v's first n lanes (n clamped to 0..8). Not VMASKMOVPS:
 * AMD's Zen cores run its store form in microcode (it took 39 % of the
 * samples of the transposing store of a 7x7 pointwise layer there). */
static inline __attribute__((always_inline)) void
kw__store8n(float *p, __m256 v, int64_t n) {
    if (n >= 8) {
        _mm256_storeu_ps(p, v);
        return;
    }
    __m128 h = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(p, h);
        h = _mm256_extractf128_ps(v, 1);
        p += 4, n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)p, h);
        h = _mm_movehl_ps(h, h);
        p += 2, n -= 2;
    }
    if (n >= 1) _mm_store_ss(p, h);
}

/* r[i][j] <-> r[j][i]: 8 vectors of 8 transposed */
static inline void kw__tr8(__m256 *r) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

#endif /* KW_ONNX_OPS_VEC_AVX2_H */
