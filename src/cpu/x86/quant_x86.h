/*
 * quant_x86.h — 256-bit quantized dot products, activation quantizers and
 * the loop-over-vec_dot gemm, written once and compiled twice: by
 * quant_avx2.c (maddubs/madd) and by quant_avx512.c (AVX512-VNNI dpbusd/
 * dpwssd on ymm). Include after defining KW_X86_VNNI (0/1) and KW_X86_SFX
 * (the ISA name pasted onto every function, e.g. avx2). Everything is
 * static; each .c file gets its own copy built with its ISA's flags.
 *
 * q4_1, q5_0, q8_0, q4_K and q6_K compute every output exactly as the x86
 * kernels llama.cpp runs (see the references in src/cpu/ref/): same int32
 * lanes, same fmas in the same order, same final tree (hsum_ps). No int16
 * pair sum of those paths can saturate, so AVX2 and VNNI agree bit for bit.
 */
#ifndef KW_CPU_X86_QUANT_X86_H
#define KW_CPU_X86_QUANT_X86_H

#include <immintrin.h>
#include <math.h>

#include "cpu/isa_table.h"
#include "cpu/ref/quant_blocks.h"

#define KW_X86_CAT2(a, b) a##b
#define KW_X86_CAT(a, b) KW_X86_CAT2(a, b)
/* kw_<op>_<type> -> kw_<op>_<type>_<isa> */
#define KWFN(name) KW_X86_CAT(KW_X86_CAT(kw_, name), KW_X86_CAT(_, KW_X86_SFX))

#define KW_INLINE static inline __attribute__((always_inline))

/* ---- integer dot primitives ------------------------------------------ */

/* acc + sum of 4 adjacent u8*s8 products per int32 lane. The AVX2 form
 * goes through maddubs, whose int16 pair sums saturate: callers keep
 * |u*s| pairs below 32767 (u <= 128 with |s| <= 127, or u <= 63). */
KW_INLINE __m256i dot_us(__m256i acc, __m256i u, __m256i s) {
#if KW_X86_VNNI
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    const __m256i p = _mm256_maddubs_epi16(u, s);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
#endif
}

/* acc + a[2k]*b[2k] + a[2k+1]*b[2k+1] per int32 lane (int16 inputs). */
KW_INLINE __m256i dot_ss16(__m256i acc, __m256i a, __m256i b) {
#if KW_X86_VNNI
    return _mm256_dpwssd_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

/* Sum of (u - off) * s per int32 lane (u <= 31, off <= 16). */
KW_INLINE __m256i dot_us_off(__m256i u, __m256i s, __m256i off) {
#if KW_X86_VNNI
    const __m256i z = _mm256_setzero_si256();
    return _mm256_sub_epi32(_mm256_dpbusd_epi32(z, u, s),
                            _mm256_dpbusd_epi32(z, off, s));
#else
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, s),
                                       _mm256_maddubs_epi16(off, s));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
#endif
}

/* Sum of a*b per int32 lane for two signed int8 vectors (|b| <= 127). */
KW_INLINE __m256i dot_ss8(__m256i a, __m256i b) {
    return dot_us(_mm256_setzero_si256(), _mm256_abs_epi8(a),
                  _mm256_sign_epi8(b, a));
}

/* ---- small helpers ---------------------------------------------------- */

KW_INLINE float h2f(uint16_t h) { return _cvtsh_ss(h); }

KW_INLINE float hsum_ps(__m256 v) {
    __m128 l = _mm_add_ps(_mm256_castps256_ps128(v),
                          _mm256_extractf128_ps(v, 1));
    l = _mm_add_ps(l, _mm_movehl_ps(l, l));
    l = _mm_add_ss(l, _mm_movehdup_ps(l));
    return _mm_cvtss_f32(l);
}

KW_INLINE int32_t hsum_epi32(__m256i v) {
    __m128i l = _mm_add_epi32(_mm256_castsi256_si128(v),
                              _mm256_extracti128_si256(v, 1));
    l = _mm_add_epi32(l, _mm_shuffle_epi32(l, 0x4E));
    l = _mm_add_epi32(l, _mm_shuffle_epi32(l, 0xB1));
    return _mm_cvtsi128_si32(l);
}

KW_INLINE __m256i loadu256(const void *p) {
    return _mm256_loadu_si256((const __m256i *)p);
}
KW_INLINE __m128i loadu128(const void *p) {
    return _mm_loadu_si128((const __m128i *)p);
}

/* 16 bytes of nibbles -> 32 bytes: low nibbles then high nibbles, which is
 * the element order of q4_0/q4_1/q5_x/iq4_nl blocks. */
