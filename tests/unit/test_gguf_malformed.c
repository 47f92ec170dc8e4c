/*
 * test_gguf_malformed.c — the GGUF reader must reject bad input with a status
 * and a message naming the file, the key/tensor and the byte offset, never
 * crash or over-read: hand-built files each breaking one rule (counts,
 * lengths, types, nesting, dims, offsets, overlaps, duplicates, alignment),
 * the real model truncated at thousands of offsets, and byte flips in its
 * header. Inputs sit at the very end of their allocation so ASan catches any
 * read past the given size.
 */
#include <stdio.h>
#include <string.h>

#include "kaiwu/gguf.h"
#include "test_gguf_builder.h"
#include "testutil.h"

/* Opens b's bytes from an exact-size copy; returns the status, err filled. */
static enum kw_status open_copy(const struct gb *b, char *err, size_t cap) {
    uint8_t *copy = malloc(b->n ? b->n : 1);
    if (!copy) abort();
    if (b->n) memcpy(copy, b->p, b->n);
    struct kw_gguf *g = (struct kw_gguf *)copy; /* must come back NULL */
    err[0] = 0;
    enum kw_status st = kw_gguf_open_memory(copy, b->n, "bad.gguf", &g, err,
                                            cap);
    if (st == KW_STATUS_OK) {
        CHECK(g != NULL);
        kw_gguf_free(g);
    } else {
        CHECK(g == NULL);
    }
    free(copy);
    return st;
}

/* Expects status want and every non-NULL substring in the message. */
static void expect(int line, struct gb *b, enum kw_status want,
                   const char *s1, const char *s2, const char *s3) {
    char err[600];
    enum kw_status st = open_copy(b, err, sizeof err);
    CHECKF(st == want, "line %d: status %d, want %d: %s", line, (int)st,
           (int)want, err);
    if (want != KW_STATUS_OK) {
        CHECKF(strncmp(err, "bad.gguf: ", 10) == 0, "line %d: %s", line, err);
        const char *subs[3] = {s1, s2, s3};
        for (int i = 0; i < 3; i++)
            CHECKF(!subs[i] || strstr(err, subs[i]),
                   "line %d: '%s' not in: %s", line, subs[i], err);
    }
    gb_free(b);
}
#define FAIL(b, ...) expect(__LINE__, b, KW_STATUS_ERR_FORMAT, __VA_ARGS__)
#define UNSUP(b, ...) expect(__LINE__, b, KW_STATUS_ERR_UNSUPPORTED, __VA_ARGS__)
#define OK(b) expect(__LINE__, b, KW_STATUS_OK, NULL, NULL, NULL)

static void test_header(void) {
    struct gb b = {0};
    gb_header(&b, 3, 0, 0);
    OK(&b);
    gb_bytes(&b, "GGUX", 4); gb_u32(&b, 3); gb_u64(&b, 0); gb_u64(&b, 0);
    FAIL(&b, "not a GGUF file", "(offset 0)", NULL);
    gb_header(&b, 3, 0, 0); b.n = 23;
    FAIL(&b, "too small", "23 bytes", NULL);
    gb_header(&b, 0, 0, 0);
    FAIL(&b, "version 0", "(offset 4)", NULL);
    gb_header(&b, 1, 0, 0);
    UNSUP(&b, "v1", "(offset 4)", NULL);
    gb_header(&b, 4, 0, 0);
    UNSUP(&b, "version 4", NULL, NULL);
    gb_header(&b, 0x03000000u, 0, 0);
    UNSUP(&b, "big-endian", NULL, NULL);
    gb_header(&b, 2, 0, (uint64_t)1 << 62);
    FAIL(&b, "key/value count 4611686018427387904 cannot fit", "(offset 16)",
         NULL);
    gb_header(&b, 3, 0, UINT64_MAX); /* -1 as ggml's int64 */
    FAIL(&b, "key/value count", "(offset 16)", NULL);
    gb_header(&b, 3, UINT64_MAX, 0);
    FAIL(&b, "tensor count 18446744073709551615", "(offset 8)", NULL);
    /* counts within the bound but garbage entries: fails on the first */
    gb_header(&b, 3, 1000, 1000);
    for (int i = 0; i < 47000; i++) gb_u8(&b, 0);
    FAIL(&b, "key #0: empty key", "(offset 24)", NULL);
    /* each count fits alone but not both together */
    gb_header(&b, 3, 1, 1);
    for (int i = 0; i < 40; i++) gb_u8(&b, 0);
    FAIL(&b, "tensor count 1 cannot fit", NULL, NULL);
}

