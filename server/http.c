/*
 * http.c — the HTTP front end of `kaiwu serve` on libmicrohttpd: daemon
 * start (kws_server_start), model load (kws_server_load) and graceful stop
 * (kws_server_stop); the access handler that collects the body under the
 * cap (413), refuses NUL bytes in the target, routes (404 / 405),
 * checks the bearer key and answers CORS preflights; per-request metrics.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KWS_STOP_WAIT_S 30

/* ---- routing ----------------------------------------------------------- */

enum route_id { R_ROOT, R_HEALTH, R_MODELS, R_MODEL, R_METRICS, R_CHAT,
                R_COMPLETIONS, R_CLASSIFY, R_NONE };

static const struct route {
    const char *path;
    int post;  /* else GET (and HEAD) */
    int auth;  /* needs the bearer key when one is set */
} routes[] = {
    [R_ROOT] = {"/", 0, 0},
    [R_HEALTH] = {"/health", 0, 0},
    [R_MODELS] = {"/v1/models", 0, 1},
    [R_MODEL] = {"/v1/models/", 0, 1},
    [R_METRICS] = {"/metrics", 0, 1},
    [R_CHAT] = {"/v1/chat/completions", 1, 1},
    [R_COMPLETIONS] = {"/v1/completions", 1, 1},
    [R_CLASSIFY] = {"/v1/images/classify", 1, 1},
};

static enum route_id find_route(const struct kws_server *srv,
                                const char *url) {
    for (int i = 0; i < R_NONE; i++) {
        if (i == R_CLASSIFY && srv->cfg.n_vision <= 0)
            continue;
        if (i == R_MODEL) {
            size_t n = strlen(routes[i].path);
            if (!strncmp(url, routes[i].path, n) && url[n])
                return R_MODEL;
        } else if (!strcmp(url, routes[i].path)) {
            return (enum route_id)i;
        }
    }
    return R_NONE;
}

/* Constant time in the key's length whatever the header holds. */
static int auth_ok(const struct kws_server *srv, struct MHD_Connection *c) {
    const char *key = srv->cfg.api_key;
    if (!key)
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    const char *got = h + 7;
    while (*got == ' ')
        got++;
    size_t n = strlen(key), m = strlen(got);
    volatile unsigned diff = (unsigned)(n != m);
    for (size_t i = 0; i < n; i++) {
        unsigned char g = m ? (unsigned char)got[i % m] : 0;
        diff |= (unsigned)((unsigned char)key[i] ^ g);
    }
    return diff == 0;
}

static enum MHD_Result preflight(struct kws_req *r) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                            "GET, POST, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    return kws_queue(r, 204, resp, NULL);
}

static enum MHD_Result dispatch(struct kws_req *r, const char *url,
                                const char *method) {
    struct kws_server *srv = r->srv;
    enum route_id id = find_route(srv, url);
    if (id == R_NONE)
        return kws_reply_error(r, 404, NULL, NULL, NULL,
                               "unknown path (see /v1/models, "
                               "/v1/chat/completions, /v1/completions)");
    const struct route *rt = &routes[id];
    if (!strcmp(method, "OPTIONS") && srv->cfg.cors_origin)
        return preflight(r);
    int ok = rt->post ? !strcmp(method, "POST")
                      : (!strcmp(method, "GET") || !strcmp(method, "HEAD"));
    if (!ok) {
        r->allow = rt->post ? "POST" : "GET, HEAD";
        if (srv->cfg.cors_origin)
            r->allow = rt->post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
        return kws_reply_error(r, 405, NULL, NULL, NULL,
                               "method %.16s not allowed on %s", method,
                               rt->path);
    }
    if (rt->auth && !auth_ok(srv, r->conn))
        return kws_reply_error(r, 401, NULL, NULL, "invalid_api_key",
                               "invalid or missing API key (send "
                               "'Authorization: Bearer KEY')");
    switch (id) {
    case R_ROOT: return kws_webui(r);
    case R_HEALTH: return kws_api_health(r);
    case R_MODELS: return kws_api_models(r, NULL);
    case R_MODEL: return kws_api_models(r, url + strlen(rt->path));
    case R_METRICS: return kws_api_metrics(r);
    case R_CHAT: return kws_api_generate(r, 1);
    case R_COMPLETIONS: return kws_api_generate(r, 0);
    case R_CLASSIFY: return kws_api_classify(r);
    case R_NONE: break;
    }
    return MHD_NO;
}

static const char *route_label(const struct kws_server *srv,
                               const char *url) {
    enum route_id id = find_route(srv, url);
    if (id == R_NONE)
        return "other";
    return id == R_MODEL ? "/v1/models/:id" : routes[id].path;
}

