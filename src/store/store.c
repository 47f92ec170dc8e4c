/*
 * store.c — the local content-addressed model store: blobs by sha256, names
 * pointing at manifest digests, atomic writes (temporary file, fsync, rename)
 * so that a name only ever points at complete, verified content.
 * Public: kw_store_open/free/home/resolve/list/remove.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sha256.h"
#include "store/store_internal.h"

int kw__mkdir_p(const char *path) {
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    return 0;
}

static int fsync_dir_of(const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return 0;
    *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

enum kw_status kw__write_atomic(const char *path, const void *data, size_t n,
                                char *err, size_t err_size) {
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (kw__mkdir_p(dir) != 0)
            return kw__err(err, err_size, KW_STATUS_ERR_IO,
                           "cannot create folder %s: %s", dir,
                           strerror(errno));
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return kw__err(err, err_size, KW_STATUS_ERR_IO, "cannot create %s: %s",
                       tmp, strerror(errno));
    const char *p = data;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return kw__err(err, err_size, KW_STATUS_ERR_IO,
                           "cannot write %s: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return kw__err(err, err_size, KW_STATUS_ERR_IO, "cannot write %s: %s",
                       path, strerror(e));
    }
    fsync_dir_of(path);
    return KW_STATUS_OK;
}

int kw__store_blob_path(const struct kw_store *s, const char *digest,
                        char *buf, size_t n) {
    if (!kw__digest_valid(digest)) return 0;
    int w = snprintf(buf, n, "%s/blobs/sha256/%s", s->home, digest + 7);
    return w > 0 && (size_t)w < n;
}

int kw__store_tmp_path(const struct kw_store *s, const char *name, char *buf,
                       size_t n) {
    int w = snprintf(buf, n, "%s/tmp/%s", s->home, name);
    return w > 0 && (size_t)w < n;
}

int kw__store_has_blob(const struct kw_store *s, const char *digest,
                       uint64_t size) {
    char path[PATH_MAX];
    struct stat st;
    if (!kw__store_blob_path(s, digest, path, sizeof path)) return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           (uint64_t)st.st_size == size;
}

enum kw_status kw__file_digest(const char *path, char digest[72],
                               uint64_t *size, char *err, size_t err_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kw__err(err, err_size, KW_STATUS_ERR_IO, "%s: %s", path,
                       strerror(errno));
    enum { BUF = 1 << 20 };
    unsigned char *buf = malloc(BUF);
    if (!buf) {
        close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    struct kw__sha256 c;
    kw__sha256_init(&c);
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, BUF);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return kw__err(err, err_size, KW_STATUS_ERR_IO,
                           "%s: read failed at offset %llu: %s", path,
                           (unsigned long long)total, strerror(e));
        }
        if (r == 0) break;
        kw__sha256_update(&c, buf, (size_t)r);
        total += (uint64_t)r;
    }
    free(buf);
    close(fd);
    uint8_t d[32];
    kw__sha256_final(&c, d);
    memcpy(digest, "sha256:", 7);
    kw__sha256_hex(d, digest + 7);
    if (size) *size = total;
    return KW_STATUS_OK;
}

enum kw_status kw__store_put_blob(struct kw_store *s, const char *digest,
                                  const void *data, size_t n, char *err,
                                  size_t err_size) {
    char path[PATH_MAX], got[72] = "sha256:";
    if (!kw__store_blob_path(s, digest, path, sizeof path))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "invalid digest '%.80s'", digest);
    kw__sha256_buf(data, n, got + 7);
    if (strcmp(got, digest))
        return kw__err(err, err_size, KW_STATUS_ERR_DIGEST,
                       "digest mismatch: expected %s, got %s", digest, got);
    if (kw__store_has_blob(s, digest, n)) return KW_STATUS_OK;
    return kw__write_atomic(path, data, n, err, err_size);
}

enum kw_status kw__store_commit_blob(struct kw_store *s, const char *tmp_path,
                                     const char *digest, char *err,
                                     size_t err_size) {
    char path[PATH_MAX];
    if (!kw__store_blob_path(s, digest, path, sizeof path))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "invalid digest '%.80s'", digest);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/blobs/sha256", s->home);
    int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0 || kw__mkdir_p(dir) != 0 ||
        rename(tmp_path, path) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return kw__err(err, err_size, KW_STATUS_ERR_IO,
                       "cannot move %s into the store: %s", tmp_path,
                       strerror(e));
    }
    close(fd);
    fsync_dir_of(path);
    return KW_STATUS_OK;
}

enum kw_status kw__store_read_blob(struct kw_store *s, const char *digest,
                                   size_t max, char **data, size_t *n,
                                   char *err, size_t err_size) {
    char path[PATH_MAX];
    *data = NULL;
    if (!kw__store_blob_path(s, digest, path, sizeof path))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "invalid digest '%.80s'", digest);
    FILE *f = fopen(path, "rb");
    if (!f)
        return kw__err(err, err_size, KW_STATUS_ERR_NOT_FOUND,
                       "blob %s is missing from the store (%s)", digest,
                       path);
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    size_t got = fread(buf, 1, max + 1, f);
    fclose(f);
    if (got > max) {
        free(buf);
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "blob %s is larger than %zu bytes", digest, max);
    }
    buf[got] = '\0';
    *data = buf;
    *n = got;
    return KW_STATUS_OK;
}

/* names/HOST/REPO/@tags/TAG or names/HOST/REPO/@digests/HEX */
static int name_path(const struct kw_store *s, const struct kw__ref *r,
                     char *buf, size_t n) {
    int w = r->tag[0] ? snprintf(buf, n, "%s/names/%s/%s/@tags/%s", s->home,
                                 r->host, r->repo, r->tag)
                      : snprintf(buf, n, "%s/names/%s/%s/@digests/%s",
                                 s->home, r->host, r->repo, r->digest + 7);
    return w > 0 && (size_t)w < n;
}

