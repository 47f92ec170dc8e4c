/*
 * quant_avx512.c — AVX-512 + VNNI quantized kernels: every vec_dot and
 * quantizer of quant_x86.h built with vpdpbusd/vpdpwssd on ymm, plus
 * 4x4 gemm tiles on zmm for q4_0, q4_1, q8_0, q4_K and q6_K.
 *
 * Tile layout: a zmm holds 16 bytes of each of 4 weight rows (128-bit lane
 * i = row i) and the matching 16 activation bytes are broadcast to all
 * lanes, so one vpdpbusd advances 4 rows x 16 elements with no horizontal
 * work; lane groups are summed once per tile. Entry: kw__fill_quant_avx512.
 */
#define KW_X86_VNNI 1
#define KW_X86_SFX avx512
#include "cpu/x86/quant_x86.h"

/* ---- tile helpers ------------------------------------------------------ */

/* 16 bytes at p[i] into 128-bit lane i. */
KW_INLINE __m512i load4x16(const uint8_t *const p[4], size_t off) {
    __m512i v = _mm512_castsi128_si512(loadu128(p[0] + off));
    v = _mm512_inserti32x4(v, loadu128(p[1] + off), 1);
    v = _mm512_inserti32x4(v, loadu128(p[2] + off), 2);
    return _mm512_inserti32x4(v, loadu128(p[3] + off), 3);
}

KW_INLINE __m512i bcast16(const void *p) {
    return _mm512_broadcast_i32x4(loadu128(p));
}

/* fp16 at p[k] + off, k < 4 -> 4 floats */
KW_INLINE __m128 gather_h4(const uint8_t *const p[4], size_t off) {
    uint64_t h = 0;
    for (int k = 0; k < 4; k++) {
        uint16_t v;
        memcpy(&v, p[k] + off, 2);
        h |= (uint64_t)v << (16 * k);
    }
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h));
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

/* lane 4i+g <- v[i] (row-group broadcast of 4 floats) */
KW_INLINE __m512 rows16(__m128 v) {
    return _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
        _mm512_castps128_ps512(v));
}

KW_INLINE __m512 lane_bcast(__m512 v, int k) {
    return _mm512_permutexvar_ps(_mm512_set1_epi32(k), v);
}

/* s[j*ss + i] = sum of lanes 4i..4i+3 of acc[j] (+ extra[4j+i]) */
KW_INLINE void tile_store(const __m512 *acc, int nx, int ny, float *s,
                          size_t ss, const float *extra) {
    for (int j = 0; j < ny; j++) {
        float t[16];
        _mm512_storeu_ps(t, acc[j]);
        for (int i = 0; i < nx; i++)
            s[(size_t)j * ss + (size_t)i] =
                (t[4 * i] + t[4 * i + 1]) + (t[4 * i + 2] + t[4 * i + 3]) +
                (extra ? extra[4 * j + i] : 0.0f);
    }
}

/* Row/column pointers with the missing ones aliased to the last valid one
 * (their results are computed and dropped; no out-of-range reads). */
KW_INLINE void tile_ptrs(const void *base, size_t stride, int n,
                         const uint8_t *p[4]) {
    for (int k = 0; k < 4; k++)
        p[k] = (const uint8_t *)base + (size_t)(k < n ? k : n - 1) * stride;
}

/* ---- q4_0 / q8_0 (signed weights) x q8_0 ------------------------------- */

/* Both weight types reduce to signed 16-byte halves xl, xh per row. The
 * activation goes in as the unsigned operand biased by +128 (xor 0x80),
 * and the bias, 128 * sum(x), is taken out by starting from -that, which
 * depends on the weights only and is shared by all columns. */
