/*
 * serve.h — the pieces of `kaiwu serve` and the contracts between them:
 * configuration (cmd_serve.c), the generation scheduler (sched.c: slots,
 * queue, continuous batching), the jobs that carry one request's events
 * from the scheduler to its HTTP connection, metrics (metrics.c) and the
 * HTTP front end (http.c and the api_*.c endpoints). Everything here uses
 * only kaiwu's public API.
 */
#ifndef KW_SERVER_SERVE_H
#define KW_SERVER_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "kaiwu/llm.h"

/* ---- configuration (filled by cmd_serve.c from the command line) ------- */
struct kws_vision_model {
    const char *name; /* NAME of --vision NAME=MODEL.onnx */
    const char *path;
};

struct kws_config {
    const char *model_path; /* -m */
    const char *alias;      /* --alias, or NULL: file name without .gguf */
    const char *host;       /* default "127.0.0.1" */
    int port;               /* default 8080 */
    const char *api_key;    /* NULL: no auth (from --api-key or the file) */
    const char *cors_origin; /* NULL: no CORS headers */
    const char *chat_template; /* NULL: the model's */
    int parallel;           /* slots, default 4 */
    uint32_t ctx;           /* context per slot, default 4096 (capped) */
    int queue;              /* waiting requests beyond the slots, default 64 */
    int threads;            /* default: online cores */
    int batch;              /* tokens per forward pass, default 512 */
    size_t body_max;        /* request body cap, default 8 MiB */
    int timeout_s;          /* idle connection timeout, default 600 */
    struct kws_vision_model *vision;
    int n_vision;
    int verbose;
};

/* ---- metrics (thread-safe; metrics.c) ---------------------------------- */
struct kws_metrics;
struct kws_metrics *kws_metrics_new(void);
void kws_metrics_free(struct kws_metrics *m);
/* one finished HTTP request: endpoint path and status code */
void kws_metrics_request(struct kws_metrics *m, const char *path, int status);
void kws_metrics_tokens(struct kws_metrics *m, uint64_t prompt,
                        uint64_t generated);
void kws_metrics_ttft(struct kws_metrics *m, double seconds);
void kws_metrics_itl(struct kws_metrics *m, double seconds);

/* ---- generation requests ----------------------------------------------- */
struct kws_gen_params {
    int32_t *prompt; /* tokens, malloc'd; owned by the job after submit */
    size_t n_prompt;
    int max_tokens;  /* already clamped to ctx - n_prompt by the caller */
    float temperature, top_p, min_p;
    int32_t top_k;
    float presence_penalty, frequency_penalty, repeat_penalty;
    uint64_t seed;   /* 0xFFFFFFFF: from the clock */
    char **stop;     /* up to 4 strings, malloc'd, owned by the job */
    int n_stop;
    int logprobs;     /* 1: report the chosen token's logprob */
    int top_logprobs; /* 0..20 alternatives per token */
    int json_object;  /* 1: output constrained to one valid JSON object */
};

enum kws_event_kind {
    KWS_EV_TEXT,  /* text: the next piece of output (complete UTF-8) */
    KWS_EV_DONE,  /* finish_reason and usage are set; the last event */
    KWS_EV_ERROR, /* text: message; status: HTTP status; the last event */
};

#define KWS_MAX_TOP 20

struct kws_top {
    int32_t token;
    float logprob;
    char text[64]; /* the token's bytes, NUL-terminated (may be cut) */
};

struct kws_event {
    enum kws_event_kind kind;
    char *text;   /* malloc'd, NUL-terminated; the receiver frees it */
    size_t len;
    /* KWS_EV_TEXT with logprobs: one entry per token in this piece */
    int n_tokens;
    struct kws_top *chosen; /* n_tokens, malloc'd (receiver frees) */
    struct kws_top *top;    /* n_tokens * n_top, malloc'd (receiver frees) */
    int n_top;
    /* KWS_EV_DONE */
    const char *finish_reason; /* "stop", "length" (static strings) */
    int prompt_tokens, completion_tokens, cached_tokens;
    /* KWS_EV_ERROR */
    int status;
};
void kws_event_clear(struct kws_event *ev); /* frees text/chosen/top */

