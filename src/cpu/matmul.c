/*
 * matmul.c — see matmul.h. One token: a vec_dot per row. Several tokens:
 * 4x4 tiles (weight rows x tokens) through the ISA's gemm kernel, so each
 * weight block is loaded once per four tokens (one token also goes through
 * the tile, ny = 1: four independent rows hide the fma latency that a
 * single vec_dot chain waits on); rows are walked in panels so
 * the panel of weights stays in L1/L2 while all tokens stream past it.
 */
#include "cpu/matmul.h"

#include "cpu/isa_table.h"
#include "cpu/ref/quant_ref.h"

size_t kw__mat_act_row_bytes(const struct kw__mat *w) {
    const struct kw__type_traits *tr = kw__traits(w->type);
    return kw__row_size(tr->vec_dot_type, w->n_in);
}

void kw__mat_quantize(const struct kw__mat *w, const float *x,
                      size_t x_stride, void *xq, size_t xq_stride, int64_t t0,
                      int64_t t1) {
    const struct kw__type_traits *tr = kw__traits(w->type);
    kw__from_float_fn q = kw__traits(tr->vec_dot_type)->from_float;
    for (int64_t t = t0; t < t1; t++)
        q(x + (size_t)t * x_stride, (uint8_t *)xq + (size_t)t * xq_stride,
          w->n_in);
}

#define PANEL_ROWS 16

void kw__mat_mul(const struct kw__mat *w, const void *xq, size_t xq_stride,
                 int64_t T, float *y, size_t y_stride, int64_t r0, int64_t r1,
                 int accumulate) {
    const struct kw__type_traits *tr = kw__traits(w->type);
    kw__vec_dot_fn dot = tr->vec_dot;
    /* ggml's kernel, and so its rounding, depends on the batch: one token
     * is a vec_dot; some types switch kernels for wide batches */
    kw__gemm_fn gemm = T >= KW__WIDE_BATCH ? kw__gemm_wide(w->type) : NULL;
    if (!gemm) gemm = kw__gemm(w->type);
    const uint8_t *act = xq;
    if (!gemm) {
        for (int64_t t = 0; t < T; t++) {
            const uint8_t *xt = act + (size_t)t * xq_stride;
            float *yt = y + (size_t)t * y_stride;
            for (int64_t r = r0; r < r1; r++) {
                float s;
                dot(w->n_in, &s, w->data + (size_t)r * w->row_bytes, xt);
                yt[r] = accumulate ? yt[r] + s : s;
            }
        }
        return;
    }
    float tile[16];
    for (int64_t p0 = r0; p0 < r1; p0 += PANEL_ROWS) {
        const int64_t p1 = KW_MIN(p0 + PANEL_ROWS, r1);
        for (int64_t t = 0; t < T; t += 4) {
            const int ny = (int)KW_MIN(4, T - t);
            for (int64_t r = p0; r < p1; r += 4) {
                const int nx = (int)KW_MIN(4, p1 - r);
                gemm(w->n_in, w->data + (size_t)r * w->row_bytes, w->row_bytes,
                     nx, act + (size_t)t * xq_stride, xq_stride, ny, tile, 4);
                for (int j = 0; j < ny; j++) {
                    float *yt = y + (size_t)(t + j) * y_stride + r;
                    for (int i = 0; i < nx; i++)
                        yt[i] = accumulate ? yt[i] + tile[j * 4 + i]
                                           : tile[j * 4 + i];
                }
            }
        }
    }
}
