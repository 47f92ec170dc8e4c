/*
 * conv_ct_avx2.c — the micro-kernel of the channel-vector convolution
 * (conv_ct.h) for AVX2. Sixteen ymm registers hold a 32-channel panel
 * (4 vectors) x 3 pixels, or a panel of up to 16 channels x 6 pixels,
 * with room left for the broadcasts and one weight vector, so a run of
 * up to 14 pixels goes as chunks of at most 3 (or 6) that each take the
 * whole K block; the block's weights (conv_ct.c keeps it to 16 KiB)
 * stay in L1 between them. The sums go through the run's part buffer,
 * and the last K block transposes them into the planes with the
 * residual and the activation (or stores them as they are in c16), 8
 * channels x 8 pixels at a time.
 * Entry point: kw__ct_tile_avx2.
 */
#include "onnx/ops/conv_ct.h"
#include "onnx/ops/vec_avx2.h"

/* the bias of the panel's vector i (nb channels real), or zero */
static inline __m256 bias_v(const float *bias, int64_t nb, int i) {
    return bias ? _mm256_maskload_ps(bias + 8 * i, kw__lanes8(nb - 8 * i))
                : _mm256_setzero_ps();
}

/* The accumulators are named one by one: GCC keeps an array of them in
 * memory. Pixel j's vector i: a<j><i>, from the bias (first) or the sums
 * in part (pixel j's 32 at part + 32 j), back into part. */
#define CT_START(j, i)                                                      \
    __m256 a##j##i = first ? b##i : _mm256_load_ps(part + j * KW_CT_MV + 8 * i)
#define CT_END(j, i) _mm256_store_ps(part + j * KW_CT_MV + 8 * i, a##j##i)
/* the weights come from memory once per panel: 2 KiB ahead, and (the
 * first run of a block) the next block into L2 */
#define CT_PREFETCH                                                         \
    if (pf) {                                                               \
        _mm_prefetch((const char *)(w + 512), _MM_HINT_T0);                 \
        _mm_prefetch((const char *)(w + kc * ldw), _MM_HINT_T1);            \
        _mm_prefetch((const char *)(w + kc * ldw + 16), _MM_HINT_T1);       \
    }

/* 4 vectors x NP (1..3) pixels: the NP broadcasts live, one weight
 * vector at a time */
static inline __attribute__((always_inline)) void
chunk4(const int NP, const int SX, const float *w, int64_t ldw,
       const float *x, const int64_t *ro, int64_t kc, const float *bias,
       int64_t nb, int first, int pf, float *part) {
    const __m256 b0 = first ? bias_v(bias, nb, 0) : _mm256_setzero_ps(),
                 b1 = first ? bias_v(bias, nb, 1) : _mm256_setzero_ps(),
                 b2 = first ? bias_v(bias, nb, 2) : _mm256_setzero_ps(),
                 b3 = first ? bias_v(bias, nb, 3) : _mm256_setzero_ps();
    const __m256 z = _mm256_setzero_ps();
    CT_START(0, 0); CT_START(0, 1); CT_START(0, 2); CT_START(0, 3);
    __m256 a10 = z, a11 = z, a12 = z, a13 = z, a20 = z, a21 = z, a22 = z,
           a23 = z;
    if (NP > 1) {
        a10 = first ? b0 : _mm256_load_ps(part + KW_CT_MV);
        a11 = first ? b1 : _mm256_load_ps(part + KW_CT_MV + 8);
        a12 = first ? b2 : _mm256_load_ps(part + KW_CT_MV + 16);
        a13 = first ? b3 : _mm256_load_ps(part + KW_CT_MV + 24);
    }
    if (NP > 2) {
        a20 = first ? b0 : _mm256_load_ps(part + 2 * KW_CT_MV);
        a21 = first ? b1 : _mm256_load_ps(part + 2 * KW_CT_MV + 8);
        a22 = first ? b2 : _mm256_load_ps(part + 2 * KW_CT_MV + 16);
        a23 = first ? b3 : _mm256_load_ps(part + 2 * KW_CT_MV + 24);
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *px = x + ro[k];
        CT_PREFETCH
        const __m256 v0 = _mm256_broadcast_ss(px);
        const __m256 v1 = NP > 1 ? _mm256_broadcast_ss(px + SX) : z;
        const __m256 v2 = NP > 2 ? _mm256_broadcast_ss(px + 2 * SX) : z;
#define CT_W(i)                                                             \
    {                                                                       \
        const __m256 wv = _mm256_loadu_ps(w + 8 * i);                       \
        a0##i = _mm256_fmadd_ps(wv, v0, a0##i);                             \
        if (NP > 1) a1##i = _mm256_fmadd_ps(wv, v1, a1##i);                 \
        if (NP > 2) a2##i = _mm256_fmadd_ps(wv, v2, a2##i);                 \
    }
        CT_W(0) CT_W(1) CT_W(2) CT_W(3)
#undef CT_W
        w += ldw;
    }
    CT_END(0, 0); CT_END(0, 1); CT_END(0, 2); CT_END(0, 3);
    if (NP > 1) { CT_END(1, 0); CT_END(1, 1); CT_END(1, 2); CT_END(1, 3); }
    if (NP > 2) { CT_END(2, 0); CT_END(2, 1); CT_END(2, 2); CT_END(2, 3); }
}

