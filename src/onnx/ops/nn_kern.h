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

/* One output cell with every bound checked (the border cells), in the
 * reference's order. */
static float pool_cell(const struct kw__pool2d *p, const float *x, int64_t oh,
                       int64_t ow) {
    const int64_t hs = oh * p->sh - p->pt, ws = ow * p->sw - p->pl;
    float best = 0.0f, acc = 0.0f;
    int64_t cnt = 0;
    int any = 0;
    for (int64_t kh = 0; kh < p->kh; kh++) {
        const int64_t ih = hs + kh;
        const int hin = ih >= 0 && ih < p->ih;
        const int hpad = ih >= -p->pt && ih < p->ih + p->pb;
        for (int64_t kw = 0; kw < p->kw; kw++) {
            const int64_t iw = ws + kw;
            if (!hin || iw < 0 || iw >= p->iw) {
                if (p->count_pad && hpad && iw >= -p->pl && iw < p->iw + p->pr)
                    cnt++;
                continue;
            }
            const float v = x[ih * p->iw + iw];
            cnt++;
            if (!any || v > best) best = v; /* NaN never wins */
            any = 1;
            acc += v;
        }
    }
    if (p->is_max) return any ? best : 0.0f;
    return cnt ? acc / (float)cnt : 0.0f;
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
        const int64_t n = hi - lo;
        float *restrict yo = yr + lo;
        const int64_t c0 = lo * SW - p->pl;
        if (p->is_max) {
            const float *xr = x + r0 * IW + c0;
            for (int64_t i = 0; i < n; i++) yo[i] = xr[i * SW];
            for (int64_t r = r0; r < r1; r++) {
                xr = x + r * IW + c0;
                for (int64_t kw = r == r0 ? 1 : 0; kw < KW; kw++) {
                    const float *xs = xr + kw;
                    if (SW == 1)
                        for (int64_t i = 0; i < n; i++)
                            yo[i] = xs[i] > yo[i] ? xs[i] : yo[i];
                    else if (SW == 2)
                        for (int64_t i = 0; i < n; i++)
                            yo[i] = xs[2 * i] > yo[i] ? xs[2 * i] : yo[i];
                    else
                        for (int64_t i = 0; i < n; i++)
                            yo[i] = xs[i * SW] > yo[i] ? xs[i * SW] : yo[i];
                }
            }
        } else {
            for (int64_t i = 0; i < n; i++) yo[i] = 0.0f;
            for (int64_t r = r0; r < r1; r++) {
                const float *xr = x + r * IW + c0;
                for (int64_t kw = 0; kw < KW; kw++) {
                    const float *xs = xr + kw;
                    if (SW == 1)
                        for (int64_t i = 0; i < n; i++) yo[i] += xs[i];
                    else if (SW == 2)
                        for (int64_t i = 0; i < n; i++) yo[i] += xs[2 * i];
                    else
                        for (int64_t i = 0; i < n; i++) yo[i] += xs[i * SW];
                }
            }
            int64_t rows = r1 - r0;
            if (p->count_pad) {
                const int64_t a = hs < -p->pt ? -p->pt : hs;
                const int64_t b = hs + p->kh > IH + p->pb ? IH + p->pb
                                                          : hs + p->kh;
                rows = b - a;
            }
            const float cnt = (float)(rows * KW);
            for (int64_t i = 0; i < n; i++) yo[i] = yo[i] / cnt;
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

const struct kw__nn_kern KW_NN_KERN_NAME = {k_pool2d, k_sum, k_dw2d, k_act,
                                            k_dot, k_axpy};
