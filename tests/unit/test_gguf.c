/*
 * test_gguf.c — the GGUF reader on the real SmolLM2 file (known values taken
 * once from the python gguf package: counts, hyperparameters, vocab entries,
 * tensor shapes/offsets/data) and round trips of hand-built files covering
 * every value type, arrays of each type, v2/v3, general.alignment, the mmap
 * and memory entry points, getter conversions and out-of-range indices.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kaiwu/gguf.h"
#include "test_gguf_builder.h"
#include "testutil.h"

static int str_eq(const char *s, size_t n, const char *want) {
    return s && n == strlen(want) && memcmp(s, want, n) == 0;
}

static void check_arr_str(const struct kw_gguf *g, int64_t k, uint64_t j,
                          const char *want) {
    const char *s = NULL;
    size_t n = 0;
    CHECKF(kw_gguf_arr_str(g, k, j, &s, &n) && str_eq(s, n, want),
           "element %llu: want '%s' got '%.*s'", (unsigned long long)j, want,
           (int)n, s ? s : "");
}

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the real model ---------------------------------------------------- */

static void check_real(const struct kw_gguf *g, const uint8_t *mem) {
    CHECK(kw_gguf_version(g) == 3);
    CHECK(kw_gguf_n_kv(g) == 33);
    CHECK(kw_gguf_n_tensors(g) == 272);
    CHECK(kw_gguf_alignment(g) == 32);
    CHECK(kw_gguf_data_offset(g) == 1785664);
    CHECK(kw_gguf_file_size(g) == 98362432);

    uint64_t u = 0;
    double f = 0;
    int b = -1;
    const char *s = NULL;
    size_t n = 0;
    CHECK(kw_gguf_find_u64(g, "llama.block_count", &u) && u == 30);
    CHECK(kw_gguf_find_u64(g, "llama.embedding_length", &u) && u == 576);
    CHECK(kw_gguf_find_u64(g, "llama.context_length", &u) && u == 8192);
    CHECK(kw_gguf_find_u64(g, "llama.attention.head_count_kv", &u) && u == 3);
    CHECK(kw_gguf_find_f64(g, "llama.rope.freq_base", &f) && f == 100000.0);
    CHECK(kw_gguf_find_f64(g, "llama.attention.layer_norm_rms_epsilon", &f) &&
          f == (double)1e-5f);
    CHECK(kw_gguf_find_bool(g, "tokenizer.ggml.add_bos_token", &b) && b == 0);
    CHECK(kw_gguf_find_str(g, "general.architecture", &s, &n) &&
          str_eq(s, n, "llama"));
    CHECK(kw_gguf_find_str(g, "tokenizer.ggml.pre", &s, &n) &&
          str_eq(s, n, "smollm"));
    CHECK(kw_gguf_find_str(g, "tokenizer.chat_template", &s, &n) && n == 368);
    CHECK(kw_gguf_find_key(g, "general.architecture") == 0);
    CHECK(strcmp(kw_gguf_key(g, 0), "general.architecture") == 0);
    CHECK(kw_gguf_kv_type(g, 0) == KW_GGUF_STRING);
    CHECK(strcmp(kw_gguf_key(g, 32), "general.quantization_version") == 0);

    /* vocab and merges (string arrays) */
    const int64_t tok = kw_gguf_find_key(g, "tokenizer.ggml.tokens");
    CHECK(tok >= 0 && kw_gguf_kv_type(g, tok) == KW_GGUF_ARRAY);
    CHECK(kw_gguf_arr_type(g, tok) == KW_GGUF_STRING);
    CHECK(kw_gguf_arr_n(g, tok) == 49152);
    check_arr_str(g, tok, 0, "<|endoftext|>");
    check_arr_str(g, tok, 1, "<|im_start|>");
    check_arr_str(g, tok, 2, "<|im_end|>");
    check_arr_str(g, tok, 100, "t");
    check_arr_str(g, tok, 1000, "()");
    check_arr_str(g, tok, 49151, "ectable");
    CHECK(!kw_gguf_arr_str(g, tok, 49152, &s, &n));
    CHECK(!kw_gguf_arr_str(g, tok, UINT64_MAX, &s, &n));
    CHECK(!kw_gguf_arr_i64(g, tok, 0, NULL));
    const int64_t mer = kw_gguf_find_key(g, "tokenizer.ggml.merges");
    CHECK(kw_gguf_arr_n(g, mer) == 48900);
    check_arr_str(g, mer, 0, "\xc4\xa0 t");
    check_arr_str(g, mer, 48899, "ect able");

    /* token types (int32 array) */
    const int64_t tt = kw_gguf_find_key(g, "tokenizer.ggml.token_type");
    int64_t v = 0;
    CHECK(kw_gguf_arr_type(g, tt) == KW_GGUF_INT32);
    CHECK(kw_gguf_arr_n(g, tt) == 49152);
    CHECK(kw_gguf_arr_i64(g, tt, 0, &v) && v == 3);
    CHECK(kw_gguf_arr_i64(g, tt, 100, &v) && v == 1);
    CHECK(kw_gguf_arr_u64(g, tt, 49151, &u) && u == 1);
    CHECK(!kw_gguf_arr_f64(g, tt, 0, &f));
    CHECK(!kw_gguf_arr_str(g, tt, 0, &s, &n));
    CHECK(!kw_gguf_arr_i64(g, tt, 49152, &v));

    /* type mismatches */
    const int64_t bc = kw_gguf_find_key(g, "llama.block_count");
    CHECK(kw_gguf_kv_type(g, bc) == KW_GGUF_UINT32);
    CHECK(kw_gguf_get_i64(g, bc, &v) && v == 30);
    CHECK(!kw_gguf_get_str(g, bc, &s, &n));
    CHECK(!kw_gguf_get_f64(g, bc, &f));
    CHECK(!kw_gguf_get_bool(g, bc, &b));
    CHECK(kw_gguf_arr_type(g, bc) == -1 && kw_gguf_arr_n(g, bc) == 0);
    CHECK(!kw_gguf_arr_u64(g, bc, 0, &u));
    CHECK(!kw_gguf_get_i64(g, 0, &v)); /* string */
    CHECK(!kw_gguf_get_u64(g, tok, &u)); /* array */
    CHECK(!kw_gguf_get_str(g, tok, &s, &n));
    CHECK(!kw_gguf_find_u64(g, "llama.rope.freq_base", &u)); /* float */
    CHECK(kw_gguf_find_u64(g, "tokenizer.ggml.add_bos_token", &u) && u == 0);
    CHECK(!kw_gguf_find_bool(g, "llama.block_count", &b));
    CHECK(!kw_gguf_find_str(g, "no.such.key", &s, &n));

    /* out-of-range indices */
    const int64_t bad[] = {-1, 33, INT64_MAX, INT64_MIN};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const int64_t i = bad[k];
        CHECK(kw_gguf_key(g, i) == NULL);
        CHECK(kw_gguf_kv_type(g, i) == -1);
        CHECK(!kw_gguf_get_i64(g, i, &v) && !kw_gguf_get_u64(g, i, &u));
        CHECK(!kw_gguf_get_f64(g, i, &f) && !kw_gguf_get_bool(g, i, &b));
        CHECK(!kw_gguf_get_str(g, i, &s, &n));
        CHECK(kw_gguf_arr_type(g, i) == -1 && kw_gguf_arr_n(g, i) == 0);
        CHECK(!kw_gguf_arr_str(g, i, 0, &s, &n));
        struct kw_gguf_tensor_info ti;
        CHECK(!kw_gguf_tensor(g, i == 33 ? 272 : i, &ti));
    }
    CHECK(kw_gguf_find_key(g, "nope") == -1);
    CHECK(kw_gguf_find_key(g, "") == -1);
    CHECK(kw_gguf_find_key(g, NULL) == -1);
    CHECK(kw_gguf_find_tensor(g, NULL) == -1);
    CHECK(kw_gguf_find_tensor(g, "token_embd.weigh") == -1);

    /* tensors */
    struct kw_gguf_tensor_info ti;
    const int64_t te = kw_gguf_find_tensor(g, "token_embd.weight");
    CHECK(te == 0 && kw_gguf_tensor(g, te, &ti));
    CHECK(strcmp(ti.name, "token_embd.weight") == 0);
    CHECK(ti.type == KW_TYPE_Q8_0 && ti.n_dims == 2);
    CHECK(ti.ne[0] == 576 && ti.ne[1] == 49152 && ti.ne[2] == 1 &&
          ti.ne[3] == 1);
    CHECK(ti.offset == 0 && ti.size_bytes == 30081024);
    CHECK(kw_gguf_find_tensor(g, "blk.0.attn_q.weight") == 8);
    CHECK(kw_gguf_tensor(g, 8, &ti) && ti.type == KW_TYPE_Q4_1 &&
          ti.offset == 32020992 && ti.size_bytes == 207360);
    CHECK(kw_gguf_find_tensor(g, "blk.29.ffn_up.weight") == 202);
    CHECK(kw_gguf_tensor(g, 202, &ti) && ti.ne[0] == 576 &&
          ti.ne[1] == 1536 && ti.offset == 79951104);
    const int64_t on = kw_gguf_find_tensor(g, "output_norm.weight");
    CHECK(on == 271 && kw_gguf_tensor(g, on, &ti));
    CHECK(ti.type == KW_TYPE_F32 && ti.n_dims == 1 && ti.ne[0] == 576);
    const float want[4] = {0x1.c2p+0f, 0x1.d2p+0f, 0x1.c8p+0f, 0x1.9ap+0f};
    CHECK(memcmp(ti.data, want, sizeof want) == 0);
    uint64_t total = 0;
    for (int64_t i = 0; i < kw_gguf_n_tensors(g); i++) {
        CHECK(kw_gguf_tensor(g, i, &ti));
        CHECK(kw_gguf_find_tensor(g, ti.name) == i);
        CHECK(ti.offset % 32 == 0);
        CHECK(kw_gguf_data_offset(g) + ti.offset + ti.size_bytes <=
              kw_gguf_file_size(g));
        if (mem)
            CHECK((const uint8_t *)ti.data ==
                  mem + kw_gguf_data_offset(g) + ti.offset);
        else
            CHECK((uintptr_t)ti.data % 32 == 0);
        total += ti.size_bytes;
    }
    CHECK(total <= kw_gguf_file_size(g) - kw_gguf_data_offset(g));
    for (int64_t i = 0; i < kw_gguf_n_kv(g); i++)
        CHECK(kw_gguf_find_key(g, kw_gguf_key(g, i)) == i);
}

