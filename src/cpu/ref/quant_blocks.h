/*
 * quant_blocks.h — ggml's quantized block layouts, byte for byte, shared by
 * the scalar references (quant_ref_*.c) and the SIMD kernels (x86/). Half
 * floats are raw uint16_t bits (kw__fp16_to_fp32). Also the small helpers
 * every implementation needs to agree on: the K-quant 6-bit scale unpacking
 * and the IQ4 non-linear codebook.
 */
#ifndef KW_CPU_QUANT_BLOCKS_H
#define KW_CPU_QUANT_BLOCKS_H

#include <stdint.h>

#include "core/internal.h"

#define KW_QK4_0 32
#define KW_QK4_1 32
#define KW_QK5_0 32
#define KW_QK5_1 32
#define KW_QK8_0 32
#define KW_QK8_1 32
#define KW_QK4_NL 32
#define KW_QK_K 256
#define KW_K_SCALE_SIZE 12

/* x = d * (q - 8), q in 0..15; element j in low nibble of qs[j], element
 * j + 16 in the high nibble. */
struct kw_block_q4_0 {
    uint16_t d;
    uint8_t qs[KW_QK4_0 / 2];
};

/* x = d * q + m, q in 0..15; same nibble order as q4_0. */
struct kw_block_q4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[KW_QK4_1 / 2];
};

/* x = d * (q - 16), q = nibble | bit j of qh (little-endian uint32) << 4. */
struct kw_block_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[KW_QK5_0 / 2];
};

/* x = d * q + m, q in 0..31; bits as q5_0. */
struct kw_block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[KW_QK5_1 / 2];
};

/* x = d * q */
struct kw_block_q8_0 {
    uint16_t d;
    int8_t qs[KW_QK8_0];
};

/* x = d * q; s = fp16(d * sum(q)) (used by q4_1/q5_1 dots for the min). */
struct kw_block_q8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[KW_QK8_1];
};

/* 16 sub-blocks of 16: x = d * (scales[i] & 15) * q - dmin * (scales[i] >> 4),
 * q 2-bit. qs: 2 halves of 128 elements; within a half, byte l (0..31)
 * holds elements l, l+32, l+64, l+96 at bit shifts 0, 2, 4, 6. */
struct kw_block_q2_K {
    uint8_t scales[KW_QK_K / 16];
    uint8_t qs[KW_QK_K / 4];
    uint16_t d;
    uint16_t dmin;
};

/* 16 sub-blocks of 16: x = d * (s - 32) * (q - (hbit ? 0 : 4)), 6-bit scales
 * packed in 12 bytes; qs laid out like q2_K, hmask bit k of byte l (0..31)
 * is the high bit of element 32k + l. */
struct kw_block_q3_K {
    uint8_t hmask[KW_QK_K / 8];
    uint8_t qs[KW_QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
};

/* 8 sub-blocks of 32: x = d * sc * q - dmin * m, 6-bit (sc, m) from
 * kw__get_scale_min_k4. qs: 4 chunks of 32 bytes; chunk c holds elements
 * 64c + l (low nibble) and 64c + 32 + l (high nibble). */
struct kw_block_q4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[KW_K_SCALE_SIZE];
    uint8_t qs[KW_QK_K / 2];
};

/* as q4_K plus a fifth bit: qh[l] bit 2c (low nibble) / 2c+1 (high nibble)
 * for chunk c. */
struct kw_block_q5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[KW_K_SCALE_SIZE];
    uint8_t qh[KW_QK_K / 8];
    uint8_t qs[KW_QK_K / 2];
};

/* 16 sub-blocks of 16: x = d * scales[i] * (q - 32), q 6-bit. Two halves of
 * 128; in half h, for l < 32: elements l, l+32, l+64, l+96 take low nibbles
 * of ql[64h + l], ql[64h + l + 32], high nibbles of the same, and bits
 * 0-1, 2-3, 4-5, 6-7 of qh[32h + l] as bits 4-5. */
struct kw_block_q6_K {
    uint8_t ql[KW_QK_K / 2];
    uint8_t qh[KW_QK_K / 4];
    int8_t scales[KW_QK_K / 16];
    uint16_t d;
};

/* Activation block for K-quants: x = d * q (d is f32, not fp16);
 * bsums[i] = sum of qs[16i .. 16i+15]. */
struct kw_block_q8_K {
    float d;
    int8_t qs[KW_QK_K];
    int16_t bsums[KW_QK_K / 16];
};

/* x = d * kw__iq4nl_values[nibble]; nibble order as q4_0. */
struct kw_block_iq4_nl {
    uint16_t d;
    uint8_t qs[KW_QK4_NL / 2];
};

/* 8 sub-blocks of 32: x = d * (ls - 32) * kw__iq4nl_values[nibble], 6-bit
 * ls = low 4 bits from scales_l (nibble ib%2 of byte ib/2) | 2 bits of
 * scales_h (bits 2ib, 2ib+1) << 4; nibble order per sub-block as q4_0. */
struct kw_block_iq4_xs {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[KW_QK_K / 64];
    uint8_t qs[KW_QK_K / 2];
};

_Static_assert(sizeof(struct kw_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(struct kw_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(struct kw_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(struct kw_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(struct kw_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(struct kw_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(struct kw_block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(struct kw_block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(struct kw_block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(struct kw_block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(struct kw_block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(struct kw_block_q8_K) == 292, "q8_K layout");
_Static_assert(sizeof(struct kw_block_iq4_nl) == 18, "iq4_nl layout");
_Static_assert(sizeof(struct kw_block_iq4_xs) == 136, "iq4_xs layout");

/* The 16 non-linear levels of IQ4_NL / IQ4_XS (defined in quant_ref.c). */
KW_HIDDEN extern const int8_t kw__iq4nl_values[16];

/* Sub-block j (0..7) scale and min of q4_K/q5_K: the first four use the low
 * 6 bits of bytes j and j+4; the last four combine a nibble of byte j+4
 * with the top 2 bits of bytes j-4 and j. */
static inline void kw__get_scale_min_k4(int j, const uint8_t *q, uint8_t *sc,
                                        uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* The 16 6-bit scales of q3_K (still biased by +32) from its 12 bytes. */
static inline void kw__q3_K_scales(const uint8_t *s12, int8_t *out16) {
    const uint32_t kmask1 = 0x03030303u, kmask2 = 0x0f0f0f0fu;
    uint32_t aux[4];
    memcpy(aux, s12, 12);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(out16, aux, 16);
}

#endif /* KW_CPU_QUANT_BLOCKS_H */