enum kw_status kw__store_set_name(struct kw_store *s, const struct kw__ref *r,
                                  const char *manifest_digest, char *err,
                                  size_t err_size) {
    char path[PATH_MAX], line[80];
    if (!name_path(s, r, path, sizeof path))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "store path too long");
    int len = snprintf(line, sizeof line, "%s\n", manifest_digest);
    return kw__write_atomic(path, line, (size_t)len, err, err_size);
}

/* The manifest digest a name points at. */
static enum kw_status read_name(const struct kw_store *s,
                                const struct kw__ref *r, char digest[72],
                                char *err, size_t err_size) {
    char path[PATH_MAX], name[600];
    kw__ref_name(r, name, sizeof name);
    if (!name_path(s, r, path, sizeof path))
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "store path too long");
    FILE *f = fopen(path, "rb");
    if (!f)
        return kw__err(err, err_size, KW_STATUS_ERR_NOT_FOUND,
                       "%s is not in the model store %s (kaiwu pull %s)",
                       name, s->home, name);
    char buf[80] = {0};
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (got < 71 || (got > 71 && buf[71] != '\n'))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: corrupt name file %s", name, path);
    buf[71] = '\0';
    if (!kw__digest_valid(buf))
        return kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                       "%s: corrupt name file %s", name, path);
    memcpy(digest, buf, 72);
    return KW_STATUS_OK;
}

static enum kw_status load_manifest(struct kw_store *s, const char *digest,
                                    struct kw__manifest *m, char *err,
                                    size_t err_size) {
    char *data;
    size_t n;
    enum kw_status st = kw__store_read_blob(s, digest, KW_MANIFEST_MAX, &data,
                                            &n, err, err_size);
    if (st) return st;
    st = kw__manifest_parse(data, n, m, err, err_size);
    free(data);
    return st;
}

