/*
 * ops_ref.c — scalar references of the float ops of the LLM forward pass
 * (rmsnorm, rope, fp16 dot/axpy/convert, swiglu, softmax, add) and the rope
 * cos/sin table. They are the specification the SIMD variants must equal
 * bit for bit: each op rounds exactly like ggml's CPU op in an AVX-512
 * build (the peer llama.cpp), so results do not depend on the machine.
 * Entry points: kw__fill_ops_ref, kw__rope_cache.
 */
#include <math.h>

#include "cpu/isa_table.h"

/* The roundings below are deliberate: every fused multiply-add is an
 * explicit fmaf and nothing else may be fused, so the compiler must not
 * contract a*b+c on its own (gcc already does not in ISO C mode). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- lane emulation ---------------------------------------------------
 * Where ggml's AVX-512 code keeps partial results in 16-lane registers, the
 * references below keep one float per lane and combine them in the order
 * the vector code does; a vector FMA lane rounds once, exactly like fmaf. */

/* Sum of 16 lanes in the order of gcc's _mm512_reduce_add_ps, which ggml's
 * reductions use: halves (l + l+8), quarters (l + l+4), then
 * ([0]+[2]) + ([1]+[3]). */
static float sum16(const float v[16]) {
    float h[8], q[4];
    for (int l = 0; l < 8; l++) h[l] = v[l + 8] + v[l];
    for (int l = 0; l < 4; l++) q[l] = h[l + 4] + h[l];
    return (q[0] + q[2]) + (q[1] + q[3]);
}

#include "cpu/ref/exp_ref.h"

/* ---- ops --------------------------------------------------------------- */

/* y, x, w: (n). ggml's rms_norm: float squares summed one after another in
 * double (the peer's loop is a serial vaddsd chain, so any other order can
 * move the mean by an ulp), scale formed in float, then (x * scale) * w as
 * its mul. w may be NULL for no weight. */
static void rmsnorm_ref(float *y, const float *x, const float *w, int64_t n,
                        float eps) {
    if (n <= 0) return;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float sq = x[i] * x[i];
        sum += (double)sq;
    }
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i] * scale;
        y[i] = w ? v * w[i] : v;
    }
}

/* x: (n_heads, head_dim), rotated in place; cs: (n_rot/2, 2) = (cos, sin).
 *
 * Which products are fused follows the peer binary (gcc contracts the
 * scalar source under -ffp-contract=fast, and vectorizes it):
 *  - the x0 products are fused, the x1 products rounded:
 *    y0 = fma(x0, c, -(x1*s)), y1 = fma(x0, s, x1*c); in neox mode always,
 *    in normal mode for the first (n_rot/2 & ~3) pairs (gcc's vector loop).
 *  - normal mode's last 0..3 pairs take gcc's unfused remainder loop:
 *    y0 = x0*c - x1*s, y1 = x0*s + x1*c.
 * Dims past n_rot are left as they are. */
static void rope_ref(float *x, int64_t n_heads, int64_t head_dim,
                     int64_t n_rot, const float *cs, int neox) {
    const int64_t half = n_rot / 2;
    const int64_t n_fused = half & ~(int64_t)3;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t i = 0; i < half; i++) {
            const float c = cs[2 * i], s = cs[2 * i + 1];
            if (neox) {
                const float x0 = v[i], x1 = v[i + half];
                v[i] = fmaf(x0, c, -(x1 * s));
                v[i + half] = fmaf(x0, s, x1 * c);
            } else {
                const float x0 = v[2 * i], x1 = v[2 * i + 1];
                if (i < n_fused) {
                    v[2 * i] = fmaf(x0, c, -(x1 * s));
                    v[2 * i + 1] = fmaf(x0, s, x1 * c);
                } else {
                    v[2 * i] = x0 * c - x1 * s;
                    v[2 * i + 1] = x0 * s + x1 * c;
                }
            }
        }
    }
}

/* x, y: (n) fp16. ggml's AVX-512 f16 dot: blocks of 64 go to 4 registers
 * of 16 lanes (acc[16 j + l]) by FMA; the registers fold 0+2, 1+3, then
 * together, the lanes sum as sum16; the n % 64 rest is added to that in
 * double, one float product at a time. The product of two fp16 values is
 * exact in float (22 significant bits), so product-then-add rounds once,
 * exactly like the FMA, without a call to fmaf. */
