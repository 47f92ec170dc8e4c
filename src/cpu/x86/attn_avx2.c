/* attn_avx2.c — the x86 attention kernel (attn_x86.h) built for AVX2. */
#define KW_ATTN_ISA KW__ISA_AVX2
#include "cpu/x86/attn_x86.h"

void kw__fill_attn_avx2(struct kw__isa_table *t) { t->attn = kw_attn_x86; }
