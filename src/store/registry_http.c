/*
 * registry_http.c — HTTP requests to an OCI registry through libcurl: one
 * client per repository, a 401 answered once by the auth code, bodies from
 * memory or a file range, responses into a capped buffer or straight into a
 * file at an offset. Redirects (GET/HEAD only) stay on http(s) and curl
 * drops the credentials when they leave the registry's host.
 */
#include <errno.h>
#include <jansson.h>
#include <unistd.h>

#include "core/sha256.h"
#include "store/registry_client.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int kw__host_is_loopback(const char *host) {
    size_t n = strcspn(host, ":");
    return (n == 9 && !strncmp(host, "localhost", 9)) ||
           !strncmp(host, "127.", 4);
}

enum kw_status kw__client_new(const struct kw__ref *r,
                              const struct kw_registry_options *o,
                              const char *actions, struct kw__client **out,
                              char *err, size_t err_size) {
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    struct kw__client *c = calloc(1, sizeof *c);
    if (!c) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    c->ref = *r;
    if (o)
        c->o = *o;
    else
        kw_registry_options_init(&c->o);
    snprintf(c->base, sizeof c->base, "%s://%s",
             c->o.plain_http ? "http" : "https", r->host);
    snprintf(c->actions, sizeof c->actions, "%s", actions);
    c->have_creds = kw__auth_lookup(r->host, c->o.auth_file, c->user,
                                    sizeof c->user, c->pass, sizeof c->pass);
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return KW_STATUS_OK;
}

