/*
 * quant_avx2.c — AVX2 quantized kernels: every vec_dot, quantizer and tile
 * of quant_x86.h built with maddubs/madd. No pair sum here can saturate
 * int16 (nibbles or |x| <= 128 times |q8| <= 127), so the int32 lanes equal
 * the VNNI ones and every result is bit-identical to the AVX-512 kernels
 * and to llama.cpp's. The tiles are the row-by-columns ones of
 * quant_x86.h (exact, not register-blocked). Entry: kw__fill_quant_avx2.
 */
#define KW_X86_VNNI 0
#define KW_X86_SFX avx2
#include "cpu/x86/quant_x86.h"

#include "cpu/ref/quant_ref.h"

KW_X86_GEMM_LOOP(kw_gemm_loop_q4_0_avx2, kw_vec_dot_q4_0_avx2)

kw__gemm_fn kw__gemm_wide_avx2(uint32_t type) {
    return type == KW_TYPE_Q6_K ? kw_gemm_wide_q6_K_avx2 : NULL;
}

void kw__fill_quant_avx2(struct kw__isa_table *t) {
    kw_fill_common_avx2(t);
    t->gemm[KW_TYPE_Q4_0] = kw_gemm_loop_q4_0_avx2;
}