KW_INLINE __m256i nibbles32(const uint8_t *qs) {
    const __m128i q = loadu128(qs);
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* Byte k = 0x10 when bit k of qh is set (the fifth bit of q5 elements). */
KW_INLINE __m256i q5_high_bits(const uint8_t *qh4) {
    uint32_t qh;
    memcpy(&qh, qh4, 4);
    const __m256i shuf = _mm256_set_epi64x(
        0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* Lane 0 (8 int16) = word 2p, lane 1 = word 2p+1 of a 16 x int16 vector:
 * the scales of the two 16-element halves of a 32-element slice. */
KW_INLINE __m256i scale_pair16(__m256i sc16, int p) {
    const __m256i dw = _mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(p));
    const __m256i shuf = _mm256_set_epi8(
        3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2,
        1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0);
    return _mm256_shuffle_epi8(dw, shuf);
}

/* q4_K/q5_K: 12 packed bytes -> sc[0..7] (bytes 0-7) and m[0..7]
 * (bytes 8-15), 6 bits each. */
KW_INLINE void k4_scales(const uint8_t *s12, uint8_t out[16]) {
    uint32_t w[3], o[4];
    memcpy(w, s12, 12);
    const uint32_t k6 = 0x3f3f3f3fu, k4 = 0x0f0f0f0fu, k2 = 0x03030303u;
    o[0] = w[0] & k6;
    o[1] = (w[2] & k4) | (((w[0] >> 6) & k2) << 4);
    o[2] = w[1] & k6;
    o[3] = ((w[2] >> 4) & k4) | (((w[1] >> 6) & k2) << 4);
    memcpy(out, o, 16);
}

/* ---- vec_dot: 32-element block types --------------------------------- */

static void KWFN(vec_dot_q4_0)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q4_0 *x = vx;
    const struct kw_block_q8_0 *y = vy;
    const int64_t nb = n / KW_QK4_0;
    const __m256i off = _mm256_set1_epi8(8);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m256i p0 = dot_us_off(nibbles32(x[i].qs), loadu256(y[i].qs), off);
        const __m256i p1 =
            dot_us_off(nibbles32(x[i + 1].qs), loadu256(y[i + 1].qs), off);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),
                               _mm256_cvtepi32_ps(p0), acc0);
        acc1 = _mm256_fmadd_ps(
            _mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d)),
            _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        const __m256i p0 = dot_us_off(nibbles32(x[i].qs), loadu256(y[i].qs), off);
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),
                               _mm256_cvtepi32_ps(p0), acc0);
    }
    *s = hsum_ps(_mm256_add_ps(acc0, acc1));
}

/* fp16 pair at p (d then m, or d then s) -> floats in lanes 0 and 1 */
KW_INLINE __m128 h2f_pair(const void *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)w));
}

/* q4_1/q5_1: per block (dx*dy, mx*sy) from one multiply of the two fp16
 * pairs; lane 1 of *msum collects the m*s terms (q5_1 only: ggml's generic
 * order is not followed there). */
KW_INLINE __m256 q_1_scale(const void *x, const void *y, __m128 *msum) {
    const __m128 p = _mm_mul_ps(h2f_pair(x), h2f_pair(y));
    *msum = _mm_add_ps(*msum, p);
    return _mm256_broadcastss_ps(p);
}

/* Scalar fused multiply-add (exact, one rounding). */
KW_INLINE float fma1(float a, float b, float c) { return fmaf(a, b, c); }

/* As ggml's x86 kernel: one 8-lane accumulator, fma(dx * dy, lanes) per
 * block, and the min term m * s as a fused scalar chain added after the
 * lanes' tree (kw__hsum8 order). */
static void KWFN(vec_dot_q4_1)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q4_1 *x = vx;
    const struct kw_block_q8_1 *y = vy;
    const int64_t nb = n / KW_QK4_1;
    const __m256i z = _mm256_setzero_si256();
    __m256 acc = _mm256_setzero_ps();
    float summs = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const __m256i p = dot_us(z, nibbles32(x[i].qs), loadu256(y[i].qs));
        summs = fma1(h2f(x[i].m), h2f(y[i].s), summs);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),
                              _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum_ps(acc) + summs;
}

static void KWFN(vec_dot_q5_0)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q5_0 *x = vx;
    const struct kw_block_q8_0 *y = vy;
    const int64_t nb = n / KW_QK5_0;
    const __m256i off = _mm256_set1_epi8(16);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m256i u =
            _mm256_or_si256(nibbles32(x[i].qs), q5_high_bits(x[i].qh));
        const __m256i p = dot_us_off(u, loadu256(y[i].qs), off);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),
                              _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum_ps(acc);
}

static void KWFN(vec_dot_q5_1)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q5_1 *x = vx;
    const struct kw_block_q8_1 *y = vy;
    const int64_t nb = n / KW_QK5_1;
    __m256 acc = _mm256_setzero_ps();
    __m128 ms = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m256i u =
            _mm256_or_si256(nibbles32(x[i].qs), q5_high_bits(x[i].qh));
        const __m256i p = dot_us(_mm256_setzero_si256(), u, loadu256(y[i].qs));
        acc = _mm256_fmadd_ps(q_1_scale(&x[i], &y[i], &ms),
                              _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum_ps(acc) + _mm_cvtss_f32(_mm_movehdup_ps(ms));
}

