/*
 * api_chat.c — POST /v1/chat/completions and /v1/completions: strict
 * validation of the OpenAI request (unknown fields, types and ranges give a
 * 400 naming the field), max_tokens clamped to the context, submission to
 * the scheduler, the first event (its status), and the non-streaming
 * response. Prompts are built in api_prompt.c, streams in api_sse.c.
 * Entry point: kws_api_generate.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "http.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gen_req {
    int chat;
    json_t *messages, *prompt; /* borrowed from the request */
    int stream, include_usage;
    int logprobs;     /* chat: bool; completions: 1 when an int was given */
    int top_logprobs; /* chat: top_logprobs; completions: logprobs int */
    int64_t max_tokens; /* -1: not given */
    struct kws_gen_params p;
};

/* ---- typed field readers ----------------------------------------------- */

static int get_num(struct kws_perr *e, const char *k, json_t *v, double lo,
                   double hi, float *out) {
    if (!json_is_number(v))
        return kws_fail(e, k, "'%s' must be a number", k);
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi)
        return kws_fail(e, k, "'%s' must be between %g and %g", k, lo, hi);
    *out = (float)x;
    return 0;
}

static int get_int(struct kws_perr *e, const char *k, json_t *v, int64_t lo,
                   int64_t hi, int64_t *out) {
    if (!json_is_integer(v))
        return kws_fail(e, k, "'%s' must be an integer", k);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return kws_fail(e, k, "'%s' must be between %lld and %lld", k,
                    (long long)lo, (long long)hi);
    *out = (int64_t)x;
    return 0;
}

static int get_bool(struct kws_perr *e, const char *k, json_t *v, int *out) {
    if (!json_is_boolean(v))
        return kws_fail(e, k, "'%s' must be a boolean", k);
    *out = json_is_true(v);
    return 0;
}

static int get_stop(struct kws_perr *e, json_t *v, struct kws_gen_params *p) {
    json_t *one[1] = {v};
    json_t **items = one;
    size_t n = 1;
    if (json_is_array(v)) {
        n = json_array_size(v);
        if (n > 4)
            return kws_fail(e, "stop", "'stop' takes at most 4 strings");
    } else if (!json_is_string(v)) {
        return kws_fail(e, "stop", "'stop' must be a string or an array of "
                               "strings");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_array(v) ? json_array_get(v, i) : items[i];
        if (!json_is_string(s))
            return kws_fail(e, "stop", "'stop' must be a string or an array of "
                                   "strings");
        if (json_string_length(s) == 0)
            continue; /* an empty stop string would stop at once */
        char *c = strdup(json_string_value(s));
        if (!c)
            return kws_fail(e, NULL, "out of memory");
        p->stop[p->n_stop++] = c;
    }
    return 0;
}

static int get_object_fields(struct kws_perr *e, const char *k, json_t *v,
                             struct gen_req *g) {
    const char *sub;
    json_t *x;
    if (!json_is_object(v))
        return kws_fail(e, k, "'%s' must be an object", k);
    if (!strcmp(k, "response_format") && !json_object_get(v, "type"))
        return kws_fail(e, "response_format.type",
                    "'response_format.type' is required");
    json_object_foreach(v, sub, x) {
        if (!strcmp(k, "stream_options") && !strcmp(sub, "include_usage")) {
            if (!json_is_null(x) && get_bool(e, "stream_options.include_usage",
                                             x, &g->include_usage))
                return -1;
        } else if (!strcmp(k, "response_format") && !strcmp(sub, "type")) {
            const char *t = json_string_value(x);
            if (!t)
                return kws_fail(e, "response_format.type",
                            "'response_format.type' must be a string");
            if (!strcmp(t, "json_object"))
                g->p.json_object = 1;
            else if (strcmp(t, "text"))
                return kws_fail(e, "response_format.type",
                            "response_format type '%.64s' is not supported "
                            "(use \"text\" or \"json_object\")", t);
        } else {
            char name[96];
            snprintf(name, sizeof name, "%s.%.64s", k, sub);
            return kws_fail(e, name, "unknown field '%s'", name);
        }
    }
    return 0;
}

