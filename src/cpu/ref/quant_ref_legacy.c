/*
 * quant_ref_legacy.c — reference kernels for ggml's 32-element blocks
 * (q4_0 q4_1 q5_0 q5_1 q8_0 q8_1 iq4_nl): dequantize, quantize and the dot
 * products against q8_0 / q8_1. The q4_1, q5_0 and q8_0 dots follow the
 * x86 kernels llama.cpp runs (8 int32 lanes per block, one fused
 * multiply-add per lane and block, kw__hsum8 at the end; q4_1's min term
 * fused into a scalar), the others ggml's generic order, so results match
 * bit for bit. Entry: kw__fill_quant_ref_legacy.
 */
#include <float.h>
#include <math.h>

#include "cpu/ref/quant_ref.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* a*b + c must round twice, as ggml's does */
#endif

#define QK 32 /* every block type here holds 32 values */

/* ---- shared pieces ------------------------------------------------------ */

/* The 5th bits of q5_0/q5_1: element j's high bit is bit j of qh. */
static uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
           (uint32_t)qh[3] << 24;
}

static void store_qh(uint8_t qh[4], uint32_t v) {
    for (int i = 0; i < 4; i++) qh[i] = (uint8_t)(v >> (8 * i));
}

/* Value with the largest magnitude (first one wins ties), and |that|. */
static float block_absmax_signed(const float *x, int n, float *amax_out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    *amax_out = amax;
    return max;
}

/* Index of the codebook entry nearest to v (values ascending; ties go to
 * the lower entry unless strictly closer above), as ggml's best_index_int8. */
static int nearest_level(const int8_t *values, int n, float v) {
    if (v <= values[0]) return 0;
    if (v >= values[n - 1]) return n - 1;
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (v < values[mid]) hi = mid;
        else lo = mid;
    }
    return v - values[hi - 1] < values[hi] - v ? hi - 1 : hi;
}

/* ---- q4_0: x = d * (q - 8) ------------------------------------------------ */

static void kw_to_float_q4_0_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q4_0 *x = vx;
    for (int64_t b = 0; b < n / QK; b++, y += QK) {
        const float d = kw__fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (float)((x[b].qs[j] & 0x0F) - 8) * d;
            y[j + QK / 2] = (float)((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

static void kw_from_float_q4_0_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_q4_0 *y = vy;
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        float amax;
        const float max = block_absmax_signed(x, QK, &amax);
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = kw__fp32_to_fp16(d);
        for (int j = 0; j < QK / 2; j++) {
            /* x * id lies in [-8, 8]; +8.5 and truncation rounds it */
            const int q0 = KW_MIN(15, (int)(x[j] * id + 8.5f));
            const int q1 = KW_MIN(15, (int)(x[j + QK / 2] * id + 8.5f));
            y[b].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

/* x: q4_0 row, y: q8_0 row */
static void kw_vec_dot_q4_0_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q4_0 *x = vx;
    const struct kw_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; b++) {
        int lo = 0, hi = 0;
        for (int j = 0; j < QK / 2; j++) {
            lo += ((x[b].qs[j] & 0x0F) - 8) * y[b].qs[j];
            hi += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + QK / 2];
        }
        /* ggml: sumi * dx * dy, left to right */
        const float t = (float)(lo + hi) * kw__fp16_to_fp32(x[b].d);
        sum += t * kw__fp16_to_fp32(y[b].d);
    }
    *s = sum;
}

/* ---- q4_1: x = d * q + m ------------------------------------------------- */

static void kw_to_float_q4_1_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q4_1 *x = vx;
    for (int64_t b = 0; b < n / QK; b++, y += QK) {
        const float d = kw__fp16_to_fp32(x[b].d);
        const float m = kw__fp16_to_fp32(x[b].m);
        for (int j = 0; j < QK / 2; j++) {
            const float lo = (float)(x[b].qs[j] & 0x0F) * d;
            const float hi = (float)(x[b].qs[j] >> 4) * d;
            y[j] = lo + m;
            y[j + QK / 2] = hi + m;
        }
    }
}

