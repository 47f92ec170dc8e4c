/*
 * http_util.c — helpers of the HTTP side: replies with the common headers
 * and OpenAI error JSON, request body checks (UTF-8, nesting depth, JSON
 * object), client-gone detection on the socket, response ids, and the
 * registry of jobs held by connections (so shutdown can wait for the
 * streams to drain).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define KWS_MAX_DEPTH 64

/* ---- replies ----------------------------------------------------------- */

void kws_add_cors(const struct kws_server *srv, struct MHD_Response *resp) {
    if (srv->cfg.cors_origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin",
                                srv->cfg.cors_origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
}

enum MHD_Result kws_queue(struct kws_req *r, int status,
                          struct MHD_Response *resp, const char *ctype) {
    if (!resp)
        return MHD_NO;
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    kws_add_cors(r->srv, resp);
    if (r->retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer");
    enum MHD_Result res =
        MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (res == MHD_YES)
        r->status = status;
    return res;
}

enum MHD_Result kws_reply(struct kws_req *r, int status, const char *ctype,
                          char *body, size_t len) {
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    return kws_queue(r, status, resp, ctype);
}

enum MHD_Result kws_reply_static(struct kws_req *r, int status,
                                 const char *ctype, const void *body,
                                 size_t len) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)body, MHD_RESPMEM_PERSISTENT);
    return kws_queue(r, status, resp, ctype);
}

enum MHD_Result kws_reply_json(struct kws_req *r, int status, json_t *j) {
    if (!j)
        return kws_reply_error(r, 500, NULL, NULL, NULL, "out of memory");
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(j);
    if (!s)
        return MHD_NO;
    return kws_reply(r, status, "application/json", s, strlen(s));
}

static const char *error_type(int status) {
    switch (status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_exceeded";
    case 500: case 503: return "server_error";
    default: return "invalid_request_error";
    }
}

enum MHD_Result kws_reply_error(struct kws_req *r, int status,
                                const char *type, const char *param,
                                const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* messages quote request text, cut at any byte: keep them UTF-8 */
    json_t *err = json_object();
    json_object_set_new(err, "message", kws_json_lossy(msg, strlen(msg)));
    json_object_set_new(err, "type",
                        json_string(type ? type : error_type(status)));
    json_object_set_new(err, "param",
                        param ? kws_json_lossy(param, strlen(param))
                              : json_null());
    json_object_set_new(err, "code", code ? json_string(code) : json_null());
    json_t *root = json_object();
    json_object_set_new(root, "error", err);
    return kws_reply_json(r, status, root);
}

/* ---- request helpers --------------------------------------------------- */

int kws_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned min, cp;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; min = 0x80; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { k = 2; min = 0x800; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; min = 0x10000; cp = c & 7; }
        else return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

json_t *kws_json_lossy(const char *s, size_t n) {
    if (kws_utf8_valid(s, n))
        return json_stringn(s, n);
    char *buf = malloc(n * 3 + 1), *o = buf;
    if (!buf)
        return json_string("");
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !kws_utf8_valid(s + i, k))
            k++;
        if (k <= 4 && i + k <= n) {
            memcpy(o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(buf, (size_t)(o - buf));
    free(buf);
    return j ? j : json_string("");
}

/* Nesting depth of the JSON text (strings skipped); jansson's own limit
 * is far deeper than any request needs. */
static int json_depth_ok(const char *s, size_t n) {
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > KWS_MAX_DEPTH)
                return 0;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 1;
}

json_t *kws_parse_body(struct kws_req *r, enum MHD_Result *res) {
    const char *b = r->body ? r->body : "";
    if (r->len == 0) {
        *res = kws_reply_error(r, 400, NULL, NULL, NULL,
                               "the request body is empty (expected JSON)");
        return NULL;
    }
    if (!kws_utf8_valid(b, r->len)) {
        *res = kws_reply_error(r, 400, NULL, NULL, NULL,
                               "the request body is not valid UTF-8");
        return NULL;
    }
    if (!json_depth_ok(b, r->len)) {
        *res = kws_reply_error(r, 400, NULL, NULL, NULL,
                               "JSON nested deeper than %d levels",
                               KWS_MAX_DEPTH);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(b, r->len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        *res = kws_reply_error(r, 400, NULL, NULL, NULL,
                               "malformed JSON: %s (line %d, column %d)",
                               je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        *res = kws_reply_error(r, 400, NULL, NULL, NULL,
                               "the request body must be a JSON object");
        return NULL;
    }
    return j;
}

int kws_conn_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? (int)ci->connect_fd : -1;
}

int kws_conn_gone(int fd) {
    if (fd < 0)
        return 0;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

void kws_new_id(struct kws_server *srv, const char *prefix, char *buf,
                size_t size) {
    uint64_t n = atomic_fetch_add(&srv->next_id, 1);
    /* mix so ids look unrelated; uniqueness comes from the counter */
    uint64_t x = (n + 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    snprintf(buf, size, "%s%016llx%08llx", prefix, (unsigned long long)x,
             (unsigned long long)(n & 0xFFFFFFFFu));
}

/* ---- jobs held by connections ------------------------------------------ */

struct kws_live {
    struct kws_job *job;
    struct kws_live *prev, *next;
    int done; /* the last event (DONE / ERROR) was received */
};

struct kws_live *kws_live_add(struct kws_server *srv, struct kws_job *j) {
    struct kws_live *l = calloc(1, sizeof *l);
    if (!l) {
        kws_job_cancel(j);
        kws_job_release(j);
        return NULL;
    }
    l->job = j;
    pthread_mutex_lock(&srv->live_mu);
    l->next = srv->live;
    if (srv->live)
        srv->live->prev = l;
    srv->live = l;
    pthread_mutex_unlock(&srv->live_mu);
    return l;
}

int kws_live_next(struct kws_server *srv, struct kws_live *l,
                  struct kws_event *ev, int fd) {
    while (!l->done) {
        if (kws_job_next(l->job, ev, 100)) {
            if (ev->kind != KWS_EV_TEXT)
                l->done = 1;
            return 1;
        }
        if (atomic_load(&srv->force_stop) || kws_conn_gone(fd)) {
            kws_job_cancel(l->job);
            return 0;
        }
    }
    return 0;
}

void kws_live_drop(struct kws_server *srv, struct kws_live *l, int cancel) {
    if (!l)
        return;
    pthread_mutex_lock(&srv->live_mu);
    if (l->prev)
        l->prev->next = l->next;
    else
        srv->live = l->next;
    if (l->next)
        l->next->prev = l->prev;
    pthread_mutex_unlock(&srv->live_mu);
    if (cancel && !l->done)
        kws_job_cancel(l->job);
    kws_job_release(l->job);
    free(l);
}