void kw__store_lock(struct kw_store *s, int exclusive) {
    if (s->lock_fd >= 0)
        while (flock(s->lock_fd, exclusive ? LOCK_EX : LOCK_SH) != 0 &&
               errno == EINTR) {
        }
}

void kw__store_unlock(struct kw_store *s) {
    if (s->lock_fd >= 0) flock(s->lock_fd, LOCK_UN);
}

enum kw_status kw_store_open(const char *home, struct kw_store **out,
                             char *err, size_t err_size) {
    if (!out)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG, "out is NULL");
    *out = NULL;
    struct kw_store *s = calloc(1, sizeof *s);
    if (!s) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    s->lock_fd = -1;
    int w;
    const char *env = getenv("KAIWU_HOME");
    const char *user_home = getenv("HOME");
    if (home && *home)
        w = snprintf(s->home, sizeof s->home, "%s", home);
    else if (env && *env)
        w = snprintf(s->home, sizeof s->home, "%s", env);
    else if (user_home && *user_home)
        w = snprintf(s->home, sizeof s->home, "%s/.cache/kaiwu", user_home);
    else {
        free(s);
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "no store folder: set KAIWU_HOME or HOME");
    }
    if (w <= 0 || (size_t)w >= sizeof s->home - 128) {
        free(s);
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "store folder path too long");
    }
    static const char *const sub[] = {"blobs/sha256", "names", "tmp", "known"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%s", s->home, sub[i]);
        if (kw__mkdir_p(p) != 0) {
            int e = errno;
            kw__err(err, err_size, KW_STATUS_ERR_IO,
                    "cannot create the model store folder %s: %s", p,
                    strerror(e));
            free(s);
            return KW_STATUS_ERR_IO;
        }
    }
    char lock[PATH_MAX + 16];
    snprintf(lock, sizeof lock, "%s/lock", s->home);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    *out = s;
    return KW_STATUS_OK;
}

void kw_store_free(struct kw_store *s) {
    if (!s) return;
    if (s->lock_fd >= 0) close(s->lock_fd);
    free(s);
}

const char *kw_store_home(const struct kw_store *s) { return s ? s->home : ""; }

enum kw_status kw_store_resolve(struct kw_store *s, const char *ref,
                                char *path, size_t path_size, char *err,
                                size_t err_size) {
    if (!s || !ref || !path || !path_size)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "NULL argument");
    path[0] = '\0';
    struct kw__ref r;
    char digest[72];
    enum kw_status st = kw__ref_parse(ref, &r, err, err_size);
    if (st) return st;
    if ((st = read_name(s, &r, digest, err, err_size))) return st;
    struct kw__manifest *m = malloc(sizeof *m);
    if (!m) return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    st = load_manifest(s, digest, m, err, err_size);
    int li = st ? -1 : kw__manifest_model_layer(m);
    if (!st && li < 0)
        st = kw__err(err, err_size, KW_STATUS_ERR_FORMAT,
                     "%s: the manifest has no model layer", ref);
    if (!st && !kw__store_has_blob(s, m->layers[li].digest, m->layers[li].size))
        st = kw__err(err, err_size, KW_STATUS_ERR_NOT_FOUND,
                     "%s: blob %s is missing from the store; pull it again",
                     ref, m->layers[li].digest);
    if (!st && !kw__store_blob_path(s, m->layers[li].digest, path, path_size))
        st = kw__err(err, err_size, KW_STATUS_ERR_BUFFER_TOO_SMALL,
                     "path buffer too small");
    free(m);
    return st;
}

/* ---- listing and garbage collection ---- */

struct name_list {
    struct kw_store_entry *v;
    size_t n, cap;
};

