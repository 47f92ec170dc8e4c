/*
 * quant_avx2.c — AVX2 quantized kernels: every vec_dot and quantizer of
 * quant_x86.h built with maddubs/madd, plus gemm tiles for the hot types.
 * Entry: kw__fill_quant_avx2.
 */
#define KW_X86_VNNI 0
#define KW_X86_SFX avx2
#include "cpu/x86/quant_x86.h"

KW_X86_GEMM_LOOP(kw_gemm_loop_q4_0_avx2, kw_vec_dot_q4_0_avx2)
KW_X86_GEMM_LOOP(kw_gemm_loop_q4_1_avx2, kw_vec_dot_q4_1_avx2)
KW_X86_GEMM_LOOP(kw_gemm_loop_q8_0_avx2, kw_vec_dot_q8_0_avx2)
KW_X86_GEMM_LOOP(kw_gemm_loop_q4_K_avx2, kw_vec_dot_q4_K_avx2)
KW_X86_GEMM_LOOP(kw_gemm_loop_q6_K_avx2, kw_vec_dot_q6_K_avx2)

void kw__fill_quant_avx2(struct kw__isa_table *t) {
    kw_fill_common_avx2(t);
    t->gemm[KW_TYPE_Q4_0] = kw_gemm_loop_q4_0_avx2;
    t->gemm[KW_TYPE_Q4_1] = kw_gemm_loop_q4_1_avx2;
    t->gemm[KW_TYPE_Q8_0] = kw_gemm_loop_q8_0_avx2;
    t->gemm[KW_TYPE_Q4_K] = kw_gemm_loop_q4_K_avx2;
    t->gemm[KW_TYPE_Q6_K] = kw_gemm_loop_q6_K_avx2;
}