/* One accumulator, blocks in order: ggml's x86 vec_dot and tinyBLAS. */
static void KWFN(vec_dot_q8_0)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q8_0 *x = vx;
    const struct kw_block_q8_0 *y = vy;
    const int64_t nb = n / KW_QK8_0;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m256i p = dot_ss8(loadu256(x[i].qs), loadu256(y[i].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),
                              _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum_ps(acc);
}

/* The 16 iq4_nl levels in both 128-bit lanes, for pshufb lookups. */
KW_INLINE __m256i iq4nl_table(void) {
    return _mm256_broadcastsi128_si256(loadu128(kw__iq4nl_values));
}

static void KWFN(vec_dot_iq4_nl)(int64_t n, float *s, const void *vx,
                                 const void *vy) {
    const struct kw_block_iq4_nl *x = vx;
    const struct kw_block_q8_0 *y = vy;
    const int64_t nb = n / KW_QK4_NL;
    const __m256i tab = iq4nl_table();
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m256i v = _mm256_shuffle_epi8(tab, nibbles32(x[i].qs));
        const __m256i p = dot_ss8(v, loadu256(y[i].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)),
                              _mm256_cvtepi32_ps(p), acc);
    }
    *s = hsum_ps(acc);
}

/* ---- vec_dot: K-quants (256-element superblocks, x q8_K) ------------- */

/* q4_K, the way llama.cpp computes it (repacked weights; see
 * quant_ref_k.c): exact int32 sums per 64-element pair of sub-blocks,
 * S[p] = sc[2p] dot(2p) + sc[2p+1] dot(2p+1) and M[p] = m[2p] B(2p) +
 * m[2p+1] B(2p+1), as lanes 0..3. */
KW_INLINE void q4_K_pairs(const struct kw_block_q4_K *x,
                          const struct kw_block_q8_K *y, __m128i *S,
                          __m128i *M) {
    uint8_t sm[16];
    k4_scales(x->scales, sm);
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i t[4];
    for (int c = 0; c < 4; c++) {
        const __m256i q = loadu256(x->qs + 32 * c);
        const __m256i lo = _mm256_and_si256(q, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        const __m256i pl = _mm256_maddubs_epi16(lo, loadu256(y->qs + 64 * c));
        const __m256i ph =
            _mm256_maddubs_epi16(hi, loadu256(y->qs + 64 * c + 32));
        t[c] = dot_ss16(dot_ss16(_mm256_setzero_si256(), pl,
                                 _mm256_set1_epi16(sm[2 * c])),
                        ph, _mm256_set1_epi16(sm[2 * c + 1]));
    }
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(t[0], t[1]),
                                        _mm256_hadd_epi32(t[2], t[3]));
    *S = _mm_add_epi32(_mm256_castsi256_si128(h),
                       _mm256_extracti128_si256(h, 1));
    /* bsums pairs -> 32-element sums B(0..7), times the mins */
    const __m128i b8 = _mm_madd_epi16(loadu128(y->bsums), _mm_set1_epi16(1));
    const __m128i b8h =
        _mm_madd_epi16(loadu128(y->bsums + 8), _mm_set1_epi16(1));
    const __m128i bb = _mm_packs_epi32(b8, b8h); /* |B| <= 32*127 fits */
    const __m128i mn = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(sm + 8)));
    *M = _mm_madd_epi16(bb, mn);
}

/* Dot of one q4_K row with one q8_K row: per_pair 0 = ggml's gemv (one
 * fma per block), 1 = its 4-token gemm (one fma per pair). */
KW_INLINE float dot_q4_K_mode(int64_t nb, const struct kw_block_q4_K *x,
                              const struct kw_block_q8_K *y, int per_pair) {
    float a = 0.0f, m = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        __m128i S, M;
        q4_K_pairs(&x[i], &y[i], &S, &M);
        const float dd = h2f(x[i].d) * y[i].d;
        const float dm = h2f(x[i].dmin) * y[i].d;
        if (per_pair) {
            int32_t s4[4], m4[4];
            _mm_storeu_si128((__m128i *)s4, S);
            _mm_storeu_si128((__m128i *)m4, M);
            for (int p = 0; p < 4; p++) {
                a = fma1((float)s4[p], dd, a);
                m = fma1((float)m4[p], dm, m);
            }
        } else {
            S = _mm_add_epi32(S, _mm_shuffle_epi32(S, 0x4E));
            S = _mm_add_epi32(S, _mm_shuffle_epi32(S, 0xB1));
            M = _mm_add_epi32(M, _mm_shuffle_epi32(M, 0x4E));
            M = _mm_add_epi32(M, _mm_shuffle_epi32(M, 0xB1));
            a = fma1((float)_mm_cvtsi128_si32(S), dd, a);
            m = fma1((float)_mm_cvtsi128_si32(M), dm, m);
        }
    }
    return a - m;
}

