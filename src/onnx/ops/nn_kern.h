/*
 * nn_kern.h — float32 kernels for pooling, depthwise convolution, the
 * fused activations and matrix-vector products, written as plain loops
 * shaped for the vectoriser (fixed-width accumulator blocks, unit-stride
 * inner loops). Included once by nn_kern_avx2.c and once by
 * nn_kern_avx512.c, which set KW_NN_KERN_NAME; each inclusion compiles
 * the same source under that file's -m flags and defines one
 * struct kw__nn_kern table. The scalar references stay in pool.c, conv.c
 * and fuse.c; these keep their per-element summation order.
 */
#ifndef KW_NN_KERN_NAME
#error "define KW_NN_KERN_NAME before including nn_kern.h"
#endif

#include "onnx/ops/nn_internal.h"

/* accumulator block: one zmm or two ymm */
#define VL 16

static inline float act_one(int act, float x, float a, float b) {
    switch (act) {
    case KW_ACT_RELU: return x > 0 ? x : 0;
    case KW_ACT_CLIP: return x < a ? a : x > b ? b : x;
    case KW_ACT_LEAKY_RELU: return x >= 0 ? x : a * x;
    case KW_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case KW_ACT_HARD_SIGMOID: {
        float y = a * x + b;
        return y < 0 ? 0 : y > 1 ? 1 : y;
    }
    case KW_ACT_HARD_SWISH: {
        float y = x / 6.0f + 0.5f;
        return x * (y < 0 ? 0 : y > 1 ? 1 : y);
    }
    default: return x;
    }
}

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
        for (i = 0; i < n; i++) y[i] = act_one(act, y[i], a, b);
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
    float acc = p->bias;
    for (int64_t kw = 0; kw < p->kw; kw++) {
        const int64_t iw = ow * p->sw - p->pl + kw * p->dw;
        if (iw < 0 || iw >= p->iw) continue;
        for (int64_t kh = 0; kh < p->kh; kh++) {
            const int64_t ih = oh * p->sh - p->pt + kh * p->dh;
            if (ih < 0 || ih >= p->ih) continue;
            acc += p->w[kh * p->kw + kw] * x[ih * p->iw + iw];
        }
    }
    return acc;
}

static void k_dw2d(const struct kw__dw2d *p, const float *restrict x,
                   float *restrict y) {
    const int64_t IH = p->ih, IW = p->iw, OW = p->ow, KH = p->kh,
                  KW = p->kw, SW = p->sw;
    const float *w = p->w;
    /* columns whose taps all lie inside the row: [lo, hi) */
    int64_t lo = (p->pl + SW - 1) / SW, hi;
    const int64_t ext = (KW - 1) * p->dw + 1;
    if (IW - ext + p->pl < 0) hi = 0;
    else hi = (IW - ext + p->pl) / SW + 1;
    if (hi > OW) hi = OW;
    if (lo > hi) lo = hi;
    const float *rows[KW_NN_DW_MAXK];
    const float *zero = p->zero; /* IW zeros: rows in the padding */
    for (int64_t oh = 0; oh < p->oh; oh++) {
        float *restrict yr = y + oh * OW;
        for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t ih = oh * p->sh - p->pt + kh * p->dh;
            rows[kh] = ih >= 0 && ih < IH ? x + ih * IW : zero;
        }
        for (int64_t ow = 0; ow < lo; ow++) yr[ow] = dw_cell(p, x, oh, ow);
        for (int64_t ow = hi; ow < OW; ow++) yr[ow] = dw_cell(p, x, oh, ow);
        int64_t ow = lo;
        const int64_t c0 = -p->pl;
        if (KH == 3 && KW == 3 && p->dw == 1) {
            const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
            const float w00 = w[0], w01 = w[1], w02 = w[2], w10 = w[3],
                        w11 = w[4], w12 = w[5], w20 = w[6], w21 = w[7],
                        w22 = w[8], b = p->bias;
            if (SW == 1) {
                for (; ow < hi; ow++) {
                    const int64_t c = ow + c0;
                    yr[ow] = b + w00 * r0[c] + w10 * r1[c] + w20 * r2[c] +
                             w01 * r0[c + 1] + w11 * r1[c + 1] +
                             w21 * r2[c + 1] + w02 * r0[c + 2] +
                             w12 * r1[c + 2] + w22 * r2[c + 2];
                }
            } else if (SW == 2) {
                for (; ow < hi; ow++) {
                    const int64_t c = 2 * ow + c0;
                    yr[ow] = b + w00 * r0[c] + w10 * r1[c] + w20 * r2[c] +
                             w01 * r0[c + 1] + w11 * r1[c + 1] +
                             w21 * r2[c + 1] + w02 * r0[c + 2] +
                             w12 * r1[c + 2] + w22 * r2[c + 2];
                }
            }
        }
        for (; ow + VL <= hi; ow += VL) {
            float acc[VL];
            for (int t = 0; t < VL; t++) acc[t] = p->bias;
            for (int64_t kw = 0; kw < KW; kw++)
                for (int64_t kh = 0; kh < KH; kh++) {
                    const float wv = w[kh * KW + kw];
                    const float *xs = rows[kh] + ow * SW + c0 + kw * p->dw;
                    for (int t = 0; t < VL; t++) acc[t] += wv * xs[t * SW];
                }
            for (int t = 0; t < VL; t++) yr[ow + t] = acc[t];
        }
        for (; ow < hi; ow++) yr[ow] = dw_cell(p, x, oh, ow);
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