/* 2 vectors x NP (1..6) pixels: both weight vectors live, one
 * broadcast at a time */
static inline __attribute__((always_inline)) void
chunk2(const int NP, const int SX, const float *w, int64_t ldw,
       const float *x, const int64_t *ro, int64_t kc, const float *bias,
       int64_t nb, int first, int pf, float *part) {
    const __m256 b0 = first ? bias_v(bias, nb, 0) : _mm256_setzero_ps(),
                 b1 = first ? bias_v(bias, nb, 1) : _mm256_setzero_ps();
    const __m256 z = _mm256_setzero_ps();
    __m256 a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z,
           a31 = z, a40 = z, a41 = z, a50 = z, a51 = z;
#define CT_IN(j)                                                            \
    if (NP > j) {                                                           \
        a##j##0 = first ? b0 : _mm256_load_ps(part + j * KW_CT_MV);         \
        a##j##1 = first ? b1 : _mm256_load_ps(part + j * KW_CT_MV + 8);     \
    }
    CT_IN(0) CT_IN(1) CT_IN(2) CT_IN(3) CT_IN(4) CT_IN(5)
#undef CT_IN
    for (int64_t k = 0; k < kc; k++) {
        const float *px = x + ro[k];
        CT_PREFETCH
        const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
#define CT_PX(j)                                                            \
    if (NP > j) {                                                           \
        const __m256 v = _mm256_broadcast_ss(px + j * SX);                  \
        a##j##0 = _mm256_fmadd_ps(w0, v, a##j##0);                          \
        a##j##1 = _mm256_fmadd_ps(w1, v, a##j##1);                          \
    }
        CT_PX(0) CT_PX(1) CT_PX(2) CT_PX(3) CT_PX(4) CT_PX(5)
#undef CT_PX
        w += ldw;
    }
#define CT_OUT(j)                                                           \
    if (NP > j) { CT_END(j, 0); CT_END(j, 1); }
    CT_OUT(0) CT_OUT(1) CT_OUT(2) CT_OUT(3) CT_OUT(4) CT_OUT(5)
#undef CT_OUT
}
#undef CT_PREFETCH
#undef CT_END
#undef CT_START

typedef void (*chunk_fn)(const float *w, int64_t ldw, const float *x,
                         const int64_t *ro, int64_t kc, const float *bias,
                         int64_t nb, int first, int pf, float *part);

#define CT_CHUNK(nv, np, sx)                                                \
    static void chunk_##nv##_##np##_##sx(                                   \
        const float *w, int64_t ldw, const float *x, const int64_t *ro,     \
        int64_t kc, const float *bias, int64_t nb, int first, int pf,       \
        float *part) {                                                      \
        chunk##nv(np, sx, w, ldw, x, ro, kc, bias, nb, first, pf, part);    \
    }
#define CT_SXS(nv, np)                                                      \
    CT_CHUNK(nv, np, 1) CT_CHUNK(nv, np, 2) CT_CHUNK(nv, np, 16)            \
    CT_CHUNK(nv, np, 32)
CT_SXS(4, 1) CT_SXS(4, 2) CT_SXS(4, 3)
CT_SXS(2, 1) CT_SXS(2, 2) CT_SXS(2, 3) CT_SXS(2, 4) CT_SXS(2, 5) CT_SXS(2, 6)
#undef CT_SXS
#undef CT_CHUNK