/* Appends an upload piece, or drops it once the body is over the cap (a
 * chunked upload has no length to refuse up front). 0: close at once. */
static int take_upload(struct kws_req *r, const char *data, size_t n) {
    size_t max = r->srv->cfg.body_max;
    if (!r->too_big && (n > max || r->len > max - n)) {
        r->too_big = 1;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
    }
    if (r->too_big) {
        r->dropped += n;
        return r->dropped <= (size_t)64 << 20;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = 0;
    return 1;
}

static enum MHD_Result too_big(struct kws_req *r) {
    return kws_reply_error(r, 413, NULL, NULL, NULL,
                           "the request body is over the limit of %zu bytes",
                           r->srv->cfg.body_max);
}

/* MHD's URI logger runs before the target is unescaped: remember how long
 * it is up to its first NUL, so a NUL inside the request target (which C
 * strings would silently cut) can be refused. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    struct kws_req *r = calloc(1, sizeof *r);
    if (r) {
        r->srv = cls;
        r->conn = c;
        r->raw_uri = uri;
        r->raw_uri_len = strlen(uri);
        /* an escaped NUL ends the path the same way once unescaped (in
         * place, before the access handler runs) */
        for (size_t i = 0; i + 2 < r->raw_uri_len && uri[i] != '?'; i++)
            if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
                r->bad_target = 1;
    }
    return r;
}

/* The request line is "METHOD SP target SP version" in one buffer, so the
 * version string starts one byte after the target's end. */
static int target_has_nul(const struct kws_req *r, const char *version) {
    if (!r->raw_uri)
        return 0;
    if (r->bad_target)
        return 1;
    if (!version || version <= r->raw_uri ||
        (size_t)(version - r->raw_uri) > ((size_t)1 << 20))
        return 0;
    return (size_t)(version - 1 - r->raw_uri) != r->raw_uri_len;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_size, void **ptr) {
    struct kws_server *srv = cls;
    struct kws_req *r = *ptr;
    if (!r || !r->route) {
        if (!r && !(r = calloc(1, sizeof *r)))
            return MHD_NO;
        r->srv = srv;
        r->conn = c;
        r->route = route_label(srv, url);
        *ptr = r;
        if (srv->cfg.verbose) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            r->t0 = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
            snprintf(r->method, sizeof r->method, "%s", method);
            snprintf(r->path, sizeof r->path, "%s", url);
            for (char *q = r->path; *q; q++) /* keep the log one line */
                if ((unsigned char)*q < 0x20 || *q == 0x7f)
                    *q = '?';
        }
        if (target_has_nul(r, version)) {
            r->route = "other";
            return kws_reply_error(r, 400, NULL, NULL, NULL,
                                   "malformed request target");
        }
        const char *cl = MHD_lookup_connection_value(
            c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno == ERANGE || n > srv->cfg.body_max) {
                r->too_big = 1;
                return too_big(r);
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->status)
            return MHD_YES;
        return take_upload(r, upload_data, n) ? MHD_YES : MHD_NO;
    }
    if (r->status)
        return MHD_YES; /* answered already (413 up front) */
    if (r->too_big)
        return too_big(r);
    return dispatch(r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ptr,
                         enum MHD_RequestTerminationCode toe) {
    struct kws_server *srv = cls;
    struct kws_req *r = *ptr;
    (void)c;
    if (!r)
        return;
    /* 499 (client closed) when nothing was answered */
    if (r->route) {
        int status = r->status ? r->status : 499;
        kws_metrics_request(srv->metrics, r->route, status);
        if (srv->cfg.verbose) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            double t = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
            fprintf(stderr, "kaiwu: %s %s %d %.1f ms%s\n", r->method, r->path,
                    status, (t - r->t0) * 1e3,
                    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
                        ? "" : " (connection ended early)");
        }
    }
    free(r->body);
    free(r);
    *ptr = NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static void model_id_from_path(const char *path, char *buf, size_t size) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcasecmp(base + n - 5, ".gguf"))
        n -= 5;
    if (n >= size)
        n = size - 1;
    memcpy(buf, base, n);
    buf[n] = 0;
}

