/*
 * internal.h — helpers shared by every file of libkaiwu (never installed).
 * Checked size arithmetic, error-message formatting, visibility, asserts for
 * our own invariants (never for untrusted bytes), fp16/bf16 conversion.
 */
#ifndef KW_INTERNAL_H
#define KW_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaiwu/kaiwu.h"

#define KW_HIDDEN __attribute__((visibility("hidden")))

/* Invariants of our own code only; untrusted input never reaches these. */
#define KW_ASSERT(c)                                                          \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "kaiwu: internal error %s:%d: %s\n", __FILE__,    \
                    __LINE__, #c);                                            \
            abort();                                                          \
        }                                                                     \
    } while (0)

#define KW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KW_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Checked arithmetic: return 0 on overflow, else 1 and *out. */
static inline int kw__mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline int kw__add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline int kw__mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline int kw__add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* snprintf into an optional caller error buffer; returns status for
 * one-line "return kw__err(...)" use. */
KW_HIDDEN enum kw_status kw__err(char *err, size_t err_size,
                                 enum kw_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Aligned allocation (64 bytes) that is freed with kw__free_aligned. */
KW_HIDDEN void *kw__alloc_aligned(size_t size);
KW_HIDDEN void kw__free_aligned(void *p);

/* ---- half precision, bit-exact with ggml's conversions ---- */
static inline float kw__u32_as_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline uint32_t kw__f32_as_u32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float kw__fp16_to_fp32(uint16_t h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = 0xE0u << 23;
    const float exp_scale = 0x1.0p-112f;
    const float normalized =
        kw__u32_as_f32((two_w >> 4) + exp_offset) * exp_scale;
    const uint32_t magic_mask = 126u << 23;
    const float magic_bias = 0.5f;
    const float denormalized =
        kw__u32_as_f32((two_w >> 17) | magic_mask) - magic_bias;
    const uint32_t denormalized_cutoff = 1u << 27;
    const uint32_t result =
        sign | (two_w < denormalized_cutoff ? kw__f32_as_u32(denormalized)
                                            : kw__f32_as_u32(normalized));
    return kw__u32_as_f32(result);
}
static inline uint16_t kw__fp32_to_fp16(float f) {
    const float scale_to_inf = 0x1.0p+112f;
    const float scale_to_zero = 0x1.0p-110f;
    float base = (__builtin_fabsf(f) * scale_to_inf) * scale_to_zero;
    const uint32_t w = kw__f32_as_u32(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = kw__u32_as_f32((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = kw__f32_as_u32(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (uint16_t)((sign >> 16) |
                      (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}
static inline float kw__bf16_to_fp32(uint16_t h) {
    return kw__u32_as_f32((uint32_t)h << 16);
}
static inline uint16_t kw__fp32_to_bf16(float f) {
    uint32_t u = kw__f32_as_u32(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

/* Monotonic clock in microseconds. */
KW_HIDDEN int64_t kw__time_us(void);

#endif /* KW_INTERNAL_H */
