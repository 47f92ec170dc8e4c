/*
 * store_internal.h — what the model-store files share: parsed references,
 * store paths and atomic writes, OCI manifests, and the HTTP client that
 * talks to registries (registry_http.c) with its auth (registry_auth.c).
 */
#ifndef KW_STORE_INTERNAL_H
#define KW_STORE_INTERNAL_H

#include <limits.h>
#include <stdint.h>

#include "core/internal.h"
#include "kaiwu/store.h"

#define KW_DIGEST_LEN 71 /* "sha256:" + 64 hex */
#define KW_MANIFEST_MAX (4u << 20)
#define KW_MAX_LAYERS 64

/* ---- references (ref.c) ---- */
struct kw__ref {
    char host[256];  /* "127.0.0.1:5000", "registry.example" */
    char repo[256];  /* "models/smollm2" */
    char tag[129];   /* "" when only a digest was given */
    char digest[72]; /* "" or "sha256:HEX" */
};
/* Parses and validates; the host falls back to $KAIWU_REGISTRY. */
KW_HIDDEN enum kw_status kw__ref_parse(const char *text, struct kw__ref *r,
                                       char *err, size_t err_size);
/* "HOST/REPO:TAG" or, without a tag, "HOST/REPO@DIGEST". */
KW_HIDDEN void kw__ref_name(const struct kw__ref *r, char *buf, size_t n);
/* The tag, or the digest when there is no tag: what /manifests/ takes. */
KW_HIDDEN const char *kw__ref_reference(const struct kw__ref *r);
/* 1 for "sha256:" followed by 64 lowercase hex digits. */
KW_HIDDEN int kw__digest_valid(const char *d);

/* ---- store (store.c) ---- */
struct kw_store {
    char home[PATH_MAX];
    int lock_fd; /* flock: pulls shared, removals exclusive */
};
/* buf = home/blobs/sha256/HEX; 0 when it does not fit. */
KW_HIDDEN int kw__store_blob_path(const struct kw_store *s, const char *digest,
                                  char *buf, size_t n);
KW_HIDDEN int kw__store_has_blob(const struct kw_store *s, const char *digest,
                                 uint64_t size);
/* home/tmp/NAME */
KW_HIDDEN int kw__store_tmp_path(const struct kw_store *s, const char *name,
                                 char *buf, size_t n);
/* Verifies sha256(data) == digest, then writes the blob atomically. */
KW_HIDDEN enum kw_status kw__store_put_blob(struct kw_store *s,
                                            const char *digest,
                                            const void *data, size_t n,
                                            char *err, size_t err_size);
/* Moves a verified temporary file into blobs/ (fsync, rename). */
KW_HIDDEN enum kw_status kw__store_commit_blob(struct kw_store *s,
                                               const char *tmp_path,
                                               const char *digest, char *err,
                                               size_t err_size);
/* Reads a whole blob of at most max bytes; *data is malloc'd. */
KW_HIDDEN enum kw_status kw__store_read_blob(struct kw_store *s,
                                             const char *digest, size_t max,
                                             char **data, size_t *n,
                                             char *err, size_t err_size);
/* Points the name of r at the manifest digest (atomic). */
KW_HIDDEN enum kw_status kw__store_set_name(struct kw_store *s,
                                            const struct kw__ref *r,
                                            const char *manifest_digest,
                                            char *err, size_t err_size);
/* Remembers that the blob exists in HOST/REPO, and finds another repository
 * of host that has it (for cross-repository mounts); 1 when found. */
KW_HIDDEN void kw__store_note_location(struct kw_store *s, const char *digest,
                                       const char *host, const char *repo);
KW_HIDDEN int kw__store_find_location(struct kw_store *s, const char *digest,
                                      const char *host, const char *not_repo,
                                      char *repo, size_t n);
/* Shared (pull) or exclusive (remove) lock on the whole store. */
KW_HIDDEN void kw__store_lock(struct kw_store *s, int exclusive);
KW_HIDDEN void kw__store_unlock(struct kw_store *s);
/* Writes data to path through path.tmp-PID, fsync and rename. */
KW_HIDDEN enum kw_status kw__write_atomic(const char *path, const void *data,
                                          size_t n, char *err,
                                          size_t err_size);
KW_HIDDEN int kw__mkdir_p(const char *path);
/* sha256 of a file's bytes as "sha256:HEX"; size too. */
KW_HIDDEN enum kw_status kw__file_digest(const char *path, char digest[72],
                                         uint64_t *size, char *err,
                                         size_t err_size);

/* ---- manifests (manifest.c) ---- */
#define KW_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define KW_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define KW_MT_DOCKER_MANIFEST                                                 \
    "application/vnd.docker.distribution.manifest.v2+json"
#define KW_MT_DOCKER_LIST                                                     \
    "application/vnd.docker.distribution.manifest.list.v2+json"