KW_INLINE void tile_s8_block(const __m512i xl, const __m512i xh,
                             const __m512 dx16, const uint8_t *const py[4],
                             size_t yoff, int ny, __m512 *acc) {
    const __m512i c80 = _mm512_set1_epi8((char)0x80);
    const __m512i z = _mm512_setzero_si512();
    const __m512i negc = _mm512_sub_epi32(
        z, _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, c80, xl), c80, xh));
    const __m512 dy = _mm512_castps128_ps512(gather_h4(py, yoff));
    for (int j = 0; j < ny; j++) {
        const int8_t *q8 = (const int8_t *)(py[j] + yoff + 2);
        const __m512i yl = _mm512_xor_si512(bcast16(q8), c80);
        const __m512i yh = _mm512_xor_si512(bcast16(q8 + 16), c80);
        const __m512i p =
            _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(negc, yl, xl), yh, xh);
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p),
                                 _mm512_mul_ps(dx16, lane_bcast(dy, j)), acc[j]);
    }
}

KW_INLINE void gemm_q4_0_t(int64_t n, const void *x, size_t xs, int nx,
                           const void *y, size_t ys, int ny, float *s,
                           size_t ss) {
    const uint8_t *px[4], *py[4];
    tile_ptrs(x, xs, nx, px);
    tile_ptrs(y, ys, ny, py);
    const __m512i m4 = _mm512_set1_epi8(0x0F), c8 = _mm512_set1_epi8(8);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps(), _mm512_setzero_ps()};
    const int64_t nb = n / KW_QK4_0;
    for (int64_t b = 0; b < nb; b++) {
        const size_t xo = (size_t)b * sizeof(struct kw_block_q4_0);
        const size_t yo = (size_t)b * sizeof(struct kw_block_q8_0);
        const __m512i q = load4x16(px, xo + 2);
        const __m512i xl = _mm512_sub_epi8(_mm512_and_si512(q, m4), c8);
        const __m512i xh =
            _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4), c8);
        tile_s8_block(xl, xh, rows16(gather_h4(px, xo)), py, yo, ny, acc);
    }
    tile_store(acc, nx, ny, s, ss, NULL);
}

KW_INLINE void gemm_q8_0_t(int64_t n, const void *x, size_t xs, int nx,
                           const void *y, size_t ys, int ny, float *s,
                           size_t ss) {
    const uint8_t *px[4], *py[4];
    tile_ptrs(x, xs, nx, px);
    tile_ptrs(y, ys, ny, py);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps(), _mm512_setzero_ps()};
    const int64_t nb = n / KW_QK8_0;
    for (int64_t b = 0; b < nb; b++) {
        const size_t o = (size_t)b * sizeof(struct kw_block_q8_0);
        const __m512i xl = load4x16(px, o + 2);
        const __m512i xh = load4x16(px, o + 18);
        tile_s8_block(xl, xh, rows16(gather_h4(px, o)), py, o, ny, acc);
    }
    tile_store(acc, nx, ny, s, ss, NULL);
}

/* ---- q4_1 x q8_1 ---------------------------------------------------------- */

/* Nibbles are already unsigned: dpbusd(nibbles, y) directly. The m * s
 * term of all 16 (row, column) pairs is one outer-product fma per block
 * (lane 4j+i). */
KW_INLINE void gemm_q4_1_t(int64_t n, const void *x, size_t xs, int nx,
                           const void *y, size_t ys, int ny, float *s,
                           size_t ss) {
    const uint8_t *px[4], *py[4];
    tile_ptrs(x, xs, nx, px);
    tile_ptrs(y, ys, ny, py);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i z = _mm512_setzero_si512();
    const __m512i idx_d =
        _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6);
    const __m512i idx_m =
        _mm512_setr_epi32(1, 3, 5, 7, 1, 3, 5, 7, 1, 3, 5, 7, 1, 3, 5, 7);
    const __m512i idx_s =
        _mm512_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps(), _mm512_setzero_ps()};
    __m512 macc = _mm512_setzero_ps();
    const int64_t nb = n / KW_QK4_1;
    for (int64_t b = 0; b < nb; b++) {
        const size_t xo = (size_t)b * sizeof(struct kw_block_q4_1);
        const size_t yo = (size_t)b * sizeof(struct kw_block_q8_1);
        const __m512i q = load4x16(px, xo + 4);
        const __m512i xl = _mm512_and_si512(q, m4);
        const __m512i xh = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        const __m512 dmx = _mm512_castps256_ps512(gather_h8(px, xo));
        const __m512 dsy = _mm512_castps256_ps512(gather_h8(py, yo));
        const __m512 dx16 = _mm512_permutexvar_ps(idx_d, dmx);
        macc = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx_m, dmx),
                               _mm512_permutexvar_ps(idx_s, dsy), macc);
        for (int j = 0; j < ny; j++) {
            const int8_t *q8 = (const int8_t *)(py[j] + yo + 4);
            const __m512i p = _mm512_dpbusd_epi32(
                _mm512_dpbusd_epi32(z, xl, bcast16(q8)), xh, bcast16(q8 + 16));
            acc[j] = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(p),
                _mm512_mul_ps(dx16, lane_bcast(dsy, 2 * j)), acc[j]);
        }
    }
    float mt[16];
    _mm512_storeu_ps(mt, macc);
    tile_store(acc, nx, ny, s, ss, mt);
}

