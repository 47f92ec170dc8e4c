/* ops_avx512.c — placeholder; being written. */
#include "cpu/isa_table.h"

void kw__fill_ops_avx512(struct kw__isa_table *t) { (void)t; }
