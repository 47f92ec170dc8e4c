/*
 * quant_ref_k.c — reference kernels for ggml's 256-element super-blocks:
 * dequantize q2_K q3_K q4_K q5_K q6_K iq4_xs, the q8_K activation
 * quantizer, and their dot products against q8_K. q4_K and q6_K follow
 * the x86 kernels llama.cpp runs for SmolLM2-class models (q4_K: the
 * repacked 8x8 gemv/gemm; q6_K: the AVX2 vec_dot, and the tiled kernel
 * for batches of >= KW__WIDE_BATCH tokens); the others ggml's generic code
 * in order, so results match bit for bit. Entry: kw__fill_quant_ref_k.
 */
#include <math.h>

#include "cpu/ref/quant_ref.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* a*b - c must round twice, as ggml's does */
#endif

#define QK_K KW_QK_K

/* ---- unpacking helpers (values per element, in element order) ------------ */

/* q2_K: 2-bit quants of the 256 elements. */
static void unpack_q2_K(const struct kw_block_q2_K *x, int8_t q[QK_K]) {
    for (int half = 0; half < 2; half++) {
        const uint8_t *qs = x->qs + 32 * half;
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 32; l++)
                q[128 * half + 32 * k + l] = (int8_t)((qs[l] >> (2 * k)) & 3);
    }
}

/* q3_K: signed 3-bit quants (2 low bits minus 4 when the hmask bit is 0). */
static void unpack_q3_K(const struct kw_block_q3_K *x, int8_t q[QK_K]) {
    for (int half = 0; half < 2; half++) {
        const uint8_t *qs = x->qs + 32 * half;
        for (int k = 0; k < 4; k++) {
            const int bit = 4 * half + k; /* hmask bit of this 32-run */
            for (int l = 0; l < 32; l++) {
                const int low = (qs[l] >> (2 * k)) & 3;
                const int high = (x->hmask[l] >> bit) & 1;
                q[128 * half + 32 * k + l] = (int8_t)(low - (high ? 0 : 4));
            }
        }
    }
}

/* q4_K (qh NULL) / q5_K: unsigned 4/5-bit quants. */
static void unpack_q45_K(const uint8_t *qs, const uint8_t *qh,
                         int8_t q[QK_K]) {
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            int lo = qs[32 * c + l] & 0x0F, hi = qs[32 * c + l] >> 4;
            if (qh) {
                lo |= ((qh[l] >> (2 * c)) & 1) << 4;
                hi |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
            }
            q[64 * c + l] = (int8_t)lo;
            q[64 * c + 32 + l] = (int8_t)hi;
        }
    }
}

/* q6_K: signed 6-bit quants (value - 32). */
static void unpack_q6_K(const struct kw_block_q6_K *x, int8_t q[QK_K]) {
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = x->ql + 64 * half;
        const uint8_t *qh = x->qh + 32 * half;
        int8_t *o = q + 128 * half;
        for (int l = 0; l < 32; l++) {
            o[l] = (int8_t)(((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32);
            o[l + 32] =
                (int8_t)(((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32);
            o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            o[l + 96] =
                (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

/* iq4_xs: the 6-bit scale of sub-block ib (0..7), unbiased by 32. */
static int iq4_xs_scale(const struct kw_block_iq4_xs *x, int ib) {
    const int lo = (x->scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
    const int hi = (x->scales_h >> (2 * ib)) & 3;
    return (lo | hi << 4) - 32;
}

/* ---- dequantization ------------------------------------------------------- */

static void kw_to_float_q2_K_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q2_K *x = vx;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = kw__fp16_to_fp32(x[b].d);
        const float dmin = kw__fp16_to_fp32(x[b].dmin);
        unpack_q2_K(&x[b], q);
        for (int s = 0; s < 16; s++) {
            const float dl = d * (float)(x[b].scales[s] & 0x0F);
            const float ml = dmin * (float)(x[b].scales[s] >> 4);
            for (int l = 0; l < 16; l++) {
                const float t = dl * (float)q[16 * s + l];
                y[16 * s + l] = t - ml;
            }
        }
    }
}

static void kw_to_float_q3_K_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q3_K *x = vx;
    int8_t q[QK_K], sc[16];
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = kw__fp16_to_fp32(x[b].d);
        unpack_q3_K(&x[b], q);
        kw__q3_K_scales(x[b].scales, sc);
        for (int s = 0; s < 16; s++) {
            const float dl = d * (float)(sc[s] - 32);
            for (int l = 0; l < 16; l++) y[16 * s + l] = dl * (float)q[16 * s + l];
        }
    }
}

static void dequant_q45_K(uint16_t dh, uint16_t dminh, const uint8_t *scales,
                          const int8_t *q, float *y) {
    const float d = kw__fp16_to_fp32(dh);
    const float dmin = kw__fp16_to_fp32(dminh);
    for (int s = 0; s < 8; s++) {
        uint8_t sc, m;
        kw__get_scale_min_k4(s, scales, &sc, &m);
        const float ds = d * (float)sc;
        const float ms = dmin * (float)m;
        for (int l = 0; l < 32; l++) {
            const float t = ds * (float)q[32 * s + l];
            y[32 * s + l] = t - ms;
        }
    }
}

static void kw_to_float_q4_K_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q4_K *x = vx;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        unpack_q45_K(x[b].qs, NULL, q);
        dequant_q45_K(x[b].d, x[b].dmin, x[b].scales, q, y);
    }
}

static void kw_to_float_q5_K_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q5_K *x = vx;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        unpack_q45_K(x[b].qs, x[b].qh, q);
        dequant_q45_K(x[b].d, x[b].dmin, x[b].scales, q, y);
    }
}