/* One top-level field; null counts as absent (as OpenAI's API does). */
static int parse_field(struct kws_perr *e, const char *k, json_t *v,
                       struct gen_req *g) {
    struct kws_gen_params *p = &g->p;
    int64_t i = 0;
    int b = 0;
    if (!strcmp(k, g->chat ? "messages" : "prompt")) {
        *(g->chat ? &g->messages : &g->prompt) = v;
        return 0;
    }
    if (json_is_null(v) && strcmp(k, "messages") && strcmp(k, "prompt"))
        return 0;
    if (!strcmp(k, "model") || !strcmp(k, "user")) {
        if (!json_is_string(v))
            return kws_fail(e, k, "'%s' must be a string", k);
    } else if (!strcmp(k, "stream")) {
        return get_bool(e, k, v, &g->stream);
    } else if (!strcmp(k, "stream_options") ||
               !strcmp(k, "response_format")) {
        return get_object_fields(e, k, v, g);
    } else if (!strcmp(k, "max_tokens") ||
               !strcmp(k, "max_completion_tokens")) {
        if (get_int(e, k, v, INT64_MIN, INT64_MAX, &i))
            return -1;
        if (i <= 0)
            return kws_fail(e, k, "'%s' must be at least 1", k);
        g->max_tokens = i;
    } else if (!strcmp(k, "temperature")) {
        return get_num(e, k, v, 0, 2, &p->temperature);
    } else if (!strcmp(k, "top_p")) {
        return get_num(e, k, v, 0, 1, &p->top_p);
    } else if (!strcmp(k, "min_p")) {
        return get_num(e, k, v, 0, 1, &p->min_p);
    } else if (!strcmp(k, "repeat_penalty")) {
        if (get_num(e, k, v, 0, 100, &p->repeat_penalty))
            return -1;
        if (!(p->repeat_penalty > 0))
            return kws_fail(e, k, "'repeat_penalty' must be above 0");
    } else if (!strcmp(k, "presence_penalty")) {
        return get_num(e, k, v, -2, 2, &p->presence_penalty);
    } else if (!strcmp(k, "frequency_penalty")) {
        return get_num(e, k, v, -2, 2, &p->frequency_penalty);
    } else if (!strcmp(k, "top_k")) {
        if (get_int(e, k, v, 0, INT32_MAX, &i))
            return -1;
        p->top_k = (int32_t)i;
    } else if (!strcmp(k, "seed")) {
        if (get_int(e, k, v, INT64_MIN, INT64_MAX, &i))
            return -1;
        p->seed = (uint64_t)i;
        if (p->seed == 0xFFFFFFFFu) /* that value means "from the clock" */
            p->seed ^= 1ull << 32;
    } else if (!strcmp(k, "stop")) {
        return get_stop(e, v, p);
    } else if (!strcmp(k, "n")) {
        if (get_int(e, k, v, INT64_MIN, INT64_MAX, &i))
            return -1;
        if (i != 1)
            return kws_fail(e, k, "'n' must be 1 (one choice per request)");
    } else if (!strcmp(k, "logprobs") && g->chat) {
        return get_bool(e, k, v, &g->logprobs);
    } else if (!strcmp(k, "logprobs")) {
        if (get_int(e, k, v, 0, 5, &i))
            return -1;
        g->logprobs = 1;
        g->top_logprobs = (int)i;
    } else if (!strcmp(k, "top_logprobs") && g->chat) {
        if (get_int(e, k, v, 0, KWS_MAX_TOP, &i))
            return -1;
        g->top_logprobs = (int)i;
    } else if (!strcmp(k, "echo") && !g->chat) {
        if (get_bool(e, k, v, &b))
            return -1;
        if (b)
            return kws_fail(e, k, "'echo' is not supported");
    } else {
        return kws_fail(e, k, "unknown field '%.64s'", k);
    }
    return 0;
}

/* ---- the request ------------------------------------------------------- */