/* Walks names/: rel is the path below names/ ("HOST/REPO/@tags/TAG"). */
static int walk_names(const char *dir, const char *rel, struct name_list *out,
                      int depth) {
    if (depth > 40) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX], r[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p ||
            snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
                (int)sizeof r)
            continue;
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            walk_names(p, r, out, depth + 1);
            continue;
        }
        if (!S_ISREG(st.st_mode) || strstr(e->d_name, ".tmp-")) continue;
        /* r = HOST/REPO/@tags/TAG | HOST/REPO/@digests/HEX */
        char *kind = strstr(r, "/@tags/");
        int is_tag = kind != NULL;
        if (!kind) kind = strstr(r, "/@digests/");
        if (!kind) continue;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 16;
            void *v = realloc(out->v, cap * sizeof *out->v);
            if (!v) break;
            out->v = v;
            out->cap = cap;
        }
        struct kw_store_entry *en = &out->v[out->n];
        memset(en, 0, sizeof *en);
        *kind = '\0';
        const char *last = strrchr(kind + 1, '/') + 1;
        if (is_tag)
            snprintf(en->name, sizeof en->name, "%s:%s", r, last);
        else
            snprintf(en->name, sizeof en->name, "%s@sha256:%s", r, last);
        out->n++;
    }
    closedir(d);
    return 0;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const struct kw_store_entry *)a)->name,
                  ((const struct kw_store_entry *)b)->name);
}

/* Every stored name with its manifest digest; names that do not parse or
 * whose name file is corrupt are left out. */
static enum kw_status collect_names(struct kw_store *s, struct name_list *l,
                                    char *err, size_t err_size) {
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/names", s->home);
    memset(l, 0, sizeof *l);
    walk_names(dir, "", l, 0);
    size_t keep = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct kw__ref r;
        if (kw__ref_parse(l->v[i].name, &r, NULL, 0) ||
            read_name(s, &r, l->v[i].digest, NULL, 0))
            continue;
        l->v[keep++] = l->v[i];
    }
    l->n = keep;
    if (l->n) qsort(l->v, l->n, sizeof *l->v, entry_cmp);
    (void)err;
    (void)err_size;
    return KW_STATUS_OK;
}

enum kw_status kw_store_list(struct kw_store *s,
                             struct kw_store_entry **entries, size_t *count,
                             char *err, size_t err_size) {
    if (!s || !entries || !count)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "NULL argument");
    *entries = NULL;
    *count = 0;
    struct name_list l;
    collect_names(s, &l, err, err_size);
    struct kw__manifest *m = malloc(sizeof *m);
    if (!m) {
        free(l.v);
        return kw__err(err, err_size, KW_STATUS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < l.n; i++) {
        struct kw_store_entry *e = &l.v[i];
        if (load_manifest(s, e->digest, m, NULL, 0)) continue;
        int li = kw__manifest_model_layer(m);
        if (li < 0) continue;
        e->size = m->layers[li].size;
        snprintf(e->file_name, sizeof e->file_name, "%s", m->layers[li].title);
        snprintf(e->format, sizeof e->format, "%s",
                 kw__format_from_title(m->layers[li].title));
    }
    free(m);
    *entries = l.v;
    *count = l.n;
    return KW_STATUS_OK;
}

void kw_store_list_free(struct kw_store_entry *entries) { free(entries); }

/* Removes empty folders from path's parent up to (not including) stop. */
static void prune_dirs(const char *path, const char *stop) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    size_t stop_len = strlen(stop);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (!slash) return;
        *slash = '\0';
        if (strlen(dir) <= stop_len || rmdir(dir) != 0) return;
    }
}

struct digest_set {
    char (*v)[72];
    size_t n, cap;
};

static void set_add(struct digest_set *d, const char *digest) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        void *v = realloc(d->v, cap * sizeof *d->v);
        if (!v) return;
        d->v = v;
        d->cap = cap;
    }
    memcpy(d->v[d->n++], digest, 72);
}

static int set_has(const struct digest_set *d, const char *digest) {
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->v[i], digest)) return 1;
    return 0;
}

