/*
 * ops_avx512.c — AVX-512 float ops of the LLM forward pass. Each one
 * reproduces the rounding of ggml's AVX-512 build of the same op (the one
 * the peer runs on this kind of machine): 16-lane blocks, its accumulator
 * order and exp polynomial, scalar libm tails where ggml has them. Results
 * are bit-identical to ops_ref.c, the specification.
 * Entry point: kw__fill_ops_avx512 (compiled with -mavx512f/bw/vl/dq).
 */
#include <immintrin.h>
#include <math.h>

#include "cpu/isa_table.h"

/* Fusing is chosen op by op below; the compiler must not add its own. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static inline __mmask16 tail_mask(int64_t left) {
    return (__mmask16)((1u << left) - 1u);
}

/* The lane order of gcc's _mm512_reduce_add_ps, which ggml's reductions use
 * (spelled out so clang builds round the same): halves, quarters, then
 * ([0]+[2]) + ([1]+[3]). */
static inline float hsum16(__m512 v) {
    const __m256 h = _mm256_add_ps(
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)),
        _mm512_castps512_ps256(v));
    __m128 q = _mm_add_ps(_mm256_extractf128_ps(h, 1), _mm256_castps256_ps128(h));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

#include "cpu/x86/exp_avx512.h"

/* silu(x) = x / (1 + exp(0 - x)), as ggml_v_silu. */
static inline __m512 silu16(__m512 x) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/* y, x, w: (n). The squares are summed in double one after another, as
 * ggml does (see rmsnorm_ref: any other order can move the mean by an ulp);
 * then elementwise (x * scale) * w. */
static void rmsnorm_avx512(float *y, const float *x, const float *w,
                           int64_t n, float eps) {
    if (n <= 0) return;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float sq = x[i] * x[i];
        sum += (double)sq;
    }
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    const __m512 vs = _mm512_set1_ps(scale);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs);
        if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

#include "cpu/x86/rope_x86.h"

/* x: (n_heads, head_dim) in place; cs: (n_rot/2, 2). Rounding identical to
 * rope_ref (documented there). */
static void rope_avx512(float *x, int64_t n_heads, int64_t head_dim,
                        int64_t n_rot, const float *cs, int neox) {
    const int64_t half = n_rot / 2;
    /* even / odd float indices of two concatenated vectors (c / s of 16
     * interleaved pairs) */
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                           20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        if (!neox) {
            /* x0 and x1 duplicated over their pair: fmaddsub(x0, (c, s),
             * x1 * (s, c)) = x0*c - x1*s | x0*s + x1*c. 8 pairs per vector,
             * then a 4-pair step for the rest of the fused range. */
            const int64_t n_fused = half & ~(int64_t)3;
            int64_t i = 0;
            for (; i + 8 <= n_fused; i += 8) {
                const __m512 t = _mm512_loadu_ps(cs + 2 * i);
                const __m512 xv = _mm512_loadu_ps(v + 2 * i);
                _mm512_storeu_ps(v + 2 * i, _mm512_fmaddsub_ps(
                                                _mm512_moveldup_ps(xv), t,
                                                _mm512_mul_ps(_mm512_movehdup_ps(xv),
                                                              _mm512_permute_ps(t, 0xB1))));
            }
            if (i < n_fused) {
                const __m256 t = _mm256_loadu_ps(cs + 2 * i);
                const __m256 xv = _mm256_loadu_ps(v + 2 * i);
                _mm256_storeu_ps(v + 2 * i, _mm256_fmaddsub_ps(
                                                _mm256_moveldup_ps(xv), t,
                                                _mm256_mul_ps(_mm256_movehdup_ps(xv),
                                                              _mm256_permute_ps(t, 0xB1))));
                i += 4;
            }
            for (; i < half; i++) rope_pair_unfused(v + 2 * i, cs + 2 * i);
        } else {
            for (int64_t i = 0; i < half; i += 16) {
                const int64_t left = half - i;
                const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : tail_mask(left);
                const __mmask16 ma = left >= 8 ? (__mmask16)0xFFFF : tail_mask(2 * left);
                const __mmask16 mb = left >= 16 ? (__mmask16)0xFFFF
                                     : left > 8 ? tail_mask(2 * (left - 8)) : 0;
                const __m512 a = _mm512_maskz_loadu_ps(ma, cs + 2 * i);
                const __m512 b = _mm512_maskz_loadu_ps(mb, cs + 2 * i + 16);
                const __m512 c = _mm512_permutex2var_ps(a, even, b);
                const __m512 s = _mm512_permutex2var_ps(a, odd, b);
                const __m512 x0 = _mm512_maskz_loadu_ps(m, v + i);
                const __m512 x1 = _mm512_maskz_loadu_ps(m, v + i + half);
                _mm512_mask_storeu_ps(v + i, m,
                                      _mm512_fmsub_ps(c, x0, _mm512_mul_ps(s, x1)));
                _mm512_mask_storeu_ps(v + i + half, m,
                                      _mm512_fmadd_ps(s, x0, _mm512_mul_ps(c, x1)));
            }
        }
    }
}