static void test_real_model(void) {
    const char *path = kw_test_model("SmolLM2-135M-Instruct.Q4_1.gguf");
    char err[512] = "";
    struct kw_gguf *g = NULL;
    int64_t best = INT64_MAX;
    for (int rep = 0; rep < 5; rep++) {
        const int64_t t0 = now_us();
        enum kw_status st = kw_gguf_open(path, &g, err, sizeof err);
        const int64_t dt = now_us() - t0;
        CHECKF(st == KW_STATUS_OK && g, "%s", err);
        if (!g) return;
        if (dt < best) best = dt;
        if (rep < 4) {
            kw_gguf_free(g);
            g = NULL;
        }
    }
    printf("kw_gguf_open(%s): %.2f ms (best of 5)\n", path, best / 1000.0);
    CHECKF(best < 200000, "opening took %lld us", (long long)best);
    check_real(g, NULL);
    kw_gguf_free(g);

    size_t size = 0;
    uint8_t *mem = kw_test_read_file(path, &size);
    CHECK(mem != NULL);
    if (!mem) return;
    CHECK(kw_gguf_open_memory(mem, size, "smol", &g, err, sizeof err) ==
          KW_STATUS_OK);
    if (g) check_real(g, mem);
    kw_gguf_free(g);
    free(mem);
}

