/*
 * attn_ref.c — reference single-head attention over the fp16 KV cache with
 * llama.cpp's CPU flash-attention numerics (see kw__attn_fn). fmaf makes
 * the fp16 accumulator updates round once, as ggml's SIMD path does.
 */
#include <math.h>

#include "cpu/isa_table.h"

static void attn_ref(float *out, const float *q, const uint16_t *k,
                     const uint16_t *v, size_t kv_stride, int64_t n_kv,
                     int64_t hd, float scale, uint16_t *scratch) {
    uint16_t *q16 = scratch;      /* (hd) */
    uint16_t *acc = scratch + hd; /* (hd) fp16 V accumulator */
    for (int64_t i = 0; i < hd; i++) {
        q16[i] = kw__fp32_to_fp16(q[i]);
        acc[i] = 0;
    }
    float m = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < n_kv; j++) {
        const uint16_t *kj = k + (size_t)j * kv_stride;
        const uint16_t *vj = v + (size_t)j * kv_stride;
        float s = 0.0f;
        for (int64_t i = 0; i < hd; i++)
            s = fmaf(kw__fp16_to_fp32(kj[i]), kw__fp16_to_fp32(q16[i]), s);
        s *= scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > m) {
            ms = expf(m - s);
            m = s;
            for (int64_t i = 0; i < hd; i++)
                acc[i] = kw__fp32_to_fp16(kw__fp16_to_fp32(acc[i]) * ms);
        } else {
            vs = expf(s - m);
        }
        for (int64_t i = 0; i < hd; i++)
            acc[i] = kw__fp32_to_fp16(fmaf(kw__fp16_to_fp32(vj[i]), vs,
                                           kw__fp16_to_fp32(acc[i])));
        sum = sum * ms + vs;
    }
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int64_t i = 0; i < hd; i++) out[i] = kw__fp16_to_fp32(acc[i]) * inv;
}

void kw__fill_attn_ref(struct kw__isa_table *t) { t->attn = attn_ref; }
