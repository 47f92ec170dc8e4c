/*
 * attn_avx512.c — AVX-512 single-head attention over the fp16 KV cache;
 * same numerics as attn_ref.c except the q.k dot, which takes the AVX-512
 * ops' dot_f16 (ggml's lane order) instead of a serial sum.
 */
#include <immintrin.h>
#include <math.h>

#include "cpu/isa_table.h"

static void attn_avx512(float *out, const float *q, const uint16_t *k,
                        const uint16_t *v, size_t kv_stride, int64_t n_kv,
                        int64_t hd, float scale, uint16_t *scratch) {
    /* the scores use the ops' dot_f16, bit-identical to ggml_vec_dot_f16 */
    float (*dot_f16)(const uint16_t *, const uint16_t *, int64_t) =
        kw__ops_variant(KW__ISA_AVX512)->dot_f16;
    uint16_t *q16 = scratch;
    uint16_t *acc = scratch + hd;
    int64_t i = 0;
    for (; i + 16 <= hd; i += 16) {
        _mm256_storeu_si256((__m256i *)(q16 + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(q + i),
                                            _MM_FROUND_TO_NEAREST_INT));
        _mm256_storeu_si256((__m256i *)(acc + i), _mm256_setzero_si256());
    }
    for (; i < hd; i++) {
        q16[i] = kw__fp32_to_fp16(q[i]);
        acc[i] = 0;
    }
    float m = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < n_kv; j++) {
        const uint16_t *kj = k + (size_t)j * kv_stride;
        const uint16_t *vj = v + (size_t)j * kv_stride;
        float s = dot_f16(kj, q16, hd) * scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > m) {
            ms = expf(m - s);
            m = s;
        } else {
            vs = expf(s - m);
        }
        const __m512 vms = _mm512_set1_ps(ms), vvs = _mm512_set1_ps(vs);
        int64_t d = 0;
        for (; d + 16 <= hd; d += 16) {
            __m512 a = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(acc + d)));
            if (ms != 1.0f)
                a = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_mul_ps(a, vms),
                                                    _MM_FROUND_TO_NEAREST_INT));
            __m512 x = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vj + d)));
            a = _mm512_fmadd_ps(x, vvs, a);
            _mm256_storeu_si256((__m256i *)(acc + d),
                                _mm512_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT));
        }
        for (; d < hd; d++) {
            float a = kw__fp16_to_fp32(acc[d]);
            if (ms != 1.0f) a = kw__fp16_to_fp32(kw__fp32_to_fp16(a * ms));
            acc[d] = kw__fp32_to_fp16(fmaf(kw__fp16_to_fp32(vj[d]), vs, a));
        }
        sum = fmaf(sum, ms, vs); /* llama.cpp's build fuses this */
    }
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (i = 0; i < hd; i++) out[i] = kw__fp16_to_fp32(acc[i]) * inv;
}

void kw__fill_attn_avx512(struct kw__isa_table *t) { t->attn = attn_avx512; }
