/*
 * mirror.c — kw_registry_mirror: copy an artifact from one registry (or
 * repository) to another without a local copy. Each blob the destination
 * lacks streams through memory one range at a time (GET from the source,
 * PATCH to the destination) with its sha256 checked before the upload is
 * closed; within one registry a mount moves no bytes at all. The manifest is
 * copied byte for byte, so its digest is the same at both ends.
 */
#include "core/sha256.h"
#include "store/registry_client.h"

static enum kw_status mirror_blob(struct kw_store *s, struct kw__client *src,
                                  struct kw__client *dst,
                                  const struct kw__desc *d,
                                  const struct kw_registry_options *o,
                                  struct kw_transfer_report *rep, char *err,
                                  size_t err_size) {
    char loc[2048], url[700];
    enum kw_blob_action action;
    int same_registry = !strcmp(src->ref.host, dst->ref.host) &&
                        strcmp(src->ref.repo, dst->ref.repo);
    enum kw_status st = kw__upload_begin(
        dst, d->digest, same_registry ? src->ref.repo : NULL, &action, loc,
        sizeof loc, err, err_size);
    if (st) return st;
    const char *title = d->title[0]                              ? d->title
                        : !strcmp(d->media_type, KW_MT_MODEL_CONFIG) ? "config"
                                                                     : "blob";
    if (action == KW_BLOB_TRANSFERRED) {
        uint64_t chunk = o->chunk_size;
        snprintf(url, sizeof url, "/v2/%s/blobs/%s", src->ref.repo, d->digest);
        struct kw__sha256 h;
        kw__sha256_init(&h);
        uint64_t off = 0;
        struct kw__sink sink = {.fd = -1};
        do {
            uint64_t len = KW_MIN(chunk, d->size - off);
            char range[64];
            snprintf(range, sizeof range, "%llu-%llu",
                     (unsigned long long)off,
                     (unsigned long long)(off + (len ? len : 1) - 1));
            struct kw__resp resp;
            sink.mem_len = 0;
            sink.written = 0;
            sink.mem_max = (size_t)len;
            int whole = off == 0 && len == d->size;
            st = kw__client_request(src, "GET", url, NULL, NULL, &sink,
                                    whole ? NULL : range, &resp, err,
                                    err_size);
            if (!st && resp.status != 200 && resp.status != 206) {
                char what[120];
                snprintf(what, sizeof what, "blob %s", d->digest);
                st = kw__http_status_err(what, &resp, sink.mem, err, err_size);
            }
            if (!st && (sink.mem_len != len ||
                        (resp.status == 200 && !whole)))
                st = kw__err(err, err_size, KW_STATUS_ERR_NETWORK,
                             "blob %s: the source sent %zu bytes for range "
                             "%s (status %ld)",
                             d->digest, sink.mem_len, range, resp.status);
            if (st) break;
            kw__sha256_update(&h, sink.mem ? sink.mem : "", sink.mem_len);
            struct kw__body body = {.mem = sink.mem ? sink.mem : "", .fd = -1,
                                    .len = len};
            off += len;
            if (off < d->size) {
                st = kw__upload_chunk(dst, loc, sizeof loc, &body, off - len,
                                      d->digest, err, err_size);
            } else {
                /* check the whole blob before the last bytes close it */
                uint8_t dg[32];
                char got[72] = "sha256:";
                kw__sha256_final(&h, dg);
                kw__sha256_hex(dg, got + 7);
                if (strcmp(got, d->digest))
                    st = kw__err(err, err_size, KW_STATUS_ERR_DIGEST,
                                 "blob %s: digest mismatch: the source sent "
                                 "bytes that hash to %s; nothing was written",
                                 d->digest, got);
                else
                    st = kw__upload_finish(dst, loc, d->digest, &body, err,
                                           err_size);
            }
            if (!st) kw__progress(o, d->digest, title, off, d->size,
                                  off == d->size);
        } while (!st && off < d->size);
        free(sink.mem);
        if (st) {
            kw__upload_cancel(dst, loc);
            return st;
        }
        if (rep) rep->bytes_moved += d->size;
    }
    kw__blob_done(s, rep, d->digest, d->size, action, &dst->ref);
    return KW_STATUS_OK;
}

enum kw_status kw_registry_mirror(struct kw_store *s, const char *src_ref,
                                  const char *dst_ref,
                                  const struct kw_registry_options *opts,
                                  struct kw_transfer_report *rep, char *err,
                                  size_t err_size) {
    int64_t t0 = kw__time_us();
    struct kw_registry_options o;
    struct kw__ref rs, rd;
    enum kw_status st =
        kw__transfer_setup(src_ref, &rs, opts, &o, rep, err, err_size);
    if (!st && !dst_ref)
        st = kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                     "NULL reference");
    if (!st) st = kw__ref_parse(dst_ref, &rd, err, err_size);
    if (st) return st;
    struct kw__client *src = NULL, *dst = NULL;
    char *data = NULL, digest[72], mt[128] = "";
    size_t n = 0;
    struct kw__manifest *m = malloc(sizeof *m);
    if (!m) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    if ((st = kw__client_new(&rs, &o, "pull", &src, err, err_size)) ||
        (st = kw__client_new(&rd, &o, "pull,push", &dst, err, err_size)))
        goto out;
    if ((st = kw__fetch_manifest(src, &rs, &data, &n, digest, mt, sizeof mt,
                                 err, err_size)))
        goto out;
    if ((st = kw__manifest_parse(data, n, m, err, err_size))) goto out;
    if (rd.digest[0] && strcmp(rd.digest, digest)) {
        st = kw__err(err, err_size, KW_STATUS_ERR_DIGEST,
                     "%s: the source manifest is %s, not the digest named by "
                     "the destination",
                     dst_ref, digest);
        goto out;
    }
    if ((st = mirror_blob(s, src, dst, &m->config, &o, rep, err, err_size)))
        goto out;
    for (int i = 0; i < m->n_layers; i++)
        if ((st = mirror_blob(s, src, dst, &m->layers[i], &o, rep, err,
                              err_size)))
            goto out;
    const char *media_type = m->media_type[0] ? m->media_type
                             : strchr(mt, '/') ? mt
                                               : KW_MT_OCI_MANIFEST;
    if ((st = kw__put_manifest(dst, rd.tag[0] ? rd.tag : digest, media_type,
                               data, n, err, err_size)))
        goto out;
    if (rep) snprintf(rep->digest, sizeof rep->digest, "%s", digest);
out:
    if (rep) rep->seconds = (double)(kw__time_us() - t0) / 1e6;
    free(data);
    free(m);
    kw__client_free(src);
    kw__client_free(dst);
    return st;
}
