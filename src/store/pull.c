/*
 * pull.c — kw_registry_pull: manifest, then every missing blob through
 * ranged, parallel, resumable downloads into tmp/HEX.part. A journal beside
 * it (tmp/HEX.journal: size, chunk size, bytes done per chunk) lets a later
 * pull continue where a killed one stopped. A blob enters blobs/ only after
 * its sha256 matched; the name is written last.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/sha256.h"
#include "store/registry_client.h"

#define JOURNAL_MAGIC 0x314a574bu /* "KWJ1" */
#define MAX_CHUNKS 65536

struct journal_head {
    uint32_t magic, n_chunks;
    uint64_t size, chunk;
};

struct blob_dl {
    struct kw__client *c;
    const struct kw__desc *d;
    const char *title;
    int part_fd, journal_fd;
    uint64_t chunk;
    uint32_t n_chunks;
    uint64_t *done;       /* bytes present per chunk */
    uint32_t next;        /* next chunk to hand out */
    uint64_t moved;       /* bytes received by this pull */
    uint64_t present;     /* bytes present now (for progress) */
    int no_ranges;        /* the registry ignored a Range header */
    enum kw_status st;    /* first failure */
    char err[512];
    pthread_mutex_t mu;
    int64_t last_progress_us;
    const struct kw_registry_options *o;
    /* the hasher follows the contiguous prefix while chunks arrive */
    pthread_cond_t more;
    struct kw__sha256 hash;
    uint64_t hashed;
    int hash_stop;
    int hash_failed;
    const unsigned char *map; /* the part file, mapped; or NULL */
    int journal_broken;
};

struct chunk_ctx {
    struct blob_dl *b;
    uint32_t i;
};

/* Bytes from offset 0 that are on disk now. Called with b->mu held. */
static uint64_t contiguous(const struct blob_dl *b) {
    uint64_t n = 0;
    for (uint32_t i = 0; i < b->n_chunks; i++) {
        uint64_t len = KW_MIN(b->chunk, b->d->size - (uint64_t)i * b->chunk);
        n += b->done[i];
        if (b->done[i] < len) break;
    }
    return n;
}

/* Hashes the part file from its mapping (no copy), falling back to pread
 * where it could not be mapped. */
static int hash_range(struct blob_dl *b, uint64_t from, uint64_t to) {
    if (b->map) {
        kw__sha256_update(&b->hash, b->map + from, (size_t)(to - from));
        return 1;
    }
    enum { BUF = 1 << 20 };
    static _Thread_local unsigned char buf[BUF];
    while (from < to) {
        ssize_t r = pread(b->part_fd, buf, (size_t)KW_MIN((uint64_t)BUF, to - from),
                          (off_t)from);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return 0;
        kw__sha256_update(&b->hash, buf, (size_t)r);
        from += (uint64_t)r;
    }
    return 1;
}

