/*
 * cmd_generate.c — `kaiwu generate`: one-shot generation, streamed to stdout
 * or reported as one JSON object; plus the helpers in gen.h that tokenize,
 * chat and bench share (model/session/sampler set-up and gen_run, the
 * sample -> print -> decode loop).
 */
#include "gen.h"
#include "model_arg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gen_opts_init(struct gen_opts *o, int64_t n_predict) {
    struct kw_sampler_params sp = kw_sampler_default_params();
    memset(o, 0, sizeof *o);
    o->n_predict = n_predict;
    o->temp = sp.temperature;
    o->top_k = sp.top_k;
    o->top_p = sp.top_p;
    o->min_p = sp.min_p;
    o->repeat_penalty = sp.repeat_penalty;
    o->repeat_last_n = sp.penalty_last_n;
    o->freq_penalty = sp.frequency_penalty;
    o->pres_penalty = sp.presence_penalty;
    o->seed = -1;
}

int gen_load(const char *model, struct kw_model **m, double *load_ms) {
    char err[512] = "", stored[4096];
    const char *path = model_arg(model, stored, sizeof stored);
    if (!path)
        return 1;
    double t0 = cli_now_ms();
    enum kw_status st = kw_model_load(path, NULL, m, err, sizeof err);
    if (st != KW_STATUS_OK) {
        if (path != model) /* a stored name: say which, then the file */
            cli_err("%s: %s", model, err[0] ? err : kw_status_str(st));
        else
            cli_lib_err(path, err, st);
        return 1;
    }
    if (load_ms)
        *load_ms = cli_now_ms() - t0;
    return 0;
}

int gen_session(const struct kw_model *m, const struct gen_opts *o,
                uint32_t n_ctx_min, struct kw_session **s) {
    struct kw_session_params p = kw_session_default_params();
    char err[512] = "";
    p.n_ctx = o->ctx ? (uint32_t)o->ctx : n_ctx_min;
    p.n_threads = (uint32_t)o->threads;
    p.n_batch = (uint32_t)o->batch;
    enum kw_status st = kw_session_new(m, &p, s, err, sizeof err);
    if (st != KW_STATUS_OK) {
        cli_lib_err(NULL, err, st);
        return 1;
    }
    return 0;
}

int gen_sampler(const struct kw_model *m, const struct gen_opts *o,
                uint32_t n_ctx, struct kw_sampler **smp) {
    struct kw_sampler_params p = kw_sampler_default_params();
    p.temperature = (float)o->temp;
    p.top_k = (int32_t)o->top_k;
    p.top_p = (float)o->top_p;
    p.min_p = (float)o->min_p;
    p.repeat_penalty = (float)o->repeat_penalty;
    p.penalty_last_n = o->repeat_last_n < 0 ? (int32_t)n_ctx
                                            : (int32_t)o->repeat_last_n;
    p.frequency_penalty = (float)o->freq_penalty;
    p.presence_penalty = (float)o->pres_penalty;
    if (o->seed >= 0)
        p.seed = (uint64_t)o->seed;
    enum kw_status st = kw_sampler_new(&p, kw_model_n_vocab(m), smp);
    if (st != KW_STATUS_OK) {
        cli_err("cannot create the sampler: %s", kw_status_str(st));
        return 1;
    }
    return 0;
}

int gen_tokenize(const struct kw_model *m, const char *text, size_t len,
                 int add_special, int parse_special, int32_t **toks,
                 size_t *n) {
    size_t cap = len + 16; /* usually enough: about one token per byte */
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *buf = malloc(cap * sizeof *buf);
        if (!buf) {
            cli_err("out of memory tokenizing %zu bytes", len);
            return 1;
        }
        enum kw_status st = kw_tokenize(m, text, len, add_special,
                                        parse_special, buf, cap, n);
        if (st == KW_STATUS_OK) {
            *toks = buf;
            return 0;
        }
        free(buf);
        if (st != KW_STATUS_ERR_BUFFER_TOO_SMALL || *n <= cap) {
            cli_err("tokenize failed: %s", kw_status_str(st));
            return 1;
        }
        cap = *n;
    }
    cli_err("tokenize failed: token count changed between calls");
    return 1;
}

