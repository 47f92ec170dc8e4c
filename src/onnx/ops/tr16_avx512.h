/*
 * tr16_avx512.h — the 16x16 float transpose in zmm registers that the
 * channel-blocked AVX-512 kernels share (conv_dwc_avx512.c,
 * conv_ct_avx512.c). Include only from files built with AVX-512.
 */
#ifndef KW_ONNX_OPS_TR16_AVX512_H
#define KW_ONNX_OPS_TR16_AVX512_H

#include <immintrin.h>

/* r[i] lane j <- r[j] lane i: unpacks within 128-bit lanes, then the
 * lanes themselves exchanged in two rounds */
static inline __attribute__((always_inline)) void kw__tr16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int i = 0; i < 16; i += 8)
        for (int k = 0; k < 4; k++) {
            t[i + k] = _mm512_shuffle_f32x4(r[i + k], r[i + k + 4], 0x88);
            t[i + k + 4] = _mm512_shuffle_f32x4(r[i + k], r[i + k + 4], 0xdd);
        }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xdd);
    }
}

#endif /* KW_ONNX_OPS_TR16_AVX512_H */
