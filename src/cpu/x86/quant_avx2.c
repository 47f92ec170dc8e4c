/*
 * quant_avx2.c — AVX2 quantized kernels: every vec_dot and quantizer of
 * quant_x86.h built with maddubs/madd, plus 4x4 gemm tiles for q4_1 and
 * q8_0. Tile layout: a ymm holds 16 bytes of two weight rows (128-bit lane
 * = row) against 16 activation bytes broadcast to both lanes; the two row
 * pairs are merged with one hadd, so each column keeps one accumulator with
 * lanes (r0 r0 r2 r2 | r1 r1 r3 r3). Entry: kw__fill_quant_avx2.
 */
#define KW_X86_VNNI 0
#define KW_X86_SFX avx2
#include "cpu/x86/quant_x86.h"

KW_INLINE __m256i load2x16(const uint8_t *a, const uint8_t *b) {
    return _mm256_set_m128i(loadu128(b), loadu128(a));
}

KW_INLINE __m256i bcast16(const void *p) {
    return _mm256_broadcastsi128_si256(loadu128(p));
}

/* two fp16 at p[k] + off, k < 4 -> 8 floats (a0 b0 a1 b1 ...) */
KW_INLINE __m256 gather_h8(const uint8_t *const p[4], size_t off) {
    /* built in registers: a stack array read back as one vector would
     * defeat store forwarding */
    uint32_t w[4];
    for (int k = 0; k < 4; k++) memcpy(&w[k], p[k] + off, 4);
    return _mm256_cvtph_ps(
        _mm_setr_epi32((int)w[0], (int)w[1], (int)w[2], (int)w[3]));
}

KW_INLINE void tile_ptrs(const void *base, size_t stride, int n,
                         const uint8_t *p[4]) {
    for (int k = 0; k < 4; k++)
        p[k] = (const uint8_t *)base + (size_t)(k < n ? k : n - 1) * stride;
}

/* acc lanes (r0 r0 r2 r2 | r1 r1 r3 r3) -> s[j*ss + i] (+ extra[4j + i]) */
KW_INLINE void tile_store(const __m256 *acc, int nx, int ny, float *s,
                          size_t ss, const float *extra) {
    static const int lane[4] = {0, 4, 2, 6};
    for (int j = 0; j < ny; j++) {
        float t[8];
        _mm256_storeu_ps(t, acc[j]);
        for (int i = 0; i < nx; i++)
            s[(size_t)j * ss + (size_t)i] =
                t[lane[i]] + t[lane[i] + 1] + (extra ? extra[4 * j + i] : 0.0f);
    }
}

KW_INLINE void gemm_q4_1_t(int64_t n, const void *x, size_t xs, int nx,
                           const void *y, size_t ys, int ny, float *s,
                           size_t ss) {
    const uint8_t *px[4], *py[4];
    tile_ptrs(x, xs, nx, px);
    tile_ptrs(y, ys, ny, py);
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi16(1);
    const __m256i idx_d = _mm256_setr_epi32(0, 0, 4, 4, 2, 2, 6, 6);
    const __m256i idx_m = _mm256_setr_epi32(1, 3, 5, 7, 1, 3, 5, 7);
    const __m256i idx_s0 = _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3);
    const __m256i idx_s1 = _mm256_setr_epi32(5, 5, 5, 5, 7, 7, 7, 7);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256 macc0 = _mm256_setzero_ps(), macc1 = _mm256_setzero_ps();
    const int64_t nb = n / KW_QK4_1;
    for (int64_t b = 0; b < nb; b++) {
        const size_t xo = (size_t)b * sizeof(struct kw_block_q4_1);
        const size_t yo = (size_t)b * sizeof(struct kw_block_q8_1);
        const __m256i q01 = load2x16(px[0] + xo + 4, px[1] + xo + 4);
        const __m256i q23 = load2x16(px[2] + xo + 4, px[3] + xo + 4);
        const __m256i l01 = _mm256_and_si256(q01, m4);
        const __m256i h01 = _mm256_and_si256(_mm256_srli_epi16(q01, 4), m4);
        const __m256i l23 = _mm256_and_si256(q23, m4);
        const __m256i h23 = _mm256_and_si256(_mm256_srli_epi16(q23, 4), m4);
        const __m256 dmx = gather_h8(px, xo), dsy = gather_h8(py, yo);
        const __m256 dx = _mm256_permutevar8x32_ps(dmx, idx_d);
        const __m256 mx = _mm256_permutevar8x32_ps(dmx, idx_m);
        macc0 = _mm256_fmadd_ps(mx, _mm256_permutevar8x32_ps(dsy, idx_s0), macc0);
        macc1 = _mm256_fmadd_ps(mx, _mm256_permutevar8x32_ps(dsy, idx_s1), macc1);
        for (int j = 0; j < ny; j++) {
            const int8_t *q8 = (const int8_t *)(py[j] + yo + 4);
            const __m256i yl = bcast16(q8), yh = bcast16(q8 + 16);
            /* nibble x int8 pairs <= 2*15*128, two of them fit int16 */
            const __m256i p01 = _mm256_madd_epi16(
                _mm256_add_epi16(_mm256_maddubs_epi16(l01, yl),
                                 _mm256_maddubs_epi16(h01, yh)), one);
            const __m256i p23 = _mm256_madd_epi16(
                _mm256_add_epi16(_mm256_maddubs_epi16(l23, yl),
                                 _mm256_maddubs_epi16(h23, yh)), one);
            const __m256 dy = _mm256_permutevar8x32_ps(
                dsy, _mm256_set1_epi32(2 * j));
            acc[j] = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(_mm256_hadd_epi32(p01, p23)),
                _mm256_mul_ps(dx, dy), acc[j]);
        }
    }
    float mt[16];
    _mm256_storeu_ps(mt, macc0);
    _mm256_storeu_ps(mt + 8, macc1);
    tile_store(acc, nx, ny, s, ss, mt);
}