static void KWFN(vec_dot_q4_K)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    *s = dot_q4_K_mode(n / KW_QK_K, vx, vy, 0);
}

/* Tile: a group of 4 tokens takes ggml's gemm numerics, fewer its gemv. */
static void KWFN(gemm_q4_K_pairs)(int64_t n, const void *x, size_t xs,
                                  int nx, const void *y, size_t ys, int ny,
                                  float *s, size_t ss) {
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++)
            s[(size_t)j * ss + (size_t)i] = dot_q4_K_mode(
                n / KW_QK_K,
                (const struct kw_block_q4_K *)((const char *)x + (size_t)i * xs),
                (const struct kw_block_q8_K *)((const char *)y + (size_t)j * ys),
                ny == 4);
}

static void KWFN(vec_dot_q5_K)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q5_K *x = vx;
    const struct kw_block_q8_K *y = vy;
    const int64_t nb = n / KW_QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i b0 = _mm256_set1_epi8(1), b1 = _mm256_set1_epi8(2);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        uint8_t sm[16];
        k4_scales(x[i].scales, sm);
        const uint8_t *q5 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i hb = loadu256(x[i].qh);
        __m256i sumi = _mm256_setzero_si256(), sumj = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i q = loadu256(q5 + 32 * c);
            /* bit 2c / 2c+1 of qh become bit 4 of the low / high nibble */
            const __m256i lo = _mm256_or_si256(
                _mm256_and_si256(q, m4),
                _mm256_slli_epi16(_mm256_and_si256(hb, b0), 4));
            const __m256i hi = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                _mm256_slli_epi16(_mm256_and_si256(hb, b1), 3));
            hb = _mm256_srli_epi16(hb, 2);
            const __m256i pl = _mm256_maddubs_epi16(lo, loadu256(q8 + 64 * c));
            const __m256i ph =
                _mm256_maddubs_epi16(hi, loadu256(q8 + 64 * c + 32));
            sumi = dot_ss16(sumi, pl, _mm256_set1_epi16(sm[2 * c]));
            sumj = dot_ss16(sumj, ph, _mm256_set1_epi16(sm[2 * c + 1]));
        }
        sumi = _mm256_add_epi32(sumi, sumj);
        const __m128i mv = _mm_loadl_epi64((const __m128i *)(sm + 8));
        const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mv, mv));
        const __m256i mp = _mm256_madd_epi16(m16, loadu256(y[i].bsums));
        const float dy = y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * h2f(x[i].d)),
                              _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * h2f(x[i].dmin)),
                               _mm256_cvtepi32_ps(mp), accm);
    }
    *s = hsum_ps(acc) - hsum_ps(accm);
}

/* q6_K block: ggml's 8 int32 lanes (see quant_ref_k.c), offset included. */
KW_INLINE __m256i q6_K_lanes(const struct kw_block_q6_K *x,
                             const struct kw_block_q8_K *y) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    const __m256i sc16 = _mm256_cvtepi8_epi16(loadu128(x->scales));
    /* the -32 offset of every element, through the 16-element sums */
    const __m256i corr =
        _mm256_slli_epi32(_mm256_madd_epi16(sc16, loadu256(y->bsums)), 5);
    __m256i sumi = _mm256_setzero_si256(), sumj = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = x->ql + 64 * h;
        const __m256i qa = loadu256(ql), qb = loadu256(ql + 32);
        const __m256i qh = loadu256(x->qh + 32 * h);
        const int8_t *q8 = y->qs + 128 * h;
        const __m256i v0 = _mm256_or_si256(
            _mm256_and_si256(qa, m4),
            _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
        const __m256i v1 = _mm256_or_si256(
            _mm256_and_si256(qb, m4),
            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2),
                              4));
        const __m256i v2 = _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16(qa, 4), m4),
            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2),
                              4));
        const __m256i v3 = _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16(qb, 4), m4),
            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2),
                              4));
        sumi = dot_ss16(sumi, _mm256_maddubs_epi16(v0, loadu256(q8)),
                        scale_pair16(sc16, 4 * h + 0));
        sumj = dot_ss16(sumj, _mm256_maddubs_epi16(v1, loadu256(q8 + 32)),
                        scale_pair16(sc16, 4 * h + 1));
        sumi = dot_ss16(sumi, _mm256_maddubs_epi16(v2, loadu256(q8 + 64)),
                        scale_pair16(sc16, 4 * h + 2));
        sumj = dot_ss16(sumj, _mm256_maddubs_epi16(v3, loadu256(q8 + 96)),
                        scale_pair16(sc16, 4 * h + 3));
    }
    return _mm256_sub_epi32(_mm256_add_epi32(sumi, sumj), corr);
}

