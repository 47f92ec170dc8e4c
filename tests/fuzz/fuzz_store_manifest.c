/*
 * fuzz_store_manifest.c — libFuzzer target for what a registry or a crafted
 * reference can hand the model store: the input's first line is parsed as a
 * model reference, the rest as a manifest (and as a registry error document
 * and base64 text). Nothing may crash, leak or read out of bounds, and what
 * parses must satisfy the parser's own promises.
 * CTest replays tests/corpus/fuzz_store_manifest/ with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static void check(int ok) {
    if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line = nl ? (size_t)(nl - data) : size;
    char ref_text[1024];
    if (line < sizeof ref_text) {
        memcpy(ref_text, data, line);
        ref_text[line] = '\0';
        struct kw__ref r;
        if (kw__ref_parse(ref_text, &r, NULL, 0) == KW_STATUS_OK) {
            /* a parsed reference never carries path tricks */
            check(!strstr(r.repo, "..") && r.repo[0] != '/' &&
                  !strstr(r.repo, "//") && !strchr(r.host, '/'));
            check(r.tag[0] || kw__digest_valid(r.digest));
            char name[700];
            kw__ref_name(&r, name, sizeof name);
            struct kw__ref again;
            check(kw__ref_parse(name, &again, NULL, 0) == KW_STATUS_OK);
            check(!strcmp(again.repo, r.repo) && !strcmp(again.host, r.host));
        }
    }
    const char *doc = (const char *)data + (nl ? line + 1 : 0);
    size_t n = size - (nl ? line + 1 : 0);
    struct kw__manifest *m = malloc(sizeof *m);
    char err[256];
    if (kw__manifest_parse(doc, n, m, err, sizeof err) == KW_STATUS_OK) {
        check(kw__digest_valid(m->config.digest));
        check(m->n_layers >= 0 && m->n_layers <= KW_MAX_LAYERS);
        for (int i = 0; i < m->n_layers; i++) {
            check(kw__digest_valid(m->layers[i].digest));
            check(!strchr(m->layers[i].title, '/'));
        }
        int li = kw__manifest_model_layer(m);
        check(li >= -1 && li < m->n_layers);
    }
    free(m);
    char *text = malloc(n + 1);
    memcpy(text, doc, n);
    text[n] = '\0';
    char msg[300];
    kw__registry_error_text(text, msg, sizeof msg);
    unsigned char dec[64];
    size_t dn;
    if (kw__base64_decode(text, dec, sizeof dec, &dn)) check(dn <= sizeof dec);
    free(text);
    return 0;
}
