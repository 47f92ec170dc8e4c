/*
 * sha256.h — SHA-256 (FIPS 180-4) for blob digests of the model store.
 * Streaming init/update/final plus hex and one-shot helpers. The block
 * function is picked once per process: SHA-NI on x86 CPUs that have it,
 * else the scalar reference (KW_FORCE_REF=1 forces the reference).
 */
#ifndef KW_SHA256_H
#define KW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

struct kw__sha256 {
    uint32_t h[8];
    uint64_t len;    /* bytes hashed so far */
    uint8_t buf[64]; /* partial block */
    size_t nbuf;
};

KW_HIDDEN void kw__sha256_init(struct kw__sha256 *c);
KW_HIDDEN void kw__sha256_update(struct kw__sha256 *c, const void *data,
                                 size_t n);
KW_HIDDEN void kw__sha256_final(struct kw__sha256 *c, uint8_t out[32]);
/* Lowercase, NUL-terminated. */
KW_HIDDEN void kw__sha256_hex(const uint8_t d[32], char out[65]);
KW_HIDDEN void kw__sha256_buf(const void *data, size_t n, char hex[65]);
/* "sha-ni" or "ref": the block function update/final use. */
KW_HIDDEN const char *kw__sha256_impl(void);

/* Block functions: fold nblocks whole 64-byte blocks at p into h. */
typedef void (*kw__sha256_blocks_fn)(uint32_t h[8], const uint8_t *p,
                                     size_t nblocks);
KW_HIDDEN void kw__sha256_blocks_ref(uint32_t h[8], const uint8_t *p,
                                     size_t nblocks);
#if KW_HAVE_X86
KW_HIDDEN void kw__sha256_blocks_shani(uint32_t h[8], const uint8_t *p,
                                       size_t nblocks);
#endif
/* For tests and benchmarks: the SHA-NI block function when this build has
 * it and the CPU supports it (whatever KW_FORCE_REF says), else NULL. */
KW_HIDDEN kw__sha256_blocks_fn kw__sha256_shani_variant(void);

/* Round constants, shared with the SHA-NI file. */
KW_HIDDEN extern const uint32_t kw__sha256_k[64];

#endif
