/*
 * sha256.c — SHA-256 streaming front end, the scalar reference block
 * function (FIPS 180-4 section 6.2) and the one-time choice between it and
 * the SHA-NI blocks in cpu/x86/sha256_shani.c. Entry points: sha256.h.
 */
#include "core/sha256.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if KW_HAVE_X86
#include <cpuid.h>
#endif

/* First 32 bits of the fractional parts of the cube roots of the first 64
 * primes; 16-byte aligned so the SHA-NI code can load four at a time. */
__attribute__((aligned(16))) const uint32_t kw__sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n) {
    return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void kw__sha256_blocks_ref(uint32_t h[8], const uint8_t *p, size_t nblocks) {
    for (; nblocks; nblocks--, p += 64) {
        /* w is the 16-word sliding window of the message schedule. */
        uint32_t w[16];
        for (int t = 0; t < 16; t++) w[t] = load_be32(p + 4 * t);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int t = 0; t < 64; t++) {
            uint32_t wt;
            if (t < 16) {
                wt = w[t];
            } else {
                const uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
                const uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
                const uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
                wt = w[t & 15] = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
            }
            const uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            const uint32_t ch = (e & f) ^ (~e & g);
            const uint32_t t1 = hh + S1 + ch + kw__sha256_k[t] + wt;
            const uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            const uint32_t t2 = S0 + maj;
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d;
        h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
}

/* ---- one-time choice of the block function ---- */

static kw__sha256_blocks_fn g_blocks = kw__sha256_blocks_ref;
static kw__sha256_blocks_fn g_shani; /* NULL: build or CPU lacks SHA-NI */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void choose(void) {
#if KW_HAVE_X86
    unsigned a, b, c, d;
    /* SHA-NI works on XMM registers, whose state every x86-64 OS saves, so
     * unlike AVX no XCR0 check is needed. The SHA-NI file also uses SSSE3
     * (byte shuffle) and SSE4.1 (blend). */
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        const int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
        if (ssse3 && sse41 && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
            ((b >> 29) & 1))
            g_shani = kw__sha256_blocks_shani;
    }
#endif
    const char *force = getenv("KW_FORCE_REF");
    const int forced = force && *force && strcmp(force, "0") != 0;
    g_blocks = g_shani && !forced ? g_shani : kw__sha256_blocks_ref;
}

static kw__sha256_blocks_fn blocks_fn(void) {
    pthread_once(&g_once, choose);
    return g_blocks;
}

kw__sha256_blocks_fn kw__sha256_shani_variant(void) {
    pthread_once(&g_once, choose);
    return g_shani;
}

const char *kw__sha256_impl(void) {
    return blocks_fn() == kw__sha256_blocks_ref ? "ref" : "sha-ni";
}

/* ---- streaming front end ---- */

void kw__sha256_init(struct kw__sha256 *c) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                   0xa54ff53a, 0x510e527f, 0x9b05688c,
                                   0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->nbuf = 0;
}

void kw__sha256_update(struct kw__sha256 *c, const void *data, size_t n) {
    const uint8_t *p = data;
    if (!n) return;
    kw__sha256_blocks_fn blocks = blocks_fn();
    c->len += n;
    if (c->nbuf) {
        const size_t take = KW_MIN(n, 64 - c->nbuf);
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += take, p += take, n -= take;
        if (c->nbuf < 64) return;
        blocks(c->h, c->buf, 1);
        c->nbuf = 0;
    }
    /* Whole blocks straight from the caller's memory: no copy. */
    if (n >= 64) {
        blocks(c->h, p, n / 64);
        p += n & ~(size_t)63;
        n &= 63;
    }
    memcpy(c->buf, p, n);
    c->nbuf = n;
}

void kw__sha256_final(struct kw__sha256 *c, uint8_t out[32]) {
    kw__sha256_blocks_fn blocks = blocks_fn();
    const uint64_t bits = c->len * 8; /* the length field is mod 2^64 */
    /* Pad: 0x80, zeros up to 56 mod 64, then the 64-bit big-endian length. */
    c->buf[c->nbuf++] = 0x80;
    if (c->nbuf > 56) {
        memset(c->buf + c->nbuf, 0, 64 - c->nbuf);
        blocks(c->h, c->buf, 1);
        c->nbuf = 0;
    }
    memset(c->buf + c->nbuf, 0, 56 - c->nbuf);
    store_be32(c->buf + 56, (uint32_t)(bits >> 32));
    store_be32(c->buf + 60, (uint32_t)bits);
    blocks(c->h, c->buf, 1);
    for (int i = 0; i < 8; i++) store_be32(out + 4 * i, c->h[i]);
    memset(c, 0, sizeof *c); /* a finished context is not reusable */
}

void kw__sha256_hex(const uint8_t d[32], char out[65]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = '\0';
}

void kw__sha256_buf(const void *data, size_t n, char hex[65]) {
    struct kw__sha256 c;
    uint8_t d[32];
    kw__sha256_init(&c);
    kw__sha256_update(&c, data, n);
    kw__sha256_final(&c, d);
    kw__sha256_hex(d, hex);
}
