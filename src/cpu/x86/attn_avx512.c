/* attn_avx512.c — the x86 attention kernel (attn_x86.h) built for AVX-512,
 * taking the AVX-512 dot_f16 for the scores. */
#define KW_ATTN_ISA KW__ISA_AVX512
#include "cpu/x86/attn_x86.h"

void kw__fill_attn_avx512(struct kw__isa_table *t) { t->attn = kw_attn_x86; }
