/*
 * gen.h — pieces shared by the model commands (tokenize, generate, chat,
 * bench): loading with timing, growing-buffer tokenization, chat rendering,
 * the sampling option table and the sample/decode loop (gen_run). Defined in
 * cmd_generate.c.
 */
#ifndef KW_CLI_GEN_H
#define KW_CLI_GEN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "json.h"
#include "kaiwu/kaiwu.h"

/* Options common to generate and chat. */
struct gen_opts {
    const char *model;
    int64_t n_predict, threads, ctx, batch, top_k, repeat_last_n, seed;
    double temp, top_p, min_p, repeat_penalty, freq_penalty, pres_penalty;
    const char *system, *tmpl;
    int verbose;
};

/* Defaults from the library's default parameter structs. */
void gen_opts_init(struct gen_opts *o, int64_t n_predict);

/* Table rows for the options above (o: struct gen_opts *). */
#define GEN_OPTS_ROWS(o)                                                      \
    {"model", 'm', CLI_STR, &(o)->model, 0, 0, "MODEL",                    \
     "GGUF file, or a stored name HOST/REPO:TAG (kaiwu pull)"},               \
    {"n-predict", 'n', CLI_INT, &(o)->n_predict, -1, 2147483647.0, "N",        \
     "tokens to generate (-1 = until end of text or context full)"},          \
    {"temp", 0, CLI_NUM, &(o)->temp, 0, 1000, "T",                             \
     "temperature (0 = greedy)"},                                             \
    {"top-k", 0, CLI_INT, &(o)->top_k, 0, 2147483647.0, "K",                   \
     "top-k sampling (0 = off)"},                                             \
    {"top-p", 0, CLI_NUM, &(o)->top_p, 0, 1, "P", "top-p sampling (1 = off)"}, \
    {"min-p", 0, CLI_NUM, &(o)->min_p, 0, 1, "P", "min-p sampling (0 = off)"}, \
    {"repeat-penalty", 0, CLI_NUM, &(o)->repeat_penalty, 0, 1000, "R",         \
     "repetition penalty (1 = off)"},                                         \
    {"repeat-last-n", 0, CLI_INT, &(o)->repeat_last_n, -1, 2147483647.0, "N",  \
     "tokens the penalties look back at (-1 = context size)"},                \
    {"frequency-penalty", 0, CLI_NUM, &(o)->freq_penalty, -100, 100, "F",      \
     "frequency penalty (0 = off)"},                                          \
    {"presence-penalty", 0, CLI_NUM, &(o)->pres_penalty, -100, 100, "P",       \
     "presence penalty (0 = off)"},                                           \
    {"seed", 's', CLI_INT, &(o)->seed, -1, 9.2e18, "S",                        \
     "random seed (-1 = from the clock)"},                                    \
    {"threads", 't', CLI_INT, &(o)->threads, 0, 4096, "N",                     \
     "threads (0 = all cores)"},                                              \
    {"ctx", 'c', CLI_INT, &(o)->ctx, 0, 16777216, "N",                         \
     "context length in tokens (0 = 4096, capped by the model)"},             \
    {"batch", 'b', CLI_INT, &(o)->batch, 0, 1048576, "N",                      \
     "prompt tokens per forward pass (0 = 512)"},                             \
    {"system", 0, CLI_STR, &(o)->system, 0, 0, "TEXT", "system message"},     \
    {"chat-template", 0, CLI_STR, &(o)->tmpl, 0, 0, "NAME",                    \
     "chat template name (chatml, llama3, llama2, mistral, gemma, phi3); "    \
     "default: from the model"},                                              \
    {"verbose", 'v', CLI_FLAG, &(o)->verbose, 0, 0, NULL,                      \
     "print model and run details on stderr"}

/* Each prints its own "kaiwu: " error and returns non-zero on failure. */
int gen_load(const char *path, struct kw_model **m, double *load_ms);
int gen_session(const struct kw_model *m, const struct gen_opts *o,
                uint32_t n_ctx_min, struct kw_session **s);
int gen_sampler(const struct kw_model *m, const struct gen_opts *o,
                uint32_t n_ctx, struct kw_sampler **smp);
/* *toks is malloc'ed (caller frees). */
int gen_tokenize(const struct kw_model *m, const char *text, size_t len,
                 int add_special, int parse_special, int32_t **toks,
                 size_t *n);
/* *out is malloc'ed and NUL-terminated (caller frees). */
int gen_render_chat(const struct kw_model *m, const char *tmpl,
                    const struct kw_chat_message *msgs, size_t n,
                    char **out, size_t *len);

enum gen_stop { GEN_EOG, GEN_LIMIT, GEN_CTX_FULL, GEN_CANCELLED };

struct gen_out {
    int32_t *tokens; /* generated ids; an end-of-generation token is the
                        last one (never printed, not in text) */
    size_t n, cap;
    char *text;      /* their pieces, raw bytes, NUL-terminated */
    size_t len, text_cap;
    double prompt_ms, gen_ms;
    enum gen_stop stop;
};
void gen_out_free(struct gen_out *g);

/* Decodes prompt[0..n_prompt) after what the session holds, then samples
 * and decodes up to n_predict tokens (-1: no limit), stopping at an
 * end-of-generation token, a full context or *cancel. sink (may be NULL)
 * receives each piece as it is generated. Returns 0 (see out->stop) or 1
 * after printing an error. */
int gen_run(struct kw_session *s, const struct kw_model *m,
            struct kw_sampler *smp, const int32_t *prompt, size_t n_prompt,
            int64_t n_predict, struct text_sink *sink,
            volatile sig_atomic_t *cancel, struct gen_out *out);

/* tokens per second, 0 when nothing was timed */
double gen_rate(size_t n, double ms);

#endif /* KW_CLI_GEN_H */
