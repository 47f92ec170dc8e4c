/*
 * nn_kern.h — float32 kernels for pooling, depthwise convolution, the
 * fused activations and matrix-vector products, written as plain loops
 * shaped for the vectoriser (fixed-width accumulator blocks, unit-stride
 * inner loops). Included once by nn_kern_avx2.c and once by
 * nn_kern_avx512.c, which set KW_NN_KERN_NAME; each inclusion compiles
 * the same source under that file's -m flags and defines one
 * struct kw__nn_kern table. The scalar references stay in pool.c, conv.c
 * and fuse.c; these keep their per-element summation order, except the
 * depthwise 3x3 / 5x5 fast path (dw_fast), which uses FMA.
 */
#ifndef KW_NN_KERN_NAME
#error "define KW_NN_KERN_NAME before including nn_kern.h"
#endif

#include "onnx/ops/nn_internal.h"

/* accumulator block: one zmm or two ymm */
#define VL 16


/* y[i] = act(y[i]) with the formulas of fuse.c; one loop per kind so each
 * vectorises on its own. */
static void k_act(float *restrict y, int64_t n, int act, float a, float b) {
    int64_t i;
    switch (act) {
    case KW_ACT_NONE: return;
    case KW_ACT_RELU:
        for (i = 0; i < n; i++) y[i] = y[i] > 0 ? y[i] : 0;
        return;
    case KW_ACT_CLIP:
        for (i = 0; i < n; i++) {
            float x = y[i];
            x = x < a ? a : x;
            y[i] = x > b ? b : x;
        }
        return;
    case KW_ACT_LEAKY_RELU:
        for (i = 0; i < n; i++) y[i] = y[i] >= 0 ? y[i] : a * y[i];
        return;
    case KW_ACT_HARD_SIGMOID:
        for (i = 0; i < n; i++) {
            float t = a * y[i] + b;
            t = t < 0 ? 0 : t;
            y[i] = t > 1 ? 1 : t;
        }
        return;
    case KW_ACT_HARD_SWISH:
        for (i = 0; i < n; i++) {
            float t = y[i] / 6.0f + 0.5f;
            t = t < 0 ? 0 : t;
            t = t > 1 ? 1 : t;
            y[i] = y[i] * t;
        }
        return;
    default:
        for (i = 0; i < n; i++) y[i] = kw__act_apply(act, y[i], a, b);
        return;
    }
}

/* ---- 2-D max / average pooling of one plane ---- */

/* One output cell (the border cells): the window clipped to the input
 * first, then the taps in the reference's order. */
static float pool_cell(const struct kw__pool2d *p, const float *x, int64_t oh,
                       int64_t ow) {
    const int64_t hs = oh * p->sh - p->pt, ws = ow * p->sw - p->pl;
    const int64_t h0 = hs < 0 ? 0 : hs, h1 = hs + p->kh < p->ih ? hs + p->kh : p->ih;
    const int64_t w0 = ws < 0 ? 0 : ws, w1 = ws + p->kw < p->iw ? ws + p->kw : p->iw;
    if (h0 >= h1 || w0 >= w1) return 0.0f;
    if (p->is_max) {
        float best = x[h0 * p->iw + w0];
        for (int64_t h = h0; h < h1; h++)
            for (int64_t w = h == h0 ? w0 + 1 : w0; w < w1; w++) {
                const float v = x[h * p->iw + w];
                if (v > best) best = v; /* NaN never wins */
            }
        return best;
    }
    float acc = 0.0f;
    for (int64_t h = h0; h < h1; h++)
        for (int64_t w = w0; w < w1; w++) acc += x[h * p->iw + w];
    int64_t cnt = (h1 - h0) * (w1 - w0);
    if (p->count_pad) {
        const int64_t a = hs < -p->pt ? -p->pt : hs;
        const int64_t b = hs + p->kh > p->ih + p->pb ? p->ih + p->pb : hs + p->kh;
        const int64_t c = ws < -p->pl ? -p->pl : ws;
        const int64_t d = ws + p->kw > p->iw + p->pr ? p->iw + p->pr : ws + p->kw;
        cnt = (b - a) * (d - c);
    }
    return acc / (float)cnt;
}