static void KWFN(vec_dot_q6_K)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q6_K *x = vx;
    const struct kw_block_q8_K *y = vy;
    const int64_t nb = n / KW_QK_K;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++)
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)),
                              _mm256_cvtepi32_ps(q6_K_lanes(&x[i], &y[i])),
                              acc);
    *s = hsum_ps(acc);
}

/* q6_K for batches of >= KW__WIDE_BATCH tokens (ggml's tiled kernel): one
 * exact integer per block, acc = fma(S * x.d, y.d, acc). */
static void KWFN(gemm_wide_q6_K)(int64_t n, const void *x, size_t xs, int nx,
                                 const void *y, size_t ys, int ny, float *s,
                                 size_t ss) {
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            const struct kw_block_q6_K *xr =
                (const void *)((const char *)x + (size_t)i * xs);
            const struct kw_block_q8_K *yr =
                (const void *)((const char *)y + (size_t)j * ys);
            float acc = 0.0f;
            for (int64_t b = 0; b < n / KW_QK_K; b++) {
                const int32_t S = hsum_epi32(q6_K_lanes(&xr[b], &yr[b]));
                acc = fma1((float)S * h2f(xr[b].d), yr[b].d, acc);
            }
            s[(size_t)j * ss + (size_t)i] = acc;
        }
}

static void KWFN(vec_dot_q3_K)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q3_K *x = vx;
    const struct kw_block_q8_K *y = vy;
    const int64_t nb = n / KW_QK_K;
    const __m256i m2 = _mm256_set1_epi8(3), b0 = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        int8_t sc8[16];
        kw__q3_K_scales(x[i].scales, sc8);
        const __m256i sc16 = _mm256_sub_epi16(
            _mm256_cvtepi8_epi16(loadu128(sc8)), _mm256_set1_epi16(32));
        /* elements are q - 4 (+4 back when the hmask bit is set): take the
         * -4 out through the 16-element sums */
        const __m256i corr = _mm256_slli_epi32(
            _mm256_madd_epi16(sc16, loadu256(y[i].bsums)), 2);
        __m256i hm = loadu256(x[i].hmask);
        __m256i sum2[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int h = 0; h < 2; h++) {
            __m256i q = loadu256(x[i].qs + 32 * h);
            const int8_t *q8 = y[i].qs + 128 * h;
            for (int k = 0; k < 4; k++) {
                const __m256i u = _mm256_or_si256(
                    _mm256_and_si256(q, m2),
                    _mm256_slli_epi16(_mm256_and_si256(hm, b0), 2));
                q = _mm256_srli_epi16(q, 2);
                hm = _mm256_srli_epi16(hm, 1);
                sum2[k & 1] = dot_ss16(
                    sum2[k & 1], _mm256_maddubs_epi16(u, loadu256(q8 + 32 * k)),
                    scale_pair16(sc16, 4 * h + k));
            }
        }
        const __m256i sumi =
            _mm256_sub_epi32(_mm256_add_epi32(sum2[0], sum2[1]), corr);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)),
                              _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc);
}

static void KWFN(vec_dot_q2_K)(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const struct kw_block_q2_K *x = vx;
    const struct kw_block_q8_K *y = vy;
    const int64_t nb = n / KW_QK_K;
    const __m256i m2 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const __m128i sb = loadu128(x[i].scales);
        const __m256i sc16 = _mm256_cvtepu8_epi16(
            _mm_and_si128(sb, _mm_set1_epi8(0x0F)));
        const __m256i mn16 = _mm256_cvtepu8_epi16(
            _mm_and_si128(_mm_srli_epi16(sb, 4), _mm_set1_epi8(0x0F)));
        const __m256i mp = _mm256_madd_epi16(mn16, loadu256(y[i].bsums));
        __m256i sum2[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int h = 0; h < 2; h++) {
            __m256i q = loadu256(x[i].qs + 32 * h);
            const int8_t *q8 = y[i].qs + 128 * h;
            for (int k = 0; k < 4; k++) {
                const __m256i u = _mm256_and_si256(q, m2);
                q = _mm256_srli_epi16(q, 2);
                sum2[k & 1] = dot_ss16(
                    sum2[k & 1], _mm256_maddubs_epi16(u, loadu256(q8 + 32 * k)),
                    scale_pair16(sc16, 4 * h + k));
            }
        }
        const __m256i sumi = _mm256_add_epi32(sum2[0], sum2[1]);
        const float dy = y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * h2f(x[i].d)),
                              _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * h2f(x[i].dmin)),
                               _mm256_cvtepi32_ps(mp), accm);
    }
    *s = hsum_ps(acc) - hsum_ps(accm);
}

