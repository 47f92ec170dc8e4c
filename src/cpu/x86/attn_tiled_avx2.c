/*
 * attn_tiled_avx2.c — AVX2+FMA+F16C batched attention (kw__attn_tiled_fn),
 * bit-identical to attn_tiled_ref.c. Same plan as attn_tiled_avx512.c
 * (scores kept transposed, 8 queries a vector; serial FMA chains per
 * element) with AVX-512's exp emulated as in ops_avx2.c.
 * Entry point: kw__fill_attn_tiled_avx2 (compiled with -mavx2 -mfma -mf16c).
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "cpu/isa_table.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define TILE KW__ATTN_TILE
#define NV (TILE / 8) /* query vectors per tile */

#include "cpu/x86/exp_avx2.h"

/* st[j][0..64) = sum_d k32[j][d] * qt[d][0..64): serial FMA chains from 0;
 * 4 keys x 16 queries a block. k32: (64, hd), qt: (hd, 64). */
static void scores(float *st, const float *k32, const float *qt, int64_t hd) {
    for (int j = 0; j < TILE; j += 4)
        for (int i = 0; i < TILE; i += 16) {
            __m256 acc[4][2];
            for (int r = 0; r < 4; r++)
                acc[r][0] = acc[r][1] = _mm256_setzero_ps();
            for (int64_t d = 0; d < hd; d++) {
                const __m256 b0 = _mm256_load_ps(qt + d * TILE + i);
                const __m256 b1 = _mm256_load_ps(qt + d * TILE + i + 8);
                for (int r = 0; r < 4; r++) {
                    const __m256 a = _mm256_broadcast_ss(k32 + (j + r) * hd + d);
                    acc[r][0] = _mm256_fmadd_ps(b0, a, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(b1, a, acc[r][1]);
                }
            }
            for (int r = 0; r < 4; r++) {
                _mm256_store_ps(st + (j + r) * TILE + i, acc[r][0]);
                _mm256_store_ps(st + (j + r) * TILE + i + 8, acc[r][1]);
            }
        }
}

/* vkq[i][c..c+16) += sum_j p[j][i] * v32[j][c..c+16) for rows i < rows in
 * blocks of 4; serial FMA chains over j. */
static void pv(float *vkq, const float *p, const float *v32, int64_t hp,
               int rows) {
    for (int i = 0; i < rows; i += 4)
        for (int64_t c = 0; c < hp; c += 16) {
            __m256 acc[4][2];
            for (int r = 0; r < 4; r++) {
                acc[r][0] = _mm256_load_ps(vkq + (i + r) * hp + c);
                acc[r][1] = _mm256_load_ps(vkq + (i + r) * hp + c + 8);
            }
            for (int j = 0; j < TILE; j++) {
                const __m256 b0 = _mm256_load_ps(v32 + j * hp + c);
                const __m256 b1 = _mm256_load_ps(v32 + j * hp + c + 8);
                for (int r = 0; r < 4; r++) {
                    const __m256 a = _mm256_broadcast_ss(p + j * TILE + i + r);
                    acc[r][0] = _mm256_fmadd_ps(b0, a, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(b1, a, acc[r][1]);
                }
            }
            for (int r = 0; r < 4; r++) {
                _mm256_store_ps(vkq + (i + r) * hp + c, acc[r][0]);
                _mm256_store_ps(vkq + (i + r) * hp + c + 8, acc[r][1]);
            }
        }
}

/* hd fp16 values to f32 at dst, zero-filled up to width */
static void load_row(float *dst, const uint16_t *src, int64_t hd,
                     int64_t width) {
    int64_t d = 0;
    for (; d + 8 <= hd; d += 8)
        _mm256_storeu_ps(dst + d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + d))));
    for (; d < hd; d++) dst[d] = kw__fp16_to_fp32(src[d]);
    for (; d < width; d++) dst[d] = 0.0f;
}