static void *hasher(void *arg) {
    struct blob_dl *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        uint64_t avail = contiguous(b);
        if (avail == b->hashed) {
            if (b->hash_stop || b->hashed == b->d->size) break;
            pthread_cond_wait(&b->more, &b->mu);
            continue;
        }
        pthread_mutex_unlock(&b->mu);
        int ok = hash_range(b, b->hashed, avail);
        pthread_mutex_lock(&b->mu);
        if (!ok) {
            b->hash_failed = 1;
            break;
        }
        b->hashed = avail;
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static void progress(struct blob_dl *b, int finished) {
    kw__progress(b->o, b->d->digest, b->title, b->present, b->d->size,
                 finished);
}

/* Records chunk i's progress in the journal. Called with b->mu held. */
static void journal_write(struct blob_dl *b, uint32_t i) {
    uint64_t v = b->done[i];
    if (pwrite(b->journal_fd, &v, 8,
               (off_t)(sizeof(struct journal_head) + (uint64_t)i * 8)) != 8)
        b->journal_broken = 1;
}

static void on_write(void *user, uint64_t n) {
    struct chunk_ctx *cc = user;
    struct blob_dl *b = cc->b;
    pthread_mutex_lock(&b->mu);
    uint64_t before = b->done[cc->i], now_done = before + n;
    b->done[cc->i] = now_done;
    /* journal and wake the hasher once per MiB: a killed pull loses at most
     * that much, and the syscalls stay off the receive path */
    if ((before >> 20) != (now_done >> 20)) {
        journal_write(b, cc->i);
        pthread_cond_signal(&b->more);
    }
    b->moved += n;
    b->present += n;
    int64_t now = kw__time_us();
    if (now - b->last_progress_us > 200000) {
        b->last_progress_us = now;
        progress(b, 0);
    }
    pthread_mutex_unlock(&b->mu);
}

/* Downloads chunk i (from where it stopped) into the part file. */
static enum kw_status fetch_chunk(struct blob_dl *b, uint32_t i, char *err,
                                  size_t err_size) {
    uint64_t start = (uint64_t)i * b->chunk;
    uint64_t len = KW_MIN(b->chunk, b->d->size - start);
    struct chunk_ctx cc = {b, i};
    pthread_mutex_lock(&b->mu);
    uint64_t have = b->done[i];
    pthread_mutex_unlock(&b->mu);
    if (have >= len) return KW_STATUS_OK;
    int whole = start + have == 0 && len == b->d->size;
    char url[700], range[64];
    snprintf(url, sizeof url, "/v2/%s/blobs/%s", b->c->ref.repo, b->d->digest);
    snprintf(range, sizeof range, "%llu-%llu",
             (unsigned long long)(start + have),
             (unsigned long long)(start + len - 1));
    struct kw__sink sink = {.fd = b->part_fd, .offset = start,
                            .expect = len, .written = have,
                            .ranged = !whole,
                            .on_write = on_write, .user = &cc};
    struct kw__resp resp;
    enum kw_status st = kw__client_request(b->c, "GET", url, NULL, NULL, &sink,
                                           whole ? NULL : range, &resp, err,
                                           err_size);
    pthread_mutex_lock(&b->mu);
    journal_write(b, i);
    pthread_cond_signal(&b->more);
    pthread_mutex_unlock(&b->mu);
    if (resp.status == 200 && !whole) {
        b->no_ranges = 1;
        return kw__err(err, err_size, KW_STATUS_ERR_UNSUPPORTED,
                       "the registry ignores Range requests");
    }
    if (st) return st;
    if (resp.status != 200 && resp.status != 206) {
        char what[200];
        snprintf(what, sizeof what, "blob %s", b->d->digest);
        return kw__http_status_err(what, &resp, NULL, err, err_size);
    }
    if (sink.written != len)
        return kw__err(err, err_size, KW_STATUS_ERR_NETWORK,
                       "blob %s: the connection closed after %llu of %llu "
                       "bytes at offset %llu; run the pull again to resume",
                       b->d->digest, (unsigned long long)sink.written,
                       (unsigned long long)len, (unsigned long long)start);
    /* start writeback now so the final fsync has little left to do */
    sync_file_range(b->part_fd, (off64_t)start, (off64_t)len,
                    SYNC_FILE_RANGE_WRITE);
    return KW_STATUS_OK;
}

static void *worker(void *arg) {
    struct blob_dl *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        uint32_t i = b->next++;
        int stop = b->st != KW_STATUS_OK || i >= b->n_chunks;
        pthread_mutex_unlock(&b->mu);
        if (stop) return NULL;
        char err[512];
        enum kw_status st = fetch_chunk(b, i, err, sizeof err);
        if (st) {
            pthread_mutex_lock(&b->mu);
            if (!b->st) {
                b->st = st;
                snprintf(b->err, sizeof b->err, "%s", err);
            }
            pthread_mutex_unlock(&b->mu);
            return NULL;
        }
    }
}

/* Opens or creates the journal; returns bytes kept from an earlier pull. */
static uint64_t open_journal(struct blob_dl *b, int fresh) {
    struct journal_head want = {JOURNAL_MAGIC, b->n_chunks, b->d->size,
                                b->chunk};
    struct journal_head have;
    size_t jbytes = sizeof want + (size_t)b->n_chunks * 8;
    uint64_t kept = 0;
    if (!fresh && pread(b->journal_fd, &have, sizeof have, 0) == sizeof have &&
        !memcmp(&have, &want, sizeof want) &&
        pread(b->journal_fd, b->done, (size_t)b->n_chunks * 8, sizeof want) ==
            (ssize_t)b->n_chunks * 8) {
        for (uint32_t i = 0; i < b->n_chunks; i++) {
            uint64_t len = KW_MIN(b->chunk, b->d->size - (uint64_t)i * b->chunk);
            if (b->done[i] > len) b->done[i] = 0; /* corrupt: refetch */
            kept += b->done[i];
        }
        return kept;
    }
    memset(b->done, 0, (size_t)b->n_chunks * 8);
    if (ftruncate(b->journal_fd, 0) != 0 ||
        pwrite(b->journal_fd, &want, sizeof want, 0) != sizeof want ||
        ftruncate(b->journal_fd, (off_t)jbytes) != 0 ||
        ftruncate(b->part_fd, 0) != 0)
        return 0;
    return 0;
}