#define CT_ROW(nv, np)                                                      \
    {chunk_##nv##_##np##_1, chunk_##nv##_##np##_2, chunk_##nv##_##np##_16,  \
     chunk_##nv##_##np##_32}
/* [pixels - 1][stride 1, 2, 16, 32] */
static const chunk_fn g_four[3][4] = {CT_ROW(4, 1), CT_ROW(4, 2),
                                      CT_ROW(4, 3)};
static const chunk_fn g_two[6][4] = {CT_ROW(2, 1), CT_ROW(2, 2),
                                     CT_ROW(2, 3), CT_ROW(2, 4),
                                     CT_ROW(2, 5), CT_ROW(2, 6)};
#undef CT_ROW

/* the c16 residual of channel m (a multiple of 8), pixel q (rblk) */
static inline const float *res_blk(const struct kw__ct *d, int64_t m,
                                   int64_t q) {
    return d->res + ((m & ~(int64_t)15) * d->OHOW + q * 16 + (m & 15));
}

/* the run's sums (np pixels in part) -> channels m0 .. m0 + mv of the
 * planes, 8 x 8 at a time through a transpose */
static void store_planes(const struct kw__ct *d, const float *part,
                         int64_t m0, int mv, int64_t q0, int np) {
    const __m256 va = _mm256_set1_ps(d->a), vb = _mm256_set1_ps(d->b);
    for (int i = 0; i * 8 < mv; i++) {
        const int64_t m = m0 + 8 * i;
        const int nc = KW_MIN(8, mv - 8 * i);
        for (int j0 = 0; j0 < np; j0 += 8) {
            const int n = KW_MIN(8, np - j0);
            __m256 r[8];
            for (int j = 0; j < 8; j++) {
                const float *s = part + (j0 + j) * KW_CT_MV + 8 * i;
                r[j] = j < n ? _mm256_load_ps(s) : _mm256_setzero_ps();
                if (j < n && d->rblk)
                    r[j] = _mm256_add_ps(
                        r[j], _mm256_loadu_ps(res_blk(d, m, q0 + j0 + j)));
            }
            kw__tr8(r);
            for (int c = 0; c < nc; c++) {
                const int64_t o = (m + c) * d->OHOW + q0 + j0;
                __m256 v = r[c];
                if (d->res && !d->rblk)
                    v = _mm256_add_ps(
                        v, n == 8 ? _mm256_loadu_ps(d->res + o)
                                  : _mm256_maskload_ps(d->res + o, kw__lanes8(n)));
                kw__store8n(d->y + o, kw__act8(v, d->act, va, vb), n);
            }
        }
    }
}

/* the same into the c16 layout: a pixel's 16 channels two vectors */
static void store_blk(const struct kw__ct *d, const float *part, int64_t m0,
                      int mv, int64_t q0, int np) {
    const __m256 va = _mm256_set1_ps(d->a), vb = _mm256_set1_ps(d->b);
    for (int i = 0; i * 8 < mv; i++) {
        const int64_t m = m0 + 8 * i;
        float *y = d->y + ((m & ~(int64_t)15) * d->OHOW + q0 * 16 + (m & 15));
        for (int j = 0; j < np; j++) {
            __m256 v = _mm256_load_ps(part + j * KW_CT_MV + 8 * i);
            if (d->res)
                v = _mm256_add_ps(v, _mm256_loadu_ps(res_blk(d, m, q0 + j)));
            _mm256_storeu_ps(y + j * 16, kw__act8(v, d->act, va, vb));
        }
    }
}

void kw__ct_tile_avx2(const struct kw__ct *d, int64_t p,
                      const struct kw__ct_blk *b, int64_t xo, int sx,
                      int64_t q0, int np) {
    if (np < 1 || np > KW_CT_NP) return;
    const int64_t m0 = p * d->pw;
    const int mv = (int)KW_MIN((int64_t)d->pw, d->M - m0);
    const int four = mv > 16;
    const int sxi = sx == 1 ? 0 : sx == 2 ? 1 : sx == 16 ? 2 : 3;
    const int most = four ? 3 : 6;
    const int nch = (np + most - 1) / most;
    const float *w = d->w + (p * d->kdim + b->k0) * d->pw;
    const int64_t *ro = d->roff + b->k0;
    for (int c = 0, j0 = 0; c < nch; c++) {
        const int n = (np - j0) / (nch - c); /* the chunks near-equal */
        const chunk_fn f = four ? g_four[n - 1][sxi] : g_two[n - 1][sxi];
        f(w, d->pw, d->x + xo + (int64_t)j0 * sx, ro, b->kc,
          d->bias ? d->bias + m0 : NULL, mv, b->first, b->pf && c == 0,
          b->part + j0 * KW_CT_MV);
        j0 += n;
    }
    if (!b->last) return;
    if (d->yblk) store_blk(d, b->part, m0, mv, q0, np);
    else store_planes(d, b->part, m0, mv, q0, np);
}