/* ggml's AVX-512 f16 dot: blocks of 64 into 4 accumulators of 16 lanes,
 * folded 0+2, 1+3, then together, lanes summed in reduce_add order, and the
 * n % 64 rest added in double. */
static float dot_f16_avx512(const uint16_t *x, const uint16_t *y, int64_t n) {
    const int64_t np = n & ~(int64_t)63;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
#define KW_LD(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
    for (int64_t i = 0; i < np; i += 64) {
        a0 = _mm512_fmadd_ps(KW_LD(x + i), KW_LD(y + i), a0);
        a1 = _mm512_fmadd_ps(KW_LD(x + i + 16), KW_LD(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(KW_LD(x + i + 32), KW_LD(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(KW_LD(x + i + 48), KW_LD(y + i + 48), a3);
    }
#undef KW_LD
    a0 = _mm512_add_ps(a0, a2);
    a1 = _mm512_add_ps(a1, a3);
    double sum = (double)hsum16(_mm512_add_ps(a0, a1));
    for (int64_t i = np; i < n; i++) {
        const float p = kw__fp16_to_fp32(x[i]) * kw__fp16_to_fp32(y[i]);
        sum += (double)p;
    }
    return (float)sum;
}

static void axpy_f16_avx512(float *y, const uint16_t *x, float a, int64_t n) {
    const __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        const __m512 xv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i));
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_fmadd_ps(xv, va, _mm512_maskz_loadu_ps(m, y + i)));
    }
}

static void to_f16_avx512(uint16_t *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
                                          _MM_FROUND_TO_NEAREST_INT);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}

/* 16 lanes with exp16, the n % 16 rest with libm expf, as ggml. */
static void swiglu_avx512(float *y, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(silu16(_mm512_loadu_ps(g + i)),
                                              _mm512_loadu_ps(u + i)));
    for (; i < n; i++) {
        const float silu = g[i] / (1.0f + expf(-g[i]));
        y[i] = silu * u[i];
    }
}

static void scale_avx512(float *x, int64_t n, float s) {
    const __m512 vs = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
    }
}

/* ggml's soft_max with its AVX-512 vec_soft_max: each group of 16 exps is
 * summed in float (hsum16) and added to a double total; the n % 16 rest
 * uses libm expf. */
static void softmax_avx512(float *x, int64_t n, float scale) {
    if (n <= 0) return;
    scale_avx512(x, n, scale);
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, x + i));
    }
    const float max = _mm512_reduce_max_ps(vmax);
    const __m512 vm = _mm512_set1_ps(max);
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
        _mm512_storeu_ps(x + i, e);
        sum += (double)hsum16(e);
    }
    for (; i < n; i++) {
        const float e = expf(x[i] - max);
        sum += (double)e;
        x[i] = e;
    }
    scale_avx512(x, n, (float)(1.0 / sum));
}

static void add_avx512(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i),
                                                      _mm512_maskz_loadu_ps(m, x + i)));
    }
}

void kw__fill_ops_avx512(struct kw__isa_table *t) {
    t->ops.rmsnorm = rmsnorm_avx512;
    t->ops.rope = rope_avx512;
    t->ops.dot_f16 = dot_f16_avx512;
    t->ops.axpy_f16 = axpy_f16_avx512;
    t->ops.to_f16 = to_f16_avx512;
    t->ops.swiglu = swiglu_avx512;
    t->ops.softmax = softmax_avx512;
    t->ops.add = add_avx512;
}