int gen_render_chat(const struct kw_model *m, const char *tmpl,
                    const struct kw_chat_message *msgs, size_t n,
                    char **out, size_t *len) {
    size_t cap = 256;
    for (size_t i = 0; i < n; i++)
        cap += strlen(msgs[i].content) + 64;
    for (int attempt = 0; attempt < 2; attempt++) {
        char err[512] = "";
        char *buf = malloc(cap);
        if (!buf) {
            cli_err("out of memory rendering the chat");
            return 1;
        }
        enum kw_status st =
            kw_chat_apply(m, tmpl, msgs, n, 1, buf, cap, len, err, sizeof err);
        if (st == KW_STATUS_OK) {
            *out = buf;
            return 0;
        }
        free(buf);
        if (st != KW_STATUS_ERR_BUFFER_TOO_SMALL || *len < cap) {
            cli_lib_err(NULL, err, st);
            return 1;
        }
        cap = *len + 1;
    }
    cli_err("chat template output changed size between calls");
    return 1;
}

void gen_out_free(struct gen_out *g) {
    free(g->tokens);
    free(g->text);
    memset(g, 0, sizeof *g);
}

double gen_rate(size_t n, double ms) {
    return (n > 0 && ms > 0) ? (double)n * 1e3 / ms : 0.0;
}

static int out_push(struct gen_out *g, int32_t tok, const char *piece,
                    size_t len) {
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        int32_t *t = realloc(g->tokens, cap * sizeof *t);
        if (!t)
            return 1;
        g->tokens = t;
        g->cap = cap;
    }
    if (g->len + len + 1 > g->text_cap) {
        size_t cap = (g->len + len + 1) * 2;
        char *t = realloc(g->text, cap);
        if (!t)
            return 1;
        g->text = t;
        g->text_cap = cap;
    }
    g->tokens[g->n++] = tok;
    memcpy(g->text + g->len, piece, len);
    g->len += len;
    g->text[g->len] = 0;
    return 0;
}

