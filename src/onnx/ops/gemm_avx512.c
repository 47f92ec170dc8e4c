/*
 * gemm_avx512.c — the AVX-512 float32 GEMM micro-kernel: a 12 x 32 tile
 * held in 24 zmm accumulators (enough independent FMAs per broadcast and
 * B load to keep both FMA ports busy), one broadcast of A per row and two
 * loads of B per k step; a ragged tile of at most 8 or 4 rows runs a
 * shorter copy of the loop, and ragged columns store through lane masks.
 * kw__sgemm_ukr_ex_avx512 is the same tile with the convolution's
 * epilogue (bias start, residual, in-register activation; gemm_ex.h); it also
 * claims C's lines before the FMAs and prefetches the A (weight) stream
 * 2 KiB ahead, since a layer's weights usually come from memory, and
 * runs a ragged panel of at most 16 columns on half the FMAs;
 * kw__sgemm_ukr_exd_avx512 reads B in place (rows ldb apart).
 * Entry points: kw__sgemm_ukr_avx512 (see nn_internal.h),
 * kw__sgemm_ukr_ex_avx512, kw__sgemm_ukr_exd_avx512.
 */
#include <immintrin.h>

#include "onnx/ops/gemm_ex.h"

#define MR KW_SGEMM_AVX512_MR
#define NR KW_SGEMM_AVX512_NR

/* rows is a constant at every call, so each copy keeps its accumulators
 * in registers */
static inline __attribute__((always_inline)) void
ukr_rows(const int rows, int64_t kc, const float *ap, const float *bp,
         float *c, int64_t ldc, int m, int n) {
    __m512 acc0[MR], acc1[MR];
    for (int r = 0; r < rows; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_load_ps(bp);
        const __m512 b1 = _mm512_load_ps(bp + 16);
        for (int r = 0; r < rows; r++) {
            const __m512 a = _mm512_set1_ps(ap[r]);
            acc0[r] = _mm512_fmadd_ps(a, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(a, b1, acc1[r]);
        }
        ap += MR;
        bp += NR;
    }
    if (n == NR) {
        for (int r = 0; r < rows; r++) {
            if (r >= m) break;
            float *cr = c + r * ldc;
            _mm512_storeu_ps(cr, _mm512_add_ps(_mm512_loadu_ps(cr), acc0[r]));
            _mm512_storeu_ps(cr + 16,
                             _mm512_add_ps(_mm512_loadu_ps(cr + 16), acc1[r]));
        }
        return;
    }
    const __mmask16 m0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    const __mmask16 m1 = n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    for (int r = 0; r < rows; r++) {
        if (r >= m) break;
        float *cr = c + r * ldc;
        _mm512_mask_storeu_ps(
            cr, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc0[r]));
        _mm512_mask_storeu_ps(
            cr + 16, m1,
            _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc1[r]));
    }
}

void kw__sgemm_ukr_avx512(int64_t kc, const float *ap, const float *bp,
                          float *c, int64_t ldc, int m, int n) {
    if (m > 8)
        ukr_rows(MR, kc, ap, bp, c, ldc, m, n);
    else if (m > 4)
        ukr_rows(8, kc, ap, bp, c, ldc, m, n);
    else
        ukr_rows(4, kc, ap, bp, c, ldc, m, n);
}

/* act(x) with k_act's comparisons (operand order keeps NaN as it does) */
static inline __attribute__((always_inline)) __m512 act_v(__m512 x,
                                                         const int act,
                                                         __m512 va, __m512 vb) {
    if (act == KW_ACT_RELU) /* x > 0 ? x : 0 */
        return _mm512_max_ps(x, _mm512_setzero_ps());
    if (act == KW_ACT_CLIP) /* x < a ? a : x, then x > b ? b : x */
        return _mm512_min_ps(vb, _mm512_max_ps(va, x));
    return x;
}

/* C rows = act(acc + (init ? bias : C) + res); rows, act and wide (32
 * columns in acc0 / acc1, else 16 in acc0) are constants. A whole tile
 * (m == rows, n == the width) takes straight-line code, so the
 * accumulators stay in registers; ragged tiles go through masks. */
static inline __attribute__((always_inline)) void
epi_rows(const int rows, const int act, const int wide, const __m512 *acc0,
         const __m512 *acc1, float *c, int64_t ldc, int m, int n,
         const struct kw__ukr_epi *e) {
    const __m512 va = _mm512_set1_ps(e->a), vb = _mm512_set1_ps(e->b);
    const float *res = e->res;
    if (m == rows && n == (wide ? NR : 16)) {
        for (int r = 0; r < rows; r++) {
            float *cr = c + r * ldc;
            __m512 v0, v1 = _mm512_setzero_ps();
            if (e->init) {
                const __m512 b = _mm512_set1_ps(e->bias ? e->bias[r] : 0.0f);
                v0 = _mm512_add_ps(acc0[r], b);
                if (wide) v1 = _mm512_add_ps(acc1[r], b);
            } else {
                v0 = _mm512_add_ps(_mm512_loadu_ps(cr), acc0[r]);
                if (wide) v1 = _mm512_add_ps(_mm512_loadu_ps(cr + 16), acc1[r]);
            }
            if (res) {
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(res + r * e->ldr));
                if (wide)
                    v1 = _mm512_add_ps(v1,
                                       _mm512_loadu_ps(res + r * e->ldr + 16));
            }
            _mm512_storeu_ps(cr, act_v(v0, act, va, vb));
            if (wide) _mm512_storeu_ps(cr + 16, act_v(v1, act, va, vb));
        }
        return;
    }
    const __mmask16 m0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    const __mmask16 m1 = !wide || n <= 16 ? 0
                         : n >= 32        ? 0xffff
                                          : (__mmask16)((1u << (n - 16)) - 1);
    for (int r = 0; r < rows; r++) {
        if (r >= m) break;
        float *cr = c + r * ldc;
        __m512 v0, v1 = _mm512_setzero_ps();
        if (e->init) {
            const __m512 b = _mm512_set1_ps(e->bias ? e->bias[r] : 0.0f);
            v0 = _mm512_add_ps(acc0[r], b);
            if (wide) v1 = _mm512_add_ps(acc1[r], b);
        } else {
            v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), acc0[r]);
            if (wide)
                v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), acc1[r]);
        }
        if (res) {
            const float *rr = res + r * e->ldr;
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, rr));
            if (wide) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, rr + 16));
        }
        _mm512_mask_storeu_ps(cr, m0, act_v(v0, act, va, vb));
        if (wide) _mm512_mask_storeu_ps(cr + 16, m1, act_v(v1, act, va, vb));
    }
}