static void test_kv(void) {
    struct gb b = {0};
    /* key length beyond the file */
    gb_header(&b, 3, 0, 1); gb_u64(&b, 99999999999ull); gb_bytes(&b, "abcdef", 6);
    FAIL(&b, "key #0", "key length 99999999999 exceeds the 6 bytes left",
         "(offset 24)");
    gb_header(&b, 3, 0, 1); gb_kv_u32(&b, "", 1);
    FAIL(&b, "key #0", "empty key", NULL);
    gb_header(&b, 3, 0, 1); gb_u64(&b, 3); gb_bytes(&b, "a\0b", 3);
    gb_u32(&b, KW_GGUF_UINT8); gb_u8(&b, 0);
    FAIL(&b, "NUL", NULL, NULL);
    gb_header(&b, 3, 0, 2); gb_kv_u32(&b, "a", 1); gb_kv_u32(&b, "a", 2);
    FAIL(&b, "key 'a'", "duplicate key", "(offset 41)");
    gb_header(&b, 3, 0, 2); gb_kv_u32(&b, "a", 1); gb_kv_u32(&b, "b", 2);
    OK(&b);
    /* string value beyond the file */
    gb_header(&b, 3, 0, 1); gb_key(&b, "general.name", KW_GGUF_STRING);
    gb_u64(&b, 1000); gb_bytes(&b, "xyz", 3);
    FAIL(&b, "key 'general.name'", "string length 1000 exceeds the 3 bytes",
         "(offset 48)");
    /* unknown types */
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", 13); gb_u64(&b, 0);
    FAIL(&b, "key 'k'", "unknown value type 13", "(offset 33)");
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", 0xffffffffu); gb_u64(&b, 0);
    FAIL(&b, "key 'k'", "unknown value type 4294967295", NULL);
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_ARRAY); gb_u32(&b, 99);
    gb_u64(&b, 0);
    FAIL(&b, "key 'k'", "unknown array element type 99", "(offset 37)");
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_ARRAY);
    gb_u32(&b, KW_GGUF_ARRAY); gb_u64(&b, 1); gb_u32(&b, KW_GGUF_UINT8);
    gb_u64(&b, 1); gb_u8(&b, 0);
    FAIL(&b, "key 'k'", "nested arrays", NULL);
    /* truncated scalars */
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_UINT64); gb_u32(&b, 0);
    FAIL(&b, "key 'k'", "uint64 needs 8 bytes but only 4 are left", NULL);
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_BOOL); /* 13 bytes */
    FAIL(&b, "key/value count 1 cannot fit in the 13 bytes", NULL, NULL);
    gb_header(&b, 3, 0, 1); gb_str(&b, "kkkkkk"); gb_u16(&b, 4);
    FAIL(&b, "key 'kkkkkk'", "value type needs 4 bytes but only 2", NULL);
    /* array lengths */
    gb_header(&b, 3, 0, 1); gb_key(&b, "tokenizer.ggml.tokens", KW_GGUF_ARRAY);
    gb_u32(&b, KW_GGUF_STRING); gb_u64(&b, 99999999999ull); gb_str(&b, "a");
    FAIL(&b, "key 'tokenizer.ggml.tokens': array length 99999999999 "
             "exceeds the 9 bytes left",
         "(offset 61)", NULL);
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_ARRAY);
    gb_u32(&b, KW_GGUF_UINT32); gb_u64(&b, 3); gb_u32(&b, 1); gb_u32(&b, 2);
    FAIL(&b, "key 'k'", "array length 3 exceeds the 8 bytes left", NULL);
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_ARRAY);
    gb_u32(&b, KW_GGUF_UINT64); gb_u64(&b, UINT64_MAX / 4); gb_u64(&b, 1);
    FAIL(&b, "key 'k'", "array length", NULL);
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_ARRAY);
    gb_u32(&b, KW_GGUF_UINT8); gb_u64(&b, (1ull << 30) + 1); gb_u8(&b, 1);
    FAIL(&b, "key 'k'", "array length 1073741825 exceeds the 1 bytes", NULL);
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_ARRAY);
    gb_u32(&b, KW_GGUF_STRING); gb_u64(&b, 2); gb_str(&b, "ab");
    gb_u64(&b, 5); gb_bytes(&b, "abcd", 4);
    FAIL(&b, "key 'k'", "string element 1: length 5 exceeds the 4 bytes",
         "(offset 59)");
    gb_header(&b, 3, 0, 1); gb_key(&b, "k", KW_GGUF_ARRAY);
    gb_u32(&b, KW_GGUF_STRING); gb_u64(&b, 2); gb_str(&b, "abcdefgh");
    gb_u32(&b, 0);
    FAIL(&b, "string element 1: length needs 8 bytes", NULL, NULL);
    /* names with odd bytes are shown safely */
    gb_header(&b, 3, 0, 2); gb_kv_u32(&b, "x'\n\x01y", 1);
    gb_kv_u32(&b, "x'\n\x01y", 1);
    FAIL(&b, "key 'x???y'", "duplicate", NULL);
    char longkey[400];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    gb_header(&b, 3, 0, 1); gb_key(&b, longkey, 99);
    FAIL(&b, "...'", "unknown value type 99", NULL);
}