static void kw_from_float_q4_1_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_q4_1 *y = vy;
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = kw__fp32_to_fp16(d);
        y[b].m = kw__fp32_to_fp16(min);
        for (int j = 0; j < QK / 2; j++) {
            const int q0 = KW_MIN(15, (int)((x[j] - min) * id + 0.5f));
            const int q1 = KW_MIN(15, (int)((x[j + QK / 2] - min) * id + 0.5f));
            y[b].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

/* x: q4_1 row, y: q8_1 row. ggml on x86: per block the 8 lane sums of
 * nibble * q8 take fma(dx * dy, lane, acc); the min term m * s runs as
 * one fused scalar sum added after the lanes' tree. */
static void kw_vec_dot_q4_1_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q4_1 *x = vx;
    const struct kw_block_q8_1 *y = vy;
    float acc[8] = {0}, summs = 0.0f;
    int q[QK];
    int32_t lanes[8];
    for (int64_t b = 0; b < n / QK; b++) {
        for (int j = 0; j < QK / 2; j++) {
            q[j] = x[b].qs[j] & 0x0F;
            q[j + QK / 2] = x[b].qs[j] >> 4;
        }
        kw__lanes32(q, y[b].qs, lanes);
        const float dd = kw__fp16_to_fp32(x[b].d) * kw__fp16_to_fp32(y[b].d);
        summs = fmaf(kw__fp16_to_fp32(x[b].m), kw__fp16_to_fp32(y[b].s), summs);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)lanes[k], acc[k]);
    }
    *s = kw__hsum8(acc) + summs;
}

/* ---- q5_0: x = d * (q - 16), 5-bit q ------------------------------------- */

static void kw_to_float_q5_0_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q5_0 *x = vx;
    for (int64_t b = 0; b < n / QK; b++, y += QK) {
        const float d = kw__fp16_to_fp32(x[b].d);
        const uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < QK / 2; j++) {
            const int q0 = (x[b].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            const int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(q0 - 16) * d;
            y[j + QK / 2] = (float)(q1 - 16) * d;
        }
    }
}

static void kw_from_float_q5_0_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_q5_0 *y = vy;
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        float amax;
        const float max = block_absmax_signed(x, QK, &amax);
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = kw__fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; j++) {
            const int q0 = KW_MIN(31, (int)(x[j] * id + 16.5f));
            const int q1 = KW_MIN(31, (int)(x[j + QK / 2] * id + 16.5f));
            y[b].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + QK / 2);
        }
        store_qh(y[b].qh, qh);
    }
}

/* x: q5_0 row, y: q8_0 row; lanes as ggml's x86 dot (see q4_1) */
static void kw_vec_dot_q5_0_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q5_0 *x = vx;
    const struct kw_block_q8_0 *y = vy;
    float acc[8] = {0};
    int q[QK];
    int32_t lanes[8];
    for (int64_t b = 0; b < n / QK; b++) {
        const uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < QK / 2; j++) {
            q[j] = ((x[b].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4) - 16;
            q[j + QK / 2] = ((x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16;
        }
        kw__lanes32(q, y[b].qs, lanes);
        const float dd = kw__fp16_to_fp32(x[b].d) * kw__fp16_to_fp32(y[b].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)lanes[k], acc[k]);
    }
    *s = kw__hsum8(acc);
}

/* ---- q5_1: x = d * q + m, 5-bit q ---------------------------------------- */

static void kw_to_float_q5_1_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q5_1 *x = vx;
    for (int64_t b = 0; b < n / QK; b++, y += QK) {
        const float d = kw__fp16_to_fp32(x[b].d);
        const float m = kw__fp16_to_fp32(x[b].m);
        const uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < QK / 2; j++) {
            const int q0 = (x[b].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            const int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            const float lo = (float)q0 * d;
            const float hi = (float)q1 * d;
            y[j] = lo + m;
            y[j + QK / 2] = hi + m;
        }
    }
}

static void kw_from_float_q5_1_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_q5_1 *y = vy;
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = kw__fp32_to_fp16(d);
        y[b].m = kw__fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; j++) {
            /* ggml does not clamp here: (x - min) * id <= 31 by design */
            const int q0 = (uint8_t)((x[j] - min) * id + 0.5f);
            const int q1 = (uint8_t)((x[j + QK / 2] - min) * id + 0.5f);
            y[b].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + QK / 2);
        }
        store_qh(y[b].qh, qh);
    }
}

