/*
 * gemm_avx2.c — the AVX2 float32 GEMM micro-kernel: a 6 x 16 tile held in
 * 12 named ymm accumulators (named, not an array, so the compiler keeps
 * them in registers), one broadcast of A per row and two loads of B per k
 * step; ragged tiles go through a stack tile.
 * kw__sgemm_ukr_ex_avx2 is the same tile with the convolution's epilogue
 * (bias start, residual, in-register activation; gemm_ex.h), which
 * prefetches the A (weight) stream a panel ahead, runs a ragged panel
 * of at most 8 columns on half the FMAs and one of at most 4 column-wise
 * (an FMA a column); kw__sgemm_ukr_exd_avx2 reads B in place (rows ldb
 * apart).
 * Entry points: kw__sgemm_ukr_avx2 (see nn_internal.h),
 * kw__sgemm_ukr_ex_avx2, kw__sgemm_ukr_exd_avx2.
 */
#include <immintrin.h>

#include "onnx/ops/gemm_ex.h"
#include "onnx/ops/vec_avx2.h"

#define MR KW_SGEMM_AVX2_MR
#define NR KW_SGEMM_AVX2_NR

/* C row r (n columns) += (lo, hi) */
static inline void add_row(float *cr, __m256 lo, __m256 hi, int n) {
    if (n == NR) {
        _mm256_storeu_ps(cr, _mm256_add_ps(_mm256_loadu_ps(cr), lo));
        _mm256_storeu_ps(cr + 8, _mm256_add_ps(_mm256_loadu_ps(cr + 8), hi));
        return;
    }
    float tile[NR];
    _mm256_storeu_ps(tile, lo);
    _mm256_storeu_ps(tile + 8, hi);
    for (int j = 0; j < n; j++) cr[j] += tile[j];
}

void kw__sgemm_ukr_avx2(int64_t kc, const float *ap, const float *bp,
                        float *c, int64_t ldc, int m, int n) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
        __m256 a = _mm256_broadcast_ss(ap);
        c00 = _mm256_fmadd_ps(a, b0, c00);
        c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(ap + 1);
        c10 = _mm256_fmadd_ps(a, b0, c10);
        c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(ap + 2);
        c20 = _mm256_fmadd_ps(a, b0, c20);
        c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(ap + 3);
        c30 = _mm256_fmadd_ps(a, b0, c30);
        c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(ap + 4);
        c40 = _mm256_fmadd_ps(a, b0, c40);
        c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(ap + 5);
        c50 = _mm256_fmadd_ps(a, b0, c50);
        c51 = _mm256_fmadd_ps(a, b1, c51);
        ap += MR;
        bp += NR;
    }
    add_row(c, c00, c01, n);
    if (m > 1) add_row(c + ldc, c10, c11, n);
    if (m > 2) add_row(c + 2 * ldc, c20, c21, n);
    if (m > 3) add_row(c + 3 * ldc, c30, c31, n);
    if (m > 4) add_row(c + 4 * ldc, c40, c41, n);
    if (m > 5) add_row(c + 5 * ldc, c50, c51, n);
}

/* ---- the epilogue kernels (gemm_ex.h) ---- */

/* C row r = act(acc + (init ? bias : C) + res); act and wide (16
 * columns in v0 / v1, else 8 in v0) are constants; ragged tiles load and
 * store through lane masks */
static inline __attribute__((always_inline)) void
epi_row(const int act, const int wide, int r, __m256 v0, __m256 v1, float *c,
        int64_t ldc, int full, int n, __m256i k0, __m256i k1,
        const struct kw__ukr_epi *e) {
    const __m256 va = _mm256_set1_ps(e->a), vb = _mm256_set1_ps(e->b);
    float *cr = c + r * ldc;
    const float *rr = e->res ? e->res + r * e->ldr : NULL;
    if (e->init) {
        const __m256 b = _mm256_set1_ps(e->bias ? e->bias[r] : 0.0f);
        v0 = _mm256_add_ps(v0, b);
        if (wide) v1 = _mm256_add_ps(v1, b);
    } else if (full) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0);
        if (wide) v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1);
    } else {
        v0 = _mm256_add_ps(_mm256_maskload_ps(cr, k0), v0);
        if (wide) v1 = _mm256_add_ps(_mm256_maskload_ps(cr + 8, k1), v1);
    }
    if (rr && full) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(rr));
        if (wide) v1 = _mm256_add_ps(v1, _mm256_loadu_ps(rr + 8));
    } else if (rr) {
        v0 = _mm256_add_ps(v0, _mm256_maskload_ps(rr, k0));
        if (wide) v1 = _mm256_add_ps(v1, _mm256_maskload_ps(rr + 8, k1));
    }
    v0 = kw__act8(v0, act, va, vb);
    v1 = kw__act8(v1, act, va, vb);
    if (full) {
        _mm256_storeu_ps(cr, v0);
        if (wide) _mm256_storeu_ps(cr + 8, v1);
    } else {
        kw__store8n(cr, v0, n);
        if (wide) kw__store8n(cr + 8, v1, n - 8);
    }
}