void kw__client_free(struct kw__client *c) {
    if (!c) return;
    free(c->token);
    memset(c->pass, 0, sizeof c->pass);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const char *kw__client_base(const struct kw__client *c) { return c->base; }

struct xfer {
    struct kw__sink *sink;
    struct kw__resp *resp;
    const struct kw__body *body;
    uint64_t body_pos;
    char errbody[2048]; /* start of a non-2xx body, for messages */
    size_t errbody_len;
    int overflow;       /* more bytes than the sink allows */
};

static void header_value(const char *line, size_t n, char *dst, size_t cap) {
    const char *v = memchr(line, ':', n);
    if (!v) return;
    v++;
    while (v < line + n && (*v == ' ' || *v == '\t')) v++;
    size_t len = (size_t)(line + n - v);
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n')) len--;
    if (len >= cap) len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *user) {
    struct xfer *x = user;
    size_t n = size * nitems;
    struct kw__resp *r = x->resp;
    if (n > 5 && !strncmp(line, "HTTP/", 5)) {
        /* a new response (after a redirect or 100): forget the last one */
        long status = 0;
        const char *sp = memchr(line, ' ', n);
        if (sp) status = strtol(sp + 1, NULL, 10);
        memset(r, 0, sizeof *r);
        r->status = status;
        x->errbody_len = 0;
        return n;
    }
#define HDR(name) (n > sizeof(name) && !strncasecmp(line, name, sizeof(name) - 1))
    if (HDR("location:"))
        header_value(line, n, r->location, sizeof r->location);
    else if (HDR("content-type:"))
        header_value(line, n, r->content_type, sizeof r->content_type);
    else if (HDR("docker-content-digest:"))
        header_value(line, n, r->docker_digest, sizeof r->docker_digest);
    else if (HDR("www-authenticate:"))
        header_value(line, n, r->www_auth, sizeof r->www_auth);
    else if (HDR("content-length:")) {
        char v[32];
        header_value(line, n, v, sizeof v);
        r->content_length = strtoull(v, NULL, 10);
        r->has_content_length = 1;
    }
#undef HDR
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    struct xfer *x = user;
    size_t n = size * nmemb;
    long st = x->resp->status;
    struct kw__sink *s = x->sink;
    if (st < 200 || st > 299 || !s) {
        size_t room = sizeof x->errbody - 1 - x->errbody_len;
        size_t k = n < room ? n : room;
        memcpy(x->errbody + x->errbody_len, data, k);
        x->errbody_len += k;
        x->errbody[x->errbody_len] = '\0';
        return n;
    }
    if (s->fd >= 0) {
        /* a 200 to a Range request is the whole blob: not for this spot */
        if (s->ranged && st != 206) {
            x->overflow = 1;
            return 0;
        }
        if (s->expect && s->written + n > s->expect) {
            x->overflow = 1;
            return 0;
        }
        size_t done = 0;
        while (done < n) {
            ssize_t w = pwrite(s->fd, data + done, n - done,
                               (off_t)(s->offset + s->written + done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return 0;
            done += (size_t)w;
        }
        s->written += n;
        if (s->on_write) s->on_write(s->user, n);
        return n;
    }
    if (s->mem_len + n > s->mem_max) {
        x->overflow = 1;
        return 0;
    }
    char *m = realloc(s->mem, s->mem_len + n + 1);
    if (!m) return 0;
    memcpy(m + s->mem_len, data, n);
    s->mem = m;
    s->mem_len += n;
    s->mem[s->mem_len] = '\0';
    s->written += n;
    if (s->on_write) s->on_write(s->user, n);
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *user) {
    struct xfer *x = user;
    const struct kw__body *b = x->body;
    uint64_t left = b->len - x->body_pos;
    size_t n = size * nitems;
    if (n > left) n = (size_t)left;
    if (!n) return 0;
    if (b->mem) {
        memcpy(buf, (const char *)b->mem + x->body_pos, n);
    } else {
        ssize_t r;
        do
            r = pread(b->fd, buf, n, (off_t)(b->offset + x->body_pos));
        while (r < 0 && errno == EINTR);
        if (r <= 0) return CURL_READFUNC_ABORT;
        n = (size_t)r;
    }
    x->body_pos += n;
    return n;
}

static void curl_common(struct kw__client *c, CURL *h, const char *url,
                        struct xfer *x) {
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* a stalled transfer fails instead of hanging forever */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 120L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kaiwu/" KW_VERSION_STRING);
    /* a big receive buffer is faster, but libcurl cannot pace it: keep the
     * default when a rate limit is asked for */
    if (!c->o.max_rate) curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    if (c->o.ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
}

enum kw_status kw__client_get_token_doc(struct kw__client *c, const char *url,
                                        struct kw__sink *sink, long *status,
                                        char *err, size_t err_size) {
    CURL *h = curl_easy_init();
    if (!h) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "curl init");
    struct kw__resp resp;
    struct xfer x = {.sink = sink, .resp = &resp};
    memset(&resp, 0, sizeof resp);
    curl_common(c, h, url, &x);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    if (c->have_creds) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->pass);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    *status = resp.status;
    if (rc != CURLE_OK)
        return kw__err(err, err_size, KW_STATUS_ERR_NETWORK,
                       "%s: token request failed: %s", c->ref.host,
                       curl_easy_strerror(rc));
    return KW_STATUS_OK;
}

static int starts_with_base(const struct kw__client *c, const char *url) {
    size_t n = strlen(c->base);
    return !strncmp(url, c->base, n) && (url[n] == '/' || url[n] == '\0');
}

enum kw_status kw__client_request(struct kw__client *c, const char *method,
                                  const char *url, const char *const *headers,
                                  const struct kw__body *body,
                                  struct kw__sink *sink, const char *range,
                                  struct kw__resp *resp, char *err,
                                  size_t err_size) {
    char full[4096];
    if (!strncmp(url, "/v2/", 4) || !strcmp(url, "/v2/"))
        snprintf(full, sizeof full, "%s%s", c->base, url);
    else if (url[0] == '/')
        snprintf(full, sizeof full, "%s%s", c->base, url);
    else if (starts_with_base(c, url))
        snprintf(full, sizeof full, "%s", url);
    else
        return kw__err(err, err_size, KW_STATUS_ERR_NETWORK,
                       "%s: the registry sent a location on another host or "
                       "scheme (%.200s)",
                       c->ref.host, url);
    int is_get = !strcmp(method, "GET"), is_head = !strcmp(method, "HEAD");
    uint64_t sink_start = sink ? sink->written : 0;
    for (int attempt = 0;; attempt++) {
        CURL *h = curl_easy_init();
        if (!h) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "curl init");
        struct xfer x = {.sink = sink, .resp = resp, .body = body};
        memset(resp, 0, sizeof *resp);
        if (sink) {
            sink->written = sink_start;
            if (sink->fd < 0) sink->mem_len = 0;
        }
        curl_common(c, h, full, &x);
        if (is_get || is_head) curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        if (is_head) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        uint64_t blen = body ? body->len : 0;
        if (!strcmp(method, "POST")) {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
            if (blen) {
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(h, CURLOPT_READDATA, &x);
            } else {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
            }
        } else if (!strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)blen);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &x);
            if (method[1] == 'A') curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH");
        } else if (!is_get && !is_head) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
        if (c->o.max_rate && is_get)
            curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE,
                             (curl_off_t)c->o.max_rate);
        struct curl_slist *hl = NULL;
        hl = curl_slist_append(hl, "Expect:");
        for (int i = 0; headers && headers[i]; i++)
            hl = curl_slist_append(hl, headers[i]);
        if (range) {
            char rh[96];
            snprintf(rh, sizeof rh, "Range: bytes=%s", range);
            hl = curl_slist_append(hl, rh);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        pthread_mutex_lock(&c->mu);
        int had_auth = c->token || c->basic;
        if (c->token) {
            curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
            curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->token);
        } else if (c->basic) {
            curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
            curl_easy_setopt(h, CURLOPT_PASSWORD, c->pass);
        }
        pthread_mutex_unlock(&c->mu);
        CURLcode rc = curl_easy_perform(h);
        curl_slist_free_all(hl);
        curl_easy_cleanup(h);
        if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x.overflow)) {
            return kw__err(err, err_size, KW_STATUS_ERR_NETWORK,
                           "%s %s: %s", method, full, curl_easy_strerror(rc));
        }
        if (x.overflow)
            return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                           "%s %s: the registry sent more bytes than expected",
                           method, full);
        if (resp->status == 401 && attempt == 0 && resp->www_auth[0]) {
            pthread_mutex_lock(&c->mu);
            enum kw_status st = kw__client_answer_challenge(
                c, resp->www_auth, had_auth, err, err_size);
            pthread_mutex_unlock(&c->mu);
            if (st) return st;
            continue;
        }
        if (resp->status == 401 && strstr(resp->www_auth, "insufficient_scope"))
            return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                           "%s: access denied: the token service did not "
                           "grant %s on %s",
                           c->ref.host, c->actions, c->ref.repo);
        if (resp->status == 401 && x.errbody_len) {
            char msg[300];
            kw__registry_error_text(x.errbody, msg, sizeof msg);
            return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                           "%s: authentication failed: registry answered 401 "
                           "(%s)",
                           c->ref.host, msg);
        }
        if ((resp->status < 200 || resp->status > 299) && sink && sink->fd < 0 &&
            x.errbody_len) {
            /* hand the error document to the caller for its message */
            free(sink->mem);
            sink->mem = malloc(x.errbody_len + 1);
            if (sink->mem) {
                memcpy(sink->mem, x.errbody, x.errbody_len + 1);
                sink->mem_len = x.errbody_len;
            } else {
                sink->mem_len = 0;
            }
        }
        return KW_STATUS_OK;
    }
}

