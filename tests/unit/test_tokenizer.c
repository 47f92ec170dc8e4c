/*
 * test_tokenizer.c — the tokenizers against llama.cpp: every line of
 * tests/fixtures/tokenizer/<vocab>.tsv (made by tools/make_tokenizer_
 * fixtures.py with llama-tokenize) must give the same ids. Also round trips,
 * special-token parsing on/off, BOS/EOS/EOG rules, invalid UTF-8 and random
 * bytes, the buffer-too-small contract, unsupported metadata, and speed.
 * Vocabularies: KW_MODELS_DIR/SmolLM2-135M-Instruct.Q4_1.gguf and
 * KW_MODELS_DIR/vocab/ggml-vocab-*.gguf.
 */
#include <string.h>

#include "core/internal.h"
#include "kaiwu/gguf.h"
#include "testutil.h"
#include "text/tokenizer.h"

struct vocab {
    const char *name; /* fixture name */
    const char *file; /* under KW_MODELS_DIR */
    int spm;
};

static const struct vocab k_vocabs[] = {
    {"smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", 0},
    {"llama-bpe", "vocab/ggml-vocab-llama-bpe.gguf", 0},
    {"qwen2", "vocab/ggml-vocab-qwen2.gguf", 0},
    {"llama-spm", "vocab/ggml-vocab-llama-spm.gguf", 1},
    {"gpt-2", "vocab/ggml-vocab-gpt-2.gguf", 0},
};
#define N_VOCABS (sizeof k_vocabs / sizeof k_vocabs[0])

struct loaded {
    struct kw_gguf *g;
    struct kw__tokenizer *t;
};

static int load(const struct vocab *v, struct loaded *l) {
    char path[4096], err[256];
    const char *dir = getenv("KW_MODELS_DIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "models",
             v->file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: missing %s\n", v->name, path);
        return 0;
    }
    fclose(f);
    if (kw_gguf_open(path, &l->g, err, sizeof err) != KW_STATUS_OK) {
        CHECKF(0, "%s: %s", v->name, err);
        return 0;
    }
    int64_t t0 = kw__time_us();
    enum kw_status st = kw__tokenizer_new(l->g, &l->t, err, sizeof err);
    int64_t t1 = kw__time_us();
    CHECKF(st == KW_STATUS_OK, "%s: %s", v->name, err);
    if (st != KW_STATUS_OK) {
        kw_gguf_free(l->g);
        return 0;
    }
    printf("%s: %d tokens, tokenizer built in %.2f ms\n", v->name,
           kw__tokenizer_n_vocab(l->t), (double)(t1 - t0) / 1000.0);
    return 1;
}

static void unload(struct loaded *l) {
    kw__tokenizer_free(l->t);
    kw_gguf_free(l->g);
}

/* Encodes into a malloc'd array (caller frees); NULL on error. */
static int32_t *encode(const struct kw__tokenizer *t, const char *s,
                       size_t n, int add, int parse, size_t *count) {
    size_t need = 0;
    enum kw_status st = kw__tokenizer_encode(t, s, n, add, parse, NULL, 0,
                                             &need);
    if (st != KW_STATUS_OK && st != KW_STATUS_ERR_BUFFER_TOO_SMALL)
        return NULL;
    int32_t *ids = malloc((need ? need : 1) * sizeof *ids);
    if (!ids) return NULL;
    st = kw__tokenizer_encode(t, s, n, add, parse, ids, need, count);
    if (st != KW_STATUS_OK || *count != need) {
        free(ids);
        return NULL;
    }
    return ids;
}