static void test_alignment(void) {
    struct gb b = {0};
    gb_header(&b, 3, 0, 1); gb_key(&b, "general.alignment", KW_GGUF_UINT64);
    gb_u64(&b, 32);
    FAIL(&b, "key 'general.alignment'", "must be uint32 but is uint64", NULL);
    const uint32_t bad[] = {0, 3, 48, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gb_header(&b, 3, 0, 1); gb_kv_u32(&b, "general.alignment", bad[i]);
        FAIL(&b, "key 'general.alignment'", "not a non-zero power of two",
             "(offset 53)");
    }
    gb_header(&b, 3, 0, 1); gb_kv_u32(&b, "general.alignment", 1u << 31);
    OK(&b);
}

/* A file with one kv and the tensors given; data bytes cover `data`. */
struct tdesc {
    const char *name;
    uint32_t n_dims;
    int64_t ne[4];
    uint32_t type;
    uint64_t offset;
};

static void build_tensors(struct gb *b, const struct tdesc *t, int n,
                          uint32_t align, size_t data) {
    gb_header(b, 3, (uint64_t)n, align ? 2 : 1);
    gb_kv_str(b, "general.name", "t");
    if (align) gb_kv_u32(b, "general.alignment", align);
    for (int i = 0; i < n; i++)
        gb_tensor(b, t[i].name, t[i].n_dims, t[i].ne, t[i].type,
                  t[i].offset);
    gb_pad(b, align ? align : 32);
    for (size_t i = 0; i < data; i++) gb_u8(b, (uint8_t)i);
}