void kw__registry_error_text(const char *body, char *buf, size_t n) {
    buf[0] = '\0';
    if (!body || !*body) return;
    json_t *root = json_loads(body, 0, NULL);
    json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
    const char *code = json_string_value(json_object_get(e0, "code"));
    const char *msg = json_string_value(json_object_get(e0, "message"));
    if (code || msg)
        snprintf(buf, n, "%s%s%s", code ? code : "", code && msg ? ": " : "",
                 msg ? msg : "");
    json_decref(root);
    /* never echo arbitrary bytes: keep printable ASCII */
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) *p = '?';
}

enum kw_status kw__http_status_err(const char *what,
                                   const struct kw__resp *resp,
                                   const char *body, char *err,
                                   size_t err_size) {
    char msg[300];
    kw__registry_error_text(body, msg, sizeof msg);
    const char *sep = msg[0] ? ": " : "";
    switch (resp->status) {
    case 401:
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: authentication failed: registry answered 401%s%s",
                       what, sep, msg);
    case 403:
        return kw__err(err, err_size, KW_STATUS_ERR_AUTH,
                       "%s: access denied: registry answered 403%s%s", what,
                       sep, msg);
    case 404:
        return kw__err(err, err_size, KW_STATUS_ERR_NOT_FOUND,
                       "%s: not found in the registry (404)%s%s", what, sep,
                       msg);
    default:
        return kw__err(err, err_size, KW_STATUS_ERR_NETWORK,
                       "%s: registry answered %ld%s%s", what, resp->status,
                       sep, msg);
    }
}

