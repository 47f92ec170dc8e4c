/*
 * api_sse.c — server-sent events for streaming completions, exactly as
 * OpenAI sends them: chat.completion.chunk (role first, one chunk per text
 * piece, a final chunk with finish_reason, a usage chunk when asked, then
 * "data: [DONE]"), or text_completion chunks; plus the logprobs JSON of
 * both API shapes. Entry points: kws_stream_start, kws_logprobs_append.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "http.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- logprobs ---------------------------------------------------------- */

static double finite_lp(float lp) {
    return isfinite(lp) ? (double)lp : -9999.0; /* OpenAI's floor */
}

static json_t *bytes_of(const char *s) {
    json_t *a = json_array();
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        json_array_append_new(a, json_integer(*p));
    return a;
}

static json_t *chat_token(const struct kws_top *t) {
    return json_pack("{s:o,s:f,s:o}", "token",
                     kws_json_lossy(t->text, strnlen(t->text, sizeof t->text)),
                     "logprob", finite_lp(t->logprob), "bytes",
                     bytes_of(t->text));
}

json_t *kws_logprobs_legacy_new(void) {
    return json_pack("{s:[],s:[],s:[],s:[]}", "tokens", "token_logprobs",
                     "top_logprobs", "text_offset");
}

void kws_logprobs_append(json_t *acc, int chat, const struct kws_event *ev,
                         size_t *text_off) {
    if (!acc || !ev->chosen)
        return;
    for (int i = 0; i < ev->n_tokens; i++) {
        const struct kws_top *c = &ev->chosen[i];
        const struct kws_top *top = ev->top ? ev->top + (size_t)i * (size_t)ev->n_top
                                            : NULL;
        int n_top = top ? ev->n_top : 0;
        if (chat) {
            json_t *e = chat_token(c);
            json_t *alts = json_array();
            for (int k = 0; k < n_top; k++)
                json_array_append_new(alts, chat_token(&top[k]));
            json_object_set_new(e, "top_logprobs", alts);
            json_array_append_new(acc, e);
            continue;
        }
        size_t n = strnlen(c->text, sizeof c->text);
        json_array_append_new(json_object_get(acc, "tokens"),
                              kws_json_lossy(c->text, n));
        json_array_append_new(json_object_get(acc, "token_logprobs"),
                              json_real(finite_lp(c->logprob)));
        json_t *alts = json_object();
        for (int k = 0; k < n_top; k++) {
            /* keys must be UTF-8 too: go through the lossy string */
            json_t *key = kws_json_lossy(
                top[k].text, strnlen(top[k].text, sizeof top[k].text));
            if (key && json_string_value(key))
                json_object_set_new(alts, json_string_value(key),
                                    json_real(finite_lp(top[k].logprob)));
            json_decref(key);
        }
        json_array_append_new(json_object_get(acc, "top_logprobs"), alts);
        json_array_append_new(json_object_get(acc, "text_offset"),
                              json_integer((json_int_t)*text_off));
        *text_off += n;
    }
}

/* ---- the stream -------------------------------------------------------- */

struct stream {
    struct kws_server *srv;
    struct kws_live *live;
    struct kws_gen_reply g;
    int fd;
    struct kws_event first; /* received before the headers went out */
    int have_first;
    int sent_role;
    int finished;           /* everything is in out[] */
    char *out;              /* bytes to send: out[pos..len) */
    size_t pos, len, cap;
    size_t text_off;
};

static int out_put(struct stream *s, const char *p, size_t n) {
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->len + n)
            cap *= 2;
        char *b = realloc(s->out, cap);
        if (!b)
            return -1;
        s->out = b;
        s->cap = cap;
    }
    memcpy(s->out + s->len, p, n);
    s->len += n;
    return 0;
}

/* "data: JSON\n\n"; takes j */
static int out_event(struct stream *s, json_t *j) {
    char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9))
                  : NULL;
    json_decref(j);
    if (!txt)
        return -1;
    int rc = out_put(s, "data: ", 6) || out_put(s, txt, strlen(txt)) ||
             out_put(s, "\n\n", 2);
    free(txt);
    return rc ? -1 : 0;
}

/* A chunk with one choice (or none when choice is NULL). */
static json_t *chunk(struct stream *s, json_t *choice) {
    json_t *c = json_pack("{s:s,s:s,s:I,s:s,s:[]}", "id", s->g.id, "object",
                          s->g.chat ? "chat.completion.chunk"
                                    : "text_completion",
                          "created", (json_int_t)s->g.created, "model",
                          s->srv->model_id, "choices");
    if (!c) {
        json_decref(choice);
        return NULL;
    }
    if (choice)
        json_array_append_new(json_object_get(c, "choices"), choice);
    if (s->g.include_usage)
        json_object_set_new(c, "usage", json_null());
    return c;
}