int kws_server_start(const struct kws_config *cfg, struct kws_server **out,
                     char *err, size_t err_size) {
    *out = NULL;
    struct kws_server *srv = calloc(1, sizeof *srv);
    if (!srv || !(srv->metrics = kws_metrics_new())) {
        free(srv);
        snprintf(err, err_size, "out of memory");
        return 1;
    }
    srv->cfg = *cfg;
    pthread_mutex_init(&srv->live_mu, NULL);
    srv->created = (int64_t)time(NULL);
    atomic_store(&srv->next_id, (uint_fast64_t)time(NULL) << 20);
    if (cfg->alias)
        snprintf(srv->model_id, sizeof srv->model_id, "%s", cfg->alias);
    else
        model_id_from_path(cfg->model_path, srv->model_id,
                           sizeof srv->model_id);

    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", cfg->port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(cfg->host, port_s, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, err_size, "cannot resolve host '%s': %s", cfg->host,
                 gai_strerror(gai));
        kws_server_stop(srv);
        return 1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ITC;
    if (cfg->verbose)
        flags |= MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_END);
    int family = ai->ai_family;
    freeaddrinfo(ai);
    if (!srv->daemon) {
        snprintf(err, err_size, "cannot listen on %s:%d (%s)", cfg->host,
                 cfg->port, errno ? strerror(errno) : "in use?");
        kws_server_stop(srv);
        return 1;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    int port = di && di->port ? di->port : cfg->port;
    srv->cfg.port = port;
    fprintf(stderr, "kaiwu: listening on http://%s%s%s:%d\n",
            family == AF_INET6 ? "[" : "", cfg->host,
            family == AF_INET6 ? "]" : "", port);
    *out = srv;
    return 0;
}

int kws_server_load(struct kws_server *srv, char *err, size_t err_size) {
    enum kw_status st =
        kw_model_load(srv->cfg.model_path, NULL, &srv->model, err, err_size);
    if (st != KW_STATUS_OK) {
        if (!err[0])
            snprintf(err, err_size, "%s: %s", srv->cfg.model_path,
                     kw_status_str(st));
        return 1;
    }
    if (kws_sched_new(srv->model, &srv->cfg, srv->metrics, &srv->sched, err,
                      err_size)) {
        if (!err[0])
            snprintf(err, err_size, "cannot start the scheduler");
        return 1;
    }
    struct kws_sched_stats s;
    memset(&s, 0, sizeof s);
    kws_sched_stats(srv->sched, &s);
    uint32_t n_ctx = srv->cfg.ctx ? srv->cfg.ctx : 4096;
    uint32_t train = kw_model_n_ctx_train(srv->model);
    if (train && n_ctx > train)
        n_ctx = train;
    if (s.slots > 0 && s.kv_total > 0)
        n_ctx = (uint32_t)(s.kv_total / (uint64_t)s.slots);
    srv->n_ctx = n_ctx;
    if (kws_vision_load(srv, err, err_size))
        return 1;
    atomic_store(&srv->ready, 1);
    if (srv->cfg.verbose)
        fprintf(stderr, "kaiwu: model %s ready (%s), %d slots of %u tokens\n",
                srv->model_id, kw_model_desc(srv->model), srv->cfg.parallel,
                srv->n_ctx);
    return 0;
}

struct stop_wait {
    struct kws_sched *sched;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void *stop_thread(void *arg) {
    struct stop_wait *w = arg;
    kws_sched_stop(w->sched, 0);
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Lets in-flight generations finish for up to KWS_STOP_WAIT_S, then
 * cancels what is left. */
static void stop_sched(struct kws_server *srv) {
    struct stop_wait w = {srv->sched, PTHREAD_MUTEX_INITIALIZER,
                          PTHREAD_COND_INITIALIZER, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, stop_thread, &w) != 0) {
        atomic_store(&srv->force_stop, 1);
        kws_sched_stop(srv->sched, 1);
        return;
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += KWS_STOP_WAIT_S;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        if (pthread_cond_timedwait(&w.cv, &w.mu, &dl) == ETIMEDOUT)
            break;
    int done = w.done;
    pthread_mutex_unlock(&w.mu);
    if (!done) {
        /* allowed while the first call waits: ends what is left with 503 */
        fprintf(stderr, "kaiwu: cancelling the generations still running\n");
        kws_sched_stop(srv->sched, 1);
    }
    pthread_join(t, NULL);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}

void kws_server_stop(struct kws_server *srv) {
    if (!srv)
        return;
    if (srv->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    if (srv->sched) {
        stop_sched(srv);
        /* let the streams write out what their jobs produced */
        for (int i = 0; i < 100; i++) {
            pthread_mutex_lock(&srv->live_mu);
            int busy = srv->live != NULL;
            pthread_mutex_unlock(&srv->live_mu);
            if (!busy)
                break;
            usleep(50 * 1000);
        }
    }
    /* joins every connection thread: none can touch the scheduler after */
    atomic_store(&srv->force_stop, 1);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    kws_sched_free(srv->sched);
    kws_vision_free(srv);
    kw_model_free(srv->model);
    kws_metrics_free(srv->metrics);
    pthread_mutex_destroy(&srv->live_mu);
    free(srv);
}
