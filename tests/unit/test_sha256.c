/*
 * test_sha256.c — SHA-256 against FIPS 180-4 vectors and Python hashlib
 * digests, through the streaming API (with updates split at random
 * boundaries) and through each block function directly (reference and, when
 * the CPU has it, SHA-NI), so a bug in either implementation fails even when
 * the other one is the one selected (or KW_FORCE_REF=1 is set).
 */
#include <string.h>

#include "core/sha256.h"
#include "testutil.h"

/* Digest of data using one block function, with our own padding: does not
 * go through the dispatched streaming code. */
static void digest_with(kw__sha256_blocks_fn f, const uint8_t *data,
                        size_t n, char hex[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    f(h, data, n / 64);
    uint8_t tail[128] = {0};
    const size_t rem = n % 64;
    memcpy(tail, data + (n - rem), rem);
    tail[rem] = 0x80;
    const size_t tn = rem < 56 ? 64 : 128;
    const uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) tail[tn - 1 - i] = (uint8_t)(bits >> (8 * i));
    f(h, tail, tn / 64);
    uint8_t d[32];
    for (int i = 0; i < 32; i++) d[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
    kw__sha256_hex(d, hex);
}

/* Digest through init/update/final with the input cut at random points
 * (lengths biased to small pieces so partial-block paths are exercised). */
static void digest_split(const uint8_t *data, size_t n, uint64_t *rng,
                         char hex[65]) {
    struct kw__sha256 c;
    uint8_t d[32];
    kw__sha256_init(&c);
    size_t off = 0;
    while (off < n) {
        const uint64_t r = kw_test_rand(rng);
        size_t take = (r & 3) == 0 ? (size_t)(r >> 8) % (n - off + 1)
                                   : (size_t)(r >> 8) % 150;
        if (take > n - off) take = n - off;
        kw__sha256_update(&c, data + off, take); /* take may be 0 */
        off += take;
    }
    kw__sha256_final(&c, d);
    kw__sha256_hex(d, hex);
}

/* Checks one message against its expected digest on every path. */
static void check_all(const char *what, const uint8_t *data, size_t n,
                      const char *want, uint64_t *rng) {
    char got[65];
    kw__sha256_buf(data, n, got);
    CHECKF(strcmp(got, want) == 0, "%s one-shot (%s): %s", what,
           kw__sha256_impl(), got);
    digest_split(data, n, rng, got);
    CHECKF(strcmp(got, want) == 0, "%s split (%s): %s", what,
           kw__sha256_impl(), got);
    digest_with(kw__sha256_blocks_ref, data, n, got);
    CHECKF(strcmp(got, want) == 0, "%s ref blocks: %s", what, got);
    kw__sha256_blocks_fn shani = kw__sha256_shani_variant();
    if (shani) {
        digest_with(shani, data, n, got);
        CHECKF(strcmp(got, want) == 0, "%s sha-ni blocks: %s", what, got);
    }
}

static void test_fips(uint64_t *rng) {
    static const struct {
        const char *msg, *want;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
         "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        check_all(v[i].msg, (const uint8_t *)v[i].msg, strlen(v[i].msg),
                  v[i].want, rng);
    uint8_t *a = malloc(1000000);
    CHECK(a != NULL);
    if (!a) return;
    memset(a, 'a', 1000000);
    check_all("million a", a, 1000000,
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
              rng);
    free(a);
}

/* Digests computed with Python's hashlib (see each comment). */
static void test_hashlib(uint64_t *rng) {
    const size_t big = 3 * 1024 * 1024 + 17;
    uint8_t *buf = malloc(big);
    CHECK(buf != NULL);
    if (!buf) return;
    char what[64];
    /* sha256(bytes((i*31+7) % 256 for i in range(N))) */
    for (size_t i = 0; i < big; i++) buf[i] = (uint8_t)(i * 31 + 7);
    check_all("i*31+7 x100000", buf, 100000,
              "731620161155f68e1209f22bc34a726bf5a583f40acf23ae55684b674fdbebf2",
              rng);
    check_all("i*31+7 x3MiB+17", buf, big,
              "27f3f0120d4a72b66e7b58152c631644bd689231ebd4487469b59226f1be13af",
              rng);
    /* sha256(bytes((i*i*13 + i*5 + 1) % 251 for i in range(N))) */
    static const struct {
        size_t n;
        const char *want;
    } v[] = {
        {1, "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"},
        {55, "287f4bffb51ed7029ed655456dae217436e41ca786d863038029932089cb5190"},
        {56, "c34d43bc76a3098c1ea7d3b8d4354413c90861948522aba3211dc9c918bee8ed"},
        {63, "e4c4399ac5da99d923098790b7d57bb8dcbe4c3cbe0ccad7c1c66a2bd71bc4aa"},
        {64, "41026c9c4714892f88e37a60eb8fe94f372e202dc928bbc7ecdba3050ef71297"},
        {65, "17b15365a1f3b9d315fb55cb58d4c570bc55dddc0c8eab879d7a419287840902"},
        {119, "551fb3efe3459f783d612697dc824a83890a33d4a526c610f113884b13c3b8f7"},
        {120, "57983f9a090e5e6c84f5de0028e2cb10786273e44a89ed2c46038449dbb887a1"},
        {1000, "19689b142da8ccb38ccf71d9f03e93a1d47463ccd177087b3cdeb36e3d88ebdf"},
        {65537, "1e779807b09b7688fde0eb3ea51b9c7714b34713fd90705e96d600e3ce064630"},
    };
    for (size_t i = 0; i < 65537; i++)
        buf[i] = (uint8_t)((i * i * 13 + i * 5 + 1) % 251);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(what, sizeof what, "quadratic x%zu", v[i].n);
        check_all(what, buf, v[i].n, v[i].want, rng);
    }
    free(buf);
}

