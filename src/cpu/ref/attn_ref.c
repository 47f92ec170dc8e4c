/*
 * attn_ref.c — reference single-head attention over the fp16 KV cache with
 * llama.cpp's CPU flash-attention numerics (see kw__attn_fn): the q.k dot is
 * the reference ops' dot_f16 (ggml's AVX-512 lane order), the online
 * softmax uses libm expf, and fmaf makes every fp16 accumulator update and
 * the running sum round once, as the peer's compiled code does.
 */
#include <math.h>

#include "cpu/isa_table.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static void attn_ref(float *out, const float *q, const uint16_t *k,
                     const uint16_t *v, size_t kv_stride, int64_t n_kv,
                     int64_t hd, float scale, uint16_t *scratch) {
    float (*dot_f16)(const uint16_t *, const uint16_t *, int64_t) =
        kw__ops_variant(KW__ISA_REF)->dot_f16;
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
        const float s = dot_f16(kj, q16, hd) * scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > m) { /* new maximum: rescale what was accumulated */
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
        /* the peer's S = S*ms + vs compiles to one FMA */
        sum = fmaf(sum, ms, vs);
    }
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int64_t i = 0; i < hd; i++) out[i] = kw__fp16_to_fp32(acc[i]) * inv;
}

void kw__fill_attn_ref(struct kw__isa_table *t) { t->attn = attn_ref; }
