/*
 * registry_client.h — the state of one registry client (one repository of
 * one registry) shared by registry_http.c and registry_auth.c.
 */
#ifndef KW_REGISTRY_CLIENT_H
#define KW_REGISTRY_CLIENT_H

#include <curl/curl.h>
#include <pthread.h>
#include <strings.h>

#include "store/store_internal.h"

struct kw__client {
    struct kw__ref ref;
    struct kw_registry_options o;
    char base[320];   /* "https://HOST" */
    char actions[16]; /* "pull" or "pull,push" for the token scope */
    char user[256], pass[512];
    int have_creds;
    int basic;        /* answer with Basic credentials */
    char *token;      /* Bearer token, or NULL */
    pthread_mutex_t mu; /* guards token/basic across download threads */
};

/* GET url (a token service) with Basic credentials when the client has
 * them; the body goes to sink (memory). */
KW_HIDDEN enum kw_status kw__client_get_token_doc(struct kw__client *c,
                                                  const char *url,
                                                  struct kw__sink *sink,
                                                  long *status, char *err,
                                                  size_t err_size);
/* Prepares the client to answer a 401 with challenge; already_tried when
 * the credentials were just refused. Called with c->mu held. */
KW_HIDDEN enum kw_status kw__client_answer_challenge(struct kw__client *c,
                                                     const char *challenge,
                                                     int already_tried,
                                                     char *err,
                                                     size_t err_size);
KW_HIDDEN int kw__host_is_loopback(const char *host);
/* Start of push/pull/mirror: copies the caller's options (or the
 * defaults) into o after checking them, clears the report, parses ref. */
KW_HIDDEN enum kw_status kw__transfer_setup(const char *ref, struct kw__ref *r,
                                           const struct kw_registry_options *in,
                                           struct kw_registry_options *o,
                                           struct kw_transfer_report *rep,
                                           char *err, size_t err_size);
/* A blob is in place at where: report it and remember it for mounts. */
KW_HIDDEN void kw__blob_done(struct kw_store *s,
                             struct kw_transfer_report *rep,
                             const char *digest, uint64_t size,
                             enum kw_blob_action a, const struct kw__ref *where);
/* Calls the caller's progress callback, if any. */
KW_HIDDEN void kw__progress(const struct kw_registry_options *o,
                            const char *digest, const char *title,
                            uint64_t done, uint64_t total, int finished);

/* ---- blob upload protocol (upload.c) ---- */
/* HEAD, then a mount from mount_from (may be NULL) or a new upload session
 * whose URL goes to loc; *action says which. */
KW_HIDDEN enum kw_status kw__upload_begin(struct kw__client *c,
                                          const char *digest,
                                          const char *mount_from,
                                          enum kw_blob_action *action,
                                          char *loc, size_t loc_size,
                                          char *err, size_t err_size);
/* PATCH body as bytes start.. of the blob; loc is updated. */
KW_HIDDEN enum kw_status kw__upload_chunk(struct kw__client *c, char *loc,
                                          size_t loc_size,
                                          const struct kw__body *body,
                                          uint64_t start, const char *digest,
                                          char *err, size_t err_size);
/* PUT ?digest=, with the last bytes in body (may be NULL). */
KW_HIDDEN enum kw_status kw__upload_finish(struct kw__client *c,
                                           const char *loc, const char *digest,
                                           const struct kw__body *body,
                                           char *err, size_t err_size);
KW_HIDDEN void kw__upload_cancel(struct kw__client *c, const char *loc);
KW_HIDDEN enum kw_status kw__put_manifest(struct kw__client *c,
                                          const char *reference,
                                          const char *media_type,
                                          const char *data, size_t n,
                                          char *err, size_t err_size);

#endif /* KW_REGISTRY_CLIENT_H */