/* VL (16) floats as one zmm or two ymm */
#include <immintrin.h>
#ifdef __AVX512F__
typedef __m512 vf;
static inline vf vf_set1(float a) { return _mm512_set1_ps(a); }
static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
/* p[0], p[2], ..., p[30] (p[31] is not read) */
static inline vf vf_load_s2(const float *p) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                          20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), idx,
                                  _mm512_maskz_loadu_ps(0x7fff, p + 16));
}
static inline void vf_store(float *p, vf a) { _mm512_storeu_ps(p, a); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
/* a > b ? a : b, as MAXPS: a NaN in either keeps b */
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
#else
typedef struct { __m256 lo, hi; } vf;
static inline vf vf_set1(float a) {
    return (vf){_mm256_set1_ps(a), _mm256_set1_ps(a)};
}
static inline vf vf_load(const float *p) {
    return (vf){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
}
static inline __m256 even8(__m256 a, __m256 b) {
    /* a0 a2 b0 b2 | a4 a6 b4 b6 -> a0 a2 a4 a6 b0 b2 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xd8));
}
static inline vf vf_load_s2(const float *p) {
    const __m256i m7 = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, -1, 0);
    return (vf){even8(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)),
                even8(_mm256_loadu_ps(p + 16), _mm256_maskload_ps(p + 24, m7))};
}
static inline void vf_store(float *p, vf a) {
    _mm256_storeu_ps(p, a.lo);
    _mm256_storeu_ps(p + 8, a.hi);
}
static inline vf vf_add(vf a, vf b) {
    return (vf){_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
}
static inline vf vf_max(vf a, vf b) {
    return (vf){_mm256_max_ps(a.lo, b.lo), _mm256_max_ps(a.hi, b.hi)};
}
static inline vf vf_mul(vf a, vf b) {
    return (vf){_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)};
}
#endif

/* VL inputs from p with stride sw */
static inline vf vf_load_s(const float *p, int64_t sw) {
    if (sw == 1) return vf_load(p);
    if (sw == 2) return vf_load_s2(p);
    float t[VL];
    for (int i = 0; i < VL; i++) t[i] = p[i * sw];
    return vf_load(t);
}

/* nb (1..4) blocks of VL outputs from input column c0 over rows
 * [r0, r1), held in registers (independent chains, so the adds overlap);
 * taps in the reference's order; the average multiplies by 1/cnt */
static inline __attribute__((always_inline)) void
pool_blocks(const int nb, const struct kw__pool2d *p, const float *x,
            int64_t r0, int64_t r1, int64_t c0, float cnt, float *yo) {
    const int64_t IW = p->iw, KW = p->kw, sw = p->sw;
    vf acc[4];
    if (p->is_max) {
        for (int b = 0; b < nb; b++)
            acc[b] = vf_load_s(x + r0 * IW + c0 + b * VL * sw, sw);
        for (int64_t r = r0; r < r1; r++)
            for (int64_t kw = r == r0 ? 1 : 0; kw < KW; kw++) {
                const float *xs = x + r * IW + c0 + kw;
                for (int b = 0; b < nb; b++)
                    acc[b] = vf_max(vf_load_s(xs + b * VL * sw, sw), acc[b]);
            }
    } else {
        for (int b = 0; b < nb; b++) acc[b] = vf_set1(0.0f);
        for (int64_t r = r0; r < r1; r++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const float *xs = x + r * IW + c0 + kw;
                for (int b = 0; b < nb; b++)
                    acc[b] = vf_add(acc[b], vf_load_s(xs + b * VL * sw, sw));
            }
        const vf inv = vf_set1(1.0f / cnt);
        for (int b = 0; b < nb; b++) acc[b] = vf_mul(acc[b], inv);
    }
    for (int b = 0; b < nb; b++) vf_store(yo + b * VL, acc[b]);
}

static void k_pool2d(const struct kw__pool2d *p, const float *restrict x,
                     float *restrict y) {
    const int64_t IH = p->ih, IW = p->iw, OW = p->ow, KW = p->kw,
                  SW = p->sw;
    /* columns whose window lies inside the row: [lo, hi) */
    int64_t lo = (p->pl + SW - 1) / SW, hi;
    if (IW - KW + p->pl < 0) hi = 0;
    else hi = (IW - KW + p->pl) / SW + 1;
    if (hi > OW) hi = OW;
    if (lo > hi) lo = hi;
    for (int64_t oh = 0; oh < p->oh; oh++) {
        float *restrict yr = y + oh * OW;
        const int64_t hs = oh * p->sh - p->pt;
        const int64_t r0 = hs < 0 ? 0 : hs;
        const int64_t r1 = hs + p->kh > IH ? IH : hs + p->kh;
        for (int64_t ow = 0; ow < lo; ow++) yr[ow] = pool_cell(p, x, oh, ow);
        for (int64_t ow = hi; ow < OW; ow++) yr[ow] = pool_cell(p, x, oh, ow);
        if (lo == hi) continue;
        if (r0 >= r1) {
            for (int64_t ow = lo; ow < hi; ow++) yr[ow] = 0.0f;
            continue;
        }
        int64_t rows = r1 - r0;
        if (p->count_pad) {
            const int64_t a = hs < -p->pt ? -p->pt : hs;
            const int64_t b = hs + p->kh > IH + p->pb ? IH + p->pb : hs + p->kh;
            rows = b - a;
        }
        const float cnt = (float)(rows * KW);
        const int64_t n = hi - lo;
        if (n < VL) {
            for (int64_t ow = lo; ow < hi; ow++)
                yr[ow] = pool_cell(p, x, oh, ow);
            continue;
        }
        /* blocks of VL; the last one overlaps the one before (outputs are
         * recomputed from x, so writing them twice is harmless) */
        int64_t i = 0;
        for (; i + 4 * VL <= n; i += 4 * VL)
            pool_blocks(4, p, x, r0, r1, (lo + i) * SW - p->pl, cnt,
                        yr + lo + i);
        for (; i < n; i += VL) {
            const int64_t b = i + VL <= n ? i : n - VL;
            pool_blocks(1, p, x, r0, r1, (lo + b) * SW - p->pl, cnt,
                        yr + lo + b);
        }
    }
}

/* sum of x[0..n) in VL partial sums */
static float k_sum(const float *restrict x, int64_t n) {
    float part[VL] = {0};
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        for (int t = 0; t < VL; t++) part[t] += x[i + t];
    float s = 0.0f;
    for (int t = 0; t < VL; t++) s += part[t];
    for (; i < n; i++) s += x[i];
    return s;
}

/* sum_k a[k] * b[k] in VL partial sums */
static float k_dot(const float *restrict a, const float *restrict b,
                   int64_t n) {
    float p0[VL] = {0}, p1[VL] = {0};
    int64_t i = 0;
    for (; i + 2 * VL <= n; i += 2 * VL)
        for (int t = 0; t < VL; t++) {
            p0[t] += a[i + t] * b[i + t];
            p1[t] += a[i + VL + t] * b[i + VL + t];
        }
    float s = 0.0f;
    for (int t = 0; t < VL; t++) s += p0[t] + p1[t];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* y[j] += s * x[j] */
static void k_axpy(float *restrict y, const float *restrict x, float s,
                   int64_t n) {
    for (int64_t j = 0; j < n; j++) y[j] += s * x[j];
}

/* ---- depthwise 2-D convolution of one plane ---- */

/* One output with every bound checked, in the reference's order (kw outer,
 * kh inner, starting from the bias). */
static float dw_cell(const struct kw__dw2d *p, const float *x, int64_t oh,
                     int64_t ow) {
    /* taps inside the input: kh in [h0, h1), kw in [w0, w1) */
    const int64_t hs = oh * p->sh - p->pt, ws = ow * p->sw - p->pl;
    int64_t h0 = hs < 0 ? (-hs + p->dh - 1) / p->dh : 0;
    int64_t w0 = ws < 0 ? (-ws + p->dw - 1) / p->dw : 0;
    int64_t h1 = p->ih - hs <= 0 ? 0 : (p->ih - hs - 1) / p->dh + 1;
    int64_t w1 = p->iw - ws <= 0 ? 0 : (p->iw - ws - 1) / p->dw + 1;
    if (h1 > p->kh) h1 = p->kh;
    if (w1 > p->kw) w1 = p->kw;
    float acc = p->bias;
    for (int64_t kw = w0; kw < w1; kw++) {
        const float *xc = x + ws + kw * p->dw;
        for (int64_t kh = h0; kh < h1; kh++)
            acc += p->w[kh * p->kw + kw] * xc[(hs + kh * p->dh) * p->iw];
    }
    return acc;
}

/* nb (1 or 2) blocks of VL outputs of one row from the padded plane
 * (row pointers rows[kh]), independent chains so the adds overlap */
static inline __attribute__((always_inline)) void
dw_blocks(const int nb, const struct kw__dw2d *p, const float *const *rows,
          int64_t ow, float *yo) {
    const int64_t KH = p->kh, KW = p->kw, sw = p->sw;
    vf acc[2];
    for (int b = 0; b < nb; b++) acc[b] = vf_set1(p->bias);
    for (int64_t kw = 0; kw < KW; kw++)
        for (int64_t kh = 0; kh < KH; kh++) {
            const vf wv = vf_set1(p->w[kh * KW + kw]);
            const float *xs = rows[kh] + ow * sw + kw * p->dw;
            for (int b = 0; b < nb; b++)
                acc[b] = vf_add(acc[b], vf_mul(wv, vf_load_s(xs + b * VL * sw, sw)));
        }
    for (int b = 0; b < nb; b++) vf_store(yo + b * VL, acc[b]);
}

/* ---- depthwise fast path: 3x3 / 5x5, stride 1 / 2, no dilation ----
 * One native vector (DV lanes) of outputs per accumulator, R output rows
 * at once so each input row vector loaded feeds up to K accumulators, the
 * K*K weights broadcast once per plane, FMA. For stride 2 the padded rows
 * are stored split (even columns, then odd columns from column `half`) so
 * every tap is a unit-stride load. Summation order differs from the
 * reference (FMA, rows interleaved): rounding only. */
#ifdef __AVX512F__
typedef __m512 dv;
#define DV 16
static inline dv dv_set1(float a) { return _mm512_set1_ps(a); }
static inline dv dv_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void dv_store(float *p, dv a) { _mm512_storeu_ps(p, a); }
static inline dv dv_fma(dv a, dv b, dv c) { return _mm512_fmadd_ps(a, b, c); }
static inline dv dv_max(dv a, dv b) { return _mm512_max_ps(a, b); }
static inline dv dv_min(dv a, dv b) { return _mm512_min_ps(a, b); }
#else
typedef __m256 dv;
#define DV 8
static inline dv dv_set1(float a) { return _mm256_set1_ps(a); }
static inline dv dv_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void dv_store(float *p, dv a) { _mm256_storeu_ps(p, a); }
static inline dv dv_fma(dv a, dv b, dv c) { return _mm256_fmadd_ps(a, b, c); }
static inline dv dv_max(dv a, dv b) { return _mm256_max_ps(a, b); }
static inline dv dv_min(dv a, dv b) { return _mm256_min_ps(a, b); }
#endif

/* even[j] = s[2j], odd[j] = s[2j+1] for j < DV */
static inline void dv_deint(const float *s, float *even, float *odd) {
#ifdef __AVX512F__
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19,
                                         21, 23, 25, 27, 29, 31);
    const __m512 a = _mm512_loadu_ps(s), b = _mm512_loadu_ps(s + 16);
    _mm512_storeu_ps(even, _mm512_permutex2var_ps(a, ie, b));
    _mm512_storeu_ps(odd, _mm512_permutex2var_ps(a, io, b));
#else
    const __m256 a = _mm256_loadu_ps(s), b = _mm256_loadu_ps(s + 8);
    /* a0 a2 b0 b2 | a4 a6 b4 b6, then the 64-bit lanes put in order */
    const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xdd);
    _mm256_storeu_ps(even, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8)));
    _mm256_storeu_ps(odd, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8)));