/* ---- q4_K x q8_K ----------------------------------------------------------- */

/* Word w of every lane: broadcast word w of that lane (per-row scale). */
KW_INLINE __m512i lane_word(__m512i v, int w) {
    return _mm512_shuffle_epi8(
        v, _mm512_set1_epi16((short)((2 * w) | ((2 * w + 1) << 8))));
}

/* 8 bytes at each of 4 addresses -> 32 int16 (lane i = row i). */
KW_INLINE __m512i rows_u8x8(const uint8_t *const a[4]) {
    uint64_t v[4];
    for (int k = 0; k < 4; k++) memcpy(&v[k], a[k], 8);
    return _mm512_cvtepu8_epi16(loadu256(v));
}
KW_INLINE __m512i rows_s8x8(const uint8_t *const a[4]) {
    uint64_t v[4];
    for (int k = 0; k < 4; k++) memcpy(&v[k], a[k], 8);
    return _mm512_cvtepi8_epi16(loadu256(v));
}

KW_INLINE void gemm_q4_K_t(int64_t n, const void *x, size_t xs, int nx,
                           const void *y, size_t ys, int ny, float *s,
                           size_t ss) {
    const uint8_t *px[4], *py[4];
    tile_ptrs(x, xs, nx, px);
    tile_ptrs(y, ys, ny, py);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps(), _mm512_setzero_ps()};
    const int64_t nb = n / KW_QK_K;
    for (int64_t b = 0; b < nb; b++) {
        const struct kw_block_q4_K *xb[4];
        const struct kw_block_q8_K *yb[4];
        uint8_t sm[4][16];
        const uint8_t *sc_p[4], *mn_p[4];
        for (int k = 0; k < 4; k++) {
            xb[k] = (const struct kw_block_q4_K *)px[k] + b;
            yb[k] = (const struct kw_block_q8_K *)py[k] + b;
            k4_scales(xb[k]->scales, sm[k]);
            sc_p[k] = sm[k];
            mn_p[k] = sm[k] + 8;
        }
        const __m512i scz = rows_u8x8(sc_p);
        const __m512i mnz = rows_u8x8(mn_p);
        const uint8_t *qp[4] = {xb[0]->qs, xb[1]->qs, xb[2]->qs, xb[3]->qs};
        /* mins: lane (i,g) gets m[2g] B[2g] + m[2g+1] B[2g+1], B the
         * 32-element activation sums; subtracted at the end */
        __m512i sumi[4], mins[4];
        for (int j = 0; j < ny; j++) {
            const __m256i bs = loadu256(yb[j]->bsums);
            const __m128i b8 = _mm_hadd_epi16(_mm256_castsi256_si128(bs),
                                              _mm256_extracti128_si256(bs, 1));
            mins[j] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mnz,
                                          _mm512_broadcast_i32x4(b8));
            sumi[j] = _mm512_setzero_si512();
        }
        for (int c = 0; c < 4; c++) {
            const __m512i qa = load4x16(qp, 32 * c);
            const __m512i qb = load4x16(qp, 32 * c + 16);
            const __m512i al = _mm512_and_si512(qa, m4);
            const __m512i bl = _mm512_and_si512(qb, m4);
            const __m512i ah = _mm512_and_si512(_mm512_srli_epi16(qa, 4), m4);
            const __m512i bh = _mm512_and_si512(_mm512_srli_epi16(qb, 4), m4);
            const __m512i s_lo = lane_word(scz, 2 * c);
            const __m512i s_hi = lane_word(scz, 2 * c + 1);
            for (int j = 0; j < ny; j++) {
                const int8_t *q8 = yb[j]->qs + 64 * c;
                const __m512i pl =
                    _mm512_add_epi16(_mm512_maddubs_epi16(al, bcast16(q8)),
                                     _mm512_maddubs_epi16(bl, bcast16(q8 + 16)));
                const __m512i ph = _mm512_add_epi16(
                    _mm512_maddubs_epi16(ah, bcast16(q8 + 32)),
                    _mm512_maddubs_epi16(bh, bcast16(q8 + 48)));
                sumi[j] = _mm512_dpwssd_epi32(sumi[j], pl, s_lo);
                sumi[j] = _mm512_dpwssd_epi32(sumi[j], ph, s_hi);
            }
        }
        uint16_t hd[4], hm[4];
        float dyv[4];
        for (int k = 0; k < 4; k++) {
            hd[k] = xb[k]->d;
            hm[k] = xb[k]->dmin;
            dyv[k] = yb[k]->d;
        }
        const __m512 d16 =
            rows16(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hd)));
        const __m512 dm16 =
            rows16(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hm)));
        for (int j = 0; j < ny; j++) {
            const __m512 dy = _mm512_set1_ps(dyv[j]);
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[j]),
                                     _mm512_mul_ps(d16, dy), acc[j]);
            acc[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mins[j]),
                                      _mm512_mul_ps(dm16, dy), acc[j]);
        }
    }
    tile_store(acc, nx, ny, s, ss, NULL);
}