/* ---- hand-built files -------------------------------------------------- */

#define N_TENSORS 3

/* Every value type as a scalar and as an array, plus three tensors whose
 * data bytes are i*7 (mod 256) from the start of the data section. */
static void build_all(struct gb *b, uint32_t version, uint32_t align) {
    const uint64_t n_kv = 27 + (align ? 1 : 0);
    gb_header(b, version, N_TENSORS, n_kv);
    gb_key(b, "u8", KW_GGUF_UINT8); gb_u8(b, 200);
    gb_key(b, "i8", KW_GGUF_INT8); gb_u8(b, (uint8_t)-5);
    gb_key(b, "u16", KW_GGUF_UINT16); gb_u16(b, 60000);
    gb_key(b, "i16", KW_GGUF_INT16); gb_u16(b, (uint16_t)-30000);
    gb_key(b, "u32", KW_GGUF_UINT32); gb_u32(b, 4000000000u);
    gb_key(b, "i32", KW_GGUF_INT32); gb_u32(b, (uint32_t)-2000000000);
    gb_key(b, "f32", KW_GGUF_FLOAT32); gb_f32(b, 1.5f);
    gb_key(b, "bool", KW_GGUF_BOOL); gb_u8(b, 1);
    gb_key(b, "str", KW_GGUF_STRING); gb_str(b, "hello");
    gb_key(b, "u64", KW_GGUF_UINT64); gb_u64(b, (1ull << 63) + 5);
    gb_key(b, "i64", KW_GGUF_INT64); gb_u64(b, (uint64_t)-(1ll << 40));
    gb_key(b, "f64", KW_GGUF_FLOAT64); gb_f64(b, 0.1);
    gb_key(b, "empty_str", KW_GGUF_STRING); gb_str(b, "");
    if (align) gb_kv_u32(b, "general.alignment", align);
    /* arrays */
    gb_key(b, "a.u8", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_UINT8); gb_u64(b, 3);
    gb_u8(b, 1); gb_u8(b, 2); gb_u8(b, 255);
    gb_key(b, "a.i8", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_INT8); gb_u64(b, 2);
    gb_u8(b, (uint8_t)-128); gb_u8(b, 127);
    gb_key(b, "a.u16", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_UINT16); gb_u64(b, 1);
    gb_u16(b, 65535);
    gb_key(b, "a.i16", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_INT16); gb_u64(b, 2);
    gb_u16(b, (uint16_t)-32768); gb_u16(b, 7);
    gb_key(b, "a.u32", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_UINT32); gb_u64(b, 2);
    gb_u32(b, 0xffffffffu); gb_u32(b, 0);
    gb_key(b, "a.i32", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_INT32); gb_u64(b, 3);
    gb_u32(b, (uint32_t)-1); gb_u32(b, 5); gb_u32(b, 0x80000000u);
    gb_key(b, "a.f32", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_FLOAT32); gb_u64(b, 2);
    gb_f32(b, 0.5f); gb_f32(b, -2.25f);
    gb_key(b, "a.bool", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_BOOL); gb_u64(b, 2);
    gb_u8(b, 1); gb_u8(b, 0);
    gb_key(b, "a.str", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_STRING); gb_u64(b, 3);
    gb_str(b, "a"); gb_str(b, ""); gb_str(b, "ccc");
    gb_key(b, "a.u64", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_UINT64); gb_u64(b, 2);
    gb_u64(b, UINT64_MAX); gb_u64(b, 7);
    gb_key(b, "a.i64", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_INT64); gb_u64(b, 2);
    gb_u64(b, (uint64_t)INT64_MIN); gb_u64(b, (uint64_t)-1);
    gb_key(b, "a.f64", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_FLOAT64); gb_u64(b, 1);
    gb_f64(b, 1e300);
    gb_key(b, "a.empty", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_INT32); gb_u64(b, 0);
    gb_key(b, "a.empty_str", KW_GGUF_ARRAY); gb_u32(b, KW_GGUF_STRING);
    gb_u64(b, 0);
    /* tensors: f32 [3,2] = 24 B, q8_0 [64] = 68 B, f16 [5,1,1,2] = 20 B */
    const uint64_t al = align ? align : 32;
    const int64_t ne_a[2] = {3, 2}, ne_b[1] = {64}, ne_c[4] = {5, 1, 1, 2};
    const uint64_t off_b = (24 + al - 1) / al * al;
    const uint64_t off_c = (off_b + 68 + al - 1) / al * al;
    gb_tensor(b, "a", 2, ne_a, KW_TYPE_F32, 0);
    gb_tensor(b, "blk.0.b", 1, ne_b, KW_TYPE_Q8_0, off_b);
    gb_tensor(b, "c", 4, ne_c, KW_TYPE_F16, off_c);
    gb_pad(b, al);
    for (uint64_t i = 0; i < off_c + 20; i++) gb_u8(b, (uint8_t)(i * 7));
}