#define KW_MT_MODEL_ARTIFACT "application/vnd.cncf.model.manifest.v1+json"
#define KW_MT_MODEL_CONFIG "application/vnd.cncf.model.config.v1+json"
#define KW_MT_MODEL_WEIGHT "application/vnd.cncf.model.weight.v1.raw"
#define KW_ANN_TITLE "org.opencontainers.image.title"
#define KW_ANN_FILEPATH "org.cncf.model.filepath"

struct kw__desc {
    char media_type[128];
    char digest[72];
    uint64_t size;
    char title[256]; /* title annotation, "" when absent or unsafe */
};
struct kw__manifest {
    char media_type[128];
    char artifact_type[128];
    struct kw__desc config;
    struct kw__desc layers[KW_MAX_LAYERS];
    int n_layers;
};
/* Parses an image manifest (OCI or Docker v2 schema 2); an index or any
 * other document is ERR_UNSUPPORTED/ERR_FORMAT with a message. */
KW_HIDDEN enum kw_status kw__manifest_parse(const char *json, size_t n,
                                            struct kw__manifest *m,
                                            char *err, size_t err_size);
/* Index of the layer holding the model, or -1. */
KW_HIDDEN int kw__manifest_model_layer(const struct kw__manifest *m);
/* "gguf", "onnx" or "" from a layer title / config. */
KW_HIDDEN const char *kw__format_from_title(const char *title);
/* Builds the ModelPack config and manifest documents for one model file;
 * both malloc'd, NUL-terminated. */
KW_HIDDEN enum kw_status kw__modelpack_build(const char *file,
                                             const char *layer_digest,
                                             uint64_t layer_size,
                                             char **config, char **manifest,
                                             char *config_digest,
                                             char *err, size_t err_size);

/* ---- HTTP client for one repository (registry_http.c, registry_auth.c) */
struct kw__client;

/* Where a request body comes from: memory, or a byte range of a file. */
struct kw__body {
    const void *mem;
    int fd;
    uint64_t offset, len;
};
/* Where a response body goes: a capped memory buffer, or a file at an
 * offset (only for 2xx answers). */
struct kw__sink {
    char *mem;         /* malloc'd by the client, NUL-terminated */
    size_t mem_len, mem_max;
    int fd;            /* -1: memory */
    uint64_t offset;   /* next file write position */
    uint64_t expect;   /* bytes expected into the file (range length) */
    int ranged;        /* a Range request: only a 206 answer is written */
    uint64_t written;
    void (*on_write)(void *user, uint64_t n); /* progress, may be NULL */
    void *user;
};
struct kw__resp {
    long status;
    char location[2048];
    char content_type[128];
    char docker_digest[80];
    char www_auth[1024];
    uint64_t content_length;
    int has_content_length;
};

KW_HIDDEN enum kw_status kw__client_new(const struct kw__ref *r,
                                        const struct kw_registry_options *o,
                                        const char *actions,
                                        struct kw__client **out, char *err,
                                        size_t err_size);
KW_HIDDEN void kw__client_free(struct kw__client *c);
KW_HIDDEN const char *kw__client_base(const struct kw__client *c);
/* One request, with the 401 challenge answered once (token or basic).
 * url is absolute or a path starting with "/v2/". headers is a NULL-ended
 * list; range "a-b" or NULL. */
KW_HIDDEN enum kw_status kw__client_request(struct kw__client *c,
                                            const char *method,
                                            const char *url,
                                            const char *const *headers,
                                            const struct kw__body *body,
                                            struct kw__sink *sink,
                                            const char *range,
                                            struct kw__resp *resp, char *err,
                                            size_t err_size);
/* Registry error JSON {"errors":[{"code","message"}]} as short text. */
KW_HIDDEN void kw__registry_error_text(const char *body, char *buf, size_t n);
/* ERR_AUTH / ERR_NOT_FOUND / ERR_NETWORK message for an unexpected status. */
KW_HIDDEN enum kw_status kw__http_status_err(const char *what,
                                             const struct kw__resp *resp,
                                             const char *body, char *err,
                                             size_t err_size);
/* Fetches the manifest of r: bytes (malloc'd), its digest and media type;
 * verifies it when r names a digest. */
KW_HIDDEN enum kw_status kw__fetch_manifest(struct kw__client *c,
                                            const struct kw__ref *r,
                                            char **data, size_t *n,
                                            char digest[72],
                                            char *media_type, size_t mt_size,
                                            char *err, size_t err_size);
/* Credentials for host from env or the auth file; 1 when found. */
KW_HIDDEN int kw__auth_lookup(const char *host, const char *auth_file,
                              char *user, size_t un, char *pass, size_t pn);
KW_HIDDEN int kw__base64_decode(const char *in, unsigned char *out,
                                size_t cap, size_t *n);
KW_HIDDEN void kw__base64_encode(const unsigned char *in, size_t n, char *out,
                                 size_t cap);
KW_HIDDEN void kw__report_blob(struct kw_transfer_report *r,
                               const char *digest, uint64_t size,
                               enum kw_blob_action a);

#endif /* KW_STORE_INTERNAL_H */