/* x: q5_1 row, y: q8_1 row */
static void kw_vec_dot_q5_1_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q5_1 *x = vx;
    const struct kw_block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; b++) {
        const uint32_t qh = load_qh(x[b].qh);
        int lo = 0, hi = 0;
        for (int j = 0; j < QK / 2; j++) {
            const int q0 = (x[b].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            const int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            lo += q0 * y[b].qs[j];
            hi += q1 * y[b].qs[j + QK / 2];
        }
        const float dd = kw__fp16_to_fp32(x[b].d) * kw__fp16_to_fp32(y[b].d);
        const float scaled = dd * (float)(lo + hi);
        const float mins = kw__fp16_to_fp32(x[b].m) * kw__fp16_to_fp32(y[b].s);
        const float block = scaled + mins;
        sum += block;
    }
    *s = sum;
}

/* ---- q8_0 / q8_1: x = d * q ---------------------------------------------- */

/*
 * Activation quantizer for Q8_0/Q8_1 as ggml-cpu runs it on x86 (the code
 * llama.cpp uses on the machines kaiwu is compared with): d = amax / 127,
 * q = round-half-even(x * (127 / amax)). ggml's portable _ref variant uses
 * 1/d and roundf instead; the two differ on rare ties, which is enough to
 * flip a near-tied greedy token. Returns the block's quant sum (q8_1's s).
 */
static int quantize_block_q8(const float *x, int8_t *q, float *d_out) {
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    int sum = 0;
    for (int j = 0; j < QK; j++) {
        q[j] = (int8_t)kw__round_even(x[j] * id);
        sum += q[j];
    }
    *d_out = d;
    return sum;
}

static void kw_from_float_q8_0_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        float d;
        quantize_block_q8(x, y[b].qs, &d);
        y[b].d = kw__fp32_to_fp16(d);
    }
}

static void kw_from_float_q8_1_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        float d;
        const int sum = quantize_block_q8(x, y[b].qs, &d);
        y[b].d = kw__fp32_to_fp16(d);
        y[b].s = kw__fp32_to_fp16(d * (float)sum);
    }
}

static void kw_to_float_q8_0_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q8_0 *x = vx;
    for (int64_t b = 0; b < n / QK; b++, y += QK) {
        const float d = kw__fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK; j++) y[j] = (float)x[b].qs[j] * d;
    }
}

static void kw_to_float_q8_1_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_q8_1 *x = vx;
    for (int64_t b = 0; b < n / QK; b++, y += QK) {
        const float d = kw__fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK; j++) y[j] = (float)x[b].qs[j] * d;
    }
}

/* x, y: q8_0 rows; lanes as ggml's x86 dot (see q4_1). llama.cpp's
 * batched path for q8_0 (llamafile's tinyBLAS) computes the same way. */
static void kw_vec_dot_q8_0_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const struct kw_block_q8_0 *x = vx;
    const struct kw_block_q8_0 *y = vy;
    float acc[8] = {0};
    int q[QK];
    int32_t lanes[8];
    for (int64_t b = 0; b < n / QK; b++) {
        for (int j = 0; j < QK; j++) q[j] = x[b].qs[j];
        kw__lanes32(q, y[b].qs, lanes);
        const float dd = kw__fp16_to_fp32(x[b].d) * kw__fp16_to_fp32(y[b].d);
        for (int k = 0; k < 8; k++) acc[k] = fmaf(dd, (float)lanes[k], acc[k]);
    }
    *s = kw__hsum8(acc);
}

/* ---- iq4_nl: x = d * codebook[q] ----------------------------------------- */

const int8_t kw__iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

static void kw_to_float_iq4_nl_ref(const void *vx, float *y, int64_t n) {
    const struct kw_block_iq4_nl *x = vx;
    for (int64_t b = 0; b < n / QK; b++, y += QK) {
        const float d = kw__fp16_to_fp32(x[b].d);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * (float)kw__iq4nl_values[x[b].qs[j] & 0x0F];
            y[j + QK / 2] = d * (float)kw__iq4nl_values[x[b].qs[j] >> 4];
        }
    }
}