/* Random messages: every path must agree with the reference blocks. */
static void test_random(uint64_t *rng) {
    static const size_t odd[] = {1021, 4097, 65599, 1000003, 2097151 + 64};
    const size_t cap = 2097151 + 64;
    uint8_t *buf = malloc(cap);
    CHECK(buf != NULL);
    if (!buf) return;
    for (size_t i = 0; i < cap; i++) buf[i] = (uint8_t)kw_test_rand(rng);
    kw__sha256_blocks_fn shani = kw__sha256_shani_variant();
    for (size_t k = 0; k < 301 + sizeof odd / sizeof odd[0]; k++) {
        const size_t n = k <= 300 ? k : odd[k - 301];
        /* start at a random, mostly unaligned offset */
        const uint8_t *p = buf + (n <= 300 ? kw_test_rand(rng) % 4096 : 0);
        char want[65], got[65];
        digest_with(kw__sha256_blocks_ref, p, n, want);
        if (shani) {
            digest_with(shani, p, n, got);
            CHECKF(strcmp(got, want) == 0, "len %zu sha-ni %s ref %s", n, got,
                   want);
        }
        digest_split(p, n, rng, got);
        CHECKF(strcmp(got, want) == 0, "len %zu split %s ref %s", n, got, want);
    }
    /* Block functions from random (not initial) states: catches a wrong
     * state layout that the fixed IV might hide. */
    for (int t = 0; t < 200 && shani; t++) {
        uint32_t h1[8], h2[8];
        for (int i = 0; i < 8; i++) h1[i] = h2[i] = (uint32_t)kw_test_rand(rng);
        const size_t nb = 1 + kw_test_rand(rng) % 5;
        const uint8_t *p = buf + kw_test_rand(rng) % 10000;
        kw__sha256_blocks_ref(h1, p, nb);
        shani(h2, p, nb);
        CHECKF(memcmp(h1, h2, sizeof h1) == 0, "random state, %zu blocks", nb);
    }
    free(buf);
}

static void test_misc(void) {
    const uint8_t d[32] = {0x00, 0x01, 0xab, 0xff, 0x10};
    char hex[65];
    memset(hex, 'x', sizeof hex);
    kw__sha256_hex(d, hex);
    CHECK(strcmp(hex, "0001abff10000000000000000000000000000000000000000000000000000000") == 0);
    const char *impl = kw__sha256_impl();
    const char *force = getenv("KW_FORCE_REF");
    const int forced = force && *force && strcmp(force, "0") != 0;
    CHECKF(strcmp(impl, kw__sha256_shani_variant() && !forced ? "sha-ni"
                                                              : "ref") == 0,
           "impl %s", impl);
    fprintf(stderr, "sha256 impl: %s (sha-ni %savailable)\n", impl,
            kw__sha256_shani_variant() ? "" : "not ");
}

int main(void) {
    uint64_t rng = 0x5eed5a256ull;
    test_misc();
    test_fips(&rng);
    test_hashlib(&rng);
    test_random(&rng);
    return kw_test_finish("test_sha256");
}