static void kw_to_float_q6_K_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q6_K *x = vx;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = kw__fp16_to_fp32(x[b].d);
        unpack_q6_K(&x[b], q);
        for (int s = 0; s < 16; s++) {
            const float ds = d * (float)x[b].scales[s];
            for (int l = 0; l < 16; l++) y[16 * s + l] = ds * (float)q[16 * s + l];
        }
    }
}

static void kw_to_float_iq4_xs_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_iq4_xs *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = kw__fp16_to_fp32(x[b].d);
        for (int ib = 0; ib < 8; ib++) {
            const float dl = d * (float)iq4_xs_scale(&x[b], ib);
            const uint8_t *qs = x[b].qs + 16 * ib;
            float *o = y + 32 * ib;
            for (int j = 0; j < 16; j++) {
                o[j] = dl * (float)kw__iq4nl_values[qs[j] & 0x0F];
                o[j + 16] = dl * (float)kw__iq4nl_values[qs[j] >> 4];
            }
        }
    }
}

static void kw_to_float_q8_K_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q8_K *x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = x[b].d * (float)x[b].qs[j];
}

/* ---- q8_K activation quantizer (ggml's quantize_row_q8_K_ref, which x86
 * also runs): scale -127 / (signed value of largest magnitude), round to
 * nearest even, plus sums of each 16-run for the K-quant min terms. ------- */

static void kw_from_float_q8_K_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_q8_K *y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++)
            y[b].qs[j] = (int8_t)KW_MIN(127, kw__round_even(iscale * x[j]));
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[b].qs[16 * g + l];
            y[b].bsums[g] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}

/* ---- dot products against q8_K ------------------------------------------- */

/*
 * ggml's generic q3_K..q6_K dots keep 8 int32 lanes per super-block (lane
 * = element index mod 8, each product times its sub-block scale), scale
 * each lane by d into 8 float partial sums that run across all blocks, and
 * add those 8 to the total only at the end. Integer sums are exact, so
 * only the float structure matters: lanes[] here is exactly ggml's aux32.
 */
static void lane_sums(const int8_t *q, const int8_t *q8, const int *scale16,
                      int32_t lanes[8]) {
    memset(lanes, 0, 8 * sizeof(int32_t));
    for (int e = 0; e < QK_K; e++)
        lanes[e & 7] += scale16[e / 16] * (q[e] * q8[e]);
}