static void KWFN(vec_dot_iq4_xs)(int64_t n, float *s, const void *vx,
                                 const void *vy) {
    const struct kw_block_iq4_xs *x = vx;
    const struct kw_block_q8_K *y = vy;
    const int64_t nb = n / KW_QK_K;
    const __m256i tab = iq4nl_table();
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const unsigned sh = x[i].scales_h;
        __m256i sumi = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) |
                           (((sh >> (2 * ib)) & 3) << 4);
            const __m256i v =
                _mm256_shuffle_epi8(tab, nibbles32(x[i].qs + 16 * ib));
            const __m256i q8 = loadu256(y[i].qs + 32 * ib);
            const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(v),
                                                   _mm256_sign_epi8(q8, v));
            sumi = dot_ss16(sumi, p, _mm256_set1_epi16((short)(ls - 32)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)),
                              _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc);
}

/* ---- vec_dot: f16 x f16 ---------------------------------------------- */

static void KWFN(vec_dot_f16)(int64_t n, float *s, const void *vx,
                              const void *vy) {
    const uint16_t *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(loadu128(x + i)),
                             _mm256_cvtph_ps(loadu128(y + i)), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(loadu128(x + i + 8)),
                             _mm256_cvtph_ps(loadu128(y + i + 8)), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(loadu128(x + i + 16)),
                             _mm256_cvtph_ps(loadu128(y + i + 16)), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(loadu128(x + i + 24)),
                             _mm256_cvtph_ps(loadu128(y + i + 24)), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(loadu128(x + i)),
                             _mm256_cvtph_ps(loadu128(y + i)), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1),
                                      _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += h2f(x[i]) * h2f(y[i]);
    *s = sum;
}

/* ---- activation quantizers ------------------------------------------- */

/* 4 x 8 int32 (in range) -> 32 int8 in element order. */
KW_INLINE __m256i pack32_epi8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    return _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd),
                                       _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

KW_INLINE float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* One 32-float block as the reference does it: d = amax/127, q =
 * round-half-even(x * (127/amax)). Returns the int8 values; *d_out = d. */
KW_INLINE __m256i quant32(const float *x, float *d_out, __m256i *sum) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    const __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 mx = _mm256_max_ps(
        _mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
        _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    const float amax = hmax_ps(mx);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const __m256 vid = _mm256_set1_ps(id);
    const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid));
    const __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid));
    const __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid));
    const __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid));
    if (sum)
        *sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1),
                                _mm256_add_epi32(i2, i3));
    *d_out = d;
    return pack32_epi8(i0, i1, i2, i3);
}

static void KWFN(quantize_q8_0)(const float *x, void *vy, int64_t n) {
    struct kw_block_q8_0 *y = vy;
    const int64_t nb = n / KW_QK8_0;
    for (int64_t i = 0; i < nb; i++) {
        float d;
        const __m256i q = quant32(x + 32 * i, &d, NULL);
        y[i].d = kw__fp32_to_fp16(d);
        _mm256_storeu_si256((__m256i *)y[i].qs, q);
    }
}

static void KWFN(quantize_q8_1)(const float *x, void *vy, int64_t n) {
    struct kw_block_q8_1 *y = vy;
    const int64_t nb = n / KW_QK8_1;
    for (int64_t i = 0; i < nb; i++) {
        float d;
        __m256i sum;
        const __m256i q = quant32(x + 32 * i, &d, &sum);
        y[i].d = kw__fp32_to_fp16(d);
        y[i].s = kw__fp32_to_fp16((float)hsum_epi32(sum) * d);
        _mm256_storeu_si256((__m256i *)y[i].qs, q);
    }
}

/* q8_K as the reference: the signed value of largest magnitude (first one
 * on ties) sets iscale = -127/max; q = nearest_int(iscale * x), which is
 * round-half-even, i.e. cvtps under the default MXCSR rounding; min 127. */
static void KWFN(quantize_q8_K)(const float *x, void *vy, int64_t n) {
    struct kw_block_q8_K *y = vy;
    const int64_t nb = n / KW_QK_K;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < nb; i++, x += KW_QK_K) {
        __m256 mx = _mm256_setzero_ps();
        for (int j = 0; j < KW_QK_K; j += 8)
            mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        const float amax = hmax_ps(mx);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        const __m256 va = _mm256_set1_ps(amax);
        float max = amax;
        for (int j = 0; j < KW_QK_K; j += 8) {
            const __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j));
            const int m = _mm256_movemask_ps(_mm256_cmp_ps(a, va, _CMP_EQ_OQ));
            if (m) {
                max = x[j + __builtin_ctz((unsigned)m)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        const __m256i flip = _mm256_set1_epi8((char)0x80);
        for (int j = 0; j < KW_QK_K; j += 32) {
            __m256i q[4];
            for (int k = 0; k < 4; k++)
                q[k] = _mm256_min_epi32(
                    lim, _mm256_cvtps_epi32(_mm256_mul_ps(
                             vs, _mm256_loadu_ps(x + j + 8 * k))));
            const __m256i b = pack32_epi8(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), b);
            /* sums of 16 via sad on the +128-biased bytes: 4 sums of 8 */
            const __m256i sad =
                _mm256_sad_epu8(_mm256_xor_si256(b, flip), _mm256_setzero_si256());
            int64_t s8[4];
            memcpy(s8, &sad, sizeof(s8));
            y[i].bsums[j / 16] = (int16_t)(s8[0] + s8[1] - 16 * 128);
            y[i].bsums[j / 16 + 1] = (int16_t)(s8[2] + s8[3] - 16 * 128);
        }
        y[i].d = 1.0f / iscale;
    }
}