/* Concatenated pieces; caller frees. */
static char *decode(const struct kw__tokenizer *t, const int32_t *ids,
                    size_t n, int render, size_t *len) {
    size_t cap = 64, k = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < n && out; i++) {
        size_t m = kw__tokenizer_piece(t, ids[i], NULL, 0, render);
        while (k + m > cap) {
            cap *= 2;
            char *o2 = realloc(out, cap);
            if (!o2) {
                free(out);
                return NULL;
            }
            out = o2;
        }
        size_t m2 = kw__tokenizer_piece(t, ids[i], out + k, m, render);
        CHECK(m2 == m);
        k += m;
    }
    *len = k;
    return out;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1
                 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (k == 9 || i + k >= n) return 0;
        uint32_t cp = k == 0 ? c : c & (0x3F >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* Every fixture line must match llama.cpp; round trips where they hold. */
static void check_fixture(const struct vocab *v, const struct loaded *l) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/tokenizer/%s.tsv", v->name);
    size_t size;
    char *buf = kw_test_read_file(kw_test_src_path(rel), &size);
    CHECKF(buf != NULL, "cannot read %s", rel);
    if (!buf) return;
    int lines = 0, ok = 0, trips = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *hex = strchr(line, '\t');
        char *ids_s = hex ? strchr(hex + 1, '\t') : NULL;
        if (!hex || !ids_s || hex - line != 2) {
            CHECKF(0, "%s: bad fixture line '%s'", v->name, line);
            continue;
        }
        int add = line[0] == '1', parse = line[1] == '1';
        size_t hn = (size_t)(ids_s - hex - 1) / 2;
        char *text = malloc(hn + 1);
        for (size_t i = 0; i < hn; i++)
            text[i] = (char)(hexval(hex[1 + 2 * i]) * 16 +
                             hexval(hex[2 + 2 * i]));
        int32_t want[4096];
        size_t nw = 0;
        for (char *p = ids_s + 1; *p && nw < 4096;) {
            char *end;
            long x = strtol(p, &end, 10);
            if (end == p) break;
            want[nw++] = (int32_t)x;
            p = end;
        }
        size_t ng = 0;
        int32_t *got = encode(l->t, text, hn, add, parse, &ng);
        lines++;
        int same = got && ng == nw && memcmp(got, want, nw * 4) == 0;
        ok += same;
        if (!same) {
            fprintf(stderr, "%s: mode %c%c text '%.*s'\n  want:", v->name,
                    line[0], line[1], (int)KW_MIN(hn, 80), text);
            for (size_t i = 0; i < nw; i++) fprintf(stderr, " %d", want[i]);
            fprintf(stderr, "\n  got: ");
            for (size_t i = 0; got && i < ng; i++)
                fprintf(stderr, " %d", got[i]);
            fprintf(stderr, "\n");
        }
        /* decode(encode(text)) == text for valid UTF-8 (byte-level BPE turns
         * invalid bytes into U+FFFD, and SPM may then cut a U+2581 into byte
         * tokens, as llama.cpp does); SPM adds a leading space */
        free(got);
        got = encode(l->t, text, hn, 0, 0, &ng);
        CHECK(got != NULL);
        if (got && valid_utf8((unsigned char *)text, hn)) {
            size_t dn = 0;
            char *d = decode(l->t, got, ng, 1, &dn);
            int pre = v->spm && hn > 0;
            int rt = d && dn == hn + (size_t)pre &&
                     (!pre || d[0] == ' ') && memcmp(d + pre, text, hn) == 0;
            CHECKF(rt, "%s: round trip of '%.*s' gave '%.*s'", v->name,
                   (int)KW_MIN(hn, 80), text, (int)KW_MIN(dn, 80), d ? d : "");
            trips += rt;
            free(d);
        }
        free(got);
        free(text);
    }
    printf("%s: %d/%d fixture lines match llama.cpp, %d round trips ok\n",
           v->name, ok, lines, trips);
    CHECKF(ok == lines && lines > 0, "%s: %d of %d lines differ", v->name,
           lines - ok, lines);
    free(buf);
}

static int32_t find(const struct kw__tokenizer *t, const char *s) {
    return kw__tokenizer_find(t, s, strlen(s));
}