/* q8_0: signed x signed through |x| and sign(y, x); a pair can reach
 * 2*128*127, so each maddubs is widened on its own. */
KW_INLINE __m256i dot2x16_s8(__m256i ax_l, __m256i x_l, __m256i ax_h,
                             __m256i x_h, __m256i yl, __m256i yh) {
    const __m256i one = _mm256_set1_epi16(1);
    return _mm256_add_epi32(
        _mm256_madd_epi16(_mm256_maddubs_epi16(ax_l, _mm256_sign_epi8(yl, x_l)),
                          one),
        _mm256_madd_epi16(_mm256_maddubs_epi16(ax_h, _mm256_sign_epi8(yh, x_h)),
                          one));
}

KW_INLINE void gemm_q8_0_t(int64_t n, const void *x, size_t xs, int nx,
                           const void *y, size_t ys, int ny, float *s,
                           size_t ss) {
    const uint8_t *px[4], *py[4];
    tile_ptrs(x, xs, nx, px);
    tile_ptrs(y, ys, ny, py);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps(), _mm256_setzero_ps()};
    const int64_t nb = n / KW_QK8_0;
    for (int64_t b = 0; b < nb; b++) {
        const size_t o = (size_t)b * sizeof(struct kw_block_q8_0);
        const __m256i l01 = load2x16(px[0] + o + 2, px[1] + o + 2);
        const __m256i h01 = load2x16(px[0] + o + 18, px[1] + o + 18);
        const __m256i l23 = load2x16(px[2] + o + 2, px[3] + o + 2);
        const __m256i h23 = load2x16(px[2] + o + 18, px[3] + o + 18);
        const __m256i al01 = _mm256_abs_epi8(l01), ah01 = _mm256_abs_epi8(h01);
        const __m256i al23 = _mm256_abs_epi8(l23), ah23 = _mm256_abs_epi8(h23);
        uint16_t h[8];
        for (int k = 0; k < 4; k++) {
            memcpy(&h[k], px[k] + o, 2);
            memcpy(&h[4 + k], py[k] + o, 2);
        }
        /* lanes 0-3 dx (rows), 4-7 dy (columns) */
        const __m256 dxy = _mm256_cvtph_ps(_mm_setr_epi16(
            (short)h[0], (short)h[1], (short)h[2], (short)h[3], (short)h[4],
            (short)h[5], (short)h[6], (short)h[7]));
        const __m256 dx = _mm256_permutevar8x32_ps(
            dxy, _mm256_setr_epi32(0, 0, 2, 2, 1, 1, 3, 3));
        for (int j = 0; j < ny; j++) {
            const int8_t *q8 = (const int8_t *)(py[j] + o + 2);
            const __m256i yl = bcast16(q8), yh = bcast16(q8 + 16);
            const __m256i p01 = dot2x16_s8(al01, l01, ah01, h01, yl, yh);
            const __m256i p23 = dot2x16_s8(al23, l23, ah23, h23, yl, yh);
            const __m256 dy =
                _mm256_permutevar8x32_ps(dxy, _mm256_set1_epi32(4 + j));
            acc[j] = _mm256_fmadd_ps(
                _mm256_cvtepi32_ps(_mm256_hadd_epi32(p01, p23)),
                _mm256_mul_ps(dx, dy), acc[j]);
        }
    }
    tile_store(acc, nx, ny, s, ss, NULL);
}

#define KW_TILE_ENTRY(type)                                                   \
    static void kw_gemm_##type##_avx2(int64_t n, const void *x, size_t xs,    \
                                      int nx, const void *y, size_t ys,       \
                                      int ny, float *s, size_t ss) {          \
        switch (ny) {                                                         \
        case 1: gemm_##type##_t(n, x, xs, nx, y, ys, 1, s, ss); break;        \
        case 2: gemm_##type##_t(n, x, xs, nx, y, ys, 2, s, ss); break;        \
        case 3: gemm_##type##_t(n, x, xs, nx, y, ys, 3, s, ss); break;        \
        default: gemm_##type##_t(n, x, xs, nx, y, ys, 4, s, ss); break;       \
        }                                                                     \
    }

KW_TILE_ENTRY(q4_1)
KW_TILE_ENTRY(q8_0)

KW_X86_GEMM_LOOP(kw_gemm_loop_q4_0_avx2, kw_vec_dot_q4_0_avx2)
KW_X86_GEMM_LOOP(kw_gemm_loop_q4_K_avx2, kw_vec_dot_q4_K_avx2)
KW_X86_GEMM_LOOP(kw_gemm_loop_q6_K_avx2, kw_vec_dot_q6_K_avx2)

void kw__fill_quant_avx2(struct kw__isa_table *t) {
    kw_fill_common_avx2(t);
    t->gemm[KW_TYPE_Q4_1] = kw_gemm_q4_1_avx2;
    t->gemm[KW_TYPE_Q8_0] = kw_gemm_q8_0_avx2;
    t->gemm[KW_TYPE_Q4_0] = kw_gemm_loop_q4_0_avx2;
    t->gemm[KW_TYPE_Q4_K] = kw_gemm_loop_q4_K_avx2;
    t->gemm[KW_TYPE_Q6_K] = kw_gemm_loop_q6_K_avx2;
}
