/*
 * ew_simd_avx2.c — float32 elementwise kernels in 8 lanes (AVX2 + FMA):
 * Add/Sub/Mul/Div with either side broadcast along the row, and Relu,
 * Sigmoid, Tanh, Exp. Tails run the same lane math under a mask load so
 * results do not depend on where a row starts.
 */
#include "onnx/ops/ew.h"

#include "cpu/x86/exp_avx2.h"
#include "onnx/ops/vec_avx2.h"

static inline __m256 ld(const float *p, int64_t s, int64_t i, int64_t r,
                        __m256i m) {
    if (!s) return _mm256_broadcast_ss(p);
    return r >= 8 ? _mm256_loadu_ps(p + i) : _mm256_maskload_ps(p + i, m);
}

static inline __m256 bin8(int op, __m256 a, __m256 b) {
    switch (op) {
    case KW__EW_ADD: return _mm256_add_ps(a, b);
    case KW__EW_SUB: return _mm256_sub_ps(a, b);
    case KW__EW_MUL: return _mm256_mul_ps(a, b);
    default: return _mm256_div_ps(a, b);
    }
}

#define BIN_LOOP(OP)                                                          \
    for (int64_t i = 0; i < n; i += 8) {                                      \
        int64_t r = n - i;                                                    \
        __m256i m = kw__lanes8(r);                                            \
        __m256 v = bin8(OP, ld(a, sa, i, r, m), ld(b, sb, i, r, m));          \
        kw__store8n(y + i, v, r);                                             \
    }

void kw__ew_bin_f32_avx2(int op, float *y, const float *a, int64_t sa,
                         const float *b, int64_t sb, int64_t n) {
    if ((!sa && !sb) || op < 0 || op >= KW__EW_NBIN_F32) {
        kw__ew_bin_f32_ref(op, y, a, sa, b, sb, n);
        return;
    }
    /* the switch sits outside the loop so each op gets its own loop */
    switch (op) {
    case KW__EW_ADD: BIN_LOOP(KW__EW_ADD) break;
    case KW__EW_SUB: BIN_LOOP(KW__EW_SUB) break;
    case KW__EW_MUL: BIN_LOOP(KW__EW_MUL) break;
    default: BIN_LOOP(KW__EW_DIV) break;
    }
}

/* tanh by its odd series near 0 (where 1 - e^-2x cancels) and by
 * (1 - e) / (1 + e), e = exp(-2|x|), elsewhere */
static inline __m256 tanh8(__m256 x) {
    const __m256 sgn = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sgn, x);
    __m256 e = exp8(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 big = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    __m256 x2 = _mm256_mul_ps(ax, ax);
    __m256 poly = _mm256_fmadd_ps(x2, _mm256_set1_ps(2.0f / 15.0f),
                                  _mm256_set1_ps(-1.0f / 3.0f));
    poly = _mm256_fmadd_ps(_mm256_mul_ps(poly, x2), ax, ax);
    __m256 small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.0625f), _CMP_LT_OQ);
    __m256 r = _mm256_blendv_ps(big, poly, small);
    /* NaN lanes: ax is NaN, keep it */
    __m256 nan = _mm256_cmp_ps(ax, ax, _CMP_UNORD_Q);
    r = _mm256_blendv_ps(r, ax, nan);
    return _mm256_or_ps(r, _mm256_and_ps(sgn, x));
}

static inline __m256 un8(int op, __m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    switch (op) {
    case KW__EW_RELU: return _mm256_max_ps(_mm256_setzero_ps(), x);
    case KW__EW_SIGMOID:
        return _mm256_div_ps(
            one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(),
                                                       x))));
    case KW__EW_TANH: return tanh8(x);
    default: return exp8(x);
    }
}

#define UN_LOOP(OP)                                                           \
    for (int64_t i = 0; i < n; i += 8) {                                      \
        int64_t r = n - i;                                                    \
        __m256i m = kw__lanes8(r);                                            \
        __m256 v = un8(OP, r >= 8 ? _mm256_loadu_ps(x + i)                    \
                                  : _mm256_maskload_ps(x + i, m));            \
        kw__store8n(y + i, v, r);                                             \
    }

void kw__ew_un_f32_avx2(int op, float *y, const float *x, int64_t n) {
    switch (op) {
    case KW__EW_RELU: UN_LOOP(KW__EW_RELU) break;
    case KW__EW_SIGMOID: UN_LOOP(KW__EW_SIGMOID) break;
    case KW__EW_TANH: UN_LOOP(KW__EW_TANH) break;
    case KW__EW_EXP: UN_LOOP(KW__EW_EXP) break;
    default: kw__ew_un_f32_ref(op, y, x, n); break;
    }
}
