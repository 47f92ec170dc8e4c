/*
 * ops_avx2.c — AVX2+FMA+F16C float ops of the LLM forward pass, bit-identical
 * to ops_ref.c (which follows ggml's AVX-512 build): where ggml keeps 16-lane
 * registers, two 8-lane halves stand in for each, combined in the same order,
 * and AVX-512's exp (scalef included) is emulated.
 * Entry point: kw__fill_ops_avx2 (compiled with -mavx2 -mfma -mf16c).
 */
#include <immintrin.h>
#include <math.h>

#include "cpu/isa_table.h"

/* Fusing is chosen op by op below; the compiler must not add its own. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* The 16 lanes lo | hi summed in the order of gcc's _mm512_reduce_add_ps
 * (see sum16 in ops_ref.c): halves, quarters, ([0]+[2]) + ([1]+[3]). */
static inline float hsum16(__m256 lo, __m256 hi) {
    const __m256 h = _mm256_add_ps(hi, lo);
    __m128 q = _mm_add_ps(_mm256_extractf128_ps(h, 1), _mm256_castps256_ps128(h));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

#include "cpu/x86/exp_avx2.h"

/* silu(x) = x / (1 + exp(0 - x)), as ggml_v_silu. */
static inline __m256 silu8(__m256 x) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/* y, x, w: (n). The squares are summed in double one after another, as
 * ggml does (see rmsnorm_ref: any other order can move the mean by an ulp);
 * then elementwise (x * scale) * w. */
static void rmsnorm_avx2(float *y, const float *x, const float *w, int64_t n,
                         float eps) {
    if (n <= 0) return;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float sq = x[i] * x[i];
        sum += (double)sq;
    }
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    const __m256 vs = _mm256_set1_ps(scale);
    int64_t i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(
                                        _mm256_loadu_ps(x + i), vs),
                                        _mm256_loadu_ps(w + i)));
        for (; i < n; i++) {
            const float v = x[i] * scale;
            y[i] = v * w[i];
        }
    } else {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
        for (; i < n; i++) y[i] = x[i] * scale;
    }
}

#include "cpu/x86/rope_x86.h"

/* x: (n_heads, head_dim) in place; cs: (n_rot/2, 2). Rounding identical to
 * rope_ref (documented there). */
static void rope_avx2(float *x, int64_t n_heads, int64_t head_dim,
                      int64_t n_rot, const float *cs, int neox) {
    const int64_t half = n_rot / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        if (!neox) {
            /* 4 pairs per vector: x0 and x1 duplicated over their pair,
             * fmaddsub(x0, (c, s), x1 * (s, c)) = x0*c - x1*s | x0*s + x1*c */
            const int64_t n_fused = half & ~(int64_t)3;
            int64_t i = 0;
            for (; i < n_fused; i += 4) {
                const __m256 t = _mm256_loadu_ps(cs + 2 * i);
                const __m256 xv = _mm256_loadu_ps(v + 2 * i);
                const __m256 r = _mm256_fmaddsub_ps(
                    _mm256_moveldup_ps(xv), t,
                    _mm256_mul_ps(_mm256_movehdup_ps(xv), _mm256_permute_ps(t, 0xB1)));
                _mm256_storeu_ps(v + 2 * i, r);
            }
            for (; i < half; i++) rope_pair_unfused(v + 2 * i, cs + 2 * i);
        } else {
            int64_t i = 0;
            for (; i + 8 <= half; i += 8) {
                /* de-interleave 8 (c, s) pairs: shuffle picks within 128-bit
                 * lanes, permute4x64 restores the order across them */
                const __m256 a = _mm256_loadu_ps(cs + 2 * i);
                const __m256 b = _mm256_loadu_ps(cs + 2 * i + 8);
                const __m256 c = _mm256_castpd_ps(_mm256_permute4x64_pd(
                    _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
                const __m256 s = _mm256_castpd_ps(_mm256_permute4x64_pd(
                    _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
                const __m256 x0 = _mm256_loadu_ps(v + i);
                const __m256 x1 = _mm256_loadu_ps(v + i + half);
                _mm256_storeu_ps(v + i, _mm256_fmsub_ps(c, x0, _mm256_mul_ps(s, x1)));
                _mm256_storeu_ps(v + i + half,
                                 _mm256_fmadd_ps(s, x0, _mm256_mul_ps(c, x1)));
            }
            for (; i < half; i++) {
                const float c = cs[2 * i], s = cs[2 * i + 1];
                const float x0 = v[i], x1 = v[i + half];
                v[i] = fmaf(x0, c, -(x1 * s));
                v[i + half] = fmaf(x0, s, x1 * c);
            }
        }
    }
}

/* ggml's AVX-512 f16 dot (see dot_f16_ref): blocks of 64 into 4 registers
 * of 16 lanes, register j here the halves a(2j) | a(2j+1); registers folded
 * 0+2, 1+3, then together, lanes summed by hsum16, the n % 64 rest added in
 * double. */
static float dot_f16_avx2(const uint16_t *x, const uint16_t *y, int64_t n) {
    const int64_t np = n & ~(int64_t)63;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 a4 = a0, a5 = a0, a6 = a0, a7 = a0;
#define KW_LD(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define KW_STEP(a, k) a = _mm256_fmadd_ps(KW_LD(x + i + 8 * k), KW_LD(y + i + 8 * k), a)
    for (int64_t i = 0; i < np; i += 64) {
        KW_STEP(a0, 0), KW_STEP(a1, 1), KW_STEP(a2, 2), KW_STEP(a3, 3);
        KW_STEP(a4, 4), KW_STEP(a5, 5), KW_STEP(a6, 6), KW_STEP(a7, 7);
    }
#undef KW_STEP
#undef KW_LD
    /* registers 0+2 and 1+3 (halves a0|a1 + a4|a5, a2|a3 + a6|a7), then 0+1 */
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(a0, a4), _mm256_add_ps(a2, a6));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(a1, a5), _mm256_add_ps(a3, a7));
    double sum = (double)hsum16(lo, hi);
    for (int64_t i = np; i < n; i++) {
        const float p = kw__fp16_to_fp32(x[i]) * kw__fp16_to_fp32(y[i]);
        sum += (double)p;
    }
    return (float)sum;
}

static void axpy_f16_avx2(float *y, const uint16_t *x, float a, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 xv =
            _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(xv, va, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) y[i] = fmaf(kw__fp16_to_fp32(x[i]), a, y[i]);
}

/* F16C rounds to nearest even like kw__fp32_to_fp16; the tail goes through
 * the same instruction so NaN payloads are treated alike in every lane. */
static void to_f16_avx2(uint16_t *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i),
                                         _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = (uint16_t)_mm_extract_epi16(
            _mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT), 0);
}