static json_t *choice(struct stream *s, json_t *delta_or_text, json_t *lp,
                      const char *finish) {
    json_t *ch = json_object();
    json_object_set_new(ch, "index", json_integer(0));
    json_object_set_new(ch, s->g.chat ? "delta" : "text", delta_or_text);
    json_object_set_new(ch, "logprobs", lp ? lp : json_null());
    json_object_set_new(ch, "finish_reason",
                        finish ? json_string(finish) : json_null());
    return ch;
}

static int emit(struct stream *s, const struct kws_event *ev) {
    if (s->g.chat && !s->sent_role && ev->kind != KWS_EV_ERROR) {
        s->sent_role = 1;
        if (out_event(s, chunk(s, choice(s, json_pack("{s:s,s:s}", "role",
                                                      "assistant", "content",
                                                      ""),
                                         NULL, NULL))))
            return -1;
    }
    if (ev->kind == KWS_EV_TEXT) {
        if (ev->len == 0 && ev->n_tokens == 0)
            return 0;
        json_t *text = kws_json_lossy(ev->text ? ev->text : "", ev->len);
        json_t *lp = NULL;
        if (s->g.logprobs) {
            if (s->g.chat) {
                json_t *content = json_array();
                kws_logprobs_append(content, 1, ev, &s->text_off);
                lp = json_pack("{s:o,s:n}", "content", content, "refusal");
            } else {
                lp = kws_logprobs_legacy_new();
                kws_logprobs_append(lp, 0, ev, &s->text_off);
            }
        }
        json_t *d = s->g.chat ? json_pack("{s:o}", "content", text) : text;
        return out_event(s, chunk(s, choice(s, d, lp, NULL)));
    }
    s->finished = 1;
    if (ev->kind == KWS_EV_ERROR) {
        json_t *e = json_pack(
            "{s:{s:o,s:s,s:n,s:n}}", "error", "message",
            kws_json_lossy(ev->text ? ev->text : "generation failed",
                           ev->text ? strlen(ev->text) : 17),
            "type", "server_error",
            "param", "code");
        return out_event(s, e);
    }
    json_t *d = s->g.chat ? json_object() : json_string("");
    if (out_event(s, chunk(s, choice(s, d, NULL, ev->finish_reason
                                                     ? ev->finish_reason
                                                     : "stop"))))
        return -1;
    if (s->g.include_usage) {
        json_t *c = chunk(s, NULL);
        if (c)
            json_object_set_new(c, "usage", kws_usage_json(ev));
        if (out_event(s, c))
            return -1;
    }
    return out_put(s, "data: [DONE]\n\n", 14);
}

/* MHD's content reader: blocks (its own connection thread) until the next
 * event; never returns 0 bytes. */
static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max) {
    struct stream *s = cls;
    (void)pos;
    while (s->pos == s->len) {
        if (s->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        s->pos = s->len = 0;
        struct kws_event ev;
        if (s->have_first) {
            ev = s->first;
            s->have_first = 0;
        } else if (!kws_live_next(s->srv, s->live, &ev, s->fd)) {
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        int rc = emit(s, &ev);
        kws_event_clear(&ev);
        if (rc)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->len - s->pos;
    if (n > max)
        n = max;
    memcpy(buf, s->out + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

/* Called when the response is done with, finished or not: a stream that
 * did not see its last event cancels the job (client gone). */
static void free_cb(void *cls) {
    struct stream *s = cls;
    kws_live_drop(s->srv, s->live, 1);
    if (s->have_first)
        kws_event_clear(&s->first);
    free(s->out);
    free(s);
}

enum MHD_Result kws_stream_start(struct kws_req *r, struct kws_live *l,
                                 const struct kws_gen_reply *g,
                                 struct kws_event *first) {
    struct stream *s = calloc(1, sizeof *s);
    if (!s) {
        kws_event_clear(first);
        kws_live_drop(r->srv, l, 1);
        return MHD_NO;
    }
    s->srv = r->srv;
    s->live = l;
    s->g = *g;
    s->fd = kws_conn_fd(r->conn);
    s->first = *first;
    s->have_first = 1;
    memset(first, 0, sizeof *first);
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, read_cb, s, free_cb);
    if (!resp) {
        free_cb(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return kws_queue(r, 200, resp, "text/event-stream");
}
