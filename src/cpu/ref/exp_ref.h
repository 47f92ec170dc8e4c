/*
 * exp_ref.h — one lane of ggml's AVX-512 ggml_v_expf in plain C (the
 * specification of the SIMD exp kernels), shared by the reference float ops
 * and the reference tiled attention.
 */
#ifndef KW_CPU_REF_EXP_REF_H
#define KW_CPU_REF_EXP_REF_H

#include <math.h>

#include "core/internal.h"

/* 2^e as a float, e in [-126, 127] */
static inline float pow2i(int e) { return kw__u32_as_f32((uint32_t)(e + 127) << 23); }

/* p * 2^n rounded once, like AVX-512 scalef, for integral |n| <= 192 and p
 * near 1: p * 2^(n/2) is exact (a normal float), so the second product does
 * the only rounding, into the subnormals or to infinity if it must. */
static inline float scalef(float p, float n) {
    if (n != n) return p; /* NaN input: p is NaN too */
    const int e = (int)n, e1 = e / 2;
    return (p * pow2i(e1)) * pow2i(e - e1);
}

/* One lane of ggml's AVX-512 ggml_v_expf (Arm optimized-routines' expf):
 * x = n ln2 + b with a two-part ln2, exp(b) by a degree-5 polynomial in
 * FMA steps, 2^n by scalef; |n| > 192 saturates to 0 or inf. Max error
 * about 1.5 ulp, so it is not libm's expf: lanes and tails differ. */
static inline float exp_lane(float x) {
    const float shift = 0x1.8p23f;
    const float n = fmaf(x, 0x1.715476p+0f, shift) - shift;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
    const float u = b * b;
    const float hi = fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f);
    const float mid = fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f);
    const float lo = fmaf(0x1.ffffecp-1f, b, 1.0f);
    return scalef(fmaf(fmaf(hi, u, mid), u, lo), n);
}

#endif