#endif
}

/* one input row into its padded row dr for stride 2: padded column
 * c = pl + w goes to dr[c/2] (c even) or dr[half + c/2] (c odd) */
static void dw_split_row(float *dr, const float *sr, int64_t iw, int64_t pl,
                         int64_t half) {
    /* input w even lands in the part of pl's parity */
    float *pe = (pl & 1) ? dr + half + (pl >> 1) : dr + (pl >> 1);
    float *po = (pl & 1) ? dr + ((pl + 1) >> 1) : dr + half + (pl >> 1);
    int64_t j = 0;
    for (; 2 * j + 2 * DV <= iw; j += DV) dv_deint(sr + 2 * j, pe + j, po + j);
    for (; 2 * j < iw; j++) {
        pe[j] = sr[2 * j];
        if (2 * j + 1 < iw) po[j] = sr[2 * j + 1];
    }
}

/* ACT (a constant): Relu or Clip (bounds a, b) on x, as k_act does it
 * (the operand order keeps NaN), else x */
static inline __attribute__((always_inline)) dv dv_act(const int ACT, dv x,
                                                       float a, float b) {
    if (ACT == KW_ACT_RELU) return dv_max(x, dv_set1(0.0f));
    if (ACT == KW_ACT_CLIP) return dv_min(dv_set1(b), dv_max(dv_set1(a), x));
    return x;
}

