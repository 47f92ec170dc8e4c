/*
 * cmd_chat.c — `kaiwu chat -m MODEL`: an interactive conversation. Each turn
 * re-renders the whole history with the chat template, keeps the longest
 * token prefix already in the KV cache and decodes only the rest. Ctrl-C
 * stops a reply (abort callback + flag); twice at the prompt it quits. Works
 * with piped stdin: each line is a user turn, EOF ends the session.
 */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHAT_MAX_LINE (1u << 20)

static volatile sig_atomic_t g_sigint;

static void on_sigint(int sig) {
    (void)sig;
    g_sigint = g_sigint + 1;
}

static int abort_cb(void *user) {
    (void)user;
    return g_sigint > 0;
}

/* Lines from fd 0 via read(2), so that Ctrl-C (EINTR) is seen at once. */
struct line_reader {
    char *buf;
    size_t start, len, cap; /* unread bytes are buf[start..len) */
};

/* 1: *line set (NUL-terminated, no newline); 0: EOF; -1: interrupted;
 * -2: error (printed). */
static int read_line(struct line_reader *lr, char **line) {
    for (;;) {
        char *nl = lr->len > lr->start
                       ? memchr(lr->buf + lr->start, '\n', lr->len - lr->start)
                       : NULL;
        if (nl) {
            *nl = 0;
            *line = lr->buf + lr->start;
            lr->start = (size_t)(nl - lr->buf) + 1;
            return 1;
        }
        if (lr->start > 0) { /* compact */
            memmove(lr->buf, lr->buf + lr->start, lr->len - lr->start);
            lr->len -= lr->start;
            lr->start = 0;
        }
        if (lr->len + 1 >= lr->cap) {
            if (lr->cap >= CHAT_MAX_LINE) {
                cli_err("input line longer than %u bytes", CHAT_MAX_LINE);
                return -2;
            }
            size_t cap = lr->cap ? lr->cap * 2 : 4096;
            char *b = realloc(lr->buf, cap);
            if (!b) {
                cli_err("out of memory");
                return -2;
            }
            lr->buf = b;
            lr->cap = cap;
        }
        ssize_t n = read(0, lr->buf + lr->len, lr->cap - 1 - lr->len);
        if (n < 0) {
            if (errno == EINTR)
                return -1;
            cli_err("reading stdin: %s", strerror(errno));
            return -2;
        }
        if (n == 0) {
            if (lr->len == 0)
                return 0;
            lr->buf[lr->len] = 0; /* last line without a newline */
            *line = lr->buf;
            lr->start = lr->len = 0;
            return 1;
        }
        lr->len += (size_t)n;
    }
}

struct chat {
    const struct kw_model *m;
    struct kw_session *s;
    struct kw_sampler *smp;
    const char *tmpl;
    int64_t n_predict;
    int verbose;
    struct kw_chat_message *msgs;
    size_t n_msgs, cap_msgs, n_fixed; /* n_fixed: the system message */
    int32_t *cache;                   /* tokens in the KV cache */
    size_t n_cache;
};

