/*
 * ew_simd_avx512.c — float32 elementwise kernels in 16 lanes (AVX-512F):
 * Add/Sub/Mul/Div with either side broadcast along the row, and Relu,
 * Sigmoid, Tanh, Exp. Tails use masked loads and stores with the same
 * lane math.
 */
#include "onnx/ops/ew.h"

#include "cpu/x86/exp_avx512.h"

static inline __mmask16 tail_mask(int64_t r) {
    return r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1);
}

static inline __m512 ld(const float *p, int64_t s, int64_t i, __mmask16 m) {
    if (!s) return _mm512_set1_ps(*p);
    return _mm512_maskz_loadu_ps(m, p + i);
}

static inline __m512 bin16(int op, __m512 a, __m512 b) {
    switch (op) {
    case KW__EW_ADD: return _mm512_add_ps(a, b);
    case KW__EW_SUB: return _mm512_sub_ps(a, b);
    case KW__EW_MUL: return _mm512_mul_ps(a, b);
    default: return _mm512_div_ps(a, b);
    }
}

#define BIN_LOOP(OP)                                                          \
    for (int64_t i = 0; i < n; i += 16) {                                     \
        __mmask16 m = tail_mask(n - i);                                       \
        _mm512_mask_storeu_ps(y + i, m,                                       \
                              bin16(OP, ld(a, sa, i, m), ld(b, sb, i, m)));   \
    }

void kw__ew_bin_f32_avx512(int op, float *y, const float *a, int64_t sa,
                           const float *b, int64_t sb, int64_t n) {
    if ((!sa && !sb) || op < 0 || op >= KW__EW_NBIN_F32) {
        kw__ew_bin_f32_ref(op, y, a, sa, b, sb, n);
        return;
    }
    switch (op) {
    case KW__EW_ADD: BIN_LOOP(KW__EW_ADD) break;
    case KW__EW_SUB: BIN_LOOP(KW__EW_SUB) break;
    case KW__EW_MUL: BIN_LOOP(KW__EW_MUL) break;
    default: BIN_LOOP(KW__EW_DIV) break;
    }
}

/* tanh by its odd series near 0 (where 1 - e^-2x cancels) and by
 * (1 - e) / (1 + e), e = exp(-2|x|), elsewhere */
static inline __m512 tanh16(__m512 x) {
    __m512 ax = _mm512_abs_ps(x);
    __m512 e = exp16(_mm512_mul_ps(ax, _mm512_set1_ps(-2.0f)));
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 big = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));
    __m512 x2 = _mm512_mul_ps(ax, ax);
    __m512 poly = _mm512_fmadd_ps(x2, _mm512_set1_ps(2.0f / 15.0f),
                                  _mm512_set1_ps(-1.0f / 3.0f));
    poly = _mm512_fmadd_ps(_mm512_mul_ps(poly, x2), ax, ax);
    __mmask16 small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.0625f),
                                         _CMP_LT_OQ);
    __m512 r = _mm512_mask_blend_ps(small, big, poly);
    __mmask16 nan = _mm512_cmp_ps_mask(ax, ax, _CMP_UNORD_Q);
    r = _mm512_mask_blend_ps(nan, r, ax);
    /* copy x's sign onto r */
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(r),
        _mm512_and_si512(_mm512_castps_si512(x),
                         _mm512_set1_epi32((int)0x80000000u))));
}

static inline __m512 un16(int op, __m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    switch (op) {
    case KW__EW_RELU: return _mm512_max_ps(_mm512_setzero_ps(), x);
    case KW__EW_SIGMOID:
        return _mm512_div_ps(
            one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(),
                                                        x))));
    case KW__EW_TANH: return tanh16(x);
    default: return exp16(x);
    }
}

#define UN_LOOP(OP)                                                           \
    for (int64_t i = 0; i < n; i += 16) {                                     \
        __mmask16 m = tail_mask(n - i);                                       \
        _mm512_mask_storeu_ps(y + i, m,                                       \
                              un16(OP, _mm512_maskz_loadu_ps(m, x + i)));     \
    }

void kw__ew_un_f32_avx512(int op, float *y, const float *x, int64_t n) {
    switch (op) {
    case KW__EW_RELU: UN_LOOP(KW__EW_RELU) break;
    case KW__EW_SIGMOID: UN_LOOP(KW__EW_SIGMOID) break;
    case KW__EW_TANH: UN_LOOP(KW__EW_TANH) break;
    case KW__EW_EXP: UN_LOOP(KW__EW_EXP) break;
    default: kw__ew_un_f32_ref(op, y, x, n); break;
    }
}
