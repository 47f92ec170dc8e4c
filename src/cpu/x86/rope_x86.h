/*
 * rope_x86.h — one rotary pair (2i, 2i+1) rotated without fusing the
 * products, as the peer's remainder loop does (see ops_ref.c); shared by the
 * AVX2 and AVX-512 rope kernels (SSE3 instructions only).
 */
#ifndef KW_CPU_X86_ROPE_X86_H
#define KW_CPU_X86_ROPE_X86_H

#include <immintrin.h>

static inline void rope_pair_unfused(float *p, const float *cs) {
    const __m128 v = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p));
    const __m128 t = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)cs));
    const __m128 sw = _mm_shuffle_ps(t, t, _MM_SHUFFLE(2, 3, 0, 1));
    const __m128 r = _mm_addsub_ps(_mm_mul_ps(_mm_moveldup_ps(v), t),
                                   _mm_mul_ps(_mm_movehdup_ps(v), sw));
    _mm_storel_epi64((__m128i *)p, _mm_castps_si128(r));
}

#endif