static void attn_tiled_avx2(float *out, size_t out_stride, const float *q,
                            size_t q_stride, int64_t nq, const uint16_t *k,
                            const uint16_t *v, size_t kv_stride, int64_t pos0,
                            int64_t hd, float scale, float *scratch) {
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

    const __m256 vscale = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
    const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    const int64_t n_kv = pos0 + nq; /* keys any row of the tile sees */
    for (int64_t ic = 0; ic < n_kv; ic += TILE) {
        const int kv_n = (int)KW_MIN((int64_t)TILE, n_kv - ic);
        for (int j = 0; j < kv_n; j++) {
            load_row(k32 + j * hd, k + (size_t)(ic + j) * kv_stride, hd, hd);
            load_row(v32 + j * hp, v + (size_t)(ic + j) * kv_stride, hd, hp);
        }
        if (kv_n < TILE) {
            memset(k32 + kv_n * hd, 0, sizeof(float) * (size_t)(TILE - kv_n) * (size_t)hd);
            memset(v32 + kv_n * hp, 0, sizeof(float) * (size_t)(TILE - kv_n) * (size_t)hp);
        }
        scores(st, k32, qt, hd);

        /* scale, causal mask (query i sees key ic + j iff ic + j <= pos0 +
         * i), the +0 of llama.cpp's mask, per-query tile maximum */
        __m256 vmax[NV];
        for (int c = 0; c < NV; c++) vmax[c] = ninf;
        for (int j = 0; j < TILE; j++) {
            const __m256 first_i = _mm256_set1_ps(j < kv_n ? (float)(ic + j - pos0)
                                                           : (float)TILE);
            for (int c = 0; c < NV; c++) {
                const __m256 idx = _mm256_add_ps(lane, _mm256_set1_ps((float)(8 * c)));
                const __m256 vis = _mm256_cmp_ps(idx, first_i, _CMP_GE_OQ);
                __m256 x = _mm256_mul_ps(_mm256_load_ps(st + j * TILE + 8 * c), vscale);
                x = _mm256_blendv_ps(ninf, _mm256_add_ps(x, _mm256_setzero_ps()), vis);
                _mm256_store_ps(st + j * TILE + 8 * c, x);
                vmax[c] = _mm256_max_ps(vmax[c], x);
            }
        }
        float tmax[TILE];
        for (int c = 0; c < NV; c++) _mm256_storeu_ps(tmax + 8 * c, vmax[c]);
        for (int i = 0; i < rows; i++) {
            if (tmax[i] == -INFINITY) continue; /* nothing visible */
            const float mnew = fmaxf(mrow[i], tmax[i]);
            if (mnew > mrow[i]) {
                const float ms = expf(mrow[i] - mnew);
                const __m256 vms = _mm256_set1_ps(ms);
                for (int64_t d = 0; d < hp; d += 8)
                    _mm256_store_ps(vkq + i * hp + d,
                                    _mm256_mul_ps(_mm256_load_ps(vkq + i * hp + d), vms));
                srow[i] *= ms;
            }
            mrow[i] = mnew;
        }

        /* exps; per query the 16-key group sums in _mm512_reduce_add_ps
         * order, added to a double total, which then joins S in double */
        for (int c = 0; c < NV; c++) {
            const __m256 vm = _mm256_loadu_ps(mrow + 8 * c);
            __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
            for (int g = 0; g < TILE; g += 16) {
                __m256 e[16];
                for (int l = 0; l < 16; l++) {
                    float *p = st + (g + l) * TILE + 8 * c;
                    e[l] = exp8(_mm256_sub_ps(_mm256_load_ps(p), vm));
                    _mm256_store_ps(p, e[l]);
                }
                __m256 h[8], qs[4];
                for (int l = 0; l < 8; l++) h[l] = _mm256_add_ps(e[l + 8], e[l]);
                for (int l = 0; l < 4; l++) qs[l] = _mm256_add_ps(h[l + 4], h[l]);
                const __m256 gs = _mm256_add_ps(_mm256_add_ps(qs[0], qs[2]),
                                                _mm256_add_ps(qs[1], qs[3]));
                lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(gs)));
                hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(gs, 1)));
            }
            const __m256 sv = _mm256_loadu_ps(srow + 8 * c);
            _mm_storeu_ps(srow + 8 * c, _mm256_cvtpd_ps(_mm256_add_pd(
                _mm256_cvtps_pd(_mm256_castps256_ps128(sv)), lo)));
            _mm_storeu_ps(srow + 8 * c + 4, _mm256_cvtpd_ps(_mm256_add_pd(
                _mm256_cvtps_pd(_mm256_extractf128_ps(sv, 1)), hi)));
        }
        pv(vkq, st, v32, hp, rows);
    }

    for (int64_t i = 0; i < nq; i++) {
        const float inv = srow[i] == 0.0f ? 0.0f : 1.0f / srow[i];
        const float *a = vkq + i * hp;
        float *o = out + (size_t)i * out_stride;
        for (int64_t d = 0; d < hd; d++) o[d] = a[d] * inv;
    }
}

void kw__fill_attn_tiled_avx2(struct kw__isa_table *t) {
    t->attn_tiled = attn_tiled_avx2;
}