int gen_run(struct kw_session *s, const struct kw_model *m,
            struct kw_sampler *smp, const int32_t *prompt, size_t n_prompt,
            int64_t n_predict, struct text_sink *sink,
            volatile sig_atomic_t *cancel, struct gen_out *out) {
    int32_t n_vocab = kw_model_n_vocab(m);
    char small[256], *piece = small;
    size_t piece_cap = sizeof small;
    int rc = 1;

    memset(out, 0, sizeof *out);
    if (!(out->text = calloc(1, 1))) {
        cli_err("out of memory");
        return 1;
    }
    out->text_cap = 1;
    uint32_t n_past = kw_session_n_past(s);
    double t0 = cli_now_ms();
    enum kw_status st = kw_session_decode(s, prompt, n_prompt);
    out->prompt_ms = cli_now_ms() - t0;
    if (st == KW_STATUS_ERR_CONTEXT_FULL) {
        cli_err("the prompt does not fit: %zu new tokens + %u cached > "
                "context of %u tokens (raise --ctx)",
                n_prompt, n_past, kw_session_n_ctx(s));
        return 1;
    }
    if (st == KW_STATUS_ERR_CANCELLED) {
        out->stop = GEN_CANCELLED;
        return 0;
    }
    if (st != KW_STATUS_OK) {
        cli_err("decoding the prompt failed: %s", kw_status_str(st));
        return 1;
    }
    for (size_t i = 0; i < n_prompt; i++)
        kw_sampler_accept(smp, prompt[i]);

    t0 = cli_now_ms();
    for (;;) {
        if (n_predict >= 0 && out->n >= (uint64_t)n_predict) {
            out->stop = GEN_LIMIT;
            break;
        }
        if (cancel && *cancel) {
            out->stop = GEN_CANCELLED;
            break;
        }
        int32_t tok = kw_sampler_sample(smp, kw_session_logits(s));
        if (tok < 0 || tok >= n_vocab) {
            cli_err("the sampler returned an invalid token %d", (int)tok);
            goto done;
        }
        kw_sampler_accept(smp, tok);
        if (kw_model_token_is_eog(m, tok)) {
            /* listed (as llama.cpp's greedy references do), not printed */
            if (out_push(out, tok, "", 0)) {
                cli_err("out of memory");
                goto done;
            }
            out->stop = GEN_EOG;
            break;
        }
        size_t len = kw_token_to_piece(m, tok, piece, piece_cap, 0);
        if (len > piece_cap) {
            char *big = malloc(len);
            if (!big) {
                cli_err("out of memory");
                goto done;
            }
            if (piece != small)
                free(piece);
            piece = big;
            piece_cap = len;
            len = kw_token_to_piece(m, tok, piece, piece_cap, 0);
            if (len > piece_cap)
                len = piece_cap;
        }
        if (out_push(out, tok, piece, len)) {
            cli_err("out of memory");
            goto done;
        }
        if (sink) {
            text_sink_put(sink, piece, len);
            fflush(sink->f);
        }
        /* The last token needs no forward pass. */
        if (n_predict >= 0 && out->n >= (uint64_t)n_predict) {
            out->stop = GEN_LIMIT;
            break;
        }
        st = kw_session_decode(s, &tok, 1);
        if (st == KW_STATUS_ERR_CONTEXT_FULL) {
            out->stop = GEN_CTX_FULL;
            break;
        }
        if (st == KW_STATUS_ERR_CANCELLED) {
            out->stop = GEN_CANCELLED;
            break;
        }
        if (st != KW_STATUS_OK) {
            cli_err("decode failed: %s", kw_status_str(st));
            goto done;
        }
    }
    rc = 0;
done:
    out->gen_ms = cli_now_ms() - t0;
    if (sink)
        text_sink_flush(sink);
    if (piece != small)
        free(piece);
    return rc;
}

static void print_ids(struct jw *w, const int32_t *t, size_t n) {
    jw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        jw_int(w, t[i]);
    jw_arr_end(w);
}