/* parse_special on/off, BOS/EOS, EOG, piece rules */
static void check_specials(const struct vocab *v, const struct loaded *l) {
    const struct kw__tokenizer *t = l->t;
    const char *ctl = v->spm ? "</s>"
                      : !strcmp(v->name, "llama-bpe") ? "<|eot_id|>"
                      : !strcmp(v->name, "gpt-2") ? "<|endoftext|>"
                                                  : "<|im_end|>";
    int32_t id = find(t, ctl);
    CHECKF(id >= 0, "%s: %s not found", v->name, ctl);
    CHECKF(kw__tokenizer_is_eog(t, id), "%s: %s not EOG", v->name, ctl);
    CHECK(kw__tokenizer_is_eog(t, kw__tokenizer_eos(t)));
    CHECK(!kw__tokenizer_is_eog(t, find(t, v->spm ? "\xe2\x96\x81the" : "the")));
    CHECK(!kw__tokenizer_is_eog(t, -1) &&
          !kw__tokenizer_is_eog(t, kw__tokenizer_n_vocab(t)));

    char text[64];
    snprintf(text, sizeof text, "a%sb", ctl);
    size_t n1, n0;
    int32_t *on = encode(t, text, strlen(text), 0, 1, &n1);
    int32_t *off = encode(t, text, strlen(text), 0, 0, &n0);
    CHECK(on && off);
    int hit_on = 0, hit_off = 0;
    for (size_t i = 0; on && i < n1; i++) hit_on += on[i] == id;
    for (size_t i = 0; off && i < n0; i++) hit_off += off[i] == id;
    CHECKF(hit_on == 1 && hit_off == 0, "%s: parse_special %d/%d", v->name,
           hit_on, hit_off);
    free(on);
    free(off);

    /* control tokens render only when asked */
    char buf[64];
    CHECK(kw__tokenizer_piece(t, id, buf, sizeof buf, 0) == 0);
    size_t m = kw__tokenizer_piece(t, id, buf, sizeof buf, 1);
    CHECK(m == strlen(ctl) && memcmp(buf, ctl, m) == 0);
    CHECK(kw__tokenizer_piece(t, -1, buf, sizeof buf, 1) == 0);
    CHECK(kw__tokenizer_piece(t, kw__tokenizer_n_vocab(t), buf, sizeof buf,
                              1) == 0);

    /* BOS: SPM and Llama-3 add it, SmolLM2 (add_bos_token=false), Qwen2 and
     * GPT-2 do not; nobody adds EOS */
    int want_bos = v->spm || !strcmp(v->name, "llama-bpe");
    size_t n;
    int32_t *ids = encode(t, "hi", 2, 1, 1, &n);
    CHECK(ids && n >= 1);
    if (ids) {
        CHECKF((ids[0] == kw__tokenizer_bos(t)) == want_bos, "%s: bos",
               v->name);
        CHECK(ids[n - 1] != kw__tokenizer_eos(t));
    }
    free(ids);
    ids = encode(t, "", 0, 1, 1, &n);
    CHECK(ids && n == (size_t)want_bos);
    free(ids);
    ids = encode(t, "", 0, 0, 1, &n);
    CHECK(ids && n == 0);
    free(ids);
    if (v->spm) {
        CHECK(kw__tokenizer_bos(t) == 1 && kw__tokenizer_eos(t) == 2);
        /* byte fallback: a control character has no piece of its own */
        ids = encode(t, "\x01", 1, 0, 0, &n);
        CHECK(ids && n == 2 && ids[1] == find(t, "<0x01>"));
        if (ids && n == 2) {
            CHECK(kw__tokenizer_piece(t, ids[1], buf, sizeof buf, 0) == 1 &&
                  buf[0] == 1);
            CHECK(kw__tokenizer_piece(t, ids[0], buf, sizeof buf, 0) == 1 &&
                  buf[0] == ' ');
        }
        free(ids);
    }
}

/* the kw_tokenize buffer contract */
static void check_buffers(const struct loaded *l) {
    const struct kw__tokenizer *t = l->t;
    const char *s = "The quick brown fox jumps over the lazy dog, twice.";
    size_t n = 0, n2 = 0;
    CHECK(kw__tokenizer_encode(t, s, strlen(s), 1, 1, NULL, 0, &n) ==
          KW_STATUS_ERR_BUFFER_TOO_SMALL);
    CHECK(n > 3);
    int32_t full[64], part[64];
    CHECK(kw__tokenizer_encode(t, s, strlen(s), 1, 1, full, 64, &n2) ==
          KW_STATUS_OK && n2 == n);
    for (int i = 0; i < 64; i++) part[i] = -7;
    CHECK(kw__tokenizer_encode(t, s, strlen(s), 1, 1, part, n - 1, &n2) ==
          KW_STATUS_ERR_BUFFER_TOO_SMALL);
    CHECK(n2 == n && memcmp(part, full, (n - 1) * 4) == 0 && part[n - 1] == -7);
    CHECK(kw__tokenizer_encode(t, NULL, 3, 1, 1, full, 64, &n2) ==
          KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw__tokenizer_encode(t, s, 3, 1, 1, NULL, 5, &n2) ==
          KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw__tokenizer_encode(NULL, s, 3, 1, 1, full, 64, &n2) ==
          KW_STATUS_ERR_INVALID_ARG);
    CHECK(kw__tokenizer_encode(t, NULL, 0, 0, 1, NULL, 0, &n2) ==
              KW_STATUS_OK && n2 == 0);

    /* a piece longer than the buffer: full length back, prefix written */
    int32_t id = full[n - 2];
    char big[64], small[2] = {'x', 'x'};
    size_t m = kw__tokenizer_piece(t, id, big, sizeof big, 0);
    CHECK(m >= 2);
    CHECK(kw__tokenizer_piece(t, id, small, 1, 0) == m && small[0] == big[0] &&
          small[1] == 'x');
    CHECK(kw__tokenizer_piece(t, id, NULL, 0, 0) == m);
}

