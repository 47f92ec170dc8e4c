/*
 * quant_ref.c — kw__fill_quant_ref: the scalar reference for every tensor
 * type kaiwu computes with (bit-exact with ggml's block layouts and
 * arithmetic). The kernels live in quant_ref_float.c (f32/f16/bf16),
 * quant_ref_legacy.c (32-element blocks) and quant_ref_k.c (super-blocks).
 * Gemm tiles only where ggml's batched kernel rounds unlike its vec_dot
 * (q4_K, and q6_K for wide batches: kw__gemm_wide); elsewhere dispatch
 * falls back to loops over vec_dot.
 */
#include "cpu/ref/quant_ref.h"

void kw__fill_quant_ref(struct kw__isa_table *t) {
    kw__fill_quant_ref_float(t);
    kw__fill_quant_ref_legacy(t);
    kw__fill_quant_ref_k(t);
}

kw__gemm_fn kw__gemm_wide_variant(uint32_t type, enum kw__isa isa) {
    switch (isa) {
    case KW__ISA_REF: return kw__gemm_wide_ref(type);
#if KW_HAVE_X86
    case KW__ISA_AVX2:
        return kw__cpu_has(isa) ? kw__gemm_wide_avx2(type) : NULL;
    case KW__ISA_AVX512:
        return kw__cpu_has(isa) ? kw__gemm_wide_avx512(type) : NULL;
#endif
    default: return NULL;
    }
}

/* The chosen ISA's wide tile, else the best lower one's. */
kw__gemm_fn kw__gemm_wide(uint32_t type) {
    for (int isa = (int)kw__cpu_isa(); isa >= 0; isa--) {
        kw__gemm_fn g = kw__gemm_wide_variant(type, (enum kw__isa)isa);
        if (g) return g;
    }
    return NULL;
}