/* R output rows [oh, oh+R) x DV columns from ow; rows: padded plane rows
 * (row stride wp); half: start of the odd columns when S == 2; out rows
 * y + o*ys, through dv_act(ACT) with p's bounds. */
static inline __attribute__((always_inline)) void
dwf_tile(const int K, const int S, const int R, const int NB, const int ACT,
         const struct kw__dw2d *p, const dv *wv, dv bias, int64_t half,
         int64_t oh, int64_t ow, float *y, int64_t ys) {
    const float *pad = p->pad;
    const int64_t wp = p->wp;
    dv acc[4][2];
    for (int o = 0; o < R; o++)
        for (int b = 0; b < NB; b++) acc[o][b] = bias;
    const float *base = pad + oh * S * wp;
    /* fully unrolled: the kh tests below fold away */
#pragma GCC unroll 16
    for (int r = 0; r < (R - 1) * S + K; r++) {
        const float *row = base + r * wp;
#pragma GCC unroll 8
        for (int kw = 0; kw < K; kw++) {
            const float *src = S == 1 ? row + ow + kw
                               : (kw & 1) ? row + half + ow + (kw >> 1)
                                          : row + ow + (kw >> 1);
#pragma GCC unroll 2
            for (int b = 0; b < NB; b++) {
                const dv xv = dv_load(src + b * DV);
#pragma GCC unroll 4
                for (int o = 0; o < R; o++) {
                    const int kh = r - o * S;
                    if (kh >= 0 && kh < K)
                        acc[o][b] = dv_fma(wv[kh * K + kw], xv, acc[o][b]);
                }
            }
        }
    }
    for (int o = 0; o < R; o++)
        for (int b = 0; b < NB; b++)
            dv_store(y + o * ys + b * DV,
                     dv_act(ACT, acc[o][b], p->act_a, p->act_b));
}