/* rows x (wide ? 16 : 8) columns. B row k at bp + k * ldb: the packed
 * panels (direct 0: ldb NR, aligned) or a matrix read in place (direct
 * 1: n is the full width; 2: columns past n masked off, so nothing past
 * them is read). The accumulators are named, not an array: GCC kept an
 * array's copy in memory, stored at every step. */
static inline __attribute__((always_inline)) void
ukr_ex_rows(const int rows, const int wide, const int direct, int64_t kc,
            const float *ap, const float *bp, int64_t ldb, float *c,
            int64_t ldc, int m, int n, const struct kw__ukr_epi *e) {
    __m256 c0a = _mm256_setzero_ps(), c0b = _mm256_setzero_ps();
    __m256 c1a = _mm256_setzero_ps(), c1b = _mm256_setzero_ps();
    __m256 c2a = _mm256_setzero_ps(), c2b = _mm256_setzero_ps();
    __m256 c3a = _mm256_setzero_ps(), c3b = _mm256_setzero_ps();
    __m256 c4a = _mm256_setzero_ps(), c4b = _mm256_setzero_ps();
    __m256 c5a = _mm256_setzero_ps(), c5b = _mm256_setzero_ps();
    const __m256i lm0 = kw__lanes8(n), lm1 = kw__lanes8(n - 8);
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0, b1 = _mm256_setzero_ps();
        if (direct == 2) {
            b0 = _mm256_maskload_ps(bp, lm0);
            if (wide) b1 = _mm256_maskload_ps(bp + 8, lm1);
        } else if (direct) {
            b0 = _mm256_loadu_ps(bp);
            if (wide) b1 = _mm256_loadu_ps(bp + 8);
        } else {
            b0 = _mm256_load_ps(bp);
            if (wide) b1 = _mm256_load_ps(bp + 8);
        }
        /* the A panels (weights) often come from memory: ask 1.5 KiB
         * ahead, the next panel of a packed block */
        _mm_prefetch((const char *)(ap + 384), _MM_HINT_T0);
#define KW_ROW(r, ca, cb)                                                     \
    if (rows > r) {                                                           \
        const __m256 a = _mm256_broadcast_ss(ap + r);                         \
        ca = _mm256_fmadd_ps(a, b0, ca);                                      \
        if (wide) cb = _mm256_fmadd_ps(a, b1, cb);                            \
    }
        KW_ROW(0, c0a, c0b)
        KW_ROW(1, c1a, c1b)
        KW_ROW(2, c2a, c2b)
        KW_ROW(3, c3a, c3b)
        KW_ROW(4, c4a, c4b)
        KW_ROW(5, c5a, c5b)
#undef KW_ROW
        ap += MR;
        bp += ldb;
    }
    const int full = m == rows && n == (wide ? NR : 8);
    const __m256i k0 = kw__lanes8(n), k1 = kw__lanes8(n - 8);
#define KW_EPI(act)                                                           \
    do {                                                                      \
        epi_row(act, wide, 0, c0a, c0b, c, ldc, full, n, k0, k1, e);          \
        if (m > 1) epi_row(act, wide, 1, c1a, c1b, c, ldc, full, n, k0, k1, e);\
        if (rows > 2 && m > 2)                                                \
            epi_row(act, wide, 2, c2a, c2b, c, ldc, full, n, k0, k1, e);      \
        if (rows > 3 && m > 3)                                                \
            epi_row(act, wide, 3, c3a, c3b, c, ldc, full, n, k0, k1, e);      \
        if (rows > 4 && m > 4)                                                \
            epi_row(act, wide, 4, c4a, c4b, c, ldc, full, n, k0, k1, e);      \
        if (rows > 5 && m > 5)                                                \
            epi_row(act, wide, 5, c5a, c5b, c, ldc, full, n, k0, k1, e);      \
    } while (0)
    if (e->act == KW_ACT_RELU) KW_EPI(KW_ACT_RELU);
    else if (e->act == KW_ACT_CLIP) KW_EPI(KW_ACT_CLIP);
    else KW_EPI(KW_ACT_NONE);
