/*
 * kaiwu/store.h — the local model store and OCI registry transfers.
 *
 * Models are shared between sites through standard OCI registries (the CNCF
 * Distribution registry, Harbor, ...) as ModelPack artifacts: an OCI image
 * manifest with artifactType application/vnd.cncf.model.manifest.v1+json, a
 * config blob describing the model, and one raw weight layer holding the
 * file. Pulled models live in a content-addressed store:
 *
 *   $KAIWU_HOME (default ~/.cache/kaiwu)
 *     blobs/sha256/HEX                verified content, never partial
 *     names/HOST/REPO/@tags/TAG       "sha256:HEX\n" of the manifest blob
 *     names/HOST/REPO/@digests/HEX    the same, for names pulled by digest
 *     tmp/                            partial downloads (resumable)
 *
 * A blob appears under blobs/ only after its sha256 was checked, and a name
 * only after every blob it references is there; both by rename(2), so an
 * interrupted pull leaves no half model under a name.
 *
 * References are [HOST[:PORT]/]REPO[:TAG][@sha256:HEX] with the grammar of
 * the OCI distribution spec; HOST defaults to $KAIWU_REGISTRY when that is
 * set, and TAG to "latest". Every part is validated before it touches a path.
 *
 * Credentials come from KAIWU_REGISTRY_USER / KAIWU_REGISTRY_PASSWORD or
 * from a Docker-style auth file ({"auths":{"HOST":{"auth":"base64(u:p)"}}},
 * --auth-file, else $REGISTRY_AUTH_FILE, else $KAIWU_HOME/auth.json). They
 * are never printed or logged.
 *
 * Built without libcurl and jansson (KW_REGISTRY=OFF), every function here
 * but kw_ref_valid returns KW_STATUS_ERR_UNSUPPORTED.
 */
#ifndef KAIWU_STORE_H
#define KAIWU_STORE_H

#include "kaiwu/kaiwu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kw_store;

/* Opens (creating folders as needed) the store at home; home NULL means
 * $KAIWU_HOME, else $HOME/.cache/kaiwu. */
KW_API enum kw_status kw_store_open(const char *home, struct kw_store **out,
                                    char *err, size_t err_size);
KW_API void kw_store_free(struct kw_store *s);
/* The store's folder; borrowed from s. */
KW_API const char *kw_store_home(const struct kw_store *s);

/* 1 when text parses as a model reference (HOST/REPO[:TAG][@DIGEST]). */
KW_API int kw_ref_valid(const char *text);

/* Writes into path (NUL-terminated) the file of the model stored under ref.
 * KW_STATUS_ERR_NOT_FOUND when no such name is stored. */
KW_API enum kw_status kw_store_resolve(struct kw_store *s, const char *ref,
                                       char *path, size_t path_size,
                                       char *err, size_t err_size);

/* One stored name. */
struct kw_store_entry {
    char name[512];      /* HOST/REPO:TAG or HOST/REPO@sha256:HEX */
    char digest[72];     /* manifest digest, "sha256:HEX" */
    uint64_t size;       /* bytes of the model file */
    char format[16];     /* "gguf", "onnx", or "" when unknown */
    char file_name[256]; /* the layer's title annotation, or "" */
};

/* Lists every stored name, sorted. *entries is malloc'd: free it with
 * kw_store_list_free. */
KW_API enum kw_status kw_store_list(struct kw_store *s,
                                    struct kw_store_entry **entries,
                                    size_t *count, char *err,
                                    size_t err_size);
KW_API void kw_store_list_free(struct kw_store_entry *entries);

/* Removes the name ref and then every blob no remaining name references.
 * *freed (may be NULL) gets the bytes released. */
KW_API enum kw_status kw_store_remove(struct kw_store *s, const char *ref,
                                      uint64_t *freed, char *err,
                                      size_t err_size);

/* ---- Registry transfers ------------------------------------------------- */

/* Progress of one blob; called from the transferring thread, at most a few
 * times per second per blob, and once more when the blob is done. */
struct kw_transfer_progress {
    const char *digest; /* "sha256:HEX" of the blob */
    const char *title;  /* file name, or "config" / "manifest" */
    uint64_t done;      /* bytes of this blob now present */
    uint64_t total;     /* its size */
    int finished;       /* 1 on the last call for this blob */
};
typedef void (*kw_progress_fn)(const struct kw_transfer_progress *p,
                               void *user);

struct kw_registry_options {
    int plain_http;          /* 1: http:// instead of https:// */
    const char *auth_file;   /* NULL: see the header comment */
    int connections;         /* parallel ranged downloads per blob (1..16) */
    uint64_t chunk_size;     /* upload chunk and download range bytes */
    uint64_t max_rate;       /* bytes/s per connection, 0 = unlimited */
    const char *ca_file;     /* extra CA bundle for https, or NULL */
    kw_progress_fn progress; /* NULL: none */
    void *progress_user;
};
/* Defaults: https, 4 connections, 16 MiB chunks, no rate limit. */
KW_API void kw_registry_options_init(struct kw_registry_options *o);

/* What happened to each blob of a transfer. */
enum kw_blob_action {
    KW_BLOB_TRANSFERRED = 0, /* bytes moved over the network */
    KW_BLOB_PRESENT = 1,     /* already there: local store or registry */
    KW_BLOB_MOUNTED = 2      /* cross-repository mount, no bytes moved */
};

struct kw_transfer_report {
    char digest[72];       /* manifest digest */
    char path[1024];       /* pull: the stored model file */
    uint64_t bytes_total;  /* sum of the blob sizes */
    uint64_t bytes_moved;  /* bytes sent or received by this call */
    uint64_t bytes_resumed; /* pull: bytes kept from an interrupted pull */
    int n_blobs;
    struct {
        char digest[72];
        uint64_t size;
        enum kw_blob_action action;
    } blobs[8];            /* the first 8 blobs (config, layers) */
    double seconds;
};

/* Uploads file as a ModelPack artifact and tags it ref. Blobs the registry
 * already holds are skipped (HEAD); blobs known to live in another repository
 * of the same registry are mounted from there. report may be NULL. */
KW_API enum kw_status kw_registry_push(struct kw_store *s, const char *file,
                                       const char *ref,
                                       const struct kw_registry_options *o,
                                       struct kw_transfer_report *report,
                                       char *err, size_t err_size);

/* Fetches ref into the store: manifest by tag or digest (a digest is
 * verified), then every missing blob with ranged, resumable, parallel
 * downloads, each verified before it becomes visible. */
KW_API enum kw_status kw_registry_pull(struct kw_store *s, const char *ref,
                                       const struct kw_registry_options *o,
                                       struct kw_transfer_report *report,
                                       char *err, size_t err_size);

/* Copies the artifact src to dst (another registry or repository) without
 * storing it locally: blobs stream through memory, their sha256 checked on
 * the way; the manifest keeps its bytes and so its digest. s (may be NULL)
 * only records where blobs live, for later mounts. */
KW_API enum kw_status kw_registry_mirror(struct kw_store *s, const char *src,
                                         const char *dst,
                                         const struct kw_registry_options *o,
                                         struct kw_transfer_report *report,
                                         char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* KAIWU_STORE_H */