/* all columns of R output rows; the last block overlaps the one before
 * (outputs are recomputed from the same input, so writing twice is
 * harmless); OW < DV goes through a scratch row (the pad buffer's slack
 * covers the reads past the row) */
static inline __attribute__((always_inline)) void
dwf_rows(const int K, const int S, const int R, const int ACT,
         const struct kw__dw2d *p, const dv *wv, dv bias, int64_t half,
         int64_t oh, int64_t OW, float *y) {
    /* two vectors a tile where the registers hold them: with 16 (AVX2),
     * a 3x3 kernel's 9 weights and 4 rows of 2 sums would spill */
    const int NB = DV == 8 && K == 3 ? 1 : 2;
    if (OW < DV) {
        float t[4 * DV];
        dwf_tile(K, S, R, 1, ACT, p, wv, bias, half, oh, 0, t, DV);
        for (int o = 0; o < R; o++)
            memcpy(y + o * OW, t + o * DV, (size_t)OW * sizeof(float));
        return;
    }
    int64_t ow = 0;
    for (; NB == 2 && ow + 2 * DV <= OW; ow += 2 * DV)
        dwf_tile(K, S, R, 2, ACT, p, wv, bias, half, oh, ow, y + ow, OW);
    for (; ow < OW; ow += DV) {
        if (ow + DV > OW) ow = OW - DV;
        dwf_tile(K, S, R, 1, ACT, p, wv, bias, half, oh, ow, y + ow, OW);
    }
}