#undef KW_EPI
}

/* A panel of at most 4 columns (the 1 left of a 7x7 plane's 49, the 4
 * of a 14x14's 196): each column's sums for the tile's 6 rows in one
 * vector, A's 6 values of a k step against that column's broadcast B
 * value, so a k step costs one FMA a column instead of the row-wise
 * kernel's 6. The handful of results go out one by one. */
static void ukr_ex_cols(int64_t kc, const float *ap, const float *bp,
                        int64_t ldb, float *c, int64_t ldc, int m, int n,
                        const struct kw__ukr_epi *e) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    /* A's MR floats of a step (the two lanes past them are not read:
     * the last step's would lie past the pack) */
    const __m256i six = kw__lanes8(MR);
    for (int64_t k = 0; k < kc; k++) {
        const __m256 a = _mm256_maskload_ps(ap, six);
        acc0 = _mm256_fmadd_ps(a, _mm256_broadcast_ss(bp), acc0);
        if (n > 1) acc1 = _mm256_fmadd_ps(a, _mm256_broadcast_ss(bp + 1), acc1);
        if (n > 2) acc2 = _mm256_fmadd_ps(a, _mm256_broadcast_ss(bp + 2), acc2);
        if (n > 3) acc3 = _mm256_fmadd_ps(a, _mm256_broadcast_ss(bp + 3), acc3);
        ap += MR;
        bp += ldb;
    }
    float t[4][8];
    _mm256_storeu_ps(t[0], acc0);
    _mm256_storeu_ps(t[1], acc1);
    _mm256_storeu_ps(t[2], acc2);
    _mm256_storeu_ps(t[3], acc3);
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) {
            float *cr = c + r * ldc + j;
            float v = t[j][r] + (e->init ? (e->bias ? e->bias[r] : 0.0f) : *cr);
            if (e->res) v += e->res[r * e->ldr + j];
            *cr = kw__act_apply(e->act, v, e->a, e->b);
        }
}

/* the row count as a constant for each copy of the loop */
static inline __attribute__((always_inline)) void
ukr_ex_m(const int wide, const int direct, int64_t kc, const float *ap,
         const float *bp, int64_t ldb, float *c, int64_t ldc, int m, int n,
         const struct kw__ukr_epi *e) {
    if (m > 4)
        ukr_ex_rows(MR, wide, direct, kc, ap, bp, ldb, c, ldc, m, n, e);
    else if (m > 2)
        ukr_ex_rows(4, wide, direct, kc, ap, bp, ldb, c, ldc, m, n, e);
    else
        ukr_ex_rows(2, wide, direct, kc, ap, bp, ldb, c, ldc, m, n, e);
}

/* a ragged panel of at most 8 columns runs half the FMAs */
#define UKR_EX_DISPATCH(direct, ldb)                                          \
    do {                                                                      \
        if (n > 8)                                                            \
            ukr_ex_m(1, direct, kc, ap, bp, ldb, c, ldc, m, n, e);            \
        else                                                                  \
            ukr_ex_m(0, direct, kc, ap, bp, ldb, c, ldc, m, n, e);            \
    } while (0)

void kw__sgemm_ukr_ex_avx2(int64_t kc, const float *ap, const float *bp,
                           float *c, int64_t ldc, int m, int n,
                           const struct kw__ukr_epi *e) {
    if (n <= 4) {
        ukr_ex_cols(kc, ap, bp, NR, c, ldc, m, n, e);
        return;
    }
    UKR_EX_DISPATCH(0, NR);
}

void kw__sgemm_ukr_exd_avx2(int64_t kc, const float *ap, const float *b,
                            int64_t ldb, float *c, int64_t ldc, int m, int n,
                            const struct kw__ukr_epi *e) {
    const float *bp = b;
    if (n <= 4) {
        ukr_ex_cols(kc, ap, bp, ldb, c, ldc, m, n, e);
        return;
    }
    if (n == NR || n == 8)
        UKR_EX_DISPATCH(1, ldb);
    else
        UKR_EX_DISPATCH(2, ldb);
}
