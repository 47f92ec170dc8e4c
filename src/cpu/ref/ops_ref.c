/*
 * ops_ref.c — scalar references of the float ops of the LLM forward pass
 * (rmsnorm, rope, fp16 dot/axpy/convert, swiglu, softmax, add) and the rope
 * cos/sin table. Each mirrors the rounding of ggml's CPU op as llama.cpp is
 * built here (gcc -O3 -march=native), so kaiwu's greedy tokens can match.
 * Entry points: kw__fill_ops_ref, kw__rope_cache.
 */
#include <math.h>

#include "cpu/isa_table.h"

/* The roundings below are deliberate (fused where ggml's build fuses, and
 * nowhere else), so the compiler must not contract a*b+c on its own; gcc
 * already does not in ISO C mode. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* y, x, w: (n). Sum of float squares in double, scale formed in float, then
 * (x * scale) * w: ggml's rms_norm followed by its (fused) mul. w may be
 * NULL for no weight. */
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

/* x, y: (n) fp16. ggml's scalar dot: float products summed in double. */
static float dot_f16_ref(const uint16_t *x, const uint16_t *y, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
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

static void to_f16_ref(uint16_t *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = kw__fp32_to_fp16(x[i]);
}

/* y, g, u: (n). silu(g) * u with libm's expf, as ggml's scalar path. */
static void swiglu_ref(float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float silu = g[i] / (1.0f + expf(-g[i]));
        y[i] = silu * u[i];
    }
}

/* x: (n) in place. ggml's soft_max: scale, subtract the max, expf, sum in
 * double, then multiply by the float of 1/sum. */
static void softmax_ref(float *x, int64_t n, float scale) {
    if (n <= 0) return;
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        x[i] *= scale;
        max = max > x[i] ? max : x[i];
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float e = expf(x[i] - max);
        sum += (double)e;
        x[i] = e;
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