/* ACT: Relu or Clip applied in the tiles' registers; 0: p->act (if
 * any) goes over each tile while it is in L1 */
static inline __attribute__((always_inline)) void
dwf_plane(const int K, const int S, const int ACT, const struct kw__dw2d *p,
          float *y) {
    dv wv[25];
    for (int i = 0; i < K * K; i++) wv[i] = dv_set1(p->w[i]);
    const dv bias = dv_set1(p->bias);
    const int64_t OH = p->oh, OW = p->ow, half = (p->wp + 1) / 2;
    const int pass = ACT ? KW_ACT_NONE : p->act;
    if (OH < 4) {
        for (int64_t oh = 0; oh < OH; oh++) {
            dwf_rows(K, S, 1, ACT, p, wv, bias, half, oh, OW, y + oh * OW);
            k_act(y + oh * OW, OW, pass, p->act_a, p->act_b);
        }
        return;
    }
    /* the last tile of 4 rows overlaps the one before (recomputed, so
     * the activation still applies once) */
    for (int64_t oh = 0; oh < OH; oh += 4) {
        if (oh + 4 > OH) oh = OH - 4;
        dwf_rows(K, S, 4, ACT, p, wv, bias, half, oh, OW, y + oh * OW);
        k_act(y + oh * OW, 4 * OW, pass, p->act_a, p->act_b);
    }
}

/* 1 when the fast path handled the plane */
static int dw_fast(const struct kw__dw2d *p, const float *restrict x,
                   float *restrict y) {
    const int64_t K = p->kh, S = p->sw;
    if (!p->pad || K != p->kw || (K != 3 && K != 5) || S != p->sh ||
        (S != 1 && S != 2) || p->dh != 1 || p->dw != 1)
        return 0;
    const int64_t wp = p->wp, half = (wp + 1) / 2;
    float *pad = p->pad;
    for (int64_t h = 0; h < p->ih; h++) {
        float *dr = pad + (p->pt + h) * wp;
        const float *sr = x + h * p->iw;
        if (S == 1) memcpy(dr + p->pl, sr, (size_t)p->iw * sizeof(float));
        else dw_split_row(dr, sr, p->iw, p->pl, half);
    }
#define DWF_ACT(k, s)                                                       \
    if (p->act == KW_ACT_RELU) dwf_plane(k, s, KW_ACT_RELU, p, y);          \
    else if (p->act == KW_ACT_CLIP) dwf_plane(k, s, KW_ACT_CLIP, p, y);     \
    else dwf_plane(k, s, 0, p, y);
    if (K == 3 && S == 1) {
        DWF_ACT(3, 1)
    } else if (K == 3) {
        DWF_ACT(3, 2)
    } else if (S == 1) {
        DWF_ACT(5, 1)
    } else {
        DWF_ACT(5, 2)
    }
#undef DWF_ACT
    return 1;
}