/* x: q2_K row, y: q8_K row */
static void kw_vec_dot_q2_K_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q2_K *x = vx;
    const struct kw_block_q8_K *y = vy;
    int8_t q[QK_K];
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; b++) {
        int summs = 0, isum = 0;
        for (int g = 0; g < 16; g++) summs += y[b].bsums[g] * (x[b].scales[g] >> 4);
        unpack_q2_K(&x[b], q);
        for (int g = 0; g < 16; g++) {
            int part = 0;
            for (int l = 0; l < 16; l++) part += y[b].qs[16 * g + l] * q[16 * g + l];
            isum += (x[b].scales[g] & 0x0F) * part;
        }
        const float dall = y[b].d * kw__fp16_to_fp32(x[b].d);
        const float dmin = y[b].d * kw__fp16_to_fp32(x[b].dmin);
        const float a = dall * (float)isum;
        const float m = dmin * (float)summs;
        sum += a - m;
    }
    *s = sum;
}

/* x: q3_K row, y: q8_K row */
static void kw_vec_dot_q3_K_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q3_K *x = vx;
    const struct kw_block_q8_K *y = vy;
    int8_t q[QK_K], sc[16];
    int scale16[16];
    int32_t lanes[8];
    float part[8] = {0};
    for (int64_t b = 0; b < n / QK_K; b++) {
        unpack_q3_K(&x[b], q);
        kw__q3_K_scales(x[b].scales, sc);
        for (int g = 0; g < 16; g++) scale16[g] = sc[g] - 32;
        lane_sums(q, y[b].qs, scale16, lanes);
        const float d = kw__fp16_to_fp32(x[b].d) * y[b].d;
        for (int l = 0; l < 8; l++) part[l] += d * (float)lanes[l];
    }
    float sum = 0.0f;
    for (int l = 0; l < 8; l++) sum += part[l];
    *s = sum;
}

/* q4_K / q5_K share everything but the unpacking (qh NULL for q4_K). */
static void vec_dot_q45_K(int64_t nb, float *s, const uint8_t *base,
                          size_t stride, size_t off_qs, ptrdiff_t off_qh,
                          const struct kw_block_q8_K *y) {
    int8_t q[QK_K];
    int scale16[16];
    int32_t lanes[8];
    float part[8] = {0};
    float sum = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        /* d, dmin, scales[12] lead both block layouts */
        const uint8_t *blk = base + (size_t)b * stride;
        uint16_t dh, dminh;
        memcpy(&dh, blk, 2);
        memcpy(&dminh, blk + 2, 2);
        const uint8_t *scales = blk + 4;
        unpack_q45_K(blk + off_qs, off_qh >= 0 ? blk + off_qh : NULL, q);
        int mins = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            kw__get_scale_min_k4(j, scales, &sc, &m);
            scale16[2 * j] = scale16[2 * j + 1] = sc;
            mins += (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]) * m;
        }
        lane_sums(q, y[b].qs, scale16, lanes);
        const float d = kw__fp16_to_fp32(dh) * y[b].d;
        for (int l = 0; l < 8; l++) part[l] += d * (float)lanes[l];
        const float dmin = kw__fp16_to_fp32(dminh) * y[b].d;
        sum -= dmin * (float)mins;
    }
    for (int l = 0; l < 8; l++) sum += part[l];
    *s = sum;
}

/*
 * q4_K as llama.cpp runs it on x86: the weights live repacked (8 rows
 * interleaved) and ggml's gemm/gemv kernels integrate whole 64-element
 * pairs of sub-blocks exactly in int32. Per pair p of a block: S = sc[2p]
 * dot(2p) + sc[2p+1] dot(2p+1) and M = m[2p] B(2p) + m[2p+1] B(2p+1) (B:
 * 32-element activation sums). The gemv (single tokens, and the last
 * T % 4 tokens of a batch) folds the four pairs of a block before its two
 * fmas; the gemm (tokens in groups of 4) does the fmas per pair. Result:
 * fma chain of S * (d * dy) minus fma chain of M * (dmin * dy).
 */
static void q4_K_pair_ints(const struct kw_block_q4_K *x,
                           const struct kw_block_q8_K *y, int32_t S[4],
                           int32_t M[4]) {
    for (int p = 0; p < 4; p++) {
        uint8_t sc0, m0, sc1, m1;
        kw__get_scale_min_k4(2 * p, x->scales, &sc0, &m0);
        kw__get_scale_min_k4(2 * p + 1, x->scales, &sc1, &m1);
        int32_t lo = 0, hi = 0;
        for (int l = 0; l < 32; l++) {
            lo += (x->qs[32 * p + l] & 0x0F) * y->qs[64 * p + l];
            hi += (x->qs[32 * p + l] >> 4) * y->qs[64 * p + 32 + l];
        }
        S[p] = sc0 * lo + sc1 * hi;
        const int32_t b0 = y->bsums[4 * p] + y->bsums[4 * p + 1];
        const int32_t b1 = y->bsums[4 * p + 2] + y->bsums[4 * p + 3];
        M[p] = m0 * b0 + m1 * b1;
    }
}