/* ---- q6_K x q8_K ----------------------------------------------------------- */

/* One 16-byte lane per row is exactly one 16-element sub-block. The -32
 * offset becomes -32 * sum_k sc[k] * bsums[k], which starts each column's
 * integer accumulator. */
KW_INLINE void gemm_q6_K_t(int64_t n, const void *x, size_t xs, int nx,
                           const void *y, size_t ys, int ny, float *s,
                           size_t ss) {
    const uint8_t *px[4], *py[4];
    tile_ptrs(x, xs, nx, px);
    tile_ptrs(y, ys, ny, py);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps(), _mm512_setzero_ps()};
    const int64_t nb = n / KW_QK_K;
    for (int64_t b = 0; b < nb; b++) {
        const struct kw_block_q6_K *xb[4];
        const struct kw_block_q8_K *yb[4];
        for (int k = 0; k < 4; k++) {
            xb[k] = (const struct kw_block_q6_K *)px[k] + b;
            yb[k] = (const struct kw_block_q8_K *)py[k] + b;
        }
        const uint8_t *s0[4], *s1[4];
        for (int k = 0; k < 4; k++) {
            s0[k] = (const uint8_t *)xb[k]->scales;
            s1[k] = (const uint8_t *)xb[k]->scales + 8;
        }
        const __m512i sc_lo = rows_s8x8(s0), sc_hi = rows_s8x8(s1);
        const __m512i n32 = _mm512_set1_epi16(-32);
        const __m512i nsc_lo = _mm512_mullo_epi16(sc_lo, n32);
        const __m512i nsc_hi = _mm512_mullo_epi16(sc_hi, n32);
        __m512i sumi[4];
        for (int j = 0; j < ny; j++) {
            const int16_t *bs = yb[j]->bsums;
            sumi[j] = _mm512_dpwssd_epi32(
                _mm512_dpwssd_epi32(_mm512_setzero_si512(), nsc_lo, bcast16(bs)),
                nsc_hi, bcast16(bs + 8));
        }
        for (int h = 0; h < 2; h++) {
            for (int t = 0; t < 2; t++) {
                const uint8_t *pl[4], *ph[4];
                for (int k = 0; k < 4; k++) {
                    pl[k] = xb[k]->ql + 64 * h + 16 * t;
                    ph[k] = xb[k]->qh + 32 * h + 16 * t;
                }
                const __m512i qa = load4x16(pl, 0), qb = load4x16(pl, 32);
                const __m512i qh = load4x16(ph, 0);
                __m512i v[4];
                v[0] = _mm512_or_si512(
                    _mm512_and_si512(qa, m4),
                    _mm512_slli_epi16(_mm512_and_si512(qh, m2), 4));
                v[1] = _mm512_or_si512(
                    _mm512_and_si512(qb, m4),
                    _mm512_slli_epi16(
                        _mm512_and_si512(_mm512_srli_epi16(qh, 2), m2), 4));
                v[2] = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(qa, 4), m4),
                    _mm512_slli_epi16(
                        _mm512_and_si512(_mm512_srli_epi16(qh, 4), m2), 4));
                v[3] = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16(qb, 4), m4),
                    _mm512_slli_epi16(
                        _mm512_and_si512(_mm512_srli_epi16(qh, 6), m2), 4));
                for (int k = 0; k < 4; k++) {
                    /* sub-block 8h + 2k + t; its 16 y bytes */
                    const int sb = 8 * h + 2 * k + t;
                    const __m512i sc =
                        lane_word(sb < 8 ? sc_lo : sc_hi, sb & 7);
                    for (int j = 0; j < ny; j++) {
                        const int8_t *q8 = yb[j]->qs + 16 * sb;
                        sumi[j] = _mm512_dpwssd_epi32(
                            sumi[j], _mm512_maddubs_epi16(v[k], bcast16(q8)),
                            sc);
                    }
                }
            }
        }
        uint16_t hd[4];
        for (int k = 0; k < 4; k++) hd[k] = xb[k]->d;
        const __m512 d16 =
            rows16(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)hd)));
        for (int j = 0; j < ny; j++)
            acc[j] = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(sumi[j]),
                _mm512_mul_ps(d16, _mm512_set1_ps(yb[j]->d)), acc[j]);
    }
    tile_store(acc, nx, ny, s, ss, NULL);
}