static void check_all(const struct kw_gguf *g, uint32_t version,
                      uint32_t align, const uint8_t *mem) {
    int64_t v;
    uint64_t u;
    double f;
    int b;
    const char *s;
    size_t n;
    CHECK(kw_gguf_version(g) == version);
    CHECK(kw_gguf_alignment(g) == (align ? align : 32));
    CHECK(kw_gguf_data_offset(g) % kw_gguf_alignment(g) == 0);
    CHECK(kw_gguf_n_kv(g) == 27 + (align ? 1 : 0));
#define K(name) kw_gguf_find_key(g, name)
    CHECK(kw_gguf_get_i64(g, K("u8"), &v) && v == 200);
    CHECK(kw_gguf_get_u64(g, K("u8"), &u) && u == 200);
    CHECK(kw_gguf_get_i64(g, K("i8"), &v) && v == -5);
    CHECK(!kw_gguf_get_u64(g, K("i8"), &u));
    CHECK(kw_gguf_get_i64(g, K("u16"), &v) && v == 60000);
    CHECK(kw_gguf_get_i64(g, K("i16"), &v) && v == -30000);
    CHECK(kw_gguf_get_u64(g, K("u32"), &u) && u == 4000000000u);
    CHECK(kw_gguf_get_i64(g, K("i32"), &v) && v == -2000000000);
    CHECK(kw_gguf_get_f64(g, K("f32"), &f) && f == 1.5);
    CHECK(!kw_gguf_get_i64(g, K("f32"), &v));
    CHECK(kw_gguf_get_bool(g, K("bool"), &b) && b == 1);
    CHECK(kw_gguf_get_i64(g, K("bool"), &v) && v == 1);
    CHECK(!kw_gguf_get_f64(g, K("bool"), &f));
    CHECK(kw_gguf_get_str(g, K("str"), &s, &n) && str_eq(s, n, "hello"));
    CHECK(kw_gguf_get_u64(g, K("u64"), &u) && u == (1ull << 63) + 5);
    CHECK(!kw_gguf_get_i64(g, K("u64"), &v)); /* does not fit */
    CHECK(kw_gguf_get_i64(g, K("i64"), &v) && v == -(1ll << 40));
    CHECK(!kw_gguf_get_u64(g, K("i64"), &u));
    CHECK(kw_gguf_get_f64(g, K("f64"), &f) && f == 0.1);
    CHECK(kw_gguf_get_str(g, K("empty_str"), &s, &n) && n == 0);
    CHECK(!kw_gguf_get_bool(g, K("u8"), &b));
    /* NULL out pointers are allowed */
    CHECK(kw_gguf_get_i64(g, K("u8"), NULL));
    CHECK(kw_gguf_get_str(g, K("str"), NULL, NULL));
    for (int64_t i = 0; i < 13; i++) /* scalars keep file order */
        CHECK(kw_gguf_kv_type(g, i) ==
              (i < 12 ? (int)(i < 9 ? i : i + 1) : KW_GGUF_STRING));

    CHECK(kw_gguf_arr_type(g, K("a.u8")) == KW_GGUF_UINT8);
    CHECK(kw_gguf_arr_n(g, K("a.u8")) == 3);
    CHECK(kw_gguf_arr_u64(g, K("a.u8"), 2, &u) && u == 255);
    CHECK(kw_gguf_arr_i64(g, K("a.i8"), 0, &v) && v == -128);
    CHECK(kw_gguf_arr_i64(g, K("a.i8"), 1, &v) && v == 127);
    CHECK(!kw_gguf_arr_u64(g, K("a.i8"), 0, &u));
    CHECK(kw_gguf_arr_u64(g, K("a.u16"), 0, &u) && u == 65535);
    CHECK(kw_gguf_arr_i64(g, K("a.i16"), 0, &v) && v == -32768);
    CHECK(kw_gguf_arr_i64(g, K("a.i16"), 1, &v) && v == 7);
    CHECK(kw_gguf_arr_u64(g, K("a.u32"), 0, &u) && u == 0xffffffffu);
    CHECK(kw_gguf_arr_i64(g, K("a.i32"), 0, &v) && v == -1);
    CHECK(kw_gguf_arr_i64(g, K("a.i32"), 2, &v) && v == INT32_MIN);
    CHECK(!kw_gguf_arr_i64(g, K("a.i32"), 3, &v));
    CHECK(kw_gguf_arr_f64(g, K("a.f32"), 1, &f) && f == -2.25);
    CHECK(kw_gguf_arr_i64(g, K("a.bool"), 0, &v) && v == 1);
    CHECK(kw_gguf_arr_u64(g, K("a.bool"), 1, &u) && u == 0);
    CHECK(kw_gguf_arr_n(g, K("a.str")) == 3);
    check_arr_str(g, K("a.str"), 0, "a");
    check_arr_str(g, K("a.str"), 1, "");
    check_arr_str(g, K("a.str"), 2, "ccc");
    CHECK(!kw_gguf_arr_str(g, K("a.str"), 3, &s, &n));
    CHECK(kw_gguf_arr_u64(g, K("a.u64"), 0, &u) && u == UINT64_MAX);
    CHECK(!kw_gguf_arr_i64(g, K("a.u64"), 0, &v));
    CHECK(kw_gguf_arr_i64(g, K("a.u64"), 1, &v) && v == 7);
    CHECK(kw_gguf_arr_i64(g, K("a.i64"), 0, &v) && v == INT64_MIN);
    CHECK(kw_gguf_arr_f64(g, K("a.f64"), 0, &f) && f == 1e300);
    CHECK(kw_gguf_arr_type(g, K("a.empty")) == KW_GGUF_INT32);
    CHECK(kw_gguf_arr_n(g, K("a.empty")) == 0);
    CHECK(!kw_gguf_arr_i64(g, K("a.empty"), 0, &v));
    CHECK(kw_gguf_arr_n(g, K("a.empty_str")) == 0);
    CHECK(!kw_gguf_arr_str(g, K("a.empty_str"), 0, &s, &n));
#undef K

    CHECK(kw_gguf_n_tensors(g) == N_TENSORS);
    struct kw_gguf_tensor_info ti;
    const uint64_t al = kw_gguf_alignment(g);
    const uint64_t d0 = kw_gguf_data_offset(g);
    CHECK(kw_gguf_tensor(g, kw_gguf_find_tensor(g, "a"), &ti));
    CHECK(ti.type == KW_TYPE_F32 && ti.n_dims == 2 && ti.ne[0] == 3 &&
          ti.ne[1] == 2 && ti.ne[2] == 1 && ti.size_bytes == 24 &&
          ti.offset == 0);
    CHECK((const uint8_t *)ti.data == mem + d0);
    CHECK(kw_gguf_tensor(g, kw_gguf_find_tensor(g, "blk.0.b"), &ti));
    CHECK(ti.type == KW_TYPE_Q8_0 && ti.n_dims == 1 && ti.ne[0] == 64 &&
          ti.size_bytes == 68 && ti.offset == (24 + al - 1) / al * al);
    CHECK(((const uint8_t *)ti.data)[1] == (uint8_t)(ti.offset * 7 + 7));
    CHECK(kw_gguf_tensor(g, 2, &ti) && strcmp(ti.name, "c") == 0);
    CHECK(ti.n_dims == 4 && ti.ne[0] == 5 && ti.ne[3] == 2 &&
          ti.size_bytes == 20 && ti.offset % al == 0);
    CHECK((const uint8_t *)ti.data == mem + d0 + ti.offset);
}

