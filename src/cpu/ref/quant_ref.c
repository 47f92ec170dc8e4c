/*
 * quant_ref.c — kw__fill_quant_ref: the scalar reference for every tensor
 * type kaiwu computes with (bit-exact with ggml's block layouts and
 * arithmetic). The kernels live in quant_ref_float.c (f32/f16/bf16),
 * quant_ref_legacy.c (32-element blocks) and quant_ref_k.c (super-blocks).
 * No gemm here: dispatch falls back to loops over vec_dot.
 */
#include "cpu/ref/quant_ref.h"

void kw__fill_quant_ref(struct kw__isa_table *t) {
    kw__fill_quant_ref_float(t);
    kw__fill_quant_ref_legacy(t);
    kw__fill_quant_ref_k(t);
}