/* invalid UTF-8 and random bytes: no crash, ids in range, pieces readable */
static void check_garbage(const struct loaded *l) {
    const struct kw__tokenizer *t = l->t;
    uint64_t rng = 12345;
    char buf[600];
    for (int iter = 0; iter < 150; iter++) {
        size_t len = (size_t)(kw_test_rand(&rng) % sizeof buf);
        for (size_t i = 0; i < len; i++) {
            uint64_t r = kw_test_rand(&rng);
            /* mix raw bytes with pieces of UTF-8 and special-token text */
            static const char *bits[] = {"<|im_start|>", "\xe4\xbd\xa0", " ",
                                         "\xf0\x9f", "'s", "\n", "123",
                                         "<s>", "\xe2\x96\x81"};
            if (r % 4 == 0 && i + 12 < len) {
                const char *b = bits[(r >> 8) % 9];
                memcpy(buf + i, b, strlen(b));
                i += strlen(b) - 1;
            } else {
                buf[i] = (char)(r >> 16);
            }
        }
        for (int parse = 0; parse < 2; parse++) {
            size_t n;
            int32_t *ids = encode(t, buf, len, iter & 1, parse, &n);
            CHECK(ids != NULL);
            for (size_t i = 0; ids && i < n; i++) {
                CHECK(ids[i] >= 0 && ids[i] < kw__tokenizer_n_vocab(t));
                char p[256];
                kw__tokenizer_piece(t, ids[i], p, sizeof p, parse);
            }
            free(ids);
        }
    }
}

/* 10 KB of mixed text must tokenize well under 10 ms. */
static void check_speed(const struct vocab *v, const struct loaded *l) {
    static const char *parts[] = {
        "The quick brown fox jumps over the lazy dog. ",
        "It's 2024 and we've got 1,234,567 reasons. ",
        "def f(x):\n    return x * 2  # comment\n\n",
        "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c ",
        "caf\xc3\xa9 na\xc3\xafve \xf0\x9f\x98\x80 ",
        "<|im_start|>user\nHello<|im_end|>\n"};
    char text[10240];
    size_t n = 0;
    for (int i = 0; n < sizeof text - 64; i++) {
        const char *p = parts[i % 6];
        memcpy(text + n, p, strlen(p));
        n += strlen(p);
    }
    int32_t *ids = malloc(sizeof text * sizeof *ids);
    size_t cnt = 0;
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        int64_t t0 = kw__time_us();
        enum kw_status st = kw__tokenizer_encode(l->t, text, n, 1, 1, ids,
                                                 sizeof text, &cnt);
        double ms = (double)(kw__time_us() - t0) / 1000.0;
        CHECK(st == KW_STATUS_OK);
        if (ms < best) best = ms;
    }
    printf("%s: %zu bytes -> %zu tokens in %.3f ms\n", v->name, n, cnt, best);
    /* loose bound: sanitizer builds and busy machines are slower */
    CHECKF(best < 100.0, "%s: tokenizing 10 KB took %.1f ms", v->name, best);
    free(ids);
}

/* ---- unsupported metadata, from a GGUF built in memory ---------------- */