static float dot_q4_K_repacked(int64_t nb, const struct kw_block_q4_K *x,
                               const struct kw_block_q8_K *y, int per_pair) {
    float a = 0.0f, m = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t S[4], M[4];
        q4_K_pair_ints(&x[b], &y[b], S, M);
        const float dd = kw__fp16_to_fp32(x[b].d) * y[b].d;
        const float dm = kw__fp16_to_fp32(x[b].dmin) * y[b].d;
        if (per_pair) {
            for (int p = 0; p < 4; p++) {
                a = fmaf((float)S[p], dd, a);
                m = fmaf((float)M[p], dm, m);
            }
        } else {
            a = fmaf((float)(S[0] + S[1] + S[2] + S[3]), dd, a);
            m = fmaf((float)(M[0] + M[1] + M[2] + M[3]), dm, m);
        }
    }
    return a - m;
}

/* x: q4_K row, y: q8_K row (ggml's repacked gemv) */
static void kw_vec_dot_q4_K_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    *s = dot_q4_K_repacked(n / QK_K, vx, vy, 0);
}

/* Tile: ny == 4 is a group of 4 tokens (ggml's gemm), else gemv. */
static void kw_gemm_q4_K_ref(int64_t n, const void *x, size_t xs, int nx,
                             const void *y, size_t ys, int ny, float *s,
                             size_t ss) {
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++)
            s[(size_t)j * ss + (size_t)i] = dot_q4_K_repacked(
                n / QK_K,
                (const struct kw_block_q4_K *)((const char *)x + (size_t)i * xs),
                (const struct kw_block_q8_K *)((const char *)y + (size_t)j * ys),
                ny == 4);
}

/* x: q5_K row, y: q8_K row */
static void kw_vec_dot_q5_K_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    vec_dot_q45_K(n / QK_K, s, vx, sizeof(struct kw_block_q5_K),
                  offsetof(struct kw_block_q5_K, qs),
                  (ptrdiff_t)offsetof(struct kw_block_q5_K, qh), vy);
}

/*
 * q6_K as ggml's AVX2 vec_dot: per block, 8 int32 lanes; lane k takes, in
 * each 32-element chunk c, elements 32c + 4k..4k+3 of the unsigned 6-bit
 * quants times sub-block scale sc[2c + k/4], minus the -32 offset taken
 * through the 16-element activation sums of sub-blocks 2k, 2k+1:
 * 32 (sc[2k] B[2k] + sc[2k+1] B[2k+1]). Lanes scale by y.d * x.d into
 * 8 fma chains, reduced by kw__hsum8.
 */
static void q6_K_unsigned(const struct kw_block_q6_K *x, int q[QK_K]) {
    int8_t qs[QK_K];
    unpack_q6_K(x, qs);
    for (int e = 0; e < QK_K; e++) q[e] = qs[e] + 32;
}

static void kw_vec_dot_q6_K_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q6_K *x = vx;
    const struct kw_block_q8_K *y = vy;
    int q[QK_K];
    int32_t lanes[8], part[8];
    float acc[8] = {0};
    for (int64_t b = 0; b < n / QK_K; b++) {
        q6_K_unsigned(&x[b], q);
        const int8_t *sc = x[b].scales;
        for (int k = 0; k < 8; k++)
            lanes[k] = -32 * (sc[2 * k] * y[b].bsums[2 * k] +
                              sc[2 * k + 1] * y[b].bsums[2 * k + 1]);
        for (int c = 0; c < 8; c++) {
            kw__lanes32(q + 32 * c, y[b].qs + 32 * c, part);
            for (int k = 0; k < 8; k++) lanes[k] += sc[2 * c + k / 4] * part[k];
        }
        const float d = y[b].d * kw__fp16_to_fp32(x[b].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(d, (float)lanes[k], acc[k]);
    }
    *s = kw__hsum8(acc);
}

