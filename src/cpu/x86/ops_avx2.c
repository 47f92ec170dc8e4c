/*
 * ops_avx2.c — AVX2+FMA+F16C float ops of the LLM forward pass. Each one
 * reproduces the rounding of ggml's AVX2 build of the same op (lane counts,
 * accumulator order, its exp polynomial), except rope and axpy, which
 * reproduce the peer build exactly like ops_ref.c does.
 * Entry point: kw__fill_ops_avx2 (compiled with -mavx2 -mfma -mf16c).
 */
#include <immintrin.h>
#include <math.h>

#include "cpu/isa_table.h"

/* Fusing is chosen op by op below; the compiler must not add its own. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ([0]+[2]) + ([1]+[3]): ggml's final 4-lane step in its AVX reductions. */
static inline float hsum4(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}

static inline float hsum8(__m256 v) {
    return hsum4(_mm_add_ps(_mm256_castps256_ps128(v),
                            _mm256_extractf128_ps(v, 1)));
}

/* exp(x) in 8 lanes, the same algorithm and constants as ggml's AVX2
 * ggml_v_expf (Arm optimized-routines' expf: x = n*ln2 + b with a two-part
 * ln2, exp(b)-1 by a degree-5 minimax polynomial, 2^n by exponent bits;
 * max error about 1.5 ulp). Results must be bit-identical to it, which is
 * why the constants and the overflow/underflow split are kept as they are:
 * |n| > 126 scales in two steps, |n| > 192 saturates to 0 or inf. */
static inline __m256 exp8(__m256 x) {
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b = _mm256_fnmadd_ps(
        n, _mm256_set1_ps(0x1.7f7d1cp-20f),
        _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(
        _mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 big = _mm256_cmp_ps(abs_n, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 hi = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b,
                                      _mm256_set1_ps(0x1.573e2ep-5f));
    const __m256 mid = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b,
                                       _mm256_set1_ps(0x1.fffdb6p-2f));
    const __m256 lo = _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b);
    const __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(hi, u, mid), u, lo);
    const __m256 normal = _mm256_fmadd_ps(k, p, k);
    if (!_mm256_movemask_ps(big)) return normal;
    /* 2^n split as s1 * s2 so neither factor overflows or goes subnormal
     * early; s1 = 2^127 (n > 0) or 2^-125 (n <= 0). */
    const __m256i g = _mm256_and_si256(
        _mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
        _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(
        _mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 huge =
        _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 scaled = _mm256_mul_ps(_mm256_fmadd_ps(s2, p, s2), s1);
    __m256 r = _mm256_blendv_ps(normal, scaled, big);
    return _mm256_blendv_ps(r, _mm256_mul_ps(s1, s1), huge);
}

/* silu(x) = x / (1 + exp(-x)), negation written as 0 - x like ggml. */
static inline __m256 silu8(__m256 x) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/* y, x, w: (n). Squares in float, summed in double lanes (4 accumulators
 * of 4): the double sum differs from the reference's sequential one only
 * in its last bits, which the cast of the mean to float almost always
 * erases (then y is bit-identical; else within 1 ulp of the scale). */
static void rmsnorm_avx2(float *y, const float *x, const float *w, int64_t n,
                         float eps) {
    if (n <= 0) return;
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    __m256d acc2 = _mm256_setzero_pd(), acc3 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 a = _mm256_loadu_ps(x + i);
        const __m256 b = _mm256_loadu_ps(x + i + 8);
        const __m256 qa = _mm256_mul_ps(a, a), qb = _mm256_mul_ps(b, b);
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(qa)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(qa, 1)));
        acc2 = _mm256_add_pd(acc2, _mm256_cvtps_pd(_mm256_castps256_ps128(qb)));
        acc3 = _mm256_add_pd(acc3, _mm256_cvtps_pd(_mm256_extractf128_ps(qb, 1)));
    }
    acc0 = _mm256_add_pd(_mm256_add_pd(acc0, acc1), _mm256_add_pd(acc2, acc3));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(acc0),
                                  _mm256_extractf128_pd(acc0, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    for (; i < n; i++) {
        const float sq = x[i] * x[i];
        sum += (double)sq;
    }
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    const __m256 vs = _mm256_set1_ps(scale);
    i = 0;
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

/* Pairs (2i, 2i+1) at p with their (c, s) at cs, unfused: the peer's
 * remainder loop (see ops_ref.c). One pair per call, via 64-bit moves. */
static inline void rope_pair_unfused(float *p, const float *cs) {
    const __m128 v = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p));
    const __m128 t = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)cs));
    const __m128 sw = _mm_shuffle_ps(t, t, _MM_SHUFFLE(2, 3, 0, 1));
    const __m128 r = _mm_addsub_ps(_mm_mul_ps(_mm_moveldup_ps(v), t),
                                   _mm_mul_ps(_mm_movehdup_ps(v), sw));
    _mm_storel_epi64((__m128i *)p, _mm_castps_si128(r));
}

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

/* ggml's AVX2 f16 dot: blocks of 32 into 4 accumulators of 8 lanes, the
 * accumulators folded (0+2, 1+3, then together), lanes summed by hadds,
 * and the n % 32 rest added in double. */
static float dot_f16_avx2(const uint16_t *x, const uint16_t *y, int64_t n) {
    const int64_t np = n & ~(int64_t)31;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < np; i += 32) {
        for (int j = 0; j < 4; j++) {
            const __m256 ax = _mm256_cvtph_ps(
                _mm_loadu_si128((const __m128i *)(x + i + 8 * j)));
            const __m256 ay = _mm256_cvtph_ps(
                _mm_loadu_si128((const __m128i *)(y + i + 8 * j)));
            acc[j] = _mm256_fmadd_ps(ax, ay, acc[j]);
        }
    }
    acc[0] = _mm256_add_ps(acc[0], acc[2]);
    acc[1] = _mm256_add_ps(acc[1], acc[3]);
    acc[0] = _mm256_add_ps(acc[0], acc[1]);
    const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(acc[0]),
                                 _mm256_extractf128_ps(acc[0], 1));
    const __m128 t1 = _mm_hadd_ps(t0, t0);
    double sum = (double)_mm_cvtss_f32(_mm_hadd_ps(t1, t1));
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

/* 8 lanes with exp8, the n % 8 rest with libm expf, as ggml. */
static void swiglu_avx2(float *y, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
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

/* ggml's soft_max with its AVX2 vec_soft_max: each group of 8 exps is summed
 * in float (hsum8) and then added to a double total. */
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
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        sum += (double)hsum8(e);
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