static json_t *usage_of(const struct kws_event *done) {
    return json_pack("{s:i,s:i,s:i,s:{s:i}}", "prompt_tokens",
                     done->prompt_tokens, "completion_tokens",
                     done->completion_tokens, "total_tokens",
                     done->prompt_tokens + done->completion_tokens,
                     "prompt_tokens_details", "cached_tokens",
                     done->cached_tokens);
}

json_t *kws_usage_json(const struct kws_event *done) {
    return usage_of(done);
}

static enum MHD_Result reply_event_error(struct kws_req *r,
                                         struct kws_event *ev) {
    int status = ev->status >= 400 && ev->status <= 599 ? ev->status : 500;
    enum MHD_Result res = kws_reply_error(r, status, NULL, NULL, NULL, "%s",
                                          ev->text ? ev->text
                                                   : "generation failed");
    kws_event_clear(ev);
    return res;
}

/* Gathers every event into one chat.completion / text_completion. */
static enum MHD_Result collect(struct kws_req *r, struct kws_live *l,
                               const struct kws_gen_reply *g,
                               struct kws_event *ev, int fd) {
    struct kws_server *srv = r->srv;
    char *text = NULL;
    size_t len = 0, off = 0;
    json_t *lp = g->logprobs ? (g->chat ? json_array()
                                        : kws_logprobs_legacy_new())
                             : NULL;
    enum MHD_Result res;
    for (;;) {
        if (ev->kind == KWS_EV_ERROR) {
            res = reply_event_error(r, ev);
            break;
        }
        if (ev->kind == KWS_EV_TEXT) {
            char *t = realloc(text, len + ev->len + 1);
            if (!t) {
                kws_event_clear(ev);
                res = kws_reply_error(r, 500, NULL, NULL, NULL,
                                      "out of memory");
                break;
            }
            text = t;
            memcpy(text + len, ev->text ? ev->text : "", ev->len);
            len += ev->len;
            text[len] = 0;
            if (lp)
                kws_logprobs_append(lp, g->chat, ev, &off);
        } else { /* KWS_EV_DONE */
            json_t *choice = json_object();
            json_object_set_new(choice, "index", json_integer(0));
            json_t *content = kws_json_lossy(text ? text : "", len);
            if (g->chat)
                json_object_set_new(choice, "message",
                                    json_pack("{s:s,s:o}", "role",
                                              "assistant", "content",
                                              content));
            else
                json_object_set_new(choice, "text", content);
            json_t *lpj = json_null();
            if (lp && g->chat)
                lpj = json_pack("{s:O,s:n}", "content", lp, "refusal");
            else if (lp)
                lpj = json_incref(lp);
            json_object_set_new(choice, "logprobs", lpj);
            json_object_set_new(choice, "finish_reason",
                                json_string(ev->finish_reason
                                                ? ev->finish_reason
                                                : "stop"));
            json_t *root = json_pack(
                "{s:s,s:s,s:I,s:s,s:[o],s:o}", "id", g->id, "object",
                g->chat ? "chat.completion" : "text_completion", "created",
                (json_int_t)g->created, "model", srv->model_id, "choices",
                choice, "usage", usage_of(ev));
            kws_event_clear(ev);
            res = kws_reply_json(r, 200, root);
            break;
        }
        kws_event_clear(ev);
        if (!kws_live_next(srv, l, ev, fd)) {
            res = MHD_NO; /* the client left: close */
            break;
        }
    }
    free(text);
    json_decref(lp);
    kws_live_drop(srv, l, 1);
    return res;
}

static void free_params(struct kws_gen_params *p) {
    free(p->prompt);
    for (int i = 0; i < p->n_stop; i++)
        free(p->stop[i]);
    free(p->stop);
    memset(p, 0, sizeof *p);
}