/* ---- gemm by repeated vec_dot (types without a tile kernel) ---------- */

#define KW_X86_GEMM_LOOP(name, vec_dot)                                       \
    static void name(int64_t n, const void *x, size_t x_stride, int nx,       \
                     const void *y, size_t y_stride, int ny, float *s,        \
                     size_t s_stride) {                                       \
        for (int j = 0; j < ny; j++)                                          \
            for (int i = 0; i < nx; i++)                                      \
                vec_dot(n, &s[(size_t)j * s_stride + (size_t)i],              \
                        (const char *)x + (size_t)i * x_stride,               \
                        (const char *)y + (size_t)j * y_stride);              \
    }

KW_X86_GEMM_LOOP(KWFN(gemm_loop_q5_1), KWFN(vec_dot_q5_1))
KW_X86_GEMM_LOOP(KWFN(gemm_loop_q2_K), KWFN(vec_dot_q2_K))
KW_X86_GEMM_LOOP(KWFN(gemm_loop_q3_K), KWFN(vec_dot_q3_K))
KW_X86_GEMM_LOOP(KWFN(gemm_loop_q5_K), KWFN(vec_dot_q5_K))
KW_X86_GEMM_LOOP(KWFN(gemm_loop_q6_K), KWFN(vec_dot_q6_K))
KW_X86_GEMM_LOOP(KWFN(gemm_loop_iq4_nl), KWFN(vec_dot_iq4_nl))
KW_X86_GEMM_LOOP(KWFN(gemm_loop_iq4_xs), KWFN(vec_dot_iq4_xs))
KW_X86_GEMM_LOOP(KWFN(gemm_loop_f16), KWFN(vec_dot_f16))

/* ---- row x up-to-4-columns tiles with vec_dot's exact numerics --------- */

/* One weight row's 32 quants of block b as int8 (q8_0, q5_0) or nibbles
 * (q4_1), in element order. */
KW_INLINE __m256i row_block(uint32_t t, const uint8_t *row, int64_t b) {
    switch (t) {
    case KW_TYPE_Q4_1:
        return nibbles32(((const struct kw_block_q4_1 *)row)[b].qs);
    case KW_TYPE_Q5_0: {
        const struct kw_block_q5_0 *x = (const struct kw_block_q5_0 *)row + b;
        return _mm256_sub_epi8(
            _mm256_or_si256(nibbles32(x->qs), q5_high_bits(x->qh)),
            _mm256_set1_epi8(16));
    }
    default:
        return loadu256(((const struct kw_block_q8_0 *)row)[b].qs);
    }
}

/* Each weight row is expanded once per block and dotted with all ny
 * columns: per (row, column) the same 8-lane fma chain as vec_dot. */
KW_INLINE void gemm_cols(uint32_t t, int64_t n, const void *x, size_t xs,
                         int nx, const void *y, size_t ys, int ny, float *s,
                         size_t ss) {
    const int64_t nb = n / 32;
    const size_t xb = t == KW_TYPE_Q4_1 ? sizeof(struct kw_block_q4_1)
                      : t == KW_TYPE_Q5_0 ? sizeof(struct kw_block_q5_0)
                                          : sizeof(struct kw_block_q8_0);
    const size_t yb = t == KW_TYPE_Q4_1 ? sizeof(struct kw_block_q8_1)
                                        : sizeof(struct kw_block_q8_0);
    const size_t yq = t == KW_TYPE_Q4_1 ? 4 : 2; /* offset of y's quants */
    for (int i = 0; i < nx; i++) {
        const uint8_t *row = (const uint8_t *)x + (size_t)i * xs;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                         _mm256_setzero_ps(), _mm256_setzero_ps()};
        float summs[4] = {0, 0, 0, 0};
        for (int64_t b = 0; b < nb; b++) {
            const __m256i q = row_block(t, row, b);
            const uint8_t *xblk = row + (size_t)b * xb;
            uint16_t dxh;
            memcpy(&dxh, xblk, 2);
            const float dx = h2f(dxh);
            for (int j = 0; j < ny; j++) {
                const uint8_t *yblk =
                    (const uint8_t *)y + (size_t)j * ys + (size_t)b * yb;
                uint16_t dyh;
                memcpy(&dyh, yblk, 2);
                const __m256i qy = loadu256(yblk + yq);
                __m256i p;
                if (t == KW_TYPE_Q4_1) {
                    uint16_t mh, sh;
                    memcpy(&mh, xblk + 2, 2);
                    memcpy(&sh, yblk + 2, 2);
                    summs[j] = fma1(h2f(mh), h2f(sh), summs[j]);
                    p = dot_us(_mm256_setzero_si256(), q, qy);
                } else {
                    p = dot_ss8(q, qy);
                }
                acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h2f(dyh)),
                                         _mm256_cvtepi32_ps(p), acc[j]);
            }
        }
        for (int j = 0; j < ny; j++)
            s[(size_t)j * ss + (size_t)i] = hsum_ps(acc[j]) + summs[j];
    }
}

