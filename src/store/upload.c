/*
 * upload.c — the blob upload protocol shared by push and mirror: HEAD to
 * skip what the registry has, a cross-repository mount when the blob is
 * known in another repository of the same registry, else an upload session
 * (POST) fed by PATCH chunks and closed by PUT ?digest=.
 */
#include "store/registry_client.h"

static void blob_what(const char *digest, char *buf, size_t n) {
    snprintf(buf, n, "blob %s", digest);
}

/* Reads the next upload location from a 202/201 answer. */
static enum kw_status take_location(struct kw__client *c,
                                    const struct kw__resp *resp, char *loc,
                                    size_t loc_size, char *err,
                                    size_t err_size) {
    if (!resp->location[0])
        return kw__err(err, err_size, KW_STATUS_ERR_NETWORK,
                       "%s: the registry gave no upload location",
                       c->ref.host);
    snprintf(loc, loc_size, "%s", resp->location);
    return KW_STATUS_OK;
}

enum kw_status kw__upload_begin(struct kw__client *c, const char *digest,
                                const char *mount_from,
                                enum kw_blob_action *action, char *loc,
                                size_t loc_size, char *err, size_t err_size) {
    char url[900], what[120];
    struct kw__resp resp;
    struct kw__sink sink = {.fd = -1, .mem_max = 1 << 16};
    blob_what(digest, what, sizeof what);
    snprintf(url, sizeof url, "/v2/%s/blobs/%s", c->ref.repo, digest);
    enum kw_status st = kw__client_request(c, "HEAD", url, NULL, NULL, NULL,
                                           NULL, &resp, err, err_size);
    if (st) return st;
    if (resp.status == 200) {
        *action = KW_BLOB_PRESENT;
        return KW_STATUS_OK;
    }
    if (resp.status != 404) return kw__http_status_err(what, &resp, NULL, err, err_size);
    if (mount_from && *mount_from)
        snprintf(url, sizeof url, "/v2/%s/blobs/uploads/?mount=%s&from=%s",
                 c->ref.repo, digest, mount_from);
    else
        snprintf(url, sizeof url, "/v2/%s/blobs/uploads/", c->ref.repo);
    st = kw__client_request(c, "POST", url, NULL, NULL, &sink, NULL, &resp,
                            err, err_size);
    if (!st && resp.status == 201 && mount_from && *mount_from) {
        *action = KW_BLOB_MOUNTED;
    } else if (!st && resp.status == 202) {
        *action = KW_BLOB_TRANSFERRED;
        st = take_location(c, &resp, loc, loc_size, err, err_size);
    } else if (!st) {
        st = kw__http_status_err(what, &resp, sink.mem, err, err_size);
    }
    free(sink.mem);
    return st;
}

enum kw_status kw__upload_chunk(struct kw__client *c, char *loc,
                                size_t loc_size, const struct kw__body *body,
                                uint64_t start, const char *digest, char *err,
                                size_t err_size) {
    char range[96], len[64], what[120];
    snprintf(range, sizeof range, "Content-Range: %llu-%llu",
             (unsigned long long)start,
             (unsigned long long)(start + body->len - 1));
    snprintf(len, sizeof len, "Content-Length: %llu",
             (unsigned long long)body->len);
    const char *hdr[] = {"Content-Type: application/octet-stream", range, len,
                         NULL};
    struct kw__resp resp;
    struct kw__sink sink = {.fd = -1, .mem_max = 1 << 16};
    enum kw_status st = kw__client_request(c, "PATCH", loc, hdr, body, &sink,
                                           NULL, &resp, err, err_size);
    if (!st && resp.status != 202) {
        blob_what(digest, what, sizeof what);
        st = kw__http_status_err(what, &resp, sink.mem, err, err_size);
    }
    if (!st) st = take_location(c, &resp, loc, loc_size, err, err_size);
    free(sink.mem);
    return st;
}

enum kw_status kw__upload_finish(struct kw__client *c, const char *loc,
                                 const char *digest,
                                 const struct kw__body *body, char *err,
                                 size_t err_size) {
    char url[2300], what[120];
    /* ':' of the digest percent-encoded, as a query value */
    snprintf(url, sizeof url, "%s%cdigest=sha256%%3A%s", loc,
             strchr(loc, '?') ? '&' : '?', digest + 7);
    struct kw__body empty = {.fd = -1};
    const char *hdr[] = {"Content-Type: application/octet-stream", NULL};
    struct kw__resp resp;
    struct kw__sink sink = {.fd = -1, .mem_max = 1 << 16};
    enum kw_status st = kw__client_request(c, "PUT", url, hdr,
                                           body ? body : &empty, &sink, NULL,
                                           &resp, err, err_size);
    if (!st && resp.status != 201 && resp.status != 204) {
        blob_what(digest, what, sizeof what);
        st = kw__http_status_err(what, &resp, sink.mem, err, err_size);
        if (strstr(sink.mem ? sink.mem : "", "DIGEST_INVALID"))
            st = kw__err(err, err_size, KW_STATUS_ERR_DIGEST,
                         "blob %s: the registry computed a different digest "
                         "for the uploaded bytes",
                         digest);
    }
    free(sink.mem);
    return st;
}

void kw__upload_cancel(struct kw__client *c, const char *loc) {
    struct kw__resp resp;
    kw__client_request(c, "DELETE", loc, NULL, NULL, NULL, NULL, &resp, NULL,
                       0);
}

enum kw_status kw__put_manifest(struct kw__client *c, const char *reference,
                                const char *media_type, const char *data,
                                size_t n, char *err, size_t err_size) {
    char url[700], ct[200], what[400];
    snprintf(url, sizeof url, "/v2/%s/manifests/%s", c->ref.repo, reference);
    snprintf(ct, sizeof ct, "Content-Type: %s", media_type);
    const char *hdr[] = {ct, NULL};
    struct kw__body body = {.mem = data, .fd = -1, .len = n};
    struct kw__resp resp;
    struct kw__sink sink = {.fd = -1, .mem_max = 1 << 16};
    enum kw_status st = kw__client_request(c, "PUT", url, hdr, &body, &sink,
                                           NULL, &resp, err, err_size);
    if (!st && resp.status != 201) {
        snprintf(what, sizeof what, "manifest %s/%s:%s", c->ref.host,
                 c->ref.repo, reference);
        st = kw__http_status_err(what, &resp, sink.mem, err, err_size);
    }
    free(sink.mem);
    return st;
}