static void k_dw2d(const struct kw__dw2d *p, const float *restrict x,
                   float *restrict y) {
    if (dw_fast(p, x, y)) return;
    const int64_t OW = p->ow, KH = p->kh, KW = p->kw, SW = p->sw;
    if (OW < VL || KH > 64) {
        for (int64_t oh = 0; oh < p->oh; oh++) {
            for (int64_t ow = 0; ow < OW; ow++)
                y[oh * OW + ow] = dw_cell(p, x, oh, ow);
            k_act(y + oh * OW, OW, p->act, p->act_a, p->act_b);
        }
        return;
    }
    /* the plane inside its zero border */
    const int64_t wp = p->wp;
    float *pad = p->pad;
    for (int64_t h = 0; h < p->ih; h++)
        memcpy(pad + (p->pt + h) * wp + p->pl, x + h * p->iw,
               (size_t)p->iw * sizeof(float));
    const float *rows[64];
    const float *w = p->w;
    for (int64_t oh = 0; oh < p->oh; oh++) {
        float *restrict yr = y + oh * OW;
        for (int64_t kh = 0; kh < KH; kh++)
            rows[kh] = pad + (oh * p->sh + kh * p->dh) * wp;
        int64_t ow = 0;
        if (KH == 3 && KW == 3 && p->dw == 1 && SW <= 2) {
            const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
            const float w00 = w[0], w01 = w[1], w02 = w[2], w10 = w[3],
                        w11 = w[4], w12 = w[5], w20 = w[6], w21 = w[7],
                        w22 = w[8], b = p->bias;
            if (SW == 1) {
                for (; ow < OW; ow++)
                    yr[ow] = b + w00 * r0[ow] + w10 * r1[ow] + w20 * r2[ow] +
                             w01 * r0[ow + 1] + w11 * r1[ow + 1] +
                             w21 * r2[ow + 1] + w02 * r0[ow + 2] +
                             w12 * r1[ow + 2] + w22 * r2[ow + 2];
            } else {
                for (; ow < OW; ow++) {
                    const int64_t c = 2 * ow;
                    yr[ow] = b + w00 * r0[c] + w10 * r1[c] + w20 * r2[c] +
                             w01 * r0[c + 1] + w11 * r1[c + 1] +
                             w21 * r2[c + 1] + w02 * r0[c + 2] +
                             w12 * r1[c + 2] + w22 * r2[c + 2];
                }
            }
        }
        for (; ow + 2 * VL <= OW; ow += 2 * VL) dw_blocks(2, p, rows, ow, yr + ow);
        /* the last block overlaps the one before: outputs are recomputed */
        for (; ow < OW; ow += VL) {
            if (ow + VL > OW) ow = OW - VL;
            dw_blocks(1, p, rows, ow, yr + ow);
        }
        k_act(yr, OW, p->act, p->act_a, p->act_b);
    }
}

/* ---- im2col into packed panels ---- */

/* d[0..len) = s[i] for i in [lo, hi), 0 elsewhere (len <= 32); masked
 * lanes are never read */
static inline void copy_seg(float *d, const float *s, int64_t lo, int64_t hi,
                            int64_t len) {
#ifdef __AVX512F__
    for (int64_t i = 0; i < len; i += 16) {
        const int64_t n = len - i < 16 ? len - i : 16;
        int64_t a = lo - i, b = hi - i;
        a = a < 0 ? 0 : a > 16 ? 16 : a;
        b = b < a ? a : b > 16 ? 16 : b;
        const __mmask16 st = (__mmask16)((1u << n) - 1);
        const __mmask16 ld = (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1));
        _mm512_mask_storeu_ps(d + i, st, _mm512_maskz_loadu_ps(ld, s + i));
    }
#else
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t i = 0; i < len; i += 8) {
        const __m256i ix = _mm256_add_epi32(iota, _mm256_set1_epi32((int)i));
        const __m256i ld = _mm256_and_si256(
            _mm256_cmpgt_epi32(ix, _mm256_set1_epi32((int)lo - 1)),
            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), ix));
        const __m256i st = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)len), ix);
        _mm256_maskstore_ps(d + i, st, _mm256_maskload_ps(s + i, ld));
    }
#endif
}

