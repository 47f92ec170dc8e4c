/*
 * quant_ref.h — how the scalar quant reference is split across files: each
 * quant_ref_*.c fills its part of the REF dispatch table, and quant_ref.c
 * (kw__fill_quant_ref) calls them all. Shared rounding helpers live here.
 */
#ifndef KW_CPU_QUANT_REF_H
#define KW_CPU_QUANT_REF_H

#include "cpu/isa_table.h"
#include "cpu/ref/quant_blocks.h"

/* f32 / f16 / bf16 rows */
KW_HIDDEN void kw__fill_quant_ref_float(struct kw__isa_table *t);
/* 32-element blocks: q4_0 q4_1 q5_0 q5_1 q8_0 q8_1 iq4_nl */
KW_HIDDEN void kw__fill_quant_ref_legacy(struct kw__isa_table *t);
/* 256-element super-blocks: q2_K..q6_K, q8_K, iq4_xs */
KW_HIDDEN void kw__fill_quant_ref_k(struct kw__isa_table *t);

/* Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 pushes
 * the fraction out of the mantissa under the default rounding mode. This is
 * what ggml's nearest_int and the x86 _mm256_round_ps(NEAREST) compute. */
static inline int kw__round_even(float v) {
    const float shifted = v + 12582912.0f;
    uint32_t bits;
    memcpy(&bits, &shifted, 4);
    return (int)(bits & 0x007fffffu) - 0x00400000;
}

#endif /* KW_CPU_QUANT_REF_H */