/*
 * q6_K, batches of >= KW__WIDE_BATCH tokens (ggml's tiled kernel): the
 * whole block in one exact integer S = sum sc * (q - 32) * y, then
 * acc = fma(S * x.d, y.d, acc) (ggml's separate mul and add, fused by its
 * compiler).
 */
static float dot_q6_K_wide(int64_t nb, const struct kw_block_q6_K *x,
                           const struct kw_block_q8_K *y) {
    int8_t q[QK_K];
    float acc = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        unpack_q6_K(&x[b], q);
        int32_t S = 0;
        for (int e = 0; e < QK_K; e++) S += x[b].scales[e / 16] * q[e] * y[b].qs[e];
        acc = fmaf((float)S * kw__fp16_to_fp32(x[b].d), y[b].d, acc);
    }
    return acc;
}

static void kw_gemm_wide_q6_K_ref(int64_t n, const void *x, size_t xs, int nx,
                                  const void *y, size_t ys, int ny, float *s,
                                  size_t ss) {
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++)
            s[(size_t)j * ss + (size_t)i] = dot_q6_K_wide(
                n / QK_K,
                (const struct kw_block_q6_K *)((const char *)x + (size_t)i * xs),
                (const struct kw_block_q8_K *)((const char *)y + (size_t)j * ys));
}

kw__gemm_fn kw__gemm_wide_ref(uint32_t type) {
    return type == KW_TYPE_Q6_K ? kw_gemm_wide_q6_K_ref : NULL;
}

/* x: iq4_xs row, y: q8_K row; one float add per 32-element sub-block */
static void kw_vec_dot_iq4_xs_ref(int64_t n, float *s, const void *vx,
                                  const void *vy) {
    const struct kw_block_iq4_xs *x = vx;
    const struct kw_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float dd = kw__fp16_to_fp32(x[b].d) * y[b].d;
        for (int ib = 0; ib < 8; ib++) {
            const uint8_t *qs = x[b].qs + 16 * ib;
            const int8_t *q8 = y[b].qs + 32 * ib;
            int lo = 0, hi = 0;
            for (int j = 0; j < 16; j++) {
                lo += q8[j] * kw__iq4nl_values[qs[j] & 0x0F];
                hi += q8[j + 16] * kw__iq4nl_values[qs[j] >> 4];
            }
            const float dl = dd * (float)iq4_xs_scale(&x[b], ib);
            sum += dl * (float)(lo + hi);
        }
    }
    *s = sum;
}

void kw__fill_quant_ref_k(struct kw__isa_table *t) {
    t->to_float[KW_TYPE_Q2_K] = kw_to_float_q2_K_ref;
    t->vec_dot[KW_TYPE_Q2_K] = kw_vec_dot_q2_K_ref;
    t->to_float[KW_TYPE_Q3_K] = kw_to_float_q3_K_ref;
    t->vec_dot[KW_TYPE_Q3_K] = kw_vec_dot_q3_K_ref;
    t->to_float[KW_TYPE_Q4_K] = kw_to_float_q4_K_ref;
    t->vec_dot[KW_TYPE_Q4_K] = kw_vec_dot_q4_K_ref;
    t->gemm[KW_TYPE_Q4_K] = kw_gemm_q4_K_ref;
    t->to_float[KW_TYPE_Q5_K] = kw_to_float_q5_K_ref;
    t->vec_dot[KW_TYPE_Q5_K] = kw_vec_dot_q5_K_ref;
    t->to_float[KW_TYPE_Q6_K] = kw_to_float_q6_K_ref;
    t->vec_dot[KW_TYPE_Q6_K] = kw_vec_dot_q6_K_ref;
    t->to_float[KW_TYPE_IQ4_XS] = kw_to_float_iq4_xs_ref;
    t->vec_dot[KW_TYPE_IQ4_XS] = kw_vec_dot_iq4_xs_ref;
    t->to_float[KW_TYPE_Q8_K] = kw_to_float_q8_K_ref;
    t->from_float[KW_TYPE_Q8_K] = kw_from_float_q8_K_ref;
}
