/*
 * fuzz_tokenizer.c — libFuzzer target for the tokenizers: the first input
 * byte picks one of the vocabularies found under KW_MODELS_DIR (SmolLM2 GGUF,
 * vocab/ggml-vocab-{qwen2,llama-spm,llama-bpe,gpt-2}.gguf, loaded once), the
 * rest is text. It is tokenized with every add_special/parse_special
 * setting, every id is rendered both ways, and valid UTF-8 must come back
 * unchanged (SPM: after its leading space). With no vocabulary it does
 * nothing. CTest replays tests/corpus/fuzz_tokenizer/ with it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kaiwu/gguf.h"
#include "text/tokenizer.h"

static const char *const k_files[] = {
    "SmolLM2-135M-Instruct.Q4_1.gguf", "vocab/ggml-vocab-qwen2.gguf",
    "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-bpe.gguf",
    "vocab/ggml-vocab-gpt-2.gguf"};
#define N_FILES (sizeof k_files / sizeof k_files[0])

static struct kw_gguf *g_gguf[N_FILES];
static struct kw__tokenizer *g_tok[N_FILES];
static int g_spm[N_FILES];
static uint8_t g_has_byte[N_FILES][256]; /* a token spells this byte */
static int g_n = -1;

static void free_all(void) {
    for (int i = 0; i < g_n; i++) {
        kw__tokenizer_free(g_tok[i]);
        kw_gguf_free(g_gguf[i]);
    }
}

/* Vocabularies may lack tokens for some bytes (SmolLM2 has none for 0x04,
 * 0xF1...); like llama.cpp we then drop the byte, so round trips only hold
 * for text made of the others. */
static void find_bytes(int k) {
    const struct kw__tokenizer *t = g_tok[k];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        char s[8];
        size_t len;
        if (g_spm[k]) {
            len = (size_t)snprintf(s, sizeof s, "<0x%02X>", b);
        } else { /* GPT-2's printable stand-in for byte b */
            int keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
            unsigned c = keep ? (unsigned)b : 256u + (unsigned)n++;
            if (c < 0x80) {
                s[0] = (char)c;
                len = 1;
            } else {
                s[0] = (char)(0xC0 | (c >> 6));
                s[1] = (char)(0x80 | (c & 0x3F));
                len = 2;
            }
        }
        g_has_byte[k][b] = kw__tokenizer_find(t, s, len) >= 0;
    }
}

static void load_all(void) {
    const char *dir = getenv("KW_MODELS_DIR");
    g_n = 0;
    for (size_t i = 0; i < N_FILES; i++) {
        char path[4096];
        struct kw_gguf *g = NULL;
        snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "models",
                 k_files[i]);
        if (kw_gguf_open(path, &g, NULL, 0) != KW_STATUS_OK) continue;
        /* the tokenizer borrows g's strings: both live until exit */
        if (kw__tokenizer_new(g, &g_tok[g_n], NULL, 0) != KW_STATUS_OK) {
            kw_gguf_free(g);
            continue;
        }
        g_gguf[g_n] = g;
        g_spm[g_n] = strstr(k_files[i], "spm") != NULL;
        find_bytes(g_n);
        g_n++;
    }
    atexit(free_all);
}

static int valid_utf8(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1
                 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (k == 9 || i + k >= n) return 0;
        uint32_t cp = k == 0 ? c : c & (0x3Fu >> k);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_n < 0) load_all();
    if (g_n == 0 || size == 0) return 0;
    int which = data[0] % g_n;
    const struct kw__tokenizer *t = g_tok[which];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    size_t n = 0;
    char *back = malloc(8 * len + 64);
    if (!back) abort();
    for (int mode = 0; mode < 4; mode++) {
        int add = mode & 1, parse = mode >> 1;
        size_t cap = 0;
        enum kw_status st =
            kw__tokenizer_encode(t, text, len, add, parse, NULL, 0, &cap);
        if (st != KW_STATUS_OK && st != KW_STATUS_ERR_BUFFER_TOO_SMALL)
            abort();
        int32_t *ids = malloc((cap ? cap : 1) * sizeof *ids);
        if (!ids) abort();
        st = kw__tokenizer_encode(t, text, len, add, parse, ids, cap, &n);
        if (st != KW_STATUS_OK || n != cap) abort();
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= kw__tokenizer_n_vocab(t)) abort();
            char piece[512];
            size_t m = kw__tokenizer_piece(t, ids[i], piece, sizeof piece, 1);
            size_t m0 = kw__tokenizer_piece(t, ids[i], piece, 0, 0);
            if (m0 > m) abort();
            if (!add && k + m <= 8 * len + 64) {
                if (m > sizeof piece) abort(); /* no vocab has such pieces */
                memcpy(back + k, piece, m);
            }
            k += m;
        }
        free(ids);
        /* SPM turns spaces into U+2581 and back, so a U+2581 in the input
         * comes back as a space */
        int all_bytes = 1;
        for (size_t i = 0; i < len; i++)
            all_bytes &= g_has_byte[which][data[1 + i]];
        if (!add && !parse && all_bytes && valid_utf8(data + 1, len) &&
            !(g_spm[which] && memmem(text, len, "\xe2\x96\x81", 3))) {
            size_t pre = g_spm[which] && len > 0;
            if (k != len + pre || memcmp(back + pre, text, len) != 0 ||
                (pre && back[0] != ' '))
                abort();
        }
    }
    free(back);
    return 0;
}
