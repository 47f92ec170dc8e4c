/*
 * fuzz_gguf.c — libFuzzer target for the GGUF reader: opens the input with
 * kw_gguf_open_memory and, when it validates, reads every key, value, array
 * element and tensor through the public getters (with lookups by name), so
 * any over-read or inconsistency after a successful open shows up under
 * ASan/UBSan. CTest replays tests/corpus/fuzz_gguf/ with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kaiwu/gguf.h"

static volatile uint64_t g_sink; /* keeps reads from being optimized out */

static void touch(const void *p, size_t n) {
    const uint8_t *b = p;
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) h = h * 31 + b[i];
    g_sink += h;
}

static void walk_kv(const struct kw_gguf *g, int64_t i) {
    int64_t v;
    uint64_t u;
    double f;
    int b;
    const char *s;
    size_t n;
    const char *key = kw_gguf_key(g, i);
    if (!key || kw_gguf_find_key(g, key) != i) abort();
    g_sink += (uint64_t)kw_gguf_kv_type(g, i);
    if (kw_gguf_get_i64(g, i, &v)) g_sink += (uint64_t)v;
    if (kw_gguf_get_u64(g, i, &u)) g_sink += u;
    if (kw_gguf_get_f64(g, i, &f)) g_sink += (uint64_t)(f == f);
    if (kw_gguf_get_bool(g, i, &b)) g_sink += (uint64_t)b;
    if (kw_gguf_get_str(g, i, &s, &n)) touch(s, n);
    const uint64_t m = kw_gguf_arr_n(g, i);
    if (kw_gguf_arr_type(g, i) < 0 && m != 0) abort();
    for (uint64_t j = 0; j <= m; j++) { /* j == m must fail */
        int got = 0;
        if (kw_gguf_arr_i64(g, i, j, &v)) got = 1, g_sink += (uint64_t)v;
        if (kw_gguf_arr_u64(g, i, j, &u)) got = 1, g_sink += u;
        if (kw_gguf_arr_f64(g, i, j, &f)) got = 1, g_sink += (uint64_t)(f == f);
        if (kw_gguf_arr_str(g, i, j, &s, &n)) got = 1, touch(s, n);
        if (j == m && got) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct kw_gguf *g = NULL;
    char err[256];
    if (kw_gguf_open_memory(data, size, "fuzz", &g, err, sizeof err) !=
        KW_STATUS_OK) {
        if (g) abort();
        return 0;
    }
    g_sink += kw_gguf_version(g) + kw_gguf_alignment(g) +
              kw_gguf_data_offset(g) + kw_gguf_file_size(g);
    const int64_t nkv = kw_gguf_n_kv(g);
    for (int64_t i = 0; i < nkv; i++) walk_kv(g, i);
    if (kw_gguf_key(g, -1) || kw_gguf_key(g, nkv) ||
        kw_gguf_kv_type(g, nkv) != -1 || kw_gguf_arr_n(g, nkv) != 0)
        abort();
    const int64_t nt = kw_gguf_n_tensors(g);
    for (int64_t i = 0; i <= nt; i++) {
        struct kw_gguf_tensor_info ti;
        if (!kw_gguf_tensor(g, i, &ti)) {
            if (i != nt) abort();
            continue;
        }
        if (kw_gguf_find_tensor(g, ti.name) != i) abort();
        const uint8_t *p = ti.data;
        if (p < data || ti.size_bytes > size ||
            (size_t)(p - data) > size - ti.size_bytes)
            abort();
        touch(p, ti.size_bytes < 64 ? ti.size_bytes : 64);
        if (ti.size_bytes) touch(p + ti.size_bytes - 1, 1);
    }
    kw_gguf_free(g);
    return 0;
}
