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

/*
 * ggml's x86 kernels (what llama.cpp runs on the machines kaiwu is checked
 * against) keep 8 float lanes per dot and end with this tree: the high
 * 128-bit half onto the low one, then (0+2) + (1+3). The references and
 * the SIMD kernels all reduce through it so every ISA rounds alike.
 */
static inline float kw__hsum8(const float a[8]) {
    const float s0 = a[0] + a[4], s1 = a[1] + a[5];
    const float s2 = a[2] + a[6], s3 = a[3] + a[7];
    return (s0 + s2) + (s1 + s3);
}

/* Lane k of a 256-bit int8 dot over one 32-element block: elements
 * 4k..4k+3 (what dpbusd, or maddubs + madd, leave in int32 lane k). */
static inline void kw__lanes32(const int *x, const int8_t *y,
                               int32_t lanes[8]) {
    for (int k = 0; k < 8; k++) {
        lanes[k] = 0;
        for (int e = 4 * k; e < 4 * k + 4; e++) lanes[k] += x[e] * y[e];
    }
}

/*
 * Batch-size dependent numerics. ggml picks a kernel per matrix product
 * from the batch: q6_K products of >= KW__WIDE_BATCH tokens go through its
 * tiled kernel (one rounding per 256-block) instead of vec_dot (8 lanes).
 * kw__gemm(Q6_K) matches vec_dot; kw__gemm_wide(type) is the tile for the
 * wide regime, NULL for types whose numerics do not depend on the batch.
 * (q4_K needs no switch: its tiles follow ggml's repacked gemm when
 * ny == 4 and its gemv otherwise, as ggml splits tokens.)
 */
#define KW__WIDE_BATCH 8
KW_HIDDEN kw__gemm_fn kw__gemm_wide(uint32_t type);
KW_HIDDEN kw__gemm_fn kw__gemm_wide_variant(uint32_t type, enum kw__isa isa);
KW_HIDDEN kw__gemm_fn kw__gemm_wide_ref(uint32_t type);
#if KW_HAVE_X86
KW_HIDDEN kw__gemm_fn kw__gemm_wide_avx2(uint32_t type);
KW_HIDDEN kw__gemm_fn kw__gemm_wide_avx512(uint32_t type);
#endif

#endif /* KW_CPU_QUANT_REF_H */