#define KW_X86_GEMM_COLS(name, type)                                          \
    static void name(int64_t n, const void *x, size_t xs, int nx,             \
                     const void *y, size_t ys, int ny, float *s, size_t ss) { \
        gemm_cols(type, n, x, xs, nx, y, ys, ny, s, ss);                      \
    }

KW_X86_GEMM_COLS(KWFN(gemm_cols_q4_1), KW_TYPE_Q4_1)
KW_X86_GEMM_COLS(KWFN(gemm_cols_q5_0), KW_TYPE_Q5_0)
KW_X86_GEMM_COLS(KWFN(gemm_cols_q8_0), KW_TYPE_Q8_0)

/* Entries common to both ISA files; each file then adds its tiles. The
 * wide q6_K tile is returned by kw__gemm_wide_<isa> (quant_ref.h). */
static void KWFN(fill_common)(struct kw__isa_table *t) {
    t->vec_dot[KW_TYPE_Q4_0] = KWFN(vec_dot_q4_0);
    t->vec_dot[KW_TYPE_Q4_1] = KWFN(vec_dot_q4_1);
    t->vec_dot[KW_TYPE_Q5_0] = KWFN(vec_dot_q5_0);
    t->vec_dot[KW_TYPE_Q5_1] = KWFN(vec_dot_q5_1);
    t->vec_dot[KW_TYPE_Q8_0] = KWFN(vec_dot_q8_0);
    t->vec_dot[KW_TYPE_Q2_K] = KWFN(vec_dot_q2_K);
    t->vec_dot[KW_TYPE_Q3_K] = KWFN(vec_dot_q3_K);
    t->vec_dot[KW_TYPE_Q4_K] = KWFN(vec_dot_q4_K);
    t->vec_dot[KW_TYPE_Q5_K] = KWFN(vec_dot_q5_K);
    t->vec_dot[KW_TYPE_Q6_K] = KWFN(vec_dot_q6_K);
    t->vec_dot[KW_TYPE_IQ4_NL] = KWFN(vec_dot_iq4_nl);
    t->vec_dot[KW_TYPE_IQ4_XS] = KWFN(vec_dot_iq4_xs);
    t->vec_dot[KW_TYPE_F16] = KWFN(vec_dot_f16);
    t->gemm[KW_TYPE_Q4_1] = KWFN(gemm_cols_q4_1);
    t->gemm[KW_TYPE_Q5_0] = KWFN(gemm_cols_q5_0);
    t->gemm[KW_TYPE_Q8_0] = KWFN(gemm_cols_q8_0);
    t->gemm[KW_TYPE_Q4_K] = KWFN(gemm_q4_K_pairs);
    t->gemm[KW_TYPE_Q6_K] = KWFN(gemm_loop_q6_K);
    t->gemm[KW_TYPE_Q5_1] = KWFN(gemm_loop_q5_1);
    t->gemm[KW_TYPE_Q2_K] = KWFN(gemm_loop_q2_K);
    t->gemm[KW_TYPE_Q3_K] = KWFN(gemm_loop_q3_K);
    t->gemm[KW_TYPE_Q5_K] = KWFN(gemm_loop_q5_K);
    t->gemm[KW_TYPE_IQ4_NL] = KWFN(gemm_loop_iq4_nl);
    t->gemm[KW_TYPE_IQ4_XS] = KWFN(gemm_loop_iq4_xs);
    t->gemm[KW_TYPE_F16] = KWFN(gemm_loop_f16);
    t->from_float[KW_TYPE_Q8_0] = KWFN(quantize_q8_0);
    t->from_float[KW_TYPE_Q8_1] = KWFN(quantize_q8_1);
    t->from_float[KW_TYPE_Q8_K] = KWFN(quantize_q8_K);
}

#endif /* KW_CPU_X86_QUANT_X86_H */