/* A job is shared by the scheduler and the HTTP connection that submitted
 * it; each side drops its reference with kws_job_release. */
struct kws_job;
/* Takes ownership of p's prompt and stop strings (even on failure). */
struct kws_job *kws_job_new(struct kws_gen_params *p);
void kws_job_release(struct kws_job *j);
/* Marks the job cancelled (client gone); the scheduler frees its slot at
 * the next step and sends no more events. */
void kws_job_cancel(struct kws_job *j);
/* Waits up to timeout_ms (< 0: without limit) for the next event: 1 = *ev
 * filled (the caller owns it, kws_event_clear), 0 = timeout. After
 * KWS_EV_DONE / ERROR there are no more events and it returns 0 at once.
 * A text event has n_tokens 0 unless logprobs were asked; kws_top.text is
 * valid UTF-8 and a logprob may be -inf. */
int kws_job_next(struct kws_job *j, struct kws_event *ev, int timeout_ms);

/* ---- the scheduler ----------------------------------------------------- */
struct kws_sched;

enum kws_submit {
    KWS_SUBMIT_OK,
    KWS_SUBMIT_QUEUE_FULL, /* answer 429 with Retry-After */
    KWS_SUBMIT_STOPPING,   /* shutting down: answer 503 */
};

struct kws_sched_stats {
    int slots, busy_slots, queued, queue_cap;
    uint64_t kv_used, kv_total; /* token positions in use / allocated */
};

/* Creates cfg->parallel slot sessions on m and a runner, and starts the
 * scheduler thread. m and metrics are borrowed. */
int kws_sched_new(struct kw_model *m, const struct kws_config *cfg,
                  struct kws_metrics *metrics, struct kws_sched **out,
                  char *err, size_t err_size);
/* The scheduler takes its own reference on j. */
enum kws_submit kws_sched_submit(struct kws_sched *s, struct kws_job *j);
void kws_sched_stats(struct kws_sched *s, struct kws_sched_stats *out);
/* Stops accepting (submit answers KWS_SUBMIT_STOPPING), then either lets
 * running and queued jobs finish (cancel_inflight 0) or ends them with a
 * KWS_EV_ERROR of status 503 (1), and joins the scheduler thread. Another
 * thread may call it again with cancel_inflight 1 while a first call
 * waits (a shutdown deadline). */
void kws_sched_stop(struct kws_sched *s, int cancel_inflight);
void kws_sched_free(struct kws_sched *s);

/* ---- JSON-constrained decoding (json_constraint.c) --------------------- */
/* An incremental checker of "this text is a prefix of one JSON object
 * (RFC 8259, top level an object)". */
struct kws_json_state {
    uint8_t stack[128]; /* nesting: '{' or '[' */
    int depth;
    int mode;           /* lexer state */
    int aux;            /* lexer sub-state (escape, \\u digits, number) */
    int done;           /* the top-level object is complete */
};
void kws_json_init(struct kws_json_state *st);
/* Feeds bytes; 0 if the text stops being a valid prefix (st unchanged
 * then), 1 otherwise. Whitespace after the object is accepted. */
int kws_json_feed(struct kws_json_state *st, const char *bytes, size_t n);

/* ---- the chat page: server/webui/index.html, embedded by CMake --------- */
extern const unsigned char kws_webui_html[];
extern const size_t kws_webui_html_len;

/* ---- the HTTP front end (http.c) --------------------------------------- */
struct kws_server;
int kws_server_start(const struct kws_config *cfg, struct kws_server **out,
                     char *err, size_t err_size);
/* Loads the model (and vision models) while /health says "loading". */
int kws_server_load(struct kws_server *srv, char *err, size_t err_size);
/* Stops accepting connections, lets the scheduler finish, closes. */
void kws_server_stop(struct kws_server *srv);

#endif