static float dot_f16_ref(const uint16_t *x, const uint16_t *y, int64_t n) {
    const int64_t np = n & ~(int64_t)63;
    float acc[64] = {0};
    for (int64_t i = 0; i < np; i += 64)
        for (int k = 0; k < 64; k++)
            acc[k] += kw__fp16_to_fp32(x[i + k]) * kw__fp16_to_fp32(y[i + k]);
    float v[16];
    for (int l = 0; l < 16; l++)
        v[l] = (acc[l] + acc[32 + l]) + (acc[16 + l] + acc[48 + l]);
    double sum = (double)sum16(v);
    for (int64_t i = np; i < n; i++) {
        const float p = kw__fp16_to_fp32(x[i]) * kw__fp16_to_fp32(y[i]);
        sum += (double)p;
    }
    return (float)sum;
}

/* y: (n) f32 += a * x: (n) fp16, one rounding per element (ggml's vec_mad
 * is an fma in every path of the peer build). */
static void axpy_f16_ref(float *y, const uint16_t *x, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fmaf(kw__fp16_to_fp32(x[i]), a, y[i]);
}

/* Round to nearest even; a NaN keeps its sign and top payload bits and
 * becomes quiet, as the F16C instruction does. */
static void to_f16_ref(uint16_t *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const uint32_t u = kw__f32_as_u32(x[i]);
        if ((u & 0x7fffffffu) > 0x7f800000u)
            y[i] = (uint16_t)(((u >> 16) & 0x8000u) | 0x7e00u | ((u >> 13) & 0x3ffu));
        else
            y[i] = kw__fp32_to_fp16(x[i]);
    }
}

/* silu(g) * u with g / (1 + exp(0 - g)) */
static float swiglu_one(float g, float u, int lane) {
    const float e = lane ? exp_lane(0.0f - g) : expf(-g);
    return g / (1.0f + e) * u;
}

/* y, g, u: (n). ggml's AVX-512 swiglu: whole groups of 16 with the
 * polynomial exp, the n % 16 rest with libm's expf. */
static void swiglu_ref(float *y, const float *g, const float *u, int64_t n) {
    const int64_t nv = n & ~(int64_t)15;
    for (int64_t i = 0; i < n; i++) y[i] = swiglu_one(g[i], u[i], i < nv);
}

/* x: (n) in place. ggml's soft_max: scale, subtract the max, exp; each
 * whole group of 16 uses the polynomial exp and is summed in float
 * (sum16) before joining a double total; the n % 16 rest uses libm's expf,
 * added in double one by one. Then x times the float of 1/total. */
static void softmax_ref(float *x, int64_t n, float scale) {
    if (n <= 0) return;
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        x[i] *= scale;
        max = max > x[i] ? max : x[i];
    }
    const int64_t nv = n & ~(int64_t)15;
    double sum = 0.0;
    for (int64_t i = 0; i < nv; i += 16) {
        for (int l = 0; l < 16; l++) x[i + l] = exp_lane(x[i + l] - max);
        sum += (double)sum16(x + i);
    }
    for (int64_t i = nv; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += (double)x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

static void add_ref(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

/* cs: (n_rot/2, 2). ggml's rope_cache_init without YaRN (ext_factor 0,
 * attn_factor 1): theta starts at the position and is multiplied by
 * base^(-2/n_rot) once per pair, all in float, so the rounding of the
 * iterated product (which grows with the pair index) is reproduced too. */
void kw__rope_cache(float *cs, int64_t n_rot, int32_t pos, float freq_base,
                    float freq_scale, const float *ff) {
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int64_t i = 0; i < n_rot / 2; i++) {
        const float t = freq_scale * (ff ? theta / ff[i] : theta);
        cs[2 * i] = cosf(t);
        cs[2 * i + 1] = sinf(t);
        theta *= theta_scale;
    }
}

void kw__fill_ops_ref(struct kw__isa_table *t) {
    t->ops.rmsnorm = rmsnorm_ref;
    t->ops.rope = rope_ref;
    t->ops.dot_f16 = dot_f16_ref;
    t->ops.axpy_f16 = axpy_f16_ref;
    t->ops.to_f16 = to_f16_ref;
    t->ops.swiglu = swiglu_ref;
    t->ops.softmax = softmax_ref;
    t->ops.add = add_ref;
}