static enum kw_status check_digest(struct blob_dl *b, char *err,
                                   size_t err_size) {
    uint8_t d[32];
    char got[72] = "sha256:";
    kw__sha256_final(&b->hash, d);
    kw__sha256_hex(d, got + 7);
    if (strcmp(got, b->d->digest))
        return kw__err(err, err_size, KW_STATUS_ERR_DIGEST,
                       "blob %s: digest mismatch: the %llu bytes received "
                       "hash to %s; nothing was stored",
                       b->d->digest, (unsigned long long)b->d->size, got);
    return KW_STATUS_OK;
}

/* Fetches every missing chunk over up to `connections` connections while
 * the hasher digests the part file behind them. */
static enum kw_status run_download(struct blob_dl *b, int connections,
                                   char *err, size_t err_size) {
    b->next = 0;
    b->st = KW_STATUS_OK;
    kw__sha256_init(&b->hash);
    b->hashed = 0;
    b->hash_stop = b->hash_failed = 0;
    /* full size up front (sparse), so the hasher can map it all */
    struct stat sb;
    b->map = NULL;
    if (b->d->size && fstat(b->part_fd, &sb) == 0 &&
        ((uint64_t)sb.st_size >= b->d->size ||
         ftruncate(b->part_fd, (off_t)b->d->size) == 0)) {
        void *m = mmap(NULL, (size_t)b->d->size, PROT_READ, MAP_SHARED,
                       b->part_fd, 0);
        if (m != MAP_FAILED) {
            madvise(m, (size_t)b->d->size, MADV_SEQUENTIAL);
            b->map = m;
        }
    }
    pthread_t hash_th;
    int hashing = pthread_create(&hash_th, NULL, hasher, b) == 0;
    uint32_t pending = 0;
    for (uint32_t i = 0; i < b->n_chunks; i++)
        if (b->done[i] < KW_MIN(b->chunk, b->d->size - (uint64_t)i * b->chunk))
            pending++;
    int n = (int)KW_MIN((uint32_t)connections, pending);
    pthread_t th[16];
    int started = 0;
    for (int t = 1; t < n; t++)
        if (pthread_create(&th[started], NULL, worker, b) == 0) started++;
    worker(b);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    pthread_mutex_lock(&b->mu);
    b->hash_stop = 1;
    pthread_cond_signal(&b->more);
    pthread_mutex_unlock(&b->mu);
    if (hashing) pthread_join(hash_th, NULL);
    if (!b->st && !hashing) hasher(b); /* no thread: hash it all now */
    if (b->map) munmap((void *)b->map, (size_t)b->d->size);
    b->map = NULL;
    if (b->st) return kw__err(err, err_size, b->st, "%s", b->err);
    if (b->hash_failed || b->hashed != b->d->size)
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "blob %s: cannot read the download back", b->d->digest);
    return check_digest(b, err, err_size);
}

