/*
 * attn_tiled_avx512.c — AVX-512 batched attention (kw__attn_tiled_fn),
 * bit-identical to attn_tiled_ref.c. Works on a tile of 64 queries against
 * 64-key tiles: scores are kept transposed (key rows, 16 queries a vector)
 * so the masking, maximum, exp and the 16-key group sums all run across
 * queries in lanes, and V accumulates with 4x(16..64) register blocks. Each
 * element is still the same serial FMA chain as in the reference.
 * Entry point: kw__fill_attn_tiled_avx512.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "cpu/isa_table.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define TILE KW__ATTN_TILE
#define NV (TILE / 16) /* query vectors per tile */

#include "cpu/x86/exp_avx512.h"

static inline __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* st[j][0..64) = sum_d k32[j][d] * qt[d][0..64), one serial FMA chain per
 * element starting from 0; four keys a block. k32: (64, hd), qt: (hd, 64). */
static void scores(float *st, const float *k32, const float *qt, int64_t hd) {
    for (int j = 0; j < TILE; j += 4) {
        __m512 acc[4][NV];
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < NV; c++) acc[r][c] = _mm512_setzero_ps();
        for (int64_t d = 0; d < hd; d++) {
            __m512 b[NV];
            for (int c = 0; c < NV; c++) b[c] = _mm512_load_ps(qt + d * TILE + 16 * c);
            for (int r = 0; r < 4; r++) {
                const __m512 a = _mm512_set1_ps(k32[(j + r) * hd + d]);
                for (int c = 0; c < NV; c++)
                    acc[r][c] = _mm512_fmadd_ps(b[c], a, acc[r][c]);
            }
        }
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < NV; c++)
                _mm512_store_ps(st + (j + r) * TILE + 16 * c, acc[r][c]);
    }
}

/* vkq[i][cols] += sum_j p[j][i] * v32[j][cols] for rows i0..i0+3 and RN
 * vectors of columns from c0; serial FMA chains over j. */
static inline __attribute__((always_inline)) void pv_block(
    float *vkq, const float *p, const float *v32, int64_t hp, int i0,
    int64_t c0, int rn) {
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < rn; c++)
            acc[r][c] = _mm512_load_ps(vkq + (i0 + r) * hp + c0 + 16 * c);
    for (int j = 0; j < TILE; j++) {
        __m512 b[4];
        for (int c = 0; c < rn; c++)
            b[c] = _mm512_load_ps(v32 + j * hp + c0 + 16 * c);
        for (int r = 0; r < 4; r++) {
            const __m512 a = _mm512_set1_ps(p[j * TILE + i0 + r]);
            for (int c = 0; c < rn; c++)
                acc[r][c] = _mm512_fmadd_ps(b[c], a, acc[r][c]);
        }
    }
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < rn; c++)
            _mm512_store_ps(vkq + (i0 + r) * hp + c0 + 16 * c, acc[r][c]);
}

static void pv(float *vkq, const float *p, const float *v32, int64_t hp,
               int rows) {
    for (int i = 0; i < rows; i += 4) {
        int64_t c = 0;
        for (; c + 64 <= hp; c += 64) pv_block(vkq, p, v32, hp, i, c, 4);
        switch ((hp - c) / 16) {
        case 3: pv_block(vkq, p, v32, hp, i, c, 3); break;
        case 2: pv_block(vkq, p, v32, hp, i, c, 2); break;
        case 1: pv_block(vkq, p, v32, hp, i, c, 1); break;
        default: break;
        }
    }
}

/* hd fp16 values to f32, zero-filled up to hp */
static void load_row(float *dst, const uint16_t *src, int64_t hd, int64_t hp) {
    for (int64_t d = 0; d < hp; d += 16) {
        const __mmask16 m = tail_mask(hd - d < 0 ? 0 : hd - d);
        const __m256i h = _mm256_maskz_loadu_epi16(m, src + d);
        _mm512_storeu_ps(dst + d, _mm512_cvtph_ps(h));
    }
}