enum kw_status kw__fetch_manifest(struct kw__client *c,
                                  const struct kw__ref *r, char **data,
                                  size_t *n, char digest[72],
                                  char *media_type, size_t mt_size, char *err,
                                  size_t err_size) {
    *data = NULL;
    char url[700], name[600];
    kw__ref_name(r, name, sizeof name);
    snprintf(url, sizeof url, "/v2/%s/manifests/%s", r->repo,
             kw__ref_reference(r));
    static const char *const hdr[] = {
        "Accept: " KW_MT_OCI_MANIFEST ", " KW_MT_DOCKER_MANIFEST
        ", " KW_MT_OCI_INDEX ", " KW_MT_DOCKER_LIST,
        NULL};
    struct kw__sink sink = {.fd = -1, .mem_max = KW_MANIFEST_MAX};
    struct kw__resp resp;
    enum kw_status st = kw__client_request(c, "GET", url, hdr, NULL, &sink,
                                           NULL, &resp, err, err_size);
    if (st == KW_STATUS_ERR_FORMAT) {
        free(sink.mem);
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: manifest larger than %u bytes", name,
                       KW_MANIFEST_MAX);
    }
    if (st) {
        free(sink.mem);
        return st;
    }
    if (resp.status != 200) {
        char what[700];
        snprintf(what, sizeof what, "manifest %s", name);
        st = kw__http_status_err(what, &resp, sink.mem, err, err_size);
        free(sink.mem);
        return st;
    }
    if (!sink.mem) {
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: empty manifest", name);
    }
    memcpy(digest, "sha256:", 7);
    kw__sha256_buf(sink.mem, sink.mem_len, digest + 7);
    if (r->digest[0] && strcmp(digest, r->digest)) {
        free(sink.mem);
        return kw__err(err, err_size, KW_STATUS_ERR_DIGEST,
                       "%s: digest mismatch: the manifest the registry sent "
                       "hashes to %s",
                       name, digest);
    }
    if (media_type) snprintf(media_type, mt_size, "%s", resp.content_type);
    *data = sink.mem;
    *n = sink.mem_len;
    return KW_STATUS_OK;
}

void kw__report_blob(struct kw_transfer_report *r, const char *digest,
                     uint64_t size, enum kw_blob_action a) {
    if (!r) return;
    int i = r->n_blobs++;
    if (i >= (int)(sizeof r->blobs / sizeof r->blobs[0])) return;
    snprintf(r->blobs[i].digest, sizeof r->blobs[i].digest, "%s", digest);
    r->blobs[i].size = size;
    r->blobs[i].action = a;
    r->bytes_total += size;
}

enum kw_status kw__transfer_setup(const char *ref, struct kw__ref *r,
                                  const struct kw_registry_options *in,
                                  struct kw_registry_options *o,
                                  struct kw_transfer_report *rep, char *err,
                                  size_t err_size) {
    if (!ref)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "NULL reference");
    if (in)
        *o = *in;
    else
        kw_registry_options_init(o);
    if (rep) memset(rep, 0, sizeof *rep);
    if (o->connections < 1 || o->connections > 16)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "connections must be 1..16, not %d", o->connections);
    if (o->chunk_size < (1u << 20))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "chunk size must be at least 1 MiB");
    return kw__ref_parse(ref, r, err, err_size);
}

void kw__blob_done(struct kw_store *s, struct kw_transfer_report *rep,
                   const char *digest, uint64_t size, enum kw_blob_action a,
                   const struct kw__ref *where) {
    kw__report_blob(rep, digest, size, a);
    kw__store_note_location(s, digest, where->host, where->repo);
}

void kw__progress(const struct kw_registry_options *o, const char *digest,
                  const char *title, uint64_t done, uint64_t total,
                  int finished) {
    if (!o->progress) return;
    struct kw_transfer_progress p = {digest, title, done, total, finished};
    o->progress(&p, o->progress_user);
}

void kw_registry_options_init(struct kw_registry_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->connections = 4;
    o->chunk_size = 16u << 20;
}
