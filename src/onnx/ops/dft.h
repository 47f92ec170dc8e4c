/*
 * dft.h — complex transforms of one line (dft.c), shared by the DFT and
 * STFT operators in signal.c.
 */
#ifndef KW_ONNX_DFT_H
#define KW_ONNX_DFT_H

#include "onnx/onnx_internal.h"

struct kw__dft_plan;

/* A plan for lines of n points; NULL when out of memory or n out of range. */
KW_HIDDEN struct kw__dft_plan *kw__dft_plan_new(int64_t n);
KW_HIDDEN void kw__dft_plan_free(struct kw__dft_plan *p);
/* Transforms (re, im)[0..n) in place; the inverse divides by n. */
KW_HIDDEN void kw__dft_line(struct kw__dft_plan *p, double *re, double *im,
                            int inverse);

#endif /* KW_ONNX_DFT_H */
