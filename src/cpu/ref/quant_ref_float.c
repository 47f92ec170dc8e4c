/*
 * quant_ref_float.c — reference kernels for the unquantized row types f32,
 * f16 and bf16: conversion to and from f32 and their dot products, which
 * (like ggml's scalar path) sum the f32 products in double.
 */
#include "cpu/ref/quant_ref.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* products must round before they are summed */
#endif

static void kw_to_float_f32_ref(const void *x, float *y, int64_t n) {
    memcpy(y, x, (size_t)n * sizeof(float));
}

static void kw_from_float_f32_ref(const float *x, void *y, int64_t n) {
    memcpy(y, x, (size_t)n * sizeof(float));
}

static void kw_to_float_f16_ref(const void *x, float *y, int64_t n) {
    const uint16_t *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = kw__fp16_to_fp32(h[i]);
}

static void kw_from_float_f16_ref(const float *x, void *y, int64_t n) {
    uint16_t *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = kw__fp32_to_fp16(x[i]);
}

static void kw_to_float_bf16_ref(const void *x, float *y, int64_t n) {
    const uint16_t *h = x;
    for (int64_t i = 0; i < n; i++) y[i] = kw__bf16_to_fp32(h[i]);
}

static void kw_from_float_bf16_ref(const float *x, void *y, int64_t n) {
    uint16_t *h = y;
    for (int64_t i = 0; i < n; i++) h[i] = kw__fp32_to_bf16(x[i]);
}

/* x, y: (n) f32 */
static void kw_vec_dot_f32_ref(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float p = x[i] * y[i];
        sum += (double)p;
    }
    *s = (float)sum;
}

/* x, y: (n) f16 */
static void kw_vec_dot_f16_ref(int64_t n, float *s, const void *vx,
                               const void *vy) {
    const uint16_t *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float p = kw__fp16_to_fp32(x[i]) * kw__fp16_to_fp32(y[i]);
        sum += (double)p;
    }
    *s = (float)sum;
}

/* x, y: (n) bf16 */
static void kw_vec_dot_bf16_ref(int64_t n, float *s, const void *vx,
                                const void *vy) {
    const uint16_t *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float p = kw__bf16_to_fp32(x[i]) * kw__bf16_to_fp32(y[i]);
        sum += (double)p;
    }
    *s = (float)sum;
}

void kw__fill_quant_ref_float(struct kw__isa_table *t) {
    t->to_float[KW_TYPE_F32] = kw_to_float_f32_ref;
    t->from_float[KW_TYPE_F32] = kw_from_float_f32_ref;
    t->vec_dot[KW_TYPE_F32] = kw_vec_dot_f32_ref;
    t->to_float[KW_TYPE_F16] = kw_to_float_f16_ref;
    t->from_float[KW_TYPE_F16] = kw_from_float_f16_ref;
    t->vec_dot[KW_TYPE_F16] = kw_vec_dot_f16_ref;
    t->to_float[KW_TYPE_BF16] = kw_to_float_bf16_ref;
    t->from_float[KW_TYPE_BF16] = kw_from_float_bf16_ref;
    t->vec_dot[KW_TYPE_BF16] = kw_vec_dot_bf16_ref;
}