static void test_built(void) {
    const uint32_t versions[2] = {2, 3};
    const uint32_t aligns[4] = {0, 1, 64, 256};
    for (int vi = 0; vi < 2; vi++)
        for (int ai = 0; ai < 4; ai++) {
            struct gb b = {0};
            build_all(&b, versions[vi], aligns[ai]);
            char err[512] = "";
            struct kw_gguf *g = NULL;
            enum kw_status st =
                kw_gguf_open_memory(b.p, b.n, NULL, &g, err, sizeof err);
            CHECKF(st == KW_STATUS_OK, "v%u align %u: %s", versions[vi],
                   aligns[ai], err);
            if (g) check_all(g, versions[vi], aligns[ai], b.p);
            kw_gguf_free(g);
            gb_free(&b);
        }
}

static void test_file_api(void) {
    char err[512] = "";
    struct kw_gguf *g = (struct kw_gguf *)&err; /* must be reset to NULL */
    enum kw_status st =
        kw_gguf_open("/nonexistent/dir/x.gguf", &g, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_IO && g == NULL);
    CHECKF(strstr(err, "/nonexistent/dir/x.gguf") != NULL, "%s", err);
    st = kw_gguf_open("/tmp", &g, err, sizeof err);
    CHECK(st == KW_STATUS_ERR_IO && g == NULL);
    CHECK(kw_gguf_open(NULL, &g, err, sizeof err) ==
          KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw_gguf_open_memory(NULL, 5, "x", &g, err, sizeof err) ==
          KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw_gguf_open_memory(NULL, 0, "x", &g, NULL, 0) ==
          KW_STATUS_ERR_FORMAT && g == NULL);

    /* the mmap path on a small written file */
    char path[64];
    snprintf(path, sizeof path, "/tmp/kw_test_gguf_%d.gguf", (int)getpid());
    struct gb b = {0};
    build_all(&b, 3, 64);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(b.p, 1, b.n, f) == b.n);
        fclose(f);
        st = kw_gguf_open(path, &g, err, sizeof err);
        CHECKF(st == KW_STATUS_OK, "%s", err);
        if (g) {
            CHECK(kw_gguf_file_size(g) == b.n);
            struct kw_gguf_tensor_info ti;
            CHECK(kw_gguf_tensor(g, 1, &ti) &&
                  memcmp(ti.data, b.p + kw_gguf_data_offset(g) + 64, 68) ==
                      0);
            CHECK((uintptr_t)ti.data % 64 == 0);
        }
        kw_gguf_free(g);
        /* too small a file */
        f = fopen(path, "wb");
        if (f) {
            fwrite("GGUF", 1, 4, f);
            fclose(f);
        }
        st = kw_gguf_open(path, &g, err, sizeof err);
        CHECKF(st == KW_STATUS_ERR_FORMAT && strstr(err, path), "%s", err);
        remove(path);
    }
    gb_free(&b);

    /* no tensors: data section starts right at the end of the header */
    struct gb z = {0};
    gb_header(&z, 3, 0, 1);
    gb_kv_str(&z, "general.name", "x");
    st = kw_gguf_open_memory(z.p, z.n, "z", &g, err, sizeof err);
    CHECKF(st == KW_STATUS_OK, "%s", err);
    CHECK(kw_gguf_n_tensors(g) == 0 && kw_gguf_data_offset(g) == z.n);
    CHECK(kw_gguf_find_tensor(g, "a") == -1);
    kw_gguf_free(g);
    gb_free(&z);

    /* NULL handles */
    kw_gguf_free(NULL);
    CHECK(kw_gguf_n_kv(NULL) == 0 && kw_gguf_n_tensors(NULL) == 0);
    CHECK(kw_gguf_find_key(NULL, "x") == -1 && kw_gguf_key(NULL, 0) == NULL);
    CHECK(kw_gguf_version(NULL) == 0 && kw_gguf_kv_type(NULL, 0) == -1);
}