static int push_msg(struct chat *c, const char *role, const char *text,
                    size_t len) {
    if (c->n_msgs == c->cap_msgs) {
        size_t cap = c->cap_msgs ? c->cap_msgs * 2 : 8;
        struct kw_chat_message *t = realloc(c->msgs, cap * sizeof *t);
        if (!t)
            return 1;
        c->msgs = t;
        c->cap_msgs = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return 1;
    memcpy(copy, text, len);
    copy[len] = 0;
    c->msgs[c->n_msgs++] = (struct kw_chat_message){role, copy};
    return 0;
}

static void pop_msgs(struct chat *c, size_t keep) {
    while (c->n_msgs > keep)
        free((char *)c->msgs[--c->n_msgs].content);
}

/* Records which tokens the cache holds now: prefix + prompt + reply, cut to
 * the session's position. */
static int sync_cache(struct chat *c, const int32_t *toks, size_t n_toks,
                      const struct gen_out *out) {
    size_t n_past = kw_session_n_past(c->s);
    int32_t *all = malloc((n_toks + out->n + 1) * sizeof *all);
    if (!all)
        return 1;
    memcpy(all, toks, n_toks * sizeof *all);
    if (out->n)
        memcpy(all + n_toks, out->tokens, out->n * sizeof *all);
    if (n_past > n_toks + out->n)
        n_past = n_toks + out->n; /* cannot happen; stay in bounds */
    free(c->cache);
    c->cache = all;
    c->n_cache = n_past;
    return 0;
}

/* One user turn; returns 0 to go on, 1 on a fatal error. */
static int chat_turn(struct chat *c, const char *line) {
    char *text = NULL;
    size_t len = 0, n_toks = 0, keep = c->n_msgs;
    int32_t *toks = NULL;
    struct gen_out out;
    memset(&out, 0, sizeof out);

    if (push_msg(c, "user", line, strlen(line))) {
        cli_err("out of memory");
        return 1;
    }
    if (gen_render_chat(c->m, c->tmpl, c->msgs, c->n_msgs, &text, &len) ||
        gen_tokenize(c->m, text, len, 1, 1, &toks, &n_toks) || n_toks == 0) {
        pop_msgs(c, keep);
        free(text);
        free(toks);
        return 0; /* error printed; the user may go on */
    }
    /* Reuse the cached prefix; at least one token must be decoded so that
     * there are logits to sample from. */
    size_t p = 0;
    while (p < c->n_cache && p < n_toks && c->cache[p] == toks[p])
        p++;
    if (p == n_toks)
        p--;
    if (p < c->n_cache) {
        kw_session_truncate(c->s, (uint32_t)p);
        c->n_cache = p;
    }
    if (c->verbose)
        fprintf(stderr, "kaiwu: %zu tokens, %zu from the cache, %zu new\n",
                n_toks, p, n_toks - p);
    struct text_sink sink = {stdout, {0}, 0};
    int rc = gen_run(c->s, c->m, c->smp, toks + p, n_toks - p, c->n_predict,
                     &sink, &g_sigint, &out);
    if (rc == 0)
        fputc('\n', stdout);
    fflush(stdout);
    clearerr(stdout); /* a write cut short by Ctrl-C is not fatal */
    if (sync_cache(c, toks, n_toks, &out)) {
        cli_err("out of memory");
        rc = 1;
    } else if (rc) {
        pop_msgs(c, keep); /* e.g. the prompt did not fit: forget it */
        fputs("kaiwu: message dropped; /reset clears the history\n", stderr);
        rc = 0;
    } else {
        if (out.stop == GEN_CTX_FULL)
            cli_err("context full (%u tokens); /reset to start over",
                    kw_session_n_ctx(c->s));
        else if (out.stop == GEN_CANCELLED)
            fputs("[interrupted]\n", stderr);
        if (push_msg(c, "assistant", out.text, out.len)) {
            cli_err("out of memory");
            rc = 1;
        }
    }
    gen_out_free(&out);
    free(text);
    free(toks);
    return rc;
}

static void chat_reset(struct chat *c) {
    pop_msgs(c, c->n_fixed);
    kw_session_truncate(c->s, 0);
    c->n_cache = 0;
    kw_sampler_reset(c->smp);
}

int cmd_chat(int argc, char **argv) {
    struct gen_opts o;
    gen_opts_init(&o, -1);
    const struct cli_opt opts[] = {GEN_OPTS_ROWS(&o)};
    const struct cli_cmd cmd = {
        "chat", "-m MODEL [options]",
        "Chat with a model. Each input line is a user turn; /reset clears "
        "the history,\n/exit or end of input quits. Ctrl-C stops a reply; "
        "twice at the prompt, quits.",
        opts, sizeof opts / sizeof opts[0], 0};
    const char *pos[1];
    size_t n_pos;
    int r = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (r)
        return r < 0 ? 0 : r;
    if (!o.model)
        return cli_usage_err(&cmd, "missing -m MODEL");

    struct kw_model *m = NULL;
    struct chat c;
    struct line_reader lr = {0};
    int rc = 1, tty = isatty(0);
    memset(&c, 0, sizeof c);
    if (gen_load(o.model, &m, NULL))
        goto done;
    c.m = m;
    c.tmpl = o.tmpl;
    c.n_predict = o.n_predict;
    c.verbose = o.verbose;
    if (gen_session(m, &o, 0, &c.s) ||
        gen_sampler(m, &o, kw_session_n_ctx(c.s), &c.smp))
        goto done;
    if (o.system) {
        if (push_msg(&c, "system", o.system, strlen(o.system))) {
            cli_err("out of memory");
            goto done;
        }
        c.n_fixed = 1;
    }
    /* Fail early on a model without a usable template. */
    {
        char *text = NULL;
        size_t len;
        struct kw_chat_message probe[2];
        size_t n = 0;
        if (o.system)
            probe[n++] = c.msgs[0];
        probe[n++] = (struct kw_chat_message){"user", "hi"};
        if (gen_render_chat(m, o.tmpl, probe, n, &text, &len))
            goto done;
        free(text);
    }
    if (o.verbose)
        fprintf(stderr, "kaiwu: model %s; isa %s, %u threads, context %u\n",
                kw_model_desc(m), kw_cpu_isa(), kw_session_n_threads(c.s),
                kw_session_n_ctx(c.s));
    kw_session_set_abort(c.s, abort_cb, NULL);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: read() must return EINTR */
    sigaction(SIGINT, &sa, NULL);

    for (;;) {
        char *line;
        fputs("> ", stdout);
        fflush(stdout);
        int got = read_line(&lr, &line);
        if (got == -1) { /* Ctrl-C at the prompt */
            if (g_sigint >= 2)
                break;
            fputs("\n(Ctrl-C again or /exit to quit)\n", stdout);
            continue;
        }
        if (got == -2)
            goto done;
        if (got == 0) {
            if (tty)
                fputc('\n', stdout);
            break;
        }
        g_sigint = 0;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
                       line[len - 1] == '\t'))
            line[--len] = 0;
        if (!len)
            continue;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit"))
            break;
        if (!strcmp(line, "/reset")) {
            chat_reset(&c);
            fputs("(history cleared)\n", stdout);
            continue;
        }
        if (chat_turn(&c, line))
            goto done;
        g_sigint = 0;
    }
    rc = 0;
done:
    signal(SIGINT, SIG_DFL);
    pop_msgs(&c, 0);
    free(c.msgs);
    free(c.cache);
    free(lr.buf);
    kw_sampler_free(c.smp);
    kw_session_free(c.s);
    kw_model_free(m);
    fflush(stdout);
    return rc;
}
