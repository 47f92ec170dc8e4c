/*
 * attn_tiled_ref.c — reference batched attention (kw__attn_tiled_fn): the
 * specification of llama.cpp's tiled CPU flash attention, written one query
 * row at a time. Rows are independent in the peer's tiled gemms (each score
 * and each output element is its own serial FMA chain), so a row's result
 * does not depend on how queries are grouped into tiles or threads; only
 * the 64-key tiles, aligned to cache position 0, shape the online softmax.
 * Entry point: kw__fill_attn_tiled_ref.
 */
#include <math.h>

#include "cpu/isa_table.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define TILE KW__ATTN_TILE

#include "cpu/ref/exp_ref.h"

/* 16 lanes summed in the order of gcc's _mm512_reduce_add_ps */
static float sum16(const float v[16]) {
    float h[8], q[4];
    for (int l = 0; l < 8; l++) h[l] = v[l + 8] + v[l];
    for (int l = 0; l < 4; l++) q[l] = h[l + 4] + h[l];
    return (q[0] + q[2]) + (q[1] + q[3]);
}

/* One query row at position p: out[hd]. acc: hd floats of scratch. */
static void row(float *out, const float *q, const uint16_t *k,
                const uint16_t *v, size_t kv_stride, int64_t p, int64_t hd,
                float scale, float *acc) {
    float e[TILE];
    float m = -INFINITY, s = 0.0f;
    for (int64_t d = 0; d < hd; d++) acc[d] = 0.0f;
    for (int64_t ic = 0; ic <= p; ic += TILE) {
        /* scores: q.k as one FMA chain from 0, times scale, plus the
         * mask (+0 where visible, -inf past p and in the tile padding) */
        float mx = -INFINITY;
        for (int j = 0; j < TILE; j++) {
            if (ic + j > p) {
                e[j] = -INFINITY;
                continue;
            }
            const uint16_t *kj = k + (size_t)(ic + j) * kv_stride;
            float dot = 0.0f;
            for (int64_t d = 0; d < hd; d++)
                dot = fmaf(q[d], kw__fp16_to_fp32(kj[d]), dot);
            e[j] = dot * scale + 0.0f;
            mx = mx > e[j] ? mx : e[j];
        }
        /* online softmax: rescale when the maximum grows (libm expf) */
        const float mnew = fmaxf(m, mx);
        if (mnew > m) {
            const float ms = expf(m - mnew);
            for (int64_t d = 0; d < hd; d++) acc[d] *= ms;
            s *= ms;
        }
        m = mnew;
        /* ggml_vec_soft_max_f32: 16-lane exps, each group summed in float
         * and added to a double total, which joins S in double */
        double sum = 0.0;
        for (int j = 0; j < TILE; j++) e[j] = exp_lane(e[j] - m);
        for (int g = 0; g < TILE; g += 16) sum += (double)sum16(e + g);
        s = (float)((double)s + sum);
        /* V: each output element is a serial FMA chain over the tile's
         * keys; masked keys weigh exactly 0 and are left out */
        for (int j = 0; j < TILE && ic + j <= p; j++) {
            const uint16_t *vj = v + (size_t)(ic + j) * kv_stride;
            for (int64_t d = 0; d < hd; d++)
                acc[d] = fmaf(kw__fp16_to_fp32(vj[d]), e[j], acc[d]);
        }
    }
    const float inv = s == 0.0f ? 0.0f : 1.0f / s;
    for (int64_t d = 0; d < hd; d++) out[d] = acc[d] * inv;
}

static void attn_tiled_ref(float *out, size_t out_stride, const float *q,
                           size_t q_stride, int64_t nq, const uint16_t *k,
                           const uint16_t *v, size_t kv_stride, int64_t pos0,
                           int64_t hd, float scale, float *scratch) {
    for (int64_t i = 0; i < nq; i++)
        row(out + (size_t)i * out_stride, q + (size_t)i * q_stride, k, v,
            kv_stride, pos0 + i, hd, scale, scratch);
}

void kw__fill_attn_tiled_ref(struct kw__isa_table *t) {
    t->attn_tiled = attn_tiled_ref;
}