/* Seeds of the fuzz corpus (tools/make_gguf_corpus.py), through the mmap
 * path: valid_* must open, bad_* must fail with a message. */
static void test_corpus(void) {
    const char *dir_path = kw_test_src_path("tests/corpus/fuzz_gguf");
    char dir_copy[4096];
    snprintf(dir_copy, sizeof dir_copy, "%s", dir_path);
    DIR *d = opendir(dir_copy);
    CHECKF(d != NULL, "cannot open %s", dir_copy);
    if (!d) return;
    int n_valid = 0, n_bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const int valid = strncmp(e->d_name, "valid_", 6) == 0;
        const int bad = strncmp(e->d_name, "bad_", 4) == 0;
        if (!valid && !bad) continue;
        char path[4400], err[512] = "";
        snprintf(path, sizeof path, "%s/%s", dir_copy, e->d_name);
        struct kw_gguf *g = NULL;
        enum kw_status st = kw_gguf_open(path, &g, err, sizeof err);
        if (valid) {
            CHECKF(st == KW_STATUS_OK, "%s", err);
            n_valid++;
        } else {
            CHECKF(st != KW_STATUS_OK && strstr(err, e->d_name) &&
                       strstr(err, "offset"),
                   "%s: status %d: %s", e->d_name, (int)st, err);
            n_bad++;
        }
        kw_gguf_free(g);
    }
    closedir(d);
    CHECK(n_valid >= 4 && n_bad >= 20);
}

int main(void) {
    test_corpus();
    test_built();
    test_file_api();
    test_real_model(); /* last: may exit 77 when the model is missing */
    return kw_test_finish("test_gguf");
}