enum MHD_Result kws_api_generate(struct kws_req *r, int chat) {
    struct kws_server *srv = r->srv;
    if (!atomic_load(&srv->ready))
        return kws_reply_error(r, 503, NULL, NULL, "model_loading",
                               "the model is loading; retry shortly");
    enum MHD_Result res;
    json_t *root = kws_parse_body(r, &res);
    if (!root)
        return res;
    struct gen_req g;
    struct kws_perr e;
    memset(&g, 0, sizeof g);
    memset(&e, 0, sizeof e);
    g.chat = chat;
    g.max_tokens = -1;
    g.p.temperature = 1.0f;
    g.p.top_p = 1.0f;
    g.p.repeat_penalty = 1.0f;
    g.p.seed = 0xFFFFFFFFu;
    int rc = -1;
    if (!(g.p.stop = calloc(4, sizeof *g.p.stop))) {
        kws_fail(&e, NULL, "out of memory");
        goto bad;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
        if (parse_field(&e, k, v, &g))
            goto bad;
    if (chat && g.top_logprobs > 0 && !g.logprobs) {
        kws_fail(&e, "top_logprobs", "'top_logprobs' needs 'logprobs': true");
        goto bad;
    }
    size_t n = 0;
    if (chat ? kws_chat_prompt(srv, g.messages, &g.p.prompt, &n, &e)
             : kws_completion_prompt(srv, g.prompt, &g.p.prompt, &n, &e))
        goto bad;
    g.p.n_prompt = n;
    if (n == 0) {
        kws_fail(&e, chat ? "messages" : "prompt", "the prompt is empty");
        goto bad;
    }
    if (n >= srv->n_ctx) {
        kws_fail(&e, chat ? "messages" : "prompt",
             "prompt is %zu tokens, the context is %u", n, srv->n_ctx);
        goto bad;
    }
    int64_t room = (int64_t)srv->n_ctx - (int64_t)n;
    g.p.max_tokens = (int)(g.max_tokens < 0 || g.max_tokens > room
                               ? room : g.max_tokens);
    g.p.logprobs = g.logprobs;
    g.p.top_logprobs = g.top_logprobs;
    rc = 0;
bad:
    json_decref(root);
    if (rc) {
        free_params(&g.p);
        if (!strncmp(e.msg, "out of memory", 13))
            return kws_reply_error(r, 500, NULL, NULL, NULL, "%s", e.msg);
        return kws_reply_error(r, 400, NULL, e.param[0] ? e.param : NULL,
                               NULL, "%s", e.msg);
    }
    if (g.p.n_stop == 0) {
        free(g.p.stop);
        g.p.stop = NULL;
    }

    struct kws_job *job = kws_job_new(&g.p); /* owns prompt and stops now */
    if (!job)
        return kws_reply_error(r, 500, NULL, NULL, NULL, "out of memory");
    struct kws_live *l = kws_live_add(srv, job);
    if (!l)
        return kws_reply_error(r, 500, NULL, NULL, NULL, "out of memory");
    enum kws_submit sub = kws_sched_submit(srv->sched, job);
    if (sub != KWS_SUBMIT_OK) {
        kws_live_drop(srv, l, 0);
        if (sub == KWS_SUBMIT_QUEUE_FULL) {
            r->retry_after = 1;
            return kws_reply_error(r, 429, NULL, NULL, "queue_full",
                                   "all slots are busy and the queue is "
                                   "full; retry later");
        }
        return kws_reply_error(r, 503, NULL, NULL, NULL,
                               "the server is shutting down");
    }
    struct kws_gen_reply gr;
    memset(&gr, 0, sizeof gr);
    gr.chat = chat;
    gr.include_usage = g.include_usage;
    gr.logprobs = g.logprobs;
    gr.created = (int64_t)time(NULL);
    kws_new_id(srv, chat ? "chatcmpl-" : "cmpl-", gr.id, sizeof gr.id);

    /* The first event decides the status: an error before any output
     * still gets its own HTTP status, even when streaming. */
    int fd = kws_conn_fd(r->conn);
    struct kws_event ev;
    memset(&ev, 0, sizeof ev);
    if (!kws_live_next(srv, l, &ev, fd)) {
        kws_live_drop(srv, l, 1);
        return MHD_NO;
    }
    if (ev.kind == KWS_EV_ERROR) {
        kws_live_drop(srv, l, 1);
        return reply_event_error(r, &ev);
    }
    if (g.stream)
        return kws_stream_start(r, l, &gr, &ev);
    return collect(r, l, &gr, &ev, fd);
}