struct mem {
    uint8_t p[4096];
    size_t n;
};
static void put(struct mem *m, const void *s, size_t n) {
    if (m->n + n <= sizeof m->p) memcpy(m->p + m->n, s, n);
    m->n += n;
}
static void put_u32(struct mem *m, uint32_t v) { put(m, &v, 4); }
static void put_u64(struct mem *m, uint64_t v) { put(m, &v, 8); }
static void put_str(struct mem *m, const char *s) {
    put_u64(m, strlen(s));
    put(m, s, strlen(s));
}
static void kv_str(struct mem *m, const char *k, const char *v) {
    put_str(m, k);
    put_u32(m, KW_GGUF_STRING);
    put_str(m, v);
}
static void kv_strs(struct mem *m, const char *k, const char *const *v,
                    int n) {
    put_str(m, k);
    put_u32(m, KW_GGUF_ARRAY);
    put_u32(m, KW_GGUF_STRING);
    put_u64(m, (uint64_t)n);
    for (int i = 0; i < n; i++) put_str(m, v[i]);
}

static enum kw_status tiny(const char *model, const char *pre, char *err,
                           size_t esz, struct kw__tokenizer **t) {
    static struct mem m;
    static const char *toks[] = {"a", "b", "ab", "\xc4\xa0"};
    static const char *merges[] = {"a b"};
    memset(&m, 0, sizeof m);
    put(&m, "GGUF", 4);
    put_u32(&m, 3);
    put_u64(&m, 0);
    put_u64(&m, pre ? 4 : 3);
    kv_str(&m, "tokenizer.ggml.model", model);
    if (pre) kv_str(&m, "tokenizer.ggml.pre", pre);
    kv_strs(&m, "tokenizer.ggml.tokens", toks, 4);
    kv_strs(&m, "tokenizer.ggml.merges", merges, 1);
    struct kw_gguf *g = NULL;
    enum kw_status st = kw_gguf_open_memory(m.p, m.n, "tiny", &g, err, esz);
    CHECKF(st == KW_STATUS_OK, "tiny gguf: %s", err);
    if (st != KW_STATUS_OK) return st;
    st = kw__tokenizer_new(g, t, err, esz);
    if (st == KW_STATUS_OK) {
        /* "ab a" -> ab, Ġ, a */
        size_t n;
        int32_t ids[8];
        CHECK(kw__tokenizer_encode(*t, "ab a", 4, 1, 1, ids, 8, &n) ==
                  KW_STATUS_OK && n == 3 && ids[0] == 2 && ids[1] == 3 &&
              ids[2] == 0);
        kw__tokenizer_free(*t);
    }
    kw_gguf_free(g);
    return st;
}

static void check_unsupported(void) {
    char err[256] = "";
    struct kw__tokenizer *t = NULL;
    CHECK(tiny("gpt2", "no-such-pre", err, sizeof err, &t) ==
          KW_STATUS_ERR_UNSUPPORTED);
    CHECKF(strstr(err, "no-such-pre") != NULL, "message: %s", err);
    CHECK(t == NULL);
    CHECK(tiny("bert", "gpt-2", err, sizeof err, &t) ==
          KW_STATUS_ERR_UNSUPPORTED);
    CHECKF(strstr(err, "bert") != NULL, "message: %s", err);
    CHECK(tiny("gpt2", "gpt-2", err, sizeof err, &t) == KW_STATUS_OK);
    CHECK(tiny("gpt2", NULL, err, sizeof err, &t) == KW_STATUS_OK);
}

int main(void) {
    check_unsupported();
    int loaded = 0;
    for (size_t i = 0; i < N_VOCABS; i++) {
        struct loaded l;
        if (!load(&k_vocabs[i], &l)) continue;
        loaded++;
        check_fixture(&k_vocabs[i], &l);
        check_specials(&k_vocabs[i], &l);
        check_buffers(&l);
        check_garbage(&l);
        check_speed(&k_vocabs[i], &l);
        unload(&l);
    }
    const char *req = getenv("KW_REQUIRE_MODELS");
    if (loaded < (int)N_VOCABS && req && !strcmp(req, "1"))
        CHECKF(0, "%d of %d vocabularies missing (run 'make models')",
               (int)N_VOCABS - loaded, (int)N_VOCABS);
    if (!loaded && !kw_test_failures) {
        fprintf(stderr, "skipping: no vocabulary found\n");
        return 77;
    }
    return kw_test_finish("test_tokenizer");
}
