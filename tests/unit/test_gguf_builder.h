/*
 * test_gguf_builder.h — writes GGUF bytes by hand for the gguf tests: raw
 * little-endian primitives (gb_u32, gb_str...) plus helpers for a header, a
 * key/value and a tensor info, so tests can build valid files and corrupt
 * any single field. Header-only (static functions); not a test itself.
 */
#ifndef KW_TEST_GGUF_BUILDER_H
#define KW_TEST_GGUF_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct gb {
    uint8_t *p;
    size_t n, cap;
};

static inline void gb_bytes(struct gb *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) abort(); /* test harness only */
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static inline void gb_u8(struct gb *b, uint8_t v) { gb_bytes(b, &v, 1); }
static inline void gb_u16(struct gb *b, uint16_t v) { gb_bytes(b, &v, 2); }
static inline void gb_u32(struct gb *b, uint32_t v) { gb_bytes(b, &v, 4); }
static inline void gb_u64(struct gb *b, uint64_t v) { gb_bytes(b, &v, 8); }
static inline void gb_f32(struct gb *b, float v) { gb_bytes(b, &v, 4); }
static inline void gb_f64(struct gb *b, double v) { gb_bytes(b, &v, 8); }
static inline void gb_str(struct gb *b, const char *s) {
    gb_u64(b, strlen(s));
    gb_bytes(b, s, strlen(s));
}
static inline void gb_pad(struct gb *b, size_t align) {
    while (b->n % align) gb_u8(b, 0);
}
static inline void gb_free(struct gb *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static inline void gb_header(struct gb *b, uint32_t version, uint64_t n_tensors,
                      uint64_t n_kv) {
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

/* key + type; the caller writes the value */
static inline void gb_key(struct gb *b, const char *key, uint32_t type) {
    gb_str(b, key);
    gb_u32(b, type);
}
static inline void gb_kv_u32(struct gb *b, const char *key, uint32_t v) {
    gb_key(b, key, 4 /* UINT32 */);
    gb_u32(b, v);
}
static inline void gb_kv_str(struct gb *b, const char *key, const char *v) {
    gb_key(b, key, 8 /* STRING */);
    gb_str(b, v);
}

static inline void gb_tensor(struct gb *b, const char *name, uint32_t n_dims,
                      const int64_t *ne, uint32_t type, uint64_t offset) {
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims && d < 4; d++) gb_u64(b, (uint64_t)ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

#endif