static void attn_tiled_avx512(float *out, size_t out_stride, const float *q,
                              size_t q_stride, int64_t nq, const uint16_t *k,
                              const uint16_t *v, size_t kv_stride,
                              int64_t pos0, int64_t hd, float scale,
                              float *scratch) {
    const int64_t hp = (hd + 15) & ~(int64_t)15;
    float *qt = scratch;             /* (hd, 64) queries transposed */
    float *k32 = qt + TILE * hp;     /* (64, hd) key tile */
    float *v32 = k32 + TILE * hp;    /* (64, hp) value tile */
    float *vkq = v32 + TILE * hp;    /* (64, hp) output accumulators */
    float *st = vkq + TILE * hp;     /* (64 keys, 64 queries) scores */
    float *mrow = st + TILE * TILE;  /* (64) running maxima */
    float *srow = mrow + TILE;       /* (64) running sums */
    const int rows = (int)((nq + 3) & ~(int64_t)3);

    for (int64_t d = 0; d < hd; d++)
        for (int i = 0; i < TILE; i++)
            qt[d * TILE + i] = i < nq ? q[(size_t)i * q_stride + (size_t)d] : 0.0f;
    memset(vkq, 0, sizeof(float) * TILE * (size_t)hp);
    for (int i = 0; i < TILE; i++) mrow[i] = -INFINITY, srow[i] = 0.0f;

    const __m512 vscale = _mm512_set1_ps(scale);
    const __m512 lane = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                       12, 13, 14, 15);
    const int64_t n_kv = pos0 + nq; /* keys any row of the tile sees */
    for (int64_t ic = 0; ic < n_kv; ic += TILE) {
        const int kv_n = (int)KW_MIN((int64_t)TILE, n_kv - ic);
        for (int j = 0; j < kv_n; j++) {
            const uint16_t *kj = k + (size_t)(ic + j) * kv_stride;
            for (int64_t d = 0; d < hd; d += 16) {
                const __mmask16 m = tail_mask(hd - d);
                _mm512_mask_storeu_ps(k32 + j * hd + d, m,
                                      _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, kj + d)));
            }
            load_row(v32 + j * hp, v + (size_t)(ic + j) * kv_stride, hd, hp);
        }
        if (kv_n < TILE) {
            memset(k32 + kv_n * hd, 0, sizeof(float) * (size_t)(TILE - kv_n) * (size_t)hd);
            memset(v32 + kv_n * hp, 0, sizeof(float) * (size_t)(TILE - kv_n) * (size_t)hp);
        }
        scores(st, k32, qt, hd);

        /* scale, causal mask (query i sees key ic + j iff ic + j <= pos0 +
         * i), then the per-query tile maximum */
        __m512 vmax[NV];
        for (int c = 0; c < NV; c++) vmax[c] = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < TILE; j++) {
            /* lanes with i < first_i are masked */
            const float first_i = (float)(ic + j - pos0);
            for (int c = 0; c < NV; c++) {
                const __m512 idx = _mm512_add_ps(lane, _mm512_set1_ps((float)(16 * c)));
                const __mmask16 vis = j < kv_n ? _mm512_cmp_ps_mask(
                    idx, _mm512_set1_ps(first_i), _CMP_GE_OQ) : 0;
                __m512 x = _mm512_mul_ps(_mm512_load_ps(st + j * TILE + 16 * c), vscale);
                x = _mm512_mask_add_ps(_mm512_set1_ps(-INFINITY), vis, x,
                                       _mm512_setzero_ps());
                _mm512_store_ps(st + j * TILE + 16 * c, x);
                vmax[c] = _mm512_max_ps(vmax[c], x);
            }
        }
        float tmax[TILE];
        for (int c = 0; c < NV; c++) _mm512_storeu_ps(tmax + 16 * c, vmax[c]);
        for (int i = 0; i < rows; i++) {
            if (tmax[i] == -INFINITY) continue; /* nothing visible */
            const float mnew = fmaxf(mrow[i], tmax[i]);
            if (mnew > mrow[i]) {
                const float ms = expf(mrow[i] - mnew);
                const __m512 vms = _mm512_set1_ps(ms);
                for (int64_t d = 0; d < hp; d += 16)
                    _mm512_store_ps(vkq + i * hp + d,
                                    _mm512_mul_ps(_mm512_load_ps(vkq + i * hp + d), vms));
                srow[i] *= ms;
            }
            mrow[i] = mnew;
        }

        /* exps, and per query the four 16-key group sums in the lane order
         * of _mm512_reduce_add_ps, added to a double total, then to S */
        for (int c = 0; c < NV; c++) {
            const __m512 vm = _mm512_loadu_ps(mrow + 16 * c);
            __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
            for (int g = 0; g < TILE; g += 16) {
                __m512 e[16];
                for (int l = 0; l < 16; l++) {
                    float *p = st + (g + l) * TILE + 16 * c;
                    e[l] = exp16(_mm512_sub_ps(_mm512_load_ps(p), vm));
                    _mm512_store_ps(p, e[l]);
                }
                __m512 h[8], qs[4];
                for (int l = 0; l < 8; l++) h[l] = _mm512_add_ps(e[l + 8], e[l]);
                for (int l = 0; l < 4; l++) qs[l] = _mm512_add_ps(h[l + 4], h[l]);
                const __m512 gs = _mm512_add_ps(_mm512_add_ps(qs[0], qs[2]),
                                                _mm512_add_ps(qs[1], qs[3]));
                lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(gs)));
                hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(
                                           _mm512_extractf64x4_pd(_mm512_castps_pd(gs), 1))));
            }
            const __m512 sv = _mm512_loadu_ps(srow + 16 * c);
            const __m256 slo = _mm512_cvtpd_ps(_mm512_add_pd(
                _mm512_cvtps_pd(_mm512_castps512_ps256(sv)), lo));
            const __m256 shi = _mm512_cvtpd_ps(_mm512_add_pd(
                _mm512_cvtps_pd(_mm256_castpd_ps(
                    _mm512_extractf64x4_pd(_mm512_castps_pd(sv), 1))), hi));
            _mm256_storeu_ps(srow + 16 * c, slo);
            _mm256_storeu_ps(srow + 16 * c + 8, shi);
        }
        pv(vkq, st, v32, hp, rows);
    }

    for (int64_t i = 0; i < nq; i++) {
        const float inv = srow[i] == 0.0f ? 0.0f : 1.0f / srow[i];
        const __m512 vinv = _mm512_set1_ps(inv);
        float *o = out + (size_t)i * out_stride;
        for (int64_t d = 0; d < hd; d += 16)
            _mm512_mask_storeu_ps(o + d, tail_mask(hd - d),
                                  _mm512_mul_ps(_mm512_load_ps(vkq + i * hp + d), vinv));
    }
}

void kw__fill_attn_tiled_avx512(struct kw__isa_table *t) {
    t->attn_tiled = attn_tiled_avx512;
}