/*
 * ggml's quantize_row_iq4_nl_ref (its impl with ntry = -1 and weights x^2):
 * pick levels for d0 = max / -127, then refit d by weighted least squares
 * over those levels; no search over alternative scales.
 */
static void kw_from_float_iq4_nl_ref(const float *x, void *vy, int64_t n) {
    struct kw_block_iq4_nl *y = vy;
    const int8_t *values = kw__iq4nl_values;
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        uint8_t level[QK] = {0};
        float amax;
        const float max = block_absmax_signed(x, QK, &amax);
        float d = 0.0f;
        if (amax >= 1e-15f) {
            const float id = 1 / (max / values[0]);
            float sumqx = 0.0f, sumq2 = 0.0f;
            for (int j = 0; j < QK; j++) {
                level[j] = (uint8_t)nearest_level(values, 16, id * x[j]);
                const float q = values[level[j]];
                const float wq = x[j] * x[j] * q;
                sumqx += wq * x[j];
                sumq2 += wq * q;
            }
            d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
        }
        y[b].d = kw__fp32_to_fp16(d);
        for (int j = 0; j < QK / 2; j++)
            y[b].qs[j] = (uint8_t)(level[j] | level[j + QK / 2] << 4);
    }
}

/* x: iq4_nl row, y: q8_0 row */
static void kw_vec_dot_iq4_nl_ref(int64_t n, float *s, const void *vx,
                                  const void *vy) {
    const struct kw_block_iq4_nl *x = vx;
    const struct kw_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK; b++) {
        const float d = kw__fp16_to_fp32(y[b].d) * kw__fp16_to_fp32(x[b].d);
        int lo = 0, hi = 0;
        for (int j = 0; j < QK / 2; j++) {
            lo += y[b].qs[j] * kw__iq4nl_values[x[b].qs[j] & 0x0F];
            hi += y[b].qs[j + QK / 2] * kw__iq4nl_values[x[b].qs[j] >> 4];
        }
        sum += d * (float)(lo + hi);
    }
    *s = sum;
}

void kw__fill_quant_ref_legacy(struct kw__isa_table *t) {
    t->to_float[KW_TYPE_Q4_0] = kw_to_float_q4_0_ref;
    t->from_float[KW_TYPE_Q4_0] = kw_from_float_q4_0_ref;
    t->vec_dot[KW_TYPE_Q4_0] = kw_vec_dot_q4_0_ref;
    t->to_float[KW_TYPE_Q4_1] = kw_to_float_q4_1_ref;
    t->from_float[KW_TYPE_Q4_1] = kw_from_float_q4_1_ref;
    t->vec_dot[KW_TYPE_Q4_1] = kw_vec_dot_q4_1_ref;
    t->to_float[KW_TYPE_Q5_0] = kw_to_float_q5_0_ref;
    t->from_float[KW_TYPE_Q5_0] = kw_from_float_q5_0_ref;
    t->vec_dot[KW_TYPE_Q5_0] = kw_vec_dot_q5_0_ref;
    t->to_float[KW_TYPE_Q5_1] = kw_to_float_q5_1_ref;
    t->from_float[KW_TYPE_Q5_1] = kw_from_float_q5_1_ref;
    t->vec_dot[KW_TYPE_Q5_1] = kw_vec_dot_q5_1_ref;
    t->to_float[KW_TYPE_Q8_0] = kw_to_float_q8_0_ref;
    t->from_float[KW_TYPE_Q8_0] = kw_from_float_q8_0_ref;
    t->vec_dot[KW_TYPE_Q8_0] = kw_vec_dot_q8_0_ref;
    t->to_float[KW_TYPE_Q8_1] = kw_to_float_q8_1_ref;
    t->from_float[KW_TYPE_Q8_1] = kw_from_float_q8_1_ref;
    t->to_float[KW_TYPE_IQ4_NL] = kw_to_float_iq4_nl_ref;
    t->from_float[KW_TYPE_IQ4_NL] = kw_from_float_iq4_nl_ref;
    t->vec_dot[KW_TYPE_IQ4_NL] = kw_vec_dot_iq4_nl_ref;
}