/* ---- dispatch of tiles on the column count (constant inside) ---------- */

#define KW_TILE_ENTRY(type)                                                   \
    static void kw_gemm_##type##_avx512(int64_t n, const void *x, size_t xs,  \
                                        int nx, const void *y, size_t ys,     \
                                        int ny, float *s, size_t ss) {        \
        switch (ny) {                                                         \
        case 1: gemm_##type##_t(n, x, xs, nx, y, ys, 1, s, ss); break;        \
        case 2: gemm_##type##_t(n, x, xs, nx, y, ys, 2, s, ss); break;        \
        case 3: gemm_##type##_t(n, x, xs, nx, y, ys, 3, s, ss); break;        \
        default: gemm_##type##_t(n, x, xs, nx, y, ys, 4, s, ss); break;       \
        }                                                                     \
    }

KW_TILE_ENTRY(q4_0)
KW_TILE_ENTRY(q4_1)
KW_TILE_ENTRY(q8_0)
KW_TILE_ENTRY(q4_K)
KW_TILE_ENTRY(q6_K)

void kw__fill_quant_avx512(struct kw__isa_table *t) {
    kw_fill_common_avx512(t);
    t->gemm[KW_TYPE_Q4_0] = kw_gemm_q4_0_avx512;
    t->gemm[KW_TYPE_Q4_1] = kw_gemm_q4_1_avx512;
    t->gemm[KW_TYPE_Q8_0] = kw_gemm_q8_0_avx512;
    t->gemm[KW_TYPE_Q4_K] = kw_gemm_q4_K_avx512;
    t->gemm[KW_TYPE_Q6_K] = kw_gemm_q6_K_avx512;
}