static void k_im2col(const struct kw__im2col *p,
                     const struct kw__im2col_run *runs, int nruns, int64_t k0,
                     int64_t kc, int64_t ncols, float *pb) {
    const int nr = p->nr;
    const int64_t KK = p->kh * p->kw, plane = p->ih * p->iw, IW = p->iw;
    const int64_t npan = (ncols + nr - 1) / nr, tail = ncols % nr;
    /* per row of the block: channel offset and kernel offsets */
    int64_t coff[256], rdh[256], rdw[256];
    for (int64_t r0 = k0; r0 < k0 + kc; r0 += 256) {
        const int64_t rn = k0 + kc - r0 < 256 ? k0 + kc - r0 : 256;
        for (int64_t t = 0; t < rn; t++) {
            const int64_t r = r0 + t, kk = r % KK;
            coff[t] = (r / KK) * plane;
            rdh[t] = (kk / p->kw) * p->dh;
            rdw[t] = (kk % p->kw) * p->dw;
        }
        /* panel by panel, so the stores stream through one panel */
        for (int u = 0; u < nruns; u++) {
            const struct kw__im2col_run *ru = &runs[u];
            const int64_t len = ru->len;
            float *d = pb + ru->panel * kc * nr + (r0 - k0) * nr + ru->col;
            for (int64_t t = 0; t < rn; t++, d += nr) {
                const int64_t ih = ru->ih0 + rdh[t], iw0 = ru->iw0 + rdw[t];
                if (ih < 0 || ih >= p->ih) {
                    copy_seg(d, p->x, 0, 0, len);
                    continue;
                }
                const float *s = p->x + coff[t] + ih * IW;
                if (p->sw == 1) {
                    copy_seg(d, s + iw0, -iw0, IW - iw0, len);
                } else {
                    for (int64_t i = 0; i < len; i++) {
                        const int64_t iw = iw0 + i * p->sw;
                        d[i] = iw >= 0 && iw < IW ? s[iw] : 0.0f;
                    }
                }
            }
        }
    }
    if (tail) {
        float *d = pb + (npan - 1) * kc * nr;
        for (int64_t r = 0; r < kc; r++)
            for (int64_t i = tail; i < nr; i++) d[r * nr + i] = 0.0f;
    }
}

static void k_pack_rows(const float *x, const int64_t *roff, int64_t kc,
                        int64_t ncols, int nr, float *pb) {
    const int64_t full = ncols / nr, tail = ncols % nr;
#ifdef __AVX512F__
    if (nr == 32) {
        for (int64_t pn = 0; pn < full; pn++) {
            float *d = pb + pn * kc * 32;
            const float *xs = x + pn * 32;
            for (int64_t r = 0; r < kc; r++, d += 32) {
                const float *s = xs + roff[r];
                _mm512_store_ps(d, _mm512_loadu_ps(s));
                _mm512_store_ps(d + 16, _mm512_loadu_ps(s + 16));
            }
        }
    } else
#endif
    if (nr == 16) {
        for (int64_t pn = 0; pn < full; pn++) {
            float *d = pb + pn * kc * 16;
            const float *xs = x + pn * 16;
            for (int64_t r = 0; r < kc; r++, d += 16) {
                const float *s = xs + roff[r];
                _mm256_store_ps(d, _mm256_loadu_ps(s));
                _mm256_store_ps(d + 8, _mm256_loadu_ps(s + 8));
            }
        }
    } else {
        for (int64_t pn = 0; pn < full; pn++)
            for (int64_t r = 0; r < kc; r++)
                for (int i = 0; i < nr; i++)
                    pb[(pn * kc + r) * nr + i] = x[pn * nr + roff[r] + i];
    }
    if (tail) {
        float *d = pb + full * kc * nr;
        const float *xs = x + full * nr;
        for (int64_t r = 0; r < kc; r++, d += nr)
            copy_seg(d, xs + roff[r], 0, tail, nr);
    }
}

const struct kw__nn_kern KW_NN_KERN_NAME = {k_im2col, k_pack_rows, k_pool2d, k_sum, k_dw2d, k_act,
                                            k_dot, k_axpy};