enum kw_status kw_store_remove(struct kw_store *s, const char *ref,
                               uint64_t *freed, char *err, size_t err_size) {
    if (freed) *freed = 0;
    if (!s || !ref)
        return kw__err(err, err_size, KW_STATUS_ERR_INVALID_ARG,
                       "NULL argument");
    struct kw__ref r;
    char digest[72], path[PATH_MAX];
    enum kw_status st = kw__ref_parse(ref, &r, err, err_size);
    if (st) return st;
    kw__store_lock(s, 1);
    if ((st = read_name(s, &r, digest, err, err_size))) goto out;
    name_path(s, &r, path, sizeof path);
    if (unlink(path) != 0) {
        st = kw__err(err, err_size, KW_STATUS_ERR_IO, "cannot remove %s: %s",
                     path, strerror(errno));
        goto out;
    }
    char names_dir[PATH_MAX + 8];
    snprintf(names_dir, sizeof names_dir, "%s/names", s->home);
    prune_dirs(path, names_dir);

    /* mark: every blob reachable from a remaining name */
    struct name_list l;
    struct digest_set keep = {0};
    collect_names(s, &l, NULL, 0);
    struct kw__manifest *m = malloc(sizeof *m);
    for (size_t i = 0; m && i < l.n; i++) {
        set_add(&keep, l.v[i].digest);
        if (load_manifest(s, l.v[i].digest, m, NULL, 0)) continue;
        set_add(&keep, m->config.digest);
        for (int k = 0; k < m->n_layers; k++) set_add(&keep, m->layers[k].digest);
    }
    free(m);
    free(l.v);
    /* sweep */
    char blobs[PATH_MAX + 16];
    snprintf(blobs, sizeof blobs, "%s/blobs/sha256", s->home);
    DIR *d = opendir(blobs);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char dg[80];
        if (snprintf(dg, sizeof dg, "sha256:%s", e->d_name) != 71 ||
            !kw__digest_valid(dg) || set_has(&keep, dg))
            continue;
        char p[PATH_MAX + 80];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", blobs, e->d_name);
        if (stat(p, &sb) == 0 && unlink(p) == 0 && freed)
            *freed += (uint64_t)sb.st_size;
    }
    if (d) closedir(d);
    free(keep.v);
out:
    kw__store_unlock(s);
    return st;
}

/* ---- where blobs live, for cross-repository mounts ---- */

void kw__store_note_location(struct kw_store *s, const char *digest,
                             const char *host, const char *repo) {
    char path[PATH_MAX], line[600];
    if (!s || !kw__digest_valid(digest)) return;
    snprintf(path, sizeof path, "%s/known/%s", s->home, digest + 7);
    snprintf(line, sizeof line, "%s/%s\n", host, repo);
    /* already recorded? */
    FILE *f = fopen(path, "r");
    char buf[600];
    while (f && fgets(buf, sizeof buf, f))
        if (!strcmp(buf, line)) {
            fclose(f);
            return;
        }
    if (f) fclose(f);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ssize_t w = write(fd, line, strlen(line));
    (void)w;
    close(fd);
}

int kw__store_find_location(struct kw_store *s, const char *digest,
                            const char *host, const char *not_repo,
                            char *repo, size_t n) {
    char path[PATH_MAX], buf[600];
    if (!s || !kw__digest_valid(digest)) return 0;
    snprintf(path, sizeof path, "%s/known/%s", s->home, digest + 7);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t hl = strlen(host);
    int found = 0;
    while (!found && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        if (strncmp(buf, host, hl) || buf[hl] != '/') continue;
        const char *rp = buf + hl + 1;
        struct kw__ref r;
        char text[700];
        snprintf(text, sizeof text, "%s/%s", host, rp);
        if (!strcmp(rp, not_repo) || kw__ref_parse(text, &r, NULL, 0))
            continue;
        snprintf(repo, n, "%s", rp);
        found = 1;
    }
    fclose(f);
    return found;
}