static void test_tensors(void) {
    struct gb b = {0};
    char n63[64], n64[65];
    memset(n63, 'n', 63); n63[63] = 0;
    memset(n64, 'n', 64); n64[64] = 0;
    const struct tdesc good[2] = {{"a", 2, {4, 2}, KW_TYPE_F32, 0},
                                  {"b", 1, {32}, KW_TYPE_Q8_0, 32}};
    build_tensors(&b, good, 2, 0, 66);
    OK(&b);
    build_tensors(&b, good, 2, 0, 65);
    FAIL(&b, "tensor 'b'", "34 bytes at data offset 32", "past the end");

    struct tdesc t[2];
#define ONE(...)                                                              \
    do {                                                                      \
        const struct tdesc x_ = __VA_ARGS__;                                  \
        t[0] = x_;                                                            \
    } while (0)
    ONE({"", 1, {1}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor #0", "empty tensor name", NULL);
    ONE({n63, 1, {1}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 64);
    OK(&b);
    ONE({n64, 1, {1}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "name is 64 bytes, longer than the 63", "(offset 57)", NULL);
    t[0] = good[0]; t[1] = good[0]; t[1].offset = 32;
    build_tensors(&b, t, 2, 0, 64);
    FAIL(&b, "tensor 'a'", "duplicate tensor name (also tensor #0)", NULL);
    const uint32_t bad_dims[] = {0, 5, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        ONE({"w", bad_dims[i], {1}, KW_TYPE_F32, 0});
        build_tensors(&b, t, 1, 0, 64);
        FAIL(&b, "tensor 'w'", "is not in 1..4", "(offset 66)");
    }
    ONE({"w", 3, {4, 0, 2}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "dimension 1 is 0", "(offset 78)");
    ONE({"w", 2, {-1, 2}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "dimension 0 is 18446744073709551615", NULL);
    ONE({"w", 4, {1ll << 32, 1ll << 31, 1, 1}, 24 /* i8 */, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "shape overflows", NULL);
    ONE({"w", 2, {INT64_MAX, 1}, KW_TYPE_Q8_0, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "not a multiple of the block size", NULL);
    ONE({"w", 2, {1ll << 31, 1ll << 31}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "size in bytes overflows", NULL);
    ONE({"w", 2, {1ll << 31, 1ll << 30}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "past the end", NULL);
    const uint32_t bad_types[] = {4, 5, 31, 40, 0xffffffffu};
    for (size_t i = 0; i < 5; i++) {
        ONE({"w", 1, {32}, bad_types[i], 0});
        build_tensors(&b, t, 1, 0, 256);
        FAIL(&b, "tensor 'w'", "unknown tensor type", "(offset 78)");
    }
    ONE({"w", 1, {33}, KW_TYPE_Q8_0, 0});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "ne[0] = 33 is not a multiple of the block size 32",
         NULL);
    ONE({"w", 1, {4}, KW_TYPE_F32, 16});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "data offset 16 is not a multiple of the alignment "
                           "32", "(offset 82)");
    ONE({"w", 1, {4}, KW_TYPE_F32, 16});
    build_tensors(&b, t, 1, 16, 64);
    OK(&b);
    ONE({"w", 1, {4}, KW_TYPE_F32, 8});
    build_tensors(&b, t, 1, 16, 64);
    FAIL(&b, "alignment 16", NULL, NULL);
    ONE({"w", 1, {4}, KW_TYPE_F32, 1ull << 40});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "past the end", NULL);
    ONE({"w", 1, {4}, KW_TYPE_F32, UINT64_MAX - 31});
    build_tensors(&b, t, 1, 0, 64);
    FAIL(&b, "tensor 'w'", "past the end", NULL);
    ONE({"w", 1, {16}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 63);
    FAIL(&b, "tensor 'w'", "64 bytes at data offset 0", NULL);
    /* overlaps, in either file order */
    const struct tdesc ov[2] = {{"big", 1, {16}, KW_TYPE_F32, 0},
                                {"small", 1, {8}, KW_TYPE_F32, 32}};
    build_tensors(&b, ov, 2, 0, 128);
    FAIL(&b, "tensor 'small'", "overlaps tensor 'big' [0, 64)", NULL);
    t[0] = ov[1]; t[1] = ov[0];
    build_tensors(&b, t, 2, 0, 128);
    FAIL(&b, "tensor 'small'", "overlaps tensor 'big'", NULL);
    t[0] = ov[1]; t[1] = ov[1]; t[1].name = "other";
    build_tensors(&b, t, 2, 0, 128);
    FAIL(&b, "overlaps", NULL, NULL);
    t[0] = ov[0]; t[1] = ov[1]; t[1].offset = 64;
    build_tensors(&b, t, 2, 0, 96);
    OK(&b);
    /* header ends short of the aligned data section */
    ONE({"w", 1, {4}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 0);
    b.n -= 1; /* padding cut: 32-aligned start is past the end */
    FAIL(&b, "tensor data would start at", NULL, NULL);
    /* truncated tensor info fields */
    ONE({"wwwwwwwwwwwwwwwwwwww", 2, {4, 4}, KW_TYPE_F32, 0});
    build_tensors(&b, t, 1, 0, 0);
    b.n = 100; /* 3 bytes into ne[1] */
    FAIL(&b, "tensor 'wwwwwwwwwwwwwwwwwwww'",
         "dimension needs 8 bytes but only 3", "(offset 97)");
#undef ONE
}

/* The real file cut at many lengths; each prefix sits at the end of buf. */
static void test_truncated_real(void) {
    const char *path = kw_test_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    size_t size = 0;
    uint8_t *file = kw_test_read_file(path, &size);
    CHECK(file != NULL);
    if (!file) return;
    char err[600];
    struct kw_gguf *g = NULL;
    CHECK(kw_gguf_open_memory(file, size, "full", &g, err, sizeof err) ==
          KW_STATUS_OK);
    const uint64_t hdr = kw_gguf_data_offset(g);
    kw_gguf_free(g);
    uint8_t *buf = malloc(size);
    if (!buf) abort();
    int n = 0, bad = 0;
    for (uint64_t len = 0; len < size; n++) {
        uint8_t *p = buf + size - len;
        /* only the header is ever read; past it, copying would just cost
         * time (bytes beyond p + len are still outside the allocation) */
        memcpy(p, file, len < hdr + 4096 ? len : hdr + 4096);
        err[0] = 0;
        g = (struct kw_gguf *)buf;
        enum kw_status st =
            kw_gguf_open_memory(p, len, "trunc", &g, err, sizeof err);
        if (st == KW_STATUS_OK || g != NULL ||
            strncmp(err, "trunc: ", 7) != 0 || !strstr(err, "(offset ")) {
            if (bad++ < 5)
                fprintf(stderr, "prefix %llu: status %d: %s\n",
                        (unsigned long long)len, (int)st, err);
        }
        kw_gguf_free(st == KW_STATUS_OK ? g : NULL);
        if (len < 4096) len += 1;
        else if (len < hdr + 4096) len += 613;
        else len += (size - hdr) / 300 + 7;
    }
    CHECKF(bad == 0, "%d of %d truncated prefixes misbehaved", bad, n);
    printf("truncated real file at %d lengths\n", n);

    /* single-byte flips over the header: anything but a crash is fine */
    uint64_t rs = 12345;
    int ok = 0;
    memcpy(buf, file, size);
    for (int i = 0; i < 600; i++) {
        uint64_t at = kw_test_rand(&rs) % (i < 300 ? 4096 : hdr);
        const uint8_t old = buf[at];
        buf[at] = (uint8_t)kw_test_rand(&rs);
        g = NULL;
        if (kw_gguf_open_memory(buf, size, "flip", &g, err, sizeof err) ==
            KW_STATUS_OK) {
            ok++;
            kw_gguf_free(g);
        }
        buf[at] = old;
    }
    printf("byte flips: %d of 600 still opened\n", ok);
    free(buf);
    free(file);
}

int main(void) {
    test_header();
    test_kv();
    test_alignment();
    test_tensors();
    test_truncated_real(); /* last: may exit 77 when the model is missing */
    return kw_test_finish("test_gguf_malformed");
}