/* Whole groups of 16 with the polynomial exp (lanes are independent, so 8
 * at a time), the n % 16 rest with libm expf, as ggml's AVX-512 build. */
static void swiglu_avx2(float *y, const float *g, const float *u, int64_t n) {
    const int64_t nv = n & ~(int64_t)15;
    int64_t i = 0;
    for (; i < nv; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(silu8(_mm256_loadu_ps(g + i)),
                                              _mm256_loadu_ps(u + i)));
    for (; i < n; i++) {
        const float silu = g[i] / (1.0f + expf(-g[i]));
        y[i] = silu * u[i];
    }
}

static void scale_avx2(float *x, int64_t n, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; i++) x[i] *= s;
}

/* ggml's soft_max as its AVX-512 build does it (see softmax_ref): each
 * group of 16 exps is summed in float (hsum16) and added to a double total;
 * the n % 16 rest uses libm expf. */
static void softmax_avx2(float *x, int64_t n, float scale) {
    if (n <= 0) return;
    scale_avx2(x, n, scale);
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax),
                           _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float max = _mm_cvtss_f32(m4);
    for (; i < n; i++) max = max > x[i] ? max : x[i];
    const __m256 vm = _mm256_set1_ps(max);
    double sum = 0.0;
    for (i = 0; i + 16 <= n; i += 16) {
        const __m256 lo = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        const __m256 hi = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm));
        _mm256_storeu_ps(x + i, lo);
        _mm256_storeu_ps(x + i + 8, hi);
        sum += (double)hsum16(lo, hi);
    }
    for (; i < n; i++) {
        const float e = expf(x[i] - max);
        sum += (double)e;
        x[i] = e;
    }
    scale_avx2(x, n, (float)(1.0 / sum));
}

static void add_avx2(float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i),
                                              _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

void kw__fill_ops_avx2(struct kw__isa_table *t) {
    t->ops.rmsnorm = rmsnorm_avx2;
    t->ops.rope = rope_avx2;
    t->ops.dot_f16 = dot_f16_avx2;
    t->ops.axpy_f16 = axpy_f16_avx2;
    t->ops.to_f16 = to_f16_avx2;
    t->ops.swiglu = swiglu_avx2;
    t->ops.softmax = softmax_avx2;
    t->ops.add = add_avx2;
}
