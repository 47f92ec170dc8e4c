/*
 * http.h — private to the HTTP side of `kaiwu serve` (http.c, api_*.c,
 * metrics.c, webui.c): the server object, one request's state, reply
 * helpers (OpenAI error JSON, CORS, status bookkeeping for /metrics), the
 * registry of jobs held by connections (cancelled on disconnect; shutdown
 * waits for it to drain) and the endpoint handlers.
 */
#ifndef KW_SERVER_HTTP_H
#define KW_SERVER_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "serve.h"

struct kws_vision; /* api_misc.c: one loaded --vision model */
struct kws_live;   /* http.c: a job held by a connection */

struct kws_server {
    struct kws_config cfg;
    struct MHD_Daemon *daemon;
    struct kws_metrics *metrics;
    atomic_int ready;      /* 1 once kws_server_load succeeded */
    atomic_int force_stop; /* shutdown stopped waiting: end every wait */
    struct kw_model *model;
    struct kws_sched *sched;
    char model_id[256];
    uint32_t n_ctx;        /* context of one slot */
    int64_t created;       /* unix time of the load, for /v1/models */
    struct kws_vision *vision;
    int n_vision;
    pthread_mutex_t live_mu;
    struct kws_live *live; /* list of jobs held by connections */
    atomic_uint_fast64_t next_id;
};

/* One HTTP request (MHD's per-request pointer). */
struct kws_req {
    struct kws_server *srv;
    struct MHD_Connection *conn;
    const char *route;   /* metrics label: a known path or "other"; NULL
                            until the access handler first runs */
    const char *raw_uri; /* the request target as MHD first saw it */
    size_t raw_uri_len;  /* its length up to the first NUL */
    int bad_target;      /* the target escapes a NUL (%00) */
    char method[12];     /* for the -v request log */
    char path[80];
    double t0;           /* arrival, monotonic seconds */
    int status;          /* status of the queued response */
    int retry_after;     /* add Retry-After: 1 (429) */
    const char *allow;   /* Allow header (405) */
    int too_big;         /* the body grew over the cap: answer 413 */
    size_t dropped;      /* bytes discarded since then */
    char *body;          /* the upload, NUL-terminated once complete */
    size_t len, cap;
    void *post;          /* api_misc.c: multipart form state */
};

/* ---- replies (http.c); each takes ownership of what it is given -------- */
enum MHD_Result kws_reply(struct kws_req *r, int status, const char *ctype,
                          char *body, size_t len);
enum MHD_Result kws_reply_static(struct kws_req *r, int status,
                                 const char *ctype, const void *body,
                                 size_t len);
enum MHD_Result kws_reply_json(struct kws_req *r, int status, json_t *j);
/* OpenAI error JSON; type NULL picks one from the status; param and code
 * may be NULL (JSON null). */
enum MHD_Result kws_reply_error(struct kws_req *r, int status,
                                const char *type, const char *param,
                                const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
/* Queues resp (destroying our reference) with the common headers. */
enum MHD_Result kws_queue(struct kws_req *r, int status,
                          struct MHD_Response *resp, const char *ctype);
/* Adds the CORS header when --cors was given. */
void kws_add_cors(const struct kws_server *srv, struct MHD_Response *resp);

/* ---- request helpers (http.c) ----------------------------------------- */
/* The body as a JSON object: checks UTF-8, nesting depth, syntax and that
 * the top level is an object. NULL after an error reply (*res set). */
json_t *kws_parse_body(struct kws_req *r, enum MHD_Result *res);
/* 1 when bytes[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int kws_utf8_valid(const char *s, size_t n);
/* A JSON string of s[0..n) with invalid UTF-8 replaced by U+FFFD. */
json_t *kws_json_lossy(const char *s, size_t n);
/* 1 when the client closed its side of the connection. */
int kws_conn_gone(int fd);
int kws_conn_fd(struct MHD_Connection *c);
/* "chatcmpl-..." style unique id into buf. */
void kws_new_id(struct kws_server *srv, const char *prefix, char *buf,
                size_t size);

/* ---- jobs held by connections (http.c) -------------------------------- */
/* Registers j (the caller's reference moves here). NULL when out of
 * memory (then j is cancelled and released). */
struct kws_live *kws_live_add(struct kws_server *srv, struct kws_job *j);
/* Waits for the next event of l, watching the client's socket fd (or -1):
 * 1 = *ev filled, 0 = give up (client gone, cancelled, forced stop; the
 * job is cancelled then). */
int kws_live_next(struct kws_server *srv, struct kws_live *l,
                  struct kws_event *ev, int fd);
/* Unregisters and releases l's job; cancel: also cancel it first. */
void kws_live_drop(struct kws_server *srv, struct kws_live *l, int cancel);

/* ---- request validation (api_prompt.c) -------------------------------- */
/* A 400's message and the field it names ("" for none). */
struct kws_perr {
    char param[96];
    char msg[320];
};
/* Fills e; returns -1. */
int kws_fail(struct kws_perr *e, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* The chat messages rendered with the template (cfg's, the model's, or
 * chatml) and tokenized; 0, or -1 with e set. *toks is malloc'd. */
int kws_chat_prompt(struct kws_server *srv, json_t *msgs, int32_t **toks,
                    size_t *n_toks, struct kws_perr *e);
int kws_completion_prompt(struct kws_server *srv, json_t *prompt,
                          int32_t **toks, size_t *n_toks,
                          struct kws_perr *e);

/* ---- endpoints --------------------------------------------------------- */
/* api_chat.c: POST /v1/chat/completions (chat 1), /v1/completions (0) */
enum MHD_Result kws_api_generate(struct kws_req *r, int chat);
/* api_sse.c: streams the job's events as OpenAI SSE chunks. first: the
 * first event, already received (moved). */
struct kws_gen_reply {
    int chat;          /* chat.completion vs text_completion shapes */
    int include_usage; /* stream_options.include_usage */
    int logprobs;      /* chat: bool; completions: 1 with logprobs >= 0 */
    char id[64];
    int64_t created;
};
enum MHD_Result kws_stream_start(struct kws_req *r, struct kws_live *l,
                                 const struct kws_gen_reply *g,
                                 struct kws_event *first);
/* api_sse.c: the logprobs JSON of one text event (chat or legacy shape
 * appended to acc: chat -> acc is the "content" array; completions -> acc
 * is the logprobs object with tokens/token_logprobs/top_logprobs/
 * text_offset arrays, *text_off the running offset). */
void kws_logprobs_append(json_t *acc, int chat, const struct kws_event *ev,
                         size_t *text_off);
json_t *kws_logprobs_legacy_new(void);
/* api_chat.c: {"prompt_tokens", "completion_tokens", "total_tokens", ...} */
json_t *kws_usage_json(const struct kws_event *done);
/* api_misc.c */
enum MHD_Result kws_api_health(struct kws_req *r);
enum MHD_Result kws_api_models(struct kws_req *r, const char *id);
enum MHD_Result kws_api_metrics(struct kws_req *r);
enum MHD_Result kws_api_classify(struct kws_req *r);
int kws_vision_load(struct kws_server *srv, char *err, size_t err_size);
void kws_vision_free(struct kws_server *srv);
/* webui.c: GET / */
enum MHD_Result kws_webui(struct kws_req *r);
/* metrics.c: Prometheus text exposition (malloc'd) */
char *kws_metrics_render(struct kws_metrics *m,
                         const struct kws_sched_stats *st, int have_stats,
                         size_t *len);

#endif /* KW_SERVER_HTTP_H */
