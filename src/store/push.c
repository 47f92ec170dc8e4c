/*
 * push.c — kw_registry_push: hash the model file, build the ModelPack
 * config and manifest, upload the blobs the registry lacks (chunked, or
 * mounted from another repository of the same registry), then PUT the
 * manifest under the tag.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/sha256.h"
#include "store/registry_client.h"

/* Uploads one blob held in memory (mem) or in a file (fd). */
static enum kw_status push_blob(struct kw_store *s, struct kw__client *c,
                                const char *digest, uint64_t size,
                                const void *mem, int fd, const char *title,
                                const struct kw_registry_options *o,
                                struct kw_transfer_report *rep, char *err,
                                size_t err_size) {
    char from[300] = "", loc[2048];
    enum kw_blob_action action;
    int have_from = kw__store_find_location(s, digest, c->ref.host,
                                            c->ref.repo, from, sizeof from);
    enum kw_status st = kw__upload_begin(c, digest, have_from ? from : NULL,
                                         &action, loc, sizeof loc, err,
                                         err_size);
    if (st) return st;
    if (action == KW_BLOB_TRANSFERRED) {
        uint64_t chunk = o->chunk_size;
        struct kw__body b = {.mem = NULL, .fd = fd, .offset = 0, .len = 0};
        uint64_t off = 0;
        /* PATCH all but the last piece; the PUT carries the last one */
        while (!st && size - off > chunk) {
            b.mem = mem ? (const char *)mem + off : NULL;
            b.offset = mem ? 0 : off;
            b.len = chunk;
            st = kw__upload_chunk(c, loc, sizeof loc, &b, off, digest, err,
                                  err_size);
            off += chunk;
            if (!st) kw__progress(o, digest, title, off, size, 0);
        }
        if (!st) {
            b.mem = mem ? (const char *)mem + off : NULL;
            b.offset = mem ? 0 : off;
            b.len = size - off;
            st = kw__upload_finish(c, loc, digest, &b, err, err_size);
        }
        if (st) {
            kw__upload_cancel(c, loc);
            return st;
        }
        if (rep) rep->bytes_moved += size;
    }
    kw__progress(o, digest, title, size, size, 1);
    kw__blob_done(s, rep, digest, size, action, &c->ref);
    return KW_STATUS_OK;
}

enum kw_status kw_registry_push(struct kw_store *s, const char *file,
                                const char *ref,
                                const struct kw_registry_options *opts,
                                struct kw_transfer_report *rep, char *err,
                                size_t err_size) {
    int64_t t0 = kw__time_us();
    struct kw_registry_options o;
    struct kw__ref r;
    enum kw_status st = kw__transfer_setup(ref, &r, opts, &o, rep, err, err_size);
    if (st) return st;
    if (!file)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG, "NULL file");
    if (!r.tag[0] || r.digest[0])
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "%s: push needs a tag, not a digest", ref);
    char layer_digest[72], config_digest[72], manifest_digest[72] = "sha256:";
    uint64_t size;
    if ((st = kw__file_digest(file, layer_digest, &size, err, err_size)))
        return st;
    char *config = NULL, *manifest = NULL;
    if ((st = kw__modelpack_build(file, layer_digest, size, &config,
                                  &manifest, config_digest, err, err_size)))
        return st;
    const char *title = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    struct kw__client *c = NULL;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = kw__err(err, err_size, KW_STATUS_ERR_IO, "%s: %s", file,
                     strerror(errno));
        goto out;
    }
    if ((st = kw__client_new(&r, &o, "pull,push", &c, err, err_size)))
        goto out;
    if ((st = push_blob(s, c, config_digest, strlen(config), config, -1,
                        "config", &o, rep, err, err_size)))
        goto out;
    if ((st = push_blob(s, c, layer_digest, size, NULL, fd, title, &o, rep,
                        err, err_size)))
        goto out;
    if ((st = kw__put_manifest(c, r.tag, KW_MT_OCI_MANIFEST, manifest,
                               strlen(manifest), err, err_size)))
        goto out;
    kw__sha256_buf(manifest, strlen(manifest), manifest_digest + 7);
    if (rep) snprintf(rep->digest, sizeof rep->digest, "%s", manifest_digest);
out:
    if (rep) rep->seconds = (double)(kw__time_us() - t0) / 1e6;
    if (fd >= 0) close(fd);
    kw__client_free(c);
    free(config);
    free(manifest);
    return st;
}
