/*
 * attn_x86.h — single-head attention over the fp16 KV cache for the x86
 * variants, included by attn_avx2.c and attn_avx512.c (each compiled with
 * its own -m flags). Same arithmetic as attn_ref.c: the q.k score comes
 * from the ISA's dot_f16 (ggml's AVX-512 lane order on every ISA), then an
 * online softmax with an fp16 V accumulator updated elementwise, so the
 * vector width does not change any result.
 * Define KW_ATTN_ISA (enum kw__isa) before including.
 */
#include <immintrin.h>
#include <math.h>

#include "cpu/isa_table.h"

static void kw_attn_x86(float *out, const float *q, const uint16_t *k,
                        const uint16_t *v, size_t kv_stride, int64_t n_kv,
                        int64_t hd, float scale, uint16_t *scratch) {
    float (*dot_f16)(const uint16_t *, const uint16_t *, int64_t) =
        kw__ops_variant(KW_ATTN_ISA)->dot_f16;
    uint16_t *q16 = scratch;      /* (hd) */
    uint16_t *acc = scratch + hd; /* (hd) fp16 V accumulator */
    int64_t i = 0;
    for (; i + 8 <= hd; i += 8) {
        _mm_storeu_si128((__m128i *)(q16 + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(q + i),
                                         _MM_FROUND_TO_NEAREST_INT));
        _mm_storeu_si128((__m128i *)(acc + i), _mm_setzero_si128());
    }
    for (; i < hd; i++) {
        q16[i] = kw__fp32_to_fp16(q[i]);
        acc[i] = 0;
    }
    float m = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < n_kv; j++) {
        const uint16_t *kj = k + (size_t)j * kv_stride;
        const uint16_t *vj = v + (size_t)j * kv_stride;
        const float s = dot_f16(kj, q16, hd) * scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > m) {
            ms = expf(m - s);
            m = s;
        } else {
            vs = expf(s - m);
        }
        const __m256 vms = _mm256_set1_ps(ms), vvs = _mm256_set1_ps(vs);
        int64_t d = 0;
        for (; d + 8 <= hd; d += 8) {
            __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(acc + d)));
            if (ms != 1.0f)
                a = _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_mul_ps(a, vms),
                                                    _MM_FROUND_TO_NEAREST_INT));
            const __m256 x =
                _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vj + d)));
            a = _mm256_fmadd_ps(x, vvs, a);
            _mm_storeu_si128((__m128i *)(acc + d),
                             _mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT));
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
