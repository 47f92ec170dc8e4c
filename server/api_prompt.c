/*
 * api_prompt.c — the prompt of a generation request as tokens: chat
 * messages (roles, string or text-part content) rendered with the chat
 * template, or a completion prompt (a string, one string in an array, or
 * token ids checked against the vocabulary). Entry points:
 * kws_chat_prompt, kws_completion_prompt, kws_fail.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kws_fail(struct kws_perr *e, const char *param, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    return -1;
}

/* ---- prompts ----------------------------------------------------------- */

static int tokenize(const struct kw_model *m, const char *text, size_t len,
                    int32_t **out, size_t *n, struct kws_perr *e) {
    size_t cap = len + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *buf = malloc(cap * sizeof *buf);
        if (!buf)
            return kws_fail(e, NULL, "out of memory");
        enum kw_status st = kw_tokenize(m, text, len, 1, 1, buf, cap, n);
        if (st == KW_STATUS_OK) {
            *out = buf;
            return 0;
        }
        free(buf);
        if (st != KW_STATUS_ERR_BUFFER_TOO_SMALL || *n <= cap)
            return kws_fail(e, NULL, "tokenize failed: %s", kw_status_str(st));
        cap = *n;
    }
    return kws_fail(e, NULL, "tokenize failed");
}

/* The text of a message's content: a string or text parts. NULL (with e
 * set) on error; "" for null content. */
static char *content_text(json_t *c, const char *where, struct kws_perr *e) {
    if (json_is_null(c) || !c)
        return strdup("");
    if (json_is_string(c))
        return strdup(json_string_value(c));
    if (!json_is_array(c)) {
        kws_fail(e, where, "'%s' must be a string or an array of text parts",
             where);
        return NULL;
    }
    size_t total = 1, i;
    json_t *part;
    json_array_foreach(c, i, part) {
        json_t *type = json_object_get(part, "type");
        json_t *text = json_object_get(part, "text");
        if (!json_is_object(part) || !json_is_string(type) ||
            strcmp(json_string_value(type), "text") || !json_is_string(text) ||
            json_object_size(part) != 2) {
            kws_fail(e, where, "'%s' parts must be {\"type\": \"text\", "
                           "\"text\": ...}", where);
            return NULL;
        }
        total += json_string_length(text);
    }
    char *s = malloc(total), *o = s;
    if (!s) {
        kws_fail(e, NULL, "out of memory");
        return NULL;
    }
    json_array_foreach(c, i, part) {
        json_t *text = json_object_get(part, "text");
        memcpy(o, json_string_value(text), json_string_length(text));
        o += json_string_length(text);
    }
    *o = 0;
    return s;
}

int kws_chat_prompt(struct kws_server *srv, json_t *msgs, int32_t **toks,
                       size_t *n_toks, struct kws_perr *e) {
    if (!msgs || json_is_null(msgs))
        return kws_fail(e, "messages", "'messages' is required");
    size_t n = json_array_size(msgs);
    if (!json_is_array(msgs) || n == 0)
        return kws_fail(e, "messages", "'messages' must be a non-empty array");
    struct kw_chat_message *cm = calloc(n, sizeof *cm);
    char **texts = calloc(n, sizeof *texts);
    char *buf = NULL;
    int rc = -1;
    if (!cm || !texts) {
        kws_fail(e, NULL, "out of memory");
        goto done;
    }
    size_t cap = 256;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i), *x;
        const char *k;
        char where[64];
        snprintf(where, sizeof where, "messages[%zu]", i);
        if (!json_is_object(m)) {
            kws_fail(e, where, "'%s' must be an object", where);
            goto done;
        }
        json_object_foreach(m, k, x) {
            if (strcmp(k, "role") && strcmp(k, "content") &&
                strcmp(k, "name")) {
                char f[160];
                snprintf(f, sizeof f, "%s.%.64s", where, k);
                kws_fail(e, f, "unknown field '%s'", f);
                goto done;
            }
        }
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!role || (strcmp(role, "system") && strcmp(role, "user") &&
                      strcmp(role, "assistant") && strcmp(role, "developer"))) {
            kws_fail(e, where, "'%s.role' must be system, developer, user or "
                           "assistant", where);
            goto done;
        }
        json_t *name = json_object_get(m, "name");
        if (name && !json_is_string(name)) {
            kws_fail(e, where, "'%s.name' must be a string", where);
            goto done;
        }
        char cw[80];
        snprintf(cw, sizeof cw, "%s.content", where);
        json_t *content = json_object_get(m, "content");
        if ((!content || json_is_null(content)) &&
            strcmp(role, "assistant")) {
            kws_fail(e, cw, "'%s' is required", cw);
            goto done;
        }
        if (!(texts[i] = content_text(content, cw, e)))
            goto done;
        cm[i].role = !strcmp(role, "developer") ? "system" : role;
        cm[i].content = texts[i];
        cap += strlen(texts[i]) + 64;
    }
    const char *tmpl = srv->cfg.chat_template;
    if (!tmpl && !kw_chat_template_detect(srv->model))
        tmpl = "chatml"; /* as llama-server does for unknown templates */
    size_t len = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        char err[256] = "";
        if (!(buf = malloc(cap))) {
            kws_fail(e, NULL, "out of memory");
            goto done;
        }
        enum kw_status st = kw_chat_apply(srv->model, tmpl, cm, n, 1, buf,
                                          cap, &len, err, sizeof err);
        if (st == KW_STATUS_OK)
            break;
        free(buf);
        buf = NULL;
        if (st != KW_STATUS_ERR_BUFFER_TOO_SMALL || len < cap) {
            kws_fail(e, NULL, "chat template: %s",
                 err[0] ? err : kw_status_str(st));
            goto done;
        }
        cap = len + 1;
    }
    if (!buf) {
        kws_fail(e, NULL, "chat template output changed size");
        goto done;
    }
    rc = tokenize(srv->model, buf, len, toks, n_toks, e);
done:
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    free(cm);
    free(buf);
    return rc;
}

int kws_completion_prompt(struct kws_server *srv, json_t *pr,
                             int32_t **toks, size_t *n_toks, struct kws_perr *e) {
    if (!pr || json_is_null(pr))
        return kws_fail(e, "prompt", "'prompt' is required");
    if (json_is_array(pr) && json_array_size(pr) == 1 &&
        json_is_string(json_array_get(pr, 0)))
        pr = json_array_get(pr, 0);
    if (json_is_string(pr))
        return tokenize(srv->model, json_string_value(pr),
                        json_string_length(pr), toks, n_toks, e);
    size_t n = json_array_size(pr), i;
    json_t *t;
    if (!json_is_array(pr) || n == 0)
        return kws_fail(e, "prompt", "'prompt' must be a string, an array of "
                                 "one string or an array of token ids");
    int32_t n_vocab = kw_model_n_vocab(srv->model);
    int32_t *out = malloc(n * sizeof *out);
    if (!out)
        return kws_fail(e, NULL, "out of memory");
    json_array_foreach(pr, i, t) {
        json_int_t x = json_integer_value(t);
        if (!json_is_integer(t) || x < 0 || x >= n_vocab) {
            free(out);
            return kws_fail(e, "prompt", "'prompt' must be a string, an array "
                                     "of one string or an array of token "
                                     "ids below %d", (int)n_vocab);
        }
        out[i] = (int32_t)x;
    }
    *toks = out;
    *n_toks = n;
    return 0;
}