int cmd_generate(int argc, char **argv) {
    struct gen_opts o;
    const char *prompt = NULL;
    int chat = 0, json = 0;
    gen_opts_init(&o, 128);
    const struct cli_opt opts[] = {
        {"prompt", 'p', CLI_STR, &prompt, 0, 0, "TEXT", "prompt text"},
        GEN_OPTS_ROWS(&o),
        {"chat", 0, CLI_FLAG, &chat, 0, 0, NULL,
         "wrap the prompt as a user message with the chat template"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL,
         "print one JSON object (tokens, text, timings) instead of "
         "streaming"},
    };
    const struct cli_cmd cmd = {
        "generate", "-m MODEL -p TEXT [options]",
        "Generate text from a prompt (one shot). Stops at an end-of-text "
        "token or after -n tokens (default 128).",
        opts, sizeof opts / sizeof opts[0], 0};
    const char *pos[1];
    size_t n_pos;
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (r)
        return r < 0 ? 0 : r;
    if (!o.model)
        return cli_usage_err(&cmd, "missing -m MODEL");
    if (!prompt)
        return cli_usage_err(&cmd, "missing -p TEXT");

    struct kw_model *m = NULL;
    struct kw_session *s = NULL;
    struct kw_sampler *smp = NULL;
    int32_t *toks = NULL;
    size_t n_toks = 0;
    char *rendered = NULL;
    struct gen_out out;
    double load_ms = 0;
    int rc = 1;
    memset(&out, 0, sizeof out);

    if (gen_load(o.model, &m, &load_ms))
        goto done;
    const char *text = prompt;
    size_t text_len = strlen(prompt);
    if (chat) {
        struct kw_chat_message msgs[2];
        size_t n = 0;
        if (o.system)
            msgs[n++] = (struct kw_chat_message){"system", o.system};
        msgs[n++] = (struct kw_chat_message){"user", prompt};
        if (gen_render_chat(m, o.tmpl, msgs, n, &rendered, &text_len))
            goto done;
        text = rendered;
    }
    if (gen_tokenize(m, text, text_len, 1, 1, &toks, &n_toks))
        goto done;
    if (n_toks == 0) {
        cli_err("the prompt is empty (0 tokens)");
        goto done;
    }
    if (gen_session(m, &o, 0, &s))
        goto done;
    if (gen_sampler(m, &o, kw_session_n_ctx(s), &smp))
        goto done;
    if (o.verbose) {
        fprintf(stderr, "kaiwu: model %s; isa %s, %u threads, context %u, "
                "prompt %zu tokens, load %.1f ms\n", kw_model_desc(m),
                kw_cpu_isa(), kw_session_n_threads(s), kw_session_n_ctx(s),
                n_toks, load_ms);
        if (chat)
            fprintf(stderr, "kaiwu: chat template %s\n",
                    o.tmpl ? o.tmpl
                           : (kw_chat_template_detect(m)
                                  ? kw_chat_template_detect(m)
                                  : "(none)"));
    }

    struct text_sink sink = {stdout, {0}, 0};
    if (gen_run(s, m, smp, toks, n_toks, o.n_predict, json ? NULL : &sink,
                NULL, &out))
        goto done;
    if (out.stop == GEN_CTX_FULL) {
        if (!json)
            fputc('\n', stdout);
        cli_err("context full (%u tokens)", kw_session_n_ctx(s));
    }
    if (json) {
        struct jw w;
        jw_init(&w, stdout);
        jw_obj_begin(&w);
        jw_key(&w, "prompt_tokens");
        print_ids(&w, toks, n_toks);
        jw_key(&w, "tokens");
        print_ids(&w, out.tokens, out.n);
        jw_key(&w, "text");
        jw_strn(&w, out.text, out.len);
        jw_key(&w, "stop");
        jw_str(&w, out.stop == GEN_EOG ? "eog"
                   : out.stop == GEN_LIMIT ? "limit"
                   : out.stop == GEN_CTX_FULL ? "context_full" : "cancelled");
        jw_key(&w, "timings");
        jw_obj_begin(&w);
        jw_key(&w, "load_ms"); jw_num(&w, load_ms, 6);
        jw_key(&w, "prompt_ms"); jw_num(&w, out.prompt_ms, 6);
        jw_key(&w, "prompt_tok_s");
        jw_num(&w, gen_rate(n_toks, out.prompt_ms), 6);
        jw_key(&w, "gen_ms"); jw_num(&w, out.gen_ms, 6);
        jw_key(&w, "gen_tok_s"); jw_num(&w, gen_rate(out.n, out.gen_ms), 6);
        jw_obj_end(&w);
        jw_obj_end(&w);
        jw_end(&w);
    } else {
        if (out.stop != GEN_CTX_FULL)
            fputc('\n', stdout);
        fflush(stdout);
        fprintf(stderr,
                "prompt: %zu tokens, %.1f tok/s; generated: %zu tokens, "
                "%.1f tok/s\n",
                n_toks, gen_rate(n_toks, out.prompt_ms), out.n,
                gen_rate(out.n, out.gen_ms));
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("error writing output");
        goto done;
    }
    rc = 0;
done:
    gen_out_free(&out);
    free(toks);
    free(rendered);
    kw_sampler_free(smp);
    kw_session_free(s);
    kw_model_free(m);
    return rc;
}
