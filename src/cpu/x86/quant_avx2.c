/* quant_avx2.c — placeholder; being written. */
#include "cpu/isa_table.h"

void kw__fill_quant_avx2(struct kw__isa_table *t) { (void)t; }
