/*
 * pb.h — a zero-copy protobuf wire-format reader: every varint, length and
 * nesting level is checked against the bytes present, and positions are
 * reported as offsets from the start of the file for error messages.
 */
#ifndef KW_ONNX_PB_H
#define KW_ONNX_PB_H

#include "core/internal.h"

enum { KW_PB_VARINT = 0, KW_PB_I64 = 1, KW_PB_LEN = 2, KW_PB_I32 = 5 };

struct kw__pb {
    const uint8_t *p, *end;
    const uint8_t *base; /* start of the file: offsets in messages */
};

static inline size_t kw__pb_off(const struct kw__pb *r) {
    return (size_t)(r->p - r->base);
}

static inline int kw__pb_varint(struct kw__pb *r, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return 0;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0; /* more than 10 bytes */
}

/* Next field: 1 with *field and *wire, 0 at the end, -1 when malformed. */
static inline int kw__pb_next(struct kw__pb *r, uint32_t *field,
                              uint32_t *wire) {
    if (r->p >= r->end) return 0;
    uint64_t key;
    if (!kw__pb_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    *field = (uint32_t)(key >> 3);
    *wire = (uint32_t)(key & 7);
    return 1;
}

/* A length-delimited payload. */
static inline int kw__pb_bytes(struct kw__pb *r, const uint8_t **p,
                               size_t *n) {
    uint64_t len;
    if (!kw__pb_varint(r, &len) || len > (uint64_t)(r->end - r->p)) return 0;
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 1;
}

static inline int kw__pb_sub(struct kw__pb *r, struct kw__pb *sub) {
    const uint8_t *p;
    size_t n;
    if (!kw__pb_bytes(r, &p, &n)) return 0;
    sub->p = p;
    sub->end = p + n;
    sub->base = r->base;
    return 1;
}

static inline int kw__pb_fixed32(struct kw__pb *r, uint32_t *v) {
    if (r->end - r->p < 4) return 0;
    memcpy(v, r->p, 4);
    r->p += 4;
    return 1;
}

static inline int kw__pb_fixed64(struct kw__pb *r, uint64_t *v) {
    if (r->end - r->p < 8) return 0;
    memcpy(v, r->p, 8);
    r->p += 8;
    return 1;
}

static inline int kw__pb_skip(struct kw__pb *r, uint32_t wire) {
    uint64_t v;
    const uint8_t *p;
    size_t n;
    switch (wire) {
    case KW_PB_VARINT: return kw__pb_varint(r, &v);
    case KW_PB_I64: return kw__pb_fixed64(r, &v);
    case KW_PB_LEN: return kw__pb_bytes(r, &p, &n);
    case KW_PB_I32: {
        uint32_t w;
        return kw__pb_fixed32(r, &w);
    }
    default: return 0; /* groups (3, 4) are not used by ONNX */
    }
}

/* One repeated scalar field, packed (wire LEN) or not: width 0 for varints,
 * 4 or 8 for fixed32/fixed64; every value (raw bits) goes to emit, which
 * returns 0 to stop. 0 when malformed or stopped. */
static inline int kw__pb_repeated(struct kw__pb *r, uint32_t wire, int width,
                                  int (*emit)(void *ctx, uint64_t bits),
                                  void *ctx) {
    static const uint32_t want[9] = {KW_PB_VARINT, 0, 0, 0, KW_PB_I32,
                                     0, 0, 0, KW_PB_I64};
    struct kw__pb sub;
    int packed = wire == KW_PB_LEN;
    if (packed) {
        if (!kw__pb_sub(r, &sub)) return 0;
    } else {
        if (wire != want[width]) return 0;
        sub = *r;
    }
    do {
        uint64_t v = 0;
        uint32_t v32;
        int ok = width == 0   ? kw__pb_varint(&sub, &v)
                 : width == 4 ? (kw__pb_fixed32(&sub, &v32) ? (v = v32, 1) : 0)
                              : kw__pb_fixed64(&sub, &v);
        if (!ok || !emit(ctx, v)) return 0;
    } while (packed && sub.p < sub.end);
    if (!packed) *r = sub;
    return 1;
}

#endif /* KW_ONNX_PB_H */
