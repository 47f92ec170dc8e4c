/*
 * llama_greedy.c — reference generator for the golden tests: runs llama.cpp
 * (built from the llama-cpp-python sdist, linked against its libllama) with
 * default context parameters and greedy decoding, and prints one JSON line
 * per prompt: {"prompt_tokens":[...],"tokens":[...]}. Built and run only by
 * tools/make_golden.py; never part of kaiwu.
 *
 * usage: llama_greedy MODEL N_PREDICT N_THREADS < prompts (one JSON-escaped
 * prompt per line is NOT parsed: each line is hex-encoded UTF-8)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)level, (void)text, (void)user;
}

static int unhex(const char *s, char *out) {
    int n = 0;
    while (s[0] && s[1] && s[0] != '\n') {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) return -1;
        out[n++] = (char)v;
        s += 2;
    }
    out[n] = 0;
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL N_PREDICT N_THREADS < hexprompts\n",
                argv[0]);
        return 2;
    }
    int n_predict = atoi(argv[2]), n_threads = atoi(argv[3]);
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) return 1;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    static char line[1 << 16], text[1 << 15];
    static llama_token toks[8192];
    while (fgets(line, sizeof line, stdin)) {
        int len = unhex(line, text);
        if (len < 0) return 1;
        struct llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 4096;
        cp.n_batch = 512;
        cp.n_threads = cp.n_threads_batch = n_threads;
        struct llama_context *ctx = llama_init_from_model(model, cp);
        if (!ctx) return 1;
        int n = llama_tokenize(vocab, text, len, toks, 8192, true, true);
        if (n < 0) return 1;
        printf("{\"prompt_tokens\":[");
        for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", toks[i]);
        printf("],\"tokens\":[");
        struct llama_batch batch = llama_batch_get_one(toks, n);
        for (int i = 0; i < n_predict; i++) {
            if (llama_decode(ctx, batch)) return 1;
            const float *logits = llama_get_logits_ith(ctx, -1);
            llama_token best = 0;
            for (int v = 1; v < n_vocab; v++)
                if (logits[v] > logits[best]) best = v;
            printf("%s%d", i ? "," : "", best);
            if (llama_vocab_is_eog(vocab, best)) break;
            static llama_token one;
            one = best;
            batch = llama_batch_get_one(&one, 1);
        }
        printf("]}\n");
        fflush(stdout);
        llama_free(ctx);
    }
    llama_model_free(model);
    return 0;
}