/* rows x (wide ? 32 : 16) columns. B row k at bp + k * ldb: the packed
 * panels (direct 0: ldb NR, aligned) or a matrix read in place (direct
 * 1: n is the full width; 2: columns past n masked off, so nothing past
 * them is read). */
static inline __attribute__((always_inline)) void
ukr_ex_rows(const int rows, const int wide, const int direct, int64_t kc,
            const float *ap, const float *bp, int64_t ldb, float *c,
            int64_t ldc, int m, int n, const struct kw__ukr_epi *e) {
    __m512 acc0[MR], acc1[MR];
    /* own the C lines (and fetch the residual's) while the FMAs run,
     * not at the store */
    for (int r = 0; r < rows; r++) {
        if (r >= m) break;
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_ET0);
        if (wide) _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_ET0);
        if (e->res) {
            _mm_prefetch((const char *)(e->res + r * e->ldr), _MM_HINT_T0);
            if (wide)
                _mm_prefetch((const char *)(e->res + r * e->ldr + 16),
                             _MM_HINT_T0);
        }
    }
    for (int r = 0; r < rows; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    const __mmask16 lm0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    const __mmask16 lm1 = n <= 16   ? 0
                          : n >= 32 ? 0xffff
                                    : (__mmask16)((1u << (n - 16)) - 1);
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0, b1 = _mm512_setzero_ps();
        if (direct == 2) { /* (around masked loads GCC keeps the
                              accumulators in memory, storing them every
                              step: ragged panels only) */
            b0 = _mm512_maskz_loadu_ps(lm0, bp);
            if (wide) b1 = _mm512_maskz_loadu_ps(lm1, bp + 16);
        } else if (direct) {
            b0 = _mm512_loadu_ps(bp);
            if (wide) b1 = _mm512_loadu_ps(bp + 16);
        } else {
            b0 = _mm512_load_ps(bp);
            if (wide) b1 = _mm512_load_ps(bp + 16);
        }
        /* the A panels (weights) often come from memory: ask 2 KiB ahead
         * (a packed block is contiguous, so that is the next panel) */
        _mm_prefetch((const char *)(ap + 512), _MM_HINT_T0);
        for (int r = 0; r < rows; r++) {
            const __m512 a = _mm512_set1_ps(ap[r]);
            acc0[r] = _mm512_fmadd_ps(a, b0, acc0[r]);
            if (wide) acc1[r] = _mm512_fmadd_ps(a, b1, acc1[r]);
        }
        ap += MR;
        bp += ldb;
    }
    if (e->act == KW_ACT_RELU)
        epi_rows(rows, KW_ACT_RELU, wide, acc0, acc1, c, ldc, m, n, e);
    else if (e->act == KW_ACT_CLIP)
        epi_rows(rows, KW_ACT_CLIP, wide, acc0, acc1, c, ldc, m, n, e);
    else
        epi_rows(rows, KW_ACT_NONE, wide, acc0, acc1, c, ldc, m, n, e);
}

/* the row count as a constant for each copy of the loop */
static inline __attribute__((always_inline)) void
ukr_ex_m(const int wide, const int direct, int64_t kc, const float *ap,
         const float *bp, int64_t ldb, float *c, int64_t ldc, int m, int n,
         const struct kw__ukr_epi *e) {
    if (m > 8)
        ukr_ex_rows(MR, wide, direct, kc, ap, bp, ldb, c, ldc, m, n, e);
    else if (m > 4)
        ukr_ex_rows(8, wide, direct, kc, ap, bp, ldb, c, ldc, m, n, e);
    else
        ukr_ex_rows(4, wide, direct, kc, ap, bp, ldb, c, ldc, m, n, e);
}

/* a ragged panel of at most 16 columns runs half the FMAs */
#define UKR_EX_DISPATCH(direct, ldb)                                          \
    do {                                                                      \
        if (n > 16)                                                           \
            ukr_ex_m(1, direct, kc, ap, bp, ldb, c, ldc, m, n, e);            \
        else                                                                  \
            ukr_ex_m(0, direct, kc, ap, bp, ldb, c, ldc, m, n, e);            \
    } while (0)

void kw__sgemm_ukr_ex_avx512(int64_t kc, const float *ap, const float *bp,
                             float *c, int64_t ldc, int m, int n,
                             const struct kw__ukr_epi *e) {
    UKR_EX_DISPATCH(0, NR);
}

void kw__sgemm_ukr_exd_avx512(int64_t kc, const float *ap, const float *b,
                              int64_t ldb, float *c, int64_t ldc, int m,
                              int n, const struct kw__ukr_epi *e) {
    const float *bp = b;
    if (n == NR || n == 16)
        UKR_EX_DISPATCH(1, ldb);
    else
        UKR_EX_DISPATCH(2, ldb);
}
