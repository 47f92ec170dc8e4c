/*
 * metrics.c — the counters and histograms behind GET /metrics: requests
 * by path and status, prompt and generated tokens, time to first token and
 * inter-token latency (buckets from 1 ms to 10 s), rendered with the
 * scheduler's gauges in the Prometheus text format 0.0.4.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* upper bounds in seconds; +Inf is implicit */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1.0,  2.5,   5.0,
                                 10.0};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])
#define MAX_SERIES 64 /* distinct (path, status) pairs kept */

struct hist {
    uint64_t count[N_BUCKETS + 1]; /* per bucket, not cumulative */
    uint64_t n;
    double sum;
};

struct series {
    char path[48];
    int status;
    uint64_t n;
};

struct kws_metrics {
    pthread_mutex_t mu;
    struct series req[MAX_SERIES];
    int n_req;
    uint64_t prompt_tokens, generated_tokens;
    struct hist ttft, itl;
};

struct kws_metrics *kws_metrics_new(void) {
    struct kws_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void kws_metrics_free(struct kws_metrics *m) {
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void kws_metrics_request(struct kws_metrics *m, const char *path,
                         int status) {
    if (!m)
        return;
    if (!path)
        path = "other";
    pthread_mutex_lock(&m->mu);
    int i;
    for (i = 0; i < m->n_req; i++)
        if (m->req[i].status == status && !strcmp(m->req[i].path, path))
            break;
    if (i == m->n_req) {
        if (m->n_req < MAX_SERIES) {
            snprintf(m->req[i].path, sizeof m->req[i].path, "%s", path);
            m->req[i].status = status;
            m->n_req++;
        } else {
            i = -1; /* a label set this large is a bug, not data */
        }
    }
    if (i >= 0)
        m->req[i].n++;
    pthread_mutex_unlock(&m->mu);
}

void kws_metrics_tokens(struct kws_metrics *m, uint64_t prompt,
                        uint64_t generated) {
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt;
    m->generated_tokens += generated;
    pthread_mutex_unlock(&m->mu);
}

static void observe(struct kws_metrics *m, struct hist *h, double s) {
    if (!(s >= 0)) /* NaN or negative: a clock hiccup */
        s = 0;
    size_t b = 0;
    while (b < N_BUCKETS && s > buckets[b])
        b++;
    pthread_mutex_lock(&m->mu);
    h->count[b]++;
    h->n++;
    h->sum += s;
    pthread_mutex_unlock(&m->mu);
}

void kws_metrics_ttft(struct kws_metrics *m, double seconds) {
    if (m)
        observe(m, &m->ttft, seconds);
}

void kws_metrics_itl(struct kws_metrics *m, double seconds) {
    if (m)
        observe(m, &m->itl, seconds);
}

/* ---- rendering --------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(struct buf *b, const char *fmt, ...) {
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void head(struct buf *b, const char *name, const char *type,
                 const char *help) {
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void hist(struct buf *b, const char *name, const char *help,
                 const struct hist *h) {
    head(b, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cum += h->count[i];
        put(b, "%s_bucket{le=\"%g\"} %llu\n", name, buckets[i],
            (unsigned long long)cum);
    }
    put(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->n);
    put(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
        (unsigned long long)h->n);
}

char *kws_metrics_render(struct kws_metrics *m,
                         const struct kws_sched_stats *st, int have_stats,
                         size_t *len) {
    struct buf b = {malloc(4096), 0, 4096, 0};
    if (!b.p)
        return NULL;
    b.p[0] = 0;
    pthread_mutex_lock(&m->mu);
    head(&b, "kaiwu_requests_total", "counter",
         "HTTP requests answered, by path and status code.");
    for (int i = 0; i < m->n_req; i++)
        put(&b, "kaiwu_requests_total{path=\"%s\",status=\"%d\"} %llu\n",
            m->req[i].path, m->req[i].status,
            (unsigned long long)m->req[i].n);
    head(&b, "kaiwu_prompt_tokens_total", "counter",
         "Prompt tokens of finished generations.");
    put(&b, "kaiwu_prompt_tokens_total %llu\n",
        (unsigned long long)m->prompt_tokens);
    head(&b, "kaiwu_generated_tokens_total", "counter",
         "Tokens generated.");
    put(&b, "kaiwu_generated_tokens_total %llu\n",
        (unsigned long long)m->generated_tokens);
    hist(&b, "kaiwu_time_to_first_token_seconds",
         "Seconds from a request's submission to its first token.", &m->ttft);
    hist(&b, "kaiwu_inter_token_latency_seconds",
         "Seconds between consecutive tokens of one request.", &m->itl);
    pthread_mutex_unlock(&m->mu);

    struct kws_sched_stats z;
    if (!have_stats) {
        memset(&z, 0, sizeof z);
        st = &z;
    }
    head(&b, "kaiwu_queue_depth", "gauge",
         "Requests waiting for a free slot.");
    put(&b, "kaiwu_queue_depth %d\n", st->queued);
    head(&b, "kaiwu_slots_busy", "gauge", "Slots generating or prefilling.");
    put(&b, "kaiwu_slots_busy %d\n", st->busy_slots);
    head(&b, "kaiwu_slots_total", "gauge", "Slots (--parallel).");
    put(&b, "kaiwu_slots_total %d\n", st->slots);
    head(&b, "kaiwu_kv_cache_usage_ratio", "gauge",
         "KV-cache positions in use over those allocated (0..1).");
    put(&b, "kaiwu_kv_cache_usage_ratio %.6f\n",
        st->kv_total ? (double)st->kv_used / (double)st->kv_total : 0.0);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