/* Downloads one blob into the store (or finds it there). */
static enum kw_status pull_blob(struct kw_store *s, struct kw__client *c,
                                const struct kw__desc *d, const char *title,
                                const struct kw_registry_options *o,
                                struct kw_transfer_report *rep, char *err,
                                size_t err_size) {
    if (kw__store_has_blob(s, d->digest, d->size)) {
        kw__report_blob(rep, d->digest, d->size, KW_BLOB_PRESENT);
        return KW_STATUS_OK;
    }
    struct statvfs vfs;
    if (statvfs(s->home, &vfs) == 0 &&
        (uint64_t)vfs.f_bavail * vfs.f_frsize < d->size)
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "blob %s needs %llu bytes; %s has %llu free", d->digest,
                       (unsigned long long)d->size, s->home,
                       (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    char part[PATH_MAX], jpath[PATH_MAX], name[96];
    snprintf(name, sizeof name, "%s.part", d->digest + 7);
    kw__store_tmp_path(s, name, part, sizeof part);
    snprintf(name, sizeof name, "%s.journal", d->digest + 7);
    kw__store_tmp_path(s, name, jpath, sizeof jpath);

    struct blob_dl b = {.c = c, .d = d, .title = title, .o = o};
    b.chunk = o->chunk_size;
    if (d->size / b.chunk >= MAX_CHUNKS) b.chunk = d->size / MAX_CHUNKS + 1;
    b.n_chunks = d->size ? (uint32_t)((d->size + b.chunk - 1) / b.chunk) : 0;
    b.part_fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    b.journal_fd = open(jpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    b.done = calloc(b.n_chunks ? b.n_chunks : 1, 8);
    enum kw_status st = KW_STATUS_OK;
    if (b.part_fd < 0 || b.journal_fd < 0 || !b.done) {
        st = kw__err(err, err_size, KW_STATUS_ERR_IO, "cannot create %s: %s",
                     part, strerror(errno));
        goto out;
    }
    /* one process per blob: a second pull of it waits here */
    while (flock(b.journal_fd, LOCK_EX) != 0 && errno == EINTR) {
    }
    if (kw__store_has_blob(s, d->digest, d->size)) { /* the other one won */
        kw__report_blob(rep, d->digest, d->size, KW_BLOB_PRESENT);
        goto out;
    }
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.more, NULL);
    for (int round = 0; round < 2; round++) {
        uint64_t kept = open_journal(&b, round > 0);
        b.present = kept;
        if (rep && round == 0) rep->bytes_resumed += kept;
        st = run_download(&b, o->connections, err,
                          err_size);
        if (st && b.no_ranges) {
            /* fall back to one plain GET of the whole blob */
            b.n_chunks = 1;
            b.chunk = d->size ? d->size : 1;
            b.no_ranges = 0;
            open_journal(&b, 1);
            b.present = 0;
            st = run_download(&b, 1, err, err_size);
        }
        if (st == KW_STATUS_ERR_DIGEST && kept > 0 && round == 0)
            continue; /* the kept bytes may be stale: once more from zero */
        break;
    }
    if (rep) rep->bytes_moved += b.moved;
    pthread_cond_destroy(&b.more);
    pthread_mutex_destroy(&b.mu);
    if (st == KW_STATUS_ERR_DIGEST) {
        unlink(part);
        unlink(jpath);
    }
    if (st) goto out;
    progress(&b, 1);
    if ((st = kw__store_commit_blob(s, part, d->digest, err, err_size)))
        goto out;
    unlink(jpath);
    kw__report_blob(rep, d->digest, d->size, KW_BLOB_TRANSFERRED);
out:
    if (b.part_fd >= 0) close(b.part_fd);
    if (b.journal_fd >= 0) close(b.journal_fd);
    free(b.done);
    return st;
}

enum kw_status kw_registry_pull(struct kw_store *s, const char *ref,
                                const struct kw_registry_options *opts,
                                struct kw_transfer_report *rep, char *err,
                                size_t err_size) {
    int64_t t0 = kw__time_us();
    struct kw_registry_options o;
    struct kw__ref r;
    enum kw_status st = kw__transfer_setup(ref, &r, opts, &o, rep, err, err_size);
    if (st) return st;
    if (!s)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG, "NULL store");
    struct kw__client *c;
    if ((st = kw__client_new(&r, &o, "pull", &c, err, err_size))) return st;
    char *data = NULL, digest[72], name[600];
    size_t n = 0;
    struct kw__manifest *m = malloc(sizeof *m);
    kw__ref_name(&r, name, sizeof name);
    kw__store_lock(s, 0);
    if (!m) {
        st = kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = kw__fetch_manifest(c, &r, &data, &n, digest, NULL, 0, err,
                                 err_size)))
        goto out;
    if ((st = kw__manifest_parse(data, n, m, err, err_size))) goto out;
    int li = kw__manifest_model_layer(m);
    if (li < 0) {
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "%s: no model layer (expected a %s layer, or one layer "
                     "titled *.gguf / *.onnx)",
                     name, KW_MT_MODEL_WEIGHT);
        goto out;
    }
    if ((st = pull_blob(s, c, &m->config, "config", &o, rep, err, err_size)))
        goto out;
    for (int i = 0; i < m->n_layers; i++) {
        const char *title = m->layers[i].title[0] ? m->layers[i].title : "layer";
        if ((st = pull_blob(s, c, &m->layers[i], title, &o, rep, err,
                            err_size)))
            goto out;
    }
    if ((st = kw__store_put_blob(s, digest, data, n, err, err_size))) goto out;
    if ((st = kw__store_set_name(s, &r, digest, err, err_size))) goto out;
    kw__store_note_location(s, m->config.digest, r.host, r.repo);
    for (int i = 0; i < m->n_layers; i++)
        kw__store_note_location(s, m->layers[i].digest, r.host, r.repo);
    if (rep) {
        snprintf(rep->digest, sizeof rep->digest, "%s", digest);
        kw__store_blob_path(s, m->layers[li].digest, rep->path,
                            sizeof rep->path);
    }
out:
    kw__store_unlock(s);
    if (rep) rep->seconds = (double)(kw__time_us() - t0) / 1e6;
    free(data);
    free(m);
    kw__client_free(c);
    return st;
}
